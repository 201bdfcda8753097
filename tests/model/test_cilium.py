"""Each Cilium LB-IPAM rule of model/cilium.py, with a near miss beside it
(docs/cilium-rules.md says where in Cilium each comes from)."""

from __future__ import annotations

from typing import Optional, Sequence

import pytest

from kubectl_lbip.errors import InvalidValue
from kubectl_lbip.model import cilium
from kubectl_lbip.model.services import Port, Service

V15, V16, V17, V18, V20 = (1, 15, 19), (1, 16, 0), (1, 17, 0), (1, 18, 0), (1, 20, 2)
OLD, NEW = "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"


def pool(name: str, *blocks, selector: Optional[dict] = None, created: str = OLD, **spec) -> cilium.CiliumPool:
    body: dict = {"blocks": [{"cidr": b} if isinstance(b, str) else b for b in blocks], **spec}
    if selector is not None:
        body["serviceSelector"] = selector
    return cilium.pool_from_object({"metadata": {"name": name, "creationTimestamp": created}, "spec": body})


def svc(
    name: str = "web",
    namespace: str = "default",
    *,
    ips: str = "",
    key: str = "",
    cross: str = "",
    ports: Sequence[str] = (),
    labels: Optional[dict] = None,
    ingress: Sequence[str] = (),
    etp: str = "Cluster",
    selector: Optional[dict] = None,
    version=V20,
    **fields,
) -> Service:
    names = cilium.annotation_keys(version)
    annotations = {}
    if ips:
        annotations[names["ips"][0]] = ips
    if key:
        annotations[names["sharing-key"][0]] = key
    if cross:
        annotations[names["sharing-cross-namespace"][0]] = cross
    return Service(
        namespace,
        name,
        labels=labels or {},
        annotations=annotations,
        ports=tuple(Port.parse(p) for p in ports),
        ingress=tuple(ingress),
        external_traffic_policy=etp,
        selector=selector or {},
        **fields,
    )


def state(pools, services=(), version=V20, **operator) -> cilium.Lbipam:
    return cilium.Lbipam(list(pools), list(services), cilium.Operator(version=version, **operator))


# --- releases


def test_versions_parse_and_map_to_a_release_read():
    assert cilium.parse("v1.16.3") == (1, 16, 3)
    assert cilium.behaves_as((1, 16, 3)) == "v1.16.0"
    assert cilium.behaves_as((1, 14, 0)) == "v1.15.19"  # older than any read: the oldest read
    with pytest.raises(InvalidValue, match="not a Cilium version"):
        cilium.parse("latest")


def test_annotation_keys_per_release():
    assert cilium.ips_key(V15) == "io.cilium/lb-ipam-ips"
    assert cilium.ips_key(V16) == "lbipam.cilium.io/ips"
    assert "sharing-cross-namespace" not in cilium.annotation_keys(V15)
    assert cilium.annotation_keys(V20)["sharing-key"] == (
        "lbipam.cilium.io/sharing-key",
        "io.cilium/lb-ipam-sharing-key",
    )


def test_v16_reads_the_alias_when_the_new_key_is_absent_but_v15_never_reads_the_new_key():
    new = Service("default", "a", annotations={"lbipam.cilium.io/ips": "10.0.0.5"})
    alias = Service("default", "a", annotations={"io.cilium/lb-ipam-ips": "10.0.0.5"})
    assert [str(a) for a in cilium.view(alias, cilium.Operator(version=V16)).requested] == ["10.0.0.5"]
    assert [str(a) for a in cilium.view(new, cilium.Operator(version=V16)).requested] == ["10.0.0.5"]
    assert cilium.view(new, cilium.Operator(version=V15)).requested == ()  # near miss: v1.15 ignores it


def test_an_empty_new_key_hides_the_alias_from_v16_on():
    both = Service("default", "a", annotations={"lbipam.cilium.io/ips": "", "io.cilium/lb-ipam-ips": "10.0.0.5"})
    assert cilium.view(both, cilium.Operator(version=V20)).requested == ()
    assert [str(a) for a in cilium.view(both, cilium.Operator(version=V15)).requested] == ["10.0.0.5"]


def test_spec_ip_and_annotation_merge_spec_first_and_unparsed_elements_are_dropped():
    s = Service(
        "default", "a", load_balancer_ip="10.0.0.9", annotations={"lbipam.cilium.io/ips": "10.0.0.1, bad ,10.0.0.1"}
    )
    v = cilium.view(s)
    assert [str(a) for a in v.requested] == ["10.0.0.9", "10.0.0.1"]  # consecutive duplicates folded
    assert v.unparsed == ("bad",)


# --- addresses as netip reads them


def test_ipv4_mapped_ipv6_stays_ipv6_and_leading_zeros_are_refused():
    assert cilium.parse_addr("::ffff:10.0.0.1").version == 6  # type: ignore[union-attr]
    assert cilium.parse_addr("10.0.0.1").version == 4  # type: ignore[union-attr]
    assert cilium.parse_addr("010.0.0.1") is None
    assert cilium.parse_addr("fe80::1%eth0") is None


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "10.0.0.0/255.255.255.0", "10.0.0.0", "10.0.0.0/08", "x/24"])
def test_a_bad_cidr_block_makes_the_pool_unusable_but_not_the_others(bad):
    broken, good = pool("broken", bad), pool("good", "10.1.0.0/24")
    assert broken.errors and not good.errors
    st = state([broken, good])
    assert st.pools_for(svc()) == [good]
    assert "keeps no part" in st.why_not(broken, svc())


def test_start_after_stop_and_mixed_families_are_refused():
    assert pool("p", {"start": "10.0.0.9", "stop": "10.0.0.1"}).errors
    assert pool("p", {"start": "10.0.0.1", "stop": "::1"}).errors
    assert not pool("p", {"start": "10.0.0.1", "stop": "10.0.0.9"}).errors
    single = pool("p", {"start": "10.0.0.7"})  # no stop: one address
    assert single.blocks[0].interval.size == 1


# --- which pools may serve a service


def test_service_selector_and_its_near_miss():
    blue = pool("blue", "10.0.0.0/24", selector={"matchLabels": {"color": "blue"}})
    st = state([blue])
    assert st.pools_for(svc(labels={"color": "blue"})) == [blue]
    assert st.pools_for(svc(labels={"color": "green"})) == []
    assert "selects only services matching color=blue" in st.why_not(blue, svc(labels={"color": "green"}))


def test_pseudo_labels_select_by_namespace_and_name_and_cannot_be_spoofed():
    tenant = pool("t", "10.0.0.0/24", selector={"matchLabels": {"io.kubernetes.service.namespace": "tenant-one"}})
    named = pool("n", "10.1.0.0/24", selector={"matchLabels": {"io.kubernetes.service.name": "dns"}})
    st = state([tenant, named])
    assert st.pools_for(svc("web", "tenant-one")) == [tenant]
    spoof = svc("web", "tenant-two", labels={"io.kubernetes.service.namespace": "tenant-one"})
    assert st.pools_for(spoof) == []
    assert st.pools_for(svc("dns", "kube-system")) == [named]


def test_a_disabled_pool_allocates_nothing_new_and_its_near_miss():
    off, on = pool("off", "10.0.0.0/24", disabled=True), pool("on", "10.0.0.0/24", disabled=False)
    assert state([off]).pools_for(svc()) == []
    assert state([on]).pools_for(svc()) == [on]
    assert "disabled" in state([off]).why_not(off, svc())


def test_a_requested_address_in_a_disabled_pool_is_no_pool_not_a_selector_mismatch():
    off = pool("off", "10.0.0.0/24", disabled=True, selector={"matchLabels": {"x": "y"}})
    verdict = state([off]).check_request(svc(ips="10.0.0.5"))
    assert verdict.reason == cilium.NO_POOL


def test_the_newer_of_two_overlapping_pools_is_marked_and_allocates_nothing():
    old, new = pool("old", "10.0.0.0/24", created=OLD), pool("new", "10.0.0.128/25", "10.9.0.0/24", created=NEW)
    st = state([new, old])
    assert set(st.conflicts) == {"new"} and st.conflicts["new"].certain
    assert st.pools_for(svc()) == [old]  # even new's block that overlaps nothing gives nothing
    assert "cilium.io/PoolConflict" in st.why_not(new, svc())
    apart = pool("apart", "10.0.1.0/24", created=NEW)
    assert cilium.conflicts([old, apart]) == {}  # near miss: adjacent, not overlapping


def test_equal_creation_times_leave_the_marked_pool_to_map_order():
    a, b = pool("a", "10.0.0.0/24", created=OLD), pool("b", "10.0.0.0/24", created=OLD)
    marked = cilium.conflicts([a, b])
    assert len(marked) == 1 and not next(iter(marked.values())).certain


def test_a_pool_whose_own_blocks_overlap_is_marked():
    assert "p" in cilium.conflicts([pool("p", "10.0.0.0/24", "10.0.0.64/28")])
    assert cilium.conflicts([pool("p", "10.0.0.0/25", "10.0.0.128/25")]) == {}


def test_a_chain_of_overlaps_is_order_dependent_for_the_newest():
    a = pool("a", "10.0.0.0/24", created="2024-01-01T00:00:00Z")
    b = pool("b", "10.0.0.128/24", {"start": "10.0.1.0", "stop": "10.0.1.10"}, created="2024-02-01T00:00:00Z")
    c = pool("c", {"start": "10.0.1.5", "stop": "10.0.1.20"}, created="2024-03-01T00:00:00Z")
    marked = cilium.conflicts([a, b, c])
    assert set(marked) == {"b"}
    assert cilium.order_dependent([a, b, c], marked) == ["c"]
    assert cilium.order_dependent([a, b], cilium.conflicts([a, b])) == []  # the older one is never marked


# --- which services Cilium serves


@pytest.mark.parametrize(
    "fields, operator, served",
    [
        ({}, {}, True),
        ({"type": "NodePort"}, {}, False),
        ({"load_balancer_class": "io.cilium/l2-announcer"}, {"l2_announcements": True}, True),
        ({"load_balancer_class": "io.cilium/l2-announcer"}, {}, False),
        ({"load_balancer_class": "io.cilium/bgp-control-plane"}, {"bgp_control_plane": True}, True),
        ({"load_balancer_class": "metallb.io/metallb"}, {"l2_announcements": True}, False),
        ({}, {"default_ipam": "none"}, False),
        ({}, {"default_ipam": "none", "version": V16}, True),  # before v1.17 the flag does not exist
    ],
)
def test_which_services_cilium_serves(fields, operator, served):
    assert cilium.Operator(**operator).serves(Service("default", "a", **fields))[0] is served


# --- a request and the condition it gets


def test_a_free_address_in_a_selecting_pool_is_satisfied():
    verdict = state([pool("p", "10.0.0.0/24")]).check_request(svc(ips="10.0.0.5"))
    assert verdict.accepted and verdict.outcomes[0].pool == "p"


def test_no_pool_and_pool_selector_mismatch():
    p = pool("p", "10.0.0.0/24", selector={"matchLabels": {"team": "a"}})
    assert state([p]).check_request(svc(ips="10.9.0.1")).reason == cilium.NO_POOL
    verdict = state([p]).check_request(svc(ips="10.0.0.1"))
    assert verdict.reason == cilium.POOL_SELECTOR_MISMATCH
    assert verdict.message == "The pool with the CIDR containing '10.0.0.1', doesn't select this service"
    assert state([p]).check_request(svc(ips="10.0.0.1", labels={"team": "a"})).accepted


def test_each_address_on_its_own_families_unchecked_and_two_pools_allowed():
    v4, v6 = pool("v4", "10.0.0.0/24"), pool("v6", "fd00::/120")
    verdict = state([v4, v6]).check_request(svc(ips="10.0.0.1,fd00::1,10.0.0.2"))
    assert verdict.accepted and [o.pool for o in verdict.outcomes] == ["v4", "v6", "v4"]


def test_the_last_failing_address_names_the_condition():
    p = pool("p", "10.0.0.0/24")
    holder = svc("holder", ingress=["10.0.0.7"], ips="10.0.0.7")
    verdict = state([p], [holder]).check_request(svc(ips="10.9.9.9,10.0.0.7"))
    assert [o.reason for o in verdict.outcomes] == [cilium.NO_POOL, cilium.ALREADY_ALLOCATED]
    assert verdict.reason == cilium.ALREADY_ALLOCATED


def test_already_allocated_without_a_sharing_key_and_shared_with_one():
    p = pool("p", "10.0.0.0/24")
    holder = svc("holder", key="k", ports=["TCP/80"], ingress=["10.0.0.7"])
    st = state([p], [holder])
    assert st.check_request(svc(ips="10.0.0.7", ports=["TCP/443"])).reason == cilium.ALREADY_ALLOCATED
    shared = st.check_request(svc(ips="10.0.0.7", key="k", ports=["TCP/443"]))
    assert shared.accepted and shared.outcomes[0].shared_with == ("default/holder",)


def test_an_incompatible_sharer_per_release():
    p = pool("p", "10.0.0.0/24")
    for version, reason, words in (
        (V20, cilium.INCOMPATIBLE_SERVICE, "Reason: same port and protocol"),
        (V17, cilium.INCOMPATIBLE_SERVICE, "Reason: same port"),
        (V16, cilium.DIFFERENT_SHARING_KEY, "with a different sharing key"),
    ):
        holder = svc("holder", key="k", ports=["TCP/80"], ingress=["10.0.0.7"], version=version)
        verdict = state([p], [holder], version).check_request(
            svc(ips="10.0.0.7", key="k", ports=["TCP/80"], version=version)
        )
        assert verdict.reason == reason and words in verdict.message


def test_a_service_holding_an_address_judges_its_own_request_without_itself():
    p = pool("p", "10.0.0.0/24")
    me = svc("me", ips="10.0.0.7", ingress=["10.0.0.7"])
    assert state([p], [me]).check_request(me).accepted


# --- first and last addresses


def test_allow_first_last_ips_default_flipped_in_v16():
    p = pool("p", "10.0.0.16/30")
    assert state([p], version=V15).check_request(svc(ips="10.0.0.16", version=V15)).reason == cilium.ALREADY_ALLOCATED
    assert state([p], version=V16).check_request(svc(ips="10.0.0.16")).accepted
    no = pool("p", "10.0.0.16/30", allowFirstLastIPs="No")
    assert state([no], version=V20).check_request(svc(ips="10.0.0.19")).reason == cilium.ALREADY_ALLOCATED
    yes = pool("p", "10.0.0.16/30", allowFirstLastIPs="Yes")
    assert state([yes], version=V15).check_request(svc(ips="10.0.0.16", version=V15)).accepted


def test_ranges_and_tiny_cidrs_reserve_nothing():
    ranged = pool("p", {"start": "10.0.0.0", "stop": "10.0.0.255"}, allowFirstLastIPs="No")
    assert state([ranged]).check_request(svc(ips="10.0.0.0")).accepted
    for tiny in ("10.0.0.8/31", "10.0.0.8/32", "fd00::/127"):
        p = pool("p", tiny, allowFirstLastIPs="No")
        assert state([p]).counts(p).used == 0


def test_reserved_addresses_count_as_used_and_a_shared_address_once():
    p = pool("p", "10.0.0.0/24", allowFirstLastIPs="No")
    a = svc("a", key="k", ports=["TCP/80"], ingress=["10.0.0.5"])
    b = svc("b", key="k", ports=["TCP/81"], ingress=["10.0.0.5"])
    assert state([p], [a, b]).counts(p) == cilium.Counts(total=256, available=253, used=3)


def test_a_sharing_key_takes_a_reserved_address_up_to_v119_and_v120_is_unpredictable():
    p = pool("p", "10.0.0.0/24", allowFirstLastIPs="No")
    assert state([p], version=(1, 19, 0)).check_request(svc(ips="10.0.0.0", key="k")).accepted
    assert state([p], version=V20).check_request(svc(ips="10.0.0.0", key="k")).reason == cilium.UNPREDICTABLE
    assert state([p], version=V20).check_request(svc(ips="10.0.0.0")).reason == cilium.ALREADY_ALLOCATED


# --- sharing


def view(namespace="default", key="k", cross="", ports=("TCP/80",), etp="Cluster", selector=None, version=V20):
    s = svc("s" + namespace, namespace, key=key, cross=cross, ports=ports, etp=etp, selector=selector, version=version)
    return cilium.view(s, cilium.Operator(version=version))


def test_sharing_needs_the_same_key():
    assert cilium.sharing_conflict(view(key="a"), view(key="a", ports=("TCP/81",))) is None
    assert cilium.sharing_conflict(view(key="a"), view(key="b", ports=("TCP/81",))) == "different sharing key"


def test_cross_namespace_sharing_needs_both_sides_from_v16():
    a = view("ns-a", cross="ns-b")
    b = view("ns-b", cross="*", ports=("TCP/81",))
    assert cilium.sharing_conflict(a, b) is None
    one_sided = view("ns-b", ports=("TCP/81",))
    assert cilium.sharing_conflict(a, one_sided) == "different and not permitted namespace"
    a15, b15 = view("ns-a", version=V15), view("ns-b", ports=("TCP/81",), version=V15)
    assert cilium.sharing_conflict(a15, b15, V15) == "different and not permitted namespace"


def test_same_port_of_another_protocol_shares_from_v118_only():
    tcp, udp = view(ports=("TCP/53",)), view(ports=("UDP/53",))
    assert cilium.sharing_conflict(tcp, udp, V18) is None
    assert cilium.sharing_conflict(tcp, udp, V17) == "same port"
    assert cilium.sharing_conflict(tcp, udp, V15) == "same port"
    assert cilium.sharing_conflict(tcp, view(ports=("TCP/53",)), V20) == "same port and protocol"


def test_external_traffic_policy_and_local_selectors():
    assert cilium.sharing_conflict(view(), view(etp="Local", ports=("TCP/81",))) == "different ExternalTrafficPolicy"
    same = {"app": "web"}
    local = view(etp="Local", selector=same)
    assert cilium.sharing_conflict(local, view(etp="Local", selector=dict(same), ports=("TCP/81",))) is None
    other = view(etp="Local", selector={"app": "api"}, ports=("TCP/81",))
    assert "selecting different set of pods" in cilium.sharing_conflict(local, other)  # type: ignore[operator]
    empty_a, empty_b = view(etp="Local", ports=("TCP/81",)), view(etp="Local", ports=("TCP/82",))
    assert "selecting different set of pods" in cilium.sharing_conflict(empty_a, empty_b)  # type: ignore[operator]


# --- what it would pick


def test_the_pick_is_the_first_address_of_the_smallest_free_block():
    p = pool("p", "10.0.0.0/24")
    holders = [svc(f"h{i}", ingress=[f"10.0.0.{i}"]) for i in (0, 1, 3, 4)]  # free: .2 alone, then .5-.255
    picked = state([p], holders).pick(svc()).outcomes[0]
    assert picked.address == "10.0.0.2"
    first = state([p]).pick(svc()).outcomes[0]
    assert first.address == "10.0.0.0"  # v1.16+: the network address is usable by default
    assert state([p], version=V15).pick(svc(version=V15)).outcomes[0].address == "10.0.0.1"


def test_blocks_of_one_size_or_several_pools_leave_the_pick_to_the_operator():
    p = pool("p", "10.0.0.0/29")
    holders = [svc(f"h{i}", ingress=[f"10.0.0.{i}"]) for i in (1, 3, 5, 7)]  # free: .0, .2, .4, .6
    tie = state([p], holders).pick(svc()).outcomes[0]
    assert tie.address == "" and tie.candidates == ("10.0.0.0", "10.0.0.2", "10.0.0.4", "10.0.0.6")
    two = state([pool("a", "10.0.0.0/24"), pool("b", "10.1.0.0/24")]).pick(svc()).outcomes[0]
    assert two.address == "" and set(two.candidates) == {"10.0.0.0", "10.1.0.0"}


def test_one_pool_with_two_blocks_takes_its_first_block_with_room():
    p = pool("p", {"start": "10.0.0.1", "stop": "10.0.0.1"}, "10.1.0.0/24")
    full = [svc("h", ingress=["10.0.0.1"])]
    assert state([p], full).pick(svc()).outcomes[0].address == "10.1.0.0"


def test_out_of_ips_and_no_pool_for_an_automatic_request():
    p = pool("p", "10.0.0.8/31")
    full = [svc("a", ingress=["10.0.0.8"]), svc("b", ingress=["10.0.0.9"])]
    assert state([p], full).pick(svc()).reason == cilium.OUT_OF_IPS
    assert state([pool("p", "fd00::/120")]).pick(svc()).reason == cilium.NO_POOL  # no IPv4 range


def test_dual_stack_takes_one_address_of_each_family_from_any_pools():
    st = state([pool("v4", "10.0.0.0/24"), pool("v6", "fd00::/120")], ipv6=True)
    outcomes = st.pick(svc(ip_family_policy="RequireDualStack")).outcomes
    assert [(o.address, o.pool) for o in outcomes] == [("10.0.0.0", "v4"), ("fd00::", "v6")]


def test_an_automatic_request_with_a_key_shares_a_compatible_address_first():
    p = pool("p", "10.0.0.0/24")
    holder = svc("holder", key="k", ports=["TCP/80"], ingress=["10.0.0.9"])
    st = state([p], [holder])
    assert st.pick(svc(key="k", ports=["TCP/443"])).outcomes[0].address == "10.0.0.9"
    assert st.pick(svc(key="k", ports=["TCP/80"])).outcomes[0].address == "10.0.0.0"  # near miss: same port


# --- holdings the operator would strip


def test_holdings_outside_any_selecting_pool_or_unrequested_are_stray():
    p = pool("p", "10.0.0.0/24")
    elsewhere = svc("a", ingress=["192.168.1.12"])
    unrequested = svc("b", ips="10.0.0.5", ingress=["10.0.0.6"])
    st = state([p], [elsewhere, unrequested])
    assert {(v.name, str(a)) for v, a, _ in st.stray} == {("a", "192.168.1.12"), ("b", "10.0.0.6")}
    kept = svc("c", ingress=["10.0.0.7"])
    assert state([p], [kept]).stray == []


def test_a_holding_in_a_disabled_pool_stays_while_the_operator_runs():
    p = pool("p", "10.0.0.0/24", disabled=True)
    holder = svc("a", ingress=["10.0.0.7"])
    st = state([p], [holder])
    assert st.stray == [] and st.counts(p).used == 1
    addresses, verdict = st.satisfy(holder)
    assert addresses == ("10.0.0.7",) and verdict.accepted


# --- which release runs


def test_release_from_the_operator_image_and_its_near_misses():
    assert cilium.version_from_image("quay.io/cilium/operator-generic:v1.16.0") == (1, 16, 0)
    assert cilium.version_from_image("mirror.local/cilium/operator-aws:v1.17.2@sha256:abc") == (1, 17, 2)
    assert cilium.version_from_image("quay.io/cilium/operator-generic:latest") is None
    assert cilium.version_from_image("quay.io/cilium/operator-generic") is None
    assert cilium.version_from_image("quay.io/cilium/cilium:v1.16.0") is None  # the agent, not the operator
    assert cilium.version_from_image("quay.io/metallb/controller:v0.16.1") is None


def test_release_range_from_the_pool_crd_versions_served():
    assert cilium.version_from_pool_versions(["v2alpha1", "v2"]) == (">=v1.18", cilium.NEWEST)
    assert cilium.version_from_pool_versions(["v2alpha1"]) == ("<=v1.17", (1, 17, 0))
    assert cilium.version_from_pool_versions([]) is None


# --- hostile pool objects: an error on the pool, never an exception


@pytest.mark.parametrize(
    "spec",
    [
        {"blocks": "10.0.0.0/24"},
        {"blocks": [["10.0.0.0/24"]]},
        {"blocks": [{"cidr": 24}]},
        {"blocks": [{"start": ["10.0.0.1"]}]},
        {"blocks": [{"start": "10.0.0.1", "stop": {"x": 1}}]},
        {"blocks": [{"cidr": "10.0.0.0/24"}], "serviceSelector": "color=blue"},
        {"blocks": [{"cidr": "10.0.0.0/24"}], "serviceSelector": {"matchLabels": ["color"]}},
        {
            "blocks": [{"cidr": "10.0.0.0/24"}],
            "serviceSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]},
        },
        {"blocks": [{"cidr": "10.0.0.0/24"}], "serviceSelector": {"matchExpressions": ["a"]}},
    ],
)
def test_hostile_pool_specs_become_pool_errors(spec):
    p = cilium.pool_from_object(
        {"metadata": {"name": "p"}, "spec": spec, "status": {"conditions": ["x", {"no": "type"}]}}
    )
    assert p.errors and not p.valid
    assert state([p]).pools_for(svc()) == []


def test_hostile_service_annotations_request_nothing_usable():
    s = Service(
        "default", "a", annotations={"lbipam.cilium.io/ips": ",,  ,::ffff:zz", "lbipam.cilium.io/sharing-key": ""}
    )
    v = cilium.view(s)
    assert v.requested == () and v.sharing_key == ""
    assert state([pool("p", "10.0.0.0/24")]).check_request(s).accepted  # nothing parses: an automatic request

"""MetalLB -> Cilium LB-IPAM (model/tocilium.py): every mapping row, each lossy
point with its code, and the proof against model/cilium's rules of the release."""

import pytest
from builders import cluster, dual, live_cluster, namespace, pool, svc

from kubectl_lbip.model import checks as C
from kubectl_lbip.model import cilium, tocilium
from kubectl_lbip.model.services import Service

V15, V17, V18, NEWEST = (1, 15, 19), (1, 17, 0), (1, 18, 0), cilium.NEWEST
LABEL = tocilium.POOL_LABEL


def codes(plan, subject=None):
    return [x.code for x in plan.all_losses() if subject is None or x.subject == subject]


def spec(plan, name):
    return next(m.obj["spec"] for m in plan.pools if m.name == name)


def mapping(plan, key):
    return next(m for m in plan.services if m.key == key)


def adv(kind, name, **spec):
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": spec,
    }


# --- pools


def test_a_cidr_becomes_a_cidr_block_and_a_range_start_stop():
    p = tocilium.plan(cluster(pool("p", "192.168.10.0/24", "fd00::/120", "192.168.20.10-192.168.20.20", "10.0.0.7/32")))
    assert spec(p, "p")["blocks"] == [
        {"cidr": "192.168.10.0/24"},
        {"cidr": "fd00::/120"},
        {"start": "192.168.20.10", "stop": "192.168.20.20"},
        {"cidr": "10.0.0.7/32"},
    ]


def test_first_and_last_addresses_stay_usable_where_a_cidr_has_them():
    """MetalLB hands out a CIDR's network and broadcast addresses; Cilium v1.15 reserves them by default."""
    assert spec(tocilium.plan(cluster(pool("p", "192.168.10.0/24"))), "p")["allowFirstLastIPs"] == "Yes"
    near = tocilium.plan(cluster(pool("p", "192.168.20.10-192.168.20.20", "10.0.0.7/32")))
    assert "allowFirstLastIPs" not in spec(near, "p")


def test_a_held_network_address_is_kept_under_v115():
    c = live_cluster(pool("p", "192.168.10.0/24"), svc("shop", "web", ingress=["192.168.10.0"]))
    m = mapping(tocilium.plan(c, V15), "shop/web")
    assert m.kept and m.after == ("192.168.10.0",)


def test_avoid_buggy_ips_cuts_every_dot_0_and_dot_255_out():
    p = tocilium.plan(cluster(pool("p", "10.0.0.0/23", "fd00::/120", avoid_buggy=True)))
    assert spec(p, "p")["blocks"] == [
        {"start": "10.0.0.1", "stop": "10.0.0.254"},
        {"start": "10.0.1.1", "stop": "10.0.1.254"},
        {"cidr": "fd00::/120"},
    ]
    assert C.TO_CILIUM_AVOID_BUGGY not in codes(p)


def test_avoid_buggy_ips_on_a_range_past_the_limit_is_an_error_and_keeps_the_range_whole():
    p = tocilium.plan(cluster(pool("big", "10.0.0.0/8", avoid_buggy=True)))
    assert codes(p) == [C.TO_CILIUM_AVOID_BUGGY]
    assert spec(p, "big")["blocks"] == [{"cidr": "10.0.0.0/8"}]
    assert p.blocking() and not p.blocking([C.TO_CILIUM_AVOID_BUGGY])


def test_avoid_buggy_pieces_make_cilium_skip_dot_0():
    c = cluster(pool("p", "10.0.0.0/24", avoid_buggy=True), svc("shop", "new"))
    m = mapping(tocilium.plan(c), "shop/new")
    assert m.after == ("10.0.0.1",)


def test_auto_assign_false_selects_only_the_services_pinned_to_it():
    c = live_cluster(
        pool("open", "192.168.10.0/24"),
        pool("reserved", "192.168.20.0/24", auto_assign=False),
        svc("shop", "db", annotations={"metallb.io/loadBalancerIPs": "192.168.20.5"}, ingress=["192.168.20.5"]),
        svc("shop", "web", ingress=["192.168.10.3"]),
        svc("shop", "new"),
    )
    p = tocilium.plan(c)
    assert spec(p, "reserved")["serviceSelector"] == {"matchLabels": {LABEL: "reserved"}}
    assert mapping(p, "shop/db").labels == {LABEL: "reserved"}
    assert codes(p, "IPAddressPool metallb-system/reserved") == [C.TO_CILIUM_AUTO_ASSIGN]
    new = mapping(p, "shop/new")  # a new automatic service is not served from the reserved pool
    assert new.labels == {} and new.after[0].startswith("192.168.10.")
    assert mapping(p, "shop/db").kept and mapping(p, "shop/web").kept


def test_namespaces_become_the_namespace_pseudo_label():
    c = live_cluster(
        pool("team", "10.0.0.0/24", allocation={"namespaces": ["team"]}),
        svc("team", "api", ingress=["10.0.0.1"]),
        svc("other", "api"),
    )
    p = tocilium.plan(c)
    assert spec(p, "team")["serviceSelector"] == {
        "matchExpressions": [{"key": cilium.NAMESPACE_LABEL, "operator": "In", "values": ["team"]}]
    }
    assert mapping(p, "team/api").kept
    assert mapping(p, "other/api").after == ()  # near miss: no pool selects it, as under MetalLB
    assert codes(p) == []


def test_one_service_selector_becomes_the_pool_selector():
    sel = {"matchLabels": {"tier": "edge"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}
    p = tocilium.plan(cluster(pool("edge", "10.0.0.0/24", allocation={"serviceSelectors": [sel], "namespaces": ["a"]})))
    assert spec(p, "edge")["serviceSelector"] == {
        "matchLabels": {"tier": "edge"},
        "matchExpressions": [
            {"key": cilium.NAMESPACE_LABEL, "operator": "In", "values": ["a"]},
            {"key": "env", "operator": "In", "values": ["prod"]},
        ],
    }
    assert codes(p) == []


def test_several_service_selectors_become_the_pool_label():
    sels = [{"matchLabels": {"tier": "edge"}}, {"matchLabels": {"tier": "web"}}]
    c = live_cluster(
        pool("edge", "10.0.0.0/24", allocation={"serviceSelectors": sels}),
        svc("a", "x", labels={"tier": "web"}, ingress=["10.0.0.4"]),
    )
    p = tocilium.plan(c)
    assert spec(p, "edge")["serviceSelector"] == {"matchLabels": {LABEL: "edge"}}
    assert codes(p) == [C.TO_CILIUM_SERVICE_SELECTORS]
    assert mapping(p, "a/x").kept


def test_namespace_selectors_become_todays_namespaces():
    c = cluster(
        pool("p", "10.0.0.0/24", allocation={"namespaceSelectors": [{"matchLabels": {"team": "a"}}]}),
        namespace("one", team="a"),
        namespace("two", team="b"),
    )
    p = tocilium.plan(c)
    assert spec(p, "p")["serviceSelector"]["matchExpressions"][0]["values"] == ["one"]
    assert codes(p) == [C.TO_CILIUM_NAMESPACE_SELECTORS]


def test_priority_has_no_equivalent():
    p = tocilium.plan(cluster(pool("p", "10.0.0.0/24", allocation={"priority": 1, "namespaces": ["a"]})))
    assert codes(p) == [C.TO_CILIUM_PRIORITY]
    assert C.BY_CODE[C.TO_CILIUM_PRIORITY].severity != C.ERROR


def test_an_invalid_pool_is_not_carried():
    p = tocilium.plan(cluster(pool("bad", "not-an-address")))
    assert [m.obj for m in p.pools] == [None]
    assert codes(p) == [C.TO_CILIUM_INVALID_POOL] and p.blocking()


# --- services


@pytest.mark.parametrize("version,key", [(NEWEST, cilium.IPS_KEY), (V15, cilium.IPS_ALIAS)])
@pytest.mark.parametrize("metallb_key", ["metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs"])
def test_the_request_moves_to_the_key_the_release_reads(version, key, metallb_key):
    c = live_cluster(
        pool("p", "10.0.0.0/24"), svc("a", "x", annotations={metallb_key: "10.0.0.9"}, ingress=["10.0.0.9"])
    )
    m = mapping(tocilium.plan(c, version), "a/x")
    assert m.annotations == {key: "10.0.0.9"}
    assert m.retired == (metallb_key,) and m.kept


def test_spec_load_balancer_ip_stays_where_cilium_reads_it():
    c = live_cluster(pool("p", "10.0.0.0/24"), svc("a", "x", lb_ip="10.0.0.9", ingress=["10.0.0.9"]))
    m = mapping(tocilium.plan(c), "a/x")
    assert m.annotations == {} and m.kept


def test_sharing_in_one_namespace_needs_only_the_key():
    c = live_cluster(
        pool("p", "10.0.0.0/24"),
        svc("a", "u", annotations={"metallb.io/allow-shared-ip": "k"}, ports=["UDP/53"], ingress=["10.0.0.5"]),
        svc("a", "t", annotations={"metallb.io/allow-shared-ip": "k"}, ports=["TCP/80"], ingress=["10.0.0.5"]),
    )
    p = tocilium.plan(c)
    assert mapping(p, "a/u").annotations == {cilium.SHARING_KEY: "k"}
    assert all(m.kept for m in p.services) and codes(p) == []


def shared_across(version):
    c = live_cluster(
        pool("p", "10.0.0.0/24"),
        svc("a", "u", annotations={"metallb.universe.tf/allow-shared-ip": "k"}, ports=["UDP/53"], ingress=["10.0.0.5"]),
        svc("b", "t", annotations={"metallb.io/allow-shared-ip": "k"}, ports=["TCP/53"], ingress=["10.0.0.5"]),
    )
    return tocilium.plan(c, version)


def test_sharing_across_namespaces_asks_consent_on_both_sides():
    p = shared_across(NEWEST)
    assert mapping(p, "a/u").annotations == {cilium.SHARING_KEY: "k", cilium.CROSS_NAMESPACE_KEY: "b"}
    assert mapping(p, "b/t").annotations == {cilium.SHARING_KEY: "k", cilium.CROSS_NAMESPACE_KEY: "a"}
    assert all(m.kept for m in p.services) and codes(p) == []


def test_v115_cannot_share_across_namespaces():
    p = shared_across(V15)
    assert codes(p) == [C.TO_CILIUM_REFUSED]
    loss = p.all_losses()[0]
    assert "different and not permitted namespace" in loss.message and loss.severity == C.ERROR
    assert [m.key for m in p.unproven()] == ["b/t"]


def test_v117_shares_no_port_number_whatever_the_protocol():
    """UDP/53 beside TCP/53 shares under MetalLB and Cilium v1.18+, not v1.17."""
    assert codes(shared_across(V17)) == [C.TO_CILIUM_REFUSED]
    assert "same port" in shared_across(V17).all_losses()[0].message
    assert codes(shared_across(V18)) == []


def test_address_pool_becomes_a_label_and_the_other_pools_leave_it_out():
    c = live_cluster(
        pool("a", "10.0.0.0/24"),
        pool("b", "10.0.1.0/24"),
        svc("x", "pinned", annotations={"metallb.io/address-pool": "b"}, ingress=["10.0.1.0"]),
        svc("x", "free"),
    )
    p = tocilium.plan(c)
    assert mapping(p, "x/pinned").labels == {LABEL: "b"}
    assert spec(p, "a")["serviceSelector"] == {
        "matchExpressions": [{"key": LABEL, "operator": "NotIn", "values": ["b"]}]
    }
    assert "serviceSelector" not in spec(p, "b")
    assert mapping(p, "x/pinned").kept


def test_a_label_already_there_is_not_added_again():
    c = live_cluster(pool("a", "10.0.0.0/24"), svc("x", "y", labels={LABEL: "a"}, ingress=["10.0.0.1"]))
    assert mapping(tocilium.plan(c), "x/y").labels == {}


def test_a_service_with_a_class_is_not_migrated():
    obj = svc("x", "y", ingress=["10.0.0.1"])
    obj["spec"]["loadBalancerClass"] = "other.io/lb"
    assert tocilium.plan(live_cluster(pool("a", "10.0.0.0/24"), obj)).services == []


# --- the proof


def test_an_address_no_pool_covers_would_be_stripped():
    c = live_cluster(pool("a", "10.0.0.0/24"), svc("x", "y", ingress=["192.0.2.1"]))
    p = tocilium.plan(c)
    assert codes(p) == [C.TO_CILIUM_REFUSED]
    assert "192.0.2.1" in p.all_losses()[0].message and not mapping(p, "x/y").kept


def test_overlapping_pools_are_named():
    p = tocilium.plan(cluster(pool("a", "10.0.0.0/24"), pool("b", "10.0.0.128/25")))
    assert C.TO_CILIUM_OVERLAP in codes(p)


def test_a_dual_stack_pair_from_two_pools_metallb_refuses_cilium_gives():
    c = live_cluster(
        pool("v4", "10.0.0.0/24"),
        pool("v6", "fd00::/120"),
        dual("x", "y", annotations={"metallb.io/loadBalancerIPs": "10.0.0.5,fd00::5"}),
    )
    p = tocilium.plan(c)
    assert codes(p) == [C.TO_CILIUM_ACCEPTED]
    assert mapping(p, "x/y").after == ("10.0.0.5", "fd00::5")
    assert "split-pool-dual-stack" in p.all_losses()[0].message


def test_several_addresses_of_one_family_metallb_refuses_cilium_gives():
    c = live_cluster(
        pool("a", "10.0.0.0/24"), svc("x", "y", annotations={"metallb.io/loadBalancerIPs": "10.0.0.5,10.0.0.6"})
    )
    assert codes(tocilium.plan(c)) == [C.TO_CILIUM_ACCEPTED]


def test_a_second_family_cilium_would_add_is_named():
    c = live_cluster(
        pool("v4only", "10.0.0.0/24", allocation={"namespaces": ["x"]}),
        pool("v6", "fd00::/120"),
        dual("x", "y", policy="PreferDualStack", ingress=["10.0.0.1"]),
    )
    p = tocilium.plan(c)
    m = mapping(p, "x/y")
    assert m.kept and m.gained == ("fd00::",)
    assert codes(p) == [C.TO_CILIUM_ACCEPTED]


def test_a_pinned_address_not_held_yet_is_at_risk_from_automatic_allocation():
    c = live_cluster(
        pool("a", "10.0.0.0/24"),
        svc("x", "pinned", annotations={"metallb.io/loadBalancerIPs": "10.0.0.0"}),
        svc("x", "auto"),
    )
    p = tocilium.plan(c)
    assert codes(p, "service x/pinned") == [C.TO_CILIUM_PINNED_UNPROTECTED]


def test_a_pinned_address_already_held_is_safe():
    c = live_cluster(
        pool("a", "10.0.0.0/24"),
        svc("x", "pinned", annotations={"metallb.io/loadBalancerIPs": "10.0.0.0"}, ingress=["10.0.0.0"]),
        svc("x", "auto"),
    )
    assert codes(tocilium.plan(c)) == []


def test_manifests_without_status_prove_the_pins_only():
    c = cluster(pool("a", "10.0.0.0/24"), svc("x", "pinned", annotations={"metallb.io/loadBalancerIPs": "10.0.0.9"}))
    p = tocilium.plan(c)
    m = mapping(p, "x/pinned")
    assert m.held == () and m.after == ("10.0.0.9",) and codes(p) == []


# --- advertisements


def test_an_l2_advertisement_of_every_pool_announces_every_service():
    c = cluster(pool("a", "10.0.0.0/24"), adv("L2Advertisement", "all", interfaces=["eth0", "br.1"]))
    p = tocilium.plan(c)
    obj = p.advertisements[0].obj
    assert obj["kind"] == "CiliumL2AnnouncementPolicy"
    assert obj["spec"] == {"interfaces": ["^eth0$", "^br\\.1$"], "loadBalancerIPs": True, "externalIPs": False}
    assert codes(p) == []


def test_an_l2_advertisement_of_some_pools_selects_their_label():
    c = cluster(
        pool("a", "10.0.0.0/24"),
        pool("b", "10.0.1.0/24"),
        adv("L2Advertisement", "some", ipAddressPools=["b"], nodeSelectors=[{"matchLabels": {"zone": "x"}}]),
    )
    p = tocilium.plan(c)
    s = p.advertisements[0].obj["spec"]
    assert s["serviceSelector"] == {"matchExpressions": [{"key": LABEL, "operator": "In", "values": ["b"]}]}
    assert s["nodeSelector"] == {"matchLabels": {"zone": "x"}}
    assert codes(p) == [C.TO_CILIUM_ADV_POOLS]


def test_several_node_selectors_are_an_error():
    sels = [{"matchLabels": {"zone": "x"}}, {"matchLabels": {"zone": "y"}}]
    p = tocilium.plan(cluster(pool("a", "10.0.0.0/24"), adv("L2Advertisement", "n", nodeSelectors=sels)))
    assert codes(p) == [C.TO_CILIUM_ADV_SELECTORS] and p.blocking()


@pytest.mark.parametrize("version,api", [(NEWEST, "cilium.io/v2"), ((1, 16, 0), "cilium.io/v2alpha1")])
def test_a_bgp_advertisement_becomes_a_cilium_bgp_advertisement(version, api):
    c = cluster(pool("a", "10.0.0.0/24"), adv("BGPAdvertisement", "b", peers=["tor"], aggregationLength=32))
    p = tocilium.plan(c, version)
    obj = p.advertisements[0].obj
    assert obj["apiVersion"] == api and obj["kind"] == "CiliumBGPAdvertisement"
    assert obj["spec"]["advertisements"][0]["service"] == {"addresses": ["LoadBalancerIP"]}
    assert codes(p) == [C.TO_CILIUM_BGP] and not p.blocking()
    assert "peers tor" in p.all_losses()[0].message


def test_v115_has_no_cilium_bgp_advertisement():
    p = tocilium.plan(cluster(pool("a", "10.0.0.0/24"), adv("BGPAdvertisement", "b")), V15)
    assert p.advertisements[0].obj is None
    assert codes(p) == [C.TO_CILIUM_BGP] and p.blocking()


# --- objects, steps, manifests


def test_pool_api_version_follows_the_release():
    assert tocilium.pool_api(NEWEST) == "cilium.io/v2"
    assert tocilium.pool_api(V17) == "cilium.io/v2alpha1"


def test_the_cut_over_labels_first_stops_metallb_then_creates_the_pools():
    c = live_cluster(
        pool("a", "10.0.0.0/24"),
        svc("x", "y", annotations={"metallb.io/loadBalancerIPs": "10.0.0.3"}, ingress=["10.0.0.3"]),
    )
    steps = tocilium.cutover(tocilium.plan(c), "metallb-system", "cilium.yaml")
    commands = [cmd for step in steps for cmd in step.commands]
    order = [
        "kubectl -n x label service y kubectl-lbip/pool=a",
        f"kubectl -n x annotate service y {cilium.IPS_KEY}=10.0.0.3",
        "kubectl -n metallb-system scale deployment controller --replicas=0",
        "kubectl apply -f cilium.yaml",
        "kubectl wait --for=jsonpath='{.status.conditions[?(@.type==\"cilium.io/IPsUsed\")].message}'=1 "
        "ciliumloadbalancerippool/a --timeout=2m",
        "kubectl -n x annotate service y metallb.io/loadBalancerIPs-",
    ]
    assert [c for c in commands if c in order] == order


def test_the_plan_predicts_each_pools_ips_used_a_shared_address_counted_once():
    """Cilium writes no condition on a service whose address it adopts: the cut-over
    waits for each pool's IPsUsed to reach the plan's count. Two sharers of one address
    count once, as Cilium's allocator counts it (the pools the plan makes hand out
    their first and last addresses, allowFirstLastIPs: Yes, so none is reserved)."""
    c = live_cluster(
        pool("a", "10.0.0.0/24", avoid_buggy=True),
        pool("b", "10.0.1.0/30"),
        svc("x", "one", annotations={"metallb.io/allow-shared-ip": "k"}, ingress=["10.0.0.3"], ports=["TCP/80"]),
        svc("x", "two", annotations={"metallb.io/allow-shared-ip": "k"}, ingress=["10.0.0.3"], ports=["TCP/443"]),
        svc("x", "three", ingress=["10.0.1.1"]),
        svc("x", "four", ingress=["10.0.1.2"]),
    )
    p = tocilium.plan(c)
    assert {m.name: (m.used, m.exact) for m in p.pools} == {"a": (1, True), "b": (2, True)}
    doc = tocilium.plan_document(p, [], [])
    assert {x["cilium"]: x["ipsUsed"] for x in doc["pools"]} == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    "ingress,condition,counted,verdict",
    [
        (["10.0.0.3"], None, False, tocilium.WAITING),  # adopted or not yet: the counts tell
        (["10.0.0.3"], None, True, tocilium.SATISFIED),  # adopted as it is: no condition
        (["10.0.0.3"], "True", False, tocilium.SATISFIED),  # Cilium satisfied it itself
        (["10.0.0.9"], "True", False, tocilium.MOVED),
        (["10.0.0.9"], None, True, tocilium.MOVED),
        (["10.0.0.3"], "False", False, tocilium.WAITING),  # may still change before the counts
        (["10.0.0.3"], "False", True, tocilium.MOVED),  # refused once counted: named
    ],
)
def test_judge_after_a_missing_condition_is_not_a_refusal(ingress, condition, counted, verdict):
    c = live_cluster(pool("a", "10.0.0.0/24"), svc("x", "y", ingress=["10.0.0.3"]))
    [m] = tocilium.plan(c).services
    cond = {"type": cilium.CONDITION, "status": condition, "reason": "r", "message": "m"} if condition else None
    assert tocilium.judge_after(m, ingress, cond, counted)[0] == verdict


def test_pools_counted_names_each_pool_behind_the_plan():
    c = live_cluster(pool("a", "10.0.0.0/24"), svc("x", "y", ingress=["10.0.0.3"]))
    p = tocilium.plan(c)
    [m] = p.pools
    assert tocilium.pools_counted(p, {m.name: m.used}) == ""
    assert tocilium.pools_counted(p, {}) == f"pool {m.name}: cilium.io/IPsUsed not written, the plan {m.used}"
    assert "cilium.io/IPsUsed 5, the plan" in tocilium.pools_counted(p, {m.name: 5})


def test_apply_to_object_adds_labels_and_keys_and_keeps_the_rest():
    obj = svc("x", "y", annotations={"metallb.io/allow-shared-ip": "k", "team": "a"}, labels={"app": "y"})
    m = tocilium.ServiceMapping(Service.from_object(obj), "a", {LABEL: "a"}, {cilium.SHARING_KEY: "k"}, ())
    assert tocilium.apply_to_object(obj, m)
    assert obj["metadata"]["labels"] == {"app": "y", LABEL: "a"}
    assert obj["metadata"]["annotations"] == {"metallb.io/allow-shared-ip": "k", "team": "a", cilium.SHARING_KEY: "k"}
    assert not tocilium.apply_to_object(obj, m)  # twice: nothing more


def test_without_buggy_pieces():
    from kubectl_lbip.model.addresses import parse_pool_address

    pieces = tocilium.without_buggy(parse_pool_address("10.0.0.250-10.0.1.3"))
    assert [(p.first & 0xFF, p.last & 0xFF) for p in pieces] == [(250, 254), (1, 3)]
    assert tocilium.without_buggy(parse_pool_address("10.0.0.0/16"), limit=10) is None


def test_the_shortcut_answers_as_the_operator_model_does():
    """prove() skips lbipam.satisfy for a service that keeps all it asks for: the
    answers must be the same as satisfy's, service by service."""
    c = live_cluster(
        pool("a", "10.0.0.0/24", "fd00::/120"),
        pool("r", "10.0.1.0/24", auto_assign=False),
        svc("x", "held", ingress=["10.0.0.1"]),
        dual("x", "half", policy="PreferDualStack", ingress=["10.0.0.2"]),
        dual("x", "both", ingress=["10.0.0.3", "fd00::3"]),
        svc("x", "pinned", annotations={"metallb.io/loadBalancerIPs": "10.0.1.5"}, ingress=["10.0.1.5"]),
        svc("x", "pending", annotations={"metallb.io/loadBalancerIPs": "10.0.1.6"}),
        svc("x", "stray", ingress=["192.0.2.1"]),
        svc("x", "auto"),
    )
    p = tocilium.plan(c)
    pools = [cilium.pool_from_object(m.obj) for m in p.pools]
    lbipam = cilium.Lbipam(pools, [m.migrated() for m in p.services])
    views = {v.key: v for v in lbipam.views}
    for m in p.services:
        fast = tocilium.cilium_status(lbipam, views.get(m.key), m.migrated())
        slow = lbipam.satisfy(m.migrated())
        assert (fast[0], fast[1].reason) == (slow[0], slow[1].reason), m.key


# --- Cilium pools that exist already


def cilium_pool(name, *cidrs, created="2026-01-01T00:00:00Z", **spec):
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"blocks": [{"cidr": c} for c in cidrs], **spec},
    }


def test_an_existing_pool_overlapping_a_made_one_wins_as_the_older():
    c = live_cluster(pool("a", "10.0.0.0/24"), svc("x", "y", ingress=["10.0.0.5"]))
    p = tocilium.plan(c, existing=[cilium_pool("old", "10.0.0.0/25")])
    assert C.TO_CILIUM_EXISTING_POOLS in codes(p)
    assert C.TO_CILIUM_OVERLAP in codes(p)  # the pool made is the newer: Cilium disables it
    assert "pool a" in [x.subject for x in p.all_losses() if x.code == C.TO_CILIUM_OVERLAP]
    assert mapping(p, "x/y").kept  # 10.0.0.5 lies in the old pool, which selects every service


def test_an_existing_pool_identical_to_a_made_one_is_that_pool_made_already():
    c = live_cluster(pool("a", "10.0.0.0/24"), svc("x", "y", ingress=["10.0.0.5"]))
    first = tocilium.plan(c)
    [made] = first.objects()
    again = tocilium.plan(
        c, existing=[dict(made, metadata={**made["metadata"], "creationTimestamp": "2026-01-01T00:00:00Z"})]
    )
    assert again.objects() == [] and codes(again) == []
    assert [m.exists for m in again.pools] == [True] and mapping(again, "x/y").kept


def test_a_name_taken_by_another_pool_renames_the_made_one():
    c = cluster(pool("a", "10.0.0.0/24"))
    p = tocilium.plan(c, existing=[cilium_pool("a", "10.9.0.0/24")])
    assert [m.name for m in p.pools] == ["a-2"]
    assert codes(p) == [C.TO_CILIUM_EXISTING_POOLS]


def test_an_address_cilium_will_hand_out_counts_in_its_pool_and_an_unpredictable_pick_leaves_no_count():
    # a gained IPv6 address (the service asks for both families, MetalLB gave one)
    c = live_cluster(
        pool("a", "10.0.0.0/24", "fd00::/120"),
        svc("x", "y", ingress=["10.0.0.3"], policy="PreferDualStack", ip_families=["IPv4", "IPv6"]),
    )
    p = tocilium.plan(c)
    [m] = p.services
    assert len(m.after) == 2 and not m.candidates
    assert [pm.used for pm in p.pools] == [2]
    # two pools select every service, and a new one holds nothing: Cilium's map order picks
    c = live_cluster(pool("a", "10.0.0.0/24"), pool("b", "10.0.1.0/24"), svc("x", "new"))
    p = tocilium.plan(c)
    [m] = p.services
    assert m.candidates
    steps = tocilium.cutover(p, "metallb-system", "f.yaml")
    assert [(pm.used, pm.exact) for pm in p.pools] == [(0, False), (0, False)]
    assert not [cmd for s in steps for cmd in s.commands if "--for=jsonpath" in cmd]
    a, b = p.pools
    assert tocilium.pools_counted(p, {a.name: 1, b.name: 0}) == ""  # at least: either pool may take it
    assert "not written, the plan at least 0" in tocilium.pools_counted(p, {a.name: 1})

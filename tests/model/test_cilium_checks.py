"""Each Cilium check of model/cilium_checks.py, with a near miss beside it: the
same objects one step away from the finding give none."""

from __future__ import annotations

from typing import List, Optional, Sequence

import pytest

from kubectl_lbip.model import checks, cilium
from kubectl_lbip.model import cilium_checks as cc
from kubectl_lbip.model.services import Port, Service

V15, V16, V20 = (1, 15, 19), (1, 16, 0), (1, 20, 2)
OLD, NEW = "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"


def pool(name: str, *blocks, selector: Optional[dict] = None, created: str = OLD, status=None, **spec):
    body: dict = {"blocks": [{"cidr": b} if isinstance(b, str) else b for b in blocks], **spec}
    if selector is not None:
        body["serviceSelector"] = selector
    obj: dict = {"metadata": {"name": name, "creationTimestamp": created}, "spec": body}
    if status is not None:
        obj["status"] = {"conditions": status}
    return cilium.pool_from_object(obj)


def svc(name="web", namespace="default", *, annotations=None, ingress: Sequence[str] = (), ports=("TCP/80",), **f):
    return Service(
        namespace,
        name,
        annotations=dict(annotations or {}),
        ports=tuple(Port.parse(p) for p in ports),
        ingress=tuple(ingress),
        **f,
    )


def ips(text: str, **more) -> dict:
    return {cilium.IPS_KEY: text, **more}


def findings(pools, services, version=V20, pins=False, **kwargs) -> List:
    """The findings, less the pin warnings (most services here pin an address
    of a pool that selects every service) unless ``pins``."""
    operator = cilium.Operator(version=version, ipv6=False)
    found = cc.findings_for(cilium.Lbipam(list(pools), list(services), operator), list(services), **kwargs)
    return [f for f in found if pins or f.code != checks.CILIUM_PIN_IN_AUTO_RANGE]


def codes(found, name: Optional[str] = None) -> List[str]:
    return [f.code for f in found if name is None or f.name == name]


POOL = pool("main", "10.0.0.0/24")


# --- Cilium's refusals, as codes


def test_an_address_in_no_pool_is_no_pool_and_one_in_the_pool_is_fine():
    (f,) = findings([POOL], [svc(annotations=ips("10.9.0.5"))])
    assert f.code == checks.CILIUM_NO_POOL and f.severity == checks.ERROR
    assert "no_pool" in f.message and "no pool's blocks hold it" in f.message and " Fix: " in f.message
    assert findings([POOL], [svc(annotations=ips("10.0.0.5"))]) == []


def test_an_address_of_a_disabled_pool_is_no_pool_and_says_the_pool_is_disabled():
    off = pool("off", "10.1.0.0/24", disabled=True)
    (f,) = findings([POOL, off], [svc(annotations=ips("10.1.0.5"))])
    assert f.code == checks.CILIUM_NO_POOL and "pool off is disabled" in f.message
    on = pool("off", "10.1.0.0/24")
    assert findings([POOL, on], [svc(annotations=ips("10.1.0.5"))]) == []


def test_a_pool_that_does_not_select_the_service_is_a_selector_mismatch():
    team = pool("team", "10.2.0.0/24", selector={"matchLabels": {"team": "a"}})
    (f,) = findings([team], [svc(annotations=ips("10.2.0.5"))])
    assert f.code == checks.CILIUM_SELECTOR_MISMATCH and "team=a" in f.message
    assert "label the service to match pool team's serviceSelector" in f.message
    assert findings([team], [svc(annotations=ips("10.2.0.5"), labels={"team": "a"})]) == []


def test_an_address_another_service_holds_is_already_allocated_unless_they_share():
    holder = svc("db", annotations=ips("10.0.0.7"), ingress=["10.0.0.7"], ports=("TCP/5432",))
    found = findings([POOL], [holder, svc(annotations=ips("10.0.0.7"))])
    assert codes(found) == [checks.CILIUM_ALREADY_ALLOCATED]
    assert "default/db hold(s) it and this service has no sharing key" in found[0].message
    key = {cilium.SHARING_KEY: "k"}
    holder.annotations.update(key)
    assert findings([POOL], [holder, svc(annotations=ips("10.0.0.7", **key))]) == []


@pytest.mark.parametrize("version,reason", [(V20, "incompatible_service"), (V16, "different_sharing_key")])
def test_sharing_across_namespaces_without_consent_is_refused(version, reason):
    key = {cilium.SHARING_KEY: "k"}
    holder = svc("db", "data", annotations=ips("10.0.0.7", **key), ingress=["10.0.0.7"], ports=("TCP/5432",))
    (f,) = findings([POOL], [holder, svc(annotations=ips("10.0.0.7", **key))], version=version)
    assert f.code == checks.CILIUM_INCOMPATIBLE and f"already_allocated_{reason}" in f.message
    assert "different and not permitted namespace" in f.message
    holder.annotations[cilium.CROSS_NAMESPACE_KEY] = "default"
    both = svc(annotations=ips("10.0.0.7", **key, **{cilium.CROSS_NAMESPACE_KEY: "data"}))
    assert findings([POOL], [holder, both], version=version) == []  # near miss: consent on both sides


def test_a_full_pool_is_out_of_ips_for_an_automatic_request():
    tiny = pool("tiny", "10.3.0.1/32")
    holder = svc("db", ingress=["10.3.0.1"])
    (f,) = findings([tiny], [holder, svc()])
    assert f.code == checks.CILIUM_OUT_OF_IPS and "pools tiny select it and are full" in f.message
    assert findings([pool("tiny", "10.3.0.0/31")], [holder, svc()]) == []


def test_a_reserved_first_address_is_already_allocated_and_allowed_when_usable():
    reserving = pool("main", "10.0.0.0/24", allowFirstLastIPs="No")
    (f,) = findings([reserving], [svc(annotations=ips("10.0.0.0"))])
    assert f.code == checks.CILIUM_ALREADY_ALLOCATED and "reserves them (allowFirstLastIPs No)" in f.message
    assert f.message.endswith("Fix: pick an address that is not the first or last of the cidr block")
    assert findings([pool("main", "10.0.0.0/24", allowFirstLastIPs="Yes")], [svc(annotations=ips("10.0.0.0"))]) == []


def test_a_reserved_address_with_a_sharing_key_is_a_warning_on_v120_and_given_before():
    reserving = pool("main", "10.0.0.0/24", allowFirstLastIPs="No")
    asking = svc(annotations=ips("10.0.0.0", **{cilium.SHARING_KEY: "k"}))
    (f,) = findings([reserving], [asking])
    assert f.code == checks.CILIUM_ALREADY_ALLOCATED and f.severity == checks.WARNING
    assert "cannot be predicted" in f.message
    assert findings([reserving], [asking], version=(1, 19, 0)) == []


def test_two_manifests_requesting_one_address_are_both_reported_unless_they_may_share():
    a, b = svc("a", annotations=ips("10.0.0.9")), svc("b", annotations=ips("10.0.0.9"), ports=("TCP/443",))
    found = findings([POOL], [a, b])
    assert sorted((f.name, f.code) for f in found) == [
        ("a", checks.CILIUM_ALREADY_ALLOCATED),
        ("b", checks.CILIUM_ALREADY_ALLOCATED),
    ]
    assert "also requested by default/b" in found[0].message
    key = {cilium.SHARING_KEY: "k"}
    a.annotations.update(key), b.annotations.update(key)
    assert findings([POOL], [a, b]) == []
    clash = svc("c", annotations=ips("10.0.0.9", **key))  # same key, same port: incompatible
    assert set(codes(findings([POOL], [a, clash]))) == {checks.CILIUM_INCOMPATIBLE}


def test_an_element_that_is_not_an_address_is_dropped_and_said():
    (f,) = findings([POOL], [svc(annotations=ips("10.0.0.5,10.0.0.x"))])
    assert f.code == checks.INVALID_REQUEST and "'10.0.0.x'" in f.message and "still count" in f.message
    (only,) = findings([POOL], [svc(annotations=ips("nope"))])
    assert "nothing is left" in only.message
    assert findings([POOL], [svc(annotations=ips("10.0.0.5,10.0.0.6"))]) == []


# --- pools


def test_the_newer_of_two_overlapping_pools_is_a_pool_conflict_and_disjoint_pools_are_not():
    newer = pool("newer", "10.0.0.128/25", created=NEW)
    (f,) = findings([POOL, newer], [])
    assert (f.kind, f.name, f.code, f.severity) == (
        "CiliumLoadBalancerIPPool",
        "newer",
        checks.CILIUM_POOL_CONFLICT,
        "error",
    )
    assert "of the older pool main" in f.message and "make the pool's blocks disjoint from pool main's" in f.message
    assert findings([POOL, pool("newer", "10.1.0.0/25", created=NEW)], []) == []


def test_equal_creation_times_make_the_conflict_a_warning_that_names_map_order():
    (f,) = findings([POOL, pool("twin", "10.0.0.0/25")], [])
    assert f.severity == checks.WARNING and "map order" in f.message


def test_a_chain_of_overlaps_warns_about_the_pool_marked_only_in_some_orders():
    a = pool("a", "10.0.0.0/24", created="2024-01-01T00:00:00Z")
    b = pool("b", "10.0.0.128/25", "10.0.1.0/25", created="2024-02-01T00:00:00Z")
    c = pool("c", "10.0.1.0/26", created="2024-03-01T00:00:00Z")
    found = findings([a, b, c], [])
    assert [(f.name, f.severity) for f in found] == [("b", "error"), ("c", "warning")]
    assert "in some orders" in found[1].message


def test_a_pool_with_a_bad_block_is_kept_whole_by_nobody():
    (f,) = findings([pool("bad", "10.0.0.0/33"), POOL], [])
    assert f.code == checks.INVALID_POOL_ADDRESS and "keeps no part of this pool" in f.message


def test_a_disabled_pool_whose_addresses_are_held_warns_and_an_unused_one_does_not():
    off = pool("off", "10.1.0.0/24", disabled=True)
    (f,) = findings([POOL, off], [svc("db", ingress=["10.1.0.4"])])
    assert f.code == checks.CILIUM_DISABLED_IN_USE and "default/db" in f.message
    assert findings([POOL, off], [svc("db", ingress=["10.0.0.4"])]) == []


def test_reported_counts_that_differ_from_the_objects_are_drift_and_equal_ones_are_not():
    used = [{"type": cilium.IPS_USED, "status": "Unknown", "message": "1"}]
    held = svc("db", ingress=["10.0.0.4"])
    assert findings([pool("main", "10.0.0.0/24", status=used)], [held]) == []
    (f,) = findings([pool("main", "10.0.0.0/24", status=used)], [])
    assert f.code == checks.STATUS_DRIFT and "cilium.io/IPsUsed '1' where these objects give 0" in f.message


def test_a_reported_pool_conflict_the_objects_do_not_give_is_drift():
    marked = [{"type": cilium.POOL_CONFLICT, "status": "True", "reason": "cidr_overlap"}]
    (f,) = findings([pool("main", "10.0.0.0/24", status=marked)], [])
    assert f.code == checks.STATUS_DRIFT and "PoolConflict True" in f.message
    resolved = [{"type": cilium.POOL_CONFLICT, "status": "False", "reason": "resolved"}]
    assert findings([pool("main", "10.0.0.0/24", status=resolved)], []) == []


# --- what Cilium accepts but an operator should hear


def test_a_pin_in_a_pool_that_also_serves_automatic_requests_warns_and_a_pool_of_its_own_does_not():
    (f,) = findings([POOL], [svc(annotations=ips("10.0.0.5")), svc("auto")], pins=True)
    assert f.code == checks.CILIUM_PIN_IN_AUTO_RANGE and f.name == "web" and "such as default/auto" in f.message
    pinned = pool("pinned", "10.5.0.0/28", selector={"matchLabels": {"pin": "yes"}})
    pinning = svc(annotations=ips("10.5.0.5"), labels={"pin": "yes"})
    assert findings([POOL, pinned], [pinning, svc("auto")], pins=True) == []


def test_a_pin_warns_in_a_pool_without_a_selector_even_before_any_automatic_service():
    (f,) = findings([POOL], [svc(annotations=ips("10.0.0.5"))], pins=True)
    assert "any service that requests no address (it has no serviceSelector)." in f.message.split(";")[0] + "."


def test_a_pin_warns_in_a_selecting_pool_only_when_an_automatic_service_matches_it():
    shared = pool("shared", "10.6.0.0/28", selector={"matchLabels": {"tier": "web"}})
    pinning = svc(annotations=ips("10.6.0.5"), labels={"tier": "web"})
    (f,) = findings([shared], [pinning, svc("auto", labels={"tier": "web"})], pins=True)
    assert "services that request none (default/auto)" in f.message
    other = svc("auto", labels={"tier": "db"})
    assert codes(findings([shared], [pinning, other], pins=True)) == [checks.CILIUM_NO_POOL]  # auto's own


def test_an_old_key_is_deprecated_from_v116_and_the_only_key_of_v115():
    old = svc(annotations={cilium.IPS_ALIAS: "10.0.0.5"})
    found = cc.deprecated_keys(old, V20)
    assert [f.code for f in found] == [checks.DEPRECATED_ANNOTATION]
    assert found[0].message.endswith("Fix: use lbipam.cilium.io/ips instead")
    assert cc.deprecated_keys(old, V15) == []


def test_a_new_key_on_v115_is_ignored_and_read_from_v116():
    new = svc(annotations={cilium.IPS_KEY: "10.0.0.5", cilium.CROSS_NAMESPACE_KEY: "*"})
    found = cc.deprecated_keys(new, V15)
    assert [f.code for f in found] == [checks.CILIUM_KEY_IGNORED] * 2
    assert "use io.cilium/lb-ipam-ips for this release" in found[0].message
    assert "upgrade Cilium to v1.16" in found[1].message
    assert cc.deprecated_keys(new, V16) == []


def test_an_address_in_the_status_cilium_would_not_keep_is_said():
    (f,) = findings([POOL], [svc(ingress=["192.168.9.9"])])
    assert f.code == checks.CILIUM_ADDRESS_STRIPPED and "192.168.9.9" in f.message
    assert findings([POOL], [svc(ingress=["10.0.0.9"])]) == []


def test_pending_carries_ciliums_condition_and_a_held_address_is_not_pending():
    waiting = svc(observed=True)
    cond = {"status": "False", "reason": "out_of_ips", "message": "All ... ran out"}
    (f,) = cc.pending(waiting, cond)
    assert f.code == checks.PENDING and f.severity == checks.ERROR and "Cilium says out_of_ips" in f.message
    (g,) = cc.pending(waiting, None, live=True)
    assert g.severity == checks.WARNING
    assert cc.pending(svc(observed=True, ingress=["10.0.0.1"]), cond) == []
    assert cc.pending(svc(), cond) == []  # a manifest: its empty status is no record


# --- two implementations


def test_a_classless_service_with_both_installed_is_served_by_both():
    operator = cilium.Operator()
    (f,) = cc.implementations(svc(), operator, "")
    assert f.code == checks.SERVED_BY_BOTH and f.severity == checks.ERROR
    assert cc.implementations(svc(), operator, None) == []  # MetalLB not installed
    assert cc.implementations(svc(), operator, "metallb") == []  # MetalLB runs with --lb-class
    l2 = cilium.Operator(l2_announcements=True)
    assert cc.implementations(svc(load_balancer_class=cilium.L2_CLASS), l2, "") == []


def test_a_class_no_installed_implementation_serves_warns():
    (f,) = cc.implementations(svc(load_balancer_class="example.com/lb"), cilium.Operator(), "")
    assert f.code == checks.CLASS_UNSERVED and "example.com/lb" in f.message
    assert cc.implementations(svc(load_balancer_class="example.com/lb"), cilium.Operator(), "example.com/lb") == []
    assert cc.implementations(svc(type="ClusterIP", load_balancer_class="x"), cilium.Operator(), "") == []


def test_metallb_and_cilium_keys_on_one_service_say_which_are_ignored():
    both = svc(annotations={"metallb.io/loadBalancerIPs": "10.0.0.5", cilium.IPS_KEY: "10.0.0.5"})
    (f,) = cc.implementations(both, cilium.Operator(), None)
    assert f.code == checks.MIXED_ANNOTATIONS and "Cilium serves it and ignores the MetalLB keys" in f.message
    assert f.message.endswith("Fix: remove the MetalLB keys: the implementation that serves it ignores them")
    assert cc.implementations(svc(annotations=ips("10.0.0.5")), cilium.Operator(), None) == []


# --- plumbing


@pytest.mark.parametrize(
    "obj",
    [{}, {"status": None}, {"status": {"conditions": "x"}}, {"status": {"conditions": [1, None]}}, []],
)
def test_hostile_service_status_reads_as_no_condition(obj):
    assert cc.satisfied_condition(obj) is None


def test_the_condition_is_read_from_a_service_object():
    obj = {"status": {"conditions": [{"type": cilium.CONDITION, "status": "True", "reason": "satisfied"}]}}
    assert cc.satisfied_condition(obj) == {"status": "True", "reason": "satisfied", "message": ""}


def test_every_reason_has_a_catalogued_code_and_namespace_keeps_pool_findings():
    assert set(cc.REASON_CODES.values()) <= set(checks.BY_CODE)
    found = findings([POOL, pool("newer", "10.0.0.0/25", created=NEW)], [svc(annotations=ips("10.9.0.1"))])
    assert {f.code for f in found} == {checks.CILIUM_POOL_CONFLICT, checks.CILIUM_NO_POOL}
    kept = findings(
        [POOL, pool("newer", "10.0.0.0/25", created=NEW)], [svc(annotations=ips("10.9.0.1"))], namespace="x"
    )
    assert codes(kept) == [checks.CILIUM_POOL_CONFLICT]


def test_a_pinned_ipv6_address_is_safe_from_services_that_ask_only_for_ipv4():
    shared = pool("shared", "10.6.0.0/28", "fd00:6::/124", selector={"matchLabels": {"tier": "web"}})
    pinning = svc(annotations=ips("fd00:6::5"), labels={"tier": "web"})
    auto = svc("auto", labels={"tier": "web"})  # IPv4 only: the operator here has IPv6 off
    assert codes(findings([shared], [pinning, auto], pins=True)) == []
    v4 = svc(annotations=ips("10.6.0.5"), labels={"tier": "web"})
    assert codes(findings([shared], [v4, auto], pins=True)) == [checks.CILIUM_PIN_IN_AUTO_RANGE]


# --- check --warn-used on Cilium's own counts (issue 30 item 4)


@pytest.mark.parametrize(
    "first_last,warn,high",
    [
        ("Yes", 25, True),  # 1 of 4 used: 25%
        ("Yes", 26, False),  # the near miss
        ("No", 75, True),  # the reserved first and last count as used, as IPsUsed counts them: 3 of 4
        ("No", 76, False),
    ],
)
def test_warn_used_counts_as_cilium_counts(first_last, warn, high):
    small = pool("small", "10.0.9.0/30", allowFirstLastIPs=first_last)
    found = findings([small], [svc(annotations=ips("10.0.9.1"), ingress=["10.0.9.1"])], warn_used=warn)
    assert (checks.POOL_USED_HIGH in codes(found, "small")) is high
    assert checks.POOL_USED_HIGH not in codes(findings([small], [svc(annotations=ips("10.0.9.1"))]))  # not asked

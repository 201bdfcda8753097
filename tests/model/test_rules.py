"""Each check code: one input that raises it and one near miss that does not."""

import pytest
from builders import cluster, dual, lbips, live_cluster, pool, svc

from kubectl_lbip.model import rules
from kubectl_lbip.model.findings import findings_for
from kubectl_lbip.model.rules import ERROR, WARNING, check_request, make_request, sharing_conflict
from kubectl_lbip.model.services import Service

DUALPOOL = pool("prod", "192.168.10.0/24", "fd00:10::/64")


def codes(*objects, namespace=None):
    return sorted({f.code for f in findings_for(cluster(*objects), namespace)})


def findings(*objects):
    return findings_for(cluster(*objects))


def request_codes(objects, target, addresses):
    c = cluster(*objects)
    s = Service.from_object(target)
    return [f.code for f in check_request(c, s, make_request(addresses)).findings]


def test_pool_overlap_and_near_miss():
    assert "pool-overlap" in codes(pool("a", "192.168.1.0/24"), pool("b", "192.168.1.128/25"))
    assert "pool-overlap" not in codes(pool("a", "192.168.1.0/25"), pool("b", "192.168.1.128/25"))


def test_pool_overlap_says_metallb_keeps_its_last_valid_configuration():
    """MetalLB's reconcilers stop before loading a configuration they reject: the last
    valid one stays in use (it does not stop allocating)."""
    [found] = findings(pool("a", "192.168.1.0/24"), pool("b", "192.168.1.128/25"))
    assert "keeps using the last valid one" in found.message and "nothing new" not in found.message


def test_annotate_warns_while_metallb_rejects_the_configuration_and_strict_refuses():
    from netbuilders import config_state

    from kubectl_lbip.errors import Refused
    from kubectl_lbip.model import annotate

    objs = (DUALPOOL, svc("shop", "web"))
    plain = cluster(*objs)
    assert annotate.plan(plain, plain.service("shop", "web"), ["192.168.10.7"]).warnings == []
    c = cluster(*objs, config_state("controller", "Invalid", "overlap"))
    web = c.service("shop", "web")
    [warning] = annotate.plan(c, web, ["192.168.10.7"]).warnings
    assert warning.code == "metallb-config-invalid" and "which MetalLB is not using" in warning.message
    with pytest.raises(Refused) as refused:
        annotate.plan(c, web, ["192.168.10.7"], strict=True)
    assert [f.code for f in refused.value.findings] == ["metallb-config-invalid"]


def test_invalid_pool_address():
    assert "invalid-pool-address" in codes(pool("a", "192.168.1.0/24", "10.0.0.1-10.0.0.0"))
    assert "invalid-pool-address" not in codes(pool("a", "192.168.1.0/24", "10.0.0.0-10.0.0.1"))


def test_invalid_request():
    assert "invalid-request" in codes(DUALPOOL, svc("a", "s", annotations=lbips("192.168.10.5,")))
    assert "invalid-request" not in codes(DUALPOOL, svc("a", "s", annotations=lbips("192.168.10.5")))


def test_not_in_pool():
    assert "not-in-pool" in codes(DUALPOOL, svc("a", "s", annotations=lbips("192.168.11.5")))
    assert "not-in-pool" not in codes(DUALPOOL, svc("a", "s", annotations=lbips("192.168.10.255")))


def test_buggy_ip():
    p = pool("prod", "192.168.10.0/24", avoid_buggy=True)
    assert "buggy-ip" in codes(p, svc("a", "s", annotations=lbips("192.168.10.255")))
    assert "buggy-ip" not in codes(p, svc("a", "s", annotations=lbips("192.168.10.254")))
    assert "buggy-ip" not in codes(pool("prod", "192.168.10.0/24"), svc("a", "s", annotations=lbips("192.168.10.255")))


def test_split_pool_dual_stack():
    pools = (pool("v4", "192.168.20.0/24"), pool("v6", "fd00:20::/64"))
    assert "split-pool-dual-stack" in codes(*pools, dual("a", "s", annotations=lbips("192.168.20.5,fd00:20::5")))
    assert "split-pool-dual-stack" not in codes(DUALPOOL, dual("a", "s", annotations=lbips("192.168.10.5,fd00:10::5")))


def test_family_mismatch_both_ways():
    assert "family-mismatch" in codes(DUALPOOL, svc("a", "s", annotations=lbips("192.168.10.5,fd00:10::5")))
    assert "family-mismatch" in codes(DUALPOOL, dual("a", "s", annotations=lbips("192.168.10.5")))
    assert "family-mismatch" not in codes(DUALPOOL, svc("a", "s", annotations=lbips("192.168.10.5")))


def test_family_mismatch_message_says_how_to_fix():
    found = findings(DUALPOOL, svc("a", "s", annotations=lbips("192.168.10.5,fd00:10::5")))
    msg = next(f.message for f in found if f.code == "family-mismatch")
    assert "RequireDualStack" in msg and "PreferDualStack" in msg


def test_too_many_addresses():
    assert "too-many-addresses" in codes(DUALPOOL, dual("a", "s", annotations=lbips("192.168.10.5,192.168.10.6")))
    assert "too-many-addresses" in codes(
        DUALPOOL, dual("a", "s", annotations=lbips("192.168.10.5,fd00:10::5,192.168.10.6"))
    )
    assert "too-many-addresses" not in codes(DUALPOOL, dual("a", "s", annotations=lbips("192.168.10.5,fd00:10::5")))


def test_both_spec_and_annotation():
    assert "both-spec-and-annotation" in codes(
        DUALPOOL, svc("a", "s", lb_ip="192.168.10.5", annotations=lbips("192.168.10.5"))
    )
    assert "both-spec-and-annotation" not in codes(DUALPOOL, svc("a", "s", lb_ip="192.168.10.5"))


def test_address_conflict_without_sharing_key():
    objs = [DUALPOOL, svc("a", "one", ingress=["192.168.10.5"]), svc("b", "two", annotations=lbips("192.168.10.5"))]
    found = [f for f in findings(*objs) if f.code == "address-conflict"]
    # the request is refused; the holder keeps what it holds
    assert [(f.name, f.severity) for f in found] == [("two", ERROR)]


def test_sharing_with_same_key_and_distinct_ports_is_no_conflict():
    share = {"metallb.io/allow-shared-ip": "k"}
    objs = [
        DUALPOOL,
        svc("a", "tcp", ingress=["192.168.10.5"], annotations=share, ports=["TCP/53"]),
        svc("b", "udp", annotations={**share, **lbips("192.168.10.5")}, ports=["UDP/53"]),
    ]
    assert "address-conflict" not in codes(*objs)


@pytest.mark.parametrize(
    "a_kw,b_kw,expected",
    [
        (
            {"annotations": {"metallb.io/allow-shared-ip": "k"}},
            {"annotations": {"metallb.io/allow-shared-ip": "j"}},
            "sharing keys differ",
        ),
        ({"annotations": {"metallb.io/allow-shared-ip": "k"}}, {}, "no metallb.io/allow-shared-ip"),
        (
            {"annotations": {"metallb.io/allow-shared-ip": "k"}, "ports": ["TCP/80"]},
            {"annotations": {"metallb.io/allow-shared-ip": "k"}, "ports": ["TCP/80"]},
            "both use port TCP/80",
        ),
        (
            {
                "annotations": {"metallb.io/allow-shared-ip": "k"},
                "local": True,
                "selector": {"app": "x"},
                "ports": ["TCP/1"],
            },
            {
                "annotations": {"metallb.io/allow-shared-ip": "k"},
                "local": True,
                "selector": {"app": "y"},
                "ports": ["TCP/2"],
            },
            "backend keys differ",
        ),
    ],
)
def test_sharing_conflict_reasons(a_kw, b_kw, expected):
    a = Service.from_object(svc("n", "a", **a_kw))
    b = Service.from_object(svc("n", "b", **b_kw))
    assert expected in sharing_conflict(a, b)


def test_same_key_same_port_different_protocol_may_share():
    share = {"metallb.io/allow-shared-ip": "k"}
    a = Service.from_object(svc("n", "a", annotations=share, ports=["TCP/53"]))
    b = Service.from_object(svc("n", "b", annotations=share, ports=["UDP/53"]))
    assert sharing_conflict(a, b) is None


def test_pool_incompatible():
    restricted = pool("team", "192.168.30.0/24", allocation={"namespaces": ["team-a"]})
    assert "pool-incompatible" in codes(restricted, svc("team-b", "s", annotations=lbips("192.168.30.5")))
    assert "pool-incompatible" not in codes(restricted, svc("team-a", "s", annotations=lbips("192.168.30.5")))


def test_pool_annotation_mismatch_other_pool_and_missing_pool():
    objs = [DUALPOOL, pool("other", "192.168.40.0/24")]
    assert "pool-annotation-mismatch" in codes(
        *objs, svc("a", "s", annotations={**lbips("192.168.10.5"), "metallb.io/address-pool": "other"})
    )
    assert "pool-annotation-mismatch" in codes(*objs, svc("a", "s", annotations={"metallb.io/address-pool": "gone"}))
    assert "pool-annotation-mismatch" not in codes(
        *objs, svc("a", "s", annotations={**lbips("192.168.10.5"), "metallb.io/address-pool": "prod"})
    )


def test_no_dual_stack_pool():
    pools = (pool("v4", "192.168.20.0/24"), pool("v6", "fd00:20::/64"))
    found = [f for f in findings(*pools, dual("a", "s")) if f.code == "no-dual-stack-pool"]
    assert found and found[0].severity == ERROR and "v4" in found[0].message and "v6" in found[0].message
    assert "no-dual-stack-pool" not in codes(DUALPOOL, dual("a", "s"))
    assert "no-dual-stack-pool" not in codes(*pools, svc("a", "s"))
    prefer = [f for f in findings(*pools, dual("a", "s", policy="PreferDualStack")) if f.code == "no-dual-stack-pool"]
    assert prefer[0].severity == WARNING


def test_deprecated_annotation_and_loadbalancerip():
    assert "deprecated-annotation" in codes(
        DUALPOOL, svc("a", "s", annotations={"metallb.universe.tf/allow-shared-ip": "k"})
    )
    assert "deprecated-annotation" not in codes(
        DUALPOOL, svc("a", "s", annotations={"metallb.io/allow-shared-ip": "k"})
    )
    assert "deprecated-loadbalancerip" in codes(DUALPOOL, svc("a", "s", lb_ip="192.168.10.5"))
    assert "deprecated-loadbalancerip" not in codes(DUALPOOL, svc("a", "s", lb_ip="192.168.10.5", type="ClusterIP"))


def test_pending_only_where_statuses_are_metallbs_with_event_reason_live():
    objs = (DUALPOOL, svc("a", "s"), svc("a", "ok", ingress=["192.168.10.9"]))
    assert not [f for f in findings_for(cluster(*objs)) if f.code == "pending"]
    c = live_cluster(*objs, failures={"a/s": 'Failed to allocate IP for "a/s": no available IPs'})
    pending = [f for f in findings_for(c) if f.code == "pending"]
    assert [f.name for f in pending] == ["s"]
    assert "no available IPs" in pending[0].message and pending[0].severity == ERROR


def test_pool_exhausted_warning_and_error():
    small = pool("small", "192.168.50.0/29")  # 8 addresses
    full = [svc("a", f"s{i}", ingress=[f"192.168.50.{i}"]) for i in range(8)]
    found = [f for f in findings(small, *full) if f.code == "pool-exhausted"]
    assert found[0].severity == ERROR
    found = [f for f in findings(pool("p", "192.168.50.0/28"), *full[:15]) if f.code == "pool-exhausted"]
    assert not found  # 8 of 16 used: half free
    found = [
        f
        for f in findings(
            pool("p", "192.168.50.0/28"), *[svc("a", f"s{i}", ingress=[f"192.168.50.{i}"]) for i in range(15)]
        )
        if f.code == "pool-exhausted"
    ]
    assert found[0].severity == WARNING


def test_pool_used_high_only_when_asked_and_at_the_threshold():
    """check --warn-used: a warning per pool and family once the used share reaches the
    threshold; nothing without the option."""
    holders = [svc("a", f"s{i}", ingress=[f"192.168.50.{i}", f"fd00:50::{i}"]) for i in range(8)]
    c = cluster(pool("p", "192.168.50.0/28", "fd00:50::/124"), *holders)  # 8 of 16 used in each family
    assert not [f for f in findings_for(c) if f.code == "pool-used-high"]
    found = [f for f in findings_for(c, warn_used=50) if f.code == "pool-used-high"]
    assert [(f.severity, f.name) for f in found] == [(WARNING, "p"), (WARNING, "p")]
    assert sorted(f.message.split(" (")[0] for f in found) == [
        "8 of 16 IPv4 addresses used",
        "8 of 16 IPv6 addresses used",
    ]
    assert "Fix: add a range to the pool" in found[0].message
    assert not [f for f in findings_for(c, warn_used=51) if f.code == "pool-used-high"]  # 50% < 51%


def test_pool_used_high_per_family_and_on_huge_ranges():
    """One family past the threshold, the other not; a /64 counts with integers."""
    holders = [svc("a", f"s{i}", ingress=[f"192.168.50.{i}"]) for i in range(4)]
    holders.append(svc("a", "v6", ingress=["fd00:10::5"]))
    c = cluster(pool("p", "192.168.50.0/29", "fd00:10::/64"), *holders)  # IPv4 4 of 8, IPv6 1 of 2**64
    found = [f for f in findings_for(c, warn_used=1) if f.code == "pool-used-high"]
    assert len(found) == 1 and "IPv4" in found[0].message and "50%" in found[0].message
    assert [f.code for f in findings_for(c, warn_used=100) if f.code == "pool-used-high"] == []


def test_namespace_filter_keeps_pool_findings():
    objs = [
        pool("a", "192.168.1.0/24"),
        pool("b", "192.168.1.0/25"),
        svc("x", "s", annotations=lbips("10.0.0.1")),
        svc("y", "s", annotations=lbips("10.0.0.2")),
    ]
    found = findings_for(cluster(*objs), "x")
    assert {f.namespace for f in found if f.kind == "Service"} == {"x"}
    assert any(f.code == "pool-overlap" for f in found)


def test_request_check_order_mirrors_metallb():
    # An element that is not an address stops everything else, as in MetalLB.
    assert request_codes([DUALPOOL], svc("a", "s"), ["192.168.99.1", "x"]) == ["invalid-request"]
    # Several broken rules are all reported (annotate prints one line each).
    got = request_codes([DUALPOOL, pool("v6", "fd00:20::/64")], svc("a", "s"), ["192.168.10.5", "fd00:20::5"])
    assert got == ["family-mismatch", "split-pool-dual-stack"]


def test_annotate_rules_not_loadbalancer_finding():
    s = Service.from_object(svc("a", "s", type="NodePort"))
    assert rules.not_load_balancer(s).code == "not-loadbalancer"


def test_service_with_a_load_balancer_class_is_not_metallbs():
    other = svc("a", "cloud", ingress=["192.168.10.5"])
    other["spec"]["loadBalancerClass"] = "example.com/cloud-lb"
    c = cluster(DUALPOOL, other, svc("b", "mine", annotations=lbips("192.168.10.5")))
    from kubectl_lbip.model.addresses import parse_ip

    users = {u.service.name for u in c.index.uses("ipv4", int(parse_ip("192.168.10.5")))}
    assert users == {"mine"}  # the other implementation's address is not MetalLB's
    assert "address-conflict" not in codes(DUALPOOL, other, svc("b", "mine", annotations=lbips("192.168.10.5")))
    s = c.service("a", "cloud")
    assert not s.is_load_balancer
    assert "loadBalancerClass" in rules.not_load_balancer(s).message


NAMED_CHECKS = [
    # (check, the service, its request, the one code it returns)
    (rules.request_parses, svc("a", "s"), "192.168.10.5,x", "invalid-request"),
    (rules.request_has_a_family, svc("a", "s"), "192.168.10.5,192.168.10.6", "too-many-addresses"),
    (rules.family_matches_service, svc("a", "s"), "fd00:10::5", "family-mismatch"),
    (rules.pool_for, svc("a", "s"), "10.9.9.9", "not-in-pool"),
    (rules.pool_admits_service, svc("other", "s"), "192.168.30.5", "pool-incompatible"),
    (rules.sharing_allowed, svc("a", "s"), "192.168.10.7", "address-conflict"),
    (
        rules.pool_annotation_matches,
        svc("a", "s", annotations={"metallb.io/address-pool": "team"}),
        "192.168.10.5",
        "pool-annotation-mismatch",
    ),
]


@pytest.mark.parametrize("check,target,text,code", NAMED_CHECKS, ids=[c[0].__name__ for c in NAMED_CHECKS])
def test_each_request_rule_is_one_named_check(check, target, text, code):
    """check_request is MetalLB's sequence of checks, each returning its finding."""
    team = pool("team", "192.168.30.0/24", allocation={"namespaces": ["a"]})
    holder = svc("b", "holder", ingress=["192.168.10.7"])
    c = cluster(DUALPOOL, team, holder)
    ask = rules.Ask(c, Service.from_object(target), make_request([text]))
    if check in (rules.pool_admits_service, rules.pool_annotation_matches):
        rules.pool_for(ask)  # the pool the later checks look at
    assert [f.code for f in check(ask)] == [code]
    assert check in rules.FIRST_CHECKS + rules.REQUEST_CHECKS
    # and on a request that breaks nothing, every check is silent
    fine = rules.Ask(c, Service.from_object(svc("a", "ok")), make_request(["192.168.10.9"]))
    assert [f for chk in rules.FIRST_CHECKS + rules.REQUEST_CHECKS for f in chk(fine)] == []


def test_every_address_conflict_warning_ends_with_the_catalogues_fix():
    """Two holders of one address, a Pending request for a held one, a manifest's
    request for a live one: warnings too end with "Fix: ..." (they once did not)."""
    from kubectl_lbip.model.checks import BY_CODE

    fix = " Fix: " + BY_CODE["address-conflict"].fix
    held = live_cluster(
        pool("p", "10.0.0.0/24"),
        svc("a", "x", ingress=["10.0.0.5"]),
        svc("b", "y", ingress=["10.0.0.5"]),
        svc("c", "z", annotations=lbips("10.0.0.5")),
        svc("d", "p", annotations=lbips("10.0.0.9")),
        svc("e", "q", annotations=lbips("10.0.0.9")),
    )
    found = [f for f in findings_for(held) if f.code == "address-conflict" and f.severity == WARNING]
    assert {f.name for f in found} >= {"x", "y", "p", "q"}  # two holders; two Pending requests
    assert all(f.message.endswith(fix) for f in found), found

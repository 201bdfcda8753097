"""model/pin.py on plain data: a batch of services pinned in one run, no collision,
sharing as MetalLB allows, requests kept, a pool too small named per service."""

from builders import pool, svc

from kubectl_lbip.model.findings import findings_for
from kubectl_lbip.model.pin import FAILED, KEPT, PINNED, apply_pin, pin_batch, requesting
from kubectl_lbip.model.rules import ERROR
from kubectl_lbip.snapshot import Snapshot

LB = "metallb.io/loadBalancerIPs"
KEY = "metallb.io/allow-shared-ip"


def cluster(pools, services):
    return Snapshot(pools=pools, services=services).to_cluster()


def pinned_cluster(pools, services, decisions):
    """The services as they will be with their pins: what `check` sees afterwards."""
    pins = {d.key: d.value for d in decisions if d.status == PINNED}
    out = []
    for obj in services:
        key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        if key in pins:
            apply_pin(obj, pins[key])
        out.append(obj)
    return cluster(pools, out)


def test_fifty_services_pinned_in_one_run_without_collision():
    pools = [pool("prod", "192.168.10.0/26", "fd00:10::/120")]
    services = [svc(f"ns{i % 5}", f"s{i}", ports=("TCP/80",)) for i in range(50)]
    c = cluster(pools, services)
    decisions = pin_batch(c, c.services)
    assert [d.status for d in decisions] == [PINNED] * 50
    addresses = [d.value for d in decisions]
    assert len(set(addresses)) == 50
    after = pinned_cluster(pools, services, decisions)
    assert [f for f in findings_for(after) if f.severity == ERROR] == []


def test_earlier_picks_are_taken_by_later_ones_and_input_order_decides():
    c = cluster([pool("p", "192.168.1.0/30")], [svc("a", "x"), svc("a", "y")])
    d = pin_batch(c, c.services)
    assert [x.value for x in d] == ["192.168.1.0", "192.168.1.1"]
    d = pin_batch(c, list(reversed(c.services)))
    assert [(x.name, x.value) for x in d] == [("y", "192.168.1.0"), ("x", "192.168.1.1")]


def test_sharing_key_without_common_port_shares_and_others_do_not():
    services = [
        svc("a", "web-http", annotations={KEY: "web"}, ports=("TCP/80",)),
        svc("a", "web-https", annotations={KEY: "web"}, ports=("TCP/443",)),
        svc("a", "web-http-too", annotations={KEY: "web"}, ports=("TCP/80",)),
        svc("a", "dns", annotations={KEY: "other"}, ports=("UDP/53",)),
        svc("a", "plain", ports=("TCP/8080",)),
    ]
    c = cluster([pool("p", "192.168.1.0/28")], services)
    d = {x.name: x.value for x in pin_batch(c, c.services)}
    assert d["web-http"] == d["web-https"]
    assert len({d["web-http"], d["web-http-too"], d["dns"], d["plain"]}) == 4


def test_local_policy_shares_only_with_the_same_backend():
    services = [
        svc("a", "one", annotations={KEY: "k"}, ports=("TCP/80",), local=True, selector={"app": "x"}),
        svc("a", "two", annotations={KEY: "k"}, ports=("TCP/81",), local=True, selector={"app": "x"}),
        svc("a", "three", annotations={KEY: "k"}, ports=("TCP/82",), local=True, selector={"app": "y"}),
    ]
    c = cluster([pool("p", "192.168.1.0/28")], services)
    d = {x.name: x.value for x in pin_batch(c, c.services)}
    assert d["one"] == d["two"] != d["three"]


def test_requests_are_kept_and_count_as_taken():
    services = [
        svc("a", "old", annotations={LB: "192.168.1.0"}),
        svc("a", "spec", lb_ip="192.168.1.1"),
        svc("a", "new"),
    ]
    c = cluster([pool("p", "192.168.1.0/29")], services)
    d = pin_batch(c, c.services)
    assert [(x.name, x.status, x.value) for x in d] == [
        ("old", KEPT, "192.168.1.0"),
        ("spec", KEPT, "192.168.1.1"),
        ("new", PINNED, "192.168.1.2"),
    ]


def test_a_service_holding_an_address_is_pinned_to_it():
    c = cluster([pool("p", "192.168.1.0/29")], [svc("a", "x"), svc("a", "held", ingress=["192.168.1.5"])])
    d = {x.name: x.value for x in pin_batch(c, c.services)}
    assert d == {"x": "192.168.1.0", "held": "192.168.1.5"}


def test_dual_stack_gets_a_pair_from_one_pool():
    from builders import dual

    c = cluster([pool("v4", "192.168.1.0/29"), pool("both", "192.168.2.0/29", "fd00:2::/125")], [dual("a", "d")])
    (d,) = pin_batch(c, c.services)
    assert d.pool == "both" and d.addresses == ("192.168.2.0", "fd00:2::")


def test_pool_too_small_names_each_service_that_cannot_be_pinned():
    c = cluster([pool("p", "192.168.1.0/31")], [svc("a", f"s{i}") for i in range(4)])
    d = pin_batch(c, c.services)
    assert [x.status for x in d] == [PINNED, PINNED, FAILED, FAILED]
    assert "no free address fits it once the earlier services of this run are pinned" in d[2].reason


def test_pool_restrictions_are_reasons():
    c = cluster([pool("p", "192.168.1.0/29", allocation={"namespaces": ["team-a"]})], [svc("b", "x")])
    (d,) = pin_batch(c, c.services)
    assert d.status == FAILED and "team-a" in d.reason


def test_not_load_balancer_and_other_classes_are_left_out():
    other = svc("a", "other")
    other["spec"]["loadBalancerClass"] = "example.com/lb"
    c = cluster([pool("p", "192.168.1.0/29")], [svc("a", "c", type="ClusterIP"), other])
    assert pin_batch(c, c.services) == []


def test_a_second_run_changes_nothing():
    pools = [pool("p", "192.168.1.0/28")]
    services = [
        svc("a", f"s{i}", annotations={KEY: "k"} if i % 2 else None, ports=(f"TCP/{80 + i}",)) for i in range(10)
    ]
    c = cluster(pools, services)
    first = pin_batch(c, c.services)
    again = pinned_cluster(pools, services, first)
    second = pin_batch(again, again.services)
    assert all(d.status == KEPT for d in second)
    assert [d.value for d in second] == [d.value for d in first]


def test_the_callers_cluster_is_not_changed():
    c = cluster([pool("p", "192.168.1.0/29")], [svc("a", "x")])
    before = len(c.index)
    pin_batch(c, c.services)
    assert len(c.index) == before and c.service("a", "x").annotations == {}
    assert requesting(c.service("a", "x"), "192.168.1.3").annotations == {LB: "192.168.1.3"}


def test_a_kept_request_metallb_refuses_says_why():
    services = [svc("a", "outside", annotations={LB: "10.0.0.1"}), svc("a", "fine", annotations={LB: "192.168.1.1"})]
    c = cluster([pool("p", "192.168.1.0/29")], services)
    d = {x.name: x for x in pin_batch(c, c.services)}
    assert d["outside"].status == KEPT and "[not-in-pool]" in d["outside"].reason
    assert d["fine"].reason == ""


def test_walks_skip_runs_of_used_addresses_with_the_same_answers_as_one_by_one():
    """walk_available's run skipping (a target that shares nothing) against a plain
    reference: every address of the pool, in order, not used by any service."""
    import random

    from kubectl_lbip.model.addresses import IPV4
    from kubectl_lbip.model.services import Service
    from kubectl_lbip.model.suggest import walk_available

    rng = random.Random(17)
    for _ in range(200):
        used = sorted(rng.sample(range(64), rng.randint(0, 60)))
        services = [
            svc(
                "a",
                f"s{v}",
                ingress=[f"192.168.1.{v}"] if v % 2 else [],
                annotations=None if v % 2 else {LB: f"192.168.1.{v}"},
            )
            for v in used
        ]
        avoid = rng.random() < 0.5
        c = cluster([pool("p", "192.168.1.0/26", avoid_buggy=avoid)], services)
        target = rng.choice([None, Service.from_object(svc("b", "new"))])
        exclude = set(rng.sample(range(64), 3))
        got = [
            v & 0xFF
            for v, _ in walk_available(
                c, c.pools[0], IPV4, target, exclude={(192 << 24 | 168 << 16 | 1 << 8) + e for e in exclude}
            )
        ]
        want = [v for v in range(64) if v not in used and v not in exclude and not (avoid and v == 0)]
        assert got == want, (used, exclude, avoid)
        held = [v & 0xFF for v, _ in walk_available(c, c.pools[0], IPV4, target, held_only=True)]
        assert held == [v for v in range(64) if not (v in used and v % 2) and not (avoid and v == 0)]


def test_a_team_service_is_pinned_in_the_pool_metallb_would_pick_for_it():
    """Issue 25 item 2: the team's priority pool, not the shared one with lower addresses."""
    from kubectl_lbip.model import annotate
    from kubectl_lbip.model.suggest import metallb_pick

    pools = [
        pool("prod", "192.0.2.0/24"),
        pool("team-a", "198.51.100.0/28", allocation={"priority": 10, "namespaces": ["team-a"]}),
    ]
    services = [svc("team-a", "new"), svc("shop", "other")]
    c = cluster(pools, services)
    decisions = {d.key: d for d in pin_batch(c, c.services)}
    assert decisions["team-a/new"].pool == metallb_pick(c, c.service("team-a", "new")).pools[0] == "team-a"
    assert decisions["shop/other"].pool == "prod"
    plan = annotate.plan(c, c.service("team-a", "new"), auto=True)
    assert plan.value == decisions["team-a/new"].value == "198.51.100.0"

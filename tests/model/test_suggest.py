import random

from builders import cluster, dual, lbips, pool, svc

from kubectl_lbip.model.addresses import DUAL, IPV4, IPV6, parse_ip
from kubectl_lbip.model.rules import check_request, make_request
from kubectl_lbip.model.services import Service
from kubectl_lbip.model.suggest import metallb_pick, suggest
from kubectl_lbip.model.usage import usage_counts

SHARE = {"metallb.io/allow-shared-ip": "web"}


def pairs(result):
    return [(s.ipv4, s.ipv6) for s in result.suggestions]


def test_dual_pairs_come_from_one_pool_matching_first():
    c = cluster(
        pool("prod", "192.168.1.148-192.168.1.152", "fd00::/120"), svc("a", "x", ingress=["192.168.1.148", "fd00::1"])
    )
    got = suggest(c, DUAL, 3, None)
    # 149..152 read as hex 0x149.. are outside fd00::/120 (fd00::0-fd00::ff): no twin,
    # so the lowest free addresses pair up.
    assert pairs(got) == [("192.168.1.149", "fd00::"), ("192.168.1.150", "fd00::2"), ("192.168.1.151", "fd00::3")]


def test_matching_pairs_first_then_lowest():
    c = cluster(
        pool("prod", "192.168.1.0/24", "fd00::/64"),
        svc("a", "x", ingress=["192.168.1.1"]),
        svc("a", "y", ingress=["fd00::2"]),
    )
    got = suggest(c, DUAL, 4, None)
    assert pairs(got)[:3] == [("192.168.1.0", "fd00::"), ("192.168.1.2", "fd00::1:2"), ("192.168.1.3", "fd00::3")]
    assert all(s.why == "matching" for s in got.suggestions)


def test_match_means_ipv6_last_group_reads_like_the_ipv4_octet():
    c = cluster(pool("prod", "192.168.1.150/32", "fd00::100-fd00::200"))
    assert pairs(suggest(c, DUAL, 1, None)) == [("192.168.1.150", "fd00::150")]


def test_split_pools_give_no_pair_and_say_why():
    c = cluster(pool("v4", "192.168.20.0/24"), pool("v6", "fd00:20::/64"))
    got = suggest(c, DUAL, 5, None)
    assert got.suggestions == []
    note = got.notes[0]
    assert "v4" in note and "v6" in note and "one IPAddressPool" in note


def test_avoid_buggy_ips_never_suggested():
    c = cluster(pool("p", "192.168.1.254-192.168.2.1", avoid_buggy=True))
    got = [s.ipv4 for s in suggest(c, IPV4, 5, None).suggestions]
    assert got == ["192.168.1.254", "192.168.2.1"]


def test_used_addresses_never_suggested_requested_or_held():
    c = cluster(
        pool("p", "192.168.1.0/29"),
        svc("a", "h", ingress=["192.168.1.0"]),
        svc("a", "r", annotations=lbips("192.168.1.1")),
        svc("a", "d", annotations={"metallb.universe.tf/loadBalancerIPs": "192.168.1.2"}),
        svc("a", "s", lb_ip="192.168.1.3"),
    )
    got = [s.ipv4 for s in suggest(c, IPV4, 10, None).suggestions]
    assert got == ["192.168.1.4", "192.168.1.5", "192.168.1.6", "192.168.1.7"]


def test_full_pool_gives_nothing():
    c = cluster(pool("p", "192.168.1.0/30"), *[svc("a", f"s{i}", ingress=[f"192.168.1.{i}"]) for i in range(4)])
    assert suggest(c, IPV4, 5, None).suggestions == []
    assert usage_counts(c, c.pool("p"), IPV4) == (4, 4)


def test_restricted_pool_left_out_for_other_namespace():
    c = cluster(pool("team", "192.168.30.0/24", allocation={"namespaces": ["team-a"]}), pool("open", "192.168.40.0/24"))
    target = Service.from_object(svc("team-b", "web"))
    got = suggest(c, IPV4, 2, target)
    assert {s.pool for s in got.suggestions} == {"open"}
    assert [p.name for p, _ in got.excluded] == ["team"]
    target_a = Service.from_object(svc("team-a", "web"))
    assert suggest(c, IPV4, 1, target_a).suggestions[0].pool in ("team", "open")


def test_sharing_key_suggests_shareable_address_first():
    c = cluster(
        pool("p", "192.168.1.0/24"),
        svc("a", "tcp", ingress=["192.168.1.50"], annotations=SHARE, ports=["TCP/443"]),
        svc("a", "other", ingress=["192.168.1.60"], annotations={"metallb.io/allow-shared-ip": "x"}, ports=["UDP/443"]),
    )
    target = Service.from_object(svc("a", "udp", annotations=SHARE, ports=["UDP/443"]))
    got = suggest(c, IPV4, 3, target)
    assert got.suggestions[0].ipv4 == "192.168.1.50" and got.suggestions[0].why == "shared"
    assert "192.168.1.60" not in [s.ipv4 for s in got.suggestions]
    same_port = Service.from_object(svc("a", "tcp2", annotations=SHARE, ports=["TCP/443"]))
    assert "192.168.1.50" not in [s.ipv4 for s in suggest(c, IPV4, 3, same_port).suggestions]


def test_service_own_addresses_suggested_first():
    c = cluster(pool("p", "192.168.1.0/24", "fd00::/64"), dual("a", "web", ingress=["192.168.1.77", "fd00::77"]))
    target = c.service("a", "web")
    first = suggest(c, DUAL, 3, target).suggestions[0]
    assert (first.ipv4, first.ipv6, first.why) == ("192.168.1.77", "fd00::77", "current")


def test_slash_64_and_slash_8_cost_no_enumeration():
    c = cluster(
        pool("big", "10.0.0.0/8", "fd00::/48"), *[svc("a", f"s{i}", ingress=[f"10.0.0.{i}"]) for i in range(1, 200)]
    )
    p = c.pool("big")
    assert usage_counts(c, p, IPV6) == (2**80, 0)
    assert usage_counts(c, p, IPV4) == (2**24, 199)
    got = suggest(c, DUAL, 2, None)
    assert pairs(got) == [("10.0.0.0", "fd00::"), ("10.0.0.200", "fd00::200")]


def test_no_twin_in_pool_does_not_walk_the_whole_ipv4_range():
    # The IPv6 range holds no address whose last group reads like an octet; a walk
    # over 16 million IPv4 addresses would take minutes; the answer is immediate.
    c = cluster(pool("big", "10.0.0.0/8", "fd00::1000-fd00::1fff"))
    got = suggest(c, DUAL, 2, None)
    assert pairs(got) == [("10.0.0.0", "fd00::1000"), ("10.0.0.1", "fd00::1001")]


def test_every_suggestion_passes_the_rule_engine_random_scenarios():
    rng = random.Random(7)
    for _ in range(30):
        objs = [pool("p", "192.168.1.0/26", "fd00::/122", avoid_buggy=rng.random() < 0.5)]
        for i in range(rng.randint(0, 60)):
            v4 = f"192.168.1.{rng.randint(0, 63)}"
            v6 = f"fd00::{rng.randint(0, 63):x}"
            objs.append(
                dual(
                    "a",
                    f"s{i}",
                    ingress=[v4, v6] if rng.random() < 0.5 else [],
                    annotations=lbips(f"{v4},{v6}") if rng.random() < 0.5 else None,
                )
            )
        c = cluster(*objs)
        target = Service.from_object(dual("b", "new"))
        for s in suggest(c, DUAL, 5, target).suggestions:
            verdict = check_request(c, target, make_request(s.addresses))
            assert verdict.accepted, verdict.findings
            for a in s.addresses:
                addr = parse_ip(a)
                assert not c.index.uses(IPV4 if addr.version == 4 else IPV6, int(addr))


def test_metallb_pick_prefers_priority_then_unrestricted():
    c = cluster(
        pool("open", "192.168.40.0/24"),
        pool("team", "192.168.30.0/24", allocation={"priority": 1, "namespaces": ["team-a"]}),
        pool("team2", "192.168.31.0/24", allocation={"priority": 2, "namespaces": ["team-a"]}),
    )
    pick = metallb_pick(c, Service.from_object(svc("team-a", "s")))
    assert (pick.pools, pick.ipv4) == (["team"], "192.168.30.0")
    pick = metallb_pick(c, Service.from_object(svc("other", "s")))
    assert (pick.pools, pick.ipv4) == (["open"], "192.168.40.0")


def test_metallb_pick_arbitrary_among_unrestricted_pools():
    c = cluster(
        pool("a", "192.168.40.0/24"), pool("b", "192.168.41.0/24"), pool("off", "192.168.42.0/24", auto_assign=False)
    )
    pick = metallb_pick(c, Service.from_object(svc("x", "s")))
    assert sorted(pick.pools) == ["a", "b"] and pick.ipv4 is None and "no fixed order" in pick.note


def test_metallb_pick_walks_listed_ranges_and_skips_held():
    c = cluster(
        pool("p", "192.168.2.0/24", "192.168.1.0/24", avoid_buggy=True),
        svc("x", "h", ingress=["192.168.2.1"]),
        svc("x", "r", annotations=lbips("192.168.2.2")),
    )
    pick = metallb_pick(c, Service.from_object(svc("x", "new")))
    # listed order first; .0 is buggy; .1 held; .2 only requested, so MetalLB takes it
    assert pick.ipv4 == "192.168.2.2"


def test_metallb_pick_dual_needs_one_pool_with_both():
    c = cluster(pool("v4", "192.168.20.0/24"), pool("v6", "fd00:20::/64"))
    assert metallb_pick(c, Service.from_object(dual("x", "s"))).pools == []
    prefer = metallb_pick(c, Service.from_object(dual("x", "s", policy="PreferDualStack")))
    assert sorted(prefer.pools) == ["v4"]  # the primary family, IPv4


def test_metallb_pick_with_pool_annotation():
    c = cluster(pool("a", "192.168.40.0/24"), pool("b", "192.168.41.0/24", auto_assign=False))
    pick = metallb_pick(c, Service.from_object(svc("x", "s", annotations={"metallb.io/address-pool": "b"})))
    assert (pick.pools, pick.ipv4) == (["b"], "192.168.41.0")


# Issue 25 item 2: a team's priority pool beside a shared one. The shared pool's
# addresses are lower, so sorting by address alone put it first.
TEAM = (
    pool("prod", "192.0.2.0/24"),
    pool("team-a", "198.51.100.0/28", allocation={"priority": 10, "namespaces": ["team-a"]}),
)


def test_suggestions_follow_metallbs_own_pool_order_then_the_others():
    c = cluster(*TEAM)
    target = Service.from_object(svc("team-a", "new"))
    got = suggest(c, IPV4, 20, target)
    pools = [s.pool for s in got.suggestions]
    assert pools[0] == metallb_pick(c, target).pools[0] == "team-a"
    assert pools == ["team-a"] * 16 + ["prod"] * 4  # the priority pool, then the others
    other = Service.from_object(svc("team-b", "new"))
    assert {s.pool for s in suggest(c, IPV4, 5, other).suggestions} == {"prod"}


def test_priority_tiers_then_unrestricted_then_pools_metallb_never_picks():
    c = cluster(
        pool("manual", "10.0.0.0/30", auto_assign=False),
        pool("open", "10.0.1.0/30"),
        pool("second", "10.0.2.0/30", allocation={"priority": 20, "namespaces": ["t"]}),
        pool("first", "10.0.3.0/30", allocation={"priority": 5, "namespaces": ["t"]}),
    )
    got = suggest(c, IPV4, 16, Service.from_object(svc("t", "new")))
    order = []
    for s in got.suggestions:
        if s.pool not in order:
            order.append(s.pool)
    assert order == ["first", "second", "open", "manual"]


def test_what_a_service_holds_stays_first_whatever_the_pool_order():
    held = svc("team-a", "old", ingress=["192.0.2.7"])
    c = cluster(*TEAM, held)
    got = suggest(c, IPV4, 3, c.service("team-a", "old"))
    first = got.suggestions[0]
    assert (first.pool, first.ipv4, first.why) == ("prod", "192.0.2.7", "current")
    assert got.suggestions[1].pool == "team-a"

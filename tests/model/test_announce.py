"""Past allocation: each code raised by one input and not by a near miss, on plain data."""

import pytest
from builders import cluster, pool, svc
from netbuilders import bgpadv, config_state, l2adv, node, pool_status, service_cidr, slice_

from kubectl_lbip.model import announce
from kubectl_lbip.model.addresses import parse_pool_address
from kubectl_lbip.model.rules import ERROR, WARNING

PROD = pool("prod", "192.168.10.0/24")
HOLDER = svc("shop", "web", ingress=["192.168.10.5"])


def found(*objects):
    c = cluster(*objects)
    return announce.check_network(c, c.network)


def codes(*objects):
    return sorted({f.code for f in found(*objects)})


def severity(code, *objects):
    return {f.severity for f in found(*objects) if f.code == code}


# --- pool-not-advertised
def test_pool_not_advertised_is_an_error_when_a_service_holds_an_address():
    objs = (PROD, pool("other", "10.1.0.0/24"), HOLDER, l2adv("l2", ["other"]))
    assert severity("pool-not-advertised", *objs) == {ERROR}
    assert "shop/web" in next(f.message for f in found(*objs) if f.code == "pool-not-advertised")


def test_pool_not_advertised_is_a_warning_when_nothing_holds_its_addresses():
    assert severity("pool-not-advertised", PROD, l2adv("l2", ["nothing-here"])) == {WARNING}


def test_pool_not_advertised_near_misses():
    # named, selected by label, selected by an advertisement without pools (every pool), BGP
    assert "pool-not-advertised" not in codes(PROD, HOLDER, l2adv("l2", ["prod"]))
    labelled = dict(PROD, metadata=dict(PROD["metadata"], labels={"tier": "web"}))
    assert "pool-not-advertised" not in codes(labelled, HOLDER, l2adv("l2", pool_selectors=[{"tier": "web"}]))
    assert "pool-not-advertised" not in codes(PROD, HOLDER, l2adv("all"))
    assert "pool-not-advertised" not in codes(PROD, HOLDER, bgpadv("b", ["prod"]))


def test_no_advertisement_kind_in_the_input_checks_nothing_about_advertisements():
    assert codes(PROD, HOLDER) == []
    assert "L2Advertisement" in cluster(PROD).network.absent


# --- advertisement-unknown-pool / advertisement-selects-no-pool
def test_advertisement_unknown_pool_and_near_miss():
    assert "advertisement-unknown-pool" in codes(PROD, l2adv("l2", ["prod", "prodd"]))
    assert "advertisement-unknown-pool" not in codes(PROD, l2adv("l2", ["prod"]))


def test_advertisement_selects_no_pool_and_near_miss():
    assert "advertisement-selects-no-pool" in codes(PROD, l2adv("l2", pool_selectors=[{"a": "b"}]))
    labelled = dict(PROD, metadata=dict(PROD["metadata"], labels={"a": "b"}))
    assert "advertisement-selects-no-pool" not in codes(labelled, l2adv("l2", pool_selectors=[{"a": "b"}]))
    # only a misspelt name: advertisement-unknown-pool alone says it
    assert codes(PROD, l2adv("l2", ["prodd"])) == ["advertisement-unknown-pool", "pool-not-advertised"]
    # no pools and no selectors selects every pool: never "selects no pool"
    assert "advertisement-selects-no-pool" not in codes(PROD, l2adv("all"))


# --- advertisement-no-nodes
def test_advertisement_no_nodes_and_near_miss():
    objs = (PROD, node("n1", labels={"zone": "a"}))
    assert "advertisement-no-nodes" in codes(*objs, l2adv("l2", node_selectors=[{"zone": "b"}]))
    assert "advertisement-no-nodes" not in codes(*objs, l2adv("l2", node_selectors=[{"zone": "a"}]))
    # without Node objects in the input the selector is not judged
    assert "advertisement-no-nodes" not in codes(PROD, l2adv("l2", node_selectors=[{"zone": "b"}]))


def test_advertisement_no_nodes_says_what_is_true_when_the_cluster_has_no_node():
    """Issue 25: no selector at all and no Node listed: not "its nodeSelectors () match
    none of the 0 Node(s) ... Fix: correct the selector"."""
    from builders import snapshot

    snap = snapshot(PROD, l2adv("bare"), l2adv("picky", node_selectors=[{"zone": "b"}]))
    snap.network_present = frozenset({"L2Advertisement", "BGPAdvertisement", "Node"})  # listed live: none
    c = snap.to_cluster()
    messages = {f.name: f.message for f in announce.check_network(c, c.network) if f.code == "advertisement-no-nodes"}
    assert messages["bare"].startswith("the cluster has no Node, so it selects every node and no speaker runs")
    assert "nodeSelectors ()" not in messages["bare"] and "correct the selector" not in messages["bare"]
    assert "Fix: join the nodes that should announce" in messages["bare"]
    assert "its nodeSelectors (zone=b) have nothing to match" in messages["picky"]
    assert "correct the selector" not in messages["picky"]


# --- local-policy-no-announcer
LOCAL = svc("shop", "web", ingress=["192.168.10.5"], local=True)


def test_local_policy_no_announcer_when_endpoints_are_on_unselected_nodes():
    objs = (
        PROD,
        LOCAL,
        node("n1", labels={"zone": "a"}),
        node("n2", labels={"zone": "b"}),
        l2adv("l2", ["prod"], node_selectors=[{"zone": "a"}]),
        slice_("shop", "web", ("n2", True)),
    )
    msg = next(f.message for f in found(*objs) if f.code == "local-policy-no-announcer")
    assert "n2" in msg and "L2Advertisement/l2" in msg


def test_local_policy_near_misses():
    base = (
        PROD,
        node("n1", labels={"zone": "a"}),
        node("n2", labels={"zone": "b"}),
        l2adv("l2", ["prod"], node_selectors=[{"zone": "a"}]),
    )
    # a ready endpoint on a selected node
    assert "local-policy-no-announcer" not in codes(*base, LOCAL, slice_("shop", "web", ("n1", True)))
    # the same endpoints, Cluster policy
    assert "local-policy-no-announcer" not in codes(*base, HOLDER, slice_("shop", "web", ("n2", True)))
    # an endpoint on a selected node that is not ready does not count
    assert "local-policy-no-announcer" in codes(*base, LOCAL, slice_("shop", "web", ("n1", False)))


def test_local_policy_node_excluded_from_load_balancers_does_not_announce():
    objs = (
        PROD,
        LOCAL,
        node("n1", labels={announce.EXCLUDE_LABEL: ""}),
        l2adv("l2", ["prod"]),
        slice_("shop", "web", ("n1", True)),
    )
    assert "local-policy-no-announcer" in codes(*objs)


# --- overlaps
def test_pool_overlaps_node_address_and_near_miss():
    assert "pool-overlaps-node-address" in codes(PROD, node("n1", "192.168.10.7"))
    assert "pool-overlaps-node-address" in codes(PROD, node("n1", "10.0.0.1", external="192.168.10.9"))
    assert "pool-overlaps-node-address" not in codes(PROD, node("n1", "192.168.11.7"))


def test_pool_overlaps_pod_cidr_and_near_miss():
    assert "pool-overlaps-pod-cidr" in codes(PROD, node("n1", pod_cidrs=["192.168.0.0/16"]))
    assert "pool-overlaps-pod-cidr" not in codes(PROD, node("n1", pod_cidrs=["192.168.11.0/24"]))


def test_pool_overlaps_service_cidr_and_near_miss():
    assert "pool-overlaps-service-cidr" in codes(PROD, service_cidr("kubernetes", "192.168.10.128/25"))
    assert "pool-overlaps-service-cidr" not in codes(PROD, service_cidr("kubernetes", "10.96.0.0/12"))


# --- bgp-aggregation-invalid
def test_bgp_aggregation_shorter_than_the_pool_prefix():
    assert "bgp-aggregation-invalid" in codes(PROD, bgpadv("b", ["prod"], aggregation=16))
    assert "bgp-aggregation-invalid" not in codes(PROD, bgpadv("b", ["prod"], aggregation=24))
    assert "bgp-aggregation-invalid" not in codes(PROD, bgpadv("b", ["prod"]))
    # an advertisement that does not select the pool does not judge it
    assert "bgp-aggregation-invalid" not in codes(PROD, pool("x", "10.0.0.0/30"), bgpadv("b", ["x"], aggregation=30))


def test_bgp_aggregation_v6_and_out_of_range():
    v6 = pool("v6", "fd00::/120")
    assert "bgp-aggregation-invalid" in codes(v6, bgpadv("b", aggregation_v6=112))
    assert "bgp-aggregation-invalid" not in codes(v6, bgpadv("b", aggregation_v6=120))
    assert "bgp-aggregation-invalid" in codes(PROD, bgpadv("b", aggregation=33))


def test_bgp_aggregation_with_service_selectors():
    sel = [{"app": "web"}]
    assert "bgp-aggregation-invalid" in codes(PROD, bgpadv("b", aggregation=24, service_selectors=sel))
    assert "bgp-aggregation-invalid" not in codes(PROD, bgpadv("b", aggregation=32, service_selectors=sel))
    assert "bgp-aggregation-invalid" not in codes(PROD, bgpadv("b", service_selectors=sel))


def test_bgp_aggregation_of_a_range_uses_its_largest_cidr():
    # 10.0.0.0-10.0.0.255 is one /24; 10.0.0.1-10.0.0.255 splits into /32../25: lowest 25
    assert announce.lowest_prefix(parse_pool_address("10.0.0.0-10.0.0.255")) == 24
    assert announce.lowest_prefix(parse_pool_address("10.0.0.1-10.0.0.255")) == 25
    rng = pool("r", "10.0.0.1-10.0.0.255")
    assert "bgp-aggregation-invalid" not in codes(rng, bgpadv("b", aggregation=25))
    assert "bgp-aggregation-invalid" in codes(rng, bgpadv("b", aggregation=24))


# --- metallb-config-invalid
def test_metallb_config_invalid_quotes_the_summary_and_near_miss():
    objs = (PROD, config_state("controller", "Invalid", "pool prod: overlaps"))
    msg = next(f.message for f in found(*objs) if f.code == "metallb-config-invalid")
    assert "pool prod: overlaps" in msg
    assert "metallb-config-invalid" not in codes(PROD, config_state("controller", "Valid"))
    assert "metallb-config-invalid" not in codes(PROD, config_state("speaker-n1", "Unknown"))


# --- a rejected configuration: what annotate, pin and free say (announce.rejected_config)
INVALID = config_state("controller", "Invalid", "CIDR 192.168.10.0/24 in pool late overlaps with CIDR ...")
LOADED = pool_status(PROD, 1, avail4=255)  # MetalLB counts its 256 addresses


def rejected(*objects):
    return announce.rejected_config(cluster(*objects))


def test_rejected_config_names_the_pools_metallb_has_not_loaded():
    late = pool("late", "192.168.10.128/25")  # added since: no status
    grown = pool_status(pool("grown", "10.1.0.0/23"), 0, avail4=256)  # was a /24 when loaded
    moved = pool_status(pool("moved", "10.2.1.0/24"), 0, avail4=256)  # moved, same size: cannot be told
    got = rejected(LOADED, late, grown, moved, INVALID)
    assert got is not None
    assert dict(got.changed) == {
        "late": "MetalLB counts none of its addresses: added since",
        "grown": "MetalLB counts 256 IPv4 address(es), it has 512",
    }
    message = got.message()
    assert "ConfigurationState metallb-system/controller: 'CIDR 192.168.10.0/24 in pool late overlaps" in message
    assert "keeps using the last one it accepted" in message and "which MetalLB is not using" in message
    assert "pool late (" in message and "pool grown (" in message and "moved" not in message.split("Not known")[0]
    assert "a change that keeps each pool's number of addresses" in got.unknown
    warning, error = got.finding(), got.finding(strict=True)
    assert (warning.severity, error.severity) == (WARNING, ERROR)
    assert warning.code == "metallb-config-invalid" and warning.object == "ConfigurationState/metallb-system/controller"
    assert got.to_dict()["changedPools"][0] == {
        "name": "late",
        "reason": "MetalLB counts none of its addresses: added since",
    }


def test_rejected_config_counts_ipv6_and_avoid_buggy_ips_as_metallb_does():
    buggy = pool_status(pool("b", "192.168.20.0/24", avoid_buggy=True), 0, avail4=254)
    v6 = pool_status(pool("v6", "fd00:10::/120"), 0, avail6=256)
    huge = pool_status(pool("huge", "fd00:20::/64"), 0, avail6=2**63 - 1)  # MetalLB's counter saturates
    assert rejected(buggy, v6, huge, INVALID).changed == ()
    grown6 = pool_status(pool("v6", "fd00:10::/119"), 0, avail6=256)
    assert [name for name, _ in rejected(buggy, grown6, INVALID).changed] == ["v6"]


def test_rejected_config_without_pool_status_says_what_cannot_be_known():
    got = rejected(PROD, pool("late", "10.1.0.0/24"), INVALID)
    assert got is not None and got.changed == ()
    assert "cannot be known: the input has no pool status" in got.message()


def test_rejected_config_near_misses():
    assert rejected(LOADED, config_state("controller", "Valid")) is None
    assert rejected(LOADED, config_state("controller", "Unknown")) is None
    assert rejected(LOADED) is None  # no ConfigurationState in the input: nothing to say


# --- pool-status-drift
def test_pool_status_drift_and_near_miss():
    assert severity("pool-status-drift", pool_status(PROD, 0, avail4=256), HOLDER) == {WARNING}
    assert "pool-status-drift" not in codes(pool_status(PROD, 1, avail4=255), HOLDER)
    # no status (before v0.15, or a manifest): nothing to compare
    assert "pool-status-drift" not in codes(PROD, HOLDER)


def test_shared_address_counts_once():
    a = svc("shop", "a", ingress=["192.168.10.5"])
    b = svc("shop", "b", ingress=["192.168.10.5"])
    assert "pool-status-drift" not in codes(pool_status(PROD, 1), a, b)


@pytest.mark.parametrize(
    "code",
    [
        "pool-not-advertised",
        "advertisement-unknown-pool",
        "advertisement-selects-no-pool",
        "advertisement-no-nodes",
        "local-policy-no-announcer",
        "pool-overlaps-node-address",
        "pool-overlaps-service-cidr",
        "pool-overlaps-pod-cidr",
        "bgp-aggregation-invalid",
        "metallb-config-invalid",
        "pool-status-drift",
    ],
)
def test_every_message_says_how_to_fix_it(code):
    every = (
        pool_status(PROD, 3),
        pool("other", "10.1.0.0/24"),
        LOCAL,
        node("n1", "192.168.10.7", labels={"zone": "a"}, pod_cidrs=["192.168.10.0/28"]),
        l2adv("l2", ["prod", "gone"], node_selectors=[{"zone": "a"}]),
        l2adv("none", pool_selectors=[{"x": "y"}]),
        l2adv("nowhere", ["prod"], node_selectors=[{"zone": "z"}]),
        bgpadv("agg", ["prod"], aggregation=8),
        slice_("shop", "web", ("n2", True)),
        service_cidr("kubernetes", "192.168.10.0/26"),
        config_state("controller", "Invalid", "broken"),
    )
    hits = [f for f in found(*every) if f.code == code]
    assert hits, code
    assert all("Fix:" in f.message for f in hits)


def test_lowest_prefix_agrees_with_the_standard_library():
    """2,000 random ranges of both families against ipaddress.summarize_address_range."""
    import ipaddress
    import random

    from kubectl_lbip.model.addresses import IPV4, IPV6, Interval

    rng = random.Random(15)
    for _ in range(2000):
        v6 = rng.random() < 0.5
        bits = 128 if v6 else 32
        first = rng.getrandbits(bits)
        last = min(first + rng.getrandbits(rng.randint(0, bits)), 2**bits - 1)
        family, cls = (IPV6, ipaddress.IPv6Address) if v6 else (IPV4, ipaddress.IPv4Address)
        nets = ipaddress.summarize_address_range(cls(first), cls(last))
        expected = min(n.prefixlen for n in nets)
        assert announce.lowest_prefix(Interval(family, first, last)) == expected, (first, last)

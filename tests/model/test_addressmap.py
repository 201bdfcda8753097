"""A pool's address space as runs (model/addressmap.py), on plain data: each state from
the services that use an address, unusable addresses, ranges beyond the limit."""

from builders import cluster, lbips, pool, svc

from kubectl_lbip.model.addresses import IPV4, IPV6, parse_ip
from kubectl_lbip.model.addressmap import CONFLICT, FREE, HELD, REQUESTED, SHARED, UNUSABLE, family_map

KEY = {"metallb.io/allow-shared-ip": "k"}


def v(text):
    return int(parse_ip(text))


def states(m):
    return [(r.first & 0xFF, r.last & 0xFF, r.state, r.count, r.services) for r in m.runs]


def test_each_state_in_address_order():
    c = cluster(
        pool("p", "192.168.1.0/28", avoid_buggy=True),
        svc("a", "held", ingress=["192.168.1.1"]),
        svc("a", "s1", ingress=["192.168.1.3"], annotations=KEY, ports=("TCP/80",)),
        svc("a", "s2", ingress=["192.168.1.3"], annotations=KEY, ports=("TCP/443",)),
        svc("a", "pending", annotations=lbips("192.168.1.5")),  # requests, holds nothing
        svc("a", "x1", ingress=["192.168.1.7"]),
        svc("a", "x2", annotations=lbips("192.168.1.7")),  # Pending on a held address: no key
    )
    m = family_map(c, c.pool("p"), IPV4)
    assert m.detailed and m.total == 16
    assert states(m) == [
        (0, 0, UNUSABLE, 0, ()),
        (1, 1, HELD, 1, ("a/held",)),
        (2, 2, FREE, 1, ()),
        (3, 3, SHARED, 1, ("a/s1", "a/s2")),
        (4, 4, FREE, 1, ()),
        (5, 5, REQUESTED, 1, ("a/pending",)),
        (6, 6, FREE, 1, ()),
        (7, 7, CONFLICT, 1, ("a/x1", "a/x2")),
        (8, 15, FREE, 8, ()),
    ]


def test_consecutive_holders_are_one_run_naming_each_and_ranges_count_once():
    c = cluster(
        pool("p", "10.0.0.0/30", "10.0.0.2-10.0.0.5"),  # overlapping ranges (a pool-overlap error)
        svc("a", "one", ingress=["10.0.0.1"]),
        svc("a", "two", ingress=["10.0.0.2"]),
    )
    m = family_map(c, c.pool("p"), IPV4)
    assert m.total == 6
    assert states(m) == [(0, 0, FREE, 1, ()), (1, 2, HELD, 2, ("a/one", "a/two")), (3, 5, FREE, 3, ())]


def test_a_large_pool_by_ranges_counts_without_enumerating():
    c = cluster(pool("big", "fd00::/64", "10.0.0.0/8", avoid_buggy=True), svc("a", "h", ingress=["fd00::5"]))
    m6 = family_map(c, c.pool("big"), IPV6, limit=4096)
    assert not m6.detailed and m6.total == 2**64
    assert [(r.state, r.count) for r in m6.runs] == [(FREE, 5), (HELD, 1), (FREE, 2**64 - 6)]
    m4 = family_map(c, c.pool("big"), IPV4)
    # beyond the limit the unusable .0/.255 are not runs of their own: left out of the count
    assert [(r.state, r.count) for r in m4.runs] == [(FREE, 2**24 - 2 * 2**16)]
    assert family_map(cluster(pool("v4", "10.0.0.0/30")), cluster(pool("v4", "10.0.0.0/30")).pool("v4"), IPV6) is None


def test_a_manifest_request_is_requested_not_held():
    manifest = svc("a", "m", annotations=lbips("192.168.1.9"))
    del manifest["status"]  # a manifest: an intention, not MetalLB's record
    c = cluster(pool("p", "192.168.1.8/30"), manifest)
    m = family_map(c, c.pool("p"), IPV4)
    assert [r.state for r in m.runs] == [FREE, REQUESTED, FREE]
    assert m.runs[1].first == v("192.168.1.9")


def test_blocks_of_a_large_pool_count_used_addresses_and_conflicts():
    from kubectl_lbip.model.addressmap import block_size, blocks

    assert (block_size(4096), block_size(4097), block_size(2**64)) == (1, 2, 2**52)
    c = cluster(
        pool("p", "10.0.0.10-10.0.32.9", avoid_buggy=True),  # 8192 addresses, not aligned
        svc("a", "one", ingress=["10.0.0.11"]),
        svc("a", "two", ingress=["10.0.0.12"]),
        svc("a", "x1", ingress=["10.0.20.1"]),
        svc("a", "x2", annotations=lbips("10.0.20.1")),  # Pending on a held address: conflict
    )
    p = c.pool("p")
    m = family_map(c, p, IPV4, limit=4096)
    size, found = blocks(p, m, cells=4096)
    assert size == 2 and not m.detailed
    assert (found[0].first, found[0].last, found[0].used, found[0].usable) == (v("10.0.0.10"), v("10.0.0.11"), 1, 2)
    assert (found[1].used, found[1].conflict) == (1, False)
    assert [b.first for b in found if b.conflict] == [v("10.0.20.0")]
    assert found[-1].last == v("10.0.32.9") and sum(b.usable for b in found) == 8192 - 2 * 32
    assert sum(b.used for b in found) == 3

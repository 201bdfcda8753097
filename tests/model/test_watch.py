"""model/watch.py on plain data: which line each change of a service, a pool or the
findings makes, and the near misses that make none."""

import json

from builders import lbips, live_cluster, pool, svc

from kubectl_lbip.model import watch as mw
from kubectl_lbip.model.addresses import parse_network
from kubectl_lbip.model.rules import Finding

POOLS = (pool("web", "192.168.10.0/24", "fd00:10::/64"), pool("db", "192.168.20.0/24"))


def held(*services, failures=None):
    return mw.holdings(live_cluster(*POOLS, *services, failures=failures))


def lines(before, after, **kw):
    return [
        (c.namespace, c.name, c.change, c.before, c.after, c.pool, c.reason)
        for c in mw.service_changes(before, after, **kw)
    ]


def test_first_list_says_each_service_once_with_what_it_holds():
    now = held(svc("shop", "a", ingress=["192.168.10.5"]), svc("shop", "b"), failures={"shop/b": "no available IPs"})
    assert lines({}, now, listed=True) == [
        ("shop", "a", "listed", (), ("192.168.10.5",), "web", None),
        ("shop", "b", "listed", (), (), None, "no available IPs"),
    ]


def test_assigned_released_moved():
    pending, five, seven = (held(svc("shop", "a", ingress=ips)) for ips in ([], ["192.168.10.5"], ["192.168.20.7"]))
    assert lines(pending, five) == [("shop", "a", "assigned", (), ("192.168.10.5",), "web", None)]
    assert lines(five, pending) == [("shop", "a", "released", ("192.168.10.5",), (), "web", None)]
    # moved: from one pool to another, the pool named is the new one's
    assert lines(five, seven) == [("shop", "a", "moved", ("192.168.10.5",), ("192.168.20.7",), "db", None)]


def test_a_second_family_assigned_is_a_move_from_one_to_both():
    one = held(svc("shop", "a", ingress=["192.168.10.5"]))
    both = held(svc("shop", "a", ingress=["192.168.10.5", "fd00:10::5"]))
    assert lines(one, both) == [("shop", "a", "moved", ("192.168.10.5",), ("192.168.10.5", "fd00:10::5"), "web", None)]


def test_created_and_deleted():
    none = held()
    new = held(svc("shop", "a"))
    holding = held(svc("shop", "a", ingress=["192.168.10.5"]))
    assert lines(none, new) == [("shop", "a", "created", (), (), None, None)]
    assert lines(holding, none) == [("shop", "a", "deleted", ("192.168.10.5",), (), "web", None)]


def test_refused_with_metallbs_reason_once_and_again_when_the_reason_changes():
    quiet = held(svc("shop", "a"))
    refused = held(svc("shop", "a"), failures={"shop/a": 'pool "web" has no available IPs'})
    other = held(svc("shop", "a"), failures={"shop/a": "unknown pool"})
    assert lines(quiet, refused) == [("shop", "a", "refused", (), (), None, 'pool "web" has no available IPs')]
    assert lines(refused, refused) == []  # the same reason again: nothing new
    assert lines(refused, other) == [("shop", "a", "refused", (), (), None, "unknown pool")]


def test_released_and_refused_at_once():
    before = held(svc("shop", "a", ingress=["192.168.10.5"]))
    after = held(svc("shop", "a"), failures={"shop/a": "no pool"})
    assert [c[2] for c in lines(before, after)] == ["released", "refused"]


def test_near_misses_make_no_line():
    a = held(svc("shop", "a", ingress=["192.168.10.5"], rv="1"))
    # a new resourceVersion or another label, the same addresses: no line
    b = held(svc("shop", "a", ingress=["192.168.10.5"], rv="2", labels={"x": "y"}))
    assert a != b and lines(a, b) == []
    # an old refusal of a service that holds its address: not a refusal
    c = held(svc("shop", "a", ingress=["192.168.10.5"]), failures={"shop/a": "old news"})
    assert lines(a, c) == []
    # a ClusterIP service coming and going: not followed
    assert lines({}, held(svc("shop", "c", type="ClusterIP"))) == []
    # the same addresses in another order are a change of status: said as a move
    d = held(svc("shop", "a", ingress=["fd00:10::5", "192.168.10.5"]))
    e = held(svc("shop", "a", ingress=["192.168.10.5", "fd00:10::5"]))
    assert [c[2] for c in lines(d, e)] == ["moved"]


def test_queries_keep_the_services_that_held_hold_or_request_one_of_them():
    q = [parse_network("192.168.20.0/24")]
    before = held(svc("shop", "a", ingress=["192.168.20.7"]), svc("shop", "b"), svc("shop", "c"))
    after = held(
        svc("shop", "a", ingress=["192.168.10.5"]),  # left the range: said
        svc("shop", "b", annotations=lbips("192.168.20.9")),  # asks for one: said
        svc("shop", "c", ingress=["192.168.10.6"]),  # elsewhere: not said
    )
    assert [(c[1], c[2]) for c in lines(before, after, queries=q)] == [("a", "moved")]
    refused = held(
        svc("shop", "a", ingress=["192.168.10.5"]),
        svc("shop", "b", annotations=lbips("192.168.20.9")),
        svc("shop", "c", ingress=["192.168.10.6"]),
        failures={"shop/b": "address in use"},
    )
    assert [(c[1], c[2]) for c in lines(after, refused, queries=q)] == [("b", "refused")]


def test_namespace_keeps_its_own_services():
    cluster = live_cluster(*POOLS, svc("shop", "a"), svc("web", "b"))
    assert list(mw.holdings(cluster, "web")) == ["web/b"]


def test_pool_counts_change_and_deletion():
    one = mw.pool_counts(
        live_cluster(*POOLS, svc("shop", "a", ingress=["192.168.10.5"])), versions={("metallb-system", "web"): "7"}
    )
    two = mw.pool_counts(
        live_cluster(*POOLS, svc("shop", "a", ingress=["192.168.10.5"]), svc("shop", "b", ingress=["192.168.10.6"]))
    )
    listed = mw.pool_changes({}, one, listed=True)
    assert [(c.name, c.change) for c in listed] == [("db", "listed"), ("web", "listed")]
    assert listed[1].counts["ipv4"] == {"total": 256, "used": 1, "free": 255}
    assert listed[1].resource_version == "7"
    changed = mw.pool_changes(one, two)
    assert [(c.name, c.change, c.counts["ipv4"]["used"]) for c in changed] == [("web", "counts", 2)]
    # a service that holds nothing of a pool changes no count: no line
    three = mw.pool_counts(live_cluster(*POOLS, svc("shop", "a", ingress=["192.168.10.5"]), svc("shop", "z")))
    assert mw.pool_changes(one, three) == []
    gone = mw.pool_counts(live_cluster(POOLS[0], svc("shop", "a", ingress=["192.168.10.5"])))
    assert [(c.name, c.change) for c in mw.pool_changes(one, gone)] == [("db", "deleted")]


def test_findings_appear_and_resolve():
    a = Finding("error", "pool-overlap", "IPAddressPool", "metallb-system", "web", "overlaps db")
    b = Finding("warning", "pool-used-high", "IPAddressPool", "metallb-system", "db", "91% used")
    b2 = Finding("warning", "pool-used-high", "IPAddressPool", "metallb-system", "db", "95% used")
    assert [c.change for c in mw.finding_changes([], [a, b], listed=True)] == ["listed", "listed"]
    assert mw.finding_changes([a, b], [b, a]) == []  # the same findings in another order
    moved = mw.finding_changes([a, b], [a, b2])
    assert [(c.change, c.finding.message) for c in moved] == [("resolved", "91% used"), ("appeared", "95% used")]


def test_json_lines_keep_the_contracts_keys_in_order():
    change = mw.Change(
        "Service", "web", "front", "moved", ("192.168.10.5",), ("192.168.10.7", "fd00::7"), "default", None, "12345"
    )
    data = change.to_dict("2026-12-07T05:30:00.123Z")
    assert list(data) == "time kind namespace name change from to pool reason resourceVersion".split()
    assert json.loads(json.dumps(data))["to"] == ["192.168.10.7", "fd00::7"]
    counts = mw.Change(
        "IPAddressPool", "metallb-system", "web", "counts", counts={"ipv4": {"total": 2, "used": 1, "free": 1}}
    )
    assert list(counts.to_dict("t")) == [
        "time",
        "kind",
        "namespace",
        "name",
        "change",
        "ipv4",
        "ipv6",
        "resourceVersion",
    ]
    assert counts.to_dict("t")["ipv6"] is None
    f = Finding("error", "pool-overlap", "IPAddressPool", "metallb-system", "web", "overlaps db")
    assert list(mw.Change("Finding", "", "", "appeared", finding=f).to_dict("t")) == [
        "time",
        "kind",
        "change",
        "code",
        "severity",
        "object",
        "message",
    ]


def test_text_lines():
    t = "2026-12-07T05:30:00.123Z"
    moved = mw.Change("Service", "web", "front", "moved", ("192.168.10.5",), ("192.168.10.7",), "default")
    assert moved.text(t) == f"{t}  service web/front  moved  192.168.10.5 -> 192.168.10.7  pool default"
    refused = mw.Change("Service", "web", "front", "refused", reason="no available IPs")
    assert refused.text(t) == f"{t}  service web/front  refused  reason: no available IPs"
    released = mw.Change("Service", "web", "front", "released", ("192.168.10.5",), (), "default")
    assert released.text(t) == f"{t}  service web/front  released  192.168.10.5  pool default"
    counts = mw.Change(
        "IPAddressPool", "metallb-system", "web", "counts", counts={"ipv4": {"total": 2, "used": 1, "free": 1}}
    )
    assert counts.text(t) == f"{t}  pool metallb-system/web  counts  ipv4 1/2 used, 1 free"


def test_backoff_doubles_to_a_ceiling_and_never_zero_after_a_failure():
    waits = [mw.backoff(n) for n in range(0, 12)]
    assert waits[0] == 0
    assert waits[1:6] == [0.8, 1.6, 3.2, 6.4, 12.8]
    assert all(w == mw.LAST_WAIT for w in waits[7:])
    assert mw.backoff(10**6) == mw.LAST_WAIT

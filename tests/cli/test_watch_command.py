"""commands/watch.py without a cluster: what the watch keeps between messages and the
lines it makes of them (the reflectors' messages given by hand)."""

from builders import pool, svc

from kubectl_lbip.commands import watch as cmd
from kubectl_lbip.printer import watch_line
from kubectl_lbip.snapshot.watch import EVENT, LISTED


def started(*services):
    w = cmd.Watch(cmd.WHO_HAS)
    w.apply((LISTED, "pools", [pool("web", "192.168.10.0/24")]))
    w.apply((LISTED, "events", []))
    w.apply((LISTED, "services", list(services)))
    return w, [(c.name, c.change) for c in w.changes(None, listed=True)]


def test_two_changes_of_a_service_that_arrive_together_are_two_lines():
    w, listed = started(svc("shop", "a"))
    assert listed == [("a", "listed")]
    # assigned, then released, in one batch: the status went through both
    found = w.take((EVENT, "services", "MODIFIED", svc("shop", "a", ingress=["192.168.10.5"], rv="2")))
    found += w.take((EVENT, "services", "MODIFIED", svc("shop", "a", rv="3")))
    assert [(c.name, c.change, c.before, c.after) for c in found] == [
        ("a", "assigned", (), ("192.168.10.5",)),
        ("a", "released", ("192.168.10.5",), ()),
    ]


def test_a_refusal_event_names_its_service_and_a_pool_change_says_nothing():
    w, _ = started(svc("shop", "a"), svc("shop", "b"))
    event = {
        "metadata": {"name": "b.1", "namespace": "shop"},
        "involvedObject": {"kind": "Service", "namespace": "shop", "name": "b"},
        "message": "no available IPs",
        "lastTimestamp": "2026-12-07T05:00:00Z",
    }
    found = w.take((EVENT, "events", "ADDED", event))
    assert [(c.name, c.change, c.reason) for c in found] == [("b", "refused", "no available IPs")]
    assert w.take((EVENT, "events", "MODIFIED", dict(event, lastTimestamp="2026-12-07T05:01:00Z"))) == []
    assert w.take((EVENT, "pools", "ADDED", pool("db", "192.168.20.0/24"))) == []


def test_a_relist_after_410_says_what_changed_meanwhile_and_what_was_deleted():
    w, _ = started(svc("shop", "a", ingress=["192.168.10.5"]), svc("shop", "b"))
    found = w.take((LISTED, "services", [svc("shop", "a", ingress=["192.168.10.6"])]))
    assert [(c.name, c.change) for c in found] == [("a", "moved"), ("b", "deleted")]


def test_json_and_text_lines_are_whole_lines():
    w, _ = started(svc("shop", "a"))
    change = w.take((EVENT, "services", "MODIFIED", svc("shop", "a", ingress=["192.168.10.5"], rv="2")))[0]
    text = watch_line(change, "json", "2026-12-07T05:30:00.123Z")
    assert "\n" not in text and text.startswith('{"time": "2026-12-07T05:30:00.123Z", "kind": "Service"')
    assert watch_line(change, "table", "T") == "T  service shop/a  assigned  192.168.10.5  pool web"


def test_what_the_watch_writes_history_f_reads_back(tmp_path):
    """The line format is a contract with `history -f`: every kind of line a watch
    writes is read back as the same change (pools and check lines are read past)."""
    from kubectl_lbip.model import watch as mw
    from kubectl_lbip.model.rules import Finding
    from kubectl_lbip.snapshot.history import read_record

    t = "2026-12-07T05:30:00.123Z"
    services = [
        mw.Change("Service", "web", "front", "listed", (), ("192.168.10.5",), "default", None, "1"),
        mw.Change("Service", "web", "front", "moved", ("192.168.10.5",), ("192.168.10.7", "fd00::7"), "default"),
        mw.Change("Service", "web", "front", "released", ("192.168.10.7", "fd00::7"), (), "default"),
        mw.Change("Service", "web", "front", "refused", reason="no available IPs"),
        mw.Change("Service", "web", "front", "assigned", (), ("192.168.10.9",), "default"),
        mw.Change("Service", "web", "new", "created"),
        mw.Change("Service", "web", "front", "deleted", ("192.168.10.9",), (), "default"),
    ]
    others = [
        mw.Change(
            "IPAddressPool", "metallb-system", "default", "counts", counts={"ipv4": {"total": 2, "used": 1, "free": 1}}
        ),
        mw.Change(
            "Finding", "", "", "appeared", finding=Finding("error", "pool-overlap", "IPAddressPool", "m", "a", "x")
        ),
    ]
    record = tmp_path / "assignments.jsonl"
    record.write_text("".join(watch_line(c, "json", t) + "\n" for c in services + others))
    read = read_record([str(record)])
    assert [(c.name, c.change, c.before, c.after, c.pool, c.reason) for c in read] == [
        (c.name, c.change, c.before, c.after, c.pool, c.reason) for c in services
    ]

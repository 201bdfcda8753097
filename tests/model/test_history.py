"""model/history.py on plain data: record lines, MetalLB's Events, a Service's own
past, and the questions (every change touching an address or a service; who held
an address at a time), each with its near misses."""

from datetime import datetime, timedelta, timezone

import pytest
from builders import watch_line as line

from kubectl_lbip.model import history as h
from kubectl_lbip.model.addresses import parse_network
from kubectl_lbip.model.events import Event
from kubectl_lbip.model.schema import build


def utc(text: str) -> datetime:
    return h.parse_time(text)


def record(*docs):
    return [h.change_from_line(build(h.WatchLine, d), f"rec:{i}") for i, d in enumerate(docs, start=1)]


ADDR = h.Query(interval=parse_network("192.168.10.5"))


# --- times


@pytest.mark.parametrize(
    "text, want",
    [
        ("2026-12-01T15:00:00Z", datetime(2026, 12, 1, 15, tzinfo=timezone.utc)),
        ("2026-12-01T15:00:00.123Z", datetime(2026, 12, 1, 15, 0, 0, 123000, tzinfo=timezone.utc)),
        ("2026-12-01T15:00:00.123456789Z", datetime(2026, 12, 1, 15, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2026-12-01T16:30:00+01:30", datetime(2026, 12, 1, 15, tzinfo=timezone.utc)),
        ("2026-12-01T10:00:00-0500", datetime(2026, 12, 1, 15, tzinfo=timezone.utc)),
        ("2026-12-01 15:00", datetime(2026, 12, 1, 15, tzinfo=timezone.utc)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=timezone.utc)),
    ],
)
def test_times_as_rfc_3339_or_a_date_in_utc(text, want):
    assert h.parse_time(text) == want


@pytest.mark.parametrize(
    "text", ["last tuesday", "2026-13-01", "2026-12-01T25:00:00Z", "2026-12-01T15:00:00+24:00", "", "12:00", None, 5]
)
def test_what_is_not_a_time_is_refused(text):
    with pytest.raises(h.HistoryError):
        h.parse_time(text)


def test_a_time_prints_as_the_watch_writes_it():
    assert h.format_time(utc("2026-12-01T16:30:00.5+01:30")) == "2026-12-01T15:00:00.500Z"


# --- a record's lines


def test_a_service_line_becomes_a_change_with_canonical_addresses():
    doc = line("2026-12-01T09:00:00.000Z", "web", "front", "moved", ["192.168.10.5"], ["192.168.10.7", "FD00::0007"])
    (change,) = record(doc)
    assert change.key == "web/front" and change.change == "moved"
    assert change.before == ("192.168.10.5",) and change.after == ("192.168.10.7", "fd00::7")
    assert change.source == "rec:1"
    assert change.to_dict()["to"] == ["192.168.10.7", "fd00::7"]


@pytest.mark.parametrize("kind", ["IPAddressPool", "Finding"])
def test_lines_of_pools_and_check_watches_are_read_past(kind):
    assert h.change_from_line(build(h.WatchLine, {"kind": kind, "time": "whatever"}), "rec:1") is None


@pytest.mark.parametrize(
    "doc, said",
    [
        (dict(line("2026-12-01T09:00:00Z", "web", "front", "listed"), kind="Pod"), "field kind"),
        (dict(line("2026-12-01T09:00:00Z", "web", "front", "listed"), kind=None), "field kind"),
        (line("yesterday", "web", "front", "listed"), "field time: 'yesterday' is not a time"),
        (line(None, "web", "front", "listed"), "field time: '' is not a time"),
        (line("2026-12-01T09:00:00Z", "", "front", "listed"), "field namespace: expected a non-empty string"),
        (line("2026-12-01T09:00:00Z", "web", "front", "stolen"), "field change: 'stolen' is not one of"),
        (line("2026-12-01T09:00:00Z", "web", "front", "assigned", [], ["192.168.10.300"]), "field to[0]: '192.168"),
        (line("2026-12-01T09:00:00Z", "web", "front", "moved", ["fe80::1%eth0"], []), "field from[0]: 'fe80::1%eth0'"),
    ],
)
def test_a_line_off_the_format_names_its_field(doc, said):
    """What the types cannot say (the types are the snapshot's shape check, from WatchLine)."""
    with pytest.raises(h.HistoryError) as err:
        h.change_from_line(build(h.WatchLine, doc), "rec:7")
    assert str(err.value).startswith("rec:7: ") and said in str(err.value)


# --- replaying a record


def test_a_service_missing_from_a_later_listing_let_its_addresses_go_unseen():
    changes = record(
        line("2026-12-01T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
        line("2026-12-02T09:00:00Z", "web", "back", "listed", None, ["192.168.10.6"]),
    )
    gone = [c for c in h.replay(changes) if c.change == h.UNSEEN]
    assert [(c.key, c.before, c.after) for c in gone] == [("web/front", ("192.168.10.5",), ())]
    assert gone[0].time == utc("2026-12-02T09:00:00Z")
    assert "2026-12-01T09:00:00.000Z" in gone[0].reason


def test_a_listing_of_another_namespace_says_nothing_of_this_one():
    changes = record(
        line("2026-12-01T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
        line("2026-12-02T09:00:00Z", "db", "main", "listed", None, ["192.168.10.6"]),  # a watch with -n db
    )
    assert not [c for c in h.replay(changes) if c.change == h.UNSEEN]


def test_a_service_listed_again_is_not_gone():
    changes = record(
        line("2026-12-01T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
        line("2026-12-02T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
    )
    assert not [c for c in h.replay(changes) if c.change == h.UNSEEN]


def test_lines_out_of_order_across_files_are_replayed_by_time():
    later = record(line("2026-12-01T14:00:00Z", "web", "front", "released", ["192.168.10.5"], []))
    earlier = record(line("2026-12-01T09:00:00Z", "web", "front", "assigned", [], ["192.168.10.5"]))
    answer = h.held_at(later + earlier, ADDR, utc("2026-12-01T10:00:00Z"))
    assert [x["name"] for x in answer["holders"]] == ["front"]


# --- the timeline


SCENE = [
    line("2026-12-01T09:00:00.000Z", "web", "front", "listed", None, ["192.168.10.5", "fd00::5"]),
    line("2026-12-01T09:00:00.000Z", "web", "back", "listed", None, []),
    line("2026-12-01T11:00:00.000Z", "web", "front", "refused", reason="no available IPs", after=None),
    line("2026-12-01T12:00:00.000Z", "web", "front", "moved", ["192.168.10.5", "fd00::5"], ["192.168.10.5", "fd00::9"]),
    line("2026-12-01T14:00:00.000Z", "web", "front", "released", ["192.168.10.5", "fd00::9"], []),
    line("2026-12-01T14:00:05.000Z", "web", "back", "assigned", [], ["192.168.10.5"]),
    line("2026-12-01T16:00:00.000Z", "web", "back", "deleted", ["192.168.10.5"], None),
]


def test_the_timeline_of_an_address_is_every_change_it_is_in():
    got = [(c.key, c.change) for c in h.timeline(record(*SCENE), ADDR)]
    assert got == [
        ("web/front", "listed"),
        ("web/front", "moved"),
        ("web/front", "released"),
        ("web/back", "assigned"),
        ("web/back", "deleted"),
    ]


def test_a_cidr_covers_its_addresses_only():
    near = h.Query(interval=parse_network("192.168.10.6/31"))  # .6 and .7: not .5
    assert h.timeline(record(*SCENE), near) == []
    wide = h.Query(interval=parse_network("192.168.10.4/30"))
    assert len(h.timeline(record(*SCENE), wide)) == 5


def test_an_ipv6_query_does_not_match_the_ipv4_address_of_the_same_value():
    query = h.Query(interval=parse_network("fd00::9"))
    assert [c.change for c in h.timeline(record(*SCENE), query)] == ["moved", "released"]


def test_the_timeline_of_a_service_includes_its_refusals():
    query = h.Query(service=("web", "front"))
    assert [c.change for c in h.timeline(record(*SCENE), query)] == ["listed", "refused", "moved", "released"]
    assert h.timeline(record(*SCENE), h.Query(service=("other", "front"))) == []


def test_since_keeps_the_changes_at_and_after_it():
    got = h.timeline(record(*SCENE), ADDR, since=utc("2026-12-01T14:00:00Z"))
    assert [c.change for c in got] == ["released", "assigned", "deleted"]


# --- who held it at a time


def test_who_held_an_address_at_a_time_from_when_until_when():
    answer = h.held_at(record(*SCENE), ADDR, utc("2026-12-01T13:00:00Z"))
    (holder,) = answer["holders"]
    assert (holder["name"], holder["addresses"]) == ("front", ["192.168.10.5"])
    # the move kept 192.168.10.5: held since the listing, until the release
    assert (holder["since"], holder["sinceChange"]) == ("2026-12-01T09:00:00.000Z", "listed")
    assert (holder["until"], holder["untilChange"]) == ("2026-12-01T14:00:00.000Z", "released")
    assert answer["covered"] is True


def test_a_refusal_without_addresses_keeps_what_was_held():
    answer = h.held_at(record(*SCENE), ADDR, utc("2026-12-01T11:30:00Z"))
    assert [x["name"] for x in answer["holders"]] == ["front"]


def test_at_the_time_of_a_change_the_change_has_happened():
    at_release = h.held_at(record(*SCENE), ADDR, utc("2026-12-01T14:00:00Z"))
    assert at_release["holders"] == []
    after = h.held_at(record(*SCENE), ADDR, utc("2026-12-01T14:00:05Z"))
    assert [(x["name"], x["until"]) for x in after["holders"]] == [("back", "2026-12-01T16:00:00.000Z")]


def test_still_held_at_the_end_of_the_record_has_no_until():
    changes = record(*SCENE[:6])
    (holder,) = h.held_at(changes, ADDR, utc("2026-12-02T00:00:00Z"))["holders"]
    assert holder["name"] == "back" and holder["until"] is None


def test_a_time_before_the_record_is_not_covered():
    answer = h.held_at(record(*SCENE), ADDR, utc("2026-12-01T08:59:59Z"))
    assert answer["covered"] is False and answer["holders"] == []
    assert answer["recordFrom"] == "2026-12-01T09:00:00.000Z"
    assert h.held_at([], ADDR, utc("2026-12-01T10:00:00Z"))["covered"] is False


def test_what_a_service_held_at_a_time():
    query = h.Query(service=("web", "front"))
    (holder,) = h.held_at(record(*SCENE), query, utc("2026-12-01T12:30:00Z"))["holders"]
    assert holder["addresses"] == ["192.168.10.5", "fd00::9"]
    assert (holder["sinceChange"], holder["untilChange"]) == ("moved", "released")


def test_the_ipv6_address_moved_away_while_the_ipv4_one_stayed():
    query = h.Query(interval=parse_network("fd00::5"))
    (holder,) = h.held_at(record(*SCENE), query, utc("2026-12-01T10:00:00Z"))["holders"]
    assert holder["until"] == "2026-12-01T12:00:00.000Z" and holder["untilChange"] == "moved"


# --- what the API server keeps


def from_event(ev):
    """An Event's change, the Event built from its table as the snapshot builds it."""
    return h.change_from_event(build(Event, ev))


def from_service(svc, now):
    return h.changes_from_service(build(h.ServicePast, svc), now)


def event(reason, message, component="metallb-controller", count=1, when="2026-12-07T05:00:00Z", kind="Service"):
    return {
        "involvedObject": {"kind": kind, "namespace": "web", "name": "front"},
        "reason": reason,
        "message": message,
        "count": count,
        "firstTimestamp": "2026-12-07T04:50:00Z",
        "lastTimestamp": when,
        "source": {"component": component},
    }


def test_metallbs_assignment_event_names_the_addresses():
    change = from_event(event("IPAllocated", 'Assigned IP ["192.168.10.5" "fd00::5"]'))
    assert change.change == h.ASSIGNED and change.after == ("192.168.10.5", "fd00::5")
    assert change.source == "event IPAllocated (metallb-controller)"
    extra = from_event(event("IPAllocated", 'Assigned additional IP "fd00::5"'))
    assert extra.after == ("fd00::5",)


def test_metallbs_refusal_keeps_its_reason_and_how_often():
    message = 'Failed to allocate IP for "web/front": no available IPs'
    change = from_event(event("AllocationFailed", message, count=4))
    assert change.change == h.REFUSED and change.after is None
    assert change.reason == message + " (4 times since 2026-12-07T04:50:00Z)"


@pytest.mark.parametrize(
    "ev",
    [
        event("IPAllocated", 'Assigned IP ["192.168.10.5"]', component="someone-else"),
        event("Scheduled", "whatever"),
        event("IPAllocated", 'Assigned IP ["192.168.10.5"]', kind="Pod"),
        event("IPAllocated", 'Assigned IP ["192.168.10.5"]', when=None) | {"firstTimestamp": None},
    ],
)
def test_other_events_place_nothing(ev):
    assert from_event(ev) is None


def test_the_speakers_announcement_is_past_allocation_and_keeps_the_holding():
    change = from_event(
        event("nodeAssigned", 'announcing from node "n1" with protocol "layer2"', component="metallb-speaker")
    )
    assert change.change == h.ANNOUNCED
    assert h.holding_after(change, ("192.168.10.5",)) == ("192.168.10.5",)


NOW = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)


def live_service(ingress=("192.168.10.5",), managed=(), conditions=()):
    return {
        "metadata": {"namespace": "web", "name": "front", "managedFields": list(managed)},
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"ip": i} for i in ingress]}, "conditions": list(conditions)},
    }


def test_a_service_tells_its_last_status_write_and_its_holding_now():
    managed = [
        {"manager": "kubectl", "time": "2026-12-07T05:50:00Z"},  # not the status
        {"manager": "controller", "subresource": "status", "time": "2026-12-07T04:00:00Z"},
        {"manager": "controller", "subresource": "status", "time": "2026-12-07T05:00:00Z"},
    ]
    written, now = from_service(live_service(managed=managed), NOW)
    assert (written.time, written.change, written.after) == (utc("2026-12-07T05:00:00Z"), h.ASSIGNED, ("192.168.10.5",))
    assert written.source == "managedFields (status, controller)"
    assert (now.time, now.change, now.after) == (NOW, h.LISTED, ("192.168.10.5",))


def test_an_empty_status_written_last_is_a_release():
    managed = [{"manager": "controller", "subresource": "status", "time": "2026-12-07T05:00:00Z"}]
    written, _ = from_service(live_service(ingress=(), managed=managed), NOW)
    assert written.change == h.RELEASED


def test_ciliums_condition_transition_is_a_change():
    conditions = [
        {"type": "cilium.io/IPAMRequestSatisfied", "status": "False", "reason": "out_of_ips",
         "message": "pool exhausted", "lastTransitionTime": "2026-12-07T03:00:00Z"},
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-07T03:00:00Z"},
    ]  # fmt: skip
    cond, now = from_service(live_service(ingress=(), conditions=conditions), NOW)
    assert (cond.change, cond.reason, cond.source) == (h.REFUSED, "pool exhausted", "condition " + h.CILIUM_CONDITION)


def test_the_query_reads_an_address_a_cidr_or_a_service():
    assert h.parse_query("192.168.10.5", "shop").interval == parse_network("192.168.10.5")
    assert h.parse_query("192.168.10.0/24", "shop").interval == parse_network("192.168.10.0/24")
    assert h.parse_query("front", "shop").service == ("shop", "front")
    assert h.parse_query("web/front", "shop").service == ("web", "front")
    assert h.parse_query(None, "shop") == h.Query()
    for bad in ("a/b/c", "/front", "web/"):
        with pytest.raises(h.HistoryError):
            h.parse_query(bad, "shop")


def test_since_is_a_duration_back_from_now():
    assert h.since_time(NOW, seconds=3600) == NOW - timedelta(hours=1)


def test_two_listings_one_after_the_other_are_two_watches():
    """No change between two watches' listings: the second lists the service again,
    or comes long after the first, and begins a listing of its own."""
    again = record(
        line("2026-12-01T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
        line("2026-12-01T09:00:00Z", "web", "back", "listed", None, []),
        line("2026-12-01T09:00:30Z", "web", "back", "listed", None, []),  # a second watch, 30 s later
    )
    assert [c.key for c in h.replay(again) if c.change == h.UNSEEN] == ["web/front"]
    one = record(
        line("2026-12-01T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
        line("2026-12-01T09:00:30Z", "web", "back", "listed", None, []),  # the same listing, slow
    )
    assert not [c for c in h.replay(one) if c.change == h.UNSEEN]


def test_n_keeps_to_one_namespace():
    changes = record(
        line("2026-12-01T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
        line("2026-12-01T10:00:00Z", "db", "main", "assigned", [], ["192.168.10.6"]),
    )
    only_web = h.parse_query(None, "web", only="web")
    assert [c.key for c in h.timeline(changes, only_web)] == ["web/front"]
    wide = h.parse_query("192.168.10.0/24", "web", only="db")
    assert [x["name"] for x in h.held_at(changes, wide, utc("2026-12-01T11:00:00Z"))["holders"]] == ["main"]
    assert len(h.timeline(changes, h.parse_query(None, "web"))) == 2  # near miss: without -n, every namespace


def test_a_refusal_written_with_an_empty_to_keeps_what_was_held():
    """The watch writes every "to" as a list: a refusal's is empty, and takes nothing away."""
    changes = record(
        line("2026-12-01T09:00:00Z", "web", "front", "assigned", [], ["192.168.10.5"]),
        line("2026-12-01T10:00:00Z", "web", "front", "refused", [], [], reason="can't change sharing key"),
    )
    (holder,) = h.held_at(changes, ADDR, utc("2026-12-01T11:00:00Z"))["holders"]
    assert holder["name"] == "front" and holder["until"] is None
    deleted = record(line("2026-12-01T12:00:00Z", "web", "front", "deleted", ["192.168.10.5"], []))
    assert h.held_at(changes + deleted, ADDR, utc("2026-12-01T13:00:00Z"))["holders"] == []


def test_a_service_first_seen_after_the_time_is_not_known_then():
    changes = record(
        line("2026-12-01T09:00:00Z", "web", "front", "listed", None, ["192.168.10.5"]),
        line("2026-12-01T14:00:00Z", "web", "front", "released", ["192.168.10.5"], []),
        line("2026-12-02T09:00:00Z", "db", "main", "listed", None, ["192.168.10.5"]),  # another watch, later
        line("2026-12-02T10:00:00Z", "web", "new", "created", [], ["192.168.10.5"]),  # near miss: created
    )
    answer = h.held_at(changes, ADDR, utc("2026-12-01T15:00:00Z"))
    assert answer["holders"] == []
    assert answer["unknown"] == [{"namespace": "db", "name": "main", "firstSeen": "2026-12-02T09:00:00.000Z"}]
    # near miss: a service seen before the time is known, whatever it does later
    assert h.held_at(changes, ADDR, utc("2026-12-01T10:00:00Z"))["unknown"] == [
        {"namespace": "db", "name": "main", "firstSeen": "2026-12-02T09:00:00.000Z"}
    ]
    assert (
        h.held_at(changes, h.Query(interval=parse_network("10.0.0.1")), utc("2026-12-01T15:00:00Z"))["unknown"] == []
    )  # near miss: it never touched the address asked about

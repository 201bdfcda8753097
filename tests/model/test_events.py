"""model/events.py: an Event from its table, and the latest message chosen of many
(check's AllocationFailed per service, why's of one service)."""

from kubectl_lbip.model.events import Event, latest_failures, latest_message
from kubectl_lbip.model.schema import build


def event(name="web", message="", last=None, event_time=None, namespace="shop", **more):
    obj = {"involvedObject": {"kind": "Service", "namespace": namespace, "name": name}, "message": message}
    if last is not None:
        obj["lastTimestamp"] = last
    if event_time is not None:
        obj["eventTime"] = event_time
    obj.update(more)
    return build(Event, obj)


def test_an_event_without_its_fields_has_the_tables_missing_values():
    bare = build(Event, {})
    assert (bare.event_namespace, bare.event_name, bare.kind, bare.namespace, bare.name) == ("", "", "", "default", "")
    assert (bare.message, bare.count, bare.last, bare.event_time, bare.when) == ("", 0, "", "", "")
    nulls = build(Event, {"metadata": None, "involvedObject": None, "count": None, "lastTimestamp": None})
    assert nulls == bare


def test_an_events_fields_from_its_table():
    one = build(
        Event,
        {
            "metadata": {"name": "web.17f0", "namespace": "shop"},
            "involvedObject": {"kind": "Service", "namespace": "shop", "name": "web"},
            "reason": "AllocationFailed",
            "message": "no available IPs",
            "count": 3,
            "firstTimestamp": "2026-12-07T04:00:00Z",
            "lastTimestamp": "2026-12-07T05:00:00Z",
            "source": {"component": "metallb-controller"},
        },
    )
    assert (one.event_namespace, one.event_name, one.namespace, one.name) == ("shop", "web.17f0", "shop", "web")
    assert one.count == 3 and one.reason == "AllocationFailed" and one.message == "no available IPs"
    assert one.when == "2026-12-07T05:00:00Z" and one.component == "metallb-controller"


def test_the_latest_message_by_last_timestamp_else_event_time():
    events = [
        event(message="new", last="2026-12-07T05:00:00Z"),
        event(message="old", last="2026-12-07T04:00:00Z"),
        event(message="eventTime only", event_time="2026-12-07T04:30:00.000000Z"),
    ]
    assert latest_message(events) == "new"
    assert latest_message(events[1:]) == "eventTime only"
    # lastTimestamp wins over eventTime when an Event has both
    both = event(message="a", last="2026-12-07T01:00:00Z", event_time="2026-12-07T09:00:00Z")
    assert latest_message([both, event(message="b", last="2026-12-07T02:00:00Z")]) == "b"


def test_of_equal_times_the_one_listed_last_and_an_event_without_a_time_is_the_earliest():
    same = "2026-12-07T05:00:00Z"
    assert latest_message([event(message="first", last=same), event(message="second", last=same)]) == "second"
    assert latest_message([event(message="timed", last=same), event(message="untimed")]) == "timed"
    assert latest_message([event(message="untimed"), event(message="also untimed")]) == "also untimed"
    assert latest_message([event(message="alone")]) == "alone"
    assert latest_message([]) == ""


def test_latest_failures_per_service_in_the_order_first_seen():
    events = [
        event("web", "old", last="2026-12-07T04:00:00Z"),
        event("api", "api's", last="2026-12-07T01:00:00Z"),
        event("web", "new", last="2026-12-07T05:00:00Z"),
        event("web", "older", last="2026-12-07T03:00:00Z"),
        event("db", "", last="2026-12-07T06:00:00Z", namespace="data"),
    ]
    assert latest_failures(events) == {"shop/web": "new", "shop/api": "api's", "data/db": ""}
    assert list(latest_failures(events)) == ["shop/web", "shop/api", "data/db"]

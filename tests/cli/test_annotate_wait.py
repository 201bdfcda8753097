"""annotate --wait: MetalLB's answer after the write, at unit level (the live tier
checks it against the real controller)."""

import pytest
from builders import pool, svc

from kubectl_lbip.commands.wait import parse_timeout, wait_for_metallb
from kubectl_lbip.errors import UsageError
from kubectl_lbip.model.events import Event
from kubectl_lbip.model.schema import build


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Api:
    """Service reads and AllocationFailed events, one step per poll."""

    def __init__(self, ingress_by_poll, events_by_poll=None):
        self.ingress_by_poll = list(ingress_by_poll)
        self.events_by_poll = list(events_by_poll or [[]])
        self.polls = 0

    def get_service(self, namespace, name):
        ips = self.ingress_by_poll[min(self.polls, len(self.ingress_by_poll) - 1)]
        self.polls += 1
        return {"status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}}}

    def service_events(self, namespace, name, reason):
        return self.events_by_poll[min(max(self.polls - 1, 0), len(self.events_by_poll) - 1)]


def event(name, count, message):
    """An Event as the client hands it on: modelled from its table (LiveClient.service_events)."""
    return build(Event, {"metadata": {"name": name}, "count": count, "lastTimestamp": f"t{count}", "message": message})


def test_assigned_after_a_few_polls_any_spelling():
    clock = Clock()
    api = Api([[], [], ["192.0.2.5", "2001:db8:0::5"]])
    ok, said = wait_for_metallb(api, "ns", "web", ["192.0.2.5", "2001:db8::5"], 30, {}, clock=clock, sleep=clock.sleep)
    assert ok and said == "MetalLB assigned 192.0.2.5,2001:db8::5" and api.polls == 3


def test_a_new_allocation_failed_event_is_a_refusal_with_metallbs_reason():
    clock = Clock()
    old = event("web.1", 3, "old reason")
    before = {"web.1": (3, "t3", "", "old reason")}
    api = Api([[]], [[old], [old, event("web.2", 1, 'Failed to allocate IP for "ns/web": no')]])
    ok, said = wait_for_metallb(api, "ns", "web", ["192.0.2.5"], 30, before, clock=clock, sleep=clock.sleep)
    assert not ok and 'Failed to allocate IP for "ns/web": no' in said


def test_an_old_event_recurring_counts_as_new():
    clock = Clock()
    before = {"web.1": (3, "t3", "", "again")}
    api = Api([[]], [[event("web.1", 4, "again")]])
    ok, said = wait_for_metallb(api, "ns", "web", ["192.0.2.5"], 30, before, clock=clock, sleep=clock.sleep)
    assert not ok and "again" in said


def test_timeout_when_nothing_happens():
    clock = Clock()
    ok, said = wait_for_metallb(Api([["192.0.2.9"]]), "ns", "web", ["192.0.2.5"], 5, {}, clock=clock, sleep=clock.sleep)
    assert not ok and "within 5s" in said and "192.0.2.9" in said
    assert clock.now >= 5


@pytest.mark.parametrize(
    "text,seconds", [("30", 30), ("30s", 30), ("2m", 120), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600)]
)
def test_parse_timeout(text, seconds):
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "1m 30s", "-3s"])
def test_parse_timeout_refuses(text):
    with pytest.raises(UsageError):
        parse_timeout(text)


def test_cli_wait_exit_codes(monkeypatch):
    from builders import snapshot
    from clirunner import CliRunner

    from kubectl_lbip.cli import app

    class Client(Api):
        namespace = "shop"

        def __init__(self, ingress, events):
            super().__init__(ingress, events)
            self.patches = []
            self.extended = 0.0

        def extend_deadline(self, seconds):
            self.extended += seconds

        def snapshot(self, events=False, **reads):  # reads: what else LiveClient.snapshot may read
            return snapshot(pool("p", "192.0.2.0/24"), svc("shop", "web"))

        def patch_service(self, namespace, name, patch, dry_run=False):
            self.patches.append(patch)

    monkeypatch.setattr("kubectl_lbip.commands.wait.POLL_SECONDS", 0)
    client = Client([["192.0.2.5"]], [[]])
    monkeypatch.setattr("kubectl_lbip.snapshot.live.connect", lambda *a, **k: client)
    r = CliRunner().invoke(app, ["annotate", "web", "192.0.2.5", "--wait", "--timeout", "45s"])
    assert r.exit_code == 0 and "MetalLB assigned 192.0.2.5" in r.stdout
    assert client.extended == 45  # the command's deadline covers the wait too
    refused = Client([[]], [[], [event("web.1", 1, "port TCP/80 is already in use")]])
    monkeypatch.setattr("kubectl_lbip.snapshot.live.connect", lambda *a, **k: refused)
    r = CliRunner().invoke(app, ["annotate", "web", "192.0.2.5", "--wait"])
    assert r.exit_code == 1 and "port TCP/80 is already in use" in r.stderr
    assert len(refused.patches) == 1

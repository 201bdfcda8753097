"""--watch against the fake API server (fakeapi.py), through the real kubectl proxy:
the door's watch stream, the Reflector (list, watch, 410 Gone, dropped streams,
backoff counted with an injected clock, never timed) and the command as a process
(a line per change, -o json, Ctrl-C)."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, List, Optional

import pytest
from fakeapi import POOLS, SERVICES, FakeAPI, allocation_failed, pool, service

from kubectl_lbip.model.watch import Change
from kubectl_lbip.snapshot.live import SERVICES_PATH, connect
from kubectl_lbip.snapshot.trim import trim_service
from kubectl_lbip.snapshot.watch import EVENT, LISTED, Reflector

pytestmark = pytest.mark.skipif(not __import__("shutil").which("kubectl"), reason="kubectl is needed")

WAIT = 60  # seconds a test waits for a line before it fails (a deadline, not a measure)
# The installed command: on PATH in an activated venv, else beside this Python (make test).
PLUGIN = shutil.which("kubectl-lbip") or str(Path(sys.executable).parent / "kubectl-lbip")


def cluster(fake: FakeAPI) -> FakeAPI:
    fake.add_pool(pool("web", "192.168.10.0/24", "fd00:10::/64"))
    fake.add_service(service("shop", "a", ingress=("192.168.10.5",)))
    fake.add_service(service("shop", "b"))
    return fake


def moved(name: str, *ips: str) -> dict:
    return service("shop", name, ingress=ips)


class Posts:
    """What a Reflector hands on, waited for by tests."""

    def __init__(self) -> None:
        self.q: "queue.Queue[Any]" = queue.Queue()
        self.seen: List[Any] = []

    def __call__(self, message: Any) -> None:
        self.q.put(message)

    def until(self, test) -> Any:
        while True:
            message = self.q.get(timeout=WAIT)
            self.seen.append(message)
            if test(message):
                return message


def ingress(obj: dict) -> List[str]:
    return [i["ip"] for i in obj["status"]["loadBalancer"]["ingress"]]


def start(fake: FakeAPI, kubeconfig: str, waits: List[float], stop_after: int = 10**6):
    client = connect(kubeconfig, request_timeout=3)
    posts = Posts()

    def sleep(seconds: float) -> None:  # injected: the waits are counted, never waited
        waits.append(seconds)
        if len(waits) >= stop_after:
            r.stopped = True

    r = Reflector(client, "services", SERVICES_PATH, trim_service, posts, sleep=sleep)
    thread = threading.Thread(target=r.run, daemon=True)
    thread.start()
    return client, r, posts, thread


def first_watch(fake: FakeAPI, posts: Posts, count: int = 1) -> None:
    posts.until(lambda m: m[0] == LISTED)
    with fake._changed:  # notified at each request
        while len(fake.watches(SERVICES)) < count:
            assert fake._changed.wait(WAIT)


def test_a_stream_cut_by_the_server_loses_no_change(fake, kubeconfig):
    cluster(fake)
    fake.drop_after = [1]  # the first stream: one event, then the connection is cut
    waits: List[float] = []
    client, r, posts, _ = start(fake, kubeconfig, waits)
    try:
        first_watch(fake, posts)
        fake.change(SERVICES, "MODIFIED", moved("a", "192.168.10.6"))
        fake.change(SERVICES, "MODIFIED", moved("b", "192.168.10.7"))
        got_a = posts.until(lambda m: m[0] == EVENT and m[3]["metadata"]["name"] == "a")
        got_b = posts.until(lambda m: m[0] == EVENT and m[3]["metadata"]["name"] == "b")
        assert ingress(got_a[3]) == ["192.168.10.6"] and ingress(got_b[3]) == ["192.168.10.7"]
        watches = fake.watches(SERVICES)
        # the second watch started where the first left off: after a's change
        assert len(watches) >= 2 and watches[1].param("resourceVersion") == got_a[3]["metadata"]["resourceVersion"]
        # kubectl proxy ends the cut stream as if the server had: it brought an event,
        # so it is watched again at once, from that event
        assert waits == []
        assert [m for m in posts.seen if m[0] == EVENT and m[3]["metadata"]["name"] == "a"] == [got_a]
    finally:
        r.stopped = True
        client.door.close()


@pytest.mark.parametrize("as_event", [False, True], ids=["410-answer", "410-error-event"])
def test_410_gone_lists_again_and_loses_no_change(fake, kubeconfig, as_event):
    cluster(fake)
    fake.drop_after = [0]  # the first stream is cut before its first event
    fake.gone_as_event = as_event
    waits: List[float] = []
    client, r, posts, _ = start(fake, kubeconfig, waits)
    try:
        first_watch(fake, posts)
        listed_at = int(fake.watches(SERVICES)[0].param("resourceVersion"))
        fake.gone_before = listed_at + 1  # the version the reflector holds is now too old
        fake.change(SERVICES, "MODIFIED", moved("a", "192.168.10.9"))  # cut: never streamed
        relisted = posts.until(lambda m: m[0] == LISTED)
        a = next(o for o in relisted[2] if o["metadata"]["name"] == "a")
        assert ingress(a) == ["192.168.10.9"]  # the change came with the new list
        lists = [q for q in fake.calls("GET", SERVICES) if not q.param("watch")]
        assert len(lists) == 2
        # waited for, never a loop: after the cut when the stream ended early and empty,
        # and after the 410 that came right after a list (which it depends on the
        # machine's speed whether the cut came early)
        assert waits in ([0.8], [0.8, 1.6])
    finally:
        r.stopped = True
        client.door.close()


def test_failing_watches_back_off_doubling_never_a_busy_loop(fake, kubeconfig):
    cluster(fake)
    # every watch answered at once with an empty stream (a server that ends it at
    # once): each such stream is a failure, waited for longer and longer
    fake.respond = lambda rec: (200, "") if rec.param("watch") else None
    waits: List[float] = []
    client, r, posts, thread = start(fake, kubeconfig, waits, stop_after=6)
    try:
        thread.join(WAIT)
        assert not thread.is_alive()
        assert waits == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6]
        assert len(fake.watches(SERVICES)) == 6  # one request per wait, no more
    finally:
        r.stopped = True
        client.door.close()


def test_5xx_watches_back_off_then_recover(fake, kubeconfig):
    cluster(fake)
    waits: List[float] = []
    fake.respond = lambda rec: (
        (500, {"kind": "Status", "code": 500, "message": "etcd down"})
        if (rec.param("watch") and len(waits) < 3)
        else None
    )
    client, r, posts, _ = start(fake, kubeconfig, waits)
    try:
        first_watch(fake, posts, count=4)  # three answered 500, the fourth streams
        fake.change(SERVICES, "MODIFIED", moved("b", "192.168.10.8"))
        got = posts.until(lambda m: m[0] == EVENT)
        assert ingress(got[3]) == ["192.168.10.8"]
        assert waits == [0.8, 1.6, 3.2]
    finally:
        r.stopped = True
        client.door.close()


def test_a_forbidden_watch_ends_with_the_servers_words(fake, kubeconfig):
    cluster(fake)
    fake.respond = lambda rec: (
        (
            403,
            {
                "kind": "Status",
                "code": 403,
                "message": 'services is forbidden: User "admin" cannot watch resource "services"',
            },
        )
        if rec.param("watch")
        else None
    )
    client, r, posts, thread = start(fake, kubeconfig, [])
    try:
        failed = posts.until(lambda m: m[0] == "failed")
        assert "cannot watch" in str(failed[2])
        thread.join(WAIT)
        assert not thread.is_alive()
    finally:
        client.door.close()


@pytest.mark.parametrize(
    "event",
    [
        b'{"type": "ADDED", "object": [1]}\n',
        b'{"type": "EXPLODED", "object": {}}\n',
        b"not json\n",
        b'{"type": "ADDED", "object": {"kind": "Service", "apiVersion": "v1", "metadata": {"name": 5}}}\n',
    ],
    ids=["object-not-a-mapping", "unknown-type", "not-json", "bad-shape"],
)
def test_hostile_events_end_the_watch_with_one_error(fake, kubeconfig, event):
    cluster(fake)
    fake.respond = lambda rec: (200, event.decode()) if rec.param("watch") else None
    client, r, posts, thread = start(fake, kubeconfig, [])
    try:
        failed = posts.until(lambda m: m[0] == "failed")
        assert "watch" in str(failed[2])
        assert type(failed[2]).__name__ == "ResponseError"
    finally:
        client.door.close()


# --- the command, as a process


def launch(kubeconfig: str, *args: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [PLUGIN, *args, "--kubeconfig", kubeconfig, "--request-timeout", "3s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupted(proc: "subprocess.Popen[str]") -> Optional[int]:
    """Ctrl-C's exit code, or None (the process is then killed, not left behind)."""
    try:
        return proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


class Lines:
    def __init__(self, proc: "subprocess.Popen[str]") -> None:
        self.proc = proc
        self.q: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc) -> None:
        for text in proc.stdout:
            self.q.put(text)
        self.q.put("")

    def next(self) -> str:
        try:
            return self.q.get(timeout=WAIT)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"no line within {WAIT}s; stderr: {self.proc.stderr.read()}") from None


def test_who_has_watch_prints_each_change_as_a_json_line_and_ctrl_c_exits_130(fake, kubeconfig):
    cluster(fake)
    proc = launch(kubeconfig, "who-has", "-w", "-o", "json", "192.168.10.0/24")
    out = Lines(proc)
    try:
        first = [json.loads(out.next()) for _ in range(1)]
        assert [(d["name"], d["change"], d["to"]) for d in first] == [("a", "listed", ["192.168.10.5"])]
        assert list(first[0]) == list(Change("Service", "shop", "a", "listed").to_dict("t"))  # the contract's
        fake.change(SERVICES, "MODIFIED", moved("a", "192.168.10.6"))
        d = json.loads(out.next())
        assert (d["name"], d["change"], d["from"], d["to"], d["pool"]) == (
            "a",
            "moved",
            ["192.168.10.5"],
            ["192.168.10.6"],
            "web",
        )
        fake.change(SERVICES, "MODIFIED", moved("b", "192.168.10.7"))
        assert (json.loads(out.next())["name"], "assigned") == ("b", "assigned")
        fake.change(SERVICES, "ADDED", service("shop", "c", annotations={"metallb.io/loadBalancerIPs": "192.168.10.5"}))
        created = json.loads(out.next())
        assert (created["name"], created["change"], created["to"]) == ("c", "created", [])
        fake.change("/api/v1/events", "ADDED", allocation_failed("shop", "c", "no available IPs"))
        refused = json.loads(out.next())
        assert (refused["name"], refused["change"], refused["reason"]) == ("c", "refused", "no available IPs")
        fake.change(SERVICES, "DELETED", moved("a", "192.168.10.6"))
        assert (json.loads(out.next())["change"]) == "deleted"
        proc.send_signal(signal.SIGINT)
        rest = []
        while True:
            text = out.next()
            if not text:
                break
            rest.append(text)
        assert interrupted(proc) == 130
        assert all(t.endswith("\n") for t in rest)  # nothing half-printed
        assert "interrupted" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pools_watch_prints_counts_when_they_change(fake, kubeconfig):
    cluster(fake)
    proc = launch(kubeconfig, "pools", "-w")
    out = Lines(proc)
    try:
        assert "pool metallb-system/web  listed  ipv4 1/256 used, 255 free" in out.next()
        fake.change(SERVICES, "MODIFIED", service("shop", "a", ingress=("192.168.10.5", "fd00:10::5")))
        line = out.next()
        assert "pool metallb-system/web  counts  ipv4 1/256 used, 255 free; ipv6 1/" in line
        fake.change(POOLS, "DELETED", pool("web", "192.168.10.0/24", "fd00:10::/64"))
        assert out.next().rstrip().endswith("pool metallb-system/web  deleted")
    finally:
        proc.send_signal(signal.SIGINT)
        assert interrupted(proc) == 130


def test_check_watch_prints_findings_as_they_appear_and_resolve(fake, kubeconfig):
    cluster(fake)
    proc = launch(kubeconfig, "check", "-w", "-o", "json")
    out = Lines(proc)
    try:
        assert json.loads(out.next())["change"] == "listed"  # shop/b is pending
        fake.change(POOLS, "ADDED", pool("other", "192.168.10.0/28"))  # overlaps web
        appeared = []
        while not appeared:
            d = json.loads(out.next())
            if d["change"] == "appeared":
                appeared.append(d)
        assert appeared[0]["kind"] == "Finding" and "other" in appeared[0]["object"] + appeared[0]["message"]
        code = appeared[0]["code"]
        fake.change(POOLS, "DELETED", pool("other", "192.168.10.0/28"))
        resolved = None
        while resolved is None:
            d = json.loads(out.next())
            if d["change"] == "resolved" and d["code"] == code:
                resolved = d
    finally:
        proc.send_signal(signal.SIGINT)
        assert interrupted(proc) == 130


def test_watch_refuses_files_and_formats_it_cannot_stream(tmp_path, kubeconfig):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("")
    for args in (["pools", "-w", "-f", str(manifest)], ["check", "-w", "-o", "sarif"], ["pools", "-w", "--map"]):
        proc = subprocess.run([PLUGIN, *args, "--kubeconfig", kubeconfig], capture_output=True, text=True, timeout=WAIT)
        assert proc.returncode == 2, args
        assert proc.stderr.startswith("error: ") and "watch" in proc.stderr
    proc = subprocess.run([PLUGIN, "who-has", "--kubeconfig", kubeconfig], capture_output=True, text=True, timeout=WAIT)
    assert proc.returncode == 2 and "at least one IP or CIDR" in proc.stderr


def test_a_server_that_says_410_to_every_watch_is_listed_again_with_waits(fake, kubeconfig):
    cluster(fake)
    fake.gone_before = 10**9  # every watch is Gone, even right after a list
    fake.gone_as_event = True
    waits: List[float] = []
    client, r, posts, thread = start(fake, kubeconfig, waits, stop_after=4)
    try:
        thread.join(WAIT)
        assert not thread.is_alive()
        assert waits == [0.8, 1.6, 3.2, 6.4]
        lists = [q for q in fake.calls("GET", SERVICES) if not q.param("watch")]
        assert len(lists) == 4 and len(fake.watches(SERVICES)) == 4  # one list and one watch per wait
    finally:
        r.stopped = True
        client.door.close()


def test_an_event_longer_than_the_limit_is_refused(fake, kubeconfig, monkeypatch):
    from kubectl_lbip import door

    monkeypatch.setattr(door, "MAX_EVENT_LINE", 1000)
    cluster(fake)
    event = {"type": "MODIFIED", "object": service("shop", "a", annotations={"x": "y" * 2000})}
    fake.respond = lambda rec: (200, json.dumps(event) + "\n") if rec.param("watch") else None
    client, r, posts, thread = start(fake, kubeconfig, [])
    try:
        failed = posts.until(lambda m: m[0] == "failed")
        assert "longer than" in str(failed[2])
    finally:
        client.door.close()

"""`kubectl lbip who-has -w` against the real control plane, MetalLB's controller
deciding: a scripted scenario assigns, releases and moves addresses (services
created, changed and deleted, a pool deleted, the controller restarted), and the
watch prints exactly the changes that the services' status went through, as
`kubectl get services -w` (the reference) saw them. The watch runs with a short
--request-timeout, so the API server ends its streams every few seconds and the
watch goes on from where each one ended."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
from typing import Any, Dict, List, Tuple

import pytest

from .controlplane import Cluster, wait_until
from .test_plugin_live import _path, pool, service, wait_ips

pytestmark = pytest.mark.e2e

P1 = "192.0.2.160/29"  # .160 - .167
P2 = "198.51.100.160/29"


class Reader:
    """A process's stdout lines, kept as they come."""

    def __init__(self, proc: "subprocess.Popen[str]") -> None:
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.kept: List[str] = []  # every line, for text()
        self.proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            self.kept.append(text)
            self.lines.put(text)

    def text(self) -> str:
        return "".join(list(self.kept))

    def all(self) -> List[str]:
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                return out


def transitions(statuses: List[Tuple[str, Any]]) -> Dict[str, List[Tuple[str, List[str], List[str]]]]:
    """From each service's successive states (its ingress, or None once deleted), the
    changes a watch must print: (change, from, to), each time the ingress differs."""
    last: Dict[str, List[str]] = {}
    out: Dict[str, List[Tuple[str, List[str], List[str]]]] = {}
    for name, ips in statuses:
        if name not in last:
            last[name] = [] if ips is None else ips
            if ips:  # created holding already: said by "created", not a change
                out.setdefault(name, [])
            continue
        old = last[name]
        if ips is None:
            out.setdefault(name, []).append(("deleted", old, []))
            del last[name]
            continue
        if ips != old:
            what = "assigned" if not old else "released" if not ips else "moved"
            out.setdefault(name, []).append(
                (what, old if what != "assigned" else [], ips if what != "released" else [])
            )
        last[name] = ips
    return {k: v for k, v in out.items() if v}


def test_who_has_watch_prints_exactly_what_the_status_went_through(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("watch-a", P1), pool("watch-b", P2, autoAssign=False))
    # a service there before both watches: each is listening once it has listed it
    cluster.apply(service("ready", ns))
    cluster.wait_ingress("ready", ns)
    env = cluster.env(PATH=_path())
    reference = subprocess.Popen(
        ["kubectl", "get", "services", "-n", ns, "-w", "--output-watch-events", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    watch = subprocess.Popen(
        ["kubectl", "lbip", "who-has", "-w", "-o", "json", "-n", ns, "--request-timeout", "5s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen, reference_out = Reader(watch), Reader(reference)
    try:
        first = json.loads(seen.lines.get(timeout=60))
        assert (first["name"], first["change"]) == ("ready", "listed")
        wait_until(lambda: '"ready"' in reference_out.text(), 60, "kubectl get -w listing")
        cluster.apply(service("auto", ns))
        cluster.wait_ingress("auto", ns)
        cluster.apply(service("pinned", ns, annotations={"metallb.io/loadBalancerIPs": "198.51.100.161"}))
        wait_ips(cluster, "pinned", ns, ["198.51.100.161"])
        # moved: a request for another address of the same pool
        cluster.apply(service("auto", ns, annotations={"metallb.io/loadBalancerIPs": "192.0.2.165"}))
        wait_ips(cluster, "auto", ns, ["192.0.2.165"])
        # released: the service stops being a LoadBalancer
        cluster.kubectl("patch", "service", "pinned", "-n", ns, "-p", '{"spec":{"type":"ClusterIP"}}')
        wait_until(lambda: not cluster.ingress_ips("pinned", ns), 30, "pinned released")
        cluster.kubectl("patch", "service", "pinned", "-n", ns, "-p", '{"spec":{"type":"LoadBalancer"}}')
        wait_ips(cluster, "pinned", ns, ["198.51.100.161"])
        # the pool deleted, the controller restarted (another release, then the newest)
        cluster.kubectl("delete", "ipaddresspool", "watch-b", "-n", cluster.metallb_namespace)
        versions = cluster.build.versions
        if len(versions) > 1:
            cluster.use_metallb(versions[0])
            cluster.use_metallb(cluster.build.newest.version)
        cluster.apply(pool("watch-b", P2, autoAssign=False))
        wait_ips(cluster, "pinned", ns, ["198.51.100.161"], timeout=60)
        cluster.kubectl("delete", "service", "auto", "-n", ns, "--wait=true")

        # the reference: every state of every service, as kubectl get -w saw it
        states: List[Tuple[str, Any]] = []
        decoder = json.JSONDecoder()
        reference.send_signal(signal.SIGINT)
        reference.wait(60)
        buffer = reference_out.text().strip()
        while buffer:
            event, end = decoder.raw_decode(buffer)
            buffer = buffer[end:].strip()
            obj = event["object"]
            name = obj["metadata"]["name"]
            ingress = [i["ip"] for i in (obj.get("status", {}).get("loadBalancer", {}) or {}).get("ingress") or []]
            states.append((name, None if event["type"] == "DELETED" else ingress))
        want = transitions(states)
        print(f"\n[e2e] the status changes kubectl get -w saw: {want}")
        assert want.get("auto") and want.get("pinned"), want

        printed: Dict[str, List[Tuple[str, List[str], List[str]]]] = {}
        refused: List[Tuple[str, str]] = []

        def caught_up() -> bool:
            for text in seen.all():
                d = json.loads(text)
                if d["change"] in ("assigned", "released", "moved", "deleted"):
                    printed.setdefault(d["name"], []).append((d["change"], d["from"], d["to"]))
                elif d["change"] == "refused":
                    refused.append((d["name"], d["reason"]))
            return printed == want

        try:
            wait_until(caught_up, 60, "the watch's lines", interval=0.5)
        except TimeoutError:
            pass
        assert printed == want
        # while its pool was deleted MetalLB refused pinned: said with MetalLB's own words
        messages = {e["message"] for e in cluster.events("pinned", ns, reason="AllocationFailed")}
        assert refused and all(name == "pinned" and reason in messages for name, reason in refused), (refused, messages)
    finally:
        for proc in (reference, watch):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        try:
            code = watch.wait(60)
        except subprocess.TimeoutExpired:
            watch.kill()  # never left behind
            code = watch.wait()
        reference.wait(60)
        assert code == 130, watch.stderr.read() if watch.stderr else ""

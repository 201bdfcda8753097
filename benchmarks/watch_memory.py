"""Memory of a long `--watch` (issue 30 item 1): `kubectl-lbip who-has -w -o json` (or
pools -w, check -w) follows a fake API server that serves N services and changes them
without pause, and the plugin's resident memory (VmRSS) is sampled as it runs.

    python benchmarks/watch_memory.py                       # 10,000 services, 15 min, 50 changes/s
    python benchmarks/watch_memory.py --minutes 60 --rate 100
    python benchmarks/watch_memory.py --command pools --minutes 5

The churn: each change moves one service's addresses to other free ones of the pool,
or (one in ten) deletes a service and creates it again. The server keeps the last
--keep changes for watches, as etcd compacts its history: a watch that falls behind
is answered 410 Gone and lists again (10,000 services), as against a real cluster.
The server's streams end every --request-timeout, so the watch reconnects all along.

Prints one row per sample: minutes, the plugin's RSS and its kubectl proxy's, the
plugin's CPU time so far, the lines it printed and the changes made. The server is tests/snapshot/fakeapi.py
on loopback, with a throw-away certificate (openssl): kubectl sends a token only over TLS."""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "snapshot"))

import fakeapi  # noqa: E402
from fakeapi import SERVICES, FakeAPI, kubeconfig_dict, pool, service, write_yaml  # noqa: E402

PLUGIN = shutil.which("kubectl-lbip") or str(Path(sys.executable).parent / "kubectl-lbip")
V4 = ipaddress.ip_network("10.0.0.0/16")


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for text in f:
                if text.startswith("VmRSS:"):
                    return int(text.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def descendants(pid: int) -> List[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                found += kids
                todo += kids
        except OSError:
            continue
    return found


def certificate(folder: Path) -> tuple:
    cert, key = folder / "ca.crt", folder / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--rate", type=float, default=50, help="changes per second")
    ap.add_argument("--sample", type=float, default=30, help="seconds between samples")
    ap.add_argument("--keep", type=int, default=20_000, help="changes the server keeps for watches")
    ap.add_argument("--request-timeout", default="30s")
    ap.add_argument("--command", choices=("who-has", "pools", "check"), default="who-has")
    opts = ap.parse_args()
    rng = random.Random(30)
    with tempfile.TemporaryDirectory() as tmp:
        fakeapi.DEFAULT_TLS = certificate(Path(tmp))
        fake = FakeAPI(watch_keep=opts.keep).start()
        fake.add_pool(pool("bench", str(V4)))
        free = [str(ip) for ip in list(V4.hosts())[: 2 * opts.services]]
        rng.shuffle(free)
        held = {}
        for i in range(opts.services):
            name = f"svc-{i:05d}"
            held[name] = free.pop()
            fake.add_service(service(f"ns-{i % 50}", name, ingress=(held[name],)))
        config = write_yaml(
            Path(tmp) / "kubeconfig",
            kubeconfig_dict({"c": fake.url}, {"u": {"token": "fake-token"}}, {"x": {"cluster": "c", "user": "u"}}, "x"),
        )
        args = [PLUGIN, opts.command, "-w", "--kubeconfig", config, "--request-timeout", opts.request_timeout]
        proc = subprocess.Popen(args + (["-o", "json"] if opts.command != "pools" else []), stdout=subprocess.PIPE)
        printed = [0]

        def count() -> None:
            assert proc.stdout is not None
            for _ in proc.stdout:
                printed[0] += 1

        threading.Thread(target=count, daemon=True).start()
        changes = [0]
        stop = threading.Event()

        def churn() -> None:
            names = sorted(held)
            while not stop.is_set():
                started = time.monotonic()
                name = rng.choice(names)
                ns = f"ns-{int(name[4:]) % 50}"
                free.append(held[name])
                held[name] = free.pop(rng.randrange(len(free) - 1))
                if rng.random() < 0.1:
                    fake.change(SERVICES, "DELETED", service(ns, name))
                fake.change(SERVICES, "MODIFIED", service(ns, name, ingress=(held[name],)))
                changes[0] += 1
                stop.wait(max(0.0, 1 / opts.rate - (time.monotonic() - started)))

        while not fake.watches(SERVICES):  # the first list done: the watches begin
            if proc.poll() is not None:
                print(f"the plugin ended: exit {proc.returncode}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        threading.Thread(target=churn, daemon=True).start()
        began = time.monotonic()
        print(f"{opts.command} -w, {opts.services} services, {opts.rate:g} changes/s, {opts.minutes:g} min")
        print("| minutes | plugin RSS MB | kubectl proxy RSS MB | plugin CPU s | lines printed | changes made |")
        print("|---|---|---|---|---|---|")
        try:
            while True:
                elapsed = time.monotonic() - began
                proxy = sum(rss_kb(p) for p in descendants(proc.pid))
                print(
                    f"| {elapsed / 60:.1f} | {rss_kb(proc.pid) / 1024:.1f} | {proxy / 1024:.1f} | "
                    f"{cpu_seconds(proc.pid):.0f} | "
                    f"{printed[0]} | {changes[0]} |",
                    flush=True,
                )
                if elapsed >= opts.minutes * 60 or proc.poll() is not None:
                    break
                time.sleep(opts.sample)
        finally:
            stop.set()
            proc.terminate()
            proc.wait(30)
            fake.stop()
            lists = [r for r in fake.calls("GET", SERVICES) if not r.param("watch") and not r.param("continue")]
            print(f"services listed {len(lists)} time(s), watched {len(fake.watches(SERVICES))} time(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

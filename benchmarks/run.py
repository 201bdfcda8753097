"""Benchmarks (issues 10 and 19): prints a Markdown report (machine, command lines, medians).

    python benchmarks/run.py --quick          # 1k + 10k services, 3 runs each
    python benchmarks/run.py                  # 1k, 10k, 50k; 5 runs (3 at 50k)
    python benchmarks/run.py --live KUBECONFIG   # free vs kubectl get, on a loaded cluster
    python benchmarks/run.py --out results.md    # also write the report to a file

Every timing runs the installed `kubectl-lbip` script in a fresh process (real
start-up included) and reads the child's wall time, CPU time (user+sys) and
peak RSS from wait4(2). Commands being compared (kubectl-lbip vs jq, small vs big
pools) run interleaved, so that a busy machine slows both alike. CPU time is
printed next to wall time because it is far less sensitive to other load.

Snapshots come from benchmarks/generate.py (cached; see its docstring for the mix).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402

JQ_FILTER = (
    ".items[] | select(.status.loadBalancer.ingress != null) | "
    'select(.status.loadBalancer.ingress[].ip == "{ip}") | '
    '"\\(.metadata.namespace)/\\(.metadata.name)"'
)


# --------------------------------------------------------------------------
# measuring


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    code: int


@dataclass
class Result:
    label: str
    argv: List[str]
    samples: List[Sample] = field(default_factory=list)
    one_core: bool = False

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss(self) -> float:
        return max(s.rss_mb for s in self.samples)

    @property
    def command(self) -> str:
        return " ".join(shlex.quote(a) for a in self.argv)


def lbip() -> str:
    exe = shutil.which("kubectl-lbip")
    if exe is None:
        sys.exit("kubectl-lbip is not on PATH: activate the venv (. .venv/bin/activate)")
    return exe


def _tree_rss_kb(pid: int) -> int:
    """VmRSS of a process and its descendants (Linux /proc), in kB; 0 if gone."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_once(argv: Sequence[str], ok_codes=(0, 1), one_core: bool = False) -> Sample:
    """One run; ``one_core`` pins it to one CPU (what a one-core or busy machine
    gives it: then a large file is read by one process). Peak RSS is the larger of
    wait4's (the largest single process) and the process tree's sum, sampled
    every 5 ms (before issue 26 the plugin forked a second reader for large files)."""
    pin = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if one_core else None
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=pin)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in ok_codes:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(argv)}\n{err[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, max(usage.ru_maxrss, peak[0]) / 1024, proc.returncode)


def measure(results: Sequence[Result], runs: int, warmup: bool = True) -> None:
    """Run each command `runs` times, interleaved (a b a b ...), after one warm-up
    round that fills the page cache and is not counted."""
    if warmup:
        for r in results:
            run_once(r.argv, one_core=r.one_core)
    for _ in range(runs):
        for r in results:
            r.samples.append(run_once(r.argv, one_core=r.one_core))


IN_PROCESS = r"""
import gc, json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
from kubectl_lbip.snapshot import files
from kubectl_lbip.model.findings import findings_for
snap = files.load([sys.argv[1]], trimmed=True)
cluster = snap.take_cluster()
t1 = time.perf_counter(); c1 = time.process_time()
found = findings_for(cluster)
t2 = time.perf_counter(); c2 = time.process_time()
print(json.dumps({"load": t1 - t0, "load_cpu": c1 - c0, "findings": t2 - t1,
                  "findings_cpu": c2 - c1, "count": len(found)}))
"""


IN_PROCESS_FREE = r"""
import json, sys, time
from kubectl_lbip.snapshot import files
from kubectl_lbip.commands import free
from kubectl_lbip.model.implementation import MetalLB
cluster = files.load([sys.argv[1]], trimmed=True).take_cluster()
impl = MetalLB(cluster)
best = None
for _ in range(5):
    t0 = time.perf_counter()
    result = free.compute(impl, None, "dual", free.FreeQuery())
    pools = impl.free_entries(result.pools)
    best = min(best or 1e9, time.perf_counter() - t0)
print(json.dumps(best))
"""


def in_process_free(path: Path, runs: int) -> float:
    """free's own work (suggestions and per-pool counts), loading excluded: the
    best of 5 in one process, median over `runs` processes."""
    return statistics.median(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", IN_PROCESS_FREE, str(path)], check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    )


def in_process_check(path: Path, runs: int) -> Dict[str, float]:
    """check's work split in two, in a fresh interpreter each run: loading
    (read + parse + model) and findings_for(cluster) alone."""
    rows = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IN_PROCESS, str(path)], check=True, capture_output=True, text=True
        ).stdout
        rows.append(json.loads(out))
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


# --------------------------------------------------------------------------
# report


def machine() -> List[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    jq = shutil.which("jq")
    jq_version = subprocess.run([jq, "--version"], capture_output=True, text=True).stdout.strip() if jq else "missing"
    version = subprocess.run([lbip(), "version"], capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- nproc: {nproc}; CPU: {cpu}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); {version}; jq: {jq_version}",
        f"- OS: {platform.platform()}; load average at start: {load}",
    ]


def fmt(x: float) -> str:
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


class Report:
    def __init__(self) -> None:
        self.rows: List[List[str]] = []
        self.notes: List[str] = []

    def add(self, r: Result, target: str = "", verdict: str = "") -> None:
        self.rows.append(
            [r.label, f"`{r.command}`", str(len(r.samples)), fmt(r.wall), fmt(r.cpu), f"{r.rss:.0f}", target, verdict]
        )

    def line(self, label: str, command: str, value: str, target: str = "", verdict: str = "") -> None:
        self.rows.append([label, command, "", value, "", "", target, verdict])

    def markdown(self) -> str:
        head = ["benchmark", "command", "runs", "median wall s", "median CPU s", "max RSS MB", "target", "met"]
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        # a | inside a cell (jq's filter) would end it, even in backticks
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self.rows]
        return "\n".join(out)


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def held_ip(path: Path) -> str:
    """A held IPv4 address of the snapshot (the first service with an ingress)."""
    from kubectl_lbip.snapshot.documents import json_items

    with open(path, encoding="utf-8") as fh:
        for doc in json_items(fh):
            for ing in ((doc.obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ():
                if "." in ing.get("ip", ""):
                    return ing["ip"]
    raise SystemExit(f"{path}: no service with an ingress")


def human(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


# Targets of issue 19 (at 50k services unless said).
WHO_HAS_VS_JQ = {10000: 1.3, 50000: 1.0}  # wall-time ratio, median of interleaved runs
FREE_50K_S, CHECK_50K_S = 1.5, 2.5
RSS_MB = {"who-has": 100, "free": 150, "check": 150}


def run_offline(sizes: Sequence[int], runs: int, big_runs: int, report: Report) -> None:
    exe = lbip()
    paths = {}
    for n in sizes:
        for pools in ("16", "8", "tiled24") if n >= 10000 else ("16",):
            paths[(n, pools)] = generate.write(n, pools)
        if n >= 10000:
            paths[(n, "16-mf")] = generate.write(n, "16", managed_fields=True)
    tilde = str(generate.cache_dir())
    report.notes.append(
        f"Snapshots: `python benchmarks/generate.py --all` (written to `{tilde}`), as `kubectl get "
        "ipaddresspools,svc -A -o json` prints them (no managedFields), sizes: "
        + ", ".join(f"{human(n)} services {paths[(n, '16')].stat().st_size / 1e6:.0f} MB" for n in sizes)
        + "; with managedFields (older kubectl, `--show-managed-fields`): "
        + ", ".join(
            f"{human(n)} {paths[(n, '16-mf')].stat().st_size / 1e6:.0f} MB" for n in sizes if (n, "16-mf") in paths
        )
    )

    def nruns(n: int) -> int:
        return big_runs if n >= 50000 else runs

    # start-up
    helps = [Result("`--help`", [exe, "--help"]), Result("`version`", [exe, "version"])]
    measure(helps, max(runs, 5))
    for r in helps:
        report.add(r, "< 0.3 s", yes(r.wall < 0.3))

    # who-has vs the jq one-liner, on the same file, interleaved
    jq = shutil.which("jq")
    who_results: Dict[str, Result] = {}
    for n in [s for s in sizes if s >= 10000]:
        for variant in ("16", "16-mf"):
            path = paths[(n, variant)]
            ip = held_ip(path)
            tail = "" if variant == "16" else ", with managedFields"
            who = Result(f"who-has, {human(n)} services{tail}", [exe, "who-has", ip, "-f", str(path)])
            who_results[f"{n}{variant}"] = who
            if not jq:
                measure([who], nruns(n))
                report.add(who, "", "jq missing: `apt-get install -y jq`")
                continue
            jqr = Result(f"jq one-liner, {human(n)} services{tail}", [jq, "-r", JQ_FILTER.format(ip=ip), str(path)])
            measure([who, jqr], nruns(n))
            report.add(jqr)
            ratio_w, ratio_c = who.wall / jqr.wall, who.cpu / jqr.cpu
            if variant == "16":
                limit = WHO_HAS_VS_JQ.get(n, 1.3)
                report.add(who, f"<= {limit}x jq", f"{yes(ratio_w <= limit)} ({ratio_w:.2f}x wall, {ratio_c:.2f}x CPU)")
            else:
                report.add(who, "(information)", f"{ratio_w:.2f}x wall, {ratio_c:.2f}x CPU")

    # free and check by size
    by_size: Dict[str, Dict[int, Result]] = {"free": {}, "check": {}}
    for n in sizes:
        rs = [
            Result(f"{cmd}, {human(n)} services, /16+/112", [exe, cmd, "-f", str(paths[(n, "16")])])
            for cmd in ("free", "check")
        ]
        measure(rs, nruns(n))
        for cmd, r in zip(("free", "check"), rs):
            by_size[cmd][n] = r
    for cmd in ("free", "check"):
        for n in sizes:
            r = by_size[cmd][n]
            target, verdict = "", ""
            if n == max(sizes) and 10000 in by_size[cmd] and n > 10000:
                base = by_size[cmd][10000]
                growth_w, growth_c = r.wall / base.wall, r.cpu / base.cpu
                scale = n / 10000
                limit = FREE_50K_S if cmd == "free" else CHECK_50K_S
                target = f"<= {limit} s; growth 10k->{human(n)} <= {scale:.0f}x"
                verdict = f"{yes(r.wall <= limit and growth_w <= scale)} ({growth_w:.2f}x wall, {growth_c:.2f}x CPU)"
            report.add(r, target, verdict)

    # The same on one core: one process reads the file (a busy or one-core machine).
    n = max(sizes)
    if n >= 50000:
        for cmd in ("free", "check"):
            r = by_size[cmd][n]
            alone = Result(f"{cmd}, {human(n)} services, /16+/112, one core", r.argv, one_core=True)
            again = Result(r.label, r.argv)
            measure([again, alone], nruns(n))
            limit = FREE_50K_S if cmd == "free" else CHECK_50K_S
            report.add(
                alone,
                f"(information; target {limit} s)",
                f"{alone.wall / again.wall:.2f}x the two-core wall time ({fmt(again.wall)} s interleaved)",
            )

    # pool size: same services, small vs big pools
    for n in [s for s in sizes if s >= 10000]:
        small = by_size["free"][n]
        big = Result(f"free, {human(n)} services, /8+/48", [exe, "free", "-f", str(paths[(n, "8")])])
        tiled = Result(f"free, {human(n)} services, 256 x (/24+/120)", [exe, "free", "-f", str(paths[(n, "tiled24")])])
        again = Result(small.label, small.argv)
        measure([again, big, tiled], nruns(n))
        d_w, d_c = big.wall / again.wall - 1, big.cpu / again.cpu - 1
        report.add(
            big,
            "at most 10% slower than /16+/112",
            f"{yes(d_w <= 0.10)} ({d_w:+.0%} wall, {d_c:+.0%} CPU vs {fmt(again.wall)} s interleaved)",
        )
        report.add(tiled, "(information)", f"{tiled.wall / again.wall - 1:+.0%} wall vs /16+/112")
        # The same comparison without loading: free's own work, in-process.
        work = {k: in_process_free(paths[(n, k)], runs) for k in ("16", "8", "tiled24")}
        report.line(
            f"free's work in-process, {human(n)}: /16+/112 vs /8+/48 vs 256 x (/24+/120)",
            "`suggest()` + per-pool counts",
            " vs ".join(f"{work[k] * 1000:.1f} ms" for k in ("16", "8", "tiled24")),
            "(information: loading excluded)",
            f"/8+/48 {(work['8'] - work['16']) * 1000:+.1f} ms",
        )

    # peak memory at the largest size
    n = max(sizes)
    rss_rows = [("who-has", who_results.get(f"{n}16")), ("free", by_size["free"][n]), ("check", by_size["check"][n])]
    for cmd, r in rss_rows:
        if r is None:
            continue
        limit = RSS_MB[cmd]
        report.line(
            f"peak RSS, {cmd}, {human(n)} services",
            f"`{r.command}`",
            f"{r.rss:.0f} MB",
            f"<= {limit} MB" + ("" if n >= 50000 else " (at 50k)"),
            yes(r.rss <= limit) if n >= 50000 else "(50k not run: --quick)",
        )
    mf = who_results.get(f"{n}16-mf")
    if mf is not None:
        report.line(
            f"peak RSS, who-has, {human(n)} services with managedFields",
            f"`{mf.command}`",
            f"{mf.rss:.0f} MB",
            "(information)",
            "",
        )

    # check's work, in-process, at 10k
    n = 10000 if 10000 in sizes else max(sizes)
    split = in_process_check(paths[(n, "16")], runs)
    report.line(
        f"check in-process, {human(n)}: load (read+parse+model)",
        "`files.load([path], trimmed=True).take_cluster()`",
        f"{fmt(split['load'])} (CPU {fmt(split['load_cpu'])})",
    )
    report.line(
        f"check in-process, {human(n)}: `findings_for(cluster)`",
        "`findings_for(cluster)`",
        f"{fmt(split['findings'])} (CPU {fmt(split['findings_cpu'])})",
        "< 1 s",
        yes(split["findings"] < 1.0),
    )


# --------------------------------------------------------------------------
# live


class CountingProxy:
    """A TCP relay on loopback in front of the API server that counts the bytes that
    cross it each way (TLS records, as on the wire): what each client transferred."""

    def __init__(self, host: str, port: int) -> None:
        import socket
        import threading

        self.target = (host, port)
        self.lock = threading.Lock()
        self.sent = self.received = self.connections = 0
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, "sent"), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, "received"), daemon=True).start()

    def _pump(self, src, dst, counter: str) -> None:
        import socket

        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
                with self.lock:
                    setattr(self, counter, getattr(self, counter) + len(data))
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self) -> Dict[str, int]:
        """The counts since the last take (after the client has exited)."""
        time.sleep(0.3)  # let the pumps drain
        with self.lock:
            out = {"sent": self.sent, "received": self.received, "connections": self.connections}
            self.sent = self.received = self.connections = 0
        return out

    def close(self) -> None:
        self.server.close()


def _proxied_kubeconfig(kubeconfig: str, directory: Path) -> "tuple[Path, CountingProxy]":
    """A copy of the kubeconfig whose current cluster is reached through a CountingProxy."""
    from urllib.parse import urlsplit

    import yaml

    config = yaml.safe_load(Path(kubeconfig).read_text())
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c for c in config["clusters"] if c["name"] == current["context"]["cluster"])
    url = urlsplit(cluster["cluster"]["server"])
    proxy = CountingProxy(url.hostname, url.port or 443)
    cluster["cluster"]["server"] = f"{url.scheme}://{url.hostname}:{proxy.port}"
    for entry in config["clusters"]:  # certificate paths stay valid from another directory
        for key in ("certificate-authority",):
            if key in entry["cluster"] and not os.path.isabs(entry["cluster"][key]):
                entry["cluster"][key] = str(Path(kubeconfig).parent / entry["cluster"][key])
    for entry in config.get("users") or ():
        for key in ("client-certificate", "client-key"):
            if key in (entry.get("user") or {}) and not os.path.isabs(entry["user"][key]):
                entry["user"][key] = str(Path(kubeconfig).parent / entry["user"][key])
    path = directory / "kubeconfig-proxied"
    path.write_text(yaml.safe_dump(config))
    return path, proxy


REQUEST_LINE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (https?://\S+|/\S*)")


def traffic(argv: Sequence[str], verbose_flag: str, proxy: "CountingProxy") -> Dict[str, int]:
    """One run through the proxy, with the client's own request log: how many API
    requests it made and how many bytes it sent and received."""
    proxy.take()
    proc = subprocess.run(list(argv) + [verbose_flag], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    counts = proxy.take()
    counts["requests"] = sum(1 for line in proc.stderr.splitlines() if REQUEST_LINE.search(line))
    return counts


def run_live(kubeconfig: str, runs: int, report: Report) -> None:
    """Against a cluster already loaded with N services (benchmarks/load_cluster.py):
    `kubectl lbip free` vs `kubectl get svc -A -o json`, both by subprocess. Timed
    straight to the API server; then once each through a counting relay, for the
    requests and bytes each side transferred."""
    import tempfile

    exe = lbip()
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        sys.exit("kubectl is not on PATH")
    count = subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, "get", "svc", "-A", "--no-headers"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.count("\n")
    import load_cluster

    report.notes.append(
        f"Live cluster: {count} services, {load_cluster.assigned(kubeconfig)} of them "
        "holding an address assigned by MetalLB's controller"
    )
    free = Result(f"live free, {count} services", [exe, "free", "--kubeconfig", kubeconfig])
    get = Result(
        f"live kubectl get, {count} services", [kubectl, "--kubeconfig", kubeconfig, "get", "svc", "-A", "-o", "json"]
    )
    measure([free, get], runs)
    with tempfile.TemporaryDirectory() as tmp:
        proxied, proxy = _proxied_kubeconfig(kubeconfig, Path(tmp))
        try:
            t_get = traffic([kubectl, "--kubeconfig", str(proxied), "get", "svc", "-A", "-o", "json"], "-v=6", proxy)
            t_free = traffic([exe, "free", "--kubeconfig", str(proxied)], "-v", proxy)
        finally:
            proxy.close()

    def moved(t: Dict[str, int]) -> str:
        return (
            f"{t['requests']} API requests, {t['received'] / 1e6:.1f} MB received, "
            f"{t['sent'] / 1e3:.0f} kB sent ({t['connections']} connections)"
        )

    report.add(get, "", moved(t_get))
    ratio = free.wall / get.wall
    report.add(
        free,
        "<= 0.5x kubectl get svc -A -o json",
        f"{yes(ratio <= 0.5)} ({ratio:.2f}x wall, {free.cpu / get.cpu:.2f}x CPU); {moved(t_free)}",
    )


def run_live_cluster(count: int, runs: int, report: Report, start_at: str = "") -> None:
    """Start the e2e control plane (tests/e2e/controlplane.py: etcd, kube-apiserver,
    MetalLB's controller, on loopback), fill it with load_cluster.py, wait until
    MetalLB has assigned what it will, then run_live; stop it all afterwards."""
    sys.path.insert(0, str(HERE.parent))
    import load_cluster  # noqa: I001 (benchmarks/, then the repository root)
    from tests.e2e.controlplane import running_cluster

    with running_cluster() as cluster:
        kubeconfig = str(cluster.kubeconfig)
        load_cluster.load(kubeconfig, count)
        load_cluster.wait_assigned(kubeconfig)
        if start_at:  # filled while the machine is busy; measured when it is quiet
            hour, minute = map(int, start_at.split(":"))
            now = time.gmtime()
            wait = (hour * 60 + minute) * 60 - (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec)
            if wait > 0:
                print(f"waiting {wait} s until {start_at} UTC to measure", file=sys.stderr)
                time.sleep(wait)
        run_live(kubeconfig, runs, report)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="kubectl-lbip benchmarks (issues 10 and 19)")
    ap.add_argument("--quick", action="store_true", help="1k and 10k services, 3 runs")
    ap.add_argument("--runs", type=int, help="runs per command (default 5; 3 with --quick)")
    ap.add_argument("--big-runs", type=int, default=3, help="runs per command at 50k (default 3)")
    ap.add_argument("--live", metavar="KUBECONFIG", help="only the live benchmark, against this cluster")
    ap.add_argument(
        "--live-cluster",
        metavar="N",
        type=int,
        help="only the live benchmark, on a throw-away e2e control plane filled with N services",
    )
    ap.add_argument(
        "--start-at",
        metavar="HH:MM",
        default="",
        help="with --live-cluster: fill the cluster now, measure at this UTC time",
    )
    ap.add_argument("--out", metavar="FILE", help="also write the report here")
    args = ap.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)

    report = Report()
    header = ["## Benchmarks", "", "Machine:", *machine(), ""]
    if args.live:
        run_live(args.live, runs, report)
        invocation = "python benchmarks/run.py --live KUBECONFIG"
    elif args.live_cluster:
        run_live_cluster(args.live_cluster, runs, report, args.start_at)
        invocation = f"python benchmarks/run.py --live-cluster {args.live_cluster}"
    else:
        sizes = [1000, 10000] if args.quick else [1000, 10000, 50000]
        run_offline(sizes, runs, min(args.big_runs, runs), report)
        invocation = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    text = (
        "\n".join(
            header
            + [f"Command: `{invocation}` (medians; wall and CPU = user+sys of the process; max RSS over the runs)", ""]
            + [report.markdown(), ""]
            + [f"- {n}" for n in report.notes]
        )
        + "\n"
    )
    sys.stdout.write(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

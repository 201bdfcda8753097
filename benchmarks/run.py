"""Benchmarks of issue 10: prints a Markdown report (machine, command lines, medians).

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
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402

JQ_FILTER = ('.items[] | select(.status.loadBalancer.ingress != null) | '
             'select(.status.loadBalancer.ingress[].ip == "{ip}") | '
             '"\\(.metadata.namespace)/\\(.metadata.name)"')


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


def run_once(argv: Sequence[str], ok_codes=(0, 1)) -> Sample:
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in ok_codes:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(argv)}\n{err[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def measure(results: Sequence[Result], runs: int, warmup: bool = True) -> None:
    """Run each command `runs` times, interleaved (a b a b ...), after one warm-up
    round that fills the page cache and is not counted."""
    if warmup:
        for r in results:
            run_once(r.argv)
    for _ in range(runs):
        for r in results:
            r.samples.append(run_once(r.argv))


IN_PROCESS = r"""
import gc, json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
from kubectl_lbip.snapshot import files
from kubectl_lbip.model.findings import findings_for
snap = files.load([sys.argv[1]])
cluster = snap.to_cluster()
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
cluster = files.load([sys.argv[1]]).to_cluster()
best = None
for _ in range(5):
    t0 = time.perf_counter()
    result = free.compute(cluster, None, "dual", free.FreeQuery())
    pools = [free.pool_entry(cluster, p, None) for p in result.pools]
    best = min(best or 1e9, time.perf_counter() - t0)
print(json.dumps(best))
"""


def in_process_free(path: Path, runs: int) -> float:
    """free's own work (suggestions and per-pool counts), loading excluded: the
    best of 5 in one process, median over `runs` processes."""
    return statistics.median(
        json.loads(subprocess.run([sys.executable, "-c", IN_PROCESS_FREE, str(path)], check=True,
                                  capture_output=True, text=True).stdout)
        for _ in range(runs))


def in_process_check(path: Path, runs: int) -> Dict[str, float]:
    """check's work split in two, in a fresh interpreter each run: loading
    (read + parse + model) and findings_for(cluster) alone."""
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(path)], check=True,
                             capture_output=True, text=True).stdout
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
    return [f"- nproc: {nproc}; CPU: {cpu}",
            f"- Python {platform.python_version()} ({platform.python_implementation()}); {version}; jq: {jq_version}",
            f"- OS: {platform.platform()}; load average at start: {load}"]


def fmt(x: float) -> str:
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


class Report:
    def __init__(self) -> None:
        self.rows: List[List[str]] = []
        self.notes: List[str] = []

    def add(self, r: Result, target: str = "", verdict: str = "") -> None:
        self.rows.append([r.label, f"`{r.command}`", str(len(r.samples)), fmt(r.wall), fmt(r.cpu),
                          f"{r.rss:.0f}", target, verdict])

    def line(self, label: str, command: str, value: str, target: str = "", verdict: str = "") -> None:
        self.rows.append([label, command, "", value, "", "", target, verdict])

    def markdown(self) -> str:
        head = ["benchmark", "command", "runs", "median wall s", "median CPU s", "max RSS MB",
                "target", "met"]
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        # a | inside a cell (jq's filter) would end it, even in backticks
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self.rows]
        return "\n".join(out)


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def held_ip(path: Path) -> str:
    """A held IPv4 address of the snapshot (the first service with an ingress)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    for item in data["items"]:
        for ing in ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ():
            if "." in ing.get("ip", ""):
                return ing["ip"]
    raise SystemExit(f"{path}: no service with an ingress")


def human(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def run_offline(sizes: Sequence[int], runs: int, big_runs: int, report: Report) -> None:
    exe = lbip()
    paths = {}
    for n in sizes:
        for pools in ("16", "8", "tiled24") if n >= 10000 else ("16",):
            paths[(n, pools)] = generate.write(n, pools)
    tilde = str(generate.cache_dir())
    report.notes.append(f"Snapshots: `python benchmarks/generate.py --all` (written to `{tilde}`), "
                        "sizes: " + ", ".join(f"{human(n)} services {paths[(n, '16')].stat().st_size / 1e6:.0f} MB"
                                              for n in sizes))

    def nruns(n: int) -> int:
        return big_runs if n >= 50000 else runs

    # start-up
    helps = [Result("`--help`", [exe, "--help"]), Result("`version`", [exe, "version"])]
    measure(helps, max(runs, 5))
    for r in helps:
        report.add(r, "< 0.3 s", yes(r.wall < 0.3))

    # who-has vs jq at 10k
    n = 10000 if 10000 in sizes else sizes[-1]
    path = paths[(n, "16")]
    ip = held_ip(path)
    jq = shutil.which("jq")
    who = Result(f"who-has, {human(n)} services", [exe, "who-has", ip, "-f", str(path)])
    pair = [who]
    if jq:
        jqr = Result(f"jq one-liner, {human(n)} services", [jq, "-r", JQ_FILTER.format(ip=ip), str(path)])
        pair.append(jqr)
    measure(pair, runs)
    if jq:
        report.add(jqr)
        ratio_w, ratio_c = who.wall / jqr.wall, who.cpu / jqr.cpu
        report.add(who, "<= 2x jq", f"{yes(ratio_w <= 2)} ({ratio_w:.2f}x wall, {ratio_c:.2f}x CPU)")
    else:
        report.add(who, "<= 2x jq", "jq missing: `apt-get install -y jq`")

    # free and check by size
    by_size: Dict[str, Dict[int, Result]] = {"free": {}, "check": {}}
    for n in sizes:
        rs = [Result(f"{cmd}, {human(n)} services, /16+/112", [exe, cmd, "-f", str(paths[(n, "16")])])
              for cmd in ("free", "check")]
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
                target = f"growth 10k->{human(n)} <= {scale:.0f}x"
                verdict = f"{yes(growth_w <= scale)} ({growth_w:.2f}x wall, {growth_c:.2f}x CPU)"
            report.add(r, target, verdict)

    # pool size: same services, small vs big pools
    for n in [s for s in sizes if s >= 10000]:
        small = by_size["free"][n]
        big = Result(f"free, {human(n)} services, /8+/48", [exe, "free", "-f", str(paths[(n, "8")])])
        tiled = Result(f"free, {human(n)} services, 256 x (/24+/120)",
                       [exe, "free", "-f", str(paths[(n, "tiled24")])])
        again = Result(small.label, small.argv)
        measure([again, big, tiled], nruns(n))
        d_w, d_c = big.wall / again.wall - 1, big.cpu / again.cpu - 1
        report.add(big, "at most 10% slower than /16+/112",
                   f"{yes(d_w <= 0.10)} ({d_w:+.0%} wall, {d_c:+.0%} CPU vs {fmt(again.wall)} s "
                   "interleaved)")
        report.add(tiled, "(information)", f"{tiled.wall / again.wall - 1:+.0%} wall vs /16+/112")
        # The same comparison without loading: free's own work, in-process.
        work = {k: in_process_free(paths[(n, k)], runs) for k in ("16", "8", "tiled24")}
        report.line(f"free's work in-process, {human(n)}: /16+/112 vs /8+/48 vs 256 x (/24+/120)",
                    "`suggest()` + per-pool counts", " vs ".join(f"{work[k] * 1000:.1f} ms" for k in
                                                             ("16", "8", "tiled24")),
                    "(information: loading excluded)",
                    f"/8+/48 {(work['8'] - work['16']) * 1000:+.1f} ms")

    # peak memory at the largest size
    n = max(sizes)
    for cmd in ("free", "check"):
        r = by_size[cmd][n]
        report.line(f"peak RSS, {cmd}, {human(n)} services", f"`{r.command}`", f"{r.rss:.0f} MB",
                    "< 300 MB" + ("" if n >= 50000 else " (at 50k)"),
                    yes(r.rss < 300) if n >= 50000 else "(50k not run: --quick)")

    # check's work, in-process, at 10k
    n = 10000 if 10000 in sizes else max(sizes)
    split = in_process_check(paths[(n, "16")], runs)
    report.line(f"check in-process, {human(n)}: load (read+parse+model)",
                "`files.load([path]).to_cluster()`", f"{fmt(split['load'])} (CPU {fmt(split['load_cpu'])})")
    report.line(f"check in-process, {human(n)}: `findings_for(cluster)`",
                "`findings_for(cluster)`", f"{fmt(split['findings'])} (CPU {fmt(split['findings_cpu'])})",
                "< 1 s", yes(split["findings"] < 1.0))


# --------------------------------------------------------------------------
# live


def run_live(kubeconfig: str, runs: int, report: Report) -> None:
    """Against a cluster already loaded with N services (benchmarks/load_cluster.py):
    `kubectl lbip free` vs `kubectl get svc -A -o json`, both by subprocess."""
    exe = lbip()
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        sys.exit("kubectl is not on PATH")
    count = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "get", "svc", "-A", "--no-headers"],
                           check=True, capture_output=True, text=True).stdout.count("\n")
    free = Result(f"live free, {count} services", [exe, "free", "--kubeconfig", kubeconfig])
    get = Result(f"live kubectl get, {count} services",
                 [kubectl, "--kubeconfig", kubeconfig, "get", "svc", "-A", "-o", "json"])
    measure([free, get], runs)
    report.add(get)
    ratio = free.wall / get.wall
    report.add(free, "vs kubectl get svc -A -o json", f"{ratio:.2f}x wall, {free.cpu / get.cpu:.2f}x CPU")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="kubectl-lbip benchmarks (issue 10)")
    ap.add_argument("--quick", action="store_true", help="1k and 10k services, 3 runs")
    ap.add_argument("--runs", type=int, help="runs per command (default 5; 3 with --quick)")
    ap.add_argument("--big-runs", type=int, default=3, help="runs per command at 50k (default 3)")
    ap.add_argument("--live", metavar="KUBECONFIG", help="only the live benchmark, against this cluster")
    ap.add_argument("--out", metavar="FILE", help="also write the report here")
    args = ap.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)

    report = Report()
    header = ["## Benchmarks", "", "Machine:", *machine(), ""]
    if args.live:
        run_live(args.live, runs, report)
        invocation = "python benchmarks/run.py --live KUBECONFIG"
    else:
        sizes = [1000, 10000] if args.quick else [1000, 10000, 50000]
        run_offline(sizes, runs, min(args.big_runs, runs), report)
        invocation = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    text = "\n".join(header + [f"Command: `{invocation}` (medians; wall and CPU = user+sys of the "
                               "process; max RSS over the runs)", ""] + [report.markdown(), ""]
                     + [f"- {n}" for n in report.notes]) + "\n"
    sys.stdout.write(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

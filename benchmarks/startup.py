#!/usr/bin/env python3
"""Start-up time: the installed console script against the krew zipapp.

Runs `--help` and `version` N times each (after one warm-up run, which also
unpacks the zipapp into its cache) and prints the median and the spread:

    python benchmarks/startup.py [--runs 15] [--zipapp dist/kubectl-lbip]

Both are run by the same interpreter (this one), so the figures compare the
packaging, not two Pythons.  "zipapp, from the zip" is the zipapp with its
unpacked cache turned off (KUBECTL_LBIP_NO_CACHE=1): what every run would cost
without it.  "kubectl lbip" runs the zipapp as users do, through kubectl with
the zipapp on PATH as kubectl-lbip; its cold start (the first run of a build:
unpack, then compile what it imports) is the median of --runs runs, each with
an empty cache.  Build the zipapp first with `make krew`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(cmd, env, runs):
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--zipapp", type=Path, default=ROOT / "dist" / "kubectl-lbip")
    ap.add_argument(
        "--console-script",
        type=Path,
        default=Path(shutil.which("kubectl-lbip", path=str(Path(sys.executable).parent)) or "kubectl-lbip"),
    )
    args = ap.parse_args()

    if not args.zipapp.is_file():
        print(f"{args.zipapp} is missing: run `make krew` first", file=sys.stderr)
        return 2
    if not args.console_script.is_file():
        print(f"no console script at {args.console_script}: `pip install -e .` first", file=sys.stderr)
        return 2

    env = dict(os.environ)
    cache = tempfile.mkdtemp(prefix="kubectl-lbip-bench-")
    env["KUBECTL_LBIP_CACHE_DIR"] = cache  # a fresh cache: the warm-up run fills it
    nocache = dict(env, KUBECTL_LBIP_NO_CACHE="1")

    # The first run of a build: unpacking (and compiling what it imports).
    start = time.perf_counter()
    subprocess.run([sys.executable, str(args.zipapp), "version"], env=env, stdout=subprocess.DEVNULL, check=True)
    first = time.perf_counter() - start

    # kubectl finds the plugin on PATH; python3 on PATH is this interpreter.
    bindir = Path(cache) / "bin"
    bindir.mkdir()
    (bindir / "kubectl-lbip").symlink_to(args.zipapp.resolve())
    (bindir / "python3").symlink_to(sys.executable)
    kenv = dict(env, PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}")
    kubectl = [shutil.which("kubectl") or "kubectl", "lbip"]

    variants = [
        ("console script", [str(args.console_script)], env),
        ("zipapp", [sys.executable, str(args.zipapp)], env),
        ("zipapp, from the zip", [sys.executable, str(args.zipapp)], nocache),
        ("kubectl lbip", kubectl, kenv),
    ]
    rows = []
    try:
        for label, cmd, run_env in variants:
            for sub in ("--help", "version"):
                t = measure(cmd + [sub], run_env, args.runs)
                rows.append((label, sub, statistics.median(t), min(t), max(t)))
        cold = []
        for i in range(args.runs):
            fresh = dict(kenv, KUBECTL_LBIP_CACHE_DIR=os.path.join(cache, f"cold-{i}"))
            start = time.perf_counter()
            subprocess.run(kubectl + ["version"], env=fresh, stdout=subprocess.DEVNULL, check=True)
            cold.append(time.perf_counter() - start)
        rows.append(("kubectl lbip, cold", "version", statistics.median(cold), min(cold), max(cold)))
        unpacked = [
            p for p in Path(cache).iterdir() if p.is_dir() and p.name not in ("bin",) and not p.name.startswith("cold-")
        ]
        size = sum(f.stat().st_size for f in unpacked[0].rglob("*") if f.is_file()) if unpacked else 0
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    print(
        f"python {sys.version.split()[0]} ({sys.executable}), {args.runs} runs each, "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}"
    )
    print(
        f"zipapp {args.zipapp} ({args.zipapp.stat().st_size / 1e6:.1f} MB); "
        f"first run of a build (unpack into the cache): {first * 1000:.0f} ms; "
        f"the unpacked cache: {size / 1e6:.1f} MB"
    )
    print()
    print(f"{'variant':<22} {'command':<9} {'median':>9} {'min':>9} {'max':>9}")
    for label, sub, med, lo, hi in rows:
        print(f"{label:<22} {sub:<9} {med * 1000:>7.0f}ms {lo * 1000:>7.0f}ms {hi * 1000:>7.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

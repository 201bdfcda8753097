"""Where the time of who-has, free and check goes, phase by phase (issue 19).

    python benchmarks/profile.py [--services 10000] [--runs 3] [--tree DIR]

For each command, in a fresh interpreter per run, CPU time (user+sys, which a busy
machine disturbs far less than wall time) of:

* start-up and imports: the interpreter, kubectl_lbip.cli and the command's modules;
* parsing: reading the file and decoding its JSON, item by item (a separate pass
  that keeps nothing);
* model: the rest of loading: what the command keeps of each item, the Service
  models and the usage index (load and model minus the parsing pass);
* rules: the command's own work (who-has's answer, free's suggestions and counts,
  check's findings);
* rendering: the table printed (to a buffer).

The file is read by one process (trees from before issue 26 forked a second
reader for large files; it is turned off for them): these are the phases of the
work, wherever it runs. run.py times the commands as users run them.

``--tree DIR`` profiles another checkout of the project (its kubectl_lbip comes
first on sys.path), e.g. main before a change: run both and compare. The median
of the runs is printed, as a Markdown table. cProfile or pyinstrument on one
phase tell what is inside it; this tells which phase to look at.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402

PHASES = ("start-up and imports", "parsing", "model", "rules", "rendering")

CHILD = r"""
import io, json, sys, time
tree, command, path, ip = sys.argv[1:5]
if tree:
    sys.path.insert(0, tree)
clock = time.process_time
import kubectl_lbip.cli
from kubectl_lbip import render
from kubectl_lbip.commands import free, whohas
from kubectl_lbip.model.findings import findings_for
try:  # the commands ask an Implementation (issue 28)
    from kubectl_lbip.model.implementation import MetalLB
except ImportError:  # a tree before it: they read the cluster
    MetalLB = lambda cluster: cluster
from kubectl_lbip.commands.common import Inputs
from kubectl_lbip.snapshot import documents, files
try:  # one reader: a second process's CPU time would not be counted here
    from kubectl_lbip.snapshot import parallel
    parallel.MIN_BYTES = 1 << 62
except ImportError:  # a tree without the second reader (before issue 19, after issue 26)
    pass
t_imports = clock()

start = clock()
with open(path, encoding="utf-8") as fh:
    for _ in documents.json_items(fh):
        pass
t_parse = clock() - start

out = io.StringIO()
start = clock()
if command == "who-has":
    queries = whohas.parse_queries([ip])
    inputs = Inputs(filenames=[path])
    if hasattr(whohas, "load"):
        cluster = whohas.load(inputs, queries)[1]
    else:
        cluster = inputs.snapshot().take_cluster()
else:
    cluster = files.load([path], trimmed=True).take_cluster()
t_load = clock() - start

start = clock()
if command == "who-has":
    results = whohas.answer(MetalLB(cluster), queries)
    rows = [[r["ip"], r["pool"] or "(no pool)", "yes" if r["free"] else "no",
             h["namespace"] + "/" + h["name"], ",".join(h["how"]), h["sharingKey"] or "-",
             ",".join(h["ports"]) or "-", ""] for r in results for h in r["holders"]]
    headers = ["ip", "pool", "free", "service", "how", "sharing key", "ports", "conflict"]
elif command == "free":
    impl = MetalLB(cluster)
    result = free.compute(impl, None, "dual", free.FreeQuery())
    if impl is cluster:  # a tree before issue 28
        entries = [free.pool_entry(cluster, p) for p in result.pools]
    else:
        entries = impl.free_entries(result.pools)
    data = {"family": "dual", "pools": entries,
            "excludedPools": [], "suggestions": []}
else:
    found = findings_for(cluster)
    rows = [[f.severity, f.code, f.object, f.message] for f in found]
    headers = ["severity", "code", "object", "message"]
t_rules = clock() - start

start = clock()
if command == "free":
    real = sys.stdout
    sys.stdout = out
    try:
        if hasattr(free, "_table"):  # before the printer (issue 26 item 2)
            free._table(data, result, None, False)
        else:
            from kubectl_lbip import printer

            printer.write(free.table(printer.Result(data, answer=free.FreeAnswer(result, None, ""))))
    finally:
        sys.stdout = real
else:
    out.write(render.table(rows, headers))
t_render = clock() - start
print(json.dumps([t_imports, t_parse, t_load - t_parse, t_rules, t_render]))
"""


def profile(tree: str, command: str, path: Path, ip: str, runs: int):
    rows = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, tree, command, str(path), ip], check=True, capture_output=True, text=True
        ).stdout
        rows.append(json.loads(out))
    return [statistics.median(r[i] for r in rows) for i in range(len(PHASES))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tree", default="", help="a checkout whose kubectl_lbip to profile (default: the installed one)")
    ap.add_argument("--commands", default="who-has,free,check")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from run import held_ip  # noqa: E402

    path = generate.write(args.services, "16")
    ip = held_ip(path)
    print(
        f"{args.services} services ({path.name}, {path.stat().st_size / 1e6:.0f} MB), "
        f"tree: {args.tree or 'installed'}; CPU seconds, median of {args.runs}\n"
    )
    print("| command | " + " | ".join(PHASES) + " | total |")
    print("|---" * (len(PHASES) + 2) + "|")
    for command in args.commands.split(","):
        phases = profile(str(Path(args.tree).resolve()) if args.tree else "", command, path, ip, args.runs)
        print(f"| {command} | " + " | ".join(f"{t:.2f}" for t in phases) + f" | {sum(phases):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

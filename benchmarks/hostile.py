"""The figures of docs/performance.md's Limits table (issue 20): how fast and in how much
memory `kubectl-lbip` refuses hostile input, and how long it waits on misbehaving
API servers. Each case is one fresh process, timed and measured with wait4(2).

    python benchmarks/hostile.py            # bombs and servers (about 80 s: two 30 s deadlines)
    python benchmarks/hostile.py --yaml FILE   # also `check -f FILE` (e.g. a 200 MB YAML List)
    python benchmarks/hostile.py --json FILE   # also `migrate --dry-run=client -f FILE` (a 200 MB JSON List)
    python benchmarks/hostile.py --only-files --yaml Y --json J   # the large files alone

The large files: `benchmarks/generate.py --services 150000 --yaml` (200 MB) and
`benchmarks/generate.py --services 80000` (198 MB).

The servers are the fake API server of tests/snapshot/fakeapi.py on loopback."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "snapshot"))

from fakeapi import SERVICES, FakeAPI, kubeconfig_dict, pool, write_yaml  # noqa: E402

PLUGIN = shutil.which("kubectl-lbip") or str(Path(sys.executable).parent / "kubectl-lbip")


def bomb(head: str, leaf: str, key: str, indent: str) -> str:
    text = head + f"{indent}a: &a [" + ",".join([leaf] * 9) + "]\n"
    text += "".join(f"{indent}{b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
    return text + (f"{indent}{key}: *i\n" if key else "")


def measure(args, label: str) -> None:
    started = time.monotonic()
    with tempfile.TemporaryFile() as stderr:  # a file: a long stderr cannot fill a pipe and stall the plugin
        proc = subprocess.Popen([PLUGIN, *args], stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        stderr.seek(0)
        err = stderr.read().decode("utf-8", "replace").strip().splitlines()
    code = os.waitstatus_to_exitcode(status)
    wall, cpu = time.monotonic() - started, usage.ru_utime + usage.ru_stime
    print(
        f"| {label} | exit {code} | {wall:.1f} s | {cpu:.1f} s | {usage.ru_maxrss / 1024:.0f} MB | "
        f"{(err or [''])[-1][:110]} |"
    )


def server_case(folder: Path, label: str, **kw) -> None:
    respond = kw.pop("respond", None)
    fake = FakeAPI(**kw).start()
    fake.respond = respond
    fake.add_pool(pool("p", "10.0.0.0/24"))
    config = write_yaml(
        folder / f"k-{len(label)}",
        kubeconfig_dict({"c": fake.url}, {"u": {"token": "fake-token"}}, {"x": {"cluster": "c", "user": "u"}}, "x"),
    )
    try:
        measure(["pools", "--kubeconfig", config], label)
    finally:
        fake.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--yaml", help="also measure `check -f` on this (large) file")
    ap.add_argument("--json", help="also measure `migrate --dry-run=client -f` on this (large) file")
    ap.add_argument("--only-files", action="store_true", help="only the large files")
    opts = ap.parse_args()
    print("| case | exit | wall | CPU | peak RSS | last line on stderr |\n|---|---|---|---|---|---|")
    if opts.only_files:
        large_files(opts)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        labels = folder / "labels.yaml"
        labels.write_text(bomb("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n", "lol", "", "    "))
        addresses = folder / "addresses.yaml"
        addresses.write_text(
            bomb(
                "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\nspec:\n",
                '"10.0.0.1"',
                "addresses",
                "  ",
            )
        )
        for command in ("check", "migrate"):
            measure([command, "-f", str(labels)], f"`{command}`, alias bomb in a service's labels")
            measure([command, "-f", str(addresses)], f"`{command}`, alias bomb in a pool's addresses")
        deep = folder / "deep.json"
        deep.write_text('{"kind": "Service", "x": ' + "[" * 100000 + "]" * 100000 + "}")
        measure(["check", "-f", str(deep)], "`check`, JSON nested 100,000 deep")
        small = folder / "pool.yaml"
        small.write_text(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n"
            "spec: {addresses: [10.0.0.0/8]}\n"
        )
        measure(["free", "--count", "100000000000", "-f", str(small)], "`free --count 100000000000`")
        server_case(folder, "server trickling 1 byte every 5 s", trickle=5.0)
        server_case(folder, "server accepting and never answering", never_answer=True)
        server_case(
            folder,
            "429 with Retry-After: 40",
            respond=lambda rec: (429, {"kind": "Status", "code": 429, "message": "slow down"}, {"Retry-After": "40"}),
        )
        page = {"kind": "ServiceList", "metadata": {"continue": "same"}, "items": []}
        server_case(
            folder, "a continue token that repeats", respond=lambda rec: (200, page) if rec.path == SERVICES else None
        )
    large_files(opts)
    return 0


def large_files(opts) -> None:
    if opts.yaml:
        measure(["check", "-f", opts.yaml], f"`check -f` {os.path.getsize(opts.yaml) / 1e6:.0f} MB YAML List")
    if opts.json:
        measure(
            ["migrate", "--dry-run=client", "-f", opts.json],
            f"`migrate --dry-run=client -f` {os.path.getsize(opts.json) / 1e6:.0f} MB JSON List",
        )


if __name__ == "__main__":
    sys.exit(main())

"""Load a (throw-away) cluster with N services for `run.py --live`.

    python benchmarks/load_cluster.py KUBECONFIG N [--pools 16] [--batch 500] [--seed 1]

Creates the namespaces, the IPAddressPool(s) of the chosen pool set and N
services from benchmarks/generate.py's mix (same names, annotations, families
and ports), with `kubectl apply --server-side` in batches. What the API server
owns is left out (clusterIPs, status, uid, managedFields...), so the server
allocates clusterIPs and MetalLB's controller, if it runs, assigns addresses.
Services get `allocateLoadBalancerNodePorts: false`: the default NodePort range
(2768 ports) could not give every LoadBalancer service its node ports.

Needs kubectl on PATH and MetalLB's CRDs in the cluster (the e2e control plane
of tests/e2e applies them). Never run it against a cluster you care about.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402

SERVER_OWNED_META = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


def for_apply(obj: Dict[str, Any]) -> Dict[str, Any]:
    """An object as a client would send it."""
    obj = json.loads(json.dumps(obj))
    meta = obj["metadata"]
    for key in SERVER_OWNED_META:
        meta.pop(key, None)
    ann = meta.get("annotations") or {}
    for key in ("kubectl.kubernetes.io/last-applied-configuration", "metallb.io/ip-allocated-from-pool"):
        ann.pop(key, None)
    obj.pop("status", None)
    spec = obj.get("spec") or {}
    if obj["kind"] == "Service":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
        for port in spec.get("ports") or ():
            port.pop("nodePort", None)
        if spec.get("type") == "LoadBalancer":
            spec["allocateLoadBalancerNodePorts"] = False
    return obj


def apply(kubeconfig: str, objects: List[Dict[str, Any]]) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            kubeconfig,
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            "kubectl-lbip-bench",
            "-f",
            "-",
        ],
        input=body,
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def load(kubeconfig: str, count: int, pools: str = "16", batch: int = 500, seed: int = 1) -> None:
    data = generate.generate(count, pools, seed, managed_fields=False)
    items = [for_apply(o) for o in data["items"]]
    pool_objs = [o for o in items if o["kind"] == "IPAddressPool"]
    services = [o for o in items if o["kind"] == "Service"]
    namespaces = sorted({s["metadata"]["namespace"] for s in services} | {"metallb-system"})
    apply(kubeconfig, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces])
    apply(kubeconfig, pool_objs)
    start = time.perf_counter()
    for i in range(0, len(services), batch):
        apply(kubeconfig, services[i : i + batch])
        done = min(i + batch, len(services))
        print(f"{done}/{len(services)} services applied ({time.perf_counter() - start:.0f} s)", file=sys.stderr)


def assigned(kubeconfig: str) -> int:
    """How many services hold an address (status.loadBalancer.ingress)."""
    out = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            kubeconfig,
            "get",
            "svc",
            "-A",
            "-o",
            "jsonpath={range .items[*]}{.status.loadBalancer.ingress[0].ip}{'\\n'}{end}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def wait_assigned(kubeconfig: str, every: float = 20, settled: float = 90, deadline: float = 1800) -> int:
    """Wait until MetalLB's controller has assigned what it will: the count of
    services holding an address is above zero and has not changed for ``settled``
    seconds (the controller works through thousands of services at its client's
    request rate, and a busy machine slows it further)."""
    start = time.monotonic()
    last, since = -1, start
    while time.monotonic() - start < deadline:
        now = assigned(kubeconfig)
        print(f"{now} services hold an address ({time.monotonic() - start:.0f} s)", file=sys.stderr)
        if now != last:
            last, since = now, time.monotonic()
        elif now and time.monotonic() - since >= settled:
            return now
        time.sleep(every)
    raise SystemExit(f"MetalLB still assigning after {deadline:.0f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kubeconfig")
    ap.add_argument("count", type=int)
    ap.add_argument("--pools", choices=sorted(generate.POOL_SETS), default="16")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wait", action="store_true", help="then wait until MetalLB has assigned addresses")
    args = ap.parse_args(argv)
    if shutil.which("kubectl") is None:
        sys.exit("kubectl is not on PATH")
    load(args.kubeconfig, args.count, args.pools, args.batch, args.seed)
    if args.wait:
        wait_assigned(args.kubeconfig)
    return 0


if __name__ == "__main__":
    sys.exit(main())

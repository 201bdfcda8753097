"""Synthetic clusters, as `kubectl get ipaddresspools,svc -A -o json` prints them.

One `kind: List` JSON document holding IPAddressPools and full Service objects
(last-applied-configuration, clusterIPs, ports with nodePorts, status), seeded
and deterministic: the same arguments give the same bytes. By default the file
is what kubectl 1.21+ prints (`--show-managed-fields=false`: no
metadata.managedFields); `--managed-fields` adds them, as older kubectl, `-o
json --show-managed-fields` or a raw API list would.

Who wrote the objects shows in their metadata: the pools and half of the
services were applied with `kubectl apply` (client-side), so they carry the
`kubectl.kubernetes.io/last-applied-configuration` annotation (a copy of the
applied manifest); the other half came from Helm (its labels and annotations,
no last-applied copy). MetalLB's controller adds `ip-allocated-from-pool` and
the status.

The services' LoadBalancer addresses always lie in the first /16 of the IPv4
base (10.0.0.0/16) and the first /112 of the IPv6 base (fd00:1b::/112), whatever
the pool sizes, so the same services can be measured against a small pool set
(/16+/112, or 256 pools of /24+/120 that tile it) and a big one (/8+/48): only
the pools change.

Mix of services (shares of all services; every figure is seeded):

* 90 % type LoadBalancer, 10 % ClusterIP;
* of the LoadBalancers, 55 % dual-stack (RequireDualStack / PreferDualStack,
  two clusterIPs), 40 % IPv4 single-stack, 5 % IPv6 single-stack;
* 88 % have status.loadBalancer.ingress (the rest are Pending);
* requests: 30 % `metallb.io/loadBalancerIPs`, 8 % the deprecated
  `metallb.universe.tf/loadBalancerIPs`, 4 % `spec.loadBalancerIP`;
* 6 % are pairs sharing one address with an allow-shared-ip key (a third of
  those with the deprecated key), distinct ports;
* 0.2 % request an address another service holds without a key (a conflict),
  0.1 % request an address outside every pool.

Usage:
    python benchmarks/generate.py --services 10000 --pools 16 [--out PATH]
    python benchmarks/generate.py --all   # every file run.py needs, into the cache dir
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

V4_BASE = int(ipaddress.IPv4Address("10.0.0.0"))
V6_BASE = int(ipaddress.IPv6Address("fd00:1b::"))
SPAN = 1 << 16  # services' addresses: the first /16 (IPv4) and /112 (IPv6)
CLUSTER_V4 = int(ipaddress.IPv4Address("10.96.0.0"))  # 10.96.0.0/12
CLUSTER_V6 = int(ipaddress.IPv6Address("fd00:10:96::"))  # fd00:10:96::/108
OUTSIDE_V4 = int(ipaddress.IPv4Address("203.0.113.0"))

# Pool sets: name -> (IPv4 prefix, IPv6 prefix, how many pools).
# "tiled24" is 256 pools of /24+/120 that together cover the first /16 and /112.
POOL_SETS = {
    "24": (24, 120, 1),
    "16": (16, 112, 1),
    "8": (8, 48, 1),
    "tiled24": (24, 120, 256),
}

NAMESPACES = 200  # services spread over this many namespaces


def cache_dir() -> Path:
    root = os.environ.get("KUBECTL_LBIP_BENCH_DIR")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "kubectl-lbip-bench"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            path = Path(tempfile.gettempdir()) / "kubectl-lbip-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def snapshot_path(services: int, pools: str, seed: int = 1, managed_fields: bool = False) -> Path:
    # The names are those of issue 10's files: without "-nomf" a file has managedFields.
    tail = "" if managed_fields else "-nomf"
    return cache_dir() / f"cluster-{services}svc-pools{pools}-seed{seed}{tail}.json"


# --------------------------------------------------------------------------
# objects


def _uid(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _ts(rng: random.Random) -> str:
    day = rng.randint(1, 28)
    return (
        f"2026-{rng.randint(1, 9):02d}-{day:02d}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
    )


def pool_objects(prefix4: int, prefix6: int, count: int, rng: random.Random) -> List[Dict[str, Any]]:
    pools = []
    for i in range(count):
        first4 = V4_BASE + i * (1 << (32 - prefix4))
        first6 = V6_BASE + i * (1 << (128 - prefix6))
        name = "default" if count == 1 else f"pool-{i:03d}"
        cidrs = [f"{ipaddress.IPv4Address(first4)}/{prefix4}", f"{ipaddress.IPv6Address(first6)}/{prefix6}"]
        pools.append(
            {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "IPAddressPool",
                "metadata": {
                    "annotations": {
                        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                            {
                                "apiVersion": "metallb.io/v1beta1",
                                "kind": "IPAddressPool",
                                "metadata": {"annotations": {}, "name": name, "namespace": "metallb-system"},
                                "spec": {"addresses": cidrs},
                            },
                            separators=(",", ":"),
                        )
                        + "\n"
                    },
                    "creationTimestamp": _ts(rng),
                    "generation": 1,
                    "name": name,
                    "namespace": "metallb-system",
                    "resourceVersion": str(1000 + i),
                    "uid": _uid(rng),
                },
                "spec": {"addresses": cidrs, "autoAssign": True, "avoidBuggyIPs": False},
                "status": {
                    "assignedIPv4": 0,
                    "assignedIPv6": 0,
                    "availableIPv4": 1 << (32 - prefix4),
                    "availableIPv6": 1 << min(63, 128 - prefix6),
                },
            }
        )
    return pools


def _fields_v1_spec(
    ports: List[Dict[str, Any]], dual: bool, annotations: Dict[str, str], labels: Dict[str, str]
) -> Dict[str, Any]:
    meta = {
        "f:annotations": {".": {}, **{f"f:{k}": {} for k in annotations}},
        "f:labels": {".": {}, **{f"f:{k}": {} for k in labels}},
    }
    spec: Dict[str, Any] = {
        "f:allocateLoadBalancerNodePorts": {},
        "f:externalTrafficPolicy": {},
        "f:internalTrafficPolicy": {},
        "f:ipFamilyPolicy": {},
        "f:ports": {
            ".": {},
            **{
                f'k:{{"port":{p["port"]},"protocol":"{p["protocol"]}"}}': {
                    ".": {},
                    "f:name": {},
                    "f:port": {},
                    "f:protocol": {},
                    "f:targetPort": {},
                }
                for p in ports
            },
        },
        "f:selector": {},
        "f:sessionAffinity": {},
        "f:type": {},
    }
    if dual:
        spec["f:ipFamilies"] = {}
    return {"f:metadata": meta, "f:spec": spec}


def service_object(i: int, rng: random.Random, plan: Dict[str, Any]) -> Dict[str, Any]:
    ns = f"team-{i % NAMESPACES:03d}"
    name = f"svc-{i:06d}"
    app = f"app-{i % 997}"
    lb = plan["lb"]
    family = plan["family"]
    ports = [
        {"name": "http" if n == 0 else f"p{n}", "port": port, "protocol": proto, "targetPort": 8080 + n}
        for n, (proto, port) in enumerate(plan["ports"])
    ]
    if lb:
        for n, p in enumerate(ports):
            p["nodePort"] = 30000 + (i * 3 + n) % 2768
    annotations: Dict[str, str] = dict(plan["annotations"])
    spec: Dict[str, Any] = {
        "clusterIP": "",
        "clusterIPs": [],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": [],
        "ipFamilyPolicy": "SingleStack",
        "ports": ports,
        "selector": {"app.kubernetes.io/name": app},
        "sessionAffinity": "None",
        "type": "LoadBalancer" if lb else "ClusterIP",
    }
    c4 = str(ipaddress.IPv4Address(CLUSTER_V4 + 10 + i))
    c6 = str(ipaddress.IPv6Address(CLUSTER_V6 + 10 + i))
    if family == "dual":
        spec["clusterIPs"] = [c4, c6]
        spec["ipFamilies"] = ["IPv4", "IPv6"]
        spec["ipFamilyPolicy"] = plan["policy"]
    elif family == "ipv6":
        spec["clusterIPs"] = [c6]
        spec["ipFamilies"] = ["IPv6"]
    else:
        spec["clusterIPs"] = [c4]
        spec["ipFamilies"] = ["IPv4"]
    spec["clusterIP"] = spec["clusterIPs"][0]
    if lb:
        spec["allocateLoadBalancerNodePorts"] = True
        spec["externalTrafficPolicy"] = plan["etp"]
    if plan.get("spec_ip"):
        spec["loadBalancerIP"] = plan["spec_ip"]
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": f"product-{i % 37}"}
    applied = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"annotations": annotations, "labels": labels, "name": name, "namespace": ns},
        "spec": {
            k: v
            for k, v in spec.items()
            if k
            in ("ports", "selector", "type", "externalTrafficPolicy", "loadBalancerIP", "ipFamilyPolicy", "ipFamilies")
        },
    }
    all_annotations = dict(annotations)
    helm = i % 2 == 1  # half applied by kubectl (last-applied-configuration), half by Helm
    if helm:
        labels["app.kubernetes.io/managed-by"] = "Helm"
        all_annotations["meta.helm.sh/release-name"] = f"release-{i % 37}"
        all_annotations["meta.helm.sh/release-namespace"] = ns
    else:
        all_annotations["kubectl.kubernetes.io/last-applied-configuration"] = (
            json.dumps(applied, separators=(",", ":")) + "\n"
        )
    created = _ts(rng)
    managed = [
        {
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": _fields_v1_spec(ports, family == "dual", all_annotations, labels),
            "manager": "helm" if helm else "kubectl-client-side-apply",
            "operation": "Update",
            "time": created,
        }
    ]
    status: Dict[str, Any] = {"loadBalancer": {}}
    if lb and plan["ingress"]:
        status["loadBalancer"]["ingress"] = [{"ip": ip, "ipMode": "VIP"} for ip in plan["ingress"]]
        managed.append(
            {
                "apiVersion": "v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {"f:loadBalancer": {"f:ingress": {}}}},
                "manager": "metallb-controller",
                "operation": "Update",
                "subresource": "status",
                "time": created,
            }
        )
        all_annotations["metallb.io/ip-allocated-from-pool"] = plan["pool"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "annotations": all_annotations,
            "creationTimestamp": created,
            "labels": labels,
            "managedFields": managed,
            "name": name,
            "namespace": ns,
            "resourceVersion": str(5000 + i),
            "uid": _uid(rng),
        },
        "spec": spec,
        "status": status,
    }


def plans(n: int, rng: random.Random, pool_name) -> Iterator[Dict[str, Any]]:
    """What each service is: type, family, addresses, annotations, ports."""
    offsets = rng.sample(range(1, SPAN - 1), min(n, SPAN - 2))  # distinct addresses in the /16
    held: List[Tuple[str, str]] = []  # (v4, v6) of earlier services, for conflicts
    pending_share = None
    k = 0
    for i in range(n):
        r = rng.random()
        plan: Dict[str, Any] = {
            "lb": r < 0.90,
            "annotations": {},
            "ingress": [],
            "ports": [("TCP", 80)],
            "etp": "Cluster",
            "policy": "RequireDualStack",
        }
        f = rng.random()
        plan["family"] = "dual" if f < 0.55 else ("ipv4" if f < 0.95 else "ipv6")
        if plan["family"] == "dual" and rng.random() < 0.3:
            plan["policy"] = "PreferDualStack"
        if rng.random() < 0.4:
            plan["ports"].append(("TCP", 443))
        if rng.random() < 0.1:
            plan["etp"] = "Local"
        if not plan["lb"]:
            yield plan
            continue
        off = offsets[k % len(offsets)]
        k += 1
        v4 = str(ipaddress.IPv4Address(V4_BASE + off))
        v6 = str(ipaddress.IPv6Address(V6_BASE + off))
        mine = {"dual": [v4, v6], "ipv4": [v4], "ipv6": [v6]}[plan["family"]]
        ann = plan["annotations"]
        s = rng.random()
        if pending_share is not None and pending_share[0] == plan["family"]:
            # second service of a sharing pair: same addresses, same key, other ports
            family, addrs, key, deprecated = pending_share
            pending_share = None
            mine = list(addrs)
            ann[("metallb.universe.tf/" if deprecated else "metallb.io/") + "allow-shared-ip"] = key
            ann["metallb.io/loadBalancerIPs"] = ",".join(mine)
            plan["ports"] = [("UDP", 53), ("TCP", 53)] if rng.random() < 0.5 else [("TCP", 8443)]
        elif s < 0.03:
            key = f"share-{i}"
            deprecated = rng.random() < 1 / 3
            ann[("metallb.universe.tf/" if deprecated else "metallb.io/") + "allow-shared-ip"] = key
            ann["metallb.io/loadBalancerIPs"] = ",".join(mine)
            pending_share = (plan["family"], list(mine), key, deprecated)
        elif s < 0.032 and held:
            # conflict: asks for an address an earlier service holds, no sharing key
            other = held[rng.randrange(len(held))]
            mine = [other[0]] if plan["family"] == "ipv4" else ([other[1]] if plan["family"] == "ipv6" else list(other))
            ann["metallb.io/loadBalancerIPs"] = ",".join(mine)
            plan["ingress"] = []
            plan["pool"] = pool_name(off)
            yield plan
            continue
        elif s < 0.033:
            # outside every pool
            out4 = str(ipaddress.IPv4Address(OUTSIDE_V4 + (i % 250) + 1))
            ann["metallb.io/loadBalancerIPs"] = out4
            plan["family"] = "ipv4"
            plan["pool"] = pool_name(off)
            yield plan
            continue
        elif s < 0.333:
            ann["metallb.io/loadBalancerIPs"] = ",".join(mine)
        elif s < 0.413:
            ann["metallb.universe.tf/loadBalancerIPs"] = ",".join(mine)
            if rng.random() < 0.5:
                ann["metallb.universe.tf/address-pool"] = pool_name(off)
        elif s < 0.453 and plan["family"] != "dual":
            plan["spec_ip"] = mine[0]
        if rng.random() < 0.88:
            plan["ingress"] = mine
        plan["pool"] = pool_name(off)
        held.append((v4, v6))
        yield plan


def generate(services: int, pools: str = "16", seed: int = 1, managed_fields: bool = False) -> Dict[str, Any]:
    """The List; without managed_fields, as kubectl (1.21+) prints by default
    (--show-managed-fields=false)."""
    prefix4, prefix6, count = POOL_SETS[pools]
    rng = random.Random(seed)
    pool_rng = random.Random(seed + 1000)
    pool_objs = pool_objects(prefix4, prefix6, count, pool_rng)
    if count == 1:

        def pool_name(off: int) -> str:
            return "default"
    else:

        def pool_name(off: int) -> str:
            return f"pool-{off >> (32 - prefix4):03d}"

    items: List[Dict[str, Any]] = list(pool_objs)
    for i, plan in enumerate(plans(services, rng, pool_name)):
        obj = service_object(i, rng, plan)
        if not managed_fields:
            del obj["metadata"]["managedFields"]
        items.append(obj)
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def write(
    services: int,
    pools: str = "16",
    seed: int = 1,
    out: Path = None,
    force: bool = False,
    managed_fields: bool = False,
    as_yaml: bool = False,
) -> Path:
    path = Path(out) if out else snapshot_path(services, pools, seed, managed_fields)
    if as_yaml and not out:
        path = path.with_suffix(".yaml")
    if path.exists() and not force:
        return path
    data = generate(services, pools, seed, managed_fields)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        if as_yaml:
            write_yaml_list(data, fh)
        else:
            json.dump(data, fh, indent=4)  # kubectl -o json indents by 4
            fh.write("\n")
    os.replace(tmp, path)
    return path


def write_yaml_list(data: Dict[str, Any], fh) -> None:
    """The List as `kubectl get -o yaml` prints it (block style, items first),
    an item at a time (libyaml's emitter where PyYAML has it)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    fh.write("apiVersion: v1\nitems:\n")
    for item in data["items"]:
        fh.write(yaml.dump([item], Dumper=dumper, default_flow_style=False, sort_keys=True, width=1 << 30))
    fh.write('kind: List\nmetadata:\n  resourceVersion: ""\n')


# The files run.py uses (services, pool set), as kubectl prints them today.
STANDARD = [
    (1000, "16"),
    (10000, "16"),
    (50000, "16"),
    (10000, "8"),
    (50000, "8"),
    (10000, "tiled24"),
    (50000, "tiled24"),
]
# With managedFields too: the second row of the who-has/jq comparison and of peak memory.
STANDARD_MF = [(10000, "16"), (50000, "16")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument(
        "--pools",
        choices=sorted(POOL_SETS),
        default="16",
        help="pool set: 24 (/24+/120), 16 (/16+/112), 8 (/8+/48), "
        "tiled24 (256 pools of /24+/120 covering the first /16 and /112)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="output file (default: in the cache dir)")
    ap.add_argument("--all", action="store_true", help="write every standard file run.py uses")
    ap.add_argument("--force", action="store_true", help="rewrite files that exist")
    ap.add_argument(
        "--managed-fields",
        dest="managed_fields",
        action="store_true",
        help="add metadata.managedFields (kubectl get -o json leaves them out since 1.21)",
    )
    ap.add_argument(
        "--no-managed-fields",
        dest="managed_fields",
        action="store_false",
        help="no metadata.managedFields (the default, as kubectl get -o json prints)",
    )
    ap.add_argument("--yaml", action="store_true", help="one YAML List, as kubectl get -o yaml prints it (.yaml)")
    args = ap.parse_args(argv)
    if args.all:
        for n, pools in STANDARD:
            print(write(n, pools, args.seed, force=args.force))
        for n, pools in STANDARD_MF:
            print(write(n, pools, args.seed, force=args.force, managed_fields=True))
        return 0
    print(
        write(
            args.services,
            args.pools,
            args.seed,
            args.out,
            force=args.force or bool(args.out),
            managed_fields=args.managed_fields,
            as_yaml=args.yaml,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

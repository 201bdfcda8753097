"""Plain-data builders: objects as `kubectl get -o json` prints them, so tests read
like manifests and the model is exercised through its real entry points."""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence

from kubectl_lbip.snapshot import Snapshot
from kubectl_lbip.snapshot.trim import classify


def pool(
    name: str,
    *addresses: str,
    auto_assign: Optional[bool] = None,
    avoid_buggy: bool = False,
    allocation: Optional[dict] = None,
    namespace: str = "metallb-system",
) -> dict:
    spec: Dict = {"addresses": list(addresses)}
    if auto_assign is not None:
        spec["autoAssign"] = auto_assign
    if avoid_buggy:
        spec["avoidBuggyIPs"] = True
    if allocation is not None:
        spec["serviceAllocation"] = allocation
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def svc(
    namespace: str,
    name: str,
    *,
    cluster_ips: Sequence[str] = ("10.96.0.10",),
    policy: Optional[str] = None,
    annotations: Optional[dict] = None,
    ingress: Iterable[str] = (),
    lb_ip: Optional[str] = None,
    ports: Sequence[str] = ("TCP/80",),
    labels: Optional[dict] = None,
    selector: Optional[dict] = None,
    local: bool = False,
    type: str = "LoadBalancer",
    rv: str = "100",
    ip_families: Optional[List[str]] = None,
) -> dict:
    spec: Dict = {
        "type": type,
        "ports": [{"protocol": p.split("/")[0], "port": int(p.split("/")[1])} for p in ports],
        "selector": selector or {"app": name},
    }
    if cluster_ips:
        spec["clusterIP"] = cluster_ips[0]
        spec["clusterIPs"] = list(cluster_ips)
    if policy:
        spec["ipFamilyPolicy"] = policy
    elif len(cluster_ips) == 2:
        spec["ipFamilyPolicy"] = "RequireDualStack"
    if ip_families is not None:
        spec["ipFamilies"] = ip_families
    if lb_ip:
        spec["loadBalancerIP"] = lb_ip
    if local:
        spec["externalTrafficPolicy"] = "Local"
    meta: Dict = {"name": name, "namespace": namespace, "resourceVersion": rv}
    if annotations:
        meta["annotations"] = dict(annotations)
    if labels:
        meta["labels"] = dict(labels)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ingress]}},
    }


DUAL_IPS = ("10.96.0.10", "fd00:96::10")


def dual(namespace: str, name: str, **kw) -> dict:
    return svc(namespace, name, cluster_ips=DUAL_IPS, **kw)


def namespace(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def snapshot(*objects: dict) -> Snapshot:
    return classify(objects, Snapshot(source="test"))


def cluster(*objects: dict):
    return snapshot(*objects).to_cluster()


def lbips(value: str) -> dict:
    return {"metallb.io/loadBalancerIPs": value}


def live_cluster(*objects: dict, failures: Optional[Dict[str, str]] = None):
    """A cluster as read from a live API server: statuses are MetalLB's record."""
    snap = classify(objects, Snapshot(source="test", live=True))
    snap.allocation_failures = dict(failures or {})
    return snap.to_cluster()


def watch_line(time, ns, name, change, before=None, after=None, pool="default", reason=None, kind="Service") -> dict:
    """One line of `who-has -w -o json` (the watch's line format), as history reads it."""
    return {
        "time": time,
        "kind": kind,
        "namespace": ns,
        "name": name,
        "change": change,
        "from": before,
        "to": after,
        "pool": pool,
        "reason": reason,
        "resourceVersion": "1",
    }

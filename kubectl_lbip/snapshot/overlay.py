"""--against-cluster: manifests laid over the live cluster, as `kubectl apply -f`
would leave it.

A pure merge of two sets of plain-data objects: the cluster's (the base) and the
files' (on top). An object in the files replaces the cluster's object of the same
kind, namespace and name; the others are added. Each merged object remembers
where it came from, so findings can say "from k8s/shop.yaml" or "from the
cluster". Nothing here reads a file or talks to a cluster."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..model.cluster import CLUSTER, FILES, Origin
from . import Snapshot
from .shape import MODELS, SERVICE, role_of

# (apiVersion group, kind, namespace, name): what makes two objects the same object
# to the API server. The version is not part of it (v1beta1 and v1beta2 of a pool
# are one object).
Key = Tuple[str, str, str, str]


def object_key(obj: Dict[str, Any], default_namespace: str = "default") -> Key:
    """The identity of an object; a namespaced object without a namespace lands in
    ``default_namespace``, as `kubectl apply -f` puts it in the context's namespace."""
    api = str(obj.get("apiVersion") or "")
    group = api.rpartition("/")[0] if "/" in api else ""
    kind = str(obj.get("kind") or "")
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    if kind == "Namespace":
        return group, kind, "", name
    return group, kind, str(meta.get("namespace") or default_namespace), name


def with_namespace(obj: Dict[str, Any], namespace: str) -> Dict[str, Any]:
    """A shallow copy that states the namespace the object will land in."""
    if obj.get("kind") == "Namespace" or (obj.get("metadata") or {}).get("namespace"):
        return obj
    return {**obj, "metadata": {**(obj.get("metadata") or {}), "namespace": namespace}}


def overlay(
    cluster: Iterable[Dict[str, Any]], files: Iterable[Tuple[str, Dict[str, Any]]], default_namespace: str = "default"
) -> List[Tuple[Dict[str, Any], Origin]]:
    """The cluster's objects with the files' laid over them, each with its origin:
    the cluster's objects that no file replaces (in the cluster's order), then the
    files' objects (in input order; a later file's copy of an object wins, as a
    second `kubectl apply` would).

    ``files`` gives (file name, object). A manifest's status is not applied (the API
    server keeps the live one: `kubectl apply` never writes status), so a Service
    from a file that shows no address keeps the live Service's status while it still
    stands (see ``_carried_status``)."""
    base: Dict[Key, Dict[str, Any]] = {}
    order: List[Key] = []
    for obj in cluster:
        key = object_key(obj)
        if key not in base:
            order.append(key)
        base[key] = obj
    top: Dict[Key, Tuple[Dict[str, Any], Origin]] = {}
    for name, obj in files:
        obj = with_namespace(obj, default_namespace)
        key = object_key(obj)
        live = base.get(key)
        if live is not None and not _ingress(obj) and _ingress(live):
            status = _carried_status(live, obj)
            if status is not None:
                obj = {**obj, "status": status}
        top.pop(key, None)  # the later copy takes the later place
        top[key] = (obj, Origin(FILES, name))
    merged = [(base[k], Origin(CLUSTER)) for k in order if k not in top]
    merged += list(top.values())
    return merged


def _ingress(obj: Dict[str, Any]) -> list:
    """The addresses a status shows (a manifest has none; a trimmed one has an empty list)."""
    status = obj.get("status")
    lb = status.get("loadBalancer") if isinstance(status, dict) else None
    ingress = lb.get("ingress") if isinstance(lb, dict) else None
    return ingress if isinstance(ingress, list) else []


def _carried_status(live: Dict[str, Any], new: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The live status the object keeps after apply. For a Service, what it holds
    stays only while MetalLB has no reason to move it: it is still a LoadBalancer
    of no other class, and it requests nothing or requests what it holds (a new
    request makes MetalLB release the old address and allocate again)."""
    if role_of(new) != SERVICE:
        return live.get("status")
    model = MODELS[SERVICE]
    before, after = model.from_object(live, False), model.from_object(new, False)
    if not after.is_load_balancer:
        return None
    request = after.request
    if request is None:
        return live.get("status")
    held = {str(a) for a in before.held()}
    if request.invalid or not held <= {str(a) for a in request.addresses}:
        return None
    return live.get("status")


def overlay_snapshot(
    live: Snapshot, files: Iterable[Tuple[str, Dict[str, Any]]], default_namespace: str, keep_objects: bool = True
) -> Snapshot:
    """A Snapshot of the merged objects, live (its rules are the cluster's) with the
    files' services marked as planned (not applied yet), and each object's origin."""
    from .trim import classify

    base: List[Dict[str, Any]] = list(live.pools) + list(live.services) + list(live.namespaces)
    if live.legacy_configmap is not None:
        base.append(live.legacy_configmap)
    merged = overlay(base, files, default_namespace)
    snap = Snapshot(
        source=f"{live.source} with manifests laid over it",
        live=True,
        keep_objects=keep_objects,
        allocation_failures=dict(live.allocation_failures),
    )
    snap.metallb = live.metallb  # the cluster's MetalLB release
    # past allocation: the cluster's advertisements, nodes, ... (files add none of them)
    snap.network_objects, snap.network_present = live.network_objects, live.network_present
    snap.network_notes = list(live.network_notes)
    # Cilium's objects as the cluster has them (no command lays files' ones over them yet)
    snap.cilium_objects, snap.cilium_present = live.cilium_objects, live.cilium_present
    snap.cilium_operator = live.cilium_operator
    snap.cilium_notes = list(live.cilium_notes)
    snap.cilium_config = dict(live.cilium_config)
    classify((obj for obj, _ in merged), snap)
    originals = {object_key(with_namespace(obj, default_namespace)): obj for _, obj in files}
    for obj, origin in merged:
        key = object_key(obj)
        _, kind, namespace, name = key
        snap.origins[(kind, namespace, name)] = origin
        if origin.source == FILES:
            snap.manifests[(kind, namespace, name)] = originals[key]
        if origin.source == FILES and role_of(obj) == SERVICE:
            snap.planned.add(f"{namespace}/{name}")
    return snap

"""What a snapshot keeps of each checked object, the last step of reading -f (after
files.py's text, documents.py's documents and shape.py's checks), and of each live
page: only the fields the model reads (each kind's table, model/schema.py), so that
memory follows what is kept, not what was sent or written; or the objects whole,
for the commands that print them back."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..model import schema
from . import Snapshot
from .documents import AGAIN
from .shape import CILIUM_VERSIONS, LEGACY, MODELS, NAMESPACE, POOL, SERVICE, network_kind, role_of


def trim_service(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Only what the model reads (the fields of model.services.Service); everything
    else of a Service is dropped."""
    return schema.trim(MODELS[SERVICE], obj, apiVersion="v1", kind="Service")


def trim_pool(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Only what the model reads (the fields of model.pools.Pool)."""
    return schema.trim(MODELS[POOL], obj, apiVersion=obj.get("apiVersion", "metallb.io/v1beta1"), kind="IPAddressPool")


def trim_namespace(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Only what the model reads (the fields of model.pools.Namespace)."""
    return schema.trim(MODELS[NAMESPACE], obj, kind="Namespace")


def trim_own_kind(obj: Dict[str, Any]) -> Dict[str, Any]:
    """An object whose role is its kind, one of Cilium's LB-IPAM kinds or a kind read
    past allocation: only what its table reads (model.cilium.CiliumPool,
    model.cilium_explain.L2Policy, model/announce.py's; Nodes and EndpointSlices are
    large). An object of no such kind is kept as it is."""
    kind = obj.get("kind")
    if not isinstance(kind, str) or (kind not in CILIUM_VERSIONS and network_kind(obj) is None):
        return obj
    return schema.trim(MODELS[kind], obj, apiVersion=obj.get("apiVersion"), kind=kind)


Location = Tuple[str, int, int]


def location_key(obj: Dict[str, Any]) -> Tuple[str, str, str]:
    """(kind, namespace as written, name) of an object, as Snapshot.location looks it up."""
    meta = obj.get("metadata") or {}
    return str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or "")


class _Kept:
    """The objects of one source by kind, added to the snapshot when it is read to
    its end (a stream read again whole starts a new one)."""

    def __init__(self, trimmed: bool) -> None:
        self.trimmed = trimmed
        self.services: List[Dict[str, Any]] = []  # trimmed (or whole) objects
        self.models: List[Any] = []  # Services modelled as they were checked
        self.pools: List[Dict[str, Any]] = []
        self.namespaces: List[Dict[str, Any]] = []
        self.legacy: Optional[Dict[str, Any]] = None
        self.legacy_where: Optional[str] = None
        self.network: Dict[str, List[Dict[str, Any]]] = {}
        self.cilium: Dict[str, List[Dict[str, Any]]] = {}
        self.locations: Dict[Tuple[str, str, str], Location] = {}

    def add(self, role: str, value: Any) -> None:
        trimmed = self.trimmed
        if role == SERVICE:  # an object (a model is kept by keep)
            self.services.append(trim_service(value) if trimmed else value)
        elif role == POOL:
            self.pools.append(trim_pool(value) if trimmed else value)
        elif role == NAMESPACE:
            self.namespaces.append(trim_namespace(value) if trimmed else value)
        elif role == LEGACY:
            self.legacy = value
        elif role in CILIUM_VERSIONS:
            self.cilium.setdefault(role, []).append(trim_own_kind(value) if trimmed else value)
        else:  # a kind read past allocation
            self.network.setdefault(role, []).append(trim_own_kind(value) if trimmed else value)

    def into(self, snapshot: Snapshot) -> None:
        snapshot.pools.extend(self.pools)
        snapshot.models.extend(self.models)
        snapshot.services.extend(self.services)
        snapshot.namespaces.extend(self.namespaces)
        if self.legacy is not None:
            snapshot.legacy_configmap, snapshot.legacy_where = self.legacy, self.legacy_where
        for role, objects in self.network.items():
            snapshot.network_objects.setdefault(role, []).extend(objects)
        for role, objects in self.cilium.items():
            snapshot.cilium_objects.setdefault(role, []).extend(objects)
        snapshot.locations.update(self.locations)


def keep(checked: Iterable[Any], snapshot: Snapshot, trimmed: bool = True, located: Optional[str] = None) -> Snapshot:
    """The checked objects of one source (shape.checked) into the snapshot, by kind:
    trimmed to what the model reads (``trimmed``), Services modelled already kept as
    models, the others whole; kinds no command reads are dropped. ``located``, the
    source's name, records where each object starts (Snapshot.locations)."""
    kept = _Kept(trimmed)
    for item in checked:
        if item is AGAIN:  # the source is given again, whole
            kept = _Kept(trimmed)
            continue
        role, value, obj, (line, column), where = item
        if role is None:
            continue
        if located is not None:
            kept.locations[location_key(obj)] = (located, line, column)
        if role == SERVICE and type(value) is not dict:  # the usual one: a Service modelled as it was checked
            kept.models.append(value)
            continue
        kept.add(role, value)
        if role == LEGACY:  # its inner YAML is read with the model: its errors name where it was
            kept.legacy_where = where
    kept.into(snapshot)
    return snapshot


def classify(objects: Iterable[Dict[str, Any]], snapshot: Snapshot) -> Snapshot:
    """Objects already checked, whole, into the snapshot by kind; other kinds are ignored."""
    return keep(((role_of(obj), obj, obj, (1, 1), None) for obj in objects), snapshot, trimmed=False)

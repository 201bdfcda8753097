"""The kinds read past allocation (advertisements, nodes, endpoint slices, service
CIDRs, MetalLB's ConfigurationStates and speaker statuses): which objects they are,
their shape checked at the door (one line naming where, the object and the
field), trimmed to what the model reads, and turned into model.announce.Network."""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Type

from ..errors import LbipError, UsageError
from ..model import announce as an
from ..model import schema
from ..model.selectors import Selector, SelectorError
from . import shape

# Which objects they are and their schemas are the checked step's (snapshot/shape.py).
API_OF, kind_of = shape.NETWORK_API, shape.network_kind

SERVICE_NAME_LABEL = an.SERVICE_NAME_LABEL  # an EndpointSlice's service


# --- shape -------------------------------------------------------------------
class _Shape:
    def __init__(self, obj: Dict[str, Any], kind: str, where: Any, error: Type[LbipError] = UsageError):
        self.error = error
        meta = obj.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise error(f"{where}: {kind}: field metadata must be a mapping")
        meta = meta or {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise error(f"{where}: {kind}: field metadata.name must be a non-empty string")
        ns = meta.get("namespace")
        self.where, self.what = where, f"{kind} {ns + '/' if isinstance(ns, str) and ns else ''}{name}"
        self.obj = obj
        for key in ("labels", "annotations"):
            labels = meta.get(key)
            if labels is not None and not (
                isinstance(labels, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
            ):
                self.fail(f"metadata.{key}", "must map strings to strings")

    def fail(self, path: str, what: str) -> None:
        raise self.error(f"{self.where}: {self.what}: field {path} {what}")

    def get(self, path: str) -> Any:
        value: Any = self.obj
        for part in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def mappings(self, path: str) -> List[Dict[str, Any]]:
        value = self.get(path)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(path, "must be a list of mappings")
        return value

    def selectors(self, path: str) -> List[Selector]:
        out = []
        for i, item in enumerate(self.mappings(path)):
            try:
                out.append(Selector.from_object(item))
            except (SelectorError, AttributeError, TypeError) as exc:
                self.fail(f"{path}[{i}]", f"is not a label selector: {exc}")
        return out


def validate(kind: str, obj: Dict[str, Any], where: Any, error: Type[LbipError] = UsageError) -> None:
    """What a schema cannot say of an object whose types are checked (a name, valid
    selector operators, addresses): ``error`` naming where, the object and the field.
    The model is built from the kind's table (snapshot.MODELS: model/announce.py)."""
    s = _Shape(obj, kind, where, error)
    if kind in (an.L2ADV, an.BGPADV):  # valid selectors
        for path in ("spec.ipAddressPoolSelectors", "spec.nodeSelectors", "spec.serviceSelectors"):
            s.selectors(path)
    elif kind == an.NODE:  # each address has both fields
        for i, entry in enumerate(s.mappings("status.addresses")):
            if not isinstance(entry.get("type"), str) or not isinstance(entry.get("address"), str):
                s.fail(f"status.addresses[{i}]", "must have string type and address")
    elif kind in (an.L2STATUS, an.BGPSTATUS):  # an interface's name, if given, is not null
        for i, entry in enumerate(s.mappings("status.interfaces")):
            if not isinstance(entry.get("name", ""), str):
                s.fail(f"status.interfaces[{i}].name", "must be a string")
    # EndpointSlice, ServiceCIDR, ConfigurationState: their tables say it all


# --- trimming ----------------------------------------------------------------
def trim(obj: Dict[str, Any]) -> Dict[str, Any]:
    """What the model reads of a network object (Nodes and EndpointSlices are large)."""
    kind = kind_of(obj)
    from . import MODELS

    if kind is None:
        return obj
    return schema.trim(MODELS[kind], obj, apiVersion=obj.get("apiVersion"), kind=kind)  # what the table keeps


# --- the model ---------------------------------------------------------------
def build(
    objects: Mapping[str, List[Dict[str, Any]]],
    present: Iterable[str],
    pools: List[Dict[str, Any]],
    services: Iterable[Any],
    where: Any = "",
) -> an.Network:
    """A Network from objects by kind; ``present`` names the kinds that were read
    (a live kind the API serves, even with no objects; a kind a file had). ``where``
    (a Snapshot's source) is made text only when a message names it."""
    present = set(present)
    net = an.Network(absent=frozenset(k for k in an.KINDS if k not in present))
    net.pool_labels = {
        str((p.get("metadata") or {}).get("name") or ""): dict((p.get("metadata") or {}).get("labels") or {})
        for p in pools
    }
    local = {s.key for s in services if s.is_load_balancer and s.external_traffic_policy == "Local"}
    from . import MODELS

    for kind in an.KINDS:
        model = MODELS[kind]  # the kind's table (model/announce.py)
        for obj in objects.get(kind) or ():
            validate(kind, obj, where or "input")
            value = schema.build(model, obj)
            if kind in (an.L2ADV, an.BGPADV):
                net.advertisements.append(value)
            elif kind == an.NODE:
                net.nodes.append(value)
            elif kind == an.ENDPOINTSLICE:
                key = value.service_key
                if key in local:
                    net.ready_nodes[key] = net.ready_nodes.get(key, frozenset()) | value.ready_nodes
            elif kind == an.SERVICECIDR:
                net.service_cidrs.append(value)
            elif kind == an.CONFIGSTATE:
                net.config_states.append(value)
            else:
                net.speaker_statuses.append(value)
    net.advertisements.sort(key=lambda a: (a.kind, a.namespace, a.name))
    return net


def present_in(objects: Mapping[str, List[Any]]) -> FrozenSet[str]:
    """From files: a kind is known when at least one of its objects is there."""
    return frozenset(k for k, v in objects.items() if v)

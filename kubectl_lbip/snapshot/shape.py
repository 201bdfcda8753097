"""The third step of reading -f (after files.py's text and documents.py's
documents), and the door of every object read live: the shape of every object the
model reads, checked at the boundary.

Files, stdin and API answers are checked here before the model sees them: a
wrong type is one error naming where the object came from (a file and document,
or an API path and item), the object, and the field. Only the fields the model
reads are described; others are not looked at. ``null`` is accepted for a field, as
the API server treats it as absent, but not as an item of a list. Strings are not accepted where MetalLB's CRD
wants a boolean or a list (the API server refuses them too): ``avoidBuggyIPs:
"false"`` is an error, not True, and ``namespaces: team-a`` is an error, not a
list of letters."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Type

from ..errors import InputError, LbipError, UsageError
from ..model import announce as an
from ..model.cilium import CiliumPool
from ..model.cilium_explain import L2Policy
from ..model.events import Event
from ..model.legacy import LegacyConfig, LegacyConfigMap
from ..model.pools import Namespace, Pool
from ..model.schema import ANY, BOOL, INT, SCALAR, STR, builder, shape_of
from ..model.selectors import Selector, SelectorError
from ..model.services import Service
from .documents import AGAIN, Document

# The vocabulary of schemas is the model's (model/schema.py); every schema checked
# here is a model class's, derived from its fields (shape_of): none is written here.
Schema = Any

MAX_DEPTH = 100  # nesting deeper than this in any object is refused (see check_depth)


# What an object is to the plugin (role_of): a Service, a MetalLB pool, ...
POOL, SERVICE, NAMESPACE, LEGACY = "pool", "service", "namespace", "legacy-configmap"
# Not an object but the YAML text of the legacy ConfigMap's data.config, read with
# the model (snapshot.legacy_config): a table all the same.
LEGACY_DATA = "legacy-configmap data.config"
# Cilium's LB-IPAM kinds (model/cilium.py and model/cilium_explain.py read them).
CILIUM_POOL, CILIUM_L2_POLICY = "CiliumLoadBalancerIPPool", "CiliumL2AnnouncementPolicy"
CILIUM_VERSIONS = {CILIUM_POOL: ("cilium.io/v2", "cilium.io/v2alpha1"), CILIUM_L2_POLICY: ("cilium.io/v2alpha1",)}
EVENT_KIND = "Event"  # read from the API only (snapshot/live.py), never from files
# The model class of each kind that has one. Its fields are the kind's table
# (model/schema.py): the shape check, the trim and the model's constructor of that
# kind all derive from it, for files, live pages and the overlay alike.
MODELS: Dict[str, Any] = {
    SERVICE: Service,
    POOL: Pool,
    NAMESPACE: Namespace,
    **an.ADVERTISEMENTS,
    an.NODE: an.Node,
    an.ENDPOINTSLICE: an.EndpointSlice,
    an.SERVICECIDR: an.ServiceCIDR,
    an.CONFIGSTATE: an.ConfigState,
    an.L2STATUS: an.SpeakerStatus,  # both speaker status kinds: one table
    an.BGPSTATUS: an.SpeakerStatus,
    CILIUM_POOL: CiliumPool,
    CILIUM_L2_POLICY: L2Policy,
    EVENT_KIND: Event,
    LEGACY: LegacyConfigMap,  # kept whole (snapshot/trim.py): its table is its shape check
    LEGACY_DATA: LegacyConfig,
}

# The kinds read past allocation (snapshot/network.py turns them into the model):
# kind -> the apiVersion prefix it must carry ("v1" exactly for the core group).
# Their shapes derive from the fields of their model classes (MODELS); validate,
# below, adds what a schema cannot say (a name, valid selector operators).
NETWORK_API = {
    an.L2ADV: "metallb.io/",
    an.BGPADV: "metallb.io/",
    an.CONFIGSTATE: "metallb.io/",
    an.L2STATUS: "metallb.io/",
    an.BGPSTATUS: "metallb.io/",
    an.NODE: "v1",
    an.ENDPOINTSLICE: "discovery.k8s.io/",
    an.SERVICECIDR: "networking.k8s.io/",
}


def network_kind(obj: Any) -> Optional[str]:
    """The kind read past allocation that an object is, or None."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    api = NETWORK_API.get(kind) if isinstance(kind, str) else None
    if api is None:
        return None
    version = str(obj.get("apiVersion") or "")
    if api == "v1":
        return kind if version in ("v1", "") else None
    return kind if version.startswith(api) else None


_TYPES: Dict[str, Tuple[type, ...]] = {STR: (str,), INT: (int,), BOOL: (bool,), SCALAR: (str, int, float, bool)}
_NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def type_name(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


def describe(obj: Any) -> str:
    """`Service shop/web`, as far as the object tells."""
    if not isinstance(obj, dict):
        return "object"
    kind = obj["kind"] if isinstance(obj.get("kind"), str) else "object"
    meta: Dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    name, ns = meta.get("name"), meta.get("namespace")
    if not isinstance(name, str):
        return kind
    return f"{kind} {ns}/{name}" if isinstance(ns, str) and ns else f"{kind} {name}"


def check(obj: Any, schema: Schema, where: str, error: Type[LbipError] = InputError, what: Optional[str] = None) -> Any:
    """``obj`` when it has the shape; else ``error`` naming where, the object and the field."""
    problem = _problem(obj, schema, "")
    if problem is not None:
        field, message = problem
        at = f" field {field}:" if field else ""
        raise error(f"{where}: {what or describe(obj)}:{at} {message}")
    return obj


def _problem(value: Any, schema: Schema, path: str) -> Optional[Tuple[str, str]]:
    if value is None or schema == ANY:
        return None
    if isinstance(schema, str):
        types = _TYPES[schema]
        if isinstance(value, types) and not (schema == INT and isinstance(value, bool)):
            return None
        return path, f"expected {_article(schema)}, got {type_name(value)} {_short(value)}"
    kind, inner = schema
    if kind == "list":
        if not isinstance(value, list):
            return path, f"expected a list, got {type_name(value)} {_short(value)}"
        for i, item in enumerate(value):
            if item is None and inner != ANY:  # null is absent in a field, not in a list
                return f"{path}[{i}]", "expected a value, got null"
            found = _problem(item, inner, f"{path}[{i}]")
            if found:
                return found
        return None
    if not isinstance(value, dict):
        return path, f"expected a mapping, got {type_name(value)} {_short(value)}"
    if kind == "map":
        for key, item in value.items():
            if not isinstance(key, str):
                return path, f"key {_short(key)} is not a string"
            found = _problem(item, inner, f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    for key, sub in inner.items():
        if key in value:
            found = _problem(value[key], sub, f"{path}.{key}" if path else key)
            if found:
                return found
    return None


def _article(schema: str) -> str:
    return {STR: "a string", INT: "an integer", BOOL: "a boolean (true or false)", SCALAR: "a string"}[schema]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_depth(obj: Any, where: str, error: Type[LbipError] = InputError, limit: int = MAX_DEPTH) -> Any:
    """Refuse nesting deeper than ``limit`` (iteratively: deep input cannot
    exhaust the stack here)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise error(f"{where}: nested more than {limit} levels deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return obj


# --- what an object is, and its check -----------------------------------------
def role_of(obj: Any) -> Optional[str]:
    """What an object is to the plugin, or None for a kind no command reads."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    api = str(obj.get("apiVersion") or "")
    if kind == "IPAddressPool" and api.startswith("metallb.io/"):
        return POOL
    if kind == "Service" and api in ("v1", ""):
        return SERVICE
    if kind == "Namespace":
        return NAMESPACE
    if kind == "ConfigMap" and is_legacy_configmap(obj):
        return LEGACY
    if kind in CILIUM_VERSIONS:
        return kind if api in CILIUM_VERSIONS[kind] else None
    return network_kind(obj)  # a kind read past allocation (its name is its role), or None


def is_legacy_configmap(obj: Dict[str, Any]) -> bool:
    data = obj.get("data")
    return isinstance(data, dict) and isinstance(data.get("config"), str) and "address-pools" in data["config"]


def schema_of(role: str) -> Schema:
    """The shape of a kind's objects (or of the legacy ConfigMap's data.config,
    LEGACY_DATA): derived from its model class (MODELS)."""
    return shape_of(MODELS[role])


def checked_role(obj: Any, where: str, error: Type[LbipError] = InputError) -> Optional[str]:
    """What an object is to the plugin (role_of), after its shape is checked: every
    object a snapshot keeps, from a file or the API, passes here first. (The legacy
    ConfigMap's inner YAML is read and checked with the rest of its text, when the
    model is made: snapshot.legacy_config.)"""
    role = role_of(obj)
    if role is None:
        return None
    check(obj, schema_of(role), where, error)
    if role in NETWORK_API:  # a kind read past allocation: what a schema cannot say
        validate(role, obj, where, error)
    return role


# --- the objects of -f's documents ---------------------------------------------
def checked(
    docs: Iterable[Any], models: bool = False, select: Optional[Callable[..., bool]] = None, depth: bool = False
) -> Iterator[Any]:
    """Every object of the Documents (documents.py), List and *List wrappers unwrapped,
    its shape checked: (role, value, object, where it starts, where); ``role`` is None
    for a kind no command reads, ``where`` how errors name it (None for a Service
    modelled in one pass: nothing after its check names it so); AGAIN is passed on.
    ``value`` is the object, or with ``models`` a Service's compact model, made in the
    same pass as its check when every field it reads has its JSON type.
    ``select(text, start, end)``, a test on the JSON text of an item of a JSON List read
    as a stream: the Services of an item it refuses are passed over (who-has models
    only the services whose text can name the address it asks for). With ``depth``, a
    document nested deeper than MAX_DEPTH is refused (for commands that copy and print
    whole objects)."""
    model = MODELS[SERVICE]
    plain = builder(model, compact=True, plain=True) if models else None
    compact, service = model.compact, schema_of(SERVICE)
    for doc in docs:
        if doc is AGAIN:
            yield doc
            continue
        obj = doc.obj
        if plain is not None and type(obj) is dict and obj.get("kind") == "Service" and obj.get("apiVersion") == "v1":
            # The usual item, one Service: checked and modelled in one pass (plain);
            # anything unusual is checked for shape (naming what is wrong) first.
            if select is None or doc.span is None or select(*doc.span):
                value = plain(obj)
                if value is None:
                    check(obj, service, doc.where)
                    value = compact(obj)
                yield SERVICE, value, obj, doc.start, None
            continue
        if depth:
            check_depth(obj, doc.where)
        chosen = None  # the text test, made once per document and only if it holds a Service
        for where, item, mark in unwrap(doc):
            if select is not None and doc.span is not None and role_of(item) == SERVICE:
                if chosen is None:
                    chosen = select(*doc.span)
                if not chosen:
                    continue
            role = checked_role(item, where)
            yield role, compact(item) if models and role == SERVICE else item, item, mark, where


def unwrap(doc: Document) -> Iterator[Tuple[str, Dict[str, Any], Tuple[int, int]]]:
    """(where, object, where it starts) for the objects of a Document, List and
    *List wrappers unwrapped."""
    found = list(_unwrapped(doc.obj, doc.where))
    yield from ((where, obj, mark) for (where, obj), mark in zip(found, doc.marks(len(found))))


def _unwrapped(obj: Any, where: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """A document without a kind is an error (a truncated List would otherwise be read
    as nothing)."""
    if not isinstance(obj, dict):
        raise InputError(f"{where} is not a Kubernetes object (a mapping with kind), it is {type_name(obj)}")
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(f"{where}: {describe(obj)} has no kind: not a Kubernetes object (is the file truncated?)")
    if (kind == "List" or kind.endswith("List")) and "items" in obj:
        items = obj.get("items")
        if items is not None and not isinstance(items, list):
            raise InputError(f"{where}: {kind}: field items: expected a list, got {type_name(items)}")
        for i, item in enumerate(items or (), start=1):
            yield from _unwrapped(item, f"{where} item {i}")
    else:
        yield where, obj


# --- what a table cannot say of the kinds read past allocation -----------------
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
    The model is built from the kind's table (MODELS: model/announce.py)."""
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

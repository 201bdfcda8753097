"""The shape of every object the model reads, checked at the boundary.

Files, stdin and API answers are checked here before the model sees them: a
wrong type is one error naming where the object came from (a file and document,
or an API path and item), the object, and the field. Only the fields the model
reads are described; others are not looked at. ``null`` is accepted for a field, as
the API server treats it as absent, but not as an item of a list. Strings are not accepted where MetalLB's CRD
wants a boolean or a list (the API server refuses them too): ``avoidBuggyIPs:
"false"`` is an error, not True, and ``namespaces: team-a`` is an error, not a
list of letters."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Type

from ..errors import InputError, LbipError, UsageError
from ..model import announce as an
from ..model.pools import Namespace, Pool
from ..model.schema import ANY, BOOL, INT, LABELS, SCALAR, STR, list_of, map_of, obj, shape_of
from ..model.services import Service

# The vocabulary of schemas is the model's (model/schema.py); a model class's own
# schema is derived from its fields (shape_of), the others are written here.
Schema = Any
_list, _map, _obj = list_of, map_of, obj

MAX_DEPTH = 100  # nesting deeper than this in any object is refused (see check_depth)


METADATA = _obj(name=STR, namespace=STR, labels=LABELS, annotations=LABELS, resourceVersion=STR, uid=STR)

SERVICE = shape_of(Service)  # from the fields of model.services.Service

POOL = shape_of(Pool)  # from the fields of model.pools.Pool
NAMESPACE = shape_of(Namespace)

# Cilium's LB-IPAM pool and L2 announcement policy: from the fields of
# model.cilium.CiliumPool and model.cilium_explain.L2Policy (snapshot.MODELS).

LEGACY_CONFIGMAP = _obj(metadata=METADATA, data=_obj(config=STR))

# The kinds read past allocation (snapshot/network.py turns them into the model):
# kind -> the apiVersion prefix it must carry ("v1" exactly for the core group).
# Their shapes derive from the fields of their model classes (snapshot.MODELS);
# snapshot/network.py's validate adds what a schema cannot say (a name, valid
# selector operators).
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


# The YAML inside the legacy ConfigMap's data.config (MetalLB before v0.13).
LEGACY_CONFIG = _obj(
    **{
        "address-pools": _list(
            _obj(
                **{
                    "name": SCALAR,
                    "protocol": STR,
                    "addresses": _list(SCALAR),
                    "auto-assign": BOOL,
                    "avoid-buggy-ips": BOOL,
                    "bgp-advertisements": _list(
                        _obj(
                            **{
                                "aggregation-length": INT,
                                "aggregation-length-v6": INT,
                                "localpref": INT,
                                "communities": _list(SCALAR),
                            }
                        )
                    ),
                }
            )
        ),
        "bgp-communities": _map(SCALAR),
        "peers": _list(ANY),
        "bfd-profiles": _list(ANY),
    }
)

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


def legacy_config(configmap: Dict[str, Any], source: str = "", error: Type[LbipError] = UsageError) -> Dict[str, Any]:
    """The YAML inside a pre-0.13 MetalLB ConfigMap's ``data.config``, checked for
    shape (``source``: where the ConfigMap was read, for the error)."""
    meta = configmap.get("metadata") or {}
    where = f"ConfigMap {meta.get('namespace', '')}/{meta.get('name', '')}"
    if source:
        where = f"{source}: {where}"
    text = (configmap.get("data") or {}).get("config")
    if not text:
        raise error(f"{where} has no data.config")
    from .yamlbudget import load_documents

    try:
        docs = [obj for _, obj in load_documents(text, f"{where}: data.config")]
    except LbipError as exc:
        raise error(str(exc)) from None
    config = docs[0] if len(docs) == 1 else None
    if not isinstance(config, dict):
        raise error(f"{where}: data.config is not one YAML mapping")
    check_depth(config, f"{where}: data.config", error)
    return check(config, LEGACY_CONFIG, where, error, what="data.config")


CheckFn = Callable[[Any, str], Any]

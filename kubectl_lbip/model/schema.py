"""The fields the model reads, written once per kind.

A model class (a dataclass such as model.services.Service) declares, on each of its
fields, where the field comes from in the Kubernetes object and of which JSON type it
is (``at``). From that one table three things are derived:

- the shape check of an object (``shape_of``; snapshot/shape.py names what is wrong),
- the trim of a large input to what the model reads (``trim``),
- the model's constructor (``build``): from a checked object, or (``plain``) from an
  object whose every field read already has the API's own JSON type, in one pass.

So adding a field the model reads is one line on the model class (see CONTRIBUTING.md).
Plain data only: no I/O, nothing of Kubernetes' client."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

# A schema is a type name, or ("list", item), ("map", value), ("obj", {field: schema}).
STR, INT, BOOL, SCALAR, ANY = "string", "integer", "boolean", "scalar", "any"
Schema = Any


def list_of(item: Schema) -> Schema:
    return ("list", item)


def map_of(value: Schema) -> Schema:
    return ("map", value)


def obj(**fields: Schema) -> Schema:
    """An object's fields (``foo__bar_`` spells ``foo-bar``, for the legacy ConfigMap's keys)."""
    return ("obj", {k.replace("__", "-").rstrip("_"): v for k, v in fields.items()})


LABELS = map_of(SCALAR)
STRINGS = list_of(STR)
# A label selector (metav1.LabelSelector): pools', advertisements' and Cilium's.
SELECTOR = obj(matchLabels=LABELS, matchExpressions=list_of(obj(key=STR, operator=STR, values=list_of(SCALAR))))

_EMPTY: Mapping = {}


@dataclasses.dataclass(frozen=True)
class At:
    """Where one field of a model comes from (a row of a kind's table).

    ``path``: the field in the object ("spec.loadBalancerIP"); ``type``: its JSON
    schema; ``missing``: the model's value when the field is absent or null, or (a
    text, list or map) empty: a boolean false, a number 0 or an empty object is a value;
    ``convert``: the model's value of a present value (by default the value as text,
    a tuple of texts, or a str -> str map, after its type); ``intern``: share the text
    (thousands of objects repeat it); ``fallback``: a sibling field read when this one
    is empty (and its type); ``keep_prefixes``: a compact model keeps only the keys
    of the map that start with one of these; ``keep_when``: (sibling field, value) a
    compact model keeps the field only when the sibling has that value; ``derive``:
    the model's value computed from the whole object instead (the field is then only
    checked and kept); ``drop``: keys of a map that the trim leaves out (kubectl's
    copy of the whole object)."""

    path: Tuple[str, ...]
    type: Schema
    missing: Any = ""
    convert: Optional[Callable[[Any], Any]] = None
    intern: bool = False
    fallback: Optional[Tuple[str, Schema]] = None
    keep_prefixes: Tuple[str, ...] = ()
    keep_when: Optional[Tuple[str, str]] = None
    derive: Optional[Callable[[Mapping], Any]] = None
    drop: Tuple[str, ...] = ()  # keys of a map never kept (trimmed away)

    def empty(self) -> Any:
        missing = self.missing
        return dict(missing) if type(missing) is dict else missing


def at(path: str, type: Schema, missing: Any = "", **options: Any) -> Dict[str, At]:
    """A dataclass field's metadata: ``field(default=..., metadata=at("spec.type", STR, "ClusterIP"))``."""
    return {"at": At(tuple(path.split(".")), type, missing, **options)}


def at_items(path: str, table: type) -> Dict[str, At]:
    """A field holding a list of objects of another table (the legacy ConfigMap's
    address-pools): checked against that table's shape, each item built by it (a
    tuple; absent, null or empty, ``()``). The table is the item's one description."""
    return at(path, list_of(shape_of(table)), (), convert=lambda items: tuple(map(builder(table), items)))


# --- the table of a model class ------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Row:
    name: str  # the model's field
    at: At
    parent: int  # index into _Plan.parents
    leaf: str
    plain: Callable[[Any], bool]  # whether a raw value has its JSON type exactly
    convert: Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class _Plan:
    parents: Tuple[Tuple[str, ...], ...]  # the mappings the fields are in, by path
    rows: Tuple[_Row, ...]  # every init field of the class, in order (None: its default)
    defaults: Tuple[Any, ...]  # the dataclass field of a field not read (``rows`` has it as None)
    schema: Schema  # the shape check
    keep: Dict[str, Any]  # the trim: nested keys, a leaf ("leaf", its schema, keys dropped)


_PLANS: Dict[type, _Plan] = {}


def plan_of(cls: type) -> _Plan:
    """The table of a model class, read from its fields' metadata once."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _make_plan(cls)
    return plan


def _make_plan(cls: type) -> _Plan:
    parents: List[Tuple[str, ...]] = []
    rows: List[Any] = []
    defaults: List[Any] = []
    paths: List[Tuple[Tuple[str, ...], Schema]] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        where: Optional[At] = f.metadata.get("at")
        if where is None:
            rows.append(None)
            defaults.append(f)
            continue
        parent = where.path[:-1]
        if parent not in parents:
            parents.append(parent)
        paths.append((where.path, ("leaf", where.type, frozenset(where.drop))))
        if where.fallback:
            paths.append((parent + (where.fallback[0],), ("leaf", where.fallback[1], frozenset())))
        rows.append(_Row(f.name, where, parents.index(parent), where.path[-1], _plain_test(where), _converter(where)))
        defaults.append(None)
    schema: Schema = ("obj", {})
    keep: Dict[str, Any] = {}
    for path, leaf in paths:
        _insert(schema, path, leaf[1])
        node = keep
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = leaf
    return _Plan(tuple(parents), tuple(rows), tuple(defaults), schema, keep)


def _insert(schema: Schema, path: Tuple[str, ...], sub: Schema) -> None:
    fields = schema[1]
    for part in path[:-1]:
        fields = fields.setdefault(part, ("obj", {}))[1]
    fields[path[-1]] = sub


def shape_of(cls: type) -> Schema:
    """The shape check of a model class's objects (snapshot/shape.py's schema form)."""
    return plan_of(cls).schema


# --- conversions -----------------------------------------------------------------------
def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _interned(value: Any) -> str:
    return sys.intern(value) if type(value) is str else str(value)


def _texts(value: Any) -> Tuple[str, ...]:
    return tuple([v if type(v) is str else str(v) for v in value])


def _interned_texts(value: Any) -> Tuple[str, ...]:
    intern = sys.intern
    return shared(tuple([intern(v) if type(v) is str else str(v) for v in value]))


_SHARED: Dict[Tuple[str, ...], Tuple[str, ...]] = {}
SHARED_AT_MOST = 256  # a watch lives for hours: hostile values must not grow the table


def shared(texts: Tuple[str, ...]) -> Tuple[str, ...]:
    """One tuple for equal tuples of interned texts (ipFamilies: thousands of objects
    repeat the same two or three). The table is bounded: past it, a tuple is its own."""
    found = _SHARED.get(texts)
    if found is not None:
        return found
    if len(_SHARED) < SHARED_AT_MOST:
        _SHARED[texts] = texts
    return texts


def text_map(value: Any) -> Dict[str, str]:
    """Labels, annotations or a selector as str -> str, keys and values shared
    (interned: thousands of objects repeat them); a value null is ''."""
    intern = sys.intern
    try:
        return {intern(k): intern(v) for k, v in value.items()}
    except TypeError:  # a key or value that is not a string
        pass
    return {_interned(k): ("" if v is None else _interned(v)) for k, v in value.items()}


def only_true(value: Any) -> bool:
    """A boolean field as Go reads a *bool compared with true: only true is true."""
    return value is True


def _converter(where: At) -> Callable[[Any], Any]:
    if where.convert is not None:
        return where.convert
    if where.type == STR:
        return _interned if where.intern else _text
    if where.type == STRINGS:
        return _interned_texts if where.intern else _texts
    if where.type == LABELS:
        return text_map
    return lambda value: value


_TEXT = frozenset((str,))
_TYPES = {STR: (str,), INT: (int,), BOOL: (bool,), SCALAR: (str, int, float, bool)}


def _plain_test(where: At) -> Callable[[Any], bool]:
    """Whether a raw value has its field's JSON type exactly (as the API sends it:
    text where the API has text, a map of texts for labels). A value that is not
    plain may still be valid (a label value 5): the shape check says, and the model
    is then built the long way. (Texts, lists of texts and maps are tested in the
    builder's own text: _not_plain.)"""
    schema = where.type
    if (
        isinstance(schema, tuple)
        and schema[0] == "list"
        and schema[1][0] == "obj"
        and all(isinstance(t, str) for t in schema[1][1].values())
    ):
        return _flat_objects_test(schema[1][1])
    return lambda v: is_plain(v, schema)


def _flat_objects_test(fields: Dict[str, str]) -> Callable[[Any], bool]:
    """_plain_test of a list of objects whose fields are scalars (ports, ingress),
    written out: the fields of one type tested at once, as a set of their types."""
    groups: Dict[Tuple[type, ...], List[str]] = {}
    for key, t in fields.items():
        groups.setdefault(((str,) if t == SCALAR else _TYPES[t]) + (type(None),), []).append(key)
    env: Dict[str, Any] = {}
    lines = ["def test(value):", "    if type(value) is not list: return False", "    for item in value:"]
    lines.append("        if type(item) is not dict: return False")
    lines.append("        get = item.get")
    for n, (types, keys) in enumerate(groups.items()):
        env[f"ok{n}"] = frozenset(types)
        found = ", ".join(f"type(get({k!r}))" for k in keys)
        lines.append(f"        if not {{{found}}} <= ok{n}: return False")
    lines.append("    return True")
    exec("\n".join(lines), env)  # the schema's own code: no input reaches this text
    return env["test"]


def is_plain(value: Any, schema: Schema) -> bool:
    """Whether ``value`` has exactly the JSON types of ``schema`` (null where a field
    may be absent; a label map's values texts)."""
    if value is None or schema == ANY:
        return True
    if isinstance(schema, str):
        return type(value) is str if schema == SCALAR else type(value) in _TYPES[schema]
    kind, inner = schema
    if kind == "list":
        return type(value) is list and all(item is not None and is_plain(item, inner) for item in value)
    if type(value) is not dict:
        return False
    if kind == "map":
        return all(type(k) is str and is_plain(v, inner) for k, v in value.items())
    get = value.get
    return all(is_plain(get(key), sub) for key, sub in inner.items())


# --- the constructor and the trim -------------------------------------------------------
def build(cls: type, source: Mapping, compact: bool = False, plain: bool = False) -> Any:
    """The model of an object. ``compact`` keeps of each field only what its
    ``keep_prefixes`` and ``keep_when`` say (for a snapshot of many objects that
    prints none back);
    ``plain`` returns None unless every field read has its JSON type exactly
    (the caller then checks the shape, which names what is wrong)."""
    return builder(cls, compact, plain)(source)


def builder(cls: type, compact: bool = False, plain: bool = False) -> Callable[[Mapping], Any]:
    """build(cls, ..., compact, plain) as a function of the object alone (for a loop
    over many objects)."""
    key = (cls, compact, plain)
    made = _BUILDERS.get(key)
    if made is None:
        made = _BUILDERS[key] = _make_builder(cls, compact, plain)
    return made


_BUILDERS: Dict[Tuple[type, bool, bool], Callable[[Mapping], Any]] = {}


def _not_plain(where: At, i: int) -> str:
    """The test, written out, that a raw value ``v`` (not None) is not of its JSON type."""
    if where.type == STR:
        return "type(v) is not str"
    if where.type == STRINGS:
        return "not (type(v) is list and set(map(type, v)) <= TEXT)"
    if where.type == LABELS:
        return "not (type(v) is dict and set(map(type, v)) <= TEXT and set(map(type, v.values())) <= TEXT)"
    return f"not plain{i}(v)"


def _make_builder(cls: type, compact: bool, plain: bool) -> Callable[[Mapping], Any]:
    """The constructor of a model class from its table, written out as one function
    (as the dataclasses module writes __init__): it runs for every object of a large
    file, where a loop over the rows cost twice the time of the whole modelling."""
    table = plan_of(cls)
    env: Dict[str, Any] = {"cls": cls, "EMPTY": _EMPTY, "Mapping": Mapping, "is_plain": is_plain}
    env.update(intern=sys.intern, plain_map=_plain_map, TEXT=_TEXT, shared=shared)
    lines = ["def build(source):"]
    if plain:  # the API's JSON: plain dicts all the way, or None
        lines.append("    if type(source) is not dict: return None")
    for i, path in enumerate(table.parents):
        name = f"p{i}"
        lines.append(f"    {name} = source")
        for part in path:  # an absent mapping is an empty one
            if plain:
                lines.append(f"    {name} = {name}.get({part!r})")
                lines.append(f"    if {name} is None: {name} = EMPTY")
                lines.append(f"    elif type({name}) is not dict: return None")
            else:  # any mapping (a round-trip YAML tree's too); anything else is read as empty
                lines.append(f"    {name} = {name}.get({part!r}) if isinstance({name}, Mapping) else None")
                lines.append(f"    if {name} is None or not isinstance({name}, Mapping): {name} = EMPTY")
    args = []
    for i, (row, default) in enumerate(zip(table.rows, table.defaults)):
        if row is None:  # not read: its default
            if default.default is not dataclasses.MISSING:
                env[f"default{i}"] = default.default
                args.append(f"default{i}")
            else:
                env[f"default{i}"] = default.default_factory
                args.append(f"default{i}()")
            continue
        where = row.at
        parent = f"p{row.parent}"
        env[f"plain{i}"], env[f"convert{i}"], env[f"empty{i}"] = row.plain, row.convert, where.empty
        missing = where.missing
        empty = repr(missing) if isinstance(missing, (str, bool, tuple, dict)) and not missing else f"empty{i}()"
        if compact and type(missing) is dict and not missing:  # read only: one empty map for all
            empty = "EMPTY"
        if type(missing) is str:
            empty = repr(missing)
        lines.append(f"    v = {parent}.get({row.leaf!r})")
        simple = where.fallback is None and where.derive is None
        if compact and where.keep_when is not None:  # kept only when a sibling says so
            lines.append(f"    if {parent}.get({where.keep_when[0]!r}) != {where.keep_when[1]!r}:")
            if plain:
                lines.append(f"        if v is not None and {_not_plain(where, i)}: return None")
            lines.append("        v = None")
        if compact and where.keep_prefixes and where.type == LABELS:  # kept: the keys of some prefixes
            env[f"prefixes{i}"] = where.keep_prefixes
            lines.append("    if v is not None:")
            if plain:
                lines.append("        if type(v) is not dict or not set(map(type, v.values())) <= TEXT: return None")
                lines.append("        try:")
                kept = f"{{intern(k): intern(x) for k, x in v.items() if k.startswith(prefixes{i})}}"
                lines.append(f"            a{i} = {kept} or EMPTY")
                lines.append("        except AttributeError: return None  # a key that is not a string")
                lines.append(f"    else: a{i} = EMPTY")
                args.append(f"a{i}")
                continue
            else:
                lines.append(
                    f"        v = {{k: x for k, x in v.items() if type(k) is str and k.startswith(prefixes{i})}}"
                )
        if plain and simple and where.type == STR and where.convert is None:  # the usual field, written out
            lines.append("    if v is not None and type(v) is not str: return None")
            lines.append(f"    a{i} = {'intern(v)' if where.intern else 'v'} if v else {empty}")
            args.append(f"a{i}")
            continue
        if plain and simple and where.type == STRINGS and where.convert is None:
            lines.append("    if v is not None and not (type(v) is list and set(map(type, v)) <= TEXT): return None")
            made = "shared(tuple(map(intern, v)))" if where.intern else "tuple(v)"
            lines.append(f"    a{i} = {made} if v else {empty}")
            args.append(f"a{i}")
            continue
        if plain and simple and where.type == LABELS and where.convert is None:
            lines.append(f"    a{i} = plain_map(v) if v is not None else {empty}")
            lines.append(f"    if a{i} is None: return None")
            args.append(f"a{i}")
            continue
        if plain:
            lines.append(f"    if v is not None and {_not_plain(where, i)}: return None")
        if where.fallback is not None:
            env[f"fallback_type{i}"] = where.fallback[1]
            lines.append(f"    other = {parent}.get({where.fallback[0]!r})")
            if plain and where.fallback[1] == STR:
                lines.append("    if other is not None and type(other) is not str: return None")
            elif plain:
                lines.append(f"    if not is_plain(other, fallback_type{i}): return None")
            lines.append("    if not v and other: v = [other]")
        if where.derive is not None:
            env[f"derive{i}"] = where.derive
            lines.append(f"    a{i} = derive{i}(source)")
        else:
            if plain and where.type == STRINGS and where.convert is None and not where.intern:
                lines.append(f"    a{i} = tuple(v) if v else {empty}")  # texts already
            elif _value_when_empty(where.type):  # false, 0, {}: values, not absent
                lines.append(f"    a{i} = convert{i}(v) if v is not None else {empty}")
            else:
                lines.append(f"    a{i} = convert{i}(v) if v else {empty}")
        args.append(f"a{i}")
    lines.append(f"    return cls({', '.join(args)})")
    exec("\n".join(lines), env)  # the table's own code: no input reaches this text
    return env["build"]


def _value_when_empty(schema: Schema) -> bool:
    """Whether a falsy value of the type is a value (false, 0, an object {}) rather
    than the field's absence (an empty text, list or map)."""
    return schema in (BOOL, INT) or (isinstance(schema, tuple) and schema[0] == "obj")


def _plain_map(value: Any) -> Optional[Dict[str, str]]:
    """A map of texts, keys and values interned; None when it is not one."""
    if type(value) is not dict:
        return None
    intern = sys.intern
    try:
        return dict(zip(map(intern, value), map(intern, value.values())))
    except TypeError:  # not a string
        return None


def trim(cls: type, source: Mapping, **fixed: Any) -> Dict[str, Any]:
    """Only what the model of ``cls`` reads of an object (``fixed``: top-level fields
    set as given, such as kind and apiVersion). A mapping on the way to a field read
    is kept when the object has it (a status, even an empty one, says the object was
    read back from the API server)."""
    out = dict(fixed)
    out.update(_trim(source, plan_of(cls).keep))
    return out


def _trim(value: Mapping, keep: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, sub in keep.items():
        if key not in value:
            continue
        item = value[key]
        if type(sub) is dict:  # a mapping on the way
            if isinstance(item, dict):
                out[key] = _trim(item, sub)
            elif item is not None:
                out[key] = item  # the wrong type, left for the shape check to name
        else:
            out[key] = _trim_value(item, sub[1], sub[2])
    return out


def _trim_value(value: Any, schema: Schema, drop: frozenset) -> Any:
    if schema == LABELS and type(value) is dict:
        if drop:
            value = {k: v for k, v in value.items() if k not in drop}
        return text_map(value) if all(type(v) is str for v in value.values()) else value
    if isinstance(schema, tuple) and schema[0] == "list" and isinstance(schema[1], tuple) and type(value) is list:
        inner = schema[1]
        if inner[0] == "obj":
            keys = inner[1]
            return [{k: v for k, v in item.items() if k in keys} if type(item) is dict else item for item in value]
    return value

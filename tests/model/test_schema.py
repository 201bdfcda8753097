"""model/schema.py on plain data: a model class's table gives its shape, its trim and
its constructor."""

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from kubectl_lbip.model.schema import BOOL, INT, LABELS, STR, STRINGS, at, build, obj, shape_of, trim


@dataclass
class Thing:
    name: str = field(metadata=at("metadata.name", STR))
    size: int = field(default=0, metadata=at("spec.size", INT, 0))
    tags: Tuple[str, ...] = field(default=(), metadata=at("spec.tags", STRINGS, (), fallback=("tag", STR)))
    labels: Dict[str, str] = field(
        default_factory=dict, metadata=at("metadata.labels", LABELS, {}, keep_prefixes=("a/",))
    )
    notes: Dict[str, str] = field(default_factory=dict)  # not read from the object


def test_the_shape_names_every_field_read_and_nothing_else():
    assert shape_of(Thing) == (
        "obj",
        {
            "metadata": ("obj", {"name": STR, "labels": LABELS}),
            "spec": ("obj", {"size": INT, "tags": STRINGS, "tag": STR}),
        },
    )


def test_the_trim_keeps_what_is_read():
    source = {"kind": "T", "metadata": {"name": "x", "uid": "u"}, "spec": {"tag": "t", "other": 1}, "status": {}}
    assert trim(Thing, source, kind="T") == {"kind": "T", "metadata": {"name": "x"}, "spec": {"tag": "t"}}


def test_the_constructor_reads_each_row():
    thing = build(Thing, {"metadata": {"name": "x", "labels": {"a/b": "1", "c": "2"}}, "spec": {"tag": "t", "size": 3}})
    assert (thing.name, thing.size, thing.tags, thing.labels) == ("x", 3, ("t",), {"a/b": "1", "c": "2"})
    compact = build(Thing, {"metadata": {"name": "x", "labels": {"a/b": "1", "c": "2"}}}, compact=True)
    assert compact.labels == {"a/b": "1"}
    assert build(Thing, {"metadata": {"name": "x", "labels": {"a/b": "1"}}}, compact=True, plain=True).labels == {
        "a/b": "1"
    }


def test_plain_refuses_what_is_not_of_its_json_type():
    assert build(Thing, {"metadata": {"name": 5}}, plain=True) is None
    assert build(Thing, {"spec": {"tag": ["t"]}}, plain=True) is None
    assert build(Thing, {"spec": []}, plain=True) is None
    assert build(Thing, {"metadata": {"name": 5}}).name == "5"  # the long way converts


def test_a_field_not_read_gets_a_fresh_default_each_time():
    a, b = build(Thing, {}), build(Thing, {})
    a.notes["x"] = "y"
    assert b.notes == {}


def test_any_mapping_is_read_not_only_dicts():
    """A round-trip YAML tree (migrate --in-place) holds mappings that are not plain
    dicts: the long way reads them all the same; plain refuses them."""
    from collections import OrderedDict
    from types import MappingProxyType

    source = OrderedDict(metadata=OrderedDict(name="x"), spec=MappingProxyType({"size": 3, "tag": "t"}))
    thing = build(Thing, source)
    assert (thing.name, thing.size, thing.tags) == ("x", 3, ("t",))
    assert build(Thing, {"metadata": MappingProxyType({"name": "x"})}, plain=True) is None


@dataclass
class Switch:
    on: bool = field(default=True, metadata=at("spec.on", BOOL, True))
    count: int = field(default=7, metadata=at("spec.count", INT, 7))
    settings: Optional[dict] = field(default=None, metadata=at("spec.settings", obj(a=STR), None))


def test_false_zero_and_an_empty_object_are_values_not_absence():
    """autoAssign: false is not autoAssign absent (True), and serviceAllocation: {}
    is not serviceAllocation absent (MetalLB reads them apart)."""
    for plain in (False, True):
        switch = build(Switch, {"spec": {"on": False, "count": 0, "settings": {}}}, plain=plain)
        assert (switch.on, switch.count, switch.settings) == (False, 0, {})
        switch = build(Switch, {"spec": {"on": None}}, plain=plain)
        assert (switch.on, switch.count, switch.settings) == (True, 7, None)


def test_compact_services_share_empty_maps_and_equal_ip_families():
    """Memory of a large file (issue 26 item 4): a compact Service keeps no map of its own
    when it has nothing to keep, and equal ipFamilies are one tuple."""
    from kubectl_lbip.model.services import Service

    def obj(name):
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "annotations": {"x": "y"}},
            "spec": {"ipFamilies": ["IPv4", "IPv6"], "selector": {"app": name}},
        }

    a, b = Service.plain(obj("a")), Service.plain(obj("b"))
    assert a.annotations == {} and a.selector == {} and a.ip_families == ("IPv4", "IPv6")
    assert a.annotations is b.annotations and a.selector is b.selector and a.ip_families is b.ip_families
    c, d = Service.compact(obj("c")), Service.compact(obj("d"))
    assert c.ip_families is d.ip_families and c.annotations == {}


def test_the_shared_tuples_table_is_bounded_for_a_long_watch():
    """A watch reads services for hours: distinct hostile ipFamilies must not grow memory.
    Past the bound, an equal tuple is no longer exchanged for the first one kept."""
    from kubectl_lbip.model.schema import SHARED_AT_MOST, shared

    for i in range(SHARED_AT_MOST + 50):
        texts = tuple([f"family-{i}"])
        assert shared(texts) == texts
    late, again = tuple(["late-family"]), tuple(["late-family"])
    assert shared(late) is late and shared(again) is again

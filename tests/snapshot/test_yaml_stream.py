"""documents.stream_located builds objects straight from libyaml's events (issue 24,
item 5: a 200 MB YAML List in a minute): whatever the text, its objects are the ones
PyYAML's safe loader builds, and its errors are errors (exit 2), never others."""

from __future__ import annotations

import io
import os

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import anything, examples

from kubectl_lbip.errors import InputError
from kubectl_lbip.snapshot.documents import NotAList, parse_text, stream_located

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pyyaml(text: str):
    """The objects PyYAML's safe loader gives, List items unwrapped as the stream does."""
    out = []
    for doc in yaml.load_all(text, Loader=yaml.SafeLoader):
        if isinstance(doc, dict) and isinstance(doc.get("items"), list) and str(doc.get("kind", "")).endswith("List"):
            out.extend(doc["items"])
        elif doc is not None:
            out.append(doc)
    return out


def streamed(text: str):
    return [doc.obj for doc in stream_located(io.StringIO(text), "t.yaml")]


CASES = {
    "kubectl's List": "apiVersion: v1\nitems:\n- kind: Service\n  metadata: {name: a}\n- kind: Service\n"
    "  metadata:\n    name: b\n    labels: {x: 'y'}\nkind: List\nmetadata:\n  resourceVersion: ''\n",
    "types": "a: 1\nb: 0x1f\nc: 1.5\nd: .inf\ne: true\nf: yes\ng: ~\nh: null\ni: 2001-12-14\n"
    "j: 2001-12-14t21:59:43.10-05:00\nk: '1'\nl: \"true\"\nm: |\n  text\nn: >\n  folded\n  more\no: 0o17\np: 017\n"
    "q: 1_000\nr: -.5\ns: NO\nt: !!str 12\nu: !!binary aGVsbG8=\nv: !!float 3\nw: [1, 'a', {x: y}]\n",
    "anchors and aliases": "a: &x {k: v, n: [1, 2]}\nb: *x\nc: [*x, *x]\nd: &s scalar\ne: *s\n",
    "merge keys": "base: &b {a: 1, b: 2}\nmore: &m {b: 3, c: 4}\none: {<<: *b, a: 9}\n"
    "list: {<<: [*b, *m], d: 5}\ninline: {<<: {z: 1}, y: 2}\n",
    "the key =": "=: a\nb: {=: c}\n",
    "several documents": "---\na: 1\n---\n- 1\n- 2\n---\n\n---\nplain\n---\nkind: List\nitems: []\n",
    "a List with anchors": "kind: List\nitems:\n- &i {kind: Service, n: 1}\n- *i\n- {<<: *i, n: 2}\n",
    "complex keys": "? [a, b]\n: 1\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_objects_are_pyyamls(case):
    text = CASES[case]
    try:
        expected = pyyaml(text)
    except yaml.YAMLError:
        with pytest.raises(InputError):
            streamed(text)
        return
    assert streamed(text) == expected


def test_the_example_manifests_are_read_as_pyyaml_reads_them():
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(ROOT, "examples", name), encoding="utf-8") as fh:
                text = fh.read()
            assert streamed(text) == pyyaml(text), name


@pytest.mark.parametrize(
    "text",
    [
        "a: {<<: 1}\n",  # a merge of a scalar
        "a: {<<: [1]}\n",
        "a: !!int x\n",  # PyYAML: a ValueError (exit 4 "unexpected" before)
        "a: =\n",  # the value tag has no constructor in PyYAML's safe loader
        "a: [\n",
        "a: b: c\n",
    ],
)
def test_what_pyyaml_refuses_is_an_input_error(text):
    with pytest.raises((yaml.YAMLError, ValueError)):
        pyyaml(text)
    with pytest.raises(InputError):
        streamed(text)
    with pytest.raises(InputError):
        parse_text(text, "t.yaml")


def test_a_merge_key_at_the_top_is_left_to_pyyaml():
    with pytest.raises(NotAList):
        streamed("x: &a {kind: Service}\n<<: *a\n")


def test_an_alias_repeated_across_a_lists_items_counts_against_one_budget():
    """Each item that repeats an alias is built as a copy: the budget is the
    document's, not each item's."""
    big = "[" + ",".join(["1"] * 1000) + "]"
    text = f"kind: List\nmetadata: {{x: &b {big}}}\nitems:\n" + "- {a: *b}\n" * 200
    with pytest.raises(InputError, match="aliases expand it past"):
        streamed(text)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(anything, min_size=1, max_size=3), flow=st.sampled_from([None, True, False]))
@example(docs=[{"items": False}], flow=None)  # a boolean items is not a List's count of items
def test_any_dumped_value_reads_as_pyyaml_reads_it(docs, flow):
    text = yaml.safe_dump_all(docs, default_flow_style=flow)
    assert streamed(text) == pyyaml(text)

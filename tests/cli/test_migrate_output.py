"""migrate -f prints a large List a top-level key and an item at a time (issue 24,
item 5: 200 MB in 1 GB): the text is the one the whole List dumps to."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import anything, examples

from kubectl_lbip import render
from kubectl_lbip.commands.migrate_files import yaml_pieces

keys = st.sampled_from(["apiVersion", "kind", "metadata", "items", "x y", "- z", "", "true", "1"])


@settings(max_examples=examples(200), deadline=None)
@given(top=st.dictionaries(keys, anything, max_size=5), items=st.lists(anything, max_size=4))
def test_the_pieces_are_the_whole_dump(top, items):
    obj = dict(top)
    obj["items"] = items
    assert "".join(yaml_pieces(obj)) == render.dump_yaml(obj)


def test_not_a_list_is_dumped_whole():
    for obj in ({"kind": "Service"}, [1, 2], "text", {"items": "x"}, {"items": []}):
        assert "".join(yaml_pieces(obj)) == render.dump_yaml(obj)

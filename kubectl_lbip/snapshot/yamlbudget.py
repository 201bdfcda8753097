"""YAML documents, read one at a time, with a budget for aliases.

An alias (`*name`) repeats a node without repeating its text, so nine lines can
stand for a billion values (the "billion laughs"). PyYAML keeps an alias as a
shared reference, but everything after the parser (trimming, copying, printing)
walks the expansion. Before a document is built, the nodes its aliases add are
counted (each distinct node once, so the count itself is cheap); past
ALIAS_BUDGET the document is refused, naming it. A document without anchors
(`&name`) has no alias and is not counted."""

from __future__ import annotations

from typing import Any, Dict, Iterator, Tuple

import yaml

from ..errors import InputError

# How many nodes the aliases of one document may add to it. Ordinary use of
# anchors and merge keys (shared defaults) adds a few hundred.
ALIAS_BUDGET = 100_000

try:  # the C loader is several times faster on large snapshots
    Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    Loader = yaml.SafeLoader


def load_documents(text: str, name: str) -> Iterator[Tuple[int, Any]]:
    """(index, object) for each document of ``text``; errors name ``name`` and the document."""
    loader = Loader(text)
    anchors = "&" in text
    index = 0
    try:
        while loader.check_node():
            index += 1
            node = loader.get_node()
            if anchors:
                check_expansion(node, f"{name}: document {index}")
            yield index, loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{name}: document {index or 1}{line} is not valid YAML or JSON: "
                         f"{getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise InputError(f"{name}: document {index or 1}: nested too deeply to read") from None
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node, where: str, budget: int = ALIAS_BUDGET) -> None:
    """Refuse a document whose aliases expand it by more than ``budget`` nodes."""
    sizes: Dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] - len(sizes) > budget:
                raise InputError(f"{where}: its YAML aliases expand it past {budget:,} nodes; "
                                 "refused (an alias bomb?)")
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    expanded = sizes[id(root)]
    if expanded - len(sizes) > budget:
        raise InputError(f"{where}: its YAML aliases expand it past {budget:,} nodes; refused "
                         "(an alias bomb?)")


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []

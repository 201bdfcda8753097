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

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C: several times faster


# Where a node starts in its text: (line, column), both from 1.
Mark = Tuple[int, int]


def load_documents(text: str, name: str) -> Iterator[Tuple[int, Any]]:
    """(index, object) for each document of ``text``; errors name ``name`` and the document."""
    for index, obj, _, _ in located_documents(text, name):
        yield index, obj


def located_documents(text: str, name: str) -> Iterator[Tuple[int, Any, Mark, Tuple[Mark, ...]]]:
    """(index, object, where it starts, where each item of its top-level ``items``
    starts) for each document of ``text``; errors name ``name`` and the document."""
    loader = Loader(text)
    anchors = "&" in text
    index = 0
    try:
        while loader.check_node():
            index += 1
            node = loader.get_node()
            if anchors and node is not None:
                check_expansion(node, f"{name}: document {index}")
            yield index, loader.construct_document(node), _mark(node), _item_marks(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(
            f"{name}: document {index or 1}{line} is not valid YAML or JSON: {getattr(exc, 'problem', None) or exc}"
        ) from None
    except RecursionError:
        raise InputError(f"{name}: document {index or 1}: nested too deeply to read") from None
    finally:
        loader.dispose()


def _mark(node: Any) -> Mark:
    start = getattr(node, "start_mark", None)
    return (start.line + 1, start.column + 1) if start is not None else (1, 1)


def _item_marks(node: Any) -> Tuple[Mark, ...]:
    """Where the items of a document's top-level ``items`` sequence start (a List)."""
    if not isinstance(node, yaml.MappingNode):
        return ()
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            return tuple(_mark(item) for item in value.value)
    return ()


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
                raise InputError(f"{where}: its YAML aliases expand it past {budget:,} nodes; refused (an alias bomb?)")
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    expanded = sizes[id(root)]
    if expanded - len(sizes) > budget:
        raise InputError(f"{where}: its YAML aliases expand it past {budget:,} nodes; refused (an alias bomb?)")


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class NotAList(Exception):
    """A document with a top-level `items` that turned out not to be a List: the
    caller reads the file whole instead."""


def _stream_loader(stream):
    """libyaml's events (fast, in C) composed into nodes by PyYAML's own composer,
    one List item at a time."""
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    try:
        from yaml._yaml import CParser as Parser
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        from yaml.parser import Parser as _PyParser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class Parser(Reader, Scanner, _PyParser):
            def __init__(self, stream):
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                _PyParser.__init__(self)

    class StreamLoader(Parser, Composer, SafeConstructor, Resolver):
        def __init__(self, stream):
            Parser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return StreamLoader(stream)


def stream_objects(stream, name: str) -> Iterator[Tuple[str, Any]]:
    """(where, object) for every top-level object of a YAML stream and every item
    of a top-level List, each built on its own, so that memory holds one item at a
    time (plus what the caller keeps of it), not the whole document. A List's kind
    is only known at its end (kubectl prints `items` before `kind`): a document
    with `items` whose kind is not a List raises NotAList."""
    from yaml.events import MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent

    loader = _stream_loader(stream)
    index = 0
    where = f"{name}: document 1"
    try:
        loader.get_event()  # StreamStart
        while not loader.check_event(StreamEndEvent):
            index += 1
            where = f"{name}: document {index}"
            loader.get_event()  # DocumentStart
            loader.anchors = {}
            if not loader.check_event(MappingStartEvent):
                node = loader.compose_node(None, None)
                check_expansion(node, where)
                obj = loader.construct_document(node)
                if obj is not None:
                    yield where, obj
                loader.get_event()  # DocumentEnd
                continue
            loader.get_event()  # MappingStart of the document
            top: Dict[str, Any] = {}
            count = 0
            while not loader.check_event(MappingEndEvent):
                key_node = loader.compose_node(None, None)
                key = loader.construct_document(key_node)
                if key == "items" and loader.check_event(SequenceStartEvent) and "items" not in top:
                    loader.get_event()
                    while not loader.check_event(SequenceEndEvent):
                        count += 1
                        item_where = f"{where} item {count}"
                        node = loader.compose_node(None, None)
                        check_expansion(node, item_where)
                        yield item_where, loader.construct_document(node)
                    loader.get_event()
                    top["items"] = count
                else:
                    node = loader.compose_node(None, None)
                    check_expansion(node, where)
                    top[key] = loader.construct_document(node)
            loader.get_event()  # MappingEnd
            loader.get_event()  # DocumentEnd
            kind = top.get("kind")
            if isinstance(top.get("items"), int):
                if not isinstance(kind, str) or not kind:
                    raise InputError(f"{where}: object has no kind: not a Kubernetes object (is the file truncated?)")
                if not kind.endswith("List"):
                    raise NotAList(where)
            else:
                yield where, top
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{where}{line} is not valid YAML or JSON: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to read") from None
    finally:
        loader.dispose()

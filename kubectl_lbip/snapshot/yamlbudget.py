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

# What a duplicate key's error says it is (yaml.constructor.ConstructorError's context).
DUPLICATE_KEY = "duplicate key"


class UniqueKeys:
    """A constructor that refuses a mapping with a key twice, as kubectl does
    ("mapping key already defined"): PyYAML would keep the last value silently,
    and ruamel (--in-place) refuse the file. Keys replaced by a merge (`<<`) are
    not duplicates."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep)  # type: ignore[misc]
        own = node.value  # the merge keys are deleted from it in place, the merged pairs put before it
        pairs = len(own)
        mapping = super().construct_mapping(node, deep)  # type: ignore[misc]
        if pairs - len(own) > 1:
            raise yaml.constructor.ConstructorError(DUPLICATE_KEY, None, "duplicate key '<<'", node.start_mark)
        if len(mapping) < len(node.value):  # a key twice, or one a merge gave
            first: Dict[Any, Any] = {}
            for key_node, _ in own:
                key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]  # built: cached
                if key in first:
                    raise yaml.constructor.ConstructorError(
                        DUPLICATE_KEY, first[key], f"duplicate key {key!r}", key_node.start_mark
                    )
                first[key] = key_node.start_mark
        return mapping


class Loader(UniqueKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # C: several times faster
    pass


def error_message(exc: Exception, where: str, first_line: int = 1) -> str:
    """One line for a YAML error (PyYAML's or ruamel's): where (file and document),
    the line (the text parsed starting at ``first_line`` of the file), the problem."""
    mark = getattr(exc, "problem_mark", None)
    line = f" line {mark.line + first_line}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or exc
    if getattr(exc, "context", None) == DUPLICATE_KEY:
        first = getattr(exc, "context_mark", None)
        again = f" (first at line {first.line + first_line})" if first is not None else ""
        return f"{where}{line}: {problem}{again}"
    return f"{where}{line} is not valid YAML or JSON: {problem}"


def load_documents(text: str, name: str) -> Iterator[Tuple[int, Any]]:
    """(index, object) for each document of ``text``; errors name ``name`` and the document."""
    loader = Loader(text)
    anchors = "&" in text
    index = 0
    try:
        while loader.check_node():
            index += 1
            node = loader.get_node()
            if anchors and node is not None:
                check_expansion(node, f"{name}: document {index}")
            yield index, loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(error_message(exc, f"{name}: document {index or 1}")) from None
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

    class StreamLoader(UniqueKeys, Parser, Composer, SafeConstructor, Resolver):
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
            marks: Dict[Any, Any] = {}  # where each key of the document was
            count = 0
            while not loader.check_event(MappingEndEvent):
                key_node = loader.compose_node(None, None)
                key = loader.construct_document(key_node)
                if key in marks:
                    raise yaml.constructor.ConstructorError(
                        DUPLICATE_KEY, marks[key], f"duplicate key {key!r}", key_node.start_mark
                    )
                marks[key] = key_node.start_mark
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
        raise InputError(error_message(exc, where)) from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to read") from None
    finally:
        loader.dispose()

"""Text into documents: the second step of reading -f (files.py gives the text,
shape.py checks the objects, trim.py keeps them).

JSON and YAML, whole or as a stream. A large JSON List (what `kubectl get -o json`
prints) is read item by item from the text, a chunk at a time; a YAML text document
by document and a List item by item, built straight from libyaml's events; anything
else is parsed whole, with the usual error messages. Each ``Document`` says where it
starts in its file.

YAML aliases have a budget. An alias (`*name`) repeats a node without repeating its
text, so nine lines can stand for a billion values (the "billion laughs"). PyYAML
keeps an alias as a shared reference, but everything after the parser (trimming,
copying, printing) walks the expansion. Before a document is built, the nodes its
aliases add are counted (each distinct node once, so the count itself is cheap);
past ALIAS_BUDGET the document is refused, naming it. A document without anchors
(`&name`) has no alias and is not counted."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Hashable, Iterator, Optional, Tuple

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


def construct(loader: Any, node: Any, constructor: Any = None) -> Any:
    """The object of a node (by ``constructor``, else the whole document); a value
    that does not fit its tag (`!!int x`: PyYAML raises ValueError) is a YAML error."""
    try:
        return constructor(loader, node) if constructor else loader.construct_document(node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, f"{node.tag}: {exc}", node.start_mark) from None


# Where a node starts in its text: (line, column), both from 1.
Mark = Tuple[int, int]


class Document:
    """One piece of a source that the next step (shape.checked) checks: a top-level
    document, or, read as a stream, one item of a top-level List. ``start`` is where
    it starts in its file (line, column); ``items`` where each item of its List starts
    (a document read whole); ``span``, for an item of a JSON List read as a stream, its
    text (text, start, end), valid until the next piece is read."""

    __slots__ = ("path", "index", "obj", "start", "items", "item", "span")

    def __init__(
        self,
        path: str,
        index: int,
        obj: Any,
        start: Mark = (1, 1),
        items: Tuple[Mark, ...] = (),
        item: int = 0,
        span: Optional[Tuple[str, int, int]] = None,
    ) -> None:
        self.path, self.index, self.obj, self.start, self.items = path, index, obj, start, items
        self.item, self.span = item, span

    @property
    def where(self) -> str:
        """How errors name it: the file and document (and List item)."""
        where = f"{self.path}: document {self.index}"
        return f"{where} item {self.item}" if self.item else where

    def marks(self, count: int) -> list:
        """Where each of the ``count`` objects of the document starts: its List items'
        own lines when they are its objects, else the document's start."""
        return list(self.items) if len(self.items) == count else [self.start] * count


class Again:
    """What ``documents_of`` gives when a text read as a stream turns out not to be what the
    stream reader reads: forget what this source gave so far; it is given again, whole."""


AGAIN = Again()


def documents_of(text: Any, name: str, stream: bool = False) -> Iterator[Any]:
    """The Documents of one source (``text``: files.Text), named ``name`` in errors.
    With ``stream``, a JSON List item by item and YAML document by document and List
    item by List item, so that memory holds one item at a time; a text that turns out
    to be something else gives AGAIN, then its documents read whole (the usual error
    messages)."""
    if not stream:
        yield from parse_text(text.read(), name)
        return
    try:
        if text.first() in ("{", "["):
            yield from json_items(text, name)
        else:
            yield from stream_located(text, name)
        return
    except (NotStreamable, NotAList):
        pass
    except RecursionError:
        raise InputError(f"{name}: document 1: nested too deeply to read") from None
    yield AGAIN
    yield from parse_text(text.restart().read(), name)


def parse_text(text: str, name: str) -> list:
    """The Documents of a whole text."""
    if text.lstrip().startswith(("{", "[")):
        try:
            obj = json.loads(text)
            return [Document(name, 1, obj)]
        except json.JSONDecodeError:
            pass  # may still be YAML flow style; let the YAML parser say what is wrong
        except RecursionError:
            raise InputError(f"{name}: document 1: nested too deeply to read") from None
    docs = []
    for index, obj, start, items in located_documents(text, name):
        if obj is not None:
            docs.append(Document(name, index, obj, start, items))
    return docs


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
            yield index, construct(loader, node), _mark(node), _item_marks(node)
    except yaml.YAMLError as exc:
        raise InputError(error_message(exc, f"{name}: document {index or 1}")) from None
    except RecursionError:
        raise InputError(f"{name}: document {index or 1}: nested too deeply to read") from None
    finally:
        loader.dispose()


def _mark(node: Any) -> Mark:
    start = getattr(node, "start_mark", None)
    return (start.line + 1, start.column + 1) if start is not None else (1, 1)


def _event_mark(event: Any) -> Mark:
    start = event.start_mark
    return (start.line + 1, start.column + 1)


def _item_marks(node: Any) -> Tuple[Mark, ...]:
    """Where the items of a document's top-level ``items`` sequence start (a List)."""
    if not isinstance(node, yaml.MappingNode):
        return ()
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            return tuple(_mark(item) for item in value.value)
    return ()


def check_expansion(root: yaml.Node, where: str, budget: int = ALIAS_BUDGET) -> int:
    """Refuse a document whose aliases expand it by more than ``budget`` nodes;
    how many nodes it has expanded."""
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
    if sizes[id(root)] - len(sizes) > budget:
        raise InputError(f"{where}: its YAML aliases expand it past {budget:,} nodes; refused (an alias bomb?)")
    return sizes[id(root)]


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


MERGE_TAG = "tag:yaml.org,2002:merge"
VALUE_TAG = "tag:yaml.org,2002:value"
_MISSING = object()


class _Builder:
    """Objects straight from the parser's events, for what kubectl prints (plain
    mappings, sequences and scalars): no node tree in between, and each plain
    scalar's type resolved once per distinct text. What needs the node tree (an
    anchor, an alias, an explicit tag) is composed and constructed by PyYAML, its
    aliases' expansion counted against the budget of the object being built. The
    answers are PyYAML's safe loader's (merge keys, duplicate keys refused)."""

    def __init__(self, loader: Any) -> None:
        from yaml.events import AliasEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent

        self.loader = loader
        self.scalars: Dict[str, Any] = {}
        self.expanded = 0  # nodes the aliases of the current object added
        self.where = ""
        self.kinds = (ScalarEvent, MappingStartEvent, AliasEvent, MappingEndEvent, SequenceEndEvent)

    def build(self, where: str, key: bool = False) -> Any:
        """The next value (an object, a List item, a key), named ``where`` in errors.
        The alias budget is the document's: reset ``expanded`` at its start."""
        self.where = where
        return self.value(key)

    def value(self, key: bool = False) -> Any:
        loader = self.loader
        scalar, mapping, alias = self.kinds[:3]
        event = loader.peek_event()
        kind = type(event)
        if kind is alias or event.anchor is not None or event.tag is not None:
            return self.composed()
        loader.get_event()
        if kind is scalar:
            if not event.implicit[0]:  # quoted, literal or folded: a string
                return event.value
            found = self.scalars.get(event.value, _MISSING)
            if found is _MISSING:
                tag = loader.resolve(yaml.ScalarNode, event.value, (True, False))
                if tag == MERGE_TAG and key:
                    return MERGE_TAG
                if tag == VALUE_TAG and key:  # as PyYAML's flatten_mapping: the key "="
                    return event.value
                node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
                found = construct(loader, node, loader.yaml_constructors.get(tag, loader.yaml_constructors[None]))
                if len(self.scalars) > 50_000:
                    self.scalars.clear()
                self.scalars[event.value] = found
            return found
        if kind is mapping:
            return self.mapping(event)
        items = []
        end = self.kinds[4]
        while not loader.check_event(end):
            items.append(self.value())
        loader.get_event()
        return items

    def mapping(self, start: Any) -> Dict[Any, Any]:
        loader = self.loader
        end = self.kinds[3]
        out: Dict[Any, Any] = {}
        marks: Dict[Any, Any] = {}
        merges = None
        while not loader.check_event(end):
            mark = loader.peek_event().start_mark
            key = self.value(key=True)
            value = self.value()
            if key is MERGE_TAG:
                if merges is not None:
                    # named where the mapping starts, as UniqueKeys does
                    raise yaml.constructor.ConstructorError(DUPLICATE_KEY, None, "duplicate key '<<'", start.start_mark)
                merges = [value] if isinstance(value, dict) else value
                if not isinstance(merges, list) or not all(isinstance(m, dict) for m in merges):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        start.start_mark,
                        "expected a mapping or list of mappings for merging",
                        mark,
                    )
                continue
            try:
                if key in out:
                    raise yaml.constructor.ConstructorError(DUPLICATE_KEY, marks[key], f"duplicate key {key!r}", mark)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", start.start_mark, "found unhashable key", mark
                ) from None
            out[key] = value
            marks[key] = mark
        loader.get_event()
        if merges:  # the first mapping of the list wins, the mapping's own keys over all
            merged: Dict[Any, Any] = {}
            for m in reversed(merges):
                merged.update(m)
            merged.update(out)
            return merged
        return out

    def composed(self) -> Any:
        """The next node composed and constructed by PyYAML. Once the document has an
        anchor, the expanded size of every node composed for the object counts
        against the budget (an alias repeated as many values is as many copies)."""
        loader = self.loader
        node = loader.compose_node(None, None)
        if loader.anchors:
            self.expanded += check_expansion(node, self.where)
            if self.expanded > ALIAS_BUDGET:
                raise InputError(
                    f"{self.where}: its YAML aliases expand it past {ALIAS_BUDGET:,} nodes; refused (an alias bomb?)"
                )
        return construct(loader, node)


def stream_located(stream, name: str) -> Iterator[Document]:
    """A Document for every top-level object of a YAML stream and every item of a
    top-level List, each built on its own, so that memory holds one item at a time
    (plus what the caller keeps of it), not the whole document; each starts where
    located_documents marks it. A List's kind is only known at its end (kubectl prints
    `items` before `kind`): a document with `items` whose kind is not a List raises
    NotAList."""
    from yaml.events import MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent

    loader = _stream_loader(stream)
    builder = _Builder(loader)
    index = 0
    where = f"{name}: document 1"
    try:
        loader.get_event()  # StreamStart
        while not loader.check_event(StreamEndEvent):
            index += 1
            where = f"{name}: document {index}"
            loader.get_event()  # DocumentStart
            loader.anchors = {}
            builder.expanded = 0
            start = _event_mark(loader.peek_event())
            if not loader.check_event(MappingStartEvent) or loader.peek_event().anchor or loader.peek_event().tag:
                obj = builder.build(where)
                if obj is not None:
                    yield Document(name, index, obj, start)
                loader.get_event()  # DocumentEnd
                continue
            loader.get_event()  # MappingStart of the document
            top: Dict[Any, Any] = {}
            marks: Dict[Any, Any] = {}  # where each key of the document was
            count = 0
            while not loader.check_event(MappingEndEvent):
                mark = loader.peek_event().start_mark
                key = builder.build(where, key=True)
                if not isinstance(key, Hashable):
                    raise yaml.constructor.ConstructorError(None, None, "found unhashable key", mark)
                if key in marks:
                    raise yaml.constructor.ConstructorError(DUPLICATE_KEY, marks[key], f"duplicate key {key!r}", mark)
                marks[key] = mark
                if key == "items" and loader.check_event(SequenceStartEvent) and not loader.peek_event().anchor:
                    loader.get_event()
                    while not loader.check_event(SequenceEndEvent):
                        count += 1
                        item_start = _event_mark(loader.peek_event())
                        yield Document(name, index, builder.build(f"{where} item {count}"), item_start, item=count)
                    loader.get_event()
                    top["items"] = count
                else:
                    top[key] = builder.build(where)
            loader.get_event()  # MappingEnd
            loader.get_event()  # DocumentEnd
            if MERGE_TAG in top:
                raise NotAList(where)  # a merge key at the top: the document is read whole, by PyYAML
            kind = top.get("kind")
            if type(top.get("items")) is int:  # the count of a List's items streamed (not `items: false`)
                if not isinstance(kind, str) or not kind:
                    raise InputError(f"{where}: object has no kind: not a Kubernetes object (is the file truncated?)")
                if not kind.endswith("List"):
                    raise NotAList(where)
            else:
                yield Document(name, index, top, start)
    except yaml.YAMLError as exc:
        raise InputError(error_message(exc, where)) from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to read") from None
    finally:
        loader.dispose()


# --- JSON Lists, item by item ------------------------------------------------
# `kubectl get svc -A -o json` on 50k services is a 250 MB document; parsing it
# whole holds every field of every object at once (over 700 MB). Here the text is
# read in chunks and each item is decoded and handed on before the next, so only
# one chunk and the kept fields are in memory.

# Small reads: buffers under malloc's mmap threshold (128 kB) are reused, where 1 MB
# ones were mapped and unmapped each time (a page fault per 4 kB read: a tenth of
# the run time at 50k services).
CHUNK = 1 << 16
MARGIN = 1 << 14  # items are a few kB: with under 16 kB left in the buffer, read on first
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")


class NotStreamable(ValueError):
    """Not a single JSON object or array: the caller parses the file whole."""


class _Reader:
    def __init__(self, fh):
        self.fh = fh
        self.buf = ""
        self.pos = 0
        self.start = 0  # where the last value began in buf
        self.eof = False

    def _fill(self, size: int = 0) -> bool:
        data = self.fh.read(max(size, CHUNK))
        if not data:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # \s* always matches
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise NotStreamable(f"expected {char!r}")
        self.pos += 1

    def value(self) -> Any:
        if self.pos >= len(self.buf) or self.buf[self.pos] in " \t\n\r":
            self.peek()
        if len(self.buf) - self.pos < MARGIN and not self.eof:
            # Read on before an item is likely to run past the chunk: a decode that
            # fails at the chunk's end costs the partial decode and an error that
            # counts the lines of the whole buffer.
            self._fill()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self._fill(len(self.buf) - self.pos):  # doubling: a huge value is read in few steps
                    continue  # the value runs past the chunk
                raise NotStreamable("invalid JSON") from None
            # A number that ends the chunk may go on in the next one.
            if end == len(self.buf) and not self.eof and not isinstance(obj, (dict, list, str)):
                if self._fill():
                    continue
            self.start, self.pos = self.pos, end
            return obj


def _is_list_kind(kind: Any) -> bool:
    # A List without its kind (a truncated file?) is parsed whole, where it is an error.
    return isinstance(kind, str) and kind.endswith("List")


def json_items(fh, name: str = "-") -> Iterator[Document]:
    """A Document for each item of a JSON List (``{"kind": "List", "items": [...],
    ...}``) read from ``fh``, as soon as it is decoded, with its JSON text as its
    ``span`` (text, start, end): not copied, valid until the next item is read.
    Raises NotStreamable when the text turns out to be anything else, so that the
    caller can parse it whole and report errors the usual way. (One generator, the
    List's items read in its loop: each item passes no other frame on its way out.)"""
    reader = _Reader(fh)
    top: Dict[str, Any] = {}
    if reader.peek() != "{":
        raise NotStreamable("not a JSON object")
    reader.pos += 1
    if reader.peek() == "}":
        raise NotStreamable("not a list")  # {}: no kind
    saw_items = False
    while True:
        key = reader.value()
        if not isinstance(key, str):
            raise NotStreamable("expected a key")
        reader.take(":")
        if key == "items" and reader.peek() == "[" and not saw_items:
            saw_items = True
            reader.pos += 1
            count = 0
            if reader.peek() == "]":
                reader.pos += 1
            else:
                while True:
                    item = reader.value()
                    count += 1
                    yield Document(name, 1, item, (1, 1), (), count, (reader.buf, reader.start, reader.pos))
                    # The usual case, one step: a comma, and the next item starts in the buffer.
                    comma = _COMMA.match(reader.buf, reader.pos)
                    if comma is not None and comma.end() < len(reader.buf):
                        reader.pos = comma.end()
                        continue
                    char = reader.peek()
                    reader.pos += 1
                    if char == "]":
                        break
                    if char != ",":
                        raise NotStreamable("expected ',' or ']'")
        else:
            top[key] = reader.value()
        char = reader.peek()
        reader.pos += 1
        if char == "}":
            break
        if char != ",":
            raise NotStreamable("expected ',' or '}'")
    if not saw_items or "items" in top or not _is_list_kind(top.get("kind")):
        raise NotStreamable("not a list")
    if reader.peek() != "":
        raise NotStreamable("more than one JSON document")

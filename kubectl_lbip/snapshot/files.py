"""-f FILE|DIR|-: objects from manifests, as `kubectl -f` reads them.

Multi-document YAML and JSON, `kind: List` and `*List` wrappers (what
`kubectl get -o yaml` prints); unknown kinds are ignored. Nothing here talks to a
cluster."""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from .. import render
from ..errors import InputError, UsageError
from ..model.schema import builder
from ..model.services import Service
from . import (
    CILIUM_VERSIONS,
    FREEZE_OBJECTS,
    LEGACY,
    MODELS,
    NAMESPACE,
    POOL,
    SERVICE,
    Snapshot,
    checked_role,
    paused_gc,
    role_of,
    schema_of,
    shape,
)
from .jsonstream import CHUNK
from .shape import check_depth
from .trim import trim_cilium, trim_namespace, trim_pool, trim_service
from .yamlbudget import located_documents

EXTENSIONS = (".yaml", ".yml", ".json")
# What a stream read for a streaming parser keeps in memory for a restart, at most
# (past it, in a temporary file).
KEEP_IN_MEMORY = 8 << 20


@dataclass
class Document:
    """One top-level document of one file (for migrate's and annotate's output)."""

    path: str
    index: int
    obj: Any
    # Where it starts in its file, and where each item of a List starts: (line, column).
    start: Tuple[int, int] = (1, 1)
    items: Tuple[Tuple[int, int], ...] = ()

    def marks(self, count: int) -> List[Tuple[int, int]]:
        """Where each of the ``count`` objects of the document starts: its List items'
        own lines when they are its objects, else the document's start."""
        return list(self.items) if len(self.items) == count else [self.start] * count


def expand_paths(paths: Sequence[str]) -> List[str]:
    """Files named, and the .yaml/.yml/.json files under directories, recursively,
    in a stable order; '-' is standard input. A file named twice (or reached twice,
    by a directory and by name, or through a link) is read once; a directory that
    cannot be listed is an error naming it, never skipped. A name may be anything
    that can be read (a FIFO, /dev/stdin, ``<(...)``); in a directory, what is not a
    regular file (a FIFO, a socket) is skipped with a note, as it could wait forever."""
    out: List[str] = []
    seen = set()

    def add(path: str) -> None:
        key = path if path == "-" else os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)

    def unreadable(exc: OSError) -> None:
        raise UsageError(f"cannot read the directory {exc.filename}: {exc.strerror or exc}")

    for path in paths:
        if path == "-":
            add(path)
        elif os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path, onerror=unreadable):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(EXTENSIONS)]
            for f in found:
                if _regular_or_missing(f):
                    add(f)
        elif os.path.exists(path):
            add(path)
        elif os.path.islink(path):
            raise UsageError(f"the path {path!r} is a link to nothing")
        else:
            raise UsageError(f"the path {path!r} does not exist")
    return out


_noted: Set[str] = set()  # the skipped files already named on stderr (expand_paths may run twice)


def _regular_or_missing(path: str) -> bool:
    """Whether a file found in a directory is to be read: a regular file, or one
    that cannot be looked at (reading it names the error). Anything else is noted."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True
    if stat.S_ISREG(mode):
        return True
    if path not in _noted:
        _noted.add(path)
        render.note(f"note: skipping {path}: not a regular file (a FIFO or socket in a directory is not read)")
    return False


def read_documents(paths: Sequence[str], stdin=None) -> List[Document]:
    docs: List[Document] = []

    def big() -> bool:  # a kind: List of many objects, or many documents
        return (
            len(docs)
            + sum(
                len(d.obj.get("items") or ())
                for d in docs
                if isinstance(d.obj, dict) and isinstance(d.obj.get("items"), list)
            )
            >= FREEZE_OBJECTS
        )

    with paused_gc(big):
        docs = _read_documents(paths, stdin)
    return docs


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


class Text:
    """The text of one -f source, read once as a stream, a chunk at a time: a regular
    file, a FIFO, a pipe, /dev/stdin, ``<(...)`` or standard input ('-'). Decoded
    strictly as UTF-8 (a byte-order mark dropped, line ends as they are), whatever
    the locale. ``read(size)`` is what the parsers call; ``restart()`` gives the
    whole text again from its first byte (a streaming parser that finds the text is
    not what it reads gives it to the whole-text parser): a regular file is read
    again, a stream replays what was read of it (kept from the start, past a few MB
    in a temporary file) and reads on."""

    def __init__(self, raw: Any, name: str, replay: bool = False) -> None:
        self.raw = raw
        self.name = name
        self.pending = ""  # text peeked at (first), given out before more is read
        self.offset = 0  # bytes decoded so far (for the error)
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        seekable = getattr(raw, "seekable", None)
        self.start = raw.tell() if seekable is not None and seekable() else None
        self.kept: Optional[Any] = None
        if replay and self.start is None:
            self.kept = tempfile.SpooledTemporaryFile(max_size=KEEP_IN_MEMORY)

    def read(self, size: int = -1) -> str:
        if self.pending:
            text, self.pending = self.pending, ""
            return text + self.read() if size < 0 else text
        while True:
            try:
                data = self.raw.read(size if size > 0 else -1)
            except OSError as exc:
                raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None
            if isinstance(data, str):  # a text stream without a binary buffer (tests)
                data = data.encode("utf-8", "surrogateescape")
            if self.kept is not None:
                self.kept.write(data)
            try:
                text = self.decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise UsageError(
                    f"cannot read {self.name}: not UTF-8 text (byte {self.offset + exc.start}: {exc.reason})"
                ) from None
            self.offset += len(data)
            if text or not data:  # a multi-byte character cut by the chunk: read on
                return text

    def first(self) -> str:
        """The first character that is not white space ('' for none), read but not taken."""
        while True:
            text = self.read(CHUNK)
            self.pending = text if not self.pending else self.pending + text
            stripped = self.pending.lstrip()
            if stripped or not text:
                return stripped[:1]

    def close(self) -> None:
        """Drop what was kept for a restart (the source itself is its opener's)."""
        if self.kept is not None:
            self.kept.close()

    def restart(self) -> "Text":
        if self.start is not None:
            self.raw.seek(self.start)
            return Text(self.raw, self.name)
        if self.kept is None:
            raise AssertionError("a stream read without replay cannot restart")
        self.kept.seek(0)
        return Text(_Chain(self.kept, self.raw), self.name)


class _Chain:
    """The bytes of one stream, then another's."""

    def __init__(self, *streams: Any) -> None:
        self.streams = list(streams)

    def read(self, size: int = -1) -> bytes:
        while self.streams:
            data = self.streams[0].read(size)
            if data or size == 0:
                return data
            self.streams.pop(0)
        return b""


@contextlib.contextmanager
def open_text(path: str, stdin=None, replay: bool = False) -> Iterator[Text]:
    """A Text of one source of -f; '-' is standard input (not closed after)."""
    if path == "-":
        stream = stdin or sys.stdin
        text = Text(getattr(stream, "buffer", stream), "<stdin>", replay)
        try:
            yield text
        finally:
            text.close()
        return
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        text = Text(fh, path, replay)
        try:
            yield text
        finally:
            text.close()


def read_text(path: str, stdin=None) -> str:
    """A source's whole text (see Text); an unreadable source or one that is not
    UTF-8 is an error naming it."""
    with open_text(path, stdin) as text:
        return text.read()


def _read_documents(paths: Sequence[str], stdin=None, depth: bool = True) -> List[Document]:
    docs: List[Document] = []
    for path in expand_paths(paths):
        docs.extend(parse_text(read_text(path, stdin), "<stdin>" if path == "-" else path, depth))
    return docs


def parse_text(text: str, name: str, depth: bool = True) -> List[Document]:
    """The documents of a text; with ``depth``, objects nested deeper than
    shape.MAX_DEPTH are refused (for commands that copy and print whole objects)."""
    limit = check_depth if depth else (lambda obj, where: obj)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            obj = json.loads(text)
            return [Document(name, 1, limit(obj, f"{name}: document 1"))]
        except json.JSONDecodeError:
            pass  # may still be YAML flow style; let the YAML parser say what is wrong
        except RecursionError:
            raise InputError(f"{name}: document 1: nested too deeply to read") from None
    docs = []
    for index, obj, start, items in located_documents(text, name):
        if obj is not None:
            docs.append(Document(name, index, limit(obj, f"{name}: document {index}"), start, items))
    return docs


def iter_located(obj: Any, where: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """(where, object) for the objects of a document, unwrapping List and *List
    wrappers; a document without a kind is an error (a truncated List would
    otherwise be read as nothing)."""
    if not isinstance(obj, dict):
        raise InputError(f"{where} is not a Kubernetes object (a mapping with kind), it is {shape.type_name(obj)}")
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(
            f"{where}: {shape.describe(obj)} has no kind: not a Kubernetes object (is the file truncated?)"
        )
    if (kind == "List" or kind.endswith("List")) and "items" in obj:
        items = obj.get("items")
        if items is not None and not isinstance(items, list):
            raise InputError(f"{where}: {kind}: field items: expected a list, got {shape.type_name(items)}")
        for i, item in enumerate(items or (), start=1):
            yield from iter_located(item, f"{where} item {i}")
    else:
        yield where, obj


def iter_objects(obj: Any, where: str) -> Iterator[Dict[str, Any]]:
    """Objects of a document, unwrapping List and *List wrappers, each checked for
    the shape the model expects when it is of a kind the model reads."""
    for at, item in iter_located(obj, where):
        checked_role(item, at)
        yield item


def classify(objects: Iterable[Dict[str, Any]], snapshot: Snapshot) -> Snapshot:
    """Sort objects into the snapshot by kind; other kinds are ignored."""
    for obj in objects:
        role = role_of(obj)
        if role == POOL:
            snapshot.pools.append(obj)
        elif role == SERVICE:
            snapshot.services.append(obj)
        elif role == NAMESPACE:
            snapshot.namespaces.append(obj)
        elif role == LEGACY:
            snapshot.legacy_configmap = obj
        elif role in CILIUM_VERSIONS:
            snapshot.cilium_objects.setdefault(role, []).append(obj)
        elif role is not None:  # a kind read past allocation
            snapshot.network_objects.setdefault(role, []).append(obj)
    return snapshot


def load(
    paths: Sequence[str],
    stdin=None,
    documents: Optional[List[Document]] = None,
    trimmed: bool = False,
    select: Optional[Callable[[str, int, int], bool]] = None,
    models: bool = True,
    locate: bool = False,
) -> Snapshot:
    """The objects of the files. ``trimmed`` keeps only what the model reads (for
    the commands that print no object back), reading large JSON lists item by item
    and modelling each Service as it is read (``Snapshot.models``).

    ``select(text, start, end)``, with ``trimmed``, is a test on the JSON text of one
    item of a large list: the Services of an item it refuses are decoded but not
    modelled (who-has models only the services whose text can name the address it
    asks for). Files that are not one JSON list are read whole, without it.
    ``models=False`` keeps trimmed Service objects (dicts) in ``Snapshot.services``
    instead, for a caller that merges objects (--against-cluster's overlay).
    ``locate`` records where each object starts in its file (``Snapshot.locations``,
    for check's reports), as the files are read."""
    snapshot = Snapshot(source="files: " + ", ".join(paths), keep_objects=not trimmed)
    if trimmed and documents is None:
        with paused_gc(lambda: len(snapshot.models) >= FREEZE_OBJECTS):
            for path in expand_paths(paths):
                _load_trimmed(path, stdin, snapshot, select, models, locate)
        return snapshot
    docs = documents if documents is not None else read_documents(paths, stdin)
    objects: List[Dict[str, Any]] = []
    for doc in docs:
        where = f"{doc.path}: document {doc.index}"
        if locate and doc.path != "<stdin>":
            found = [obj for _, obj in iter_located(doc.obj, where)]
            _locate(found, doc.marks(len(found)), doc.path, snapshot.locations)
        objects.extend(iter_objects(doc.obj, where))
    return classify(objects, snapshot)


def _locate(objects: Iterable[Dict[str, Any]], marks: Iterable[Tuple[int, int]], path: str, into: Dict) -> None:
    """Where each object the model reads starts: (file, line, column) by location_key."""
    for obj, (line, column) in zip(objects, marks):
        if role_of(obj) is not None:
            into[location_key(obj)] = (path, line, column)


def location_key(obj: Dict[str, Any]) -> Tuple[str, str, str]:
    """(kind, namespace as written, name) of an object, as Snapshot.location looks it up."""
    meta = obj.get("metadata") or {}
    return str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or "")


class _Trimmed:
    """The objects of one file, each checked for shape and trimmed; Services
    modelled at once (Service.compact)."""

    def __init__(self, models: bool = True) -> None:
        self.as_models = models
        self.services: List[Dict[str, Any]] = []  # trimmed, when not as_models
        self.pools: List[Dict[str, Any]] = []
        self.models: List[Service] = []
        self.namespaces: List[Dict[str, Any]] = []
        self.legacy: Optional[Dict[str, Any]] = None
        self.network: Dict[str, List[Dict[str, Any]]] = {}
        self.cilium: Dict[str, List[Dict[str, Any]]] = {}

    def add(self, obj: Dict[str, Any], role: Optional[str]) -> None:
        if role == SERVICE:
            if self.as_models:
                self.models.append(MODELS[SERVICE].compact(obj))
            else:
                self.services.append(trim_service(obj))
        elif role == POOL:
            self.pools.append(trim_pool(obj))
        elif role == NAMESPACE:
            self.namespaces.append(trim_namespace(obj))
        elif role == LEGACY:
            self.legacy = obj
        elif role in CILIUM_VERSIONS:
            self.cilium.setdefault(role, []).append(trim_cilium(obj))
        elif role is not None:  # a kind read past allocation
            from .network import trim

            self.network.setdefault(role, []).append(trim(obj))

    def keep(self, document: Any, where: str, located: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        """Every object of a document (Lists unwrapped), shape-checked; ``located`` is
        told each object the model reads."""
        for at, obj in iter_located(document, where):
            role = checked_role(obj, at)
            if located is not None and role is not None:
                located(obj)
            self.add(obj, role)

    def into(self, snapshot: Snapshot) -> None:
        snapshot.pools.extend(self.pools)
        snapshot.models.extend(self.models)
        snapshot.services.extend(self.services)
        snapshot.namespaces.extend(self.namespaces)
        if self.legacy is not None:
            snapshot.legacy_configmap = self.legacy
        for role, objects in self.network.items():
            snapshot.network_objects.setdefault(role, []).extend(objects)
        for role, objects in self.cilium.items():
            snapshot.cilium_objects.setdefault(role, []).extend(objects)


def _load_trimmed(path: str, stdin, snapshot: Snapshot, select, models: bool = True, locate: bool = False) -> None:
    """The objects of one source into the snapshot, read a piece at a time: a JSON
    List item by item (jsonstream), YAML document by document and List item by List
    item (yamlbudget.stream_located), so that memory grows with what is kept, not with
    the text. Anything else is parsed whole, with the usual error messages. No depth
    walk: only fields whose shape is checked are kept, and the parsers refuse
    nesting past their own limit (a clear error, below). With ``locate``, where each
    object starts is recorded as it is read (a JSON text's objects at its first line,
    as the whole read marks them; not for standard input)."""
    from .jsonstream import NotStreamable, stream_items
    from .yamlbudget import NotAList, stream_located

    name = display_name(path)
    locations = snapshot.locations if locate and path != "-" else None

    def at_mark(mark: Tuple[int, int]) -> Optional[Callable[[Dict[str, Any]], None]]:
        if locations is None:
            return None
        return lambda obj: locations.__setitem__(location_key(obj), (name, mark[0], mark[1]))

    first_line = at_mark((1, 1))
    with open_text(path, stdin, replay=True) as text:
        found = _Trimmed(models)
        model = MODELS[SERVICE]
        plain, modelled, checks = builder(model, compact=True, plain=True), found.models, schema_of(SERVICE)
        count = [0]

        def keep_item(item: Any, buf: str, start: int, end: int) -> None:
            count[0] += 1
            if models and type(item) is dict and item.get("kind") == "Service" and item.get("apiVersion") == "v1":
                # The usual item, one Service: checked and modelled in one pass (plain);
                # anything unusual is checked for shape (naming what is wrong) first.
                # With a select (who-has), only if its text can name an address asked for.
                if select is None or select(buf, start, end):
                    model = plain(item)
                    if model is None:
                        shape.check(item, checks, f"{name}: document 1 item {count[0]}")
                        model = MODELS[SERVICE].compact(item)
                    modelled.append(model)
                    if first_line is not None:
                        first_line(item)
                return
            chosen = None  # the text test, made once per item and only if it holds a Service
            for at, obj in iter_located(item, f"{name}: document 1 item {count[0]}"):
                if select is not None and role_of(obj) == SERVICE:
                    if chosen is None:
                        chosen = select(buf, start, end)
                    if not chosen:
                        continue
                role = checked_role(obj, at)
                if first_line is not None and role is not None:
                    first_line(obj)
                found.add(obj, role)

        try:
            if text.first() in ("{", "["):
                stream_items(text, keep_item, spans=True)
            else:
                for where, doc, mark in stream_located(text, name):
                    found.keep(doc, where, at_mark(mark))
            found.into(snapshot)
            return
        except (NotStreamable, NotAList):
            pass  # parsed whole below
        except RecursionError:
            raise InputError(f"{name}: document 1: nested too deeply to read") from None
        whole = _Trimmed(models)
        for doc in parse_text(text.restart().read(), name, depth=False):
            where = f"{doc.path}: document {doc.index}"
            if locations is not None:  # (what the stream recorded before it gave up is recorded again)
                objects = [obj for _, obj in iter_located(doc.obj, where)]
                _locate(objects, doc.marks(len(objects)), name, locations)
            whole.keep(doc.obj, where)
        whole.into(snapshot)

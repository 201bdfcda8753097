"""-f FILE|DIR|-: objects from manifests, as `kubectl -f` reads them.

Multi-document YAML and JSON, `kind: List` and `*List` wrappers (what
`kubectl get -o yaml` prints); unknown kinds are ignored. Nothing here talks to a
cluster."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..errors import InputError, UsageError
from . import (FREEZE_OBJECTS, LEGACY, NAMESPACE, POOL, SERVICE, Snapshot, checked_role,
               paused_gc, role_of)
from . import shape
from .shape import check_depth
from .yamlbudget import load_documents

EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass
class Document:
    """One top-level document of one file (for migrate's and annotate's output)."""

    path: str
    index: int
    obj: Any


def expand_paths(paths: Sequence[str]) -> List[str]:
    """Files named, and the .yaml/.yml/.json files under directories, recursively,
    in a stable order; '-' is standard input. A file named twice (or reached twice,
    by a directory and by name, or through a link) is read once; a directory that
    cannot be listed is an error naming it, never skipped."""
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
                found += [os.path.join(root, f) for f in sorted(files)
                          if f.lower().endswith(EXTENSIONS)]
            for f in found:
                add(f)
        elif os.path.exists(path):
            add(path)
        elif os.path.islink(path):
            raise UsageError(f"the path {path!r} is a link to nothing")
        else:
            raise UsageError(f"the path {path!r} does not exist")
    return out


def read_documents(paths: Sequence[str], stdin=None) -> List[Document]:
    docs: List[Document] = []

    def big() -> bool:  # a kind: List of many objects, or many documents
        return len(docs) + sum(len(d.obj.get("items") or ()) for d in docs
                               if isinstance(d.obj, dict) and isinstance(d.obj.get("items"), list)
                               ) >= FREEZE_OBJECTS

    with paused_gc(big):
        docs = _read_documents(paths, stdin)
    return docs


def read_text(path: str, stdin=None) -> str:
    """A file's text (or stdin's for '-'), a byte-order mark dropped; an unreadable
    file or one that is not UTF-8 is an error naming it."""
    if path == "-":
        stream = stdin or sys.stdin
        stream = getattr(stream, "buffer", stream)  # bytes: decoded strictly, whatever the locale
        try:
            text = stream.read()
        except UnicodeDecodeError as exc:
            raise UsageError(f"<stdin>: not UTF-8 text: {exc}") from None
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UsageError(f"<stdin>: not UTF-8 text: {exc}") from None
        return text.lstrip("\ufeff")
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


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
    for index, obj in load_documents(text, name):
        if obj is not None:
            docs.append(Document(name, index, limit(obj, f"{name}: document {index}")))
    return docs


def iter_located(obj: Any, where: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """(where, object) for the objects of a document, unwrapping List and *List
    wrappers; a document without a kind is an error (a truncated List would
    otherwise be read as nothing)."""
    if not isinstance(obj, dict):
        raise InputError(f"{where} is not a Kubernetes object (a mapping with kind), "
                         f"it is {shape.type_name(obj)}")
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(f"{where}: {shape.describe(obj)} has no kind: not a Kubernetes object "
                         "(is the file truncated?)")
    if (kind == "List" or kind.endswith("List")) and "items" in obj:
        items = obj.get("items")
        if items is not None and not isinstance(items, list):
            raise InputError(f"{where}: {kind}: field items: expected a list, got "
                             f"{shape.type_name(items)}")
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
        elif role is not None:  # a kind read past allocation
            snapshot.network_objects.setdefault(role, []).append(obj)
    return snapshot


def load(paths: Sequence[str], stdin=None, documents: Optional[List[Document]] = None,
         trimmed: bool = False) -> Snapshot:
    """The objects of the files. ``trimmed`` keeps only what the model reads (for
    the commands that print no object back), reading large JSON lists item by item."""
    snapshot = Snapshot(source="files: " + ", ".join(paths), keep_objects=not trimmed)
    if trimmed and documents is None:
        objects: List[Dict[str, Any]] = []
        with paused_gc(lambda: len(objects) >= FREEZE_OBJECTS):
            for path in expand_paths(paths):
                objects.extend(_trimmed_objects(path, stdin))
        return classify(objects, snapshot)
    docs = documents if documents is not None else read_documents(paths, stdin)
    objects = []
    for doc in docs:
        objects.extend(iter_objects(doc.obj, f"{doc.path}: document {doc.index}"))
    return classify(objects, snapshot)


def _trimmed_objects(path: str, stdin) -> List[Dict[str, Any]]:
    """The trimmed objects of one file, read a piece at a time: a JSON List item by
    item (jsonstream), YAML document by document and List item by List item
    (yamlbudget.stream_objects), so that memory grows with what is kept, not with
    the file. Anything else is parsed whole, with the usual error messages."""
    from .jsonstream import NotStreamable, stream_items
    from .trim import trim_object
    from .yamlbudget import NotAList, stream_objects

    def keep(obj: Any, where: str) -> List[Dict[str, Any]]:
        # no depth walk here: trimming keeps only fields whose shape is checked, and the
        # parsers refuse nesting past their own limit (a clear error, below)
        return _trimmed(iter_objects(obj, where), trim_object)

    if path != "-":
        count = [0]

        def keep_item(obj: Any) -> List[Dict[str, Any]]:
            count[0] += 1
            return keep(obj, f"{path}: document 1 item {count[0]}")

        try:
            with open(path, encoding="utf-8-sig") as fh:
                first = fh.read(4096).lstrip()[:1]
                fh.seek(0)
                if first in ("{", "["):
                    items, _ = stream_items(fh, keep_item)
                    return [obj for item in items for obj in item]
                return [obj for where, doc in stream_objects(fh, path) for obj in keep(doc, where)]
        except (NotStreamable, NotAList):
            pass  # parsed whole below
        except RecursionError:
            raise InputError(f"{path}: document 1: nested too deeply to read") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from None
    out = []
    for doc in _read_documents([path], stdin, depth=False):
        out.extend(keep(doc.obj, f"{doc.path}: document {doc.index}"))
    return out


def _trimmed(objects: Iterable[Dict[str, Any]], trim) -> List[Dict[str, Any]]:
    return [kept for kept in map(trim, objects) if kept is not None]

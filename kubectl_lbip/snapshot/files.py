"""-f FILE|DIR|-: objects from manifests, as `kubectl -f` reads them.

Multi-document YAML and JSON, `kind: List` and `*List` wrappers (what
`kubectl get -o yaml` prints); unknown kinds are ignored. Nothing here talks to a
cluster."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

import yaml

from ..errors import UsageError
from . import FREEZE_OBJECTS, LEGACY, NAMESPACE, POOL, SERVICE, Snapshot, paused_gc, role_of
from .network import check_shape

EXTENSIONS = (".yaml", ".yml", ".json")

try:  # the C loader is several times faster on large snapshots
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass
class Document:
    """One top-level document of one file (for migrate's and annotate's output)."""

    path: str
    index: int
    obj: Any


def expand_paths(paths: Sequence[str]) -> List[str]:
    """Files named, and the .yaml/.yml/.json files under directories, recursively,
    in a stable order; '-' is standard input."""
    out: List[str] = []
    for path in paths:
        if path == "-":
            out.append(path)
        elif os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files)
                          if f.lower().endswith(EXTENSIONS)]
            out.extend(found)
        elif os.path.exists(path):
            out.append(path)
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


def _read_documents(paths: Sequence[str], stdin=None) -> List[Document]:
    docs: List[Document] = []
    for path in expand_paths(paths):
        if path == "-":
            text = (stdin or sys.stdin).read()
            name = "<stdin>"
        else:
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read {path}: {exc}") from None
            name = path
        docs.extend(parse_text(text, name))
    return docs


def parse_text(text: str, name: str) -> List[Document]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            obj = json.loads(text)
            return [Document(name, 1, obj)]
        except json.JSONDecodeError:
            pass  # may still be YAML flow style; let the YAML parser say what is wrong
    docs = []
    index = 0
    try:
        for index, obj in enumerate(yaml.load_all(text, Loader=_Loader), start=1):
            if obj is not None:
                docs.append(Document(name, index, obj))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{name}: document {index + 1}{where} is not valid YAML or JSON: "
                         f"{getattr(exc, 'problem', None) or exc}") from None
    return docs


def iter_objects(obj: Any, where: str) -> Iterator[Dict[str, Any]]:
    """Objects of a document, unwrapping List and *List wrappers."""
    if not isinstance(obj, dict):
        raise UsageError(f"{where} is not a Kubernetes object (a mapping with kind)")
    kind = obj.get("kind")
    if isinstance(kind, str) and (kind == "List" or kind.endswith("List")) and "items" in obj:
        for i, item in enumerate(obj.get("items") or [], start=1):
            yield from iter_objects(item, f"{where} item {i}")
    else:
        check_shape(obj, where)  # the kinds read past allocation (snapshot/network.py)
        yield obj


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
    from .jsonstream import NotStreamable, stream_items
    from .trim import trim_object

    if path != "-":
        where = f"{path}: document 1 item"
        try:
            with open(path, encoding="utf-8") as fh:
                items, _ = stream_items(fh, lambda obj: _trimmed(iter_objects(obj, where), trim_object))
            return [obj for item in items for obj in item]
        except NotStreamable:
            pass  # not one JSON list: parsed whole below, with the usual error messages
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from None
    out = []
    for doc in _read_documents([path], stdin):
        out.extend(_trimmed(iter_objects(doc.obj, f"{doc.path}: document {doc.index}"),
                            trim_object))
    return out


def _trimmed(objects: Iterable[Dict[str, Any]], trim) -> List[Dict[str, Any]]:
    return [kept for kept in map(trim, objects) if kept is not None]

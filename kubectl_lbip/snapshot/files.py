"""-f FILE|DIR|-: objects from manifests, as `kubectl -f` reads them.

Reading is a pipeline, each step in one module, none entered twice for one source:
this module finds the sources and reads each one's text once (a file, a FIFO, a
pipe, standard input); documents.py makes its documents (JSON or YAML, whole or as
a stream, Lists item by item); shape.py checks each object; trim.py keeps what the
model reads. Multi-document YAML and JSON, `kind: List` and `*List` wrappers (what
`kubectl get -o yaml` prints); unknown kinds are ignored. Nothing here talks to a
cluster."""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
import sys
import tempfile
from typing import Any, Callable, Iterator, List, Optional, Sequence, Set

from .. import render
from ..errors import UsageError
from . import FREEZE_OBJECTS, Snapshot, paused_gc
from .documents import CHUNK, Document, documents_of, parse_text
from .shape import checked
from .trim import keep

EXTENSIONS = (".yaml", ".yml", ".json")
# What a stream read for a streaming parser keeps in memory for a restart, at most
# (past it, in a temporary file).
KEEP_IN_MEMORY = 8 << 20


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
    """Every document of the sources, each read whole (for the commands that rewrite
    or print them: migrate, pin); objects nested deeper than shape.MAX_DEPTH are
    refused when they are loaded (from_documents)."""
    docs: List[Document] = []

    def big() -> bool:  # a kind: List of many objects, or many documents
        lists = (d.obj.get("items") for d in docs if isinstance(d.obj, dict))
        return len(docs) + sum(len(items) for items in lists if isinstance(items, list)) >= FREEZE_OBJECTS

    with paused_gc(big):
        for path in expand_paths(paths):
            docs.extend(parse_text(read_text(path, stdin), display_name(path)))
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


def load(
    paths: Sequence[str],
    stdin=None,
    trimmed: bool = False,
    select: Optional[Callable[[str, int, int], bool]] = None,
    models: bool = True,
    locate: bool = False,
) -> Snapshot:
    """The objects of the files, each source read once through the steps (see the
    module's doc). ``trimmed`` keeps only what the model reads (for the commands that
    print no object back), reading each source as a stream (large JSON Lists item by
    item) and modelling each Service as it is checked (``Snapshot.models``); else the
    objects are kept whole.

    ``select(text, start, end)``, with ``trimmed``, is a test on the JSON text of one
    item of a large list: the Services of an item it refuses are decoded but not
    modelled (who-has models only the services whose text can name the address it
    asks for). ``models=False`` keeps trimmed Service objects (dicts) in
    ``Snapshot.services`` instead, for a caller that merges objects (--against-cluster's
    overlay). ``locate`` records where each object starts in its file
    (``Snapshot.locations``, for check's reports; not for standard input)."""
    snapshot = Snapshot(source="files: " + ", ".join(paths), keep_objects=not trimmed)
    with paused_gc(lambda: len(snapshot.models) + len(snapshot.services) >= FREEZE_OBJECTS):
        for path in expand_paths(paths):
            name = display_name(path)
            with open_text(path, stdin, replay=trimmed) as text:
                found = documents_of(text, name, stream=trimmed)
                objects = checked(found, trimmed and models, select if trimmed else None, depth=not trimmed)
                keep(objects, snapshot, trimmed, located=name if locate and path != "-" else None)
    return snapshot


def from_documents(paths: Sequence[str], docs: List[Document]) -> Snapshot:
    """The objects of documents already read (read_documents), whole."""
    snapshot = Snapshot(source="files: " + ", ".join(paths))
    return keep(checked(docs, depth=True), snapshot, trimmed=False)

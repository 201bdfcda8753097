"""The items of a large JSON list, read one at a time from a stream.

`kubectl get svc -A -o json` on 50k services is a 250 MB document; parsing it
whole holds every field of every object at once (over 700 MB). Here the text is
read in chunks and each item is decoded and handed to the caller (which trims
it) before the next, so only one chunk and the kept fields are in memory."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Tuple

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


def stream_items(fh, keep: Callable[..., Any], spans: bool = False) -> Tuple[List[Any], Dict[str, Any]]:
    """Read a JSON List (``{"kind": "List", "items": [...], ...}``) from ``fh``,
    passing each item through ``keep`` as soon as it is decoded (None drops it).
    With ``spans``, keep is called as ``keep(item, text, start, end)``: the item's
    JSON is ``text[start:end]`` (not copied; valid during the call only).
    Returns the kept items and the top-level fields other than ``items``.
    Raises NotStreamable when the text is anything else, so that the caller can
    parse it whole and report errors the usual way."""
    if spans:

        def each(reader: _Reader) -> Any:
            item = reader.value()
            return keep(item, reader.buf, reader.start, reader.pos)
    else:

        def each(reader: _Reader) -> Any:
            return keep(reader.value())

    reader = _Reader(fh)
    kept: List[Any] = []
    top: Dict[str, Any] = {}
    if reader.peek() != "{":
        raise NotStreamable("not a JSON object")
    reader.pos += 1
    _object(reader, each, kept, top)
    if "items" in top or not _is_list_kind(top.get("kind")):
        raise NotStreamable("not a list")
    if reader.peek() != "":
        raise NotStreamable("more than one JSON document")
    return kept, top


def _array(reader: _Reader, each, kept: List[Any]) -> None:
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        item = each(reader)
        if item is not None:
            kept.append(item)
        # The usual case, one step: a comma, and the next item starts in the buffer.
        comma = _COMMA.match(reader.buf, reader.pos)
        if comma is not None and comma.end() < len(reader.buf):
            reader.pos = comma.end()
        else:
            char = reader.peek()
            reader.pos += 1
            if char == "]":
                return
            if char != ",":
                raise NotStreamable("expected ',' or ']'")


def _object(reader: _Reader, each, kept: List[Any], top: Dict[str, Any]) -> None:
    if reader.peek() == "}":
        reader.pos += 1
        return
    saw_items = False
    while True:
        key = reader.value()
        if not isinstance(key, str):
            raise NotStreamable("expected a key")
        reader.take(":")
        if key == "items" and reader.peek() == "[" and not saw_items:
            reader.pos += 1
            _array(reader, each, kept)
            saw_items = True
        else:
            top[key] = reader.value()
        char = reader.peek()
        reader.pos += 1
        if char == "}":
            break
        if char != ",":
            raise NotStreamable("expected ',' or '}'")
    if not saw_items:
        top["items"] = None  # an object without items: not a list, parse it whole

"""A large JSON List read by two processes at once (issue 19).

Decoding and modelling 50k services is CPU work, and one Python process does it
on one core. Where a second core is free, a forked child reads the second part
of the list while this process reads the first, and sends back what it kept.

The split is proven, never assumed. It is chosen where the text between the
list's first two items (``},`` and the line break and indentation kubectl
prints) appears again past the middle of the file; this process then reads its
part with the byte offset of every item boundary in hand, and takes the child's
work only if one of its own boundaries falls exactly on the split. A JSON item
that starts with ``{`` ends at its matching brace, so an item read from that
offset by the child is the item a single reader would have read. Anything else
(the split fell inside an item or outside the list, the child failed, found an
item it could not read, was killed or took too long) and the child is stopped,
its work dropped, and the rest read here as if there had been no child: the same
objects in the same order, the same errors with the same item numbers.

Not attempted for small files (a fork costs more than it saves), with fewer than
two usable cores, where os.fork is missing, or once the process has threads."""

from __future__ import annotations

import codecs
import io
import os
import pickle
import re
import select
import signal
import stat
import threading
import time
from typing import Any, Callable, Optional, Tuple

from . import jsonstream

# Below this size one process reads the file: 8 MB is about 3,000 services as
# kubectl prints them, well under a second of work.
MIN_BYTES = 8 << 20
# The share of the file this process reads: the child also pickles what it kept
# and this process unpickles it, so the child gets a little less.
SHARE = 0.55
# How far past the chosen point the split is looked for (items are a few kB).
WINDOW = 1 << 20
# The child's deadline, as a multiple of the time this process took for its own
# part (and at least MIN_WAIT seconds): past it the child is stopped and its
# part read here.
WAIT_FACTOR = 4.0
MIN_WAIT = 10.0

_FIRST_ITEM = re.compile(rb'"items"[ \t\r\n]*:[ \t\r\n]*\[([ \t\r\n]*)\{')
BOM = codecs.BOM_UTF8

Export = Callable[[], Any]
Absorb = Callable[[Any], None]


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # Linux
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def other_threads() -> int:
    """Threads besides this one: a fork copies only the calling thread, and any
    lock another thread holds stays locked in the child."""
    return threading.active_count() - 1


def worth_it(path: str) -> bool:
    """A regular file (never a pipe: two readers would each take part of it) big
    enough, a fork, no other thread, and a second core."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_size >= MIN_BYTES
        and hasattr(os, "fork")
        and not other_threads()
        and usable_cores() >= 2
    )


def split_point(path: str) -> Optional[int]:
    """The byte offset of a ``{`` that the text before it suggests starts an item
    of the file's List, past SHARE of the file; None when there is no such text
    (the list is not indented with line breaks, or there is no list)."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        found = _FIRST_ITEM.search(head)
        if found is None or b"\n" not in found.group(1):
            return None  # compact JSON: "},{" is everywhere inside items too
        separator = b"}," + found.group(1) + b"{"
        start = max(int(size * SHARE), found.end())
        fh.seek(start)
        window = fh.read(WINDOW)
    at = window.find(separator)
    if at < 0:
        return None
    return start + at + len(separator) - 1


class _Child:
    """The forked reader of the part of the list from ``split`` to its end."""

    def __init__(self, pid: int, fd: int, split: int) -> None:
        self.pid, self.fd, self.split = pid, fd, split

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self.reap()

    def reap(self) -> None:
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def result(self, deadline: float) -> Optional[Tuple[Any, str]]:
        """(state, tail) as the child sent them, or None (it failed, or the
        deadline passed: then it is stopped)."""
        chunks = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                self.stop()
                return None
            data = os.read(self.fd, 1 << 20)
            if not data:
                break
            chunks.append(data)
        self.reap()
        try:
            answer = pickle.loads(b"".join(chunks))
        except Exception:  # a child killed while writing: a truncated answer
            return None
        if not (type(answer) is tuple and len(answer) == 3 and answer[0] == "ok"):
            return None
        return answer[1], answer[2]


def _run_child(path: str, split: int, fd: int, each: Callable, export: Export) -> None:
    """In the child: read the list's items from ``split`` to the list's end, then
    send ("ok", what keep kept, the text after the list)."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raw = open(path, "rb")
        raw.seek(split)
        reader = jsonstream._Reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        jsonstream._array(reader, each, [])
        tail = reader.buf[reader.pos :] + reader.fh.read()
        answer = pickle.dumps(("ok", export(), tail), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(answer)
        while view:
            view = view[os.write(fd, view) :]
        status = 0
    except BaseException:  # any failure: the parent reads this part itself
        pass
    finally:
        os._exit(status)


def stream_items(path: str, keep: Callable[..., Any], export: Export, absorb: Absorb) -> None:
    """jsonstream.stream_items(open(path), keep, spans=True) (keep's return values
    are not collected), with the list's second part read by a child process when
    that is worth it and the text allows it. ``export()`` (called in the child)
    gives what ``keep`` kept there, picklable; ``absorb(state)`` (here) adds it
    after what keep kept here. Raises what the one-process read raises
    (NotStreamable, InputError from keep, OSError, UnicodeDecodeError)."""
    split = split_point(path) if worth_it(path) else None
    with open(path, encoding="utf-8-sig", newline="") as fh:
        if split is None:
            jsonstream.stream_items(fh, keep, spans=True)
            return
        with open(path, "rb") as probe:
            base = len(BOM) if probe.read(len(BOM)) == BOM else 0

        def each(reader: jsonstream._Reader) -> Any:
            item = reader.value()
            return keep(item, reader.buf, reader.start, reader.pos)

        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            os.close(read_fd)
            _run_child(path, split, write_fd, each, export)
        os.close(write_fd)
        child = _Child(pid, read_fd, split)
        started = time.monotonic()

        def boundary(reader: jsonstream._Reader) -> bool:
            """At an item's first character: whether the child read the list from
            here on (then its answer is absorbed and the reader moved past the list)."""
            if not child.pid:
                return False
            if reader.base + reader.pos > child.split:  # type: ignore[operator]  # a reader with a base
                child.stop()  # the split fell inside an item: passed
                return False
            if reader.end <= child.split:  # type: ignore[operator]
                return False  # not in this buffer yet
            at = reader.offset()
            if at < child.split:
                return False
            if at > child.split:
                child.stop()
                return False
            answer = child.result(time.monotonic() + max(MIN_WAIT, WAIT_FACTOR * (time.monotonic() - started)))
            if answer is None:
                return False
            state, tail = answer
            absorb(state)
            reader.buf, reader.pos, reader.fh, reader.eof = tail, 0, io.StringIO(""), True
            return True

        try:
            jsonstream.stream_items(fh, keep, spans=True, boundary=boundary, reader=jsonstream._Reader(fh, base))
        finally:
            child.stop()

"""Rewriting manifests safely: read once, write all or nothing.

A file is read as bytes (``read_original``), edited as text without its
byte-order mark and with LF line endings, and written back (``write_all``) with the
same mark and line endings: every new content goes to a temporary file in the same
folder, flushed and fsynced, with the original's mode; only when all are ready, and
each original still holds the bytes that were read, are they renamed over the
originals. A file changed on disk since it was read is never overwritten."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from ..errors import UsageError

BOM = "\ufeff"


@dataclass(frozen=True)
class Original:
    path: str
    raw: bytes
    text: str  # decoded, without the BOM, line endings as LF
    bom: bool = False
    crlf: bool = False

    def encode(self, text: str) -> bytes:
        """New text in the original's form: its BOM and line endings."""
        if self.crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return ((BOM if self.bom else "") + text).encode("utf-8")


def decode(path: str, raw: bytes) -> Original:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    lf = text.count("\n")
    crlf = lf > 0 and text.count("\r\n") == lf
    if crlf:
        text = text.replace("\r\n", "\n")
    return Original(path, raw, text, bom, crlf)


def read_original(path: str) -> Original:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode(path, raw)


def write_all(rewrites: Sequence[Tuple[Original, str]]) -> List[str]:
    """Replace each original by its new text, all or none; returns the paths written.
    Refused (UsageError, nothing replaced) when a file cannot be prepared or changed
    on disk since it was read."""
    prepared: List[Tuple[Original, str]] = []
    try:
        for original, text in rewrites:
            prepared.append((original, _prepare(original, original.encode(text))))
        for original, _ in prepared:
            if _current_bytes(original.path) != original.raw:
                raise UsageError(
                    f"{original.path} changed on disk since it was read; nothing was written. Run the command again"
                )
        done = []
        for original, temp in prepared:
            os.replace(temp, os.path.realpath(original.path))  # a symlink stays a symlink
            done.append(original.path)
        for folder in {os.path.dirname(os.path.realpath(p)) for p in done}:
            _fsync_dir(folder)
        return done
    finally:
        for _, temp in prepared:
            if os.path.exists(temp):
                os.unlink(temp)


def _prepare(original: Original, data: bytes) -> str:
    real = os.path.realpath(original.path)  # the temporary file goes next to the real file
    folder = os.path.dirname(real)
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
        fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(real) + ".", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write {original.path}: {exc.strerror or exc}; nothing was written") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, mode)
    except OSError as exc:
        os.unlink(temp)
        raise UsageError(f"cannot write {original.path}: {exc.strerror or exc}; nothing was written") from None
    return temp


def _current_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""  # gone or unreadable: changed


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""The printing primitives printer.py shows results with: tables (tabulate), JSON
and YAML on stdout; notes and warnings on stderr, so that `-o json` stays parseable;
and the cell formatters views use. Commands never call the writers here."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, List, Optional, Sequence

BAR_WIDTH = 10


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def raw(text: str) -> None:
    sys.stdout.write(text)


def note(text: str) -> None:
    """A line for people on stderr; on a terminal, wrapped to WIDTH (continued lines
    indented) and its error:/warning: coloured. Piped, one line as it is (grep)."""
    if terminal(sys.stderr):  # errors stay one line: cli.report paints them itself
        text = "\n".join(
            "\n  ".join(wrap(line, WIDTH - 2) if len(line) > WIDTH else [line]) for line in text.split("\n")
        )
        text = paint(text)
    sys.stderr.write(text + "\n")


def sentence(text: str) -> None:
    """A sentence on stdout below a table, wrapped as the table is (WIDTH)."""
    out("\n  ".join(wrap(text, WIDTH - 2)) if len(text) > WIDTH else text)


RED, YELLOW, RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"
_SEVERITY = re.compile(r"^(error|warning)(?=[: ])", re.M)


def terminal(stream) -> bool:
    """Colour (and wrapped notes) only for a person: a TTY, and NO_COLOR unset or empty."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def paint(text: str) -> str:
    """Each line's leading error/warning in red/yellow (the caller checked terminal)."""
    return _SEVERITY.sub(lambda m: (RED if m.group(1) == "error" else YELLOW) + m.group(1) + RESET, text)


def severities(text: str) -> str:
    """A table on stdout whose rows start with a severity, coloured on a terminal."""
    return paint(text) if terminal(sys.stdout) else text


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)


def dump_yaml(data: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter: 20 times faster, the same text
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def emit(data: Any, fmt: str) -> None:
    """JSON or YAML of a whole answer."""
    if fmt == "json":
        out(dump_json(data))
    else:
        sys.stdout.write(dump_yaml(data))


def unicode_ok(stream=None) -> bool:
    """Whether marks beyond ASCII may be drawn: a terminal whose encoding is UTF-8
    (a pipe or a file gets ASCII, which every reader and grep can take)."""
    stream = stream or sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return tty and encoding == "utf8"


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], fit: bool = True, no_headers: bool = False) -> str:
    """A table in tabulate's "plain" format. With ``fit`` (every default output) it fits
    WIDTH columns: the widest columns wrap within themselves, each line of a cell under
    the one before (as `kubectl describe` wraps); -o wide passes ``fit=False``, and
    --no-headers (for scripts) keeps each row on one line."""
    if not rows:
        return ""
    shown = [] if no_headers else [h.upper() for h in headers]
    limit = WIDTH if fit and not no_headers else 0  # --no-headers: one line per row, for scripts
    fast = _plain_table(rows, shown, len(headers), limit)
    if fast is not None:
        return fast
    from tabulate import tabulate

    caps = None
    if limit:
        natural = [max(len(str(c)) for c in column) for column in zip(*rows)]
        floors = [len(h) + 2 for h in shown] if shown else [0] * len(natural)
        fitted = fit_widths(natural, floors, limit)
        caps = [c if c < w else None for c, w in zip(fitted, natural)] if fitted != natural else None
    return tabulate(rows, headers=shown, tablefmt="plain", disable_numparse=True, maxcolwidths=caps)


WIDTH = 120  # the columns a default table fits in
GAP = 2  # spaces between two columns (tabulate's plain format)
MIN_WIDTH = 8  # no column is wrapped narrower than this (or its header)


def fit_widths(widths: Sequence[int], floors: Sequence[int], limit: int) -> List[int]:
    """Column widths whose sum (with the gaps) is at most ``limit``: the widest columns
    are narrowed to one common width first, none below its floor (its header, its
    longest word) or MIN_WIDTH. Unchanged when they fit already; the floors when
    nothing else fits."""
    budget = limit - GAP * (len(widths) - 1)
    if sum(widths) <= budget:
        return list(widths)
    floors = [min(w, max(f, MIN_WIDTH)) for w, f in zip(widths, floors)]

    def capped(cap: int) -> List[int]:
        return [max(min(w, cap), f) for w, f in zip(widths, floors)]

    low, high = 0, max(widths)  # the widest common cap that fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if sum(capped(mid)) <= budget:
            low = mid
        else:
            high = mid - 1
    return capped(low)


_BREAK_AFTER = re.compile(r"(?<=[,/-])")
WORD_FLOOR = 24  # a column narrowed for the others keeps words up to this long whole
_WORDS = re.compile(r"\s+|(?<=,)")  # a name, a CIDR, an address is one word


def _floors(cells: Sequence[Sequence[str]], headers: Sequence[str], n: int, limit: int) -> List[int]:
    """How narrow each column may be, the first of these that lets the table fit:
    the first column whole (a line starting with a field then always starts a row)
    and the others no narrower than their longest word (up to WORD_FLOOR); the first
    column whole; else every column down to its header."""
    heads = [len(h) + 2 for h in headers] if headers else [0] * n
    words = [max((len(w) for row in cells for w in _WORDS.split(row[i])), default=0) for i in range(n)]
    first = max([heads[0]] + [len(row[0]) for row in cells])
    for floors in ([first] + [max(h, min(w, WORD_FLOOR)) for h, w in zip(heads[1:], words[1:])], [first] + heads[1:]):
        if sum(floors) + GAP * (n - 1) <= limit:
            return floors
    return heads


def wrap(text: str, width: int) -> List[str]:
    """``text`` in lines of at most ``width`` characters: broken at spaces, else after
    a comma, slash or hyphen (lists, CIDRs, names), else anywhere."""
    lines: List[str] = []
    line = ""
    for word in text.split():
        for k, part in enumerate(p for p in _BREAK_AFTER.split(word) if p):
            glue = "" if k or not line else " "
            if len(line) + len(glue) + len(part) <= width:
                line += glue + part
                continue
            if line:
                lines.append(line)
            while len(part) > width:
                lines.append(part[:width])
                part = part[width:]
            line = part
    return lines + [line] if line or not lines else lines


def _plain_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], n: int, limit: int = 0) -> Optional[str]:
    """tabulate's "plain" table, byte for byte, for the usual case (cells that are
    printable ASCII text; each row as long as the ``n`` headers; the headers given,
    or none), without tabulate's per-cell type detection: check prints thousands of
    rows on a large cluster. Wider than ``limit`` (when not 0), the widest cells wrap
    (fit_widths). Anything else returns None, for tabulate itself."""
    cells = []
    for row in rows:
        if len(row) != n:
            return None
        stripped = []
        for cell in row:
            if type(cell) is not str or not (cell.isascii() and cell.isprintable()):
                return None
            stripped.append(cell.strip())
        cells.append(stripped)
    if not all(type(h) is str and h.isascii() and h.isprintable() for h in headers):
        return None
    if headers:
        widths = [max([len(h) + 2] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    else:
        widths = [max(len(row[i]) for row in cells) for i in range(n)]
    fitted = widths
    if limit and sum(widths) + GAP * (n - 1) > limit:  # the floors read every cell: only when needed
        fitted = fit_widths(widths, _floors(cells, headers, n, limit), limit)
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, fitted)).rstrip()] if headers else []
    if fitted == widths:
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join(lines)
    for row in cells:
        parts = [wrap(c, w) if len(c) > w else [c] for c, w in zip(row, fitted)]
        if len(parts[0]) > 1:  # a first field's own lines go in by two: only a row starts at the margin
            parts[0] = [parts[0][0]] + ["  " + line for line in wrap(row[0][len(parts[0][0]) :], fitted[0] - 2)]
        for k in range(max(len(p) for p in parts)):
            lines.append("  ".join((p[k] if k < len(p) else "").ljust(w) for p, w in zip(parts, fitted)).rstrip())
    return "\n".join(lines)


def bar(used: int, total: int, width: int = BAR_WIDTH) -> str:
    """A small utilisation bar; any use shows at least one mark."""
    if total <= 0:
        return ""
    filled = (used * width) // total
    if used and not filled:
        filled = 1
    return "[" + "#" * filled + "." * (width - filled) + "]"


def ratio(used: int, total: int, with_bar: bool) -> str:
    if total <= 0:
        return "-"
    text = f"{used}/{total}"
    return f"{text} {bar(used, total)}" if with_bar else text


def optional(value: Optional[Any]) -> str:
    return "-" if value in (None, "") else str(value)


def advertisements(advs: Optional[dict], unread: bool = False) -> str:
    """{"l2": [...], "bgp": [...]} as "l2:a,b bgp:c"; "none" when none selects; "-"
    when the input had no advertisement kind. ``unread``: a kind could not be read
    from the cluster, so there may be more: "?" (after the names known)."""
    parts = [f"{k}:{','.join(v)}" for k, v in (advs or {}).items() if v]
    if unread:
        return " ".join(parts + ["?"])
    if advs is None:
        return "-"
    return " ".join(parts) or "none"


def unread_note(kinds: Sequence[str], column: str) -> str:
    """What a "?" in an advertisements column means (the notes above say why)."""
    return f"note: ? in {column}: {' and '.join(kinds)} could not be read from the cluster, so there may be more"

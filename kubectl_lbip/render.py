"""The only place that prints data: tables (tabulate), JSON and YAML on stdout;
notes and warnings on stderr, so that `-o json` stays parseable."""

from __future__ import annotations

import json
import sys
from typing import Any, List, Optional, Sequence

BAR_WIDTH = 10
NO_HEADERS = False  # --no-headers: set for each command run (cli.Where.inputs)


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def note(text: str) -> None:
    sys.stderr.write(text + "\n")


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)


def dump_yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


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


def wrapped(text: str, width: int) -> List[str]:
    """``text`` in lines of at most ``width`` columns, broken between words (a word
    longer than a line is cut)."""
    import textwrap

    return textwrap.wrap(text, max(width, 20), break_on_hyphens=False) or [""]


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    if not rows:
        return ""
    shown = [] if NO_HEADERS else [h.upper() for h in headers]
    fast = _plain_table(rows, shown, len(headers))
    if fast is not None:
        return fast
    from tabulate import tabulate

    return tabulate(rows, headers=shown, tablefmt="plain", disable_numparse=True)


def _plain_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], n: int) -> Optional[str]:
    """tabulate's "plain" table, byte for byte, for the usual case (cells that are
    printable ASCII text; each row as long as the ``n`` headers; the headers given,
    or none), without tabulate's per-cell type detection: check prints thousands of
    rows on a large cluster. Anything else returns None, for tabulate itself."""
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
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    else:
        widths = [max(len(row[i]) for row in cells) for i in range(n)]
        lines = []
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def names(kind: str, objects: Sequence[Any]) -> None:
    """-o name: one KIND/NAME line per object, as kubectl prints them; objects that
    live in namespaces as KIND/NAMESPACE/NAME (the listing spans namespaces)."""
    for obj in objects:
        out(f"{kind}/{obj}")


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

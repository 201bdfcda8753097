"""The only place that prints data: tables (tabulate), JSON and YAML on stdout;
notes and warnings on stderr, so that `-o json` stays parseable."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional, Sequence

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

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter: 20 times faster, the same text
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def emit(data: Any, fmt: str) -> None:
    """JSON or YAML of a whole answer."""
    if fmt == "json":
        out(dump_json(data))
    else:
        sys.stdout.write(dump_yaml(data))


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


def advertisements(advs: Optional[dict]) -> str:
    """{"l2": [...], "bgp": [...]} as "l2:a,b bgp:c"; "none" when none selects; "-"
    when the input had no advertisement kind."""
    if advs is None:
        return "-"
    parts = [f"{k}:{','.join(v)}" for k, v in advs.items() if v]
    return " ".join(parts) or "none"

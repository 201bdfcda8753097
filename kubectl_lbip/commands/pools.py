"""kubectl lbip pools: one row per pool with its ranges, flags and usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .. import printer, render
from ..errors import EXIT_OK
from ..model import addressmap as amap
from ..model import announce
from ..model.addresses import FAMILIES, IPV4, IPV6, to_text
from ..printer import Block, Note, Result, Table, Text
from .common import Inputs, legacy_note

FAMILY_NAMES = {IPV4: "IPv4", IPV6: "IPv6"}


def status_text(status, family: str) -> str:
    """MetalLB's assigned/available for one family, from the pool's status."""
    if status is None:
        return "-"
    suffix = "IPv4" if family == IPV4 else "IPv6"
    return f"{status['assigned' + suffix]}/{status['available' + suffix]}"


def run(inputs: Inputs, draw_map: bool = False) -> Result:
    # the advertisements selecting each pool: for -o wide, json and yaml
    snapshot = inputs.snapshot(
        network=(announce.L2ADV, announce.BGPADV) if "advertisements" in inputs.needs else False, cilium=True
    )
    cluster = snapshot.take_cluster()
    impl = inputs.implementation_of(snapshot, cluster)
    namespace = inputs.namespace_filter()
    rows = impl.pool_rows(namespace)
    shown = impl.drawn_pools(namespace) if draw_map else []
    maps = [pool_maps(cluster, pool) for pool in shown]
    for row, found in zip(rows, maps):
        row["map"] = {family: m.to_dict() for family, m in found.items()}
    notes = [msg] if (msg := legacy_note(snapshot)) else []
    notes += snapshot.network_notes  # a kind the identity may not list (as check says)
    answer = PoolsAnswer(
        rows,
        namespace,
        impl.release.describe(),
        announce.unread_advertisement_kinds(cluster),
        shown,
        maps,
        draw_map,
        impl.pool_kind,
        impl.pool_resource,
    )
    release_key, release = impl.release_entry()
    data = {release_key: release, "pools": rows, "legacyConfigMap": snapshot.uses_legacy_config}
    return Result(data, EXIT_OK, notes, views=VIEWS[impl.name], answer=answer)


@dataclass
class PoolsAnswer:
    """What the views read beyond the data."""

    rows: List[dict]
    namespace: Optional[str]
    release: str
    unread: List[str]
    shown: list
    maps: list
    draw_map: bool
    kind: str  # the pools' kind, as the implementation names it
    resource: str  # and as kubectl names it (-o name)


def names(result: Result) -> List[Block]:
    return printer.names(result.answer.resource, [r["name"] for r in result.answer.rows])


def wide(result: Result) -> List[Block]:
    return table(result, True)


def table(result: Result, wide: bool = False) -> List[Block]:
    a = result.answer
    blocks: List[Block] = [Note(a.release)]
    if not a.rows:
        return blocks + [
            Note(f"No resources found in {a.namespace} namespace." if a.namespace else f"no {a.kind} found")
        ]
    if a.draw_map:
        return blocks + [Text("\n".join(map_lines(a.shown, a.maps, render.unicode_ok())))]
    # the default fits a terminal (render.WIDTH); -o wide adds the rest at the end
    headers = ["name", "addresses", "autoAssign", "restrictions", "ipv4 used/total", "ipv6 used/total"]
    if wide:
        headers += [
            "namespace",
            "avoidBuggyIPs",
            "ipv4 free",
            "ipv6 free",
            "metallb ipv4",
            "metallb ipv6",
            "advertisements",
            "valid",
        ]
    rows = []
    for r in a.rows:
        line = [
            r["name"],
            ",".join(r["addresses"]) or "-",
            str(r["autoAssign"]).lower(),
            r["serviceAllocation"] or "-",
            render.ratio(r[IPV4]["used"], r[IPV4]["total"], True),
            render.ratio(r[IPV6]["used"], r[IPV6]["total"], True),
        ]
        if wide:
            line += [
                r["namespace"] or "-",
                str(r["avoidBuggyIPs"]).lower(),
                str(r[IPV4]["free"]),
                str(r[IPV6]["free"]),
                status_text(r["metallbStatus"], IPV4),
                status_text(r["metallbStatus"], IPV6),
                render.advertisements(r["advertisements"], bool(a.unread)),
                "yes" if r["valid"] else "no: " + "; ".join(r["errors"]),
            ]
        rows.append(line)
    blocks.append(Table(rows, headers, fit=not wide))
    if wide and a.unread:
        blocks.append(Note(render.unread_note(a.unread, "ADVERTISEMENTS")))
    blocks += [Note(f"warning: {err} (MetalLB rejects its whole configuration)") for r in a.rows for err in r["errors"]]
    return blocks


def pool_maps(cluster, pool) -> dict:
    """{family: FamilyMap} for the families the pool has."""
    found = {}
    for family in FAMILIES:
        m = amap.family_map(cluster, pool, family)
        if m is not None:
            found[family] = m
    return found


ROW = 64  # addresses per row of a map, in groups of GROUP
GROUP = 16
CELLS = {
    False: {
        amap.FREE: ".",
        amap.HELD: "#",
        amap.SHARED: "=",
        amap.REQUESTED: "r",
        amap.CONFLICT: "X",
        amap.UNUSABLE: "_",
    },
    True: {
        amap.FREE: "\u00b7",
        amap.HELD: "\u2588",
        amap.SHARED: "\u2593",
        amap.REQUESTED: "\u2591",
        amap.CONFLICT: "X",
        amap.UNUSABLE: "_",
    },
}
WORDS = {
    amap.FREE: "free",
    amap.HELD: "held",
    amap.SHARED: "shared",
    amap.REQUESTED: "requested, not held (a Pending service, or a manifest not applied)",
    amap.CONFLICT: "conflicting (services that may not share it)",
    amap.UNUSABLE: "unusable (.0/.255 with avoidBuggyIPs)",
}


def map_lines(pools, maps, fancy: bool = False) -> list:
    """Each pool's map: a pool of up to MAP_LIMIT addresses of a family address by
    address (ROW to a line, from the address at its start), a larger one by ranges;
    then the legend. At most 2 + 39 + 2 + 67 = 110 columns."""
    cells = CELLS[fancy]
    out = []
    for pool, found in zip(pools, maps):
        for family, m in found.items():
            counts = m.counts()
            said = ", ".join(f"{counts[s]} {s}" for s in amap.STATES if counts.get(s))
            ranges = ",".join(str(iv) for iv in pool.intervals_of(family))
            if m.detailed:
                out += render.wrap(f"{pool.name} {FAMILY_NAMES[family]} {ranges}: {said}", 110)
                out += _grid(m, cells)
            else:
                size, found_blocks = amap.blocks(pool, m)
                bits = size.bit_length() - 1
                each = f"/{(32 if family == IPV4 else 128) - bits} ({size} addresses)"
                out += render.wrap(f"{pool.name} {FAMILY_NAMES[family]} {ranges}: {said}; one mark per {each}", 110)
                out += _block_grid(m.family, size, found_blocks, fancy)
            out.append("")
    line = "legend:"
    entries = [f"{cells[state]} {WORDS[state]}" for state in amap.STATES]
    if any(not m.detailed for found in maps for m in found.values()):
        low, high = LEVELS[fancy][0], LEVELS[fancy][-1]
        entries.append(
            f"per block: {cells[amap.FREE]} none used, {low}..{high} some used (more: higher), "
            f"{cells[amap.HELD]} all used, X one conflicting"
        )
    for entry in entries:  # entries whole, as many to a line as fit
        if len(line) + 2 + len(entry) > 110:
            out.append(line)
            line = "       "
        line += "  " + entry
    out.append(line)
    return out


def _grid(m, cells) -> list:
    rows: List[Tuple[int, List[str]]] = []  # (first address of the row, its cells)
    for run in m.runs:
        for value in range(run.first, run.last + 1):  # a detailed map has at most MAP_LIMIT
            if not rows or len(rows[-1][1]) == ROW or rows[-1][0] + len(rows[-1][1]) != value:
                rows.append((value, []))
            rows[-1][1].append(cells[run.state])
    width = max(len(to_text(m.family, first)) for first, _ in rows)
    lines = []
    for first, row in rows:
        groups = ["".join(row[i : i + GROUP]) for i in range(0, len(row), GROUP)]
        lines.append(f"  {to_text(m.family, first):<{width}}  {' '.join(groups)}")
    return lines


LEVELS = {False: "123456789", True: "\u2581\u2582\u2583\u2584\u2585\u2586\u2587"}


def _block_grid(family: str, size: int, found, fancy: bool) -> list:
    """One mark per block, ROW to a line (a line starts a new row where the pool's
    ranges are not contiguous)."""
    cells, levels = CELLS[fancy], LEVELS[fancy]

    def mark(b) -> str:
        if b.conflict:
            return cells[amap.CONFLICT]
        if b.used == 0:
            return cells[amap.FREE]
        if b.used >= b.usable:
            return cells[amap.HELD]
        return levels[min(len(levels) - 1, b.used * len(levels) // b.usable)]

    rows: List[Tuple[int, List[str], int]] = []  # (first address, marks, last address)
    for b in found:
        if not rows or len(rows[-1][1]) == ROW or rows[-1][2] + 1 != b.first:
            rows.append((b.first, [], b.last))
        first, marks, _ = rows[-1]
        marks.append(mark(b))
        rows[-1] = (first, marks, b.last)
    width = max(len(to_text(family, first)) for first, _, _ in rows)
    empty = cells[amap.FREE] * ROW
    lines: List[str] = []
    skipped = 0  # rows of blocks none of whose addresses is used, after the first: one line
    for i, (first, row, _) in enumerate(rows):
        text = "".join(row)
        if text == empty and i and "".join(rows[i - 1][1]) == empty:
            skipped += 1
            if i + 1 < len(rows):
                continue
        if skipped:
            lines.append(f"  {'':<{width}}  ... {skipped} more row(s) of blocks, none used")
            skipped = 0
            if text == empty and i + 1 == len(rows):
                continue
        groups = " ".join(text[j : j + GROUP] for j in range(0, len(text), GROUP))
        lines.append(f"  {to_text(family, first):<{width}}  {groups}")
    return lines


# --------------------------------------------------------------------------
# Cilium LB-IPAM's pools (cluster-scoped; Implementation.pool_rows of model/implementation.py)


def cilium_wide(result: Result) -> List[Block]:
    return cilium_table(result, True)


def cilium_table(result: Result, wide: bool = False) -> List[Block]:
    a = result.answer
    blocks: List[Block] = [Note(a.release)]
    if not a.rows:
        return blocks + [Note(f"no {a.kind} found")]
    if a.draw_map:
        return blocks + [Note(f"--map draws MetalLB's pools only: not the {a.kind}s of Cilium LB-IPAM")]
    headers = ["name", "blocks", "disabled", "selector", "ipv4 used/total", "ipv6 used/total"]
    if wide:
        headers += ["ipv4 free", "ipv6 free", "reserved", "conflict", "cilium used/total", "valid"]
    rows = []
    for r in a.rows:
        line = [
            r["name"],
            ",".join(r["blocks"]) or "-",
            str(r["disabled"]).lower(),
            r["serviceSelector"] or "-",
            render.ratio(r[IPV4]["used"], r[IPV4]["total"], True),
            render.ratio(r[IPV6]["used"], r[IPV6]["total"], True),
        ]
        if wide:
            status = r["ciliumStatus"] or {}
            conflict = r["conflict"]
            line += [
                str(r[IPV4]["free"]),
                str(r[IPV6]["free"]),
                str(r[IPV4]["reserved"] + r[IPV6]["reserved"]),
                "-" if conflict is None else f"with {conflict['with']}",
                f"{status.get('used') or '-'}/{status.get('total') or '-'}" if status else "-",
                "yes" if r["valid"] else "no: " + "; ".join(r["errors"]),
            ]
        rows.append(line)
    blocks.append(Table(rows, headers, fit=not wide))
    for r in a.rows:
        conflict = r["conflict"]
        if conflict is not None:
            blocks.append(
                Note(
                    f"warning: pool {r['name']} is marked cilium.io/PoolConflict ({conflict['range']} overlaps "
                    f"{conflict['otherRange']} of pool {conflict['with']}): it allocates nothing"
                )
            )
        blocks += [Note(f"warning: {err} (the operator keeps no part of this pool)") for err in r["errors"]]
    if any(r[f]["reserved"] for r in a.rows for f in FAMILIES):
        blocks.append(Note("note: used counts the reserved first and last addresses of cidr blocks, as IPsUsed does"))
    return blocks


VIEWS: Dict[str, Dict[str, printer.View]] = {
    "metallb": {"table": table, "wide": wide, "name": names},
    "cilium": {"table": cilium_table, "wide": cilium_wide, "name": names},
}

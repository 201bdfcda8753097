"""A pool's address space as runs of one state each: free, held, shared, requested
(by a Pending service, or a manifest not applied yet), conflicting, or unusable
(.0 and .255 with avoidBuggyIPs). What `pools --map` draws.

Nothing is enumerated: a walk visits the addresses services use (from the usage
index) and the free gaps between them, so a /64 costs what its services cost. A
pool of up to MAP_LIMIT addresses of a family is mapped address by address
(``detailed``: the unusable addresses are runs of their own); a larger one is
summarised by blocks, aligned ranges of a power of two addresses (at most
MAP_LIMIT of them), each with how many of its addresses are used and whether one
is conflicting; its unusable addresses are left out of the free runs' counts."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .addresses import IPV4, Interval, buggy_count, is_buggy, to_text
from .pools import Pool
from .rules import sharing_conflict
from .services import ASSIGNED

FREE, HELD, SHARED, REQUESTED, CONFLICT, UNUSABLE = "free", "held", "shared", "requested", "conflict", "unusable"
STATES = (FREE, HELD, SHARED, REQUESTED, CONFLICT, UNUSABLE)
MAP_LIMIT = 4096  # addresses of one family mapped one by one; beyond it, ranges


@dataclass(frozen=True)
class Run:
    first: int
    last: int
    state: str
    count: int  # addresses of the run MetalLB could hand out (free runs) or that are used
    services: Tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class FamilyMap:
    family: str
    total: int  # addresses in the pool's ranges of this family
    detailed: bool
    runs: Tuple[Run, ...]

    def counts(self) -> Dict[str, int]:
        """Addresses per state (unusable ones too)."""
        out: Dict[str, int] = {}
        for r in self.runs:
            out[r.state] = out.get(r.state, 0) + (r.size if r.state == UNUSABLE else r.count)
        return out

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "detailed": self.detailed,
            "runs": [
                {
                    "first": to_text(self.family, r.first),
                    "last": to_text(self.family, r.last),
                    "state": r.state,
                    "count": r.count,
                    "services": list(r.services),
                }
                for r in self.runs
            ],
        }


def state_at(cluster, family: str, value: int) -> Tuple[str, Tuple[str, ...]]:
    """The state of one address services use, and those services (namespace/name)."""
    uses = cluster.index.uses(family, value)
    services = {u.service.key: u.service for u in uses}
    keys = tuple(services)
    if not keys:
        return FREE, ()
    others = list(services.values())
    for i, a in enumerate(others):
        if any(sharing_conflict(a, b) for b in others[i + 1 :]):
            return CONFLICT, keys
    if len(keys) > 1:
        return SHARED, keys
    if any(u.how == ASSIGNED for u in uses):
        return HELD, keys
    return REQUESTED, keys


def _disjoint(intervals: List[Interval]) -> List[Interval]:
    """The pool's ranges of one family, sorted, with any overlap counted once."""
    out: List[Interval] = []
    for iv in sorted(intervals, key=lambda i: (i.first, i.last)):
        if out and iv.first <= out[-1].last:
            if iv.last > out[-1].last:
                out.append(Interval(iv.family, out[-1].last + 1, iv.last))
            continue
        out.append(iv)
    return out


def family_map(cluster, pool: Pool, family: str, limit: int = MAP_LIMIT) -> Optional[FamilyMap]:
    """The runs of one family of a pool, or None when the pool has none of it."""
    ranges = _disjoint(pool.intervals_of(family))
    if not ranges:
        return None
    total = sum(iv.size for iv in ranges)
    detailed = total <= limit
    avoid = pool.avoid_buggy_ips and family == IPV4
    runs: List[Run] = []

    def add(first: int, last: int, state: str, count: int, services: Tuple[str, ...] = ()) -> None:
        prev = runs[-1] if runs else None
        if prev is not None and prev.state == state and prev.last + 1 == first:
            merged = prev.services + tuple(s for s in services if s not in prev.services)
            runs[-1] = Run(prev.first, last, state, prev.count + count, merged)
        else:
            runs.append(Run(first, last, state, count, services))

    def gap(first: int, last: int) -> None:
        if first > last:
            return
        if not avoid:
            add(first, last, FREE, last - first + 1)
        elif not detailed:
            add(first, last, FREE, last - first + 1 - buggy_count(Interval(family, first, last)))
        else:
            start = first
            for value in range(first, last + 1):  # at most MAP_LIMIT addresses
                if is_buggy(family, value):
                    if value > start:
                        add(start, value - 1, FREE, value - start)
                    add(value, value, UNUSABLE, 0)
                    start = value + 1
            if start <= last:
                add(start, last, FREE, last - start + 1)

    for iv in ranges:
        pos = iv.first
        for value in cluster.index.every_in(iv):
            gap(pos, value - 1)
            state, services = state_at(cluster, family, value)
            add(value, value, state, 1, services)
            pos = value + 1
        gap(pos, iv.last)
    return FamilyMap(family, total, detailed, tuple(runs))


@dataclass(frozen=True)
class Block:
    """An aligned range of a large pool (clipped to the pool's range)."""

    first: int
    last: int
    usable: int  # addresses MetalLB can hand out
    used: int  # of them held, shared or requested
    conflict: bool  # one of them is conflicting


def block_size(total: int, cells: int = MAP_LIMIT) -> int:
    """The smallest power of two of addresses per block that maps ``total`` in at
    most ``cells`` blocks."""
    size = 1
    while total > size * cells:
        size <<= 1
    return size


def blocks(pool: Pool, m: FamilyMap, cells: int = MAP_LIMIT) -> Tuple[int, List[Block]]:
    """(addresses per block, the blocks) of a family's map, in address order."""
    size = block_size(m.total, cells)
    avoid = pool.avoid_buggy_ips and m.family == IPV4
    spans: List[Tuple[int, int]] = []
    for iv in _disjoint(pool.intervals_of(m.family)):
        for k in range(iv.first // size, iv.last // size + 1):
            spans.append((max(k * size, iv.first), min((k + 1) * size - 1, iv.last)))
    starts = [first for first, _ in spans]
    used = [0] * len(spans)
    conflict = [False] * len(spans)
    for run in m.runs:
        if run.state in (FREE, UNUSABLE):
            continue
        i = bisect.bisect_right(starts, run.first) - 1
        value = run.first
        while value <= run.last and 0 <= i < len(spans):  # a run of used addresses: few blocks
            end = min(run.last, spans[i][1])
            used[i] += end - value + 1
            conflict[i] = conflict[i] or run.state == CONFLICT
            value, i = end + 1, i + 1
    out = []
    for i, (first, last) in enumerate(spans):
        usable = last - first + 1 - (buggy_count(Interval(m.family, first, last)) if avoid else 0)
        out.append(Block(first, last, usable, min(used[i], usable), conflict[i]))
    return size, out

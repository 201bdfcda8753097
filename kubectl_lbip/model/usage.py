"""UsageIndex: which LoadBalancer services hold or request each address.

Built in one pass over the services; sorted integer keys per family let a range
query or a walk for free addresses skip used ones without touching the rest of a
pool, however large."""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Dict, Iterable, List, NamedTuple, Protocol, Tuple

from .addresses import FAMILIES, Interval, family_of, is_buggy
from .pools import Pool
from .services import ASSIGNED, Service


class Use(NamedTuple):
    """One service's use of one address (a tuple: there are hundreds of thousands)."""

    service: Service
    how: str  # ASSIGNED, REQUESTED, REQUESTED_DEPRECATED or SPEC_IP

    @property
    def claims(self) -> bool:
        """Whether this use takes the address from other services: MetalLB assigned
        it, or it is a manifest's request (an intention). A request of a service
        whose status is MetalLB's record and that does not hold the address is one
        MetalLB refused: its allocator never saw it, and hands the address out."""
        return self.how == ASSIGNED or not self.service.observed


Key = Tuple[str, int]


class UsageIndex:
    def __init__(self, services: Iterable[Service]):
        self._uses: Dict[Key, List[Use]] = defaultdict(list)
        for svc in services:
            if not svc.is_load_balancer:
                continue
            for addr in svc.held():
                self._uses[(family_of(addr), int(addr))].append(Use(svc, ASSIGNED))
            for req in svc.requests():
                for addr in req.addresses:
                    self._uses[(family_of(addr), int(addr))].append(Use(svc, req.how))
        self._claimed_sorted: Dict[str, List[int]] = defaultdict(list)
        self._held_sorted: Dict[str, List[int]] = defaultdict(list)
        for family, value in sorted(self._uses):
            uses = self._uses[(family, value)]
            if any(u.claims for u in uses):
                self._claimed_sorted[family].append(value)
            if any(u.how == ASSIGNED for u in uses):
                self._held_sorted[family].append(value)

    def add(self, svc: Service) -> None:
        """Index one more service's uses (a plan's choice, one at a time)."""
        if not svc.is_load_balancer:
            return
        uses = [(a, ASSIGNED) for a in svc.held()]
        uses += [(a, r.how) for r in svc.requests() for a in r.addresses]
        for addr, how in uses:
            key = (family_of(addr), int(addr))
            was_claimed = any(u.claims for u in self._uses.get(key, ()))
            was_held = any(u.how == ASSIGNED for u in self._uses.get(key, ()))
            use = Use(svc, how)
            self._uses[key].append(use)
            if use.claims and not was_claimed:
                bisect.insort(self._claimed_sorted[key[0]], key[1])
            if how == ASSIGNED and not was_held:
                bisect.insort(self._held_sorted[key[0]], key[1])

    def uses(self, family: str, value: int) -> List[Use]:
        return self._uses.get((family, value), [])

    def services_at(self, family: str, value: int) -> List[Service]:
        """Distinct services that hold or request an address, in first-seen order."""
        seen: Dict[str, Service] = {}
        for use in self.uses(family, value):
            seen.setdefault(use.service.key, use.service)
        return list(seen.values())

    def used_in(self, iv: Interval, held_only: bool = False) -> List[int]:
        """Claimed addresses inside an interval (held only: assigned), ascending."""
        values = (self._held_sorted if held_only else self._claimed_sorted)[iv.family]
        lo = bisect.bisect_left(values, iv.first)
        hi = bisect.bisect_right(values, iv.last)
        return values[lo:hi]

    def addresses(self) -> Iterable[Key]:
        return self._uses.keys()

    def __len__(self) -> int:
        return len(self._uses)


class Indexed(Protocol):
    """What the counts need of a Cluster (which holds the index: no import of it here)."""

    index: "UsageIndex"


def usage_counts(cluster: Indexed, pool: Pool, family: str) -> Tuple[int, int]:
    """(total, used) for one family of a pool; used counts each distinct claimed
    address (held, or requested in a manifest) that MetalLB could hand out from the
    pool. On a live cluster that is what MetalLB counts as assigned."""
    used = 0
    for iv in pool.intervals_of(family):
        for value in cluster.index.used_in(iv):
            if not (pool.avoid_buggy_ips and is_buggy(family, value)):
                used += 1
    return pool.total(family), used


def family_counts(cluster: Indexed, pool: Pool) -> Dict[str, Dict[str, int]]:
    """{"ipv4": {"total", "used", "free"}, "ipv6": {...}}, as pools and free print them."""
    counts = {}
    for family in FAMILIES:
        total, used = usage_counts(cluster, pool, family)
        counts[family] = {"total": total, "used": used, "free": total - used}
    return counts

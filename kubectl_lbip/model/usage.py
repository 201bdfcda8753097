"""UsageIndex: which LoadBalancer services hold or request each address.

Built in one pass over the services; sorted integer keys per family let a range
query or a walk for free addresses skip used ones without touching the rest of a
pool, however large."""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Dict, Iterable, List, NamedTuple, Tuple

from .addresses import Interval, family_of
from .services import ASSIGNED, Service


class Use(NamedTuple):
    """One service's use of one address (a tuple: there are hundreds of thousands)."""

    service: Service
    how: str  # ASSIGNED, REQUESTED, REQUESTED_DEPRECATED or SPEC_IP


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
        self._sorted: Dict[str, List[int]] = defaultdict(list)
        self._held_sorted: Dict[str, List[int]] = defaultdict(list)
        for family, value in sorted(self._uses):
            self._sorted[family].append(value)
            if any(u.how == ASSIGNED for u in self._uses[(family, value)]):
                self._held_sorted[family].append(value)

    def add(self, svc: Service) -> None:
        """Index one more service's uses (a plan's choice, one at a time)."""
        if not svc.is_load_balancer:
            return
        uses = [(a, ASSIGNED) for a in svc.held()]
        uses += [(a, r.how) for r in svc.requests() for a in r.addresses]
        for addr, how in uses:
            key = (family_of(addr), int(addr))
            if key not in self._uses:
                bisect.insort(self._sorted[key[0]], key[1])
            was_held = any(u.how == ASSIGNED for u in self._uses.get(key, ()))
            self._uses[key].append(Use(svc, how))
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
        """Used addresses inside an interval, ascending."""
        values = (self._held_sorted if held_only else self._sorted)[iv.family]
        lo = bisect.bisect_left(values, iv.first)
        hi = bisect.bisect_right(values, iv.last)
        return values[lo:hi]

    def addresses(self) -> Iterable[Key]:
        return self._uses.keys()

    def __len__(self) -> int:
        return len(self._uses)

"""UsageIndex: which LoadBalancer services hold or request each address.

Built in one pass over the services; sorted integer keys per family let a range
query or a walk for free addresses skip used ones without touching the rest of a
pool, however large."""

from __future__ import annotations

import bisect
from ipaddress import IPv4Address
from typing import Dict, Iterable, List, NamedTuple, Tuple

from .addresses import FAMILIES, IPV4, IPV6, Interval
from .services import ASSIGNED, CURRENT, DEPRECATED, LB_IPS, Service

LB_IPS_KEYS = (CURRENT + LB_IPS, DEPRECATED + LB_IPS)


class Use(NamedTuple):
    """One service's use of one address (a tuple: there are hundreds of thousands)."""

    service: Service
    how: str  # ASSIGNED, REQUESTED, REQUESTED_DEPRECATED or SPEC_IP


Key = Tuple[str, int]


class UsageIndex:
    def __init__(self, services: Iterable[Service]):
        # family -> address (an integer) -> uses; one dict per family, so that a
        # cluster's hundred thousand addresses need no (family, value) key tuples.
        self._by_family: Dict[str, Dict[int, List[Use]]] = {IPV4: {}, IPV6: {}}
        held_values: Dict[str, set] = {IPV4: set(), IPV6: set()}
        v4, v6 = self._by_family[IPV4], self._by_family[IPV6]
        held4, held6 = held_values[IPV4], held_values[IPV6]
        new_use = tuple.__new__  # Use(...) without its Python-level __new__: one per service and use
        for svc in services:
            if svc.type != "LoadBalancer" or svc.load_balancer_class:  # svc.is_load_balancer, inlined
                continue
            if svc.ingress:
                use = new_use(Use, (svc, ASSIGNED))
                for addr in svc.held_addresses():
                    value = int(addr)
                    if type(addr) is IPv4Address:
                        v4.setdefault(value, []).append(use)
                        held4.add(value)
                    else:
                        v6.setdefault(value, []).append(use)
                        held6.add(value)
            annotations = svc.annotations
            if not (svc.load_balancer_ip or LB_IPS_KEYS[0] in annotations or LB_IPS_KEYS[1] in annotations):
                continue  # no request: most services
            for req in svc.requests():
                if req.addresses:
                    use = new_use(Use, (svc, req.how))
                    for addr in req.addresses:
                        (v4 if type(addr) is IPv4Address else v6).setdefault(int(addr), []).append(use)
        self._sorted: Dict[str, List[int]] = {f: sorted(uses) for f, uses in self._by_family.items()}
        self._held_sorted: Dict[str, List[int]] = {f: sorted(held_values[f]) for f in FAMILIES}

    def add(self, svc: Service) -> None:
        """Index one more service's uses (a plan's choice, one at a time)."""
        if not svc.is_load_balancer:
            return
        uses = [(a, ASSIGNED) for a in svc.held()]
        uses += [(a, r.how) for r in svc.requests() for a in r.addresses]
        for addr, how in uses:
            family, value = (IPV4 if addr.version == 4 else IPV6), int(addr)
            by_value = self._by_family[family]
            if value not in by_value:
                bisect.insort(self._sorted[family], value)
            current = by_value.setdefault(value, [])
            was_held = any(u.how == ASSIGNED for u in current)
            current.append(Use(svc, how))
            if how == ASSIGNED and not was_held:
                bisect.insort(self._held_sorted[family], value)

    def uses(self, family: str, value: int) -> List[Use]:
        return self._by_family[family].get(value, [])

    def services_at(self, family: str, value: int) -> List[Service]:
        """Distinct services that hold or request an address, in first-seen order."""
        seen: Dict[str, Service] = {}
        for use in self.uses(family, value):
            seen.setdefault(use.service.key, use.service)
        return list(seen.values())

    def shared(self) -> Iterable[Tuple[str, int, List[Service]]]:
        """(family, value, services) for every address two or more distinct services
        hold or request, IPv4 first, each family ascending: the only addresses where
        services can conflict."""
        for family in FAMILIES:
            by_value = self._by_family[family]
            for value in self._sorted[family]:
                uses = by_value[value]
                if len(uses) > 1:
                    first = uses[0].service
                    if any(use.service is not first for use in uses):
                        yield family, value, self.services_at(family, value)

    def used_in(self, iv: Interval, held_only: bool = False) -> List[int]:
        """Used addresses inside an interval, ascending."""
        values = (self._held_sorted if held_only else self._sorted)[iv.family]
        lo = bisect.bisect_left(values, iv.first)
        hi = bisect.bisect_right(values, iv.last)
        return values[lo:hi]

    def addresses(self) -> Iterable[Key]:
        """Every used address as (family, value), IPv4 first, each family ascending."""
        return [(family, value) for family in FAMILIES for value in self._sorted[family]]

    def __len__(self) -> int:
        return sum(len(by_value) for by_value in self._by_family.values())

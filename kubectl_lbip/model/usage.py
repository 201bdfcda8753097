"""UsageIndex: which LoadBalancer services hold or request each address.

Built in one pass over the services; sorted integer keys per family let a range
query or a walk for free addresses skip used ones without touching the rest of a
pool, however large."""

from __future__ import annotations

import bisect
from ipaddress import IPv4Address
from typing import Dict, Iterable, List, NamedTuple, Protocol, Tuple

from .addresses import FAMILIES, IPV4, IPV6, AddressError, Interval, address_value, family_of, is_buggy
from .pools import Pool
from .services import ASSIGNED, CURRENT, DEPRECATED, LB_IPS, Service

LB_IPS_KEYS = (CURRENT + LB_IPS, DEPRECATED + LB_IPS)


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
        # family -> address (an integer) -> uses; one dict per family, so that a
        # cluster's hundred thousand addresses need no (family, value) key tuples.
        self._by_family: Dict[str, Dict[int, List[Use]]] = {IPV4: {}, IPV6: {}}
        claimed: Dict[str, set] = {IPV4: set(), IPV6: set()}
        held: Dict[str, set] = {IPV4: set(), IPV6: set()}
        v4, v6 = self._by_family[IPV4], self._by_family[IPV6]
        new_use = tuple.__new__  # Use(...) without its Python-level __new__: one per service and use
        for svc in services:
            if svc.type != "LoadBalancer" or svc.load_balancer_class:  # svc.is_load_balancer, inlined
                continue
            if svc.ingress:
                use = new_use(Use, (svc, ASSIGNED))
                for text in svc.ingress:  # svc.held_addresses(), as integers only
                    try:
                        family, value = address_value(text)
                    except AddressError:
                        continue
                    (v4 if family == IPV4 else v6).setdefault(value, []).append(use)
                    held[family].add(value)
                    claimed[family].add(value)  # an assigned address is always claimed
            annotations = svc.annotations
            if not (svc.load_balancer_ip or LB_IPS_KEYS[0] in annotations or LB_IPS_KEYS[1] in annotations):
                continue  # no request: most services
            for req in svc.requests():
                if req.addresses:
                    use = new_use(Use, (svc, req.how))
                    for addr in req.addresses:
                        value = int(addr)
                        family = IPV4 if type(addr) is IPv4Address else IPV6
                        (v4 if family == IPV4 else v6).setdefault(value, []).append(use)
                        if not svc.observed:  # Use.claims: a manifest's request is an intention
                            claimed[family].add(value)
        self._sorted: Dict[str, List[int]] = {f: sorted(uses) for f, uses in self._by_family.items()}
        self._claimed_sorted: Dict[str, List[int]] = {f: sorted(claimed[f]) for f in FAMILIES}
        self._held_sorted: Dict[str, List[int]] = {f: sorted(held[f]) for f in FAMILIES}

    def add(self, svc: Service) -> None:
        """Index one more service's uses (a plan's choice, one at a time)."""
        if not svc.is_load_balancer:
            return
        uses = [(a, ASSIGNED) for a in svc.held()]
        uses += [(a, r.how) for r in svc.requests() for a in r.addresses]
        for addr, how in uses:
            family, value = family_of(addr), int(addr)
            by_value = self._by_family[family]
            current = by_value.get(value, [])
            was_claimed = any(u.claims for u in current)
            was_held = any(u.how == ASSIGNED for u in current)
            if value not in by_value:
                bisect.insort(self._sorted[family], value)
            use = Use(svc, how)
            by_value.setdefault(value, []).append(use)
            if use.claims and not was_claimed:
                bisect.insort(self._claimed_sorted[family], value)
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
        """Claimed addresses inside an interval (held only: assigned), ascending."""
        values = (self._held_sorted if held_only else self._claimed_sorted)[iv.family]
        lo = bisect.bisect_left(values, iv.first)
        hi = bisect.bisect_right(values, iv.last)
        return values[lo:hi]

    def every_in(self, iv: Interval) -> List[int]:
        """Every address inside an interval that a service holds or requests (a
        refused request too), ascending."""
        values = self._sorted[iv.family]
        return values[bisect.bisect_left(values, iv.first) : bisect.bisect_right(values, iv.last)]

    def addresses(self) -> Iterable[Key]:
        """Every used address as (family, value), IPv4 first, each family ascending."""
        return [(family, value) for family in FAMILIES for value in self._sorted[family]]

    def __len__(self) -> int:
        return sum(len(by_value) for by_value in self._by_family.values())


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


def holder_entry(namespace: str, name: str, sharing_key: str, ports) -> dict:
    """who-has's row of one service using an address (``how`` filled in by the caller)."""
    return {
        "namespace": namespace,
        "name": name,
        "how": [],
        "sharingKey": sharing_key or None,
        "ports": [str(p) for p in ports],
    }

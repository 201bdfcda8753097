"""IPAddressPools (and the legacy ConfigMap's address-pools) as integer intervals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .addresses import FAMILIES, AddressError, Interval, buggy_count, is_buggy, parse_pool_address
from .legacy import LegacyConfig
from .metallb import NEWEST, Version, priority_only_pool_serves_every_service
from .schema import ANY, BOOL, INT, LABELS, SELECTOR, STR, STRINGS, at, build, list_of, map_of, obj
from .selectors import Selector, SelectorError, selector_list


@dataclass(frozen=True)
class ServiceAllocation:
    """``spec.serviceAllocation``: which services a pool may serve.

    ``namespaces`` already includes the namespaces its namespaceSelectors matched,
    because that is how MetalLB resolves them (against the Namespace objects).
    """

    priority: int = 0
    namespaces: Tuple[str, ...] = ()
    namespace_selectors: Tuple[Selector, ...] = ()
    service_selectors: Tuple[Selector, ...] = ()
    listed_namespaces: Tuple[str, ...] = ()

    @property
    def matches_all_services(self) -> bool:
        # MetalLB turns an empty serviceAllocation into "every service".
        return not (self.listed_namespaces or self.namespace_selectors or self.service_selectors)

    def describe(self) -> str:
        parts = []
        if self.priority:
            parts.append(f"priority={self.priority}")
        if self.listed_namespaces:
            parts.append("namespaces=" + ",".join(self.listed_namespaces))
        if self.namespace_selectors:
            parts.append("namespaceSelectors=" + ";".join(map(str, self.namespace_selectors)))
        if self.service_selectors:
            parts.append("serviceSelectors=" + ";".join(map(str, self.service_selectors)))
        return " ".join(parts) or "any service"


# spec.serviceAllocation as MetalLB's CRD has it (resolved into a ServiceAllocation).
ALLOCATION = obj(
    priority=INT, namespaces=STRINGS, namespaceSelectors=list_of(SELECTOR), serviceSelectors=list_of(SELECTOR)
)


@dataclass
class Pool:
    """An address pool as the model reads it. The fields with ``at`` are the
    IPAddressPool's table (model/schema.py: its shape check, its trim and the
    constructor derive from them); ``intervals``, ``allocation`` and ``errors`` are
    computed from those by ``from_object``; the legacy ConfigMap's pools are made by
    pools_from_legacy_config from that ConfigMap's own table (model/legacy.py)."""

    name: str = field(metadata=at("metadata.name", STR))
    namespace: str = field(default="", metadata=at("metadata.namespace", STR))
    addresses: Tuple[str, ...] = field(default=(), metadata=at("spec.addresses", STRINGS, ()))
    intervals: Tuple[Interval, ...] = ()  # in the order listed: MetalLB walks them so
    auto_assign: bool = field(default=True, metadata=at("spec.autoAssign", BOOL, True))
    avoid_buggy_ips: bool = field(default=False, metadata=at("spec.avoidBuggyIPs", BOOL, False))
    allocation: Optional[ServiceAllocation] = None
    errors: Tuple[str, ...] = ()
    legacy: bool = False
    status: Dict[str, int] = field(default_factory=dict, metadata=at("status", map_of(ANY), {}, convert=dict))
    # Read, not compared: the labels (advertisements' ipAddressPoolSelectors match
    # them), the resourceVersion, and spec.serviceAllocation as written.
    labels: Dict[str, str] = field(
        default_factory=dict, compare=False, repr=False, metadata=at("metadata.labels", LABELS, {})
    )
    resource_version: str = field(default="", compare=False, repr=False, metadata=at("metadata.resourceVersion", STR))
    service_allocation: Optional[Mapping] = field(
        default=None, compare=False, repr=False, metadata=at("spec.serviceAllocation", ALLOCATION, None)
    )
    # --against-cluster: where the object came from (a model.cluster.Origin, set by the snapshot).
    origin: Optional[Any] = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_object(cls, obj: Mapping, namespace_labels: Mapping[str, Mapping[str, str]]) -> "Pool":
        """An IPAddressPool object (shape-checked) to a Pool, from its table; problems
        go to ``errors``, because MetalLB rejects its configuration rather than one pool.
        ``namespace_labels`` resolve the namespaceSelectors."""
        pool = build(cls, obj)
        errors: List[str] = []
        pool.intervals = tuple(_parse_addresses(pool.name, pool.addresses, errors))
        if pool.service_allocation is not None:
            try:
                pool.allocation = _allocation(pool.service_allocation, namespace_labels)
            except (SelectorError, AttributeError, TypeError, ValueError) as exc:
                errors.append(f"pool {pool.name}: invalid serviceAllocation: {exc}")
        pool.errors = tuple(errors)
        return pool

    @property
    def valid(self) -> bool:
        return not self.errors

    def families(self) -> Tuple[str, ...]:
        present = {iv.family for iv in self.intervals}
        return tuple(f for f in FAMILIES if f in present)

    def intervals_of(self, family: str) -> List[Interval]:
        return [iv for iv in self.intervals if iv.family == family]

    def total(self, family: str) -> int:
        """Exact count of addresses MetalLB can hand out (a /64 is 2**64)."""
        count = 0
        for iv in self.intervals_of(family):
            count += iv.size
            if self.avoid_buggy_ips:
                count -= buggy_count(iv)
        return count

    def interval_containing(self, family: str, value: int) -> Optional[Interval]:
        for iv in self.intervals:
            if iv.family == family and iv.contains(value):
                return iv
        return None

    def contains(self, family: str, value: int) -> bool:
        """In one of the ranges, whatever avoidBuggyIPs says."""
        return self.interval_containing(family, value) is not None

    def allocatable(self, family: str, value: int) -> bool:
        """What MetalLB's poolFor accepts: in a range and not a buggy address."""
        if self.avoid_buggy_ips and is_buggy(family, value):
            return False
        return self.contains(family, value)

    def admits(self, namespace: str, labels: Mapping[str, str]) -> bool:
        """MetalLB's isPoolCompatibleWithService."""
        alloc = self.allocation
        if alloc is None:
            return True
        if alloc.namespaces and namespace not in alloc.namespaces:
            return False
        if alloc.service_selectors:
            return any(sel.matches(labels) for sel in alloc.service_selectors)
        return True

    def why_not_admitted(self, namespace: str, labels: Mapping[str, str]) -> str:
        alloc = self.allocation
        if alloc and alloc.namespaces and namespace not in alloc.namespaces:
            return (
                f"pool {self.name} serves only namespaces {', '.join(sorted(alloc.namespaces))}"
                f" (its serviceAllocation), not {namespace}"
            )
        selectors = "; ".join(map(str, alloc.service_selectors)) if alloc else ""
        return f"pool {self.name} serves only services whose labels match {selectors}"

    def pinned_for(self, namespace: str, metallb: Version = NEWEST) -> bool:
        """Whether MetalLB's automatic allocation tries this pool first for a service
        in ``namespace`` (its pools ByNamespace or ByServiceSelector)."""
        alloc = self.allocation
        if alloc is None:
            return False
        by_namespace = namespace in alloc.namespaces
        by_selector = bool(alloc.service_selectors) or (
            alloc.matches_all_services and priority_only_pool_serves_every_service(metallb)
        )
        return by_namespace or by_selector

    def restriction(self) -> str:
        return self.allocation.describe() if self.allocation else ""


@dataclass(frozen=True)
class Namespace:
    """A Namespace as the model reads it (its table): its labels resolve the pools'
    namespaceSelectors."""

    name: str = field(metadata=at("metadata.name", STR))
    labels: Dict[str, str] = field(default_factory=dict, metadata=at("metadata.labels", LABELS, {}))

    @classmethod
    def from_object(cls, obj: Mapping) -> "Namespace":
        return build(cls, obj)


def pool_from_object(obj: Mapping, namespace_labels: Mapping[str, Mapping[str, str]]) -> Pool:
    """Pool.from_object."""
    return Pool.from_object(obj, namespace_labels)


def pools_from_legacy_config(config: LegacyConfig, namespace: str = "metallb-system") -> List[Pool]:
    """The ``address-pools`` of MetalLB's pre-0.13 ConfigMap (``data.config``: its
    model, model.legacy.LegacyConfig, built by snapshot.legacy_config)."""
    pools = []
    for entry in config.address_pools:
        errors: List[str] = []
        intervals = _parse_addresses(entry.name, entry.addresses, errors)
        pools.append(
            Pool(
                name=entry.name,
                namespace=namespace,
                addresses=tuple(map(str, entry.addresses)),
                intervals=tuple(intervals),
                auto_assign=True if entry.auto_assign is None else bool(entry.auto_assign),
                avoid_buggy_ips=bool(entry.avoid_buggy_ips),
                errors=tuple(errors),
                legacy=True,
            )
        )
    return pools


def _parse_addresses(name: str, addresses: Iterable, errors: List[str]) -> List[Interval]:
    intervals = []
    for text in addresses:
        try:
            intervals.append(parse_pool_address(str(text)))
        except AddressError as exc:
            errors.append(f"pool {name}: address {text!r}: {exc}")
    if not addresses:
        errors.append(f"pool {name}: pool has no addresses")
    return intervals


def _allocation(raw: Mapping, namespace_labels: Mapping[str, Mapping[str, str]]) -> ServiceAllocation:
    listed = tuple(str(n) for n in raw.get("namespaces") or [])
    if len(set(listed)) != len(listed):
        raise ValueError("duplicate definition in namespaces field")
    ns_selectors = tuple(selector_list(raw.get("namespaceSelectors")))
    resolved = set(listed)
    for ns_name, labels in namespace_labels.items():
        if any(sel.matches(labels) for sel in ns_selectors):
            resolved.add(ns_name)
    return ServiceAllocation(
        priority=int(raw.get("priority") or 0),
        namespaces=tuple(sorted(resolved)),
        namespace_selectors=ns_selectors,
        service_selectors=tuple(selector_list(raw.get("serviceSelectors"))),
        listed_namespaces=listed,
    )


def overlapping_pairs(pools: Iterable[Pool]) -> List[Tuple[Pool, Interval, Pool, Interval]]:
    """Every two ranges that share addresses, in one pool or in two: one sort and
    one sweep, so thousands of ranges cost no pairwise comparison."""
    entries = sorted(
        ((iv, pool) for pool in pools for iv in pool.intervals), key=lambda e: (e[0].family, e[0].first, e[0].last)
    )
    found = []
    active: List[Tuple[Interval, Pool]] = []
    for iv, pool in entries:
        active = [(a, p) for a, p in active if a.family == iv.family and a.last >= iv.first]
        for a, p in active:
            found.append((p, a, pool, iv))
        active.append((iv, pool))
    return found

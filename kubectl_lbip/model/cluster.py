"""Cluster: the pools, services and namespaces one command looks at, with the
usage index and a fast address-to-pool lookup built once."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from .addresses import Address, family_of
from .metallb import NEWEST, Version
from .pools import Pool, overlapping_pairs
from .services import Service
from .usage import UsageIndex

FILES, CLUSTER = "files", "cluster"


@dataclass(frozen=True)
class Origin:
    """Where an object came from with --against-cluster: the files (and which one) or
    the cluster. The snapshot sets it on each model object (``origin``)."""

    source: str  # FILES or CLUSTER
    file: Optional[str] = None

    def to_dict(self) -> dict:
        return {"source": self.source, "file": self.file}

    def __str__(self) -> str:
        return self.file if self.source == FILES and self.file else self.source


@dataclass
class Cluster:
    pools: List[Pool]
    services: List[Service]
    namespace_labels: Dict[str, Dict[str, str]] = field(default_factory=dict)
    # Latest AllocationFailed message per "namespace/name" (live clusters only).
    allocation_failures: Dict[str, str] = field(default_factory=dict)
    legacy_config: bool = False
    live: bool = False
    # Keys of services from manifests laid over a live cluster (--against-cluster):
    # not applied yet, so what they hold and request is an intention, not a fact.
    planned: FrozenSet[str] = frozenset()
    # Past allocation: advertisements, nodes, ... (a model.announce.Network, which
    # imports this module: not named here, so that the import graph has no cycle), or None
    network: Optional[Any] = None
    # The MetalLB release whose rules apply (metallb.py has where they differ).
    metallb: Version = NEWEST
    # --against-cluster: the files laid over the cluster (each model object's ``origin`` says whence).
    overlaid: bool = False
    # --against-cluster: where the objects of kinds whose model objects carry no ``origin``
    # (Cilium's pools) came from, by (kind, namespace, name)
    other_origins: Dict[Tuple[str, str, str], "Origin"] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for svc in self.services:  # manifests laid over the cluster are intentions
            if svc.key in self.planned:
                svc.observed = False
        self.index = UsageIndex(self.services)
        self._by_name = {p.name: p for p in self.pools}
        self._services: Optional[Dict[str, Service]] = None  # by key, built when first asked
        self.overlaps = overlapping_pairs(self.pools)
        self._starts: Dict[str, List[Tuple[int, int, Pool]]] = {}
        for pool in self.pools:
            for iv in pool.intervals:
                self._starts.setdefault(iv.family, []).append((iv.first, iv.last, pool))
        for entries in self._starts.values():
            entries.sort(key=lambda e: (e[0], e[1]))
        self._firsts = {f: [e[0] for e in entries] for f, entries in self._starts.items()}

    def observed(self, svc: Service) -> bool:
        """Whether what a service holds is MetalLB's own answer: on a live cluster,
        for a service that is not from the manifests laid over it."""
        return svc.observed and svc.key not in self.planned

    def add_service(self, svc: Service) -> None:
        """Count one more service (or a changed copy of one, same key) as holding
        and requesting what it does: for plans that decide one service after
        another (model/pin.py), without building the index again. A plan's copy is an
        intention: its request claims the address."""
        svc.observed = False
        self.services.append(svc)
        if self._services is not None:  # else built from self.services when first asked
            self._services[svc.key] = svc
        self.index.add(svc)

    def pool(self, name: str) -> Optional[Pool]:
        return self._by_name.get(name)

    def service(self, namespace: str, name: str) -> Optional[Service]:
        if self._services is None:  # most commands never look a service up by name
            self._services = {s.key: s for s in self.services}
        return self._services.get(f"{namespace}/{name}")

    def origin_of(self, kind: str, namespace: str, name: str) -> Origin:
        """Where an object of the model came from (--against-cluster), as its model
        object carries it; the cluster for a kind the files do not lay over."""
        found: Optional[Origin] = None
        if kind == "Service":
            svc = self.service(namespace, name)
            found = svc.origin if svc is not None else None
        elif kind == "IPAddressPool":
            found = next((p.origin for p in self.pools if p.name == name and p.namespace == namespace), None)
        elif kind == "ConfigMap":  # a legacy pool is reported under its ConfigMap
            found = next((p.origin for p in self.pools if p.legacy), None)
        else:
            found = self.other_origins.get((kind, namespace, name))
        return found or Origin(CLUSTER)

    def pool_containing(self, addr: Address) -> Optional[Pool]:
        """The pool whose ranges hold an address (avoidBuggyIPs aside)."""
        return self.pool_at(family_of(addr), int(addr))

    def pool_at(self, family: str, value: int) -> Optional[Pool]:
        firsts = self._firsts.get(family)
        if not firsts:
            return None
        i = bisect.bisect_right(firsts, value) - 1
        entries = self._starts[family]
        # Ranges do not overlap in a valid configuration, so one step back is
        # enough; with overlaps (already an error) look further back.
        while i >= 0:
            first, last, pool = entries[i]
            if first <= value <= last:
                return pool
            if not self.overlaps:
                return None
            i -= 1
        return None

    def dual_stack_pools(self) -> List[Pool]:
        return [p for p in self.pools if p.valid and len(p.families()) == 2]

"""Everything `kubectl lbip check` reports about a cluster, as findings: the
pools, each service (its request through the same rules annotate and free
use), dual-stack pools and capacity."""

from __future__ import annotations

from typing import List, Optional, Tuple

from . import announce, rules
from .cluster import Cluster
from .rules import Finding
from .suggest import full_pool_failure


def findings_for(cluster: Cluster, namespace: Optional[str] = None) -> List[Finding]:
    """All rules over a cluster, sorted; ``namespace`` keeps only its services'
    findings (and every pool's)."""
    found: List[Finding] = []
    found += rules.check_pools(cluster)
    for svc in cluster.services:
        if namespace and svc.namespace != namespace:
            continue
        found += rules.check_service(cluster, svc)
    found += rules.check_dual_stack_pools(cluster)
    found += rules.check_capacity(cluster)
    found += rules.check_full_pools(cluster, full_pool_failure)
    if cluster.network is not None:  # past allocation: advertisements, nodes, MetalLB's status
        found += announce.check_network(cluster, cluster.network)
    if namespace:
        found = [f for f in found if f.kind != "Service" or f.namespace == namespace]
    return rules.sort_findings(found)


def checked_objects(cluster: Cluster, namespace: Optional[str] = None) -> List[Tuple[str, str, str]]:
    """(kind, namespace, name) of every object `check` looked at: the pools, the
    services (of ``namespace``, when given) and the advertisements, sorted; as the
    findings name them (a legacy ConfigMap's pools as ConfigMap)."""
    objects = {(rules.pool_kind(p), p.namespace, p.name) for p in cluster.pools}
    objects |= {("Service", s.namespace, s.name) for s in cluster.services if not namespace or s.namespace == namespace}
    if cluster.network is not None:
        objects |= {(a.kind, a.namespace, a.name) for a in cluster.network.advertisements}
    return sorted(objects)

"""`why NAME`: one LoadBalancer service end to end, in the order a person looks.

What it requests and from which key; what MetalLB did (addresses held, or Pending
with its reason); the findings about it, its pool, its pool's advertisements and
MetalLB's configuration; its pool; the advertisements that would announce it and
the nodes they select; where the speakers say they announce it; for Local policy,
the nodes with ready endpoints. Then the first thing to fix, or that everything
MetalLB needs is in place. Pure: plain data in, a plain dict out."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import announce as an
from .checks import POOL_NOT_ADVERTISED, fixed
from .pools import Pool
from .rules import ERROR, FAMILY_WORDS, Finding, sort_findings
from .services import Service

# Shown, but judged below on this service's own advertisements and nodes: an
# advertisement that names a missing pool, or selects no node, may not be the one
# that announces this service.
NOT_BLOCKING = (an.ADV_UNKNOWN_POOL, an.ADV_SELECTS_NO_POOL, an.ADV_NO_NODES)


def pool_for(cluster, svc: Service) -> Optional[Pool]:
    """The pool that matters: the one its addresses are in, else the one its request
    is in, else the one its address-pool annotation names."""
    pool = an.pool_of(cluster, svc)
    if pool is None and svc.request is not None:
        for addr in svc.request.addresses:
            pool = cluster.pool_containing(addr)
            if pool is not None:
                break
    if pool is None and svc.pool_annotation:
        pool = cluster.pool(svc.pool_annotation)
    return pool


def relevant(
    findings: List[Finding], svc: Service, pool: Optional[Pool], advertisements: List[an.Advertisement]
) -> List[Finding]:
    """Findings about the service, its pool, its pool's advertisements, and MetalLB's
    configuration as a whole (a rejected configuration stops every change)."""
    advs = {(a.kind, a.name) for a in advertisements}
    out = []
    for f in findings:
        if f.kind == "Service":
            keep = f.namespace == svc.namespace and f.name == svc.name
        elif f.kind in ("IPAddressPool", "ConfigMap"):
            keep = (pool is not None and f.name == pool.name) or f.code in ("pool-overlap", "invalid-pool-address")
        elif f.kind in (an.L2ADV, an.BGPADV):
            keep = (f.kind, f.name) in advs or f.code == an.BGP_AGGREGATION
        else:
            keep = f.kind == an.CONFIGSTATE
        if keep:
            out.append(f)
    return sort_findings(out)


def explain(cluster, svc: Service, findings: List[Finding]) -> Dict[str, Any]:
    net: an.Network = cluster.network or an.Network()
    family, _ = svc.family()
    request = svc.request
    pool = pool_for(cluster, svc)
    pool_advs = net.advertisements_for(pool) if pool is not None else []
    mine = relevant(findings, svc, pool, pool_advs)
    held = [str(a) for a in svc.held()]
    failure = cluster.allocation_failures.get(svc.key) if cluster.live else None

    result: Dict[str, Any] = {
        "service": {
            "namespace": svc.namespace,
            "name": svc.name,
            "family": FAMILY_WORDS.get(family or "", "unknown"),
            "externalTrafficPolicy": svc.external_traffic_policy,
        },
        "request": {"field": request.field, "value": request.text} if request else None,
        "poolAnnotation": svc.pool_annotation or None,
        "sharingKey": svc.sharing_key or None,
        "held": held,
        "allocationFailed": failure,
        "findings": [f.to_dict() for f in mine],
        "pool": None,
        "advertisements": None,
        "speakers": None,
        "readyNodes": None,
        "unknown": [],
    }
    if pool is not None:
        result["pool"] = {
            "name": pool.name,
            "addresses": list(pool.addresses),
            "autoAssign": pool.auto_assign,
            "avoidBuggyIPs": pool.avoid_buggy_ips,
            "serviceAllocation": pool.restriction() or None,
        }
    if net.knows_advertisements and pool is not None:
        result["advertisements"] = [_advertisement(net, a, svc) for a in pool_advs]
    local = svc.external_traffic_policy == "Local"
    if local and net.has(an.ENDPOINTSLICE):
        result["readyNodes"] = sorted(net.ready_nodes.get(svc.key, frozenset()))
    if net.has(an.L2STATUS) or net.has(an.BGPSTATUS):
        result["speakers"] = [
            {"kind": s.kind, "node": s.node, "interfaces": list(s.interfaces) or None, "peers": list(s.peers) or None}
            for s in net.statuses_for(svc)
            if (s.kind == an.L2STATUS and net.has(an.L2STATUS)) or (s.kind == an.BGPSTATUS and net.has(an.BGPSTATUS))
        ]
    if not cluster.live:
        result["unknown"].append("events (MetalLB's AllocationFailed reason)")
    for kind, what in (
        (an.L2STATUS, "the speakers' ServiceL2Status"),
        (an.BGPSTATUS, "the speakers' ServiceBGPStatus"),
        (an.NODE, "Nodes"),
        (an.L2ADV, "L2Advertisements"),
        (an.BGPADV, "BGPAdvertisements"),
    ):
        if not net.has(kind):
            result["unknown"].append(what)
    if local and not net.has(an.ENDPOINTSLICE):
        result["unknown"].append("EndpointSlices (where its ready endpoints run)")
    result["firstFix"] = first_fix(cluster, svc, pool, mine, result, net)
    result["blocked"] = result["firstFix"] is not None
    return result


def _advertisement(net: an.Network, adv: an.Advertisement, svc: Service) -> Dict[str, Any]:
    selected = net.nodes_of(adv) if net.has(an.NODE) else None
    return {
        "kind": adv.kind,
        "name": adv.name,
        "announcesService": adv.announces_service(svc),
        "serviceSelectors": [str(s) for s in adv.service_selectors] or None,
        "nodeSelectors": [str(s) for s in adv.node_selectors] or None,
        "nodes": None if selected is None else [n.name for n in selected if not n.skipped_by_speakers],
        "skippedNodes": None
        if selected is None
        else {n.name: n.skipped_by_speakers for n in selected if n.skipped_by_speakers},
        "interfaces": list(adv.interfaces) or None,
        "peers": list(adv.peers) or None,
    }


def first_fix(
    cluster, svc: Service, pool: Optional[Pool], mine: List[Finding], result: Dict[str, Any], net: an.Network
) -> Optional[str]:
    """The first thing that stops the service from answering, or None."""
    for f in mine:
        if f.severity == ERROR and f.kind == "Service":
            return f"{f.code}: {f.message}"
    for f in mine:
        if f.severity != ERROR or f.code in NOT_BLOCKING:
            continue
        if f.code == "pool-exhausted" and result["held"]:
            continue  # a full pool stops new services, not one that holds its address
        return f"{f.code} ({f.object}): {f.message}"
    if not result["held"]:
        reason = result["allocationFailed"]
        if reason:
            return f"MetalLB assigned no address: {reason}"
        return "MetalLB assigned no address (status.loadBalancer is empty)" + (
            "" if cluster.live else "; its events, not in the input, say why"
        )
    if pool is None:
        return "its address is in no pool MetalLB knows. Fix: 'kubectl lbip check'"
    advs = result["advertisements"]
    if advs is not None:
        if not advs:
            return fixed(
                POOL_NOT_ADVERTISED,
                f"no advertisement selects pool {pool.name}: nothing announces its address.",
                pool=pool.name,
            )
        announcing = [a for a in advs if a["announcesService"]]
        if not announcing:
            return (
                f"the advertisements of pool {pool.name} "
                f"({', '.join(a['kind'] + '/' + a['name'] for a in advs)}) have "
                "serviceSelectors that do not match the service's labels. Fix: label the "
                "service, or widen a serviceSelectors"
            )
        if net.has(an.NODE) and not any(a["nodes"] for a in announcing):
            return (
                "no node can announce it: the advertisements' nodeSelectors match no node a "
                "speaker uses. Fix: correct the nodeSelectors, or label the nodes"
            )
    speakers = result["speakers"]
    if speakers is not None and not speakers and advs:
        kinds = {a["kind"] for a in advs if a["announcesService"]}
        missing = [k for k, s in ((an.L2ADV, an.L2STATUS), (an.BGPADV, an.BGPSTATUS)) if k in kinds and net.has(s)]
        if missing:
            return (
                "no speaker reports announcing it (no ServiceL2Status or ServiceBGPStatus "
                "for it). Fix: check the speaker pods on the selected nodes "
                "(kubectl -n metallb-system get pods -o wide) and their logs"
            )
    return None

"""`why NAME`: one LoadBalancer service end to end, as a chain of steps read top
down: its request, its pool, MetalLB's decision (addresses held, or Pending with
its reason), the advertisements that would announce it, the nodes they select (for
Local policy, those with ready endpoints), where the speakers say they announce it.

Each step passes, fails or is unknown from the input, and carries the findings
about it (the service, its pool, its pool's advertisements, MetalLB's
configuration). The verdict is the first failing step's first problem: a rule of
the model that explains a refusal names the cause, and MetalLB's event is the
evidence that confirms it. Pure: plain data in, a plain dict out."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import announce as an
from .checks import POOL_NOT_ADVERTISED, fixed
from .pools import Pool
from .rules import (
    ERROR,
    FAMILY_WORDS,
    NO_DUAL_STACK_POOL,
    PENDING,
    POOL_EXHAUSTED,
    Finding,
    codes_for_event,
    sort_findings,
)
from .services import Service

# Shown, but judged below on this service's own advertisements and nodes: an
# advertisement that names a missing pool, or selects no node, may not be the one
# that announces this service.
NOT_BLOCKING = (an.ADV_UNKNOWN_POOL, an.ADV_SELECTS_NO_POOL, an.ADV_NO_NODES)

# The steps, top down, and what each can be.
REQUEST, POOL, METALLB, ADVERTISEMENTS, NODES, SPEAKERS = (
    "request",
    "pool",
    "metallb",
    "advertisements",
    "nodes",
    "speakers",
)
STEPS = (REQUEST, POOL, METALLB, ADVERTISEMENTS, NODES, SPEAKERS)
OK, FAILED, UNKNOWN, NOT_REACHED = "ok", "failed", "unknown", "not-reached"


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
    result["steps"] = steps(cluster, svc, pool, mine, result, net)
    failed = next((s for s in result["steps"] if s["status"] == FAILED), None)
    result["firstFix"] = failed["problem"] if failed else None
    result["evidence"] = _evidence(failed, failure)
    result["blocked"] = failed is not None
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


def step_of(f: Finding, pool: Optional[Pool]) -> str:
    """The step a finding is about."""
    if f.code == PENDING or f.code == an.CONFIG_INVALID or f.kind == an.CONFIGSTATE:
        return METALLB
    if f.code in (an.LOCAL_NO_ANNOUNCER, an.ADV_NO_NODES):
        return NODES
    if f.code == an.POOL_NOT_ADVERTISED or f.kind in (an.L2ADV, an.BGPADV):
        return ADVERTISEMENTS
    if f.kind in ("IPAddressPool", "ConfigMap"):
        # another pool's overlap or bad address rejects MetalLB's whole configuration
        return POOL if pool is not None and f.name == pool.name else METALLB
    if f.code in (POOL_EXHAUSTED, NO_DUAL_STACK_POOL):
        return POOL
    return REQUEST


def _blocks(f: Finding, held: bool) -> bool:
    """Whether a finding alone stops the service (the rest is shown, judged below on
    this service's own advertisements and nodes, or is MetalLB's symptom)."""
    if f.severity != ERROR or f.code in NOT_BLOCKING or f.code == PENDING:
        return False
    return not (f.code == POOL_EXHAUSTED and held)  # a full pool stops new services only


def _fix(f: Finding) -> str:
    if f.kind == "Service":
        return f"{f.code}: {f.message}"
    return f"{f.code} ({f.object}): {f.message}"


def steps(
    cluster, svc: Service, pool: Optional[Pool], mine: List[Finding], result: Dict[str, Any], net: an.Network
) -> List[Dict[str, Any]]:
    """The chain, top down: each step's status (ok, failed, unknown, not-reached), its
    findings, and its first problem (what to fix when it is the first failing step)."""
    held = bool(result["held"])
    chain: Dict[str, Dict[str, Any]] = {
        name: {"step": name, "status": OK, "findings": [], "problem": None, "code": None} for name in STEPS
    }
    for f in mine:
        step = chain[step_of(f, pool)]
        step["findings"].append(f.to_dict())
        if _blocks(f, held) and step["problem"] is None:
            step["problem"], step["code"] = _fix(f), f.code

    def fail(name: str, problem: str) -> None:
        if chain[name]["problem"] is None:
            chain[name]["problem"] = problem

    if not held:
        reason = result["allocationFailed"]
        fail(
            METALLB,
            f"MetalLB assigned no address: {reason}"
            if reason
            else "MetalLB assigned no address (status.loadBalancer is empty)"
            + ("" if cluster.live else "; its events, not in the input, say why"),
        )
    if pool is None:
        if held:
            fail(POOL, "its address is in no pool MetalLB knows. Fix: 'kubectl lbip check'")
        else:
            chain[POOL]["status"] = NOT_REACHED
        for name in (ADVERTISEMENTS, NODES):
            chain[name]["status"] = NOT_REACHED
    advs = result["advertisements"]
    if pool is not None and advs is None:
        chain[ADVERTISEMENTS]["status"] = UNKNOWN
    elif pool is not None and not advs:
        fail(
            ADVERTISEMENTS,
            fixed(
                POOL_NOT_ADVERTISED,
                f"no advertisement selects pool {pool.name}: nothing announces its address.",
                pool=pool.name,
            ),
        )
    announcing = [a for a in advs or () if a["announcesService"]]
    if pool is not None and advs and not announcing:
        fail(
            ADVERTISEMENTS,
            f"the advertisements of pool {pool.name} "
            f"({', '.join(a['kind'] + '/' + a['name'] for a in advs)}) have "
            "serviceSelectors that do not match the service's labels. Fix: label the "
            "service, or widen a serviceSelectors",
        )
    if pool is None:
        pass
    elif advs is None or not net.has(an.NODE):
        chain[NODES]["status"] = UNKNOWN
    elif not announcing:
        chain[NODES]["status"] = NOT_REACHED
    elif not any(a["nodes"] for a in announcing):
        fail(
            NODES,
            "no node can announce it: the advertisements' nodeSelectors match no node a "
            "speaker uses. Fix: correct the nodeSelectors, or label the nodes",
        )
    speakers = result["speakers"]
    if not held or not announcing:
        chain[SPEAKERS]["status"] = NOT_REACHED
    elif speakers is None:
        chain[SPEAKERS]["status"] = UNKNOWN
    elif not speakers:
        kinds = {a["kind"] for a in announcing}
        if any(k in kinds and net.has(s) for k, s in ((an.L2ADV, an.L2STATUS), (an.BGPADV, an.BGPSTATUS))):
            fail(
                SPEAKERS,
                "no speaker reports announcing it (no ServiceL2Status or ServiceBGPStatus "
                "for it). Fix: check the speaker pods on the selected nodes "
                "(kubectl -n metallb-system get pods -o wide) and their logs",
            )
    for step in chain.values():
        if step["problem"] is not None:
            step["status"] = FAILED
    return [chain[name] for name in STEPS]


def _evidence(failed: Optional[Dict[str, Any]], event: Optional[str]) -> Optional[Dict[str, Any]]:
    """MetalLB's AllocationFailed message beside a verdict the model found itself:
    whether it names the same broken rule (``confirms``)."""
    if failed is None or failed["code"] is None or not event:
        return None
    return {"event": event, "confirms": failed["code"] in (codes_for_event(event) or ())}

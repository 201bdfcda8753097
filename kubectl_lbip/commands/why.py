"""kubectl lbip why NAME: one LoadBalancer service end to end (model/explain.py)."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import render
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model.explain import explain
from ..model.rules import not_load_balancer
from .check import findings_for
from .common import Inputs, legacy_note


def latest_failure(events: List[dict]) -> str:
    best = ("", "")
    for ev in events:
        when = ev.get("lastTimestamp") or ev.get("eventTime") or ""
        if when >= best[0]:
            best = (when, ev.get("message") or "")
    return best[1]


def run(inputs: Inputs, name: str) -> int:
    namespace = inputs.default_namespace()
    snapshot = inputs.snapshot(network=True, statuses_of=(namespace, name))
    cluster = snapshot.take_cluster()
    svc = cluster.service(namespace, name)
    if svc is None:
        raise UsageError(f'services "{name}" not found in namespace "{namespace}"')
    if not svc.is_load_balancer:
        raise UsageError(not_load_balancer(svc).message)
    if cluster.live and not svc.ingress:
        message = latest_failure(inputs.client().service_events(namespace, name, "AllocationFailed"))
        if message:
            cluster.allocation_failures[svc.key] = message
    result = explain(cluster, svc, findings_for(cluster))
    code = EXIT_NEGATIVE if result["blocked"] else EXIT_OK
    if msg := legacy_note(snapshot):
        render.note(msg)
    for msg in snapshot.network_notes:
        render.note(msg)
    if inputs.output in ("json", "yaml"):
        render.emit(result, inputs.output)
        return code
    render.out(render.table(lines(result), ["step", "what"]))
    if result["unknown"]:
        render.note(
            "not known from " + ("this cluster" if cluster.live else "files") + ": " + "; ".join(result["unknown"])
        )
    return code


def lines(r: Dict[str, Any]) -> List[List[str]]:
    """The explanation as (step, text) rows, in the order a person looks."""
    s = r["service"]
    rows = [
        [
            "service",
            f"{s['namespace']}/{s['name']}: LoadBalancer, {s['family']}, "
            f"externalTrafficPolicy {s['externalTrafficPolicy']}",
        ]
    ]
    req = r["request"]
    asked = f"{req['value']} (from {req['field']})" if req else "no address: MetalLB picks one"
    if r["poolAnnotation"]:
        asked += f"; pool {r['poolAnnotation']} (address-pool annotation)"
    if r["sharingKey"]:
        asked += f"; sharing key {r['sharingKey']}"
    rows.append(["requests", asked])
    if r["held"]:
        rows.append(["metallb", "assigned " + ", ".join(r["held"])])
    else:
        rows.append(
            [
                "metallb",
                "Pending: no address assigned"
                + (f"; MetalLB said: {r['allocationFailed']}" if r["allocationFailed"] else ""),
            ]
        )
    for f in r["findings"]:
        obj = f"{f['kind']}/{f['namespace'] + '/' if f['namespace'] else ''}{f['name']}"
        rows.append(["finding", f"{f['severity']} {f['code']} ({obj}): {f['message']}"])
    if not r["findings"]:
        rows.append(["finding", "none"])
    p = r["pool"]
    if p is None:
        rows.append(["pool", "none"])
    else:
        rows.append(
            [
                "pool",
                f"{p['name']}: {','.join(p['addresses'])}; autoAssign "
                f"{str(p['autoAssign']).lower()}; avoidBuggyIPs "
                f"{str(p['avoidBuggyIPs']).lower()}; serves "
                f"{p['serviceAllocation'] or 'any service'}",
            ]
        )
    advs = r["advertisements"]
    if advs is None:
        rows.append(["advertisements", "unknown (no advertisement kind in the input)" if p is not None else "-"])
    elif not advs:
        rows.append(["advertisements", f"none selects pool {p['name']}"])
    for a in advs or ():
        text = f"{a['kind']}/{a['name']}"
        if not a["announcesService"]:
            text += f": not this service (serviceSelectors {'; '.join(a['serviceSelectors'])})"
        elif a["nodes"] is None:
            text += ": nodes " + ("; ".join(a["nodeSelectors"]) if a["nodeSelectors"] else "all")
            text += " (Nodes unknown)"
        else:
            text += ": nodes " + (", ".join(a["nodes"]) or "none")
            if a["nodeSelectors"]:
                text += f" (nodeSelectors {'; '.join(a['nodeSelectors'])})"
            for node, why in (a["skippedNodes"] or {}).items():
                text += f"; {node} skipped: {why}"
        if a["interfaces"]:
            text += f"; interfaces {', '.join(a['interfaces'])}"
        if a["peers"]:
            text += f"; peers {', '.join(a['peers'])}"
        rows.append(["advertisement", text])
    sp = r["speakers"]
    if sp is not None:
        if not sp:
            rows.append(["speakers", "no speaker reports announcing it"])
        for st in sp:
            via = (
                f"interfaces {', '.join(st['interfaces'])}"
                if st["interfaces"]
                else f"peers {', '.join(st['peers'])}"
                if st["peers"]
                else ""
            )
            rows.append(["speakers", f"{st['kind']}: node {st['node']}" + (f", {via}" if via else "")])
    if r["readyNodes"] is not None:
        rows.append(["endpoints", "ready on " + (", ".join(r["readyNodes"]) or "no node")])
    rows.append(
        [
            "verdict",
            f"fix first: {r['firstFix']}"
            if r["blocked"]
            else "everything MetalLB needs is in place" + (" (as far as the input shows)" if r["unknown"] else ""),
        ]
    )
    return rows

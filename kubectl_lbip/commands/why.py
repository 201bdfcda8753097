"""kubectl lbip why NAME: one LoadBalancer service end to end (model/explain.py)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from .. import render, tcpprobe
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import probe
from ..model.cilium import CONDITION as CILIUM_CONDITION
from ..model.cilium import SATISFIED
from ..model.cilium_explain import ANNOUNCEMENT as CE_ANNOUNCEMENT
from ..model.cilium_explain import CILIUM as CE_CILIUM
from ..model.cilium_explain import CLASS as CE_CLASS
from ..model.cilium_explain import POOL as CE_POOL
from ..model.cilium_explain import REQUEST as CE_REQUEST
from ..model.cilium_explain import STEPS as CE_STEPS
from ..model.events import latest_message
from ..model.explain import (
    ADVERTISEMENTS,
    FAILED,
    METALLB,
    NODES,
    NOT_REACHED,
    OK,
    POOL,
    REQUEST,
    SPEAKERS,
    STEPS,
    UNKNOWN,
)
from ..model.rules import PENDING
from ..printer import Block, Note, Result, Text, View
from .common import Inputs, legacy_note
from .probe import probed

# why --probe: the probe's own defaults (probe --timeout, --connect-timeout)
PROBE_TIMEOUT, CONNECT_TIMEOUT = 10.0, 2.0


def run(inputs: Inputs, name: str, probing: bool = False, connect: Optional[tcpprobe.Connect] = None) -> Result:
    """``probing`` (--probe): also connect to its addresses as `probe` does, and say
    per family what not answering most likely means (model/probe.diagnose)."""
    namespace = inputs.default_namespace()
    snapshot = inputs.snapshot(network=True, statuses_of=(namespace, name), cilium=True)
    cluster = snapshot.take_cluster()
    svc = cluster.service(namespace, name)
    if svc is None:
        raise UsageError(f'services "{name}" not found in namespace "{namespace}"')
    impl = inputs.implementation_of(snapshot, cluster)
    served, why = impl.serves(svc)
    if not served:
        raise UsageError(why)
    if cluster.live and not svc.ingress:
        message = latest_message(inputs.client().service_events(namespace, name, "AllocationFailed"))
        if message:
            cluster.allocation_failures[svc.key] = message
    result = impl.explain(svc, impl.findings())
    if probing:
        result["probe"] = probed(inputs, svc, PROBE_TIMEOUT, CONNECT_TIMEOUT, connect)
        result["probeFindings"] = probe.diagnose(result["probe"], result)
    code = EXIT_NEGATIVE if result["blocked"] or result.get("probeFindings") else EXIT_OK
    notes = [msg] if (msg := legacy_note(snapshot)) else []
    notes += snapshot.network_notes
    views = VIEWS[impl.name]
    return Result(result, code, notes, views=views, answer="this cluster" if cluster.live else "files")


def table(result: Result) -> List[Block]:
    """The explanation, then what the input could not tell (``answer``: which input)."""
    blocks: List[Block] = [Text("\n".join(lines(result.data, render.unicode_ok())))]
    if result.data["unknown"]:
        blocks.append(Note(f"not known from {result.answer}: " + "; ".join(result.data["unknown"])))
    return blocks


WIDTH = 100  # the whole explanation fits 100 columns; long text wraps inside its step
MARKS = {
    False: {OK: "ok", FAILED: "FAIL", UNKNOWN: "?", NOT_REACHED: "-", None: ""},
    True: {OK: "\u2713", FAILED: "\u2717", UNKNOWN: "?", NOT_REACHED: "\u00b7", None: ""},
}
FIRST = {False: ">", True: "\u25b6"}  # the first failing step
LABELS = {METALLB: "MetalLB"}


def lines(r: Dict[str, Any], fancy: bool = False) -> List[str]:
    """The explanation top down: the service, each step with its mark (the first
    failing one pointed at) and its findings, then the verdict."""
    s = r["service"]
    service = (
        f"{s['namespace']}/{s['name']}: LoadBalancer, {s['family']}, externalTrafficPolicy {s['externalTrafficPolicy']}"
    )
    if r["blocked"]:
        verdict = [f"fix first: {r['firstFix']}"]
        evidence = r["evidence"]
        if evidence:
            said = "MetalLB's event confirms it" if evidence["confirms"] else "MetalLB said"
            verdict.append(f"{said}: {evidence['event']}")
    elif r.get("probeFindings"):
        verdict = [f["line"] for f in r["probeFindings"]]
    else:
        verdict = ["everything MetalLB needs is in place" + (" (as far as the input shows)" if r["unknown"] else "")]
    return chain(r, service, _step_texts(r), verdict, STEPS, LABELS, fancy)


def chain(
    r: Dict[str, Any],
    service: str,
    texts: Dict[str, List[str]],
    verdict: List[str],
    steps: Sequence[str],
    labels: Dict[str, str],
    fancy: bool = False,
) -> List[str]:
    """The service line, each step with its mark (the first failing one pointed
    at), its ``texts`` and its findings, then the verdict."""
    marks = MARKS[fancy]
    mark_width = max(len(m) for m in marks.values())
    label_width = max(len(s) for s in tuple(steps) + ("service", "verdict"))
    indent = 2 + mark_width + 1 + label_width + 2
    first = next((s["step"] for s in r["steps"] if s["status"] == FAILED), None)
    out: List[str] = []

    def row(gutter: str, status: Optional[str], label: str, texts: List[str]) -> None:
        head = f"{gutter:<2}{marks[status]:<{mark_width}} {label:<{label_width}}  "
        for i, text in enumerate(texts):
            for j, line in enumerate(render.wrap(text, WIDTH - indent)):
                out.append(((head if i == 0 and j == 0 else " " * indent) + line).rstrip())

    row("", None, "service", [service])
    for step in r["steps"]:
        name = step["step"]
        shown = (["-"] if step["status"] == NOT_REACHED else texts[name]) + [
            f"{f['severity']} {f['code']}"
            + (f" ({_object(f)})" if f["kind"] != "Service" else "")
            + f": {f['message']}"
            for f in step["findings"]
            if f["code"] != PENDING  # the implementation's step says it in its own words
        ]
        row(FIRST[fancy] if name == first else "", step["status"], labels.get(name, name), shown)
    if "probe" in r:  # --probe: what answered from here, and what not answering likely means
        found = [f["line"] for f in r["probeFindings"]] if r["blocked"] else []  # else the verdict says them
        row("", None, "probe", [probe.summary(r["probe"])] + found)
    row("", None, "verdict", verdict)
    return out


def cilium_table(result: Result) -> List[Block]:
    """The explanation of a service Cilium LB-IPAM serves (model/cilium_explain.py)."""
    blocks: List[Block] = [Text("\n".join(cilium_lines(result.data, render.unicode_ok())))]
    if result.data["unknown"]:
        blocks.append(Note(f"not known from {result.answer}: " + "; ".join(result.data["unknown"])))
    return blocks


def cilium_lines(r: Dict[str, Any], fancy: bool = False) -> List[str]:
    s = r["service"]
    service = (
        f"{s['namespace']}/{s['name']}: LoadBalancer, {'+'.join(s['families']) or 'no family'}, "
        f"externalTrafficPolicy {s['externalTrafficPolicy']}"
    )
    cls = f"loadBalancerClass {s['loadBalancerClass']}" if s["loadBalancerClass"] else "no loadBalancerClass"
    req = r["request"]
    asked = (
        f"{','.join(req['addresses']) or 'nothing it can read'} (from {' and '.join(req['fields']) or '-'})"
        + (f"; not addresses: {', '.join(req['unparsed'])}" if req["unparsed"] else "")
        if req
        else "no address: Cilium picks one"
    )
    if r["sharingKey"]:
        asked += f"; sharing key {r['sharingKey']}"
    selecting = [p["name"] for p in r["pools"] if p["selects"]]
    pools = [f"selected by {', '.join(selecting)}" if selecting else "no enabled pool selects it"]
    pools += [p["whyNot"] for p in r["pools"] if not p["selects"]]
    condition, predicted = r["condition"], r["predicted"]
    held = ["assigned " + ", ".join(r["held"])] if r["held"] else ["no address assigned"]
    if condition:
        held.append(f"{CILIUM_CONDITION} {condition['status']}: {condition['reason']} {condition['message']}".rstrip())
    elif predicted["reason"] != SATISFIED:
        held.append(f"the rules predict {predicted['reason']}: {predicted['message'] or '-'}")
    announcements = r["announcements"]
    if announcements is None:
        announced = ["unknown (no CiliumL2AnnouncementPolicy or CiliumBGPAdvertisement in the input)"]
    else:
        announced = [
            f"{a['kind']}/{a['name']}: " + ("covers it" if a["covers"] else f"not this service ({a['whyNot']})")
            for a in announcements
        ] or ["none in the input"]
    texts = {
        CE_CLASS: [f"served by Cilium LB-IPAM ({cls})" if r["served"] else f"not served: {r['notServed']}"],
        CE_REQUEST: [asked],
        CE_POOL: pools,
        CE_CILIUM: held,
        CE_ANNOUNCEMENT: announced,
    }
    if r["blocked"]:
        verdict = [f"fix first: {r['firstFix']}"]
    elif r.get("probeFindings"):
        verdict = [f["line"] for f in r["probeFindings"]]
    else:
        verdict = ["everything Cilium needs is in place" + (" (as far as the input shows)" if r["unknown"] else "")]
    return chain(r, service, texts, verdict, CE_STEPS, {CE_CILIUM: "Cilium"}, fancy)


def _object(f: Dict[str, Any]) -> str:
    return f"{f['kind']}/{f['namespace'] + '/' if f['namespace'] else ''}{f['name']}"


def _step_texts(r: Dict[str, Any]) -> Dict[str, List[str]]:
    """What each step shows before its findings."""
    req = r["request"]
    asked = f"{req['value']} (from {req['field']})" if req else "no address: MetalLB picks one"
    if r["poolAnnotation"]:
        asked += f"; pool {r['poolAnnotation']} (address-pool annotation)"
    if r["sharingKey"]:
        asked += f"; sharing key {r['sharingKey']}"
    p = r["pool"]
    pool = (
        "none"
        if p is None
        else f"{p['name']}: {','.join(p['addresses'])}; autoAssign {str(p['autoAssign']).lower()}; "
        f"avoidBuggyIPs {str(p['avoidBuggyIPs']).lower()}; serves {p['serviceAllocation'] or 'any service'}"
    )
    if r["held"]:
        metallb = "assigned " + ", ".join(r["held"])
    else:
        metallb = "Pending: no address assigned" + (
            f"; MetalLB said: {r['allocationFailed']}" if r["allocationFailed"] else ""
        )
    advs = r["advertisements"]
    if p is None:
        adv_texts, node_texts = ["-"], ["-"]
    elif advs is None:
        adv_texts, node_texts = ["unknown (no advertisement kind in the input)"], ["unknown"]
    elif not advs:
        adv_texts, node_texts = [f"none selects pool {p['name']}"], ["-"]
    else:
        adv_texts, node_texts = [], []
        for a in advs:
            name = f"{a['kind']}/{a['name']}"
            text = name
            if not a["announcesService"]:
                text += f": not this service (serviceSelectors {'; '.join(a['serviceSelectors'])})"
            if a["interfaces"]:
                text += f"; interfaces {', '.join(a['interfaces'])}"
            if a["peers"]:
                text += f"; peers {', '.join(a['peers'])}"
            adv_texts.append(text)
            if not a["announcesService"]:
                continue
            selectors = f" (nodeSelectors {'; '.join(a['nodeSelectors'])})" if a["nodeSelectors"] else ""
            if a["nodes"] is None:
                node_texts.append(
                    f"{name}: " + ("; ".join(a["nodeSelectors"]) if a["nodeSelectors"] else "all") + " (Nodes unknown)"
                )
                continue
            text = f"{name}: " + (", ".join(a["nodes"]) or "none") + selectors
            for node, why in (a["skippedNodes"] or {}).items():
                text += f"; {node} skipped: {why}"
            node_texts.append(text)
        node_texts = node_texts or ["-"]
    if r["readyNodes"] is not None:
        node_texts.append("ready endpoints on " + (", ".join(r["readyNodes"]) or "no node"))
    sp = r["speakers"]
    if sp is None:
        speakers = ["unknown (the speakers' status is not in the input)" if r["held"] else "-"]
    elif not sp:
        speakers = ["no speaker reports announcing it" if r["held"] else "-"]
    else:
        speakers = []
        for st in sp:
            via = (
                f"interfaces {', '.join(st['interfaces'])}"
                if st["interfaces"]
                else f"peers {', '.join(st['peers'])}"
                if st["peers"]
                else ""
            )
            speakers.append(f"{st['kind']}: node {st['node']}" + (f", {via}" if via else ""))
    return {
        REQUEST: [asked],
        POOL: [pool],
        METALLB: [metallb],
        ADVERTISEMENTS: adv_texts,
        NODES: node_texts,
        SPEAKERS: speakers,
    }


VIEWS: Dict[str, Dict[str, View]] = {"metallb": {"table": table}, "cilium": {"table": cilium_table}}

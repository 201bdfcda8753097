"""kubectl lbip check: every mistake MetalLB would punish, as findings."""

from __future__ import annotations

from typing import List

from .. import render
from ..errors import EXIT_NEGATIVE, EXIT_OK
from ..model import announce
from ..model.cluster import Cluster
from ..model.findings import findings_for
from ..model.rules import ERROR, WARNING, Finding
from .common import Inputs, legacy_note, note_empty_namespace, release_dict, release_line


def _origin(snapshot, finding: Finding) -> dict:
    """{"source": "files"|"cluster", "file": name|None} of a finding's object
    (--against-cluster)."""
    from ..snapshot.overlay import origin_fields

    if finding.kind == "ConfigMap":  # a legacy pool is reported under its own name
        origin = next((o for k, o in snapshot.origins.items() if k[0] == "ConfigMap"), None)
        if origin is not None:
            return origin.to_dict()
    return origin_fields(snapshot, finding.kind, finding.namespace, finding.name)


def _label(origin: dict) -> str:
    return origin["file"] or origin["source"]


def not_checked(cluster: Cluster) -> List[str]:
    """The kinds check reads past allocation that the input did not have."""
    if cluster.network is None:
        return []
    absent = cluster.network.absent_kinds(announce.CHECK_KINDS)
    if cluster.pools and not any(announce.status_counters(p) for p in cluster.pools):
        absent.append("IPAddressPool status")
    return absent


def run(inputs: Inputs, strict: bool = False) -> int:
    snapshot = inputs.snapshot(events=True, network=True)
    cluster = snapshot.take_cluster()
    absent = not_checked(cluster)
    namespace = inputs.namespace_filter()
    found = findings_for(cluster, namespace)
    errors = sum(f.severity == ERROR for f in found)
    warnings = sum(f.severity == WARNING for f in found)
    failing = errors + (warnings if strict else 0)
    unchecked = note_empty_namespace(cluster, namespace)
    if unchecked:  # a CI job must not pass on a namespace it never looked at
        render.note(
            f"note: no LoadBalancer service was checked in namespace {namespace}"
            + ("; --strict fails on it" if strict else "")
        )
    code = EXIT_NEGATIVE if failing or (strict and unchecked) else EXIT_OK
    if msg := legacy_note(snapshot):
        render.note(msg)
    overlaid = bool(snapshot.origins)  # --against-cluster: say where each object came from
    for msg in snapshot.network_notes:
        render.note(msg)
    if inputs.output in ("json", "yaml"):
        render.emit(
            {
                "metallb": release_dict(snapshot),
                "findings": [dict(f.to_dict(), **_origin(snapshot, f)) if overlaid else f.to_dict() for f in found],
                "notChecked": absent,
            },
            inputs.output,
        )
        return code
    if found:
        rows = [
            [f.severity, f.code, f.object] + ([_label(_origin(snapshot, f))] if overlaid else []) + [f.message]
            for f in found
        ]
        headers = ["severity", "code", "object"] + (["from"] if overlaid else []) + ["message"]
        render.out(render.severities(render.table(rows, headers)))
    render.note(
        f"{errors} error(s), {warnings} warning(s)"
        + (" (warnings count: --strict)" if strict and warnings else "")
        + (f"; not checked, absent from the input: {', '.join(absent)}" if absent else "")
        + f"; {release_line(snapshot)}"
    )
    return code

"""kubectl lbip check: every mistake MetalLB would punish, as findings."""

from __future__ import annotations

from .. import render
from ..errors import EXIT_NEGATIVE, EXIT_OK
from ..model.findings import findings_for
from ..model.rules import ERROR, WARNING
from .common import Inputs, legacy_note, note_empty_namespace, release_dict, release_line


def run(inputs: Inputs, strict: bool = False) -> int:
    snapshot = inputs.snapshot(events=True)
    cluster = snapshot.take_cluster()
    namespace = inputs.namespace_filter()
    found = findings_for(cluster, namespace)
    errors = sum(f.severity == ERROR for f in found)
    warnings = sum(f.severity == WARNING for f in found)
    failing = errors + (warnings if strict else 0)
    unchecked = note_empty_namespace(cluster, namespace)
    if unchecked:  # a CI job must not pass on a namespace it never looked at
        render.note(f"note: no LoadBalancer service was checked in namespace {namespace}"
                    + ("; --strict fails on it" if strict else ""))
    code = EXIT_NEGATIVE if failing or (strict and unchecked) else EXIT_OK
    if (msg := legacy_note(snapshot)):
        render.note(msg)
    if inputs.output in ("json", "yaml"):
        render.emit({"metallb": release_dict(snapshot), "findings": [f.to_dict() for f in found]},
                    inputs.output)
        return code
    if found:
        rows = [[f.severity, f.code, f.object, f.message] for f in found]
        render.out(render.table(rows, ["severity", "code", "object", "message"]))
    render.note(f"{errors} error(s), {warnings} warning(s)"
                + (" (warnings count: --strict)" if strict and warnings else "")
                + f"; {release_line(snapshot)}")
    return code

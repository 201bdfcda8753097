"""kubectl lbip check: every mistake MetalLB would punish, as findings."""

from __future__ import annotations

from .. import render
from ..errors import EXIT_NEGATIVE, EXIT_OK
from ..model.findings import findings_for
from ..model.rules import ERROR, WARNING
from .common import Inputs, legacy_note

FORMATS = ("table", "wide", "json", "yaml")


def run(inputs: Inputs, strict: bool = False) -> int:
    inputs.check_output(FORMATS)
    snapshot = inputs.snapshot(events=True)
    cluster = snapshot.take_cluster()
    found = findings_for(cluster, inputs.namespace_filter())
    errors = sum(f.severity == ERROR for f in found)
    warnings = sum(f.severity == WARNING for f in found)
    failing = errors + (warnings if strict else 0)
    code = EXIT_NEGATIVE if failing else EXIT_OK
    if (msg := legacy_note(snapshot)):
        render.note(msg)
    if inputs.output in ("json", "yaml"):
        render.emit({"findings": [f.to_dict() for f in found]}, inputs.output)
        return code
    if found:
        rows = [[f.severity, f.code, f.object, f.message] for f in found]
        render.out(render.table(rows, ["severity", "code", "object", "message"]))
    render.note(f"{errors} error(s), {warnings} warning(s)"
                + (" (warnings count: --strict)" if strict and warnings else ""))
    return code

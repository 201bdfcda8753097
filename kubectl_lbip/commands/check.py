"""kubectl lbip check: every mistake MetalLB would punish, as findings."""

from __future__ import annotations

from typing import List, Tuple

from .. import __version__, cireport, render
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import announce
from ..model.checks import CATALOGUE
from ..model.cluster import Cluster
from ..model.findings import checked_objects, findings_for
from ..model.rules import ERROR, WARNING
from .common import Inputs, legacy_note, note_empty_namespace, release_dict, release_line


def _origin(snapshot, kind: str, namespace: str, name: str) -> dict:
    """{"source": "files"|"cluster", "file": name|None} of a finding's object
    (--against-cluster)."""
    from ..snapshot.overlay import origin_fields

    if kind == "ConfigMap":  # a legacy pool is reported under its own name
        origin = next((o for k, o in snapshot.origins.items() if k[0] == "ConfigMap"), None)
        if origin is not None:
            return origin.to_dict()
    return origin_fields(snapshot, kind, namespace, name)


# The formats for CI: each finding on the line of the file that caused it.
CI_FORMATS = ("sarif", "junit", "github")


def _label(origin: dict) -> str:
    return origin["file"] or origin["source"]


def _place(snapshot, key: Tuple[str, str, str]) -> cireport.Place:
    """Where an object was read: its file, line and column (and, with
    --against-cluster, whether from the files or the cluster)."""
    source = _origin(snapshot, *key)["source"] if snapshot.origins else None
    if source == "cluster":
        return cireport.Place(source=source)
    kind, namespace, name = key
    if kind == "ConfigMap":  # a legacy pool: where its ConfigMap is
        found = next((v for k, v in sorted(snapshot.locations.items()) if k[0] == "ConfigMap"), None)
    else:
        found = snapshot.location(kind, namespace, name)
    if found is None:
        return cireport.Place(source=source)
    file, line, column = found
    return cireport.Place(file, line, column, source)


def list_checks(inputs: Inputs) -> int:
    """check --list: the catalogue, as a table or as data (-o json|yaml)."""
    if inputs.output not in ("table", "json", "yaml"):
        raise UsageError(f"--list prints a table, json or yaml, not {inputs.output}")
    if inputs.output in ("json", "yaml"):
        data = [
            {
                "code": c.code,
                "severity": c.severity,
                "severityNote": c.severity_note,
                "title": c.title,
                "meaning": c.plain_meaning,
                "fix": c.generic_fix,
                "help": cireport.help_uri(c.code),
            }
            for c in CATALOGUE
        ]
        render.emit(data, inputs.output)
    else:
        rows = [[c.code, c.severity, c.title, c.generic_fix] for c in CATALOGUE]
        render.out(render.table(rows, ["code", "severity", "title", "fix"]))
    return EXIT_OK


def not_checked(cluster: Cluster) -> List[str]:
    """The kinds check reads past allocation that the input did not have."""
    if cluster.network is None:
        return []
    absent = cluster.network.absent_kinds(announce.CHECK_KINDS)
    if cluster.pools and not any(announce.status_counters(p) for p in cluster.pools):
        absent.append("IPAddressPool status")
    return absent


def run(inputs: Inputs, strict: bool = False) -> int:
    located = inputs.output in CI_FORMATS
    snapshot = inputs.snapshot(events=True, network=True, locate=located)
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
    if located:
        objects = checked_objects(cluster, namespace)
        places = {key: _place(snapshot, key) for key in set(objects) | {cireport.object_key(f) for f in found}}
        if inputs.output == "sarif":
            render.emit(cireport.sarif(found, places, __version__), "json")
        elif inputs.output == "junit":
            render.out(cireport.junit(objects, found, places, strict))
        else:
            for line in cireport.github(found, places):
                render.out(line)
    elif inputs.output in ("json", "yaml"):
        render.emit(
            {
                "metallb": release_dict(snapshot),
                "findings": [
                    dict(f.to_dict(), **_origin(snapshot, f.kind, f.namespace, f.name)) if overlaid else f.to_dict()
                    for f in found
                ],
                "notChecked": absent,
            },
            inputs.output,
        )
        return code
    elif found:
        rows = [
            [f.severity, f.code, f.object]
            + ([_label(_origin(snapshot, f.kind, f.namespace, f.name))] if overlaid else [])
            + [f.message]
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

"""kubectl lbip check: every mistake MetalLB would punish, as findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .. import cireport
from ..errors import EXIT_NEGATIVE, EXIT_OK
from ..model import announce
from ..model.checks import CHECKED
from ..model.cluster import Cluster
from ..model.findings import checked_objects, findings_for
from ..model.rules import ERROR, WARNING, Finding
from ..printer import Block, Note, Result, Table
from .common import Inputs, empty_namespace_note, legacy_note, release_dict, release_line


def _origin(snapshot, kind: str, namespace: str, name: str) -> dict:
    """{"source": "files"|"cluster", "file": name|None} of a finding's object
    (--against-cluster)."""
    from ..snapshot.overlay import origin_fields

    if kind == "ConfigMap":  # a legacy pool is reported under its own name
        origin = next((o for k, o in snapshot.origins.items() if k[0] == "ConfigMap"), None)
        if origin is not None:
            return origin.to_dict()
    return origin_fields(snapshot, kind, namespace, name)


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


def list_checks() -> Result:
    """check --list: the catalogue, as a table or as data (-o json|yaml)."""
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
        for c in CHECKED
    ]
    return Result(data, views={"table": catalogue_table})


def catalogue_table(result: Result) -> List[Block]:
    rows = [[c["code"], c["severity"], c["title"], c["fix"]] for c in result.data]
    return [Table(rows, ["code", "severity", "title", "fix"])]


def not_checked(cluster: Cluster) -> List[str]:
    """The kinds check reads past allocation that the input did not have."""
    if cluster.network is None:
        return []
    absent = cluster.network.absent_kinds(announce.CHECK_KINDS)
    if cluster.pools and not any(announce.status_counters(p) for p in cluster.pools):
        absent.append("IPAddressPool status")
    return absent


def run(inputs: Inputs, strict: bool = False, warn_used: Optional[int] = None) -> Result:
    located = "locations" in inputs.needs  # the CI formats: each finding on its file's line
    snapshot = inputs.snapshot(events=True, network=True, locate=located)
    cluster = snapshot.take_cluster()
    absent = not_checked(cluster)
    namespace = inputs.namespace_filter()
    found = findings_for(cluster, namespace, warn_used)
    errors = sum(f.severity == ERROR for f in found)
    warnings = sum(f.severity == WARNING for f in found)
    failing = errors + (warnings if strict else 0)
    notes = []
    unchecked = empty_namespace_note(cluster, namespace)
    if unchecked:  # a CI job must not pass on a namespace it never looked at
        notes += [
            unchecked,
            f"note: no LoadBalancer service was checked in namespace {namespace}"
            + ("; --strict fails on it" if strict else ""),
        ]
    code = EXIT_NEGATIVE if failing or (strict and unchecked) else EXIT_OK
    if msg := legacy_note(snapshot):
        notes.append(msg)
    overlaid = bool(snapshot.origins)  # --against-cluster: say where each object came from
    notes += snapshot.network_notes
    objects: List[cireport.ObjectKey] = []
    places: Dict[cireport.ObjectKey, cireport.Place] = {}
    if located:
        objects = checked_objects(cluster, namespace)
        places = {key: _place(snapshot, key) for key in set(objects) | {cireport.object_key(f) for f in found}}
    origins = [_origin(snapshot, f.kind, f.namespace, f.name) for f in found] if overlaid else []
    data = {
        "metallb": release_dict(snapshot),
        "findings": [dict(f.to_dict(), **o) for f, o in zip(found, origins)]
        if overlaid
        else [f.to_dict() for f in found],
        "notChecked": absent,
    }
    summary = (
        f"{errors} error(s), {warnings} warning(s)"
        + (" (warnings count: --strict)" if strict and warnings else "")
        + (f"; not checked, absent from the input: {', '.join(absent)}" if absent else "")
        + f"; {release_line(snapshot)}"
    )
    answer = CheckAnswer(found, [_label(o) for o in origins] if overlaid else None, objects, places, strict, summary)
    return Result(data, code, notes, views={"table": table}, answer=answer)


@dataclass
class CheckAnswer:
    """What check's table and its CI formats (cireport) read beyond the data."""

    found: List[Finding]
    labels: Optional[List[str]]  # --against-cluster: where each finding's object came from (FROM)
    objects: List[cireport.ObjectKey]  # the CI formats: every object checked
    places: Dict[cireport.ObjectKey, cireport.Place]  # and where each was read
    strict: bool
    summary: str  # the counts, said after the findings (not with -o json|yaml)


def table(result: Result) -> List[Block]:
    a = result.answer
    blocks: List[Block] = []
    if a.found:
        labels = a.labels
        rows = [
            [f.severity, f.code, f.object] + ([labels[i]] if labels is not None else []) + [f.message]
            for i, f in enumerate(a.found)
        ]
        headers = ["severity", "code", "object"] + (["from"] if labels is not None else []) + ["message"]
        blocks.append(Table(rows, headers, severities=True))
    return blocks + [Note(a.summary)]

"""kubectl lbip check: every mistake MetalLB would punish, as findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .. import cireport
from ..errors import EXIT_NEGATIVE, EXIT_OK
from ..model.checks import CHECKED
from ..model.cluster import Cluster
from ..model.rules import ERROR, WARNING, Finding
from ..printer import Block, Note, Result, Table
from .common import Inputs, empty_namespace_note, legacy_note


def _origin(cluster: Cluster, kind: str, namespace: str, name: str) -> dict:
    """{"source": "files"|"cluster", "file": name|None} of a finding's object
    (--against-cluster), as its model object carries it."""
    return cluster.origin_of(kind, namespace, name).to_dict()


def _label(origin: dict) -> str:
    return origin["file"] or origin["source"]


def _place(snapshot, cluster: Cluster, key: Tuple[str, str, str]) -> cireport.Place:
    """Where an object was read: its file, line and column (and, with
    --against-cluster, whether from the files or the cluster)."""
    source = _origin(cluster, *key)["source"] if cluster.overlaid else None
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


def run(inputs: Inputs, strict: bool = False, warn_used: Optional[int] = None) -> Result:
    located = "locations" in inputs.needs  # the CI formats: each finding on its file's line
    snapshot = inputs.snapshot(events=True, network=True, locate=located, cilium=True)
    cluster = snapshot.take_cluster()
    impl = inputs.implementation_of(snapshot, cluster)
    absent = impl.not_checked()
    namespace = inputs.namespace_filter()
    found = impl.findings(namespace, warn_used)
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
    overlaid = cluster.overlaid  # --against-cluster: say where each object came from
    notes += snapshot.network_notes
    objects: List[cireport.ObjectKey] = []
    places: Dict[cireport.ObjectKey, cireport.Place] = {}
    if located:
        objects = impl.checked_objects(namespace)
        places = {key: _place(snapshot, cluster, key) for key in set(objects) | {cireport.object_key(f) for f in found}}
    origins = [_origin(cluster, f.kind, f.namespace, f.name) for f in found] if overlaid else []
    release_key, release = impl.release_entry()
    data = {
        release_key: release,
        "findings": [dict(f.to_dict(), **o) for f, o in zip(found, origins)]
        if overlaid
        else [f.to_dict() for f in found],
        "notChecked": absent,
    }
    summary = (
        f"{errors} error(s), {warnings} warning(s)"
        + (" (warnings count: --strict)" if strict and warnings else "")
        + (f"; not checked, absent from the input: {', '.join(absent)}" if absent else "")
        + f"; {impl.release.describe()}"
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

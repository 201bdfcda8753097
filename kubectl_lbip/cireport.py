"""`check`'s findings where CI shows them: SARIF 2.1.0 (code scanning), JUnit XML
(test reports) and GitHub Actions workflow commands (annotations on a pull request).

Plain data in (findings, where each object was read, the catalogue), text out;
deterministic: findings in check's order, objects sorted, no timestamps."""

from __future__ import annotations

import os
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .model.checks import CHECKED
from .model.rules import ERROR, WARNING, Finding

HOME = "https://github.com/kubectl-lbip/kubectl-lbip"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

ObjectKey = Tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True)
class Place:
    """Where a checked object was read: a file and the line and column it starts
    at, and, with --against-cluster, "files" or "cluster"."""

    file: Optional[str] = None
    line: int = 1
    column: int = 1
    source: Optional[str] = None


def object_key(finding: Finding) -> ObjectKey:
    return finding.kind, finding.namespace, finding.name


def object_name(key: ObjectKey) -> str:
    kind, namespace, name = key
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def help_uri(code: str) -> str:
    """The README's row of a code (each row carries an anchor check-CODE)."""
    return f"{HOME}#check-{code}"


def _uri(path: str) -> str:
    """A file as SARIF names it: relative paths as they are (from where check ran,
    usually the repository's root), with forward slashes; absolute ones as file URIs."""
    if os.path.isabs(path):
        return "file://" + urllib.parse.quote(os.path.normpath(path).replace(os.sep, "/"))
    return urllib.parse.quote(os.path.normpath(path).replace(os.sep, "/"))


def sarif(findings: Sequence[Finding], places: Dict[ObjectKey, Place], version: str) -> Dict[str, Any]:
    """One run of kubectl-lbip: a rule per code check reports (the catalogue), a result per finding."""
    index = {c.code: i for i, c in enumerate(CHECKED)}
    rules = [
        {
            "id": c.code,
            "name": c.name,
            "shortDescription": {"text": c.title},
            "fullDescription": {"text": c.plain_meaning, "markdown": c.meaning},
            "help": {"text": f"Fix: {c.generic_fix}"},
            "helpUri": help_uri(c.code),
            "defaultConfiguration": {"level": c.severity},
            "properties": {"severity": c.severity_text},
        }
        for c in CHECKED
    ]
    results = []
    for f in findings:
        key = object_key(f)
        place = places.get(key, Place())
        location: Dict[str, Any] = {
            "logicalLocations": [{"name": f.name, "fullyQualifiedName": object_name(key), "kind": "resource"}]
        }
        if place.file:
            location["physicalLocation"] = {
                "artifactLocation": {"uri": _uri(place.file)},
                "region": {"startLine": place.line, "startColumn": place.column},
            }
        result: Dict[str, Any] = {
            "ruleId": f.code,
            "level": f.severity if f.severity in (ERROR, WARNING) else "note",
            "message": {"text": f.message},
            "locations": [location],
            "properties": {"object": object_name(key)},
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        if place.source:
            result["properties"]["source"] = place.source
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kubectl-lbip",
                        "version": version,
                        "informationUri": HOME,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def junit(
    objects: Sequence[ObjectKey], findings: Sequence[Finding], places: Dict[ObjectKey, Place], strict: bool
) -> str:
    """One test case per object checked; a failure per error finding (and, with
    --strict, per warning); the other warnings in the case's system-out."""
    by_object: Dict[ObjectKey, List[Finding]] = {}
    for f in findings:
        by_object.setdefault(object_key(f), []).append(f)
    keys = sorted(set(objects) | set(by_object))
    failing_cases = sum(1 for k in keys if any(f.severity == ERROR or strict for f in by_object.get(k, ())))
    root = ET.Element("testsuites", name="kubectl lbip check", tests=str(len(keys)), failures=str(failing_cases))
    suite = ET.SubElement(
        root,
        "testsuite",
        name="kubectl lbip check",
        tests=str(len(keys)),
        failures=str(failing_cases),
        errors="0",
        skipped="0",
    )
    for key in keys:
        place = places.get(key, Place())
        attrs = {"classname": key[0], "name": object_name(key)}
        if place.file:
            attrs.update(file=place.file, line=str(place.line))
        case = ET.SubElement(suite, "testcase", attrs)
        told = []
        for f in by_object.get(key, ()):
            if f.severity == ERROR or strict:
                failure = ET.SubElement(case, "failure", message=f.message, type=f.code)
                failure.text = f"{f.severity} {f.code}: {f.message}"
            else:
                told.append(f"{f.severity} {f.code}: {f.message}")
        if told:
            ET.SubElement(case, "system-out").text = "\n".join(told)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def github(findings: Sequence[Finding], places: Dict[ObjectKey, Place]) -> List[str]:
    """A workflow command per finding: ::error or ::warning, on the object's file and
    line when it was read from one."""
    lines = []
    for f in findings:
        key = object_key(f)
        place = places.get(key, Place())
        props = []
        if place.file:
            props += [f"file={_property(place.file)}", f"line={place.line}", f"col={place.column}"]
        props.append(f"title={_property(f.code)}")
        command = "error" if f.severity == ERROR else "warning"
        lines.append(f"::{command} {','.join(props)}::{_data(object_name(key) + ': ' + f.message)}")
    return lines

"""Where `kubectl lbip history` reads from: a record (the JSON lines of
`who-has -w -o json`, -f FILE|-) or what the API server keeps (Events of Services,
the Services' managedFields times, status and conditions), each line or object
checked before the model (model/history.py) turns it into Changes."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any, BinaryIO, Dict, List, Optional, Sequence

from ..errors import InputError, ResponseError
from ..model import history
from . import shape

# A record's line longer than this is refused (a line of the watch is a few hundred
# bytes; a dual-stack service with many addresses a few kB).
MAX_LINE = 1 << 20

# The fields of a Service that history reads past the model's (list items carry the
# rest of the Service's shape check, snapshot.checked_role): the time of each
# managedFields entry and the conditions of its status.
SERVICE_PAST = (
    "obj",
    {
        "metadata": (
            "obj",
            {
                "managedFields": (
                    "list",
                    (
                        "obj",
                        {"manager": shape.STR, "operation": shape.STR, "subresource": shape.STR, "time": shape.STR},
                    ),
                ),
            },
        ),
        "status": (
            "obj",
            {
                "conditions": (
                    "list",
                    (
                        "obj",
                        {
                            "type": shape.STR,
                            "status": shape.STR,
                            "reason": shape.STR,
                            "message": shape.STR,
                            "lastTransitionTime": shape.STR,
                        },
                    ),
                )
            },
        ),
    },
)
EVENT_PAST = (
    "obj",
    {"source": ("obj", {"component": shape.STR}), "reportingController": shape.STR, "firstTimestamp": shape.STR},
)


def read_record(paths: Sequence[str], stdin: Optional[BinaryIO] = None) -> List[history.Change]:
    """Every service change of the record files ('-': standard input), in the order
    read; a line that is not the watch's line format is an error naming the file and
    line (exit 2). Blank lines are skipped."""
    changes: List[history.Change] = []
    for path in paths:
        name = "<stdin>" if path == "-" else path
        if path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            changes += _lines(stream, name)
            continue
        try:
            with open(path, "rb") as f:
                changes += _lines(f, name)
        except IsADirectoryError:
            raise InputError(f"{name}: is a directory; history -f reads a record file (who-has -w -o json)") from None
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    return changes


def _lines(stream: BinaryIO, name: str) -> List[history.Change]:
    out: List[history.Change] = []
    number = 0
    while True:
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return out
        number += 1
        where = f"{name}:{number}"
        if len(raw) > MAX_LINE:
            raise InputError(f"{where}: the line is longer than {MAX_LINE >> 20} MiB; not a record line")
        cut = not raw.endswith(b"\n")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{where}: not UTF-8 text (byte {exc.start + 1})") from None
        if not text.strip():
            continue
        try:
            doc = json.loads(text)
        except RecursionError:
            raise InputError(f"{where}: nested too deeply") from None
        except ValueError as exc:
            said = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            end = " (the last line is cut short: the file does not end with a newline)" if cut else ""
            raise InputError(f"{where}: not JSON: {said}{end}") from None
        try:
            change = history.change_from_line(doc, where)
        except history.HistoryError as exc:
            raise InputError(str(exc)) from None
        if change is not None:
            out.append(change)


def live_changes(client: Any, namespace: Optional[str], now: datetime) -> List[history.Change]:
    """What the API server keeps, through the door: the Events about Services (MetalLB's
    kept), and each LoadBalancer Service's status writes, conditions and current
    holding; in ``namespace``, or every namespace."""
    from .live import EVENTS_PATH, SERVICES_PATH, segment

    scope = f"/api/v1/namespaces/{segment(namespace)}" if namespace else "/api/v1"
    events_path = f"{scope}/events" if namespace else EVENTS_PATH
    services_path = f"{scope}/services" if namespace else SERVICES_PATH
    client.prefetch(events_path, [("fieldSelector", "involvedObject.kind=Service")])
    services = client.list_all(services_path, _past_service(services_path))
    events = client.list_all(events_path, _past_event(events_path), [("fieldSelector", "involvedObject.kind=Service")])
    changes: List[history.Change] = []
    for svc in services:
        if (svc.get("spec") or {}).get("type") == "LoadBalancer":
            changes += history.changes_from_service(svc, now)
    for event in events:
        change = history.change_from_event(event)
        if change is not None:
            changes.append(change)
    return changes


def _past_service(path: str):
    count = [0]

    def trim(obj: Dict[str, Any]) -> Dict[str, Any]:
        count[0] += 1
        shape.check(obj, SERVICE_PAST, f"GET {path}: item {count[0]}", ResponseError)
        meta = obj.get("metadata") or {}
        status = obj.get("status") or {}
        return {
            "metadata": {
                "namespace": meta.get("namespace"),
                "name": meta.get("name"),
                "managedFields": [
                    {k: m.get(k) for k in ("manager", "subresource", "time")} for m in meta.get("managedFields") or ()
                ],
            },
            "spec": {"type": (obj.get("spec") or {}).get("type")},
            "status": {
                "loadBalancer": {"ingress": list((status.get("loadBalancer") or {}).get("ingress") or ())},
                "conditions": list(status.get("conditions") or ()),
            },
        }

    return trim


def _past_event(path: str):
    count = [0]

    def trim(obj: Dict[str, Any]) -> Dict[str, Any]:
        count[0] += 1
        return shape.check(obj, EVENT_PAST, f"GET {path}: item {count[0]}", ResponseError)

    return trim

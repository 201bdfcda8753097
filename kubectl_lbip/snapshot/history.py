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
from ..model.schema import build, builder, trim
from . import shape

# A record's line longer than this is refused (a line of the watch is a few hundred
# bytes; a dual-stack service with many addresses a few kB).
MAX_LINE = 1 << 20


# A line whose every field has its JSON type, built in one pass (else None: checked, then built)
plain_line = builder(history.WatchLine, plain=True)


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
        if not isinstance(doc, dict):
            raise InputError(f"{where}: expected a JSON object, got {shape.type_name(doc)}")
        if doc.get("kind") in history.OTHER_KINDS:  # pools -w, check -w: read past
            continue
        line = plain_line(doc)  # every field of its JSON type: the one pass
        if line is None:  # else the shape check names what is wrong
            shape.check(doc, shape.shape_of(history.WatchLine), where, InputError, what="watch line")
            line = build(history.WatchLine, doc)
        try:
            change = history.change_from_line(line, where)
        except history.HistoryError as exc:
            raise InputError(str(exc)) from None
        if change is not None:
            out.append(change)


def live_changes(client: Any, namespace: Optional[str], now: datetime) -> List[history.Change]:
    """What the API server keeps, through the door: the Events about Services (MetalLB's
    kept), and each LoadBalancer Service's status writes, conditions and current
    holding; in ``namespace``, or every namespace. A Service is trimmed to, checked
    against and built from history.ServicePast's table; an Event is checked against and
    built from its own (model.events.Event, shape.MODELS) as its page is read."""
    from .live import EVENTS_PATH, SERVICES_PATH, event_model, segment

    scope = f"/api/v1/namespaces/{segment(namespace)}" if namespace else "/api/v1"
    events_path = f"{scope}/events" if namespace else EVENTS_PATH
    services_path = f"{scope}/services" if namespace else SERVICES_PATH
    about_services = [("fieldSelector", "involvedObject.kind=Service")]
    client.prefetch(events_path, about_services)
    services = client.list_all(services_path, lambda o: trim(history.ServicePast, o))
    events = client.list_all(events_path, event_model, about_services)  # checked, then modelled
    changes: List[history.Change] = []
    for i, obj in enumerate(services, start=1):
        svc = built(history.ServicePast, obj, f"GET {services_path}: item {i}")
        if svc.type == "LoadBalancer":
            changes += history.changes_from_service(svc, now)
    for event in events:
        change = history.change_from_event(event)
        if change is not None:
            changes.append(change)
    return changes


def built(model: type, obj: Dict[str, Any], where: str) -> Any:
    """The model of an API object, after its shape check (both from the model's table)."""
    shape.check(obj, shape.shape_of(model), where, ResponseError)
    return build(model, obj)

"""kubectl lbip history [ADDRESS|CIDR|SERVICE]: what happened to an address or a
service. From a record (-f FILE: the lines `who-has -w -o json` appended) or from
what the API server keeps; the model (model/history.py) answers, the views show it."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import history
from ..printer import Block, Note, Result, Table
from .common import Inputs

LIVE_NOTE = (
    "note: from what the API server keeps: MetalLB's Events about services (for the API "
    f"server's --event-ttl, {history.EVENT_TTL} by default), each service's last status write "
    "(managedFields), Cilium's condition times, and the current state. For a lasting record: "
    "'kubectl lbip who-has -w -o json >> FILE', read back with 'kubectl lbip history -f FILE'"
)


def parse_since(text: Optional[str], now: datetime) -> Optional[datetime]:
    """--since: a duration back from now (1h, 90m, as kubectl logs --since), or a time."""
    from ..flags import parse_duration

    if text is None:
        return None
    seconds = parse_duration(text)
    if seconds is not None:
        return history.since_time(now, seconds=seconds)
    try:
        return history.parse_time(text)
    except history.HistoryError as exc:
        raise UsageError(f"--since: {exc}, or a duration such as 1h") from None


def run(
    inputs: Inputs,
    target: Optional[str],
    at: Optional[str] = None,
    since: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Result:
    now = now or datetime.now(timezone.utc)
    try:  # bad input fails before anything is read
        at_time = None if at is None else history.parse_time(at)
    except history.HistoryError as exc:
        raise UsageError(f"--at: {exc}") from None
    since_time = parse_since(since, now)
    if at_time is not None and since_time is not None:
        raise UsageError("--at asks who held it at one time, --since for the changes since a time: give one of them")
    namespace = inputs.namespace or ("default" if inputs.filenames else "")  # -f: kubectl -f's default
    try:
        query = history.parse_query(target, namespace, inputs.namespace_filter())
    except history.HistoryError as exc:
        raise UsageError(str(exc)) from None
    if query.service is not None and not query.service[0]:  # a name alone: the context's namespace
        query = query._replace(service=(inputs.default_namespace(), query.service[1]))
    if inputs.filenames:
        from ..snapshot.history import read_record

        changes = read_record(inputs.filenames, getattr(inputs.stdin or sys.stdin, "buffer", None))
        live = False
    else:
        from ..snapshot.history import live_changes

        scope = query.service[0] if query.service else inputs.namespace_filter()
        changes = live_changes(inputs.client(), scope, now)
        live = True
    if at_time is not None:
        answer = history.held_at(changes, query, at_time)
        found = bool(answer["holders"]) and answer["covered"]
    else:
        answer = {"changes": [c.to_dict() for c in history.timeline(changes, query, since_time)]}
        found = bool(answer["changes"])
    answer = {"query": describe(query), **answer}
    return Result(
        answer,
        EXIT_OK if found else EXIT_NEGATIVE,
        notes=[LIVE_NOTE] if live else [],
        views={"table": table, "wide": wide},
        answer="API server" if live else "record",
    )


def describe(query: history.Query) -> Optional[Dict[str, Any]]:
    if query.service is not None:
        return {"service": {"namespace": query.service[0], "name": query.service[1]}}
    if query.interval is not None:
        return {"addresses": str(query.interval)}
    return None


def wide(result: Result) -> List[Block]:
    return table(result, wide=True)


def table(result: Result, wide: bool = False) -> List[Block]:
    """The changes, or the holders at --at; what the source (``result.answer``: the
    record or the API server) does not cover is said on stderr. -o wide adds where
    each came from."""
    answer, source = result.data, result.answer
    what = _what(answer["query"])
    if "changes" in answer:
        rows = [
            [
                c["time"],
                f"{c['namespace']}/{c['name']}",
                c["change"],
                ",".join(c["from"]) or "-",
                "-" if c["to"] is None else ",".join(c["to"]) or "-",
                c["pool"] or "-",
                c["reason"] or "",
            ]
            + ([c["source"]] if wide else [])
            for c in answer["changes"]
        ]
        if not rows:
            return [Note(f"no change of {what} in the {source}")]
        headers = ["time", "service", "change", "from", "to", "pool", "reason"] + (["source"] if wide else [])
        return [Table(rows, headers, fit=not wide)]
    if not answer["covered"]:
        start = answer["recordFrom"]
        return [
            Note(
                f"nothing is known of {answer['at']}: "
                + (f"the {source} starts at {start}" if start else f"the {source} is empty")
            )
        ]
    rows = [
        [
            f"{h['namespace']}/{h['name']}",
            ",".join(h["addresses"]),
            h["pool"] or "-",
            f"{h['since']} ({h['sinceChange']})",
            "-" if h["until"] is None else f"{h['until']} ({h['untilChange']})",
        ]
        + ([h["source"]] if wide else [])
        for h in answer["holders"]
    ]
    unknown: List[Block] = [
        Note(
            f"not known at {answer['at']}: "
            + ", ".join(f"{u['namespace']}/{u['name']} (first seen {u['firstSeen']})" for u in answer["unknown"])
        )
    ]
    unknown = unknown if answer["unknown"] else []
    if not rows:
        covers = f"(the {source} covers {answer['recordFrom']} to {answer['recordTo']})"
        if answer["query"] and "service" in answer["query"]:
            return unknown or [Note(f"{what} held no address at {answer['at']} {covers}")]
        return [Note(f"nobody {'else ' if unknown else ''}held {what} at {answer['at']} {covers}")] + unknown
    headers = ["service", "held", "pool", "since", "until"] + (["source"] if wide else [])
    blocks: List[Block] = [Table(rows, headers, fit=not wide)]
    if any(h["until"] is None for h in answer["holders"]):
        blocks.append(Note(f"until -: still held where the {source} ends"))
    return blocks + unknown


def _what(query: Optional[Dict[str, Any]]) -> str:
    if not query:
        return "any service"
    if "service" in query:
        return f"service {query['service']['namespace']}/{query['service']['name']}"
    return str(query["addresses"])

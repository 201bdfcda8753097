"""Kubernetes Events (core/v1), as the plugin reads them: MetalLB's AllocationFailed
refusals (check, who-has -w, why, annotate --wait) and the Events about Services
that history turns into changes (model/history.py).

One table (model/schema.py): the shape check of an Event from the API, the watch's
trim and the model's constructor all derive from ``Event``'s fields. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List

from .schema import INT, STR, at


@dataclass(frozen=True)
class Event:
    """An Event: its own name and namespace, the object it is about (involvedObject;
    ``namespace`` "default" when it says none, as the API server places such an
    Event), what it says and when."""

    event_namespace: str = field(default="", metadata=at("metadata.namespace", STR))
    event_name: str = field(default="", metadata=at("metadata.name", STR))
    kind: str = field(default="", metadata=at("involvedObject.kind", STR))
    namespace: str = field(default="default", metadata=at("involvedObject.namespace", STR, "default"))
    name: str = field(default="", metadata=at("involvedObject.name", STR))
    reason: str = field(default="", metadata=at("reason", STR))
    message: str = field(default="", metadata=at("message", STR))
    count: int = field(default=0, metadata=at("count", INT, 0, convert=int))
    first: str = field(default="", metadata=at("firstTimestamp", STR))
    last: str = field(default="", metadata=at("lastTimestamp", STR))
    event_time: str = field(default="", metadata=at("eventTime", STR))
    component: str = field(default="", metadata=at("source.component", STR))
    reporting: str = field(default="", metadata=at("reportingController", STR))

    @property
    def when(self) -> str:
        """Its time as the latest message is chosen: lastTimestamp, else eventTime
        ("" for neither; RFC 3339 texts, compared as texts)."""
        return self.last or self.event_time


def latest_message(events: Iterable[Event]) -> str:
    """The message of the latest Event (of equal times, the one listed last; an Event
    without a time counts as the earliest); "" for none."""
    best = ("", "")
    for event in events:
        when = event.when
        if when >= best[0]:
            best = (when, event.message)
    return best[1]


def latest_failures(events: Iterable[Event]) -> Dict[str, str]:
    """The latest message per "namespace/name" of the object the Events are about
    (MetalLB's AllocationFailed ones: the reason a service holds nothing)."""
    about: Dict[str, List[Event]] = {}
    for event in events:
        about.setdefault(f"{event.namespace}/{event.name}", []).append(event)
    return {key: latest_message(found) for key, found in about.items()}

"""kubectl lbip history: what happened to an address or a service, from what can be
read back afterwards.

Two sources, both turned into the same ``Change``s here (pure: no I/O):

- a record: the JSON lines of `kubectl lbip who-has -w -o json` appended to a file
  (the watch's line format; one line per change, with its time), replayed in order;
- what the API server still keeps, without any record: the Events MetalLB's
  controller and speaker wrote about services (kept for the API server's
  --event-ttl, one hour by default), Cilium's IPAMRequestSatisfied condition (its
  last transition), the time of each service's last status write (managedFields),
  and the current state.

The questions: every change touching an address (or a CIDR) or a service, since a
time; and who held an address (or what a service held) at a time, from when until
when, as far as the source covers that time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from ..errors import InvalidValue
from .addresses import AddressError, Interval, canonical, parse_ip
from .events import Event
from .schema import STR, STRINGS, at, list_of, obj

# The watch's changes of a service (the line format's "change").
LISTED = "listed"
ASSIGNED = "assigned"
RELEASED = "released"
MOVED = "moved"
REFUSED = "refused"
DELETED = "deleted"
CREATED = "created"
CHANGES = (LISTED, ASSIGNED, RELEASED, MOVED, REFUSED, DELETED, CREATED)
# Not a line of the watch: a service held addresses before a watch started and was
# not in its listing, so it let them go while no watch ran.
UNSEEN = "gone unseen"
# Past allocation, from MetalLB's speaker (an event, not a change of the status).
ANNOUNCED = "announced"

# The kinds of watch lines that are about something else than a service's
# addresses (pools -w, check -w): read past, not replayed.
OTHER_KINDS = ("IPAddressPool", "Finding")

# MetalLB's components, as they name themselves in Events (source.component,
# reportingController), and what each reason of theirs means here (controller/
# service.go, speaker/main.go).
METALLB_COMPONENTS = ("metallb-controller", "metallb-speaker")
EVENT_CHANGES = {
    "IPAllocated": ASSIGNED,
    "AllocationFailed": REFUSED,
    "LoadBalancerFailed": REFUSED,
    "AdditionalAssignFailed": REFUSED,
    "ClearAssignment": RELEASED,
    "nodeAssigned": ANNOUNCED,
}
CILIUM_CONDITION = "cilium.io/IPAMRequestSatisfied"
# How long the API server keeps Events unless its --event-ttl says otherwise.
EVENT_TTL = "1h"

_QUOTED = re.compile(r'"([^"]+)"')
_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d\d:?\d\d)?"
)


class HistoryError(InvalidValue):
    """A record line, a time or a query that cannot be read; the message says why."""


class Change(NamedTuple):
    """One thing that happened to a service's addresses."""

    time: datetime  # UTC
    namespace: str
    name: str
    change: str
    before: Tuple[str, ...]  # the line's "from"
    after: Optional[Tuple[str, ...]]  # its "to"; None: not said (kept as it was)
    pool: Optional[str]
    reason: Optional[str]
    source: str  # FILE:LINE, or which kind of object of the API server told it

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def addresses(self) -> Tuple[str, ...]:
        return self.before + (self.after or ())

    def to_dict(self) -> Dict[str, Any]:
        return {
            "time": format_time(self.time),
            "namespace": self.namespace,
            "name": self.name,
            "change": self.change,
            "from": list(self.before),
            "to": None if self.after is None else list(self.after),
            "pool": self.pool,
            "reason": self.reason,
            "source": self.source,
        }


# --- times


def parse_time(text: str) -> datetime:
    """A time as RFC 3339 (2026-12-01T15:00:00Z, with an offset, with fractions), or
    a date and time without an offset (UTC), or a date alone (its midnight, UTC)."""
    match = _TIME.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise HistoryError(f"{str(text)[:60]!r} is not a time: use RFC 3339, e.g. 2026-12-01T15:00:00Z")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        when = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone.utc,
        )
    except ValueError as exc:
        raise HistoryError(f"{text[:60]!r} is not a time: {exc}") from None
    if zone and zone not in ("Z", "z", "UTC"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= timedelta(hours=24):
            raise HistoryError(f"{text[:60]!r} is not a time: its offset is 24 hours or more")
        when -= sign * offset
    return when


def format_time(when: datetime) -> str:
    """RFC 3339 UTC with milliseconds, as the watch writes its times."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def since_time(now: datetime, seconds: Optional[float] = None, when: Optional[datetime] = None) -> datetime:
    """--since as a time: a duration back from now, or a time given as such."""
    if when is not None:
        return when
    return now - timedelta(seconds=seconds or 0)


# --- a record: the watch's lines


@dataclass(frozen=True)
class WatchLine:
    """One line of a record (the watch's line format), as read: one table
    (model/schema.py) from which the snapshot's shape check derives; change_from_line
    then reads what the types cannot say (a time, the addresses, the change)."""

    time: str = field(default="", metadata=at("time", STR))
    kind: str = field(default="", metadata=at("kind", STR))
    namespace: str = field(default="", metadata=at("namespace", STR))
    name: str = field(default="", metadata=at("name", STR))
    change: str = field(default="", metadata=at("change", STR))
    before: Tuple[str, ...] = field(default=(), metadata=at("from", STRINGS, ()))
    after: Tuple[str, ...] = field(default=(), metadata=at("to", STRINGS, ()))
    pool: Optional[str] = field(default=None, metadata=at("pool", STR, None))
    reason: Optional[str] = field(default=None, metadata=at("reason", STR, None))


def change_from_line(line: WatchLine, source: str) -> Optional[Change]:
    """One line of a record (its types checked) as a Change; None for the lines about
    something else than a service's addresses (pools -w, check -w). What is not the
    line format is a HistoryError naming the field."""
    if line.kind in OTHER_KINDS:
        return None
    if line.kind != "Service":
        raise HistoryError(
            f"{source}: field kind: expected Service (or {', '.join(OTHER_KINDS)}), got {line.kind!r}"[:300]
        )
    try:
        time = parse_time(line.time)
    except HistoryError as exc:
        raise HistoryError(f"{source}: field time: {exc}") from None
    for key in ("namespace", "name", "change"):
        if not getattr(line, key):
            raise HistoryError(f"{source}: field {key}: expected a non-empty string")
    if line.change not in CHANGES:
        raise HistoryError(f"{source}: field change: {line.change[:40]!r} is not one of {', '.join(CHANGES)}")
    before = _addresses(line.before, f"{source}: field from")
    after = _addresses(line.after, f"{source}: field to")
    return Change(time, line.namespace, line.name, line.change, before, after, line.pool, line.reason, source)


def _addresses(texts: Tuple[str, ...], where: str) -> Tuple[str, ...]:
    out = []
    for i, text in enumerate(texts):
        try:
            out.append(canonical(text))
        except AddressError:
            raise HistoryError(f"{where}[{i}]: {text[:60]!r} is not an IP address") from None
    return tuple(out)


# --- what the API server keeps


def _times(value: Any) -> Tuple[Tuple[str, str], ...]:
    """(time, manager) of each managedFields entry of the status subresource."""
    return tuple(
        (str(m.get("time") or ""), str(m.get("manager") or "unknown manager"))
        for m in value
        if m.get("subresource") == "status"
    )


def _conditions(value: Any) -> Tuple[Tuple[str, str, str, str], ...]:
    """(lastTransitionTime, status, reason, message) of Cilium's IPAMRequestSatisfied."""
    return tuple(
        (
            str(c.get("lastTransitionTime") or ""),
            str(c.get("status") or ""),
            str(c.get("reason") or ""),
            str(c.get("message") or ""),
        )
        for c in value
        if c.get("type") == CILIUM_CONDITION
    )


def _ips(value: Any) -> Tuple[str, ...]:
    return tuple(str(parse_ip(i["ip"])) for i in value if _is_ip(i.get("ip")))


@dataclass(frozen=True)
class ServicePast:
    """What a Service read from the API server says of its own past: the times of its
    status writes (managedFields), Cilium's condition, what it holds now. One table
    (model/schema.py): the snapshot's trim and shape check derive from it."""

    namespace: str = field(default="default", metadata=at("metadata.namespace", STR, "default"))
    name: str = field(default="", metadata=at("metadata.name", STR))
    type: str = field(default="ClusterIP", metadata=at("spec.type", STR, "ClusterIP"))
    held: Tuple[str, ...] = field(
        default=(), metadata=at("status.loadBalancer.ingress", list_of(obj(ip=STR, hostname=STR)), (), convert=_ips)
    )
    status_writes: Tuple[Tuple[str, str], ...] = field(
        default=(),
        metadata=at(
            "metadata.managedFields",
            list_of(obj(manager=STR, operation=STR, subresource=STR, time=STR)),
            (),
            convert=_times,
        ),
    )
    conditions: Tuple[Tuple[str, str, str, str], ...] = field(
        default=(),
        metadata=at(
            "status.conditions",
            list_of(obj(type=STR, status=STR, reason=STR, message=STR, lastTransitionTime=STR)),
            (),
            convert=_conditions,
        ),
    )


def change_from_event(event: Event) -> Optional[Change]:
    """A Service's Event written by MetalLB, as a Change; None for anyone else's, or a
    reason that says nothing of addresses."""
    component = event.component or event.reporting
    change = EVENT_CHANGES.get(event.reason)
    if component not in METALLB_COMPONENTS or change is None or event.kind != "Service" or not event.name:
        return None
    try:
        time = parse_time(event.last or event.event_time or event.first)
    except HistoryError:
        return None  # an Event without a time places nothing
    after: Optional[Tuple[str, ...]] = None
    if change == ASSIGNED:
        after = tuple(_quoted_addresses(event.message))
    repeated = f" ({event.count} times since {event.first})" if event.count > 1 and event.first else ""
    return Change(
        time,
        event.namespace,
        event.name,
        change,
        (),
        after,
        None,
        (event.message + repeated) or None,
        f"event {event.reason} ({component})",
    )


def _quoted_addresses(message: str) -> List[str]:
    """The addresses in `Assigned IP ["192.168.10.5" "fd00::5"]` (Go's %q of a list)."""
    out = []
    for text in _QUOTED.findall(message):
        try:
            out.append(str(parse_ip(text)))
        except AddressError:
            continue
    return out


def changes_from_service(svc: ServicePast, now: datetime) -> List[Change]:
    """What a Service says of its own past: its last status write, Cilium's last
    transition of the IPAMRequestSatisfied condition, and what it holds now."""
    out = []
    writes: List[Tuple[datetime, str]] = []
    for text, manager in svc.status_writes:
        try:
            writes.append((parse_time(text), manager))
        except HistoryError:
            continue
    if writes:
        written, manager = max(writes)
        out.append(
            Change(
                written,
                svc.namespace,
                svc.name,
                ASSIGNED if svc.held else RELEASED,
                (),
                svc.held,
                None,
                "the status as it is now was last written then",
                f"managedFields (status, {manager})",
            )
        )
    for transition, status, reason, message in svc.conditions:
        try:
            changed = parse_time(transition)
        except HistoryError:
            continue
        satisfied = status == "True"
        out.append(
            Change(
                changed,
                svc.namespace,
                svc.name,
                ASSIGNED if satisfied else REFUSED,
                (),
                svc.held if satisfied else None,
                None,
                message or reason or None,
                f"condition {CILIUM_CONDITION}",
            )
        )
    out.append(Change(now, svc.namespace, svc.name, LISTED, (), svc.held, None, None, "the service now"))
    return out


def _is_ip(text: Any) -> bool:
    try:
        parse_ip(text)
    except AddressError:
        return False
    return True


# --- questions


class Query(NamedTuple):
    """An address or CIDR, or a service (namespace/name); neither: everything; with
    ``namespace``, only that namespace's services (-n)."""

    interval: Optional[Interval] = None
    service: Optional[Tuple[str, str]] = None
    namespace: Optional[str] = None

    def matches(self, change: Change) -> bool:
        if self.namespace is not None and change.namespace != self.namespace:
            return False
        if self.service is not None:
            return (change.namespace, change.name) == self.service
        if self.interval is not None:
            return any(self.covers(a) for a in change.addresses())
        return True

    def covers(self, address: str) -> bool:
        if self.interval is None:
            return True
        addr = parse_ip(address)
        return self.interval.family == ("ipv4" if addr.version == 4 else "ipv6") and self.interval.contains(int(addr))


def in_order(changes: Iterable[Change]) -> List[Change]:
    """By time; changes of the same time keep the order they were read in."""
    return sorted(changes, key=lambda c: c.time)


# The lines of one watch's listing are written within this many seconds of each other.
LISTING_GAP = timedelta(seconds=60)


def starts_listing(last: Change, listed: Set[str], change: Change) -> bool:
    """Whether a "listed" line begins another watch's listing than the one whose
    services are ``listed`` and whose last line is ``last``: its service is listed
    there already, or it comes more than LISTING_GAP after it."""
    return change.time - last.time > LISTING_GAP or change.key in listed


def replay(changes: Sequence[Change]) -> List[Change]:
    """The changes in order, with one UNSEEN change added for each service that held
    addresses before a watch's listing and is not in it (the listing's namespaces
    only: a watch with -n lists one namespace): it let them go while no watch ran.
    A listing is a run of "listed" lines (starts_listing says where the next begins)."""
    out: List[Change] = []
    held: Dict[str, Tuple[Change, Tuple[str, ...]]] = {}
    listing: List[Change] = []
    listed: Set[str] = set()

    def close_listing() -> None:
        if not listing:
            return
        seen = set(listed)
        spaces = {c.namespace for c in listing}
        start = listing[0]
        for key, (last, addresses) in sorted(held.items()):
            if key in seen or last.namespace not in spaces or not addresses:
                continue
            out.append(
                Change(
                    start.time,
                    last.namespace,
                    last.name,
                    UNSEEN,
                    addresses,
                    (),
                    last.pool,
                    f"not in the listing of {format_time(start.time)}: released or deleted after "
                    f"{format_time(last.time)}, while no watch recorded it",
                    start.source,
                )
            )
            held[key] = (out[-1], ())
        listing.clear()
        listed.clear()

    for change in in_order(changes):
        if change.change != LISTED or (listing and starts_listing(listing[-1], listed, change)):
            close_listing()
        if change.change == LISTED:
            listing.append(change)
            listed.add(change.key)
        out.append(change)
        held[change.key] = (change, holding_after(change, held.get(change.key, (change, ()))[1]))
    close_listing()
    return out


def holding_after(change: Change, before: Tuple[str, ...]) -> Tuple[str, ...]:
    """What a service holds after a change (``before``: what it held). A refusal or an
    announcement changes nothing held (the watch writes a refusal's "to" empty)."""
    if change.change in (RELEASED, DELETED, UNSEEN):
        return ()
    if change.change in (REFUSED, ANNOUNCED) or change.after is None:
        return before
    return change.after


def timeline(changes: Sequence[Change], query: Query, since: Optional[datetime] = None) -> List[Change]:
    """Every change the query touches (an address in its from or to, or the service),
    in order, from ``since`` on."""
    return [c for c in replay(changes) if query.matches(c) and (since is None or c.time >= since)]


class Holding(NamedTuple):
    namespace: str
    name: str
    addresses: Tuple[str, ...]
    pool: Optional[str]
    since: Change  # the change it held them from (or the first the source shows)
    until: Optional[Change]  # the next change that took them away; None: still, as far as known

    def to_dict(self) -> Dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "addresses": list(self.addresses),
            "pool": self.pool,
            "since": format_time(self.since.time),
            "sinceChange": self.since.change,
            "until": None if self.until is None else format_time(self.until.time),
            "untilChange": None if self.until is None else self.until.change,
            "source": self.since.source,
        }


def held_at(changes: Sequence[Change], query: Query, at: datetime) -> Dict[str, Any]:
    """Who held the query's address (or what its service held) at ``at``: each holding
    with the change it started at and the change that ended it. ``covered`` is False
    when the source starts after ``at`` (nothing is known of that time)."""
    ordered = replay(changes)

    def seen(key: str, addresses: Tuple[str, ...]) -> Tuple[str, ...]:
        if query.service is not None:
            return addresses if tuple(key.split("/", 1)) == query.service else ()
        if query.namespace is not None and key.split("/", 1)[0] != query.namespace:
            return ()
        return tuple(a for a in addresses if query.covers(a))

    holding: Dict[str, Tuple[str, ...]] = {}  # key -> every address it holds
    state: Dict[str, Tuple[Tuple[str, ...], Change]] = {}  # key -> (the query's part, since)
    pools: Dict[str, str] = {}
    after = len(ordered)
    for i, change in enumerate(ordered):
        if change.time > at:
            after = i
            break
        if change.pool:
            pools[change.key] = change.pool
        holding[change.key] = holding_after(change, holding.get(change.key, ()))
        view = seen(change.key, holding[change.key])
        previous = state.get(change.key)
        if previous is None or view != previous[0]:
            state[change.key] = (view, change)

    shown = {key: view for key, (view, _) in state.items() if view}
    current = {key: holding[key] for key in shown}
    until: Dict[str, Change] = {}
    for change in ordered[after:]:
        key = change.key
        if key not in current or key in until:
            continue
        current[key] = holding_after(change, current[key])
        if seen(key, current[key]) != shown[key]:
            until[key] = change
    holdings = [
        Holding(state[key][1].namespace, state[key][1].name, shown[key], pools.get(key), state[key][1], until.get(key))
        for key in sorted(shown)
    ]
    first = ordered[0].time if ordered else None
    last = ordered[-1].time if ordered else None
    return {
        "at": format_time(at),
        "covered": first is not None and first <= at,
        "recordFrom": None if first is None else format_time(first),
        "recordTo": None if last is None else format_time(last),
        "holders": [h.to_dict() for h in holdings],
        "unknown": unknown_at(ordered[after:], query, set(state)),
    }


def unknown_at(later: Sequence[Change], query: Query, known: Set[str]) -> List[Dict[str, Any]]:
    """The services the query touches that the source first shows after ``at`` (the
    changes ``later``), other than by their creation: what they held at ``at`` is not
    known (a later watch's listing; the API server's last status write, its events)."""
    firsts: Dict[str, Change] = {}
    touched: Set[str] = set()
    for change in later:
        if change.key in known:
            continue
        firsts.setdefault(change.key, change)
        if query.matches(change):
            touched.add(change.key)
    out = {
        key: {"namespace": c.namespace, "name": c.name, "firstSeen": format_time(c.time)}
        for key, c in firsts.items()
        if key in touched and c.change != CREATED  # created: it did not exist before
    }
    return list(out.values())


def parse_query(text: Optional[str], namespace: str, only: Optional[str] = None) -> Query:
    """The command's argument: an address or CIDR, else a service name (in
    ``namespace``), or NAMESPACE/NAME; none: everything. ``only``: keep to that
    namespace's services (an address, a CIDR or none asked about with -n)."""
    from .addresses import parse_network

    if not text:
        return Query(namespace=only)
    try:
        return Query(interval=parse_network(text), namespace=only)
    except AddressError:
        pass
    if "/" in text:
        ns, _, name = text.partition("/")
        if not ns or not name or "/" in name:
            raise HistoryError(f"{text[:100]!r} is neither an address, a CIDR nor a service (NAME or NAMESPACE/NAME)")
        return Query(service=(ns, name))
    return Query(service=(namespace, text))

"""What `--watch` reports: from the state the watch saw before and the state it sees
now, the changes, one line each. Pure: the command (commands/watch.py) keeps the
states, stamps each change with the time it was seen and prints it.

Three kinds of lines, one per command:
- who-has -w: a service's addresses (status.loadBalancer.ingress) were assigned,
  released, moved from -> to; a service was created or deleted; MetalLB refused it
  (the reason of its latest AllocationFailed event, while it holds nothing);
- pools -w: a pool's counts per family changed (or the pool was deleted);
- check -w: a finding appeared or was resolved.
The first list prints every object once as "listed"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .addresses import FAMILIES, Interval, address_value
from .cluster import Cluster
from .rules import Finding
from .services import Service
from .usage import family_counts

LISTED, CREATED, DELETED = "listed", "created", "deleted"
ASSIGNED, RELEASED, MOVED, REFUSED = "assigned", "released", "moved", "refused"
COUNTS = "counts"
APPEARED, RESOLVED = "appeared", "resolved"

# Reconnecting after a stream that dropped or failed: the first wait, doubled each
# time in a row, up to the last (client-go's reflector waits 0.8 s to 30 s).
FIRST_WAIT = 0.8
LAST_WAIT = 30.0


def backoff(failures: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` in a row (0: none)."""
    if failures <= 0:
        return 0.0
    return min(FIRST_WAIT * 2 ** min(failures - 1, 16), LAST_WAIT)


@dataclass(frozen=True)
class Change:
    """One line of a watch. ``kind`` is Service, IPAddressPool or Finding."""

    kind: str
    namespace: str
    name: str
    change: str
    before: Tuple[str, ...] = ()  # addresses held before (who-has)
    after: Tuple[str, ...] = ()  # ... and now
    pool: Optional[str] = None
    reason: Optional[str] = None
    resource_version: str = ""
    counts: Optional[Mapping[str, Mapping[str, int]]] = None  # pools: per family
    finding: Optional[Finding] = None  # check

    def to_dict(self, time: str) -> Dict[str, Any]:
        """The JSON line (README: "Watching"), keys in this order, absent values null."""
        if self.kind == "Finding":
            f = self.finding
            assert f is not None
            return {
                "time": time,
                "kind": "Finding",
                "change": self.change,
                "code": f.code,
                "severity": f.severity,
                "object": f.object,
                "message": f.message,
            }
        if self.kind == "IPAddressPool":
            counts = self.counts or {}
            return {
                "time": time,
                "kind": self.kind,
                "namespace": self.namespace or None,
                "name": self.name,
                "change": self.change,
                **{family: dict(counts[family]) if family in counts else None for family in FAMILIES},
                "resourceVersion": self.resource_version or None,
            }
        return {
            "time": time,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "change": self.change,
            "from": list(self.before),
            "to": list(self.after),
            "pool": self.pool,
            "reason": self.reason,
            "resourceVersion": self.resource_version or None,
        }

    def text(self, time: str) -> str:
        """The line of the default output: time, object, change, then what changed."""
        if self.kind == "Finding":
            f = self.finding
            assert f is not None
            return f"{time}  {self.change:<8}  {f.severity} [{f.code}] {f.object}: {f.message}"
        if self.kind == "IPAddressPool":
            parts = []
            for family in FAMILIES:
                c = (self.counts or {}).get(family)
                if c and c["total"]:
                    parts.append(f"{family} {c['used']}/{c['total']} used, {c['free']} free")
            what = "; ".join(parts) if self.change != DELETED else ""
            name = f"{self.namespace}/{self.name}" if self.namespace else self.name
            return f"{time}  pool {name}  {self.change}" + (f"  {what}" if what else "")
        before, after = ",".join(self.before) or "-", ",".join(self.after) or "-"
        if self.change == MOVED:
            what = f"{before} -> {after}"
        elif self.change in (RELEASED, DELETED):
            what = before if self.before else ""
        else:
            what = after if self.after else ""
        line = f"{time}  service {self.namespace}/{self.name}  {self.change}"
        line += f"  {what}" if what else ""
        line += f"  pool {self.pool}" if self.pool else ""
        line += f"  reason: {self.reason}" if self.reason else ""
        return line


# --- services (who-has -w)


@dataclass(frozen=True)
class Holding:
    """A service as who-has -w follows it."""

    addresses: Tuple[str, ...]  # status.loadBalancer.ingress, as written
    pool: Optional[str]  # the pools of those addresses, joined by ","
    reason: Optional[str]  # MetalLB's latest refusal, while it holds nothing
    requested: Tuple[str, ...]  # the addresses it asks for (who-has matches them too)
    load_balancer: bool
    resource_version: str = ""


def holdings(cluster: Cluster, namespace: Optional[str] = None) -> Dict[str, Holding]:
    """Each service's Holding, by "namespace/name" (``namespace``: only its own)."""
    return {svc.key: holding(cluster, svc) for svc in cluster.services if not namespace or svc.namespace == namespace}


def holding(cluster: Cluster, svc: Service) -> Holding:
    """One service's Holding: ``cluster`` gives the pools and MetalLB's refusals (the
    service need not be one of its services: a watch decides one service at a time)."""
    pools: List[str] = []
    for text in svc.ingress:
        pool = _pool_of(cluster, text)
        if pool and pool not in pools:
            pools.append(pool)
    return Holding(
        addresses=tuple(svc.ingress),
        pool=",".join(pools) or None,
        reason=None if svc.ingress else cluster.allocation_failures.get(svc.key),
        requested=tuple(str(a) for r in svc.requests() for a in r.addresses),
        load_balancer=svc.is_load_balancer,
        resource_version=svc.resource_version,
    )


def _pool_of(cluster: Cluster, text: str) -> Optional[str]:
    try:
        family, value = address_value(text)
    except ValueError:
        return None
    pool = cluster.pool_at(family, value)
    return pool.name if pool else None


def _followed(h: Optional[Holding]) -> bool:
    return h is not None and (h.load_balancer or bool(h.addresses))


def service_changes(
    before: Mapping[str, Holding],
    after: Mapping[str, Holding],
    queries: Sequence[Interval] = (),
    listed: bool = False,
) -> List[Change]:
    """The changes from ``before`` to ``after``, by service name; ``listed``: the
    first list (every service once). With ``queries`` (who-has's addresses), only
    the services that held, hold or request one of them."""
    out: List[Change] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new and not listed:
            continue
        if not (_followed(old) or _followed(new)):
            continue
        if queries and not any(_matches(h, queries) for h in (old, new) if h is not None):
            continue
        namespace, _, name = key.partition("/")
        out += _service_change(namespace, name, old, new, listed)
    return out


def _service_change(
    namespace: str, name: str, old: Optional[Holding], new: Optional[Holding], listed: bool
) -> List[Change]:
    def change(what: str, h: Holding, **more: Any) -> Change:
        return Change("Service", namespace, name, what, resource_version=h.resource_version, **more)

    if new is None:
        assert old is not None
        return [change(DELETED, old, before=old.addresses, pool=old.pool)]
    if listed or old is None:
        what = LISTED if listed else CREATED
        return [change(what, new, after=new.addresses, pool=new.pool, reason=new.reason)]
    out = []
    if old.addresses != new.addresses:
        if not old.addresses:
            out.append(change(ASSIGNED, new, after=new.addresses, pool=new.pool))
        elif not new.addresses:
            out.append(change(RELEASED, new, before=old.addresses, pool=old.pool))
        else:
            out.append(change(MOVED, new, before=old.addresses, after=new.addresses, pool=new.pool))
    if new.reason and new.reason != old.reason:
        out.append(change(REFUSED, new, reason=new.reason))
    return out


def _matches(h: Holding, queries: Sequence[Interval]) -> bool:
    for text in h.addresses + h.requested:
        try:
            family, value = address_value(text)
        except ValueError:
            continue
        if any(q.family == family and q.contains(value) for q in queries):
            return True
    return False


# --- pools (pools -w)


@dataclass(frozen=True)
class PoolCounts:
    counts: Tuple[Tuple[str, Tuple[int, int, int]], ...]  # (family, (total, used, free))
    resource_version: str = ""

    def as_mapping(self) -> Dict[str, Dict[str, int]]:
        return {f: {"total": t, "used": u, "free": fr} for f, (t, u, fr) in self.counts}


def pool_counts(
    cluster: Cluster, namespace: Optional[str] = None, versions: Optional[Mapping[Tuple[str, str], str]] = None
) -> Dict[Tuple[str, str], PoolCounts]:
    """Each pool's counts per family, by (namespace, name); ``versions``: each pool
    object's resourceVersion, by the same key."""
    found = {}
    for pool in cluster.pools:
        if namespace and pool.namespace != namespace:
            continue
        counts = family_counts(cluster, pool)
        found[(pool.namespace, pool.name)] = PoolCounts(
            tuple((f, (c["total"], c["used"], c["free"])) for f, c in counts.items()),
            (versions or {}).get((pool.namespace, pool.name), ""),
        )
    return found


def pool_changes(
    before: Mapping[Tuple[str, str], PoolCounts], after: Mapping[Tuple[str, str], PoolCounts], listed: bool = False
) -> List[Change]:
    """A line for each pool whose counts changed (or that came or went)."""
    out = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        namespace, name = key
        if new is None:
            assert old is not None
            out.append(Change("IPAddressPool", namespace, name, DELETED, resource_version=old.resource_version))
        elif listed or old is None or old.counts != new.counts:
            what = LISTED if listed else COUNTS
            out.append(
                Change(
                    "IPAddressPool",
                    namespace,
                    name,
                    what,
                    counts=new.as_mapping(),
                    resource_version=new.resource_version,
                )
            )
    return out


# --- findings (check -w)


def finding_changes(before: Iterable[Finding], after: Iterable[Finding], listed: bool = False) -> List[Change]:
    """The findings that appeared and those resolved (a finding whose message changed
    is both: the old one resolved, the new one appeared)."""
    old, new = list(dict.fromkeys(before)), list(dict.fromkeys(after))
    if listed:
        return [_finding(f, LISTED) for f in new]
    gone, came = set(old) - set(new), set(new) - set(old)
    return [_finding(f, RESOLVED) for f in old if f in gone] + [_finding(f, APPEARED) for f in new if f in came]


def _finding(f: Finding, what: str) -> Change:
    return Change("Finding", f.namespace, f.name, what, finding=f)

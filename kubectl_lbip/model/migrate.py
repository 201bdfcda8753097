"""Moving a Service off deprecated MetalLB annotations and spec.loadBalancerIP.

Each deprecated `metallb.universe.tf/` key becomes its `metallb.io/` twin with the
same value, and spec.loadBalancerIP of a LoadBalancer becomes
`metallb.io/loadBalancerIPs`. When the old and the new places hold different
values the service is left alone: which one the owner meant is not ours to guess.
Pure: plans, patches and backups are plain data; nothing here does I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterator, List, Mapping, MutableMapping, Optional, Tuple

from ..errors import InvalidValue
from . import rules
from .addresses import AddressError, canonical
from .checks import ADDRESS_MOVES, fixed
from .cluster import Cluster
from .patches import service_patch
from .rules import Finding
from .services import CURRENT, DEPRECATED, LB_IPS, METALLB_KEYS, SPEC_IP, Service, request_family

MOVE = "move"  # the value moves to the new key
DROP = "drop"  # the new key already holds the same value: the old place is emptied
BACKUP_KIND = "kubectl-lbip-migrate-backup"
BACKUP_VERSION = 2  # 2 records the cluster; 1 (without it) is still read


@dataclass(frozen=True)
class Change:
    source: str  # an annotation key, or spec.loadBalancerIP
    target: str
    value: str
    action: str

    def to_dict(self) -> dict:
        return {"from": self.source, "to": self.target, "value": self.value, "action": self.action}


@dataclass(frozen=True)
class Conflict:
    """Places that should agree and do not, each with its value."""

    namespace: str
    name: str
    values: Tuple[Tuple[str, str], ...]

    def to_dict(self) -> dict:
        return {"namespace": self.namespace, "name": self.name, "values": dict(self.values)}

    def describe(self) -> str:
        return " vs ".join(f"{place}={value!r}" for place, value in self.values)


@dataclass
class ServicePlan:
    service: Service
    changes: Tuple[Change, ...] = ()
    conflicts: Tuple[Conflict, ...] = ()
    warnings: List[Finding] = field(default_factory=list)

    @property
    def needs_patch(self) -> bool:
        return bool(self.changes) and not self.conflicts

    @property
    def touched(self) -> bool:
        return bool(self.changes or self.conflicts)

    def annotation_changes(self) -> Dict[str, Optional[str]]:
        """New keys with their values, old keys removed (None)."""
        out: Dict[str, Optional[str]] = {}
        for change in self.changes:
            if change.action == MOVE:
                out[change.target] = change.value
        for change in self.changes:
            if change.source != SPEC_IP:
                out[change.source] = None
        return out

    @property
    def clears_spec_ip(self) -> bool:
        return any(c.source == SPEC_IP for c in self.changes)

    def patch(self) -> Optional[Dict[str, Any]]:
        """One merge patch carrying the resourceVersion, or None (nothing to do, or a conflict)."""
        if not self.needs_patch:
            return None
        return service_patch(self.service, self.annotation_changes(), self.clears_spec_ip)

    def migrated_service(self) -> Service:
        annotations = dict(self.service.annotations)
        for key, value in self.annotation_changes().items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value
        spec_ip = "" if self.clears_spec_ip else self.service.load_balancer_ip
        return replace(self.service, annotations=annotations, load_balancer_ip=spec_ip)


def _places(svc: Service, key: str) -> List[Tuple[str, str]]:
    """Where a key's value lives: the new annotation first, as MetalLB reads it first."""
    places = [
        (prefix + key, svc.annotations[prefix + key])
        for prefix in (CURRENT, DEPRECATED)
        if prefix + key in svc.annotations
    ]
    if key == LB_IPS and svc.is_load_balancer and svc.load_balancer_ip:
        places.append((SPEC_IP, svc.load_balancer_ip))
    return places


def _comparable(key: str, value: str) -> Any:
    """Addresses compare as sets of canonical addresses ("fd00::1, 10.0.0.1" equals
    "10.0.0.1,fd00::1"); anything that does not parse compares as text."""
    if key != LB_IPS:
        return value
    try:
        return frozenset(canonical(part) for part in value.split(","))
    except AddressError:
        return value.strip()


def plan_service(svc: Service) -> ServicePlan:
    changes: List[Change] = []
    conflicts: List[Conflict] = []
    for key in METALLB_KEYS:
        target = CURRENT + key
        places = _places(svc, key)
        if all(place == target for place, _ in places):
            continue
        if len({_comparable(key, value) for _, value in places}) > 1:
            conflicts.append(Conflict(svc.namespace, svc.name, tuple(places)))
            continue
        target_present = places[0][0] == target
        for i, (place, value) in enumerate(places):
            if place != target:
                moves = i == 0 and not target_present
                changes.append(Change(place, target, value, MOVE if moves else DROP))
    return ServicePlan(svc, tuple(changes), tuple(conflicts))


def recheck(cluster: Cluster, plan: ServicePlan) -> List[Finding]:
    """Whether MetalLB keeps the migrated request, by the same rules `annotate` uses:
    each broken rule is a warning naming its code."""
    if not plan.needs_patch or not plan.service.is_load_balancer:
        return []
    after = plan.migrated_service()
    request = after.request
    if request is None:
        return []
    found = []
    for finding in rules.check_request(cluster, after, request).findings:
        found.append(
            replace(
                finding,
                severity=rules.WARNING,
                message=f"after migration MetalLB would not keep this request: {finding.message}",
            )
        )
    held = after.held()
    if held and not request.invalid and set(held) != set(request.addresses):
        found.append(
            rules.service_finding(
                after,
                ADDRESS_MOVES,
                fixed(
                    ADDRESS_MOVES,
                    f"holds {', '.join(map(str, held))} but requests {request.text!r}; MetalLB moves it to the "
                    "request when it next reconciles.",
                    held=", ".join(map(str, held)),
                ),
                rules.WARNING,
            )
        )
    return found


def plan_all(cluster: Cluster, services: List[Service]) -> List[ServicePlan]:
    """Plans for the services that have something to migrate or are in conflict,
    sorted by namespace and name, each re-checked against the cluster."""
    plans = [plan_service(s) for s in sorted(services, key=lambda s: (s.namespace, s.name))]
    plans = [p for p in plans if p.touched]
    for plan in plans:
        plan.warnings = recheck(cluster, plan)
    return plans


# --- editing objects in place (manifests: keep key order and, for ruamel, comments)
def apply_in_place(obj: MutableMapping, plan: ServicePlan) -> None:
    """Apply a plan to a Service object, each new key taking its old key's position."""
    meta = obj.setdefault("metadata", type(obj)())
    if meta.get("annotations") is None:
        meta["annotations"] = type(meta)()
    annotations = meta["annotations"]
    spec = obj.get("spec") or {}
    for change in plan.changes:
        if change.source == SPEC_IP:
            original = spec.pop("loadBalancerIP", change.value)
            if change.action == MOVE:
                annotations[change.target] = original
        elif change.action == MOVE:
            _rename_key(annotations, change.source, change.target)
        else:
            annotations.pop(change.source, None)


def _rename_key(mapping: MutableMapping, old: str, new: str) -> None:
    keys = list(mapping)
    position = keys.index(old)
    value = mapping[old]
    comments = getattr(mapping, "ca", None)
    if hasattr(mapping, "insert"):  # a ruamel CommentedMap: comments hang on keys
        line_comment = comments.items.pop(old, None) if comments is not None else None
        del mapping[old]
        mapping.insert(position, new, value)
        if line_comment is not None:
            _shift_comment(line_comment, len(new) - len(old))
            comments.items[new] = line_comment  # type: ignore[union-attr]  # a comment came from comments
        return
    items = [(new if k == old else k, mapping[k]) for k in keys]
    mapping.clear()
    mapping.update(items)


def _shift_comment(line_comment: list, delta: int) -> None:
    """Keep an end-of-line comment at the same distance from its value."""
    for token in line_comment:
        mark = getattr(token, "start_mark", None)
        if mark is not None and isinstance(getattr(mark, "column", None), int):
            try:
                mark.column = max(0, mark.column + delta)
            except AttributeError:  # an immutable mark: the column stays
                pass


def service_objects(obj: Any) -> Iterator[MutableMapping]:
    """The Service objects of a document, inside `kind: List` and *List wrappers too."""
    if not isinstance(obj, MutableMapping):
        return
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        for item in obj["items"]:
            yield from service_objects(item)
    elif kind == "Service" and str(obj.get("apiVersion") or "v1") == "v1":
        yield obj


# --- backup and restore
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
ENTRY_KEYS = ("kind", "namespace", "name", "resourceVersion", "annotations", "loadBalancerIP")


def is_metallb_key(key: str) -> bool:
    return key.startswith((CURRENT, DEPRECATED))


def is_dns1123_label(text: Any) -> bool:
    return isinstance(text, str) and len(text) <= 63 and bool(_DNS1123_LABEL.fullmatch(text))


def backup_entry(svc: Service) -> Dict[str, Any]:
    return {
        "kind": "Service",
        "namespace": svc.namespace,
        "name": svc.name,
        "resourceVersion": svc.resource_version,
        "annotations": {k: v for k, v in sorted(svc.annotations.items()) if is_metallb_key(k)},
        "loadBalancerIP": svc.load_balancer_ip,
    }


def backup_document(services: List[Service], server: str = "", context: str = "") -> Dict[str, Any]:
    """What a migration is about to change, and the cluster it is changed on."""
    return {
        "kind": BACKUP_KIND,
        "version": BACKUP_VERSION,
        "cluster": {"server": server, "context": context},
        "services": [backup_entry(s) for s in services],
    }


@dataclass
class Backup:
    entries: List[Dict[str, Any]]
    server: str = ""
    context: str = ""


def parse_backup(data: Any) -> Backup:
    """A backup document, every entry validated before anything is written: a
    Service named by valid DNS-1123 labels, with only what migrate changes (the
    metallb.io/* and metallb.universe.tf/* annotations and spec.loadBalancerIP).
    InvalidValue names the first entry that is not, and the backup is refused whole."""
    if not isinstance(data, dict) or data.get("kind") != BACKUP_KIND:
        raise InvalidValue(f"not a kubectl-lbip migrate backup (kind {BACKUP_KIND!r} expected)")
    if data.get("version") not in (1, BACKUP_VERSION):
        raise InvalidValue(f"backup version {data.get('version')!r} is not supported")
    entries = data.get("services")
    if not isinstance(entries, list):
        raise InvalidValue("'services' must be a list")
    for i, entry in enumerate(entries, start=1):
        problem = _entry_problem(entry)
        if problem:
            raise InvalidValue(f"service entry {i}{_entry_name(entry)}: {problem}")
    cluster = data.get("cluster") if data.get("version") != 1 else {}
    if not isinstance(cluster, dict) or not all(isinstance(cluster.get(k, ""), str) for k in ("server", "context")):
        raise InvalidValue("'cluster' must hold the server and context (strings) it was made on")
    return Backup(entries, cluster.get("server", ""), cluster.get("context", ""))


def _entry_name(entry: Any) -> str:
    if isinstance(entry, dict):
        return f" ({entry.get('namespace')!r}/{entry.get('name')!r})"
    return ""


def _entry_problem(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "not an object"
    unknown = sorted(str(k) for k in entry if k not in ENTRY_KEYS)
    if unknown:
        return f"field(s) {', '.join(unknown)} are not what migrate saves"
    if entry.get("kind", "Service") != "Service":
        return f"kind {entry.get('kind')!r}: a backup restores Services only"
    for key in ("namespace", "name"):
        if not is_dns1123_label(entry.get(key)):
            return f"{key} {entry.get(key)!r} is not a valid name (a DNS-1123 label)"
    annotations = entry.get("annotations", {})
    if not isinstance(annotations, dict):
        return "annotations must be an object"
    for key, value in annotations.items():
        if not isinstance(key, str) or not is_metallb_key(key):
            return f"annotation {key!r} is not one migrate changes (only {CURRENT}* and {DEPRECATED}*)"
        if not isinstance(value, str):
            return f"annotation {key!r}: the value must be a string"
        problem = _value_problem(value, request=key.endswith("/" + LB_IPS))
        if problem:
            return f"annotation {key!r}: {problem}"
    for key in ("loadBalancerIP", "resourceVersion"):
        if not isinstance(entry.get(key, ""), str):
            return f"{key} must be a string"
    problem = _value_problem(entry.get("loadBalancerIP", ""), request=True, one=True)
    return f"loadBalancerIP: {problem}" if problem else ""


# A value of the other keys (a pool's name, a sharing key) is a name: Kubernetes
# allows object names of at most 253 characters.
MAX_NAME_LENGTH = 253


def _value_problem(text: str, request: bool, one: bool = False) -> str:
    """What annotate would refuse in a value restore is about to write: a request
    (loadBalancerIPs, spec.loadBalancerIP: ``one`` address) must be addresses, at
    most one per family, within rules.MAX_REQUEST_LENGTH; any other value a name's
    length. Empty is no request, as for MetalLB."""
    if not request and len(text) > MAX_NAME_LENGTH:
        return f"{len(text):,} characters is too long (at most {MAX_NAME_LENGTH})"
    if not request or not text:
        return ""
    try:
        addresses = rules.valid_request([text]).addresses
    except InvalidValue as exc:
        return str(exc)
    if one and len(addresses) > 1:
        return "holds one address"
    return request_family(addresses)[1]


@dataclass(frozen=True)
class RestoreChange:
    place: str
    now: Optional[str]  # None: absent
    restored: Optional[str]

    def to_dict(self) -> dict:
        return {"field": self.place, "from": self.now, "to": self.restored}


def restore_changes(entry: Mapping, current: Service) -> List[RestoreChange]:
    """What puts a service back as the backup saw it: every saved annotation to its
    old value, the metallb.io twins the migration added removed, and
    spec.loadBalancerIP back."""
    saved: Dict[str, str] = {str(k): str(v) for k, v in (entry.get("annotations") or {}).items()}
    spec_ip = str(entry.get("loadBalancerIP") or "")
    out = [RestoreChange(k, current.annotations.get(k), v) for k, v in saved.items() if current.annotations.get(k) != v]
    twins = {CURRENT + k[len(DEPRECATED) :] for k in saved if k.startswith(DEPRECATED)}
    if spec_ip:
        twins.add(CURRENT + LB_IPS)
    for twin in sorted(twins - set(saved)):
        if twin in current.annotations:
            out.append(RestoreChange(twin, current.annotations[twin], None))
    if spec_ip and current.load_balancer_ip != spec_ip:
        out.append(RestoreChange(SPEC_IP, current.load_balancer_ip or None, spec_ip))
    return out


def restore_patch(current: Service, changes: List[RestoreChange]) -> Optional[Dict[str, Any]]:
    """The merge patch for `restore_changes`, on the current resourceVersion."""
    if not changes:
        return None
    annotations = {c.place: c.restored for c in changes if c.place != SPEC_IP}
    patch = service_patch(current, annotations)
    for change in changes:
        if change.place == SPEC_IP:
            patch["spec"] = {"loadBalancerIP": change.restored}
    return patch

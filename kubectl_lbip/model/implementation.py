"""The questions every load-balancer implementation answers, in one shape.

Commands hold one ``Implementation`` (MetalLB of a release, or Cilium LB-IPAM
of a release, detected or named with --implementation) and ask it, never
branching on which one it is. The MetalLB side is not rewritten: its adapter
calls the existing rules (model/rules.py, suggest.py, annotate.py, pin.py); the
Cilium side is model/cilium.py and model/cilium_plans.py.

Also here, pure: which implementation and release a cluster runs, from plain
facts the snapshot layer gathers (``detect``); which one serves a service when
both run is model/serving.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple, runtime_checkable

from ..errors import InvalidValue
from . import annotate as metallb_annotate
from . import announce, cilium, cilium_checks, cilium_explain, cilium_plans, metallb
from . import pin as metallb_pin
from .addresses import Interval, to_text
from .annotate import Plan
from .cilium import Release as CiliumRelease
from .cluster import Cluster
from .explain import explain as metallb_explain
from .findings import checked_objects, findings_for
from .metallb import Release as MetalLBRelease
from .pin import PinDecision
from .rules import ERROR, Finding, check_request, make_request, not_load_balancer, sharing_conflict, sort_findings
from .services import CURRENT, DEPRECATED, LB_IPS, SHARED_IP, Service
from .serving import CILIUM, METALLB
from .suggest import eligible_pools, metallb_pick, suggest
from .usage import family_counts, holder_entry

# The counts a CiliumLoadBalancerIPPool's status reports, as pool rows name them.
REPORTED = (("total", cilium.IPS_TOTAL), ("available", cilium.IPS_AVAILABLE), ("used", cilium.IPS_USED))
NAMES = (METALLB, CILIUM)
AnyRelease = MetalLBRelease  # a Cilium release is one too (cilium.Release)


@dataclass(frozen=True)
class Judgement:
    """Would the implementation give the service these addresses; if not, its
    reasons as (code, message): MetalLB's check codes, Cilium's condition reasons."""

    accepted: bool
    reasons: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Prediction:
    """What it would hand a service that names no address: the addresses when
    they can be told, else the candidates it chooses among, and a note."""

    addresses: Tuple[str, ...] = ()
    candidates: Tuple[str, ...] = ()
    note: str = ""
    pools: Tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "addresses": list(self.addresses),
            "pools": list(self.pools),
            "candidates": list(self.candidates),
            "note": self.note,
        }


@runtime_checkable
class Implementation(Protocol):
    """The questions the commands ask (pools, free, who-has, annotate, pin)."""

    name: str
    title: str  # how a sentence names it
    pool_kind: str  # the kind its pools are
    pool_resource: str  # and as kubectl names them (resource.group)

    @property
    def release(self) -> MetalLBRelease:
        """Which release, and how that was decided (a cilium.Release for Cilium)."""
        ...

    def release_entry(self) -> Tuple[str, dict]:
        """(key, dict) for -o json: ("metallb", its release dict, unchanged) or
        ("cilium", {"implementation": "cilium", "release": ..., "source": ...})."""
        ...

    def request_key(self) -> str:
        """The annotation a pinned address is written under (the one the release reads)."""
        ...

    def request_keys(self) -> Tuple[str, ...]:
        """The annotations a write of the request replaces: request_key, then its
        twins (a deprecated key, an alias)."""
        ...

    def sharing_annotation(self, key: str) -> Dict[str, str]:
        """The annotation that gives a service the sharing key ``key``."""
        ...

    def serves(self, svc: Service) -> Tuple[bool, str]: ...

    def family(self, svc: Service) -> Tuple[Optional[str], str]:
        """ipv4, ipv6 or dual: what the service asks for, or None and why."""
        ...

    def pool_names_for(self, svc: Service) -> List[str]: ...

    def judge(self, svc: Service, addresses: Optional[Sequence[str]] = None) -> Judgement:
        """The service's own request, or ``addresses`` in its place."""
        ...

    def predict(self, svc: Service) -> Prediction: ...

    def suggest(self, target: Optional[Service], family: str, count: int, pool_name: Optional[str] = None):
        """Requests it would accept: a result with ``suggestions`` (each with
        ``addresses``, ``pool``, ``why``, ``to_dict()``), ``pools``, ``excluded``, ``notes``."""
        ...

    def plan_annotation(self, svc: Service, addresses: Sequence[str] = (), **options: bool) -> Plan:
        """annotate's plan (options: auto, overwrite, clear_spec_ip, strict), or
        errors.Refused with every rule the request breaks."""
        ...

    def pin_batch(self, targets: Sequence[Service]) -> List[PinDecision]: ...

    def pool_rows(self, namespace: Optional[str] = None) -> List[dict]:
        """One row of plain data per pool (pools, and free's table)."""
        ...

    def findings(self, namespace: Optional[str] = None, warn_used: Optional[int] = None) -> List[Finding]:
        """Everything check reports, sorted."""
        ...

    def not_checked(self) -> List[str]:
        """The kinds check reads that the input did not have."""
        ...

    def checked_objects(self, namespace: Optional[str] = None) -> List[Tuple[str, str, str]]:
        """(kind, namespace, name) of every object check looked at, sorted."""
        ...

    def explain(self, svc: Service, findings: List[Finding]) -> Dict[str, Any]:
        """why: the service end to end, in steps (model/explain.py's structure)."""
        ...

    def used_in(self, iv: Interval) -> List[int]:
        """The addresses inside ``iv`` some service holds or requests, ascending."""
        ...

    def drawn_pools(self, namespace: Optional[str] = None) -> list:
        """The pools pools --map draws (MetalLB's model pools)."""
        ...

    def has_pool(self, name: str) -> bool: ...

    def free_entries(self, pools: Sequence[Any]) -> List[dict]:
        """free's row of each pool of a suggest result: name, counts per family, and
        what restricts it."""
        ...

    def pick_entry(self, svc: Service) -> Tuple[str, dict, Prediction]:
        """free --for: its own pick as (JSON key, JSON dict, Prediction)."""
        ...

    def describe_address(self, family: str, value: int, namespace: Optional[str] = None) -> dict:
        """who-has for one address: ip, pool, free, holders (namespace, name, how,
        sharingKey, ports), conflict, conflictReasons."""
        ...


@dataclass(frozen=True)
class Context:
    """What the input says beyond pools and services: the other implementation
    (``metallb_class``: None when MetalLB is not installed, "" for its default,
    else its --lb-class; ``cilium_operator``: None when Cilium LB-IPAM is not
    installed), each service's cilium.io/IPAMRequestSatisfied condition by
    namespace/name, Cilium's announcement objects, and whether it is live."""

    metallb_class: Optional[str] = None
    cilium_operator: Optional[cilium.Operator] = None
    conditions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    announcers: cilium_explain.Announcers = cilium_explain.NOT_READ
    live: bool = False


class MetalLB:
    """The MetalLB rules behind the common questions (an adapter, no new rule)."""

    name = METALLB
    title = "MetalLB"
    pool_kind = "IPAddressPool"
    pool_resource = "ipaddresspool.metallb.io"

    def __init__(self, cluster: Cluster, release: Optional[metallb.Release] = None, context: Context = Context()):
        self.cluster = cluster
        self.release = release or metallb.Release(
            cluster.metallb, metallb.text(cluster.metallb), "assumed", "nothing to tell from"
        )
        self.context = context

    def findings(self, namespace: Optional[str] = None, warn_used: Optional[int] = None) -> List[Finding]:
        """check's findings; with Cilium installed too, which services both (or
        neither) serve."""
        found = findings_for(self.cluster, namespace, warn_used)
        if self.context.cilium_operator is None:
            return found
        for svc in self.cluster.services:
            if not namespace or svc.namespace == namespace:
                found += cilium_checks.implementations(svc, self.context.cilium_operator, self.context.metallb_class)
        return sort_findings(found)

    def explain(self, svc: Service, findings: List[Finding]) -> Dict[str, Any]:
        return metallb_explain(self.cluster, svc, findings)

    def not_checked(self) -> List[str]:
        """The kinds check reads past allocation that the input did not have."""
        cluster = self.cluster
        if cluster.network is None:
            return []
        absent = cluster.network.absent_kinds(announce.CHECK_KINDS)
        if cluster.pools and not any(announce.status_counters(p) for p in cluster.pools):
            absent.append("IPAddressPool status")
        return absent

    def checked_objects(self, namespace: Optional[str] = None) -> List[Tuple[str, str, str]]:
        return checked_objects(self.cluster, namespace)

    def release_entry(self) -> Tuple[str, dict]:
        return METALLB, self.release.to_dict()

    def request_key(self) -> str:
        return CURRENT + LB_IPS

    def request_keys(self) -> Tuple[str, ...]:
        return CURRENT + LB_IPS, DEPRECATED + LB_IPS

    def sharing_annotation(self, key: str) -> Dict[str, str]:
        return {CURRENT + SHARED_IP: key}

    def serves(self, svc: Service) -> Tuple[bool, str]:
        return (True, "") if svc.is_load_balancer else (False, not_load_balancer(svc).message)

    def family(self, svc: Service) -> Tuple[Optional[str], str]:
        return svc.family(self.cluster.metallb)

    def pool_names_for(self, svc: Service) -> List[str]:
        return [p.name for p in eligible_pools(self.cluster, svc)[0]]

    def judge(self, svc: Service, addresses: Optional[Sequence[str]] = None) -> Judgement:
        request = make_request(addresses) if addresses is not None else svc.request
        if request is None:
            return Judgement(True)
        verdict = check_request(self.cluster, svc, request)
        return Judgement(verdict.accepted, tuple((f.code, f.message) for f in verdict.findings if f.severity == ERROR))

    def predict(self, svc: Service) -> Prediction:
        return self.pick_entry(svc)[2]

    def suggest(self, target: Optional[Service], family: str, count: int, pool_name: Optional[str] = None):
        return suggest(self.cluster, family, count, target, pool_name)

    def plan_annotation(self, svc: Service, addresses: Sequence[str] = (), **options: bool) -> Plan:
        return metallb_annotate.plan(self.cluster, svc, addresses, **options)

    def pin_batch(self, targets: Sequence[Service]) -> List[PinDecision]:
        return metallb_pin.pin_batch(self.cluster, targets)

    def pool_rows(self, namespace: Optional[str] = None) -> List[dict]:
        """Plain data for each pool (with a namespace, each pool living there)."""
        cluster = self.cluster
        rows = []
        for pool in cluster.pools:
            if namespace and pool.namespace != namespace:
                continue
            entry = {
                "name": pool.name,
                "namespace": pool.namespace,
                "addresses": list(pool.addresses),
                "autoAssign": pool.auto_assign,
                "avoidBuggyIPs": pool.avoid_buggy_ips,
                "serviceAllocation": pool.restriction() or None,
                "valid": pool.valid,
                "errors": list(pool.errors),
                **family_counts(cluster, pool),
                "advertisements": announce.advertisement_names(cluster.network, pool),
                "metallbStatus": announce.status_counters(pool),
            }
            rows.append(entry)
        return rows

    def used_in(self, iv: Interval) -> List[int]:
        return self.cluster.index.used_in(iv)

    def drawn_pools(self, namespace: Optional[str] = None) -> list:
        """The pools pools --map draws (as pool_rows lists them)."""
        return [p for p in self.cluster.pools if not namespace or p.namespace == namespace]

    def has_pool(self, name: str) -> bool:
        return self.cluster.pool(name) is not None

    def free_entries(self, pools: Sequence[Any]) -> List[dict]:
        return [
            {
                "name": pool.name,
                "namespace": pool.namespace,
                "autoAssign": pool.auto_assign,
                "avoidBuggyIPs": pool.avoid_buggy_ips,
                "restrictions": pool.restriction() or None,
                **family_counts(self.cluster, pool),
            }
            for pool in pools
        ]

    def pick_entry(self, svc: Service) -> Tuple[str, dict, Prediction]:
        pick = metallb_pick(self.cluster, svc)
        addresses = tuple(a for a in (pick.ipv4, pick.ipv6) if a)
        return "metallbPick", pick.to_dict(), Prediction(addresses, (), pick.note, tuple(pick.pools))

    def describe_address(self, family: str, value: int, namespace: Optional[str] = None) -> dict:
        """One address: its pool, whether it is free, who uses it and how, and whether
        those users may not share it. With a namespace, only its services are listed
        (and only the conflicts one of them is part of)."""
        cluster = self.cluster
        holders: dict = {}
        others = False
        for use in cluster.index.uses(family, value):
            if namespace and use.service.namespace != namespace:
                others = True
                continue
            svc = use.service
            entry = holders.setdefault(
                svc.key, dict(holder_entry(svc.namespace, svc.name, svc.sharing_key, svc.ports), _svc=svc)
            )
            if use.how not in entry["how"]:
                entry["how"].append(use.how)
        services = [h.pop("_svc") for h in holders.values()]
        everyone = services
        if others:
            everyone = services + [
                u.service for u in cluster.index.uses(family, value) if u.service.namespace != namespace
            ]
            everyone = list({s.key: s for s in everyone}.values())
        reasons = []
        for i, a in enumerate(everyone):
            for b in everyone[i + 1 :]:
                if a not in services and b not in services:
                    continue
                reason = sharing_conflict(a, b)
                if reason:
                    reasons.append(f"{a.key} and {b.key}: {reason}")
        pool = cluster.pool_at(family, value)
        allocatable = pool is not None and pool.allocatable(family, value)
        return {
            "ip": to_text(family, value),
            "pool": pool.name if pool else None,
            "advertisements": announce.advertisement_names(cluster.network, pool),
            "free": allocatable and not holders and not others,
            "holders": list(holders.values()),
            "conflict": bool(reasons),
            "conflictReasons": reasons,
        }


class Cilium:
    """Cilium LB-IPAM (model/cilium.py, model/cilium_plans.py) behind the common questions."""

    name = CILIUM
    title = "Cilium"
    pool_kind = "CiliumLoadBalancerIPPool"
    pool_resource = "ciliumloadbalancerippool.cilium.io"

    def __init__(
        self,
        lbipam: cilium.Lbipam,
        release: Optional[cilium.Release] = None,
        services: Sequence[Service] = (),
        context: Context = Context(),
    ):
        """``services``: all of the input's (those Cilium does not serve too:
        check says which implementation serves them)."""
        self.lbipam = lbipam
        version = lbipam.version
        self.release = release or cilium.Release(version, cilium.text(version), "assumed", "nothing to tell from")
        self.services = list(services)
        self.context = context

    def findings(self, namespace: Optional[str] = None, warn_used: Optional[int] = None) -> List[Finding]:
        """check's findings (``warn_used``: --warn-used, on Cilium's own counts)."""
        c = self.context
        return cilium_checks.findings_for(
            self.lbipam,
            self.services,
            metallb_class=c.metallb_class,
            namespace=namespace,
            conditions=c.conditions,
            live=c.live,
            warn_used=warn_used,
        )

    def not_checked(self) -> List[str]:
        """Cilium's L2 announcement policies, when the input could not have them."""
        return ["CiliumL2AnnouncementPolicy"] if self.context.announcers.l2 is None else []

    def checked_objects(self, namespace: Optional[str] = None) -> List[Tuple[str, str, str]]:
        objects = {(self.pool_kind, "", p.name) for p in self.lbipam.pools}
        objects |= {
            ("Service", s.namespace, s.name) for s in self.services if not namespace or s.namespace == namespace
        }
        return sorted(objects)

    def explain(self, svc: Service, findings: List[Finding]) -> Dict[str, Any]:
        c = self.context
        return cilium_explain.explain(
            self.lbipam, svc, findings, announcers=c.announcers, condition=c.conditions.get(svc.key), live=c.live
        )

    def release_entry(self) -> Tuple[str, dict]:
        return CILIUM, self.release.to_dict()

    def request_key(self) -> str:
        return cilium.ips_key(self.lbipam.version)

    def request_keys(self) -> Tuple[str, ...]:
        return cilium.annotation_keys(self.lbipam.version)["ips"]

    def sharing_annotation(self, key: str) -> Dict[str, str]:
        return {cilium.annotation_keys(self.lbipam.version)["sharing-key"][0]: key}

    def serves(self, svc: Service) -> Tuple[bool, str]:
        return self.lbipam.operator.serves(svc)

    def family(self, svc: Service) -> Tuple[Optional[str], str]:
        return cilium_plans.family_of_service(self.lbipam.operator, svc)

    def pool_names_for(self, svc: Service) -> List[str]:
        return [p.name for p in self.lbipam.pools_for(svc)]

    def judge(self, svc: Service, addresses: Optional[Sequence[str]] = None) -> Judgement:
        verdict = self.lbipam.check_request(svc, addresses)
        return Judgement(verdict.accepted, tuple((o.reason, o.message) for o in verdict.outcomes if not o.ok))

    def predict(self, svc: Service) -> Prediction:
        verdict = self.lbipam.pick(svc)
        addresses = tuple(o.address for o in verdict.outcomes if o.ok and o.address)
        candidates = tuple(c for o in verdict.outcomes for c in o.candidates)
        notes = "; ".join(dict.fromkeys(o.message for o in verdict.outcomes if o.message))
        pools = tuple(dict.fromkeys(o.pool for o in verdict.outcomes if o.ok and o.address and o.pool))
        return Prediction(addresses, candidates, notes, ("+".join(pools),) if pools else ())

    def suggest(self, target: Optional[Service], family: str, count: int, pool_name: Optional[str] = None):
        if target is None:  # free with no option: a service with no labels in "default"
            target = cilium_plans.described_service("default", family, {}, None, (), self.lbipam.version)
        return cilium_plans.suggest(self.lbipam, target, count, family, pool_name)

    def plan_annotation(self, svc: Service, addresses: Sequence[str] = (), **options: bool) -> Plan:
        return cilium_plans.plan(self.lbipam, svc, addresses, **options)

    def pin_batch(self, targets: Sequence[Service]) -> List[PinDecision]:
        return cilium_plans.pin_batch(self.lbipam, targets)

    # --- Cilium's own facts (pools, who-has)

    def pool_rows(self, namespace: Optional[str] = None) -> List[dict]:
        """One row per CiliumLoadBalancerIPPool (cluster-scoped: every namespace): blocks, selector, disabled,
        conflict, and counts per family by Cilium's IPsUsed rule (``reserved``:
        how many of ``used`` are reserved first/last addresses), beside the
        counts the pool's status reports."""
        state = self.lbipam
        unsure = set(cilium.order_dependent(state.pools, state.conflicts))
        rows = []
        for pool in state.pools:
            conflict = state.conflicts.get(pool.name)
            counts = state.family_counts(pool)
            reported = {key: pool.reported(cond) for key, cond in REPORTED}
            rows.append(
                {
                    "name": pool.name,
                    "blocks": [b.text for b in pool.blocks],
                    "serviceSelector": str(pool.service_selector) if pool.service_selector is not None else None,
                    "disabled": pool.disabled,
                    "allowFirstLastIPs": pool.allow_first_last_ips or None,
                    "reservesFirstLast": pool.reserves_first_last(state.version),
                    "conflict": None
                    if conflict is None
                    else {
                        "with": conflict.other,
                        "range": conflict.range,
                        "otherRange": conflict.other_range,
                        "certain": conflict.certain,
                    },
                    "mayConflict": pool.name in unsure,
                    "valid": pool.valid,
                    "errors": list(pool.errors),
                    **counts,
                    "ciliumStatus": reported if any(v is not None for v in reported.values()) else None,
                }
            )
        return rows

    def free_addresses(self, pool_name: str, family: str, limit: int = 10) -> List[str]:
        """Up to ``limit`` free addresses of a pool's blocks of one family, in the
        operator's block order, lowest first in each."""
        out: List[str] = []
        for rng in self.lbipam.ranges:
            if rng.pool == pool_name and rng.family == family:
                for value in self.lbipam.free_in(rng):
                    if len(out) >= limit:
                        return out
                    out.append(to_text(family, value))
        return out

    def used_in(self, iv: Interval) -> List[int]:
        return self.lbipam.used_in(iv)

    def drawn_pools(self, namespace: Optional[str] = None) -> list:
        """pools --map draws MetalLB's pools only."""
        return []

    def has_pool(self, name: str) -> bool:
        return any(p.name == name for p in self.lbipam.pools)

    def free_entries(self, pools: Sequence[Any]) -> List[dict]:
        return [
            {
                "name": pool.name,
                "namespace": None,
                "blocks": [b.text for b in pool.blocks],
                "disabled": pool.disabled,
                "conflict": pool.name in self.lbipam.conflicts,
                "restrictions": None if pool.service_selector is None else str(pool.service_selector),
                **self.lbipam.family_counts(pool),
            }
            for pool in pools
        ]

    def pick_entry(self, svc: Service) -> Tuple[str, dict, Prediction]:
        predicted = self.predict(svc)
        return "ciliumPick", predicted.to_dict(), predicted

    def describe_address(self, family: str, value: int, namespace: Optional[str] = None) -> dict:
        return self.lbipam.describe_address(family, value, namespace)


def build(
    name: str,
    release: MetalLBRelease,
    cluster: Cluster,
    cilium_pools: Sequence[cilium.CiliumPool] = (),
    cilium_config: Optional[Dict[str, str]] = None,
    context: Context = Context(),
) -> Implementation:
    """The implementation a command asks: MetalLB's rules over the cluster, or
    Cilium's over its pools and the cluster's services (a manifest's request
    taken as an intention, as MetalLB's side counts it), the operator set as
    its configuration says (``cilium_config``: the cilium-config data)."""
    if flagged(name) == METALLB:
        return MetalLB(cluster, release, context)
    operator = cilium.operator_from_config(cilium_config or {}, release.version)
    state = cilium.Lbipam(cilium_pools, cluster.services, operator, intentions=True)
    return Cilium(state, release if isinstance(release, CiliumRelease) else None, cluster.services, context)


# --------------------------------------------------------------------------
# which implementation and release a cluster runs


@dataclass(frozen=True)
class Facts:
    """What the snapshot layer reads to tell what runs (each part may be unreadable:
    empty). ``*_images``: (where, image) of each container of the Deployments
    looked at, where as "deployment NS/NAME"; ``metallb_resources``: the resource
    names metallb.io/v1beta1 serves; ``cilium_pool_versions``: the cilium.io
    versions that serve ciliumloadbalancerippools; ``*_pools``: how many pools of
    each kind exist; ``legacy``: only MetalLB's legacy ConfigMap was found."""

    metallb_images: Tuple[Tuple[str, str], ...] = ()
    metallb_resources: Tuple[str, ...] = ()
    cilium_images: Tuple[Tuple[str, str], ...] = ()
    cilium_pool_versions: Tuple[str, ...] = ()
    metallb_pools: int = 0
    cilium_pools: int = 0
    legacy: bool = False


def metallb_release(facts: Facts) -> Optional[metallb.Release]:
    """MetalLB's release from its controller image, else the CRDs served; None
    when nothing says MetalLB is installed."""
    for where, image in facts.metallb_images:
        version = metallb.version_from_image(image)
        if version is not None:
            return metallb.Release(version, metallb.text(version), "deployment", f"from {where}, image {image}")
    if facts.legacy:
        return metallb.Release.newest_assumed("only its legacy ConfigMap, from before v0.13, is read")
    found = metallb.version_from_resources(facts.metallb_resources)
    if found is not None:
        return metallb.Release(found[1], found[0], "crds", "from the metallb.io CRDs served")
    if any(metallb.is_controller_image(image) for _, image in facts.metallb_images):
        return metallb.Release.newest_assumed("its controller image has no version tag")
    return None


def cilium_release(facts: Facts) -> Optional[cilium.Release]:
    """Cilium's release from the cilium-operator image, else the CRD versions
    served; None when nothing says Cilium is installed."""
    for where, image in facts.cilium_images:
        version = cilium.version_from_image(image)
        if version is not None:
            return cilium.Release(version, cilium.text(version), "deployment", f"from {where}, image {image}")
    found = cilium.version_from_pool_versions(facts.cilium_pool_versions)
    if found is not None:
        return cilium.Release(found[1], found[0], "crds", "from the cilium.io CRD versions served")
    if facts.cilium_images:
        return cilium.Release.newest_assumed("the cilium-operator image has no version tag")
    return None


FLAG = "--implementation"


def flagged(name: str) -> str:
    """--implementation's value, checked."""
    if name not in NAMES:
        raise InvalidValue(f"{FLAG} {name!r}: use one of {', '.join(NAMES)}")
    return name


def answers_for_cilium(name: str) -> bool:
    """Whether Cilium's rules answer (what the input lacks of Cilium's matters then)."""
    return name == CILIUM


def reads_cilium(name: Optional[str]) -> bool:
    """Whether Cilium's objects are read: unless --implementation metallb."""
    return name != METALLB


@dataclass(frozen=True)
class Detected:
    """What a cluster runs: each implementation found with its release (None:
    not installed), and how many pools of each kind exist."""

    metallb: Optional[MetalLBRelease]
    cilium: Optional[CiliumRelease]
    metallb_pools: int = 0
    cilium_pools: int = 0

    def choose(
        self, name: Optional[str] = None, cilium_flagged: Optional[CiliumRelease] = None
    ) -> Tuple[str, AnyRelease]:
        """The implementation a command asks, and its release: the one named
        (--implementation), else the one installed, else the one with pools when
        both are; both with pools is an InvalidValue naming the flag. With
        neither, MetalLB (what the plugin assumed before it knew Cilium).
        ``cilium_flagged`` (--cilium-version) is Cilium's release when Cilium is chosen."""
        chosen, release = self._choose(name)
        if chosen == CILIUM and cilium_flagged is not None:
            return chosen, cilium_flagged
        return chosen, release

    def _choose(self, name: Optional[str]) -> Tuple[str, AnyRelease]:
        if name is not None:
            found = self.metallb if flagged(name) == METALLB else self.cilium
            if found is not None:
                return name, found
            release_type = MetalLBRelease if name == METALLB else CiliumRelease
            return name, release_type.newest_assumed(f"not found in the cluster; {FLAG} {name}")
        if self.metallb is not None and self.cilium is not None:
            if self.metallb_pools and not self.cilium_pools:
                return METALLB, self.metallb
            if self.cilium_pools and not self.metallb_pools:
                return CILIUM, self.cilium
            raise InvalidValue(
                f"both MetalLB ({self.metallb.label}) and Cilium LB-IPAM ({self.cilium.label}) are installed"
                + (" and have pools" if self.metallb_pools else ", and neither has a pool")
                + f": choose one with {FLAG} metallb|cilium"
            )
        if self.cilium is not None:
            return CILIUM, self.cilium
        if self.metallb is not None:
            return METALLB, self.metallb
        return METALLB, metallb.Release.newest_assumed("no MetalLB resource served")


def detect(facts: Facts) -> Detected:
    """The implementations and releases the facts show."""
    return Detected(metallb_release(facts), cilium_release(facts), facts.metallb_pools, facts.cilium_pools)

"""`why NAME` for a service Cilium LB-IPAM serves: the same chain of steps as
model/explain.py (each ok, failed, unknown or not-reached, with its findings and
its first problem), read top down: **class** (does Cilium serve it, and does
anything else), **request** (what it asks for and from which key), **pool** (the
pools that select it, and why each other does not), **cilium** (what the
operator did: the addresses held, the cilium.io/IPAMRequestSatisfied condition
and its reason, or what the rules predict), **announcement** (the
CiliumL2AnnouncementPolicy or CiliumBGPAdvertisement that covers it, when those
objects are in the input).

The announcement objects are kept here as small plain data, read as Cilium's
agent reads them (pkg/l2announcer/l2announcer.go upsertSvc; the BGP control
plane's ServiceReconciler, getServicePrefixes and serviceLabelSet): both match
their service selector against the service's labels plus
io.kubernetes.service.namespace and io.kubernetes.service.name, and ignore a
service of another loadBalancerClass. Pure: plain data in, a plain dict out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import checks as c
from . import cilium
from .addresses import family_of
from .cilium_checks import POOL_KIND
from .explain import FAILED, NOT_REACHED, OK, UNKNOWN
from .rules import Finding, sort_findings
from .schema import BOOL, LABELS, SELECTOR, STR, STRINGS, at, build, only_true
from .selectors import Selector, selector_or_error, valid_selector
from .services import SPEC_IP, Service

CLASS, REQUEST, POOL, CILIUM, ANNOUNCEMENT = "class", "request", "pool", "cilium", "announcement"
STEPS = (CLASS, REQUEST, POOL, CILIUM, ANNOUNCEMENT)

L2POLICY = "CiliumL2AnnouncementPolicy"
BGPADV = "CiliumBGPAdvertisement"
LOAD_BALANCER_IP = "LoadBalancerIP"  # spec.advertisements[].service.addresses

# The step each code is about.
STEP_OF: Dict[str, str] = {
    c.SERVED_BY_BOTH: CLASS,
    c.CLASS_UNSERVED: CLASS,
    c.MIXED_ANNOTATIONS: CLASS,
    c.INVALID_REQUEST: REQUEST,
    c.DEPRECATED_ANNOTATION: REQUEST,
    c.CILIUM_KEY_IGNORED: REQUEST,
    c.CILIUM_PIN_IN_AUTO_RANGE: REQUEST,
    c.CILIUM_NO_POOL: POOL,
    c.CILIUM_SELECTOR_MISMATCH: POOL,
    c.CILIUM_OUT_OF_IPS: POOL,
    c.CILIUM_POOL_CONFLICT: POOL,
    c.CILIUM_DISABLED_IN_USE: POOL,
    c.INVALID_POOL_ADDRESS: POOL,
    c.STATUS_DRIFT: POOL,
    c.CILIUM_ALREADY_ALLOCATED: CILIUM,
    c.CILIUM_INCOMPATIBLE: CILIUM,
    c.CILIUM_ADDRESS_STRIPPED: CILIUM,
    c.PENDING: CILIUM,
}


# --------------------------------------------------------------------------
# the announcement objects


def _selector(raw: Any, what: str, errors: List[str]) -> Optional[Selector]:
    selector, error = selector_or_error(raw)
    if error:
        errors.append(f"invalid {what}: {error}")
    return selector


def _other_class(svc: Service, own: str) -> bool:
    """A service of a loadBalancerClass that is not the announcer's own (which
    both announcers skip)."""
    return bool(svc.load_balancer_class) and svc.load_balancer_class != own


def _texts(raw: Any) -> Tuple[str, ...]:
    return tuple(str(x) for x in raw) if isinstance(raw, list) else ()


@dataclass(frozen=True)
class L2Policy:
    """A CiliumL2AnnouncementPolicy. The fields with ``at`` are its table
    (model/schema.py: the shape check, the trim and the constructor derive from
    them); ``errors`` is computed by ``from_object``. ``service_selector`` None
    selects every service; ``errors``: a selector the agent cannot use (then it
    drops the policy)."""

    name: str = field(metadata=at("metadata.name", STR))
    service_selector: Optional[Selector] = field(
        default=None, metadata=at("spec.serviceSelector", SELECTOR, None, convert=valid_selector)
    )
    node_selector: Optional[Selector] = field(
        default=None, metadata=at("spec.nodeSelector", SELECTOR, None, convert=valid_selector)
    )
    interfaces: Tuple[str, ...] = field(default=(), metadata=at("spec.interfaces", STRINGS, (), convert=_texts))
    load_balancer_ips: bool = field(default=False, metadata=at("spec.loadBalancerIPs", BOOL, False, convert=only_true))
    external_ips: bool = field(default=False, metadata=at("spec.externalIPs", BOOL, False, convert=only_true))
    errors: Tuple[str, ...] = ()
    # Read (shape-checked and kept), not compared: the rest of the metadata.
    namespace: str = field(default="", compare=False, repr=False, metadata=at("metadata.namespace", STR))
    labels: Dict[str, str] = field(
        default_factory=dict, compare=False, repr=False, metadata=at("metadata.labels", LABELS, {})
    )
    annotations: Dict[str, str] = field(
        default_factory=dict, compare=False, repr=False, metadata=at("metadata.annotations", LABELS, {})
    )
    resource_version: str = field(default="", compare=False, repr=False, metadata=at("metadata.resourceVersion", STR))
    uid: str = field(default="", compare=False, repr=False, metadata=at("metadata.uid", STR))

    @classmethod
    def from_object(cls, obj: Mapping) -> "L2Policy":
        """A CiliumL2AnnouncementPolicy object (plain dict, shape-checked) to a
        policy, from its table."""
        policy = build(cls, obj)
        spec = obj.get("spec") if isinstance(obj, Mapping) else None
        spec = spec if isinstance(spec, Mapping) else {}
        errors: List[str] = []
        for key in ("serviceSelector", "nodeSelector"):
            _selector(spec.get(key), key, errors)
        return replace(policy, errors=tuple(errors)) if errors else policy

    def covers(self, svc: Service, labels: Mapping[str, str]) -> Tuple[bool, str]:
        """Whether it announces the service's load-balancer addresses, and why not."""
        if self.errors:
            return False, "; ".join(self.errors)
        if _other_class(svc, cilium.L2_CLASS):
            return False, f"the L2 announcer ignores loadBalancerClass {svc.load_balancer_class}"
        if not self.load_balancer_ips:
            return False, "spec.loadBalancerIPs is not true"
        if self.service_selector is not None and not self.service_selector.matches(labels):
            return False, f"its serviceSelector {self.service_selector} does not match the service"
        return True, ""


def l2_policy_from_object(obj: Mapping) -> L2Policy:
    """L2Policy.from_object."""
    return L2Policy.from_object(obj)


@dataclass(frozen=True)
class BgpAdvertisement:
    """One Service entry of a CiliumBGPAdvertisement's spec.advertisements:
    ``selector`` None advertises no service; ``addresses`` the kinds of service
    address it advertises (LoadBalancerIP, ClusterIP, ExternalIP)."""

    name: str
    selector: Optional[Selector] = None
    addresses: Tuple[str, ...] = ()
    errors: Tuple[str, ...] = ()

    def covers(self, svc: Service, labels: Mapping[str, str]) -> Tuple[bool, str]:
        if self.errors:
            return False, "; ".join(self.errors)
        if _other_class(svc, cilium.BGP_CLASS):
            return False, f"the BGP control plane ignores loadBalancerClass {svc.load_balancer_class}"
        if LOAD_BALANCER_IP not in self.addresses:
            return False, f"service.addresses does not list {LOAD_BALANCER_IP}"
        if self.selector is None:
            return False, "it has no selector, and then advertises no service"
        if not self.selector.matches(labels):
            return False, f"its selector {self.selector} does not match the service"
        return True, ""


def bgp_advertisements_from_object(obj: Mapping) -> List[BgpAdvertisement]:
    """The Service entries of a CiliumBGPAdvertisement (the others advertise pod
    CIDRs), each named after the object."""
    name = str((obj.get("metadata") or {}).get("name") or "")
    out = []
    for entry in (obj.get("spec") or {}).get("advertisements") or ():
        if not isinstance(entry, Mapping) or entry.get("advertisementType") != "Service":
            continue
        errors: List[str] = []
        selector = _selector(entry.get("selector"), "selector", errors)
        service = entry.get("service")
        addresses = _texts(service.get("addresses")) if isinstance(service, Mapping) else ()
        out.append(BgpAdvertisement(name, selector, addresses, tuple(errors)))
    return out


@dataclass(frozen=True)
class Announcers:
    """The announcement objects in the input; None: the kind was not read (not
    served, forbidden, or absent from the files)."""

    l2: Optional[Tuple[L2Policy, ...]] = None
    bgp: Optional[Tuple[BgpAdvertisement, ...]] = None


NOT_READ = Announcers()


# --------------------------------------------------------------------------
# the explanation


def request_key(svc: Service, version: cilium.Version = cilium.NEWEST) -> Optional[str]:
    """The annotation key the release takes the request from, or None."""
    keys = cilium.annotation_keys(version)["ips"]
    if not cilium.reads_lbipam_keys(version):
        return keys[0] if svc.annotations.get(keys[0]) else None
    return next((k for k in keys if k in svc.annotations), None)


def relevant(findings: List[Finding], svc: Service, pools: List[str]) -> List[Finding]:
    """Findings about the service and the pools that matter to it."""
    out = []
    for f in findings:
        if f.kind == "Service":
            keep = f.namespace == svc.namespace and f.name == svc.name
        else:
            keep = f.kind == POOL_KIND and f.name in pools
        if keep:
            out.append(f)
    return sort_findings(out)


def explain(
    lbipam: cilium.Lbipam,
    svc: Service,
    findings: List[Finding],
    *,
    announcers: Announcers = NOT_READ,
    condition: Optional[Mapping[str, str]] = None,
    live: bool = False,
) -> Dict[str, Any]:
    """One service end to end, as model/explain.py's result for MetalLB:
    ``findings`` are cilium_checks.findings_for's; ``condition`` the service's
    IPAMRequestSatisfied condition (cilium_checks.satisfied_condition)."""
    operator = lbipam.operator
    v = cilium.view(svc, operator)
    served, not_served = operator.serves(svc)
    key = request_key(svc, lbipam.version)
    pools = []
    for pool in lbipam.pools:
        why_not = lbipam.why_not(pool, svc)
        pools.append(
            {
                "name": pool.name,
                "blocks": [b.text for b in pool.blocks],
                "serviceSelector": None if pool.service_selector is None else str(pool.service_selector),
                "disabled": pool.disabled,
                "conflict": pool.name in lbipam.conflicts,
                "selects": not why_not,
                "whyNot": why_not or None,
            }
        )
    kept, verdict = lbipam.satisfy(svc) if served else ((), cilium.Verdict(()))
    mentioned = _pools_of(lbipam, v)
    mine = relevant(findings, svc, [p.name for p in lbipam.pools_for(svc)] + mentioned)
    result: Dict[str, Any] = {
        "implementation": {"name": "cilium", "release": cilium.text(lbipam.version)},
        "service": {
            "namespace": svc.namespace,
            "name": svc.name,
            "families": [f for f, on in (("IPv4", v.ipv4), ("IPv6", v.ipv6)) if on],
            "externalTrafficPolicy": v.external_traffic_policy,
            "loadBalancerClass": svc.load_balancer_class or None,
        },
        "served": served,
        "notServed": not_served or None,
        "request": None
        if not (v.requested or v.unparsed)
        else {
            "fields": ([SPEC_IP] if svc.load_balancer_ip else []) + ([key] if key else []),
            "addresses": [str(a) for a in v.requested],
            "unparsed": list(v.unparsed),
        },
        "sharingKey": v.sharing_key or None,
        "crossNamespace": list(v.cross_namespace) or None,
        "pools": pools,
        "held": list(svc.ingress),
        "kept": list(kept),
        "predicted": {
            "reason": verdict.reason,
            "message": verdict.message or None,
            "outcomes": [
                {
                    "address": o.address or None,
                    "reason": o.reason,
                    "pool": o.pool or None,
                    "candidates": list(o.candidates),
                }
                for o in verdict.outcomes
            ],
        },
        "condition": dict(condition) if condition else None,
        "announcements": _announcements(announcers, svc, v),
        "findings": [f.to_dict() for f in mine],
        "unknown": [],
    }
    if condition is None and svc.observed:
        result["unknown"].append(f"the {cilium.CONDITION} condition (not in the service's status)")
    elif not svc.observed:
        result["unknown"].append(f"the operator's outcome ({cilium.CONDITION}): manifests carry no status")
    for kinds, what in ((announcers.l2, L2POLICY + "s"), (announcers.bgp, BGPADV + "s")):
        if kinds is None:
            result["unknown"].append(what)
    result["steps"] = steps(svc, mine, result, served)
    failed = next((s for s in result["steps"] if s["status"] == FAILED), None)
    result["firstFix"] = failed["problem"] if failed else None
    result["blocked"] = failed is not None
    return result


def _pools_of(lbipam: cilium.Lbipam, v: cilium.View) -> List[str]:
    """The pools whose blocks hold an address the service requests or holds."""
    out: List[str] = []
    for addr in v.requested + v.held:
        for rng in lbipam.ranges:
            if rng.family == family_of(addr) and rng.interval.contains(int(addr)) and rng.pool not in out:
                out.append(rng.pool)
    return out


def _announcements(announcers: Announcers, svc: Service, v: cilium.View) -> Optional[List[Dict[str, Any]]]:
    if announcers.l2 is None and announcers.bgp is None:
        return None
    out: List[Dict[str, Any]] = []
    for policy in announcers.l2 or ():
        covers, why = policy.covers(svc, v.labels)
        out.append(
            {
                "kind": L2POLICY,
                "name": policy.name,
                "covers": covers,
                "whyNot": why or None,
                "serviceSelector": None if policy.service_selector is None else str(policy.service_selector),
                "nodeSelector": None if policy.node_selector is None else str(policy.node_selector),
                "interfaces": list(policy.interfaces) or None,
            }
        )
    for adv in announcers.bgp or ():
        covers, why = adv.covers(svc, v.labels)
        out.append(
            {
                "kind": BGPADV,
                "name": adv.name,
                "covers": covers,
                "whyNot": why or None,
                "serviceSelector": None if adv.selector is None else str(adv.selector),
                "addresses": list(adv.addresses),
            }
        )
    return out


def _fix(f: Finding) -> str:
    if f.kind == "Service":
        return f"{f.code}: {f.message}"
    return f"{f.code} ({f.object}): {f.message}"


def steps(svc: Service, mine: List[Finding], result: Dict[str, Any], served: bool) -> List[Dict[str, Any]]:
    """The chain, top down: each step's status, its findings and its first
    problem (an error finding about it, else what the step itself shows)."""
    chain: Dict[str, Dict[str, Any]] = {
        name: {"step": name, "status": OK, "findings": [], "problem": None, "code": None} for name in STEPS
    }
    held = bool(result["held"])
    for f in mine:
        step = chain[STEP_OF.get(f.code, CILIUM)]
        step["findings"].append(f.to_dict())
        # a pool finding stops a service only when it is about the pool it needs; a
        # full or conflicting pool does not take an address already held
        blocks = f.severity == c.ERROR and f.code != c.PENDING and not (held and f.kind == POOL_KIND)
        if blocks and step["problem"] is None:
            step["problem"], step["code"] = _fix(f), f.code

    def fail(name: str, problem: str) -> None:
        if chain[name]["problem"] is None:
            chain[name]["problem"] = problem

    if not served:
        fail(CLASS, f"Cilium LB-IPAM does not serve it: {result['notServed']}")
        for name in (REQUEST, POOL, CILIUM, ANNOUNCEMENT):
            chain[name]["status"] = NOT_REACHED
    else:
        if not result["kept"] and not any(p["selects"] for p in result["pools"]):
            reasons = "; ".join(p["whyNot"] for p in result["pools"] if p["whyNot"]) or "there is no pool"
            fail(POOL, f"no enabled pool selects it: {reasons}")
        condition = result["condition"]
        if not held:
            if condition and condition.get("status") == "False":
                fail(CILIUM, f"Cilium assigned no address: {condition.get('reason')}: {condition.get('message')}")
            elif svc.observed:
                fail(CILIUM, "Cilium assigned no address (status.loadBalancer is empty)")
            elif result["predicted"]["reason"] != cilium.SATISFIED:
                fail(CILIUM, f"Cilium would refuse it: {result['predicted']['reason']}")
        announcements = result["announcements"]
        if not held:
            chain[ANNOUNCEMENT]["status"] = NOT_REACHED
        elif announcements is None:
            chain[ANNOUNCEMENT]["status"] = UNKNOWN
        elif not any(a["covers"] for a in announcements):
            fail(
                ANNOUNCEMENT,
                "no CiliumL2AnnouncementPolicy or CiliumBGPAdvertisement covers it: nothing answers for its "
                "address. Fix: a CiliumL2AnnouncementPolicy with loadBalancerIPs: true whose serviceSelector "
                "matches it, or a CiliumBGPAdvertisement of type Service with LoadBalancerIP and a selector that "
                "matches it",
            )
    for step in chain.values():
        if step["problem"] is not None:
            step["status"] = FAILED
    return [chain[name] for name in STEPS]

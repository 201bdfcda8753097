"""Everything `kubectl lbip check` reports about Cilium LB-IPAM, as findings (the
same Finding the MetalLB rules give): Cilium's own refusals (the reasons of the
cilium.io/IPAMRequestSatisfied condition, as check codes), what Cilium accepts
but an operator should hear (an overlap that disables the newer pool, a disabled
pool still in use, a pin in a pool that also hands out addresses, old or unread
annotation keys, a pool status that disagrees with the objects), and what two
implementations in one cluster do to a service (served by both, by neither,
annotated for both).

The rules are model/cilium.py's (read, not repeated here); this module only asks
them and words the answers. Pure: plain data in, findings out."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from . import cilium, rules
from .addresses import FAMILIES, family_of
from .checks import (
    CILIUM_ADDRESS_STRIPPED,
    CILIUM_ALREADY_ALLOCATED,
    CILIUM_DISABLED_IN_USE,
    CILIUM_INCOMPATIBLE,
    CILIUM_KEY_IGNORED,
    CILIUM_NO_POOL,
    CILIUM_OUT_OF_IPS,
    CILIUM_PIN_IN_AUTO_RANGE,
    CILIUM_POOL_CONFLICT,
    CILIUM_SELECTOR_MISMATCH,
    CLASS_UNSERVED,
    DEPRECATED_ANNOTATION,
    ERROR,
    INVALID_POOL_ADDRESS,
    INVALID_REQUEST,
    MIXED_ANNOTATIONS,
    PENDING,
    POOL_USED_HIGH,
    SERVED_BY_BOTH,
    STATUS_DRIFT,
    WARNING,
    fixed,
)
from .rules import Finding, service_finding, sort_findings
from .services import CURRENT, DEPRECATED, Service
from .serving import CILIUM, METALLB, Installed

POOL_KIND = "CiliumLoadBalancerIPPool"

# The condition's reasons -> the check codes that say the same (the model's
# UNPREDICTABLE is a reserved address Cilium's outcome cannot be told for).
REASON_CODES: Dict[str, str] = {
    cilium.NO_POOL: CILIUM_NO_POOL,
    cilium.POOL_SELECTOR_MISMATCH: CILIUM_SELECTOR_MISMATCH,
    cilium.ALREADY_ALLOCATED: CILIUM_ALREADY_ALLOCATED,
    cilium.INCOMPATIBLE_SERVICE: CILIUM_INCOMPATIBLE,
    cilium.DIFFERENT_SHARING_KEY: CILIUM_INCOMPATIBLE,
    cilium.OUT_OF_IPS: CILIUM_OUT_OF_IPS,
    cilium.UNPREDICTABLE: CILIUM_ALREADY_ALLOCATED,
    cilium.INVALID_ADDRESS: INVALID_REQUEST,
}

# Each lbipam.cilium.io/ key and its io.cilium/lb-ipam- alias.
ALIASES = {
    cilium.IPS_KEY: cilium.IPS_ALIAS,
    cilium.SHARING_KEY: cilium.SHARING_ALIAS,
    cilium.CROSS_NAMESPACE_KEY: cilium.CROSS_NAMESPACE_ALIAS,
}
CILIUM_PREFIXES = ("lbipam.cilium.io/", "io.cilium/lb-ipam-")
METALLB_PREFIXES = (CURRENT, DEPRECATED)
SHOWN = 3  # services named in one message before "and N more"


def _names(keys: Sequence[str]) -> str:
    keys = list(keys)
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def _release(lbipam: cilium.Lbipam) -> str:
    return f"Cilium {cilium.text(lbipam.version)}"


def pool_finding(name: str, code: str, message: str, severity: str = ERROR) -> Finding:
    return Finding(severity, code, POOL_KIND, "", name, message)


def satisfied_condition(obj: Mapping) -> Optional[Dict[str, str]]:
    """The cilium.io/IPAMRequestSatisfied condition of a Service object (a plain
    dict), as {"status", "reason", "message"} strings, or None. Anything of
    another shape reads as absent."""
    status = obj.get("status") if isinstance(obj, Mapping) else None
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    if not isinstance(conditions, list):
        return None
    for cond in conditions:
        if isinstance(cond, Mapping) and cond.get("type") == cilium.CONDITION:
            return {k: str(cond.get(k) or "") for k in ("status", "reason", "message")}
    return None


def holders(lbipam: cilium.Lbipam, pool: str) -> List[str]:
    """The services holding addresses of a pool, as namespace/name, sorted."""
    keys = {s.key for a in lbipam.allocations.values() if a.range.pool == pool for s in a.services}
    return sorted(keys)


# --------------------------------------------------------------------------
# pools


def check_pools(lbipam: cilium.Lbipam) -> List[Finding]:
    """Pools the operator cannot use, pools an overlap disables, disabled pools
    still in use."""
    found: List[Finding] = []
    for pool in lbipam.pools:
        for error in pool.errors:
            detail = f"{error}; the operator keeps no part of this pool (the other pools work)."
            found.append(pool_finding(pool.name, INVALID_POOL_ADDRESS, fixed(INVALID_POOL_ADDRESS, detail)))
    for name, c in sorted(lbipam.conflicts.items()):
        held = holders(lbipam, name)
        tail = f" {len(held)} service(s) hold its addresses ({_names(held)})." if held else ""
        marked = f"Cilium marks it {cilium.POOL_CONFLICT} and allocates nothing from any of its blocks"
        if c.other == c.pool:
            detail = f"its own blocks {c.range} and {c.other_range} overlap; {marked}.{tail}"
        elif c.certain:
            detail = f"{c.range} overlaps {c.other_range} of the older pool {c.other}; {marked}.{tail}"
        else:
            detail = (
                f"{c.range} overlaps {c.other_range} of pool {c.other} and their creation times are equal or "
                f"unknown (manifests carry none), so the operator's map order decides which of the two Cilium "
                f"marks {cilium.POOL_CONFLICT} (the marked one allocates nothing from any of its blocks).{tail}"
            )
        severity = ERROR if c.certain else WARNING
        found.append(
            pool_finding(name, CILIUM_POOL_CONFLICT, fixed(CILIUM_POOL_CONFLICT, detail, pool=c.other), severity)
        )
    for name in cilium.order_dependent(lbipam.pools, lbipam.conflicts):
        mine = lbipam.pool(name)
        # a pair of equal age is said once, on the pool the model marks
        others = [
            o
            for o, c in sorted(lbipam.conflicts.items())
            if mine is not None and _overlaps(mine, lbipam.pool(o)) and (c.certain or c.other != name)
        ]
        if not others:
            continue
        detail = (
            f"it overlaps pool {', '.join(others)}, which Cilium marks {cilium.POOL_CONFLICT}; in some orders "
            "of the operator's map this pool is marked too, and then allocates nothing."
        )
        found.append(
            pool_finding(name, CILIUM_POOL_CONFLICT, fixed(CILIUM_POOL_CONFLICT, detail, pool=others[0]), WARNING)
        )
    for pool in lbipam.pools:
        if not pool.valid or not pool.disabled:
            continue
        held = holders(lbipam, pool.name)
        if held:
            detail = (
                f"spec.disabled is true but {len(held)} service(s) hold its addresses ({_names(held)}): they keep "
                "them while the operator runs; when it restarts, it takes them away and hands out addresses of "
                "other pools (read in Cilium, not yet run)."
            )
            found.append(
                pool_finding(pool.name, CILIUM_DISABLED_IN_USE, fixed(CILIUM_DISABLED_IN_USE, detail), WARNING)
            )
    return found


def _overlaps(a: cilium.CiliumPool, b: Optional[cilium.CiliumPool]) -> bool:
    return b is not None and any(x.interval.overlaps(y.interval) for x in a.blocks for y in b.blocks)


def status_drift(lbipam: cilium.Lbipam) -> List[Finding]:
    """A pool whose reported conditions (counts, PoolConflict) differ from what the
    rules give for these objects; only the conditions present are compared."""
    found: List[Finding] = []
    for pool in lbipam.pools:
        if not pool.valid:
            continue
        counts = lbipam.counts(pool)
        differ = []
        for condition, value in (
            (cilium.IPS_TOTAL, counts.total),
            (cilium.IPS_AVAILABLE, counts.available),
            (cilium.IPS_USED, counts.used),
        ):
            reported = pool.reported(condition)
            if reported is not None and reported.strip() != str(value):
                differ.append(f"{condition} {reported.strip()!r} where these objects give {value}")
        cond = pool.conditions.get(cilium.POOL_CONFLICT)
        conflict = lbipam.conflicts.get(pool.name)
        if cond is not None and (conflict is None or conflict.certain):
            says = str(cond.get("status") or "") == "True"
            if says != (conflict is not None):
                differ.append(
                    f"{cilium.POOL_CONFLICT} {cond.get('status')!s} where these objects give {conflict is not None}"
                )
        if differ:
            detail = (
                f"Cilium's status says {'; '.join(differ)}; the operator is behind, runs with other settings "
                "(release, families), or a service's status was written by hand."
            )
            found.append(pool_finding(pool.name, STATUS_DRIFT, fixed(STATUS_DRIFT, detail), WARNING))
    return found


# --------------------------------------------------------------------------
# services Cilium serves


def deprecated_keys(svc: Service, version: cilium.Version = cilium.NEWEST) -> List[Finding]:
    """io.cilium/lb-ipam-* where the release reads lbipam.cilium.io/* first (an
    alias); lbipam.cilium.io/* on v1.15, which never reads it."""
    found: List[Finding] = []
    release = f"Cilium {cilium.text(version)}"
    if cilium.reads_lbipam_keys(version):
        for key, alias in ALIASES.items():
            if alias not in svc.annotations:
                continue
            note = ""
            if key in svc.annotations and svc.annotations[key] != svc.annotations[alias]:
                note = f" {key} is also set, to another value, so {release} ignores this one."
            detail = f"{alias} is the old key; {release} reads {key} first and this one only when it is absent.{note}"
            found.append(
                service_finding(
                    svc, DEPRECATED_ANNOTATION, fixed(DEPRECATED_ANNOTATION, detail, "cilium", current=key), WARNING
                )
            )
        return found
    for key, alias in ALIASES.items():
        if key not in svc.annotations:
            continue
        if key == cilium.CROSS_NAMESPACE_KEY:
            detail = (
                f"{release} reads only io.cilium/lb-ipam-* keys and shares an address within one namespace "
                f"only: {key} is ignored."
            )
            found.append(service_finding(svc, CILIUM_KEY_IGNORED, fixed(CILIUM_KEY_IGNORED, detail, "cross")))
        else:
            detail = f"{release} reads only io.cilium/lb-ipam-* keys: {key} is ignored."
            found.append(service_finding(svc, CILIUM_KEY_IGNORED, fixed(CILIUM_KEY_IGNORED, detail, alias=alias)))
    return found


def needs_judging(lbipam: cilium.Lbipam, v: cilium.View) -> bool:
    """Whether the operator has something left to do for the service (a request
    it does not hold, or a family it asks for and holds no address of): the rest
    is settled, and judging it would only copy the state."""
    if v.requested:
        return any(not lbipam.holds(v, a) for a in v.requested)
    held = {family_of(a) for a in v.held if lbipam.holds(v, a)}
    return any(v.wants(f) and f not in held for f in FAMILIES)


def check_request(lbipam: cilium.Lbipam, svc: Service) -> List[Finding]:
    """What the operator does with the service's request now (Lbipam.satisfy):
    each address it refuses, as its condition reason's code, with why; elements of
    the request that are not addresses."""
    v = cilium.view(svc, lbipam.operator)
    found: List[Finding] = []
    for element in v.unparsed:
        rest = "the other addresses still count" if v.requested else "nothing is left, so it hands out any address"
        detail = f"{element!r} in its request is not an IP address; {_release(lbipam)} logs it and drops it ({rest})."
        found.append(service_finding(svc, INVALID_REQUEST, fixed(INVALID_REQUEST, detail)))
    if not needs_judging(lbipam, v):
        return found
    _, verdict = lbipam.satisfy(svc)
    refused = [o for o in verdict.outcomes if not o.ok]
    if not verdict.condition_written:  # both families alike: said once, and that no condition shows it
        refused = refused[-1:]
    for outcome in refused:
        found.append(refusal(lbipam, svc, v, outcome, verdict.condition_written))
    return found


def refusal(
    lbipam: cilium.Lbipam, svc: Service, v: cilium.View, outcome: cilium.Outcome, written: bool = True
) -> Finding:
    """One refused address (or automatic request) as a finding: Cilium's reason and
    words, then why in the objects' terms. ``written`` False: the operator leaves
    the condition unwritten (Verdict.condition_written)."""
    code = REASON_CODES[outcome.reason]
    what = outcome.address or "an automatic address"
    if outcome.reason == cilium.UNPREDICTABLE:
        detail = f"{what}: {outcome.message}; the outcome cannot be predicted."
        return service_finding(svc, code, fixed(code, detail, "reserved"), WARNING)
    said = f'{_release(lbipam)} would set {cilium.CONDITION} to {outcome.reason} ("{outcome.message}")'
    if not written:
        said = (
            f'{_release(lbipam)} fails both families alike, {outcome.reason} ("{outcome.message}"), and leaves '
            f"no {cilium.CONDITION} condition on the service"
        )
    why, variant, specifics = _why(lbipam, svc, v, outcome)
    detail = f"{what}: {said}" + (f"; {why}" if why else "") + "."
    return service_finding(svc, code, fixed(code, detail, variant, **specifics))


def _why(
    lbipam: cilium.Lbipam, svc: Service, v: cilium.View, outcome: cilium.Outcome
) -> Tuple[str, str, Dict[str, str]]:
    """Why, in the objects' terms: (text, the fix's variant, its specifics)."""
    addr = cilium.parse_addr(outcome.address) if outcome.address else None
    if outcome.reason in (cilium.NO_POOL, cilium.POOL_SELECTOR_MISMATCH):
        if addr is None:
            reasons = [lbipam.why_not(p, svc) for p in lbipam.pools]
            return "; ".join(r for r in reasons if r), "", {}
        family, value = family_of(addr), int(addr)
        pools = list(dict.fromkeys(r.pool for r in lbipam.ranges if r.family == family and r.interval.contains(value)))
        if not pools:
            return "no pool's blocks hold it", "", {}
        reasons = [lbipam.why_not(p, svc) for p in (lbipam.pool(n) for n in pools) if p is not None]
        return "; ".join(r for r in reasons if r), "", {"pool": pools[0]}
    if outcome.reason == cilium.OUT_OF_IPS:
        return f"pools {', '.join(p.name for p in lbipam.pools_for(svc))} select it and are full", "", {}
    if addr is None:
        return "", "", {}
    allocation = lbipam.allocations.get((family_of(addr), int(addr)))
    if allocation is None:
        return "", "", {}
    if not allocation.services:
        pool = lbipam.pool(allocation.range.pool)
        setting = pool.allow_first_last_ips if pool is not None and pool.allow_first_last_ips else "unset"
        return (
            f"it is the first or last address of a cidr block of pool {allocation.range.pool}, which reserves them "
            f"(allowFirstLastIPs {setting})",
            "reserved",
            {},
        )
    others = [s for s in allocation.services if s.key != v.key]
    held = f"{_names([s.key for s in others])} hold(s) it"
    if outcome.reason == cilium.ALREADY_ALLOCATED:
        return held + " and this service has no sharing key", "", {}
    reasons = [r for r in (cilium.sharing_conflict(s, v, lbipam.version) for s in others) if r]
    return held + (f" ({reasons[0]})" if reasons else ""), "", {}


def requested_twice(lbipam: cilium.Lbipam, services: Sequence[Service]) -> List[Finding]:
    """Two services (in manifests, or both Pending) requesting one free address
    they may not share: the first the operator handles gets it, the other is
    refused; which is first the objects do not say."""
    wanting: Dict[Tuple[str, int], List[cilium.View]] = {}
    for svc in services:
        if not lbipam.operator.serves(svc)[0]:
            continue
        v = cilium.view(svc, lbipam.operator)
        for addr in dict.fromkeys(v.requested):
            key = (family_of(addr), int(addr))
            if key not in lbipam.allocations and lbipam.find_range(v, addr)[0] is not None:
                wanting.setdefault(key, []).append(v)
    found: List[Finding] = []
    for (family, value), views in wanting.items():
        for v in views:
            for other in views:
                if other.key == v.key:
                    continue
                reason = cilium.sharing_conflict(other, v, lbipam.version) if v.sharing_key else None
                if v.sharing_key and reason is None:
                    continue
                text = str(next(a for a in v.requested if (family_of(a), int(a)) == (family, value)))
                code = CILIUM_INCOMPATIBLE if v.sharing_key and other.sharing_key else CILIUM_ALREADY_ALLOCATED
                why = reason if v.sharing_key else "this service has no sharing key"
                detail = (
                    f"{text} is also requested by {other.key} and they may not share it ({why}); the first of "
                    "them the operator handles gets it, the other stays without it."
                )
                found.append(Finding(ERROR, code, "Service", v.namespace, v.name, fixed(code, detail)))
                break
    return found


def check_holdings(lbipam: cilium.Lbipam) -> List[Finding]:
    """Addresses in a service's status the operator would strip."""
    found: List[Finding] = []
    for v, addr, reason in lbipam.stray:
        detail = f"its status shows {addr}, which {_release(lbipam)} would remove: {reason}."
        message = fixed(CILIUM_ADDRESS_STRIPPED, detail, name=v.name, namespace=v.namespace)
        found.append(Finding(WARNING, CILIUM_ADDRESS_STRIPPED, "Service", v.namespace, v.name, message))
    return found


def pins_in_auto_ranges(lbipam: cilium.Lbipam) -> List[Finding]:
    """A requested address in a pool that also hands automatic addresses to
    services that request none (or to any: no serviceSelector): Cilium has no
    autoAssign: false, so another service may take it first."""
    automatic = [w for w in lbipam.views if not w.requested]  # (a pinning service is never one)
    takers: Dict[str, List[cilium.View]] = {}
    of_families: Dict[Tuple[str, frozenset], List[str]] = {}  # (pool, families) -> the takers' keys
    found: List[Finding] = []
    for v in lbipam.views:
        by_pool: Dict[str, List[str]] = {}
        families: Dict[str, set] = {}
        for addr in dict.fromkeys(v.requested):
            rng, _ = lbipam.find_range(v, addr)
            if rng is not None:
                by_pool.setdefault(rng.pool, []).append(str(addr))
                families.setdefault(rng.pool, set()).add(rng.family)
        for name, addrs in by_pool.items():
            pool = lbipam.pool(name)
            if pool is None:
                continue
            if name not in takers:
                takers[name] = [w for w in automatic if pool.selects(w.labels)]
            wanted = (name, frozenset(families[name]))
            if wanted not in of_families:
                of_families[wanted] = [w.key for w in takers[name] if any(w.wants(f) for f in wanted[1])]
            others = of_families[wanted]
            if pool.service_selector is None:
                who = "any service that requests no address (it has no serviceSelector)"
                who += f", such as {_names(others)}" if others else ""
            elif others:
                who = f"services that request none ({_names(others)})"
            else:
                continue
            detail = (
                f"{', '.join(addrs)} lies in pool {name}, which also hands automatic addresses to {who}; another "
                "service may take it first (before this request is applied, or when the service is recreated)."
            )
            found.append(service_finding_of(v, CILIUM_PIN_IN_AUTO_RANGE, fixed(CILIUM_PIN_IN_AUTO_RANGE, detail)))
    return found


def service_finding_of(v: cilium.View, code: str, message: str, severity: str = WARNING) -> Finding:
    return Finding(severity, code, "Service", v.namespace, v.name, message)


def pending(svc: Service, condition: Optional[Mapping[str, str]], live: bool = False) -> List[Finding]:
    """A served service whose status is the operator's record and shows no
    address; with Cilium's condition when it carries one."""
    if not svc.observed or svc.ingress:
        return []
    if condition and condition.get("status") == "False":
        reason, said = condition.get("reason", ""), condition.get("message", "")
        detail, severity = f"no address assigned; Cilium says {reason}: {said}.", ERROR
    elif live:
        detail, severity = f"no address assigned yet (no {cilium.CONDITION} condition saying why).", WARNING
    else:
        detail, severity = "no address assigned (its status.loadBalancer is empty).", WARNING
    message = fixed(PENDING, detail, name=svc.name, namespace=svc.namespace)
    return [service_finding(svc, PENDING, message, severity)]


# --------------------------------------------------------------------------
# two implementations in one cluster


def implementations(svc: Service, operator: Optional[cilium.Operator], metallb_class: Optional[str]) -> List[Finding]:
    """Which installed implementation serves the service: both (they fight over
    its status), neither (it stays Pending), and keys of both on it.
    ``operator`` None: Cilium is not installed; ``metallb_class`` None: MetalLB is
    not installed, "" its controller serves services without a class, else the
    --lb-class it runs with."""
    if svc.type != "LoadBalancer":
        return []
    found: List[Finding] = []
    installed = Installed(metallb_class is not None, metallb_class or "", operator)
    by_cilium, by_metallb = (name in installed.serving(svc) for name in (CILIUM, METALLB))
    what = f"loadBalancerClass {svc.load_balancer_class}" if svc.load_balancer_class else "no loadBalancerClass"
    if by_cilium and by_metallb:
        detail = (
            f"the service has {what}, which MetalLB and Cilium LB-IPAM both serve: each writes the address it "
            "allocated to status.loadBalancer, so the address changes or never settles."
        )
        found.append(service_finding(svc, SERVED_BY_BOTH, fixed(SERVED_BY_BOTH, detail)))
    elif not by_cilium and not by_metallb and (operator is not None or metallb_class is not None):
        serves = []
        if metallb_class is not None:
            serves.append(f"MetalLB serves {f'class {metallb_class}' if metallb_class else 'services without a class'}")
        if operator is not None:
            serves.append(f"Cilium: {operator.serves(svc)[1]}")
        detail = f"the service has {what} and no installed implementation serves it ({'; '.join(serves)})."
        found.append(service_finding(svc, CLASS_UNSERVED, fixed(CLASS_UNSERVED, detail), WARNING))
    metallb_keys = sorted(k for k in svc.annotations if k.startswith(METALLB_PREFIXES))
    cilium_keys = sorted(k for k in svc.annotations if k.startswith(CILIUM_PREFIXES))
    if metallb_keys and cilium_keys:
        if by_cilium and not by_metallb:
            who, ignored = "Cilium serves it and ignores the MetalLB keys", "MetalLB"
        elif by_metallb and not by_cilium:
            who, ignored = "MetalLB serves it and ignores the Cilium keys", "Cilium"
        else:
            who, ignored = "each implementation reads only its own keys", "other implementation's"
        detail = (
            f"it carries MetalLB keys ({', '.join(metallb_keys)}) and Cilium keys ({', '.join(cilium_keys)}), "
            f"a half-done migration: {who}."
        )
        found.append(
            service_finding(svc, MIXED_ANNOTATIONS, fixed(MIXED_ANNOTATIONS, detail, ignored=ignored), WARNING)
        )
    return found


# --------------------------------------------------------------------------


def used_high(lbipam: cilium.Lbipam, warn_used: int) -> List[Finding]:
    """pool-used-high (check --warn-used): a pool family whose used share, counted
    as Cilium's cilium.io/IPsUsed counts it (a reserved first/last address as used,
    a shared one once), reaches the percentage."""
    found: List[Finding] = []
    for pool in lbipam.pools:
        for family, c in lbipam.family_counts(pool).items():
            detail = rules.used_high(c["used"], c["total"], family, warn_used)
            if detail:
                found.append(pool_finding(pool.name, POOL_USED_HIGH, fixed(POOL_USED_HIGH, detail), WARNING))
    return found


def findings_for(
    lbipam: cilium.Lbipam,
    services: Sequence[Service],
    *,
    metallb_class: Optional[str] = None,
    namespace: Optional[str] = None,
    conditions: Optional[Mapping[str, Mapping[str, str]]] = None,
    live: bool = False,
    warn_used: Optional[int] = None,
) -> List[Finding]:
    """Every Cilium rule over the pools and services, sorted. ``services`` are all
    of them (the ones Cilium serves are judged; the others only for which
    implementation serves them); ``metallb_class`` as in ``implementations``;
    ``namespace`` keeps only its services' findings (and every pool's);
    ``conditions`` maps namespace/name to a service's IPAMRequestSatisfied
    condition (``satisfied_condition``); ``live``: read from the API;
    ``warn_used``: check --warn-used's percentage."""
    found: List[Finding] = check_pools(lbipam) + status_drift(lbipam)
    for svc in services:
        found += implementations(svc, lbipam.operator, metallb_class)
        if not lbipam.operator.serves(svc)[0]:
            continue
        found += deprecated_keys(svc, lbipam.version)
        found += check_request(lbipam, svc)
        found += pending(svc, (conditions or {}).get(svc.key), live)
    found += requested_twice(lbipam, services)
    found += check_holdings(lbipam)
    found += pins_in_auto_ranges(lbipam)
    if warn_used is not None:
        found += used_high(lbipam, warn_used)
    if namespace:
        found = [f for f in found if f.kind != "Service" or f.namespace == namespace]
    return sort_findings(found)

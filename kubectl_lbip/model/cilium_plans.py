"""What the commands plan for Cilium LB-IPAM: suggestions Cilium would accept,
the annotate plan, and pinning a batch of services. Every decision is asked of
the rules in model/cilium.py (``Lbipam.check_request``); nothing here is a new
rule. Pure: plain model objects in, decisions out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import islice
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import InvalidValue, Refused
from . import cilium
from .addresses import DUAL, FAMILIES, IPV4, IPV6, family_of, sort_addresses, to_text
from .annotate import ANNOTATION_EXISTS, NO_FREE_ADDRESS, Plan
from .checks import CILIUM_SPEC_AND_ANNOTATION, fixed
from .cilium_checks import REASON_CODES
from .patches import service_patch
from .pin import FAILED, KEPT, PINNED, PinDecision
from .rules import ERROR, NOT_LOAD_BALANCER, WARNING, Finding, service_finding
from .services import Port, Service

NOT_SERVED = NOT_LOAD_BALANCER  # annotate's refusal, as MetalLB's side words it
SPEC_AND_ANNOTATION = CILIUM_SPEC_AND_ANNOTATION  # annotate's warning

CURRENT, SHARED, LOWEST = "current", "shared", "lowest"


def outcome_findings(svc: Service, verdict: cilium.Verdict) -> List[Finding]:
    """One error per address the operator would refuse, with Cilium's reason."""
    return [
        service_finding(svc, REASON_CODES[o.reason], f"{o.address or 'the request'}: {o.reason}: {o.message}")
        for o in verdict.outcomes
        if not o.ok
    ]


def family_of_service(operator: cilium.Operator, svc: Service) -> Tuple[Optional[str], str]:
    """ipv4, ipv6 or dual: what serviceIPFamilyRequest asks for, or None and why."""
    v4, v6 = operator.families(svc)
    if v4 and v6:
        return DUAL, ""
    if v4 or v6:
        return (IPV4 if v4 else IPV6), ""
    return None, (
        f"ipFamilyPolicy {svc.ip_family_policy or 'SingleStack'} with ipFamilies "
        f"{', '.join(svc.ip_families) or 'none'} asks for no family the operator enables"
    )


def described_service(
    namespace: str,
    family: str,
    labels: Dict[str, str],
    sharing_key: Optional[str],
    ports: Sequence[Port],
    version: cilium.Version = cilium.NEWEST,
) -> Service:
    """A service not yet written, as free's options describe it, with the sharing
    key under the annotation the release reads."""
    annotations = {cilium.annotation_keys(version)["sharing-key"][0]: sharing_key} if sharing_key else {}
    return Service(
        namespace=namespace,
        name="(new service)",
        labels=dict(labels),
        annotations=annotations,
        ip_family_policy="RequireDualStack" if family == DUAL else "SingleStack",
        ip_families=("IPv6",) if family == IPV6 else (),
        ports=tuple(ports),
    )


# --------------------------------------------------------------------------
# suggestions


@dataclass(frozen=True)
class Suggestion:
    """Addresses Cilium would give the service if it requested them: ``per_family``
    of each family it asks for, each from the pool the operator resolves it to
    (findRangeOfIP), so an IPv4 and an IPv6 may come from two pools."""

    ipv4: Tuple[str, ...]
    ipv6: Tuple[str, ...]
    pools: Tuple[str, ...]  # one per address, IPv4 first
    why: str

    @property
    def addresses(self) -> List[str]:
        return list(self.ipv4 + self.ipv6)

    @property
    def pool(self) -> str:
        return "+".join(dict.fromkeys(self.pools))

    def to_dict(self) -> dict:
        return {
            "pool": self.pool,
            "ipv4": ",".join(self.ipv4) or None,
            "ipv6": ",".join(self.ipv6) or None,
            "why": self.why,
            "pools": list(self.pools),
        }


@dataclass
class SuggestResult:
    suggestions: List[Suggestion]
    pools: List[cilium.CiliumPool]  # the pools considered
    excluded: List[Tuple[cilium.CiliumPool, str]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def eligible_pools(lbipam: cilium.Lbipam, target: Service, pool_name: Optional[str] = None):
    """The pools that may hand the target a new address, and the others with the
    reason (Lbipam.why_not)."""
    pools, excluded = [], []
    for pool in lbipam.pools:
        if pool_name and pool.name != pool_name:
            continue
        why = lbipam.why_not(pool, target)
        if why:
            excluded.append((pool, why))
        else:
            pools.append(pool)
    return pools, excluded


def _candidates(lbipam: cilium.Lbipam, v: cilium.View, family: str, pools: List[str]) -> Iterator[Tuple[str, str, str]]:
    """(address, pool, why) for one family: what the service holds, then addresses
    it may share (its sharing key), then the free addresses of each range of the
    pools (those with a serviceSelector first, else in the operator's range
    order), lowest first."""
    for addr in v.held:
        if family_of(addr) == family and lbipam.holds(v, addr):
            where = lbipam.ranges_at(family, int(addr))
            yield str(addr), where[0].pool if where else "", CURRENT
    if v.sharing_key:
        for (fam, value), a in lbipam.allocations.items():
            mine = any(s.key == v.key for s in a.services)
            if fam == family and a.services and a.range.pool in pools and not mine:
                if all(cilium.sharing_conflict(s, v, lbipam.version) is None for s in a.services):
                    yield to_text(fam, value), a.range.pool, SHARED
    # pools with a serviceSelector first: a pin there is safer from automatic allocation to
    # every other service (cilium-pin-in-auto-range)
    selective = {p.name for p in lbipam.pools if p.service_selector is not None}
    for rng in sorted(lbipam.ranges, key=lambda r: r.pool not in selective):
        if rng.family == family and rng.pool in pools and not rng.disabled:
            for value in lbipam.free_in(rng):
                yield to_text(family, value), rng.pool, LOWEST


def suggest(
    lbipam: cilium.Lbipam,
    target: Service,
    count: int,
    family: Optional[str] = None,
    pool_name: Optional[str] = None,
    per_family: int = 1,
) -> SuggestResult:
    """Up to ``count`` requests Cilium would accept for the target (an existing
    service, or one free's options describe), each checked as its request by
    Lbipam.check_request, no address in two of them. ``family`` narrows the
    families the service asks for; ``per_family`` asks for several addresses of
    each (Cilium takes any number)."""
    pools, excluded = eligible_pools(lbipam, target, pool_name)
    result = SuggestResult([], pools, excluded)
    v = cilium.view(target, lbipam.operator)
    families = [f for f in FAMILIES if v.wants(f) and (family in (None, DUAL) or f == family)]
    if not families:
        result.notes.append("the service asks for no address family the operator enables")
        return result
    names = [p.name for p in pools]
    streams = {f: _candidates(lbipam, v, f, names) for f in families}
    seen: set = set()
    tries = 0
    while len(result.suggestions) < count and tries < 4 * count + 16:
        tries += 1
        picked: Dict[str, List[Tuple[str, str, str]]] = {}
        for f in families:
            picked[f] = [c for c in islice((c for c in streams[f] if c[0] not in seen), per_family)]
        if any(len(picked[f]) < per_family for f in families):
            break
        chosen = [c for f in families for c in picked[f]]
        seen.update(c[0] for c in chosen)
        if not lbipam.check_request(target, [c[0] for c in chosen]).accepted:
            continue
        tiers = {c[2] for c in chosen}
        why = CURRENT if tiers == {CURRENT} else SHARED if SHARED in tiers else LOWEST
        result.suggestions.append(
            Suggestion(
                tuple(c[0] for c in picked.get(IPV4, [])),
                tuple(c[0] for c in picked.get(IPV6, [])),
                tuple(c[1] for c in chosen),
                why,
            )
        )
    if not result.suggestions:
        short = [f for f in families if not any(True for _ in islice(_candidates(lbipam, v, f, names), 1))]
        if short:
            result.notes.append(
                "no free " + " or ".join("IPv4" if f == IPV4 else "IPv6" for f in short) + " address in a pool that "
                "may serve the service"
            )
    return result


# --------------------------------------------------------------------------
# annotate


def _parse(texts: Sequence[str]) -> List[cilium.Address]:
    out = []
    for text in texts:
        for part in str(text).split(","):
            addr = cilium.parse_addr(part.strip())
            if addr is None:
                raise InvalidValue(f"{part.strip()!r} is not an IP address")
            if addr not in out:
                out.append(addr)
    if not out:
        raise InvalidValue("no address given")
    return out


def plan(
    lbipam: cilium.Lbipam,
    svc: Service,
    addresses: Sequence[str] = (),
    *,
    auto: bool = False,
    overwrite: bool = False,
    clear_spec_ip: bool = False,
    strict: bool = False,  # MetalLB's rejected configuration: Cilium has none (each valid pool works)
) -> Plan:
    """The annotate plan for Cilium: the request written under the key the release
    reads (ips_key), its alias removed in the same patch, checked by the operator's
    rules with spec.loadBalancerIP merged in as the operator merges it (unless it
    is cleared). Refuses (errors.Refused) with every failing address, or returns
    the patch; an address that is not one is an InvalidValue."""
    served, why = lbipam.operator.serves(svc)
    if not served:
        detail = f"Cilium does not serve service {svc.key}: {why}."
        raise Refused([service_finding(svc, NOT_SERVED, fixed(NOT_SERVED, detail))])
    version = lbipam.version
    key = cilium.ips_key(version)
    if auto:
        found = suggest(lbipam, svc, 1)
        if not found.suggestions:
            said = "".join("; " + n for n in found.notes + [w for _, w in found.excluded])
            detail = fixed(
                NO_FREE_ADDRESS, f"no free address fits this service{said}.", name=svc.name, namespace=svc.namespace
            )
            raise Refused([service_finding(svc, NO_FREE_ADDRESS, detail)])
        texts = found.suggestions[0].addresses
    else:
        texts = list(addresses)
    value = ",".join(str(a) for a in sort_addresses(_parse(texts)))
    judged = value.split(",")
    findings: List[Finding] = []
    if svc.load_balancer_ip and not clear_spec_ip:
        judged = [svc.load_balancer_ip] + judged
        findings.append(
            service_finding(
                svc,
                SPEC_AND_ANNOTATION,
                fixed(
                    SPEC_AND_ANNOTATION,
                    f"spec.loadBalancerIP is set ({svc.load_balancer_ip}); Cilium requests it too, beside {key}.",
                ),
                WARNING,
            )
        )
    findings += outcome_findings(svc, lbipam.check_request(svc, judged))
    keys = cilium.annotation_keys(version)["ips"]
    current = next((svc.annotations[k] for k in keys if k in svc.annotations), None)
    if current not in (None, "", value) and not overwrite:
        findings.append(
            service_finding(svc, ANNOTATION_EXISTS, fixed(ANNOTATION_EXISTS, f"{key} is already {current!r}."))
        )
    errors = [f for f in findings if f.severity == ERROR]
    if errors:
        raise Refused(errors)
    warnings = [f for f in findings if f.severity != ERROR]
    aliases = [k for k in keys[1:] if k in svc.annotations]
    changes: Dict[str, Optional[str]] = {key: value, **{k: None for k in aliases}}
    if svc.annotations.get(key) == value and not aliases and not (svc.load_balancer_ip and clear_spec_ip):
        return Plan(svc, value, None, warnings)
    return Plan(svc, value, service_patch(svc, changes, clear_spec_ip), warnings)


# --------------------------------------------------------------------------
# pin


def pin_batch(lbipam: cilium.Lbipam, targets: Sequence[Service]) -> List[PinDecision]:
    """pin -f for Cilium: each service the operator serves that requests nothing
    gets the first suggestion, taken in a working copy before the next service is
    decided (no two of the batch collide); a service that requests addresses
    keeps them, with what the operator would refuse."""
    work = lbipam.copy()
    decisions: List[PinDecision] = []
    for svc in targets:
        if not lbipam.operator.serves(svc)[0]:
            continue
        v = cilium.view(svc, lbipam.operator)
        if v.requested:
            verdict = work.check_request(svc)
            reason = "; ".join(f"[{f.code}] {f.message}" for f in outcome_findings(svc, verdict))
            first = next((o.pool for o in verdict.outcomes if o.pool), None)
            decisions.append(
                PinDecision(svc.namespace, svc.name, KEPT, tuple(str(a) for a in v.requested), first, reason=reason)
            )
            continue
        found = suggest(work, svc, 1)
        if not found.suggestions:
            later = " once the earlier services of this run are pinned" if decisions else ""
            parts = ["no free address fits it" + later]
            parts += [why for _, why in found.excluded] + found.notes
            decisions.append(PinDecision(svc.namespace, svc.name, FAILED, reason="; ".join(parts)))
            continue
        choice = found.suggestions[0]
        decisions.append(PinDecision(svc.namespace, svc.name, PINNED, tuple(choice.addresses), choice.pool, choice.why))
        work.claim(requesting(svc, lbipam.version, ",".join(choice.addresses)))
    return decisions


def requesting(svc: Service, version: cilium.Version, value: str) -> Service:
    """The service as it will be once it carries the request."""
    return dataclasses.replace(svc, annotations={**svc.annotations, cilium.ips_key(version): value})

"""The one rule engine: each MetalLB rule written once, returning findings.

`check_request` is what MetalLB's controller does with a requested set of
addresses (controller/service.go, then allocator.Assign), in its order;
`annotate` calls it for the addresses it is about to write, `free` for each
suggestion, `migrate` for each migrated request and `check` for every service.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from ..errors import InvalidValue
from .addresses import DUAL, IPV4, IPV6, Address, family_of, split_request
from .checks import (  # the codes and their fixes: the catalogue
    ADDRESS_CONFLICT,
    BOTH_SPEC_AND_ANNOTATION,
    BUGGY_IP,
    DEPRECATED_ANNOTATION,
    DEPRECATED_LB_IP,
    ERROR,
    FAMILY_MISMATCH,
    INVALID_POOL_ADDRESS,
    INVALID_REQUEST,
    NO_DUAL_STACK_POOL,
    NOT_IN_POOL,
    NOT_LOAD_BALANCER,
    PENDING,
    POOL_ANNOTATION_MISMATCH,
    POOL_EXHAUSTED,
    POOL_INCOMPATIBLE,
    POOL_OVERLAP,
    POOL_USED_HIGH,
    SPLIT_POOL,
    TOO_MANY,
    WARNING,
    fixed,
)
from .cluster import Cluster
from .metallb import text as metallb_text
from .pools import Pool
from .services import ASSIGNED, CURRENT, DEPRECATED, REQUESTED, Request, Service, request_family
from .usage import usage_counts

FAMILY_WORDS = {IPV4: "IPv4", IPV6: "IPv6", DUAL: "dual-stack"}

# The codes that are a verdict on a request: what MetalLB's controller refuses it for.
REQUEST_CODES = frozenset(
    {
        INVALID_REQUEST,
        TOO_MANY,
        FAMILY_MISMATCH,
        NOT_IN_POOL,
        BUGGY_IP,
        SPLIT_POOL,
        POOL_INCOMPATIBLE,
        ADDRESS_CONFLICT,
        POOL_ANNOTATION_MISMATCH,
        BOTH_SPEC_AND_ANNOTATION,
    }
)

# MetalLB's AllocationFailed messages (controller/service.go and internal/allocator)
# -> the codes that name the same broken rule; the e2e tier's conformance run
# holds every message MetalLB gave to this table.
EVENT_CODES: Tuple[Tuple[str, FrozenSet[str]], ...] = (
    ("does not match the ipFamily of the service", frozenset({FAMILY_MISMATCH})),
    ("is not allowed in config", frozenset({NOT_IN_POOL, BUGGY_IP, SPLIT_POOL})),
    ("not compatible for ip assignment", frozenset({POOL_INCOMPATIBLE})),
    ("is not compatible with requested address pool", frozenset({POOL_ANNOTATION_MISMATCH})),
    ("can't change sharing key", frozenset({ADDRESS_CONFLICT})),
    ("is already in use on", frozenset({ADDRESS_CONFLICT})),
    ("same address family", frozenset({TOO_MANY})),
    ("has the same family", frozenset({TOO_MANY})),
    ("invalid ips length", frozenset({TOO_MANY})),
    ("more than two addresses", frozenset({TOO_MANY})),
    ("service can not have both", frozenset({BOTH_SPEC_AND_ANNOTATION})),
    ("invalid metallb.io/loadBalancerIPs", frozenset({INVALID_REQUEST})),
    ("invalid spec.loadBalancerIP", frozenset({INVALID_REQUEST})),
)


def codes_for_event(message: str) -> Optional[FrozenSet[str]]:
    """The codes an AllocationFailed message of MetalLB names, or None."""
    for needle, codes in EVENT_CODES:
        if needle in message:
            return codes
    return None


# What MetalLB does with a configuration it cannot accept (its config and pool
# reconcilers stop before loading it): the last valid one stays in use.
REJECTS_CONFIGURATION = (
    "MetalLB rejects its whole configuration and keeps using the last valid one (nothing added or changed "
    "since takes effect)"
)


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    kind: str
    namespace: str
    name: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def object(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


def service_finding(svc: Service, code: str, message: str, severity: str = ERROR) -> Finding:
    return Finding(severity, code, "Service", svc.namespace, svc.name, message)


def pool_kind(pool: Pool) -> str:
    """The kind a pool is reported as: its own, or the legacy ConfigMap's."""
    return "ConfigMap" if pool.legacy else "IPAddressPool"


def pool_finding(pool: Pool, code: str, message: str, severity: str = ERROR) -> Finding:
    return Finding(severity, code, pool_kind(pool), pool.namespace, pool.name, message)


@dataclass
class Verdict:
    findings: List[Finding]
    pool: Optional[Pool] = None

    @property
    def accepted(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)


def sharing_conflict(a: Service, b: Service) -> Optional[str]:
    """Why two services may not share an address (MetalLB's checkSharing), or None."""
    if not a.sharing_key or not b.sharing_key:
        missing = [s.key for s in (a, b) if not s.sharing_key]
        return f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no {CURRENT}allow-shared-ip key"
    if a.sharing_key != b.sharing_key:
        return f"sharing keys differ ({a.sharing_key!r} and {b.sharing_key!r})"
    if a.backend_key != b.backend_key:
        return (
            "backend keys differ: with externalTrafficPolicy Local both must select the "
            f"same pods ({a.backend_key or '<Cluster>'} and {b.backend_key or '<Cluster>'})"
        )
    common = sorted(set(a.ports) & set(b.ports))
    if common:
        return f"both use port {', '.join(map(str, common))}"
    return None


@dataclass
class Ask:
    """One service asking for specific addresses: what the named checks below
    share, in MetalLB's order (controller getDesiredLbIPs and allocateIPs, then
    allocator.Assign). ``pool`` is set by ``pool_for`` for the checks after it."""

    cluster: Cluster
    svc: Service
    request: Request
    check_admission: bool = True
    pool: Optional[Pool] = None

    @property
    def addresses(self) -> List[Address]:
        return list(self.request.addresses)

    def fail(self, code: str, message: str, severity: str = ERROR) -> Finding:
        return service_finding(self.svc, code, message, severity)


def request_parses(ask: Ask) -> List[Finding]:
    """getDesiredLbIPs: every element must be an IP address."""
    request = ask.request
    if not request.invalid:
        return []
    bad = ", ".join(repr(e) for e in request.invalid)
    return [
        ask.fail(
            INVALID_REQUEST,
            fixed(
                INVALID_REQUEST,
                f"{request.field} {request.text!r}: {bad} is not an IP "
                "address; MetalLB allocates nothing for this service.",
            ),
        )
    ]


def request_has_a_family(ask: Ask) -> List[Finding]:
    """ipfamily.ForAddresses: one address, or one IPv4 and one IPv6 (Assign's 'more
    than two addresses' and 'has the same family' say the same)."""
    family, why = request_family(ask.addresses)
    if family is not None:
        return []
    return [
        ask.fail(
            TOO_MANY,
            fixed(TOO_MANY, f"{ask.request.field} {ask.request.text!r}: {why}."),
        )
    ]


def family_matches_service(ask: Ask) -> List[Finding]:
    """allocateIPs: the request's family must be the service's."""
    req_family, _ = request_family(ask.addresses)
    svc_family, why = ask.svc.family(ask.cluster.metallb)
    if svc_family is None:
        return [ask.fail(FAMILY_MISMATCH, f"cannot tell the service's IP family: {why}")]
    if req_family is not None and svc_family != req_family:
        return [
            ask.fail(FAMILY_MISMATCH, _family_mismatch_message(ask.request.field, ask.request, svc_family, req_family))
        ]
    return []


def pool_for(ask: Ask) -> List[Finding]:
    """Assign -> poolFor: one pool must hold every address (avoidBuggyIPs aside)."""
    found, pools = [], []
    for addr in ask.addresses:
        pool = ask.cluster.pool_containing(addr)
        if pool is None:
            found.append(
                ask.fail(
                    NOT_IN_POOL,
                    fixed(
                        NOT_IN_POOL, f"{addr} is in no IPAddressPool; MetalLB refuses it ('is not allowed in config')."
                    ),
                )
            )
        elif not pool.allocatable(family_of(addr), int(addr)):
            found.append(
                ask.fail(
                    BUGGY_IP,
                    fixed(
                        BUGGY_IP,
                        f"{addr} ends in .0 or .255 and pool {pool.name} has "
                        "avoidBuggyIPs: MetalLB never hands it out.",
                    ),
                )
            )
        else:
            pools.append(pool)
    if len({p.name for p in pools}) > 1:
        names = ", ".join(f"{a} in {p.name}" for a, p in zip(ask.addresses, pools))
        found.append(
            ask.fail(
                SPLIT_POOL,
                fixed(
                    SPLIT_POOL,
                    f"the addresses lie in different pools ({names}); "
                    "MetalLB takes all the addresses of a service from one pool.",
                ),
            )
        )
    elif pools and len(pools) == len(ask.addresses):
        ask.pool = pools[0]
    return found


def pool_admits_service(ask: Ask) -> List[Finding]:
    """Assign -> isPoolCompatibleWithService (the pool's serviceAllocation)."""
    pool, svc = ask.pool, ask.svc
    if pool is None or not ask.check_admission or pool.admits(svc.namespace, svc.labels):
        return []
    return [
        ask.fail(
            POOL_INCOMPATIBLE,
            fixed(
                POOL_INCOMPATIBLE,
                pool.why_not_admitted(svc.namespace, svc.labels)
                + "; MetalLB refuses ('not compatible for ip assignment').",
            ),
        )
    ]


def sharing_allowed(ask: Ask) -> List[Finding]:
    """Assign -> checkSharing, for each address, against the services that claim it."""
    found: List[Finding] = []
    for addr in ask.addresses:
        found += address_sharing(ask.cluster, ask.svc, addr)
    return found


def pool_annotation_matches(ask: Ask) -> List[Finding]:
    """allocateIPs after Assign: the address-pool annotation must name the pool."""
    wanted = ask.svc.pool_annotation
    if not wanted:
        return []
    if ask.cluster.pool(wanted) is None:
        return [
            ask.fail(
                POOL_ANNOTATION_MISMATCH,
                fixed(
                    POOL_ANNOTATION_MISMATCH, f"the address-pool annotation names pool {wanted}, which does not exist."
                ),
            )
        ]
    if ask.pool is not None and ask.pool.name != wanted:
        return [
            ask.fail(
                POOL_ANNOTATION_MISMATCH,
                fixed(
                    POOL_ANNOTATION_MISMATCH,
                    f"the address-pool annotation names pool {wanted} but the addresses are in pool "
                    f"{ask.pool.name}; MetalLB refuses.",
                    "other-pool",
                    pool=wanted,
                ),
            )
        ]
    return []


# MetalLB's checks, in its order. A request that does not parse, or has no family,
# stops there (MetalLB has nothing to check further); the others all run, so a
# refusal names every broken rule at once.
FIRST_CHECKS: Tuple[Callable[[Ask], List[Finding]], ...] = (request_parses, request_has_a_family)
REQUEST_CHECKS: Tuple[Callable[[Ask], List[Finding]], ...] = (
    family_matches_service,
    pool_for,
    pool_admits_service,
    sharing_allowed,
    pool_annotation_matches,
)


def check_request(cluster: Cluster, svc: Service, request: Request, *, check_admission: bool = True) -> Verdict:
    """Every rule MetalLB applies to a service asking for specific addresses: the
    one verdict `check`, `annotate`, `free` and `migrate` give on a request.

    A service whose status shows MetalLB assigned exactly these addresses has been
    accepted: whatever a rule says is then a warning, never a refusal."""
    ask = Ask(cluster, svc, request, check_admission)
    findings: List[Finding] = []
    for check in FIRST_CHECKS:
        findings += check(ask)
        if findings:
            return Verdict(findings)
    for check in REQUEST_CHECKS:
        findings += check(ask)
    if svc.holds_exactly(request.addresses):
        findings = [accepted_already(f) for f in findings]
    return Verdict(findings, ask.pool)


def accepted_already(finding: Finding) -> Finding:
    if finding.severity != ERROR:
        return finding
    return replace(
        finding,
        severity=WARNING,
        message="MetalLB has assigned these addresses "
        "already (its status shows them), though by the rules it would refuse them "
        "now: " + finding.message,
    )


def address_sharing(cluster: Cluster, svc: Service, addr: Address) -> List[Finding]:
    """address-conflict for one address ``svc`` requests, against every other
    service that uses it and may not share it (MetalLB's checkSharing):

    * the other holds it: MetalLB refuses this request ('already in use');
    * the other only requests it and its status is MetalLB's record (live, or a
      `kubectl get -o json` dump): it is Pending, MetalLB's allocator never saw its
      request and gives the address away. Nothing to say against this request;
      while this service does not hold it yet, a warning names the Pending one,
      which will then never get it;
    * the other is a manifest's request (an intention): in manifests two intentions
      for one address are an error (whichever is applied first gets it); a live
      service that does not hold the address is warned it will never get it."""
    family, value = family_of(addr), int(addr)
    found = []
    for use in _others_at(cluster, svc, family, value):
        other = use.service
        reason = sharing_conflict(svc, other)
        if not reason:
            continue
        if use.how == ASSIGNED:
            found.append(
                service_finding(
                    svc,
                    ADDRESS_CONFLICT,
                    fixed(
                        ADDRESS_CONFLICT,
                        f"{addr} is already held by service {other.key} and they "
                        f"may not share it: {reason}; MetalLB refuses ('already in use').",
                    ),
                )
            )
        elif other.observed:
            if not svc.holds(addr):
                found.append(
                    service_finding(
                        svc,
                        ADDRESS_CONFLICT,
                        fixed(
                            ADDRESS_CONFLICT,
                            f"{addr} is also requested by service {other.key}, "
                            f"which is Pending (it holds no address) and may not share it: {reason}. "
                            f"MetalLB gives it to this service; {other.key} can then never get it.",
                        ),
                        WARNING,
                    )
                )
        elif not svc.observed:
            found.append(
                service_finding(
                    svc,
                    ADDRESS_CONFLICT,
                    fixed(
                        ADDRESS_CONFLICT,
                        f"{addr} is also requested by service {other.key} and "
                        f"they may not share it: {reason}; MetalLB gives it to whichever it processes "
                        "first and leaves the other Pending.",
                    ),
                )
            )
        elif not svc.holds(addr):
            found.append(
                service_finding(
                    svc,
                    ADDRESS_CONFLICT,
                    fixed(
                        ADDRESS_CONFLICT,
                        f"{addr} is also requested by service {other.key} (a "
                        f"manifest, not applied) and they may not share it: {reason}. Once it is "
                        "applied MetalLB gives it the address, and this service can never get it.",
                    ),
                    WARNING,
                )
            )
    return found


def _others_at(cluster: Cluster, svc: Service, family: str, value: int):
    """One use per other service of an address: its holding if it holds it."""
    best: dict = {}
    for use in cluster.index.uses(family, value):
        if use.service.key == svc.key:
            continue
        if use.service.key not in best or use.how == ASSIGNED:
            best[use.service.key] = use
    return list(best.values())


def check_holdings(cluster: Cluster, svc: Service) -> List[Finding]:
    """Addresses a service holds without asking for them (MetalLB chose them):
    another holder that may not share is a warning (MetalLB moves one of them the
    next time it processes them). A request of another for it is that one's error."""
    found = []
    for addr in svc.held():
        family, value = family_of(addr), int(addr)
        for use in _others_at(cluster, svc, family, value):
            reason = sharing_conflict(svc, use.service) if use.how == ASSIGNED else None
            if reason:
                found.append(
                    service_finding(
                        svc,
                        ADDRESS_CONFLICT,
                        fixed(
                            ADDRESS_CONFLICT,
                            f"{addr} is also held by service {use.service.key} "
                            f"and they may not share it: {reason}. MetalLB assigned both, but takes it "
                            "from one of them the next time it processes them.",
                        ),
                        WARNING,
                    )
                )
    return found


def _family_mismatch_message(field_name: str, request: Request, svc_family: str, req_family: str) -> str:
    head = (
        f"{field_name} {request.text!r} is {FAMILY_WORDS[req_family]} but the service is "
        f"{FAMILY_WORDS[svc_family]} (from its clusterIPs)"
    )
    if req_family == DUAL:
        return fixed(FAMILY_MISMATCH, head + "; MetalLB refuses.", "dual-request")
    if svc_family == DUAL:
        return fixed(FAMILY_MISMATCH, head + "; MetalLB refuses.", "dual-service")
    return fixed(FAMILY_MISMATCH, head + "; MetalLB refuses.", family=FAMILY_WORDS[svc_family])


def check_service(cluster: Cluster, svc: Service) -> List[Finding]:
    """Every rule on one service: its keys, its request (the verdict annotate and
    free give on the same request), what it holds, whether it is Pending."""
    findings = deprecated_keys(svc)
    if not svc.is_load_balancer:
        return findings
    findings += deprecated_spec_ip(svc)
    if svc.has_both_requests:
        findings += one_request_field(svc)
    elif svc.request is not None:
        findings += check_request(cluster, svc, svc.request).findings
    else:
        findings += pool_annotation_exists(cluster, svc)
    if svc.request is None or svc.has_both_requests:
        findings += check_holdings(cluster, svc)
    if svc.observed and not svc.ingress:
        findings.append(pending(cluster, svc))
    return findings


def deprecated_keys(svc: Service) -> List[Finding]:
    """metallb.universe.tf/* annotations (MetalLB reads them when the current key is absent)."""
    findings = []
    for key in svc.deprecated_keys():
        twin = CURRENT + key[len(DEPRECATED) :]
        note = ""
        if twin in svc.annotations and svc.annotations[twin] != svc.annotations[key]:
            note = f" MetalLB ignores it because {twin} is also set, to another value."
        findings.append(
            service_finding(
                svc,
                DEPRECATED_ANNOTATION,
                fixed(DEPRECATED_ANNOTATION, f"{key} is deprecated since MetalLB v0.13.{note}", twin=twin),
                WARNING,
            )
        )
    return findings


def deprecated_spec_ip(svc: Service) -> List[Finding]:
    if not svc.load_balancer_ip:
        return []
    return [
        service_finding(
            svc,
            DEPRECATED_LB_IP,
            fixed(DEPRECATED_LB_IP, "spec.loadBalancerIP is deprecated by Kubernetes."),
            WARNING,
        )
    ]


def one_request_field(svc: Service) -> List[Finding]:
    """getDesiredLbIPs: the annotation and spec.loadBalancerIP may not both be set."""
    annotation = svc.annotation_request
    if annotation is None or svc.spec_request is None:
        return []
    return [
        service_finding(
            svc,
            BOTH_SPEC_AND_ANNOTATION,
            fixed(
                BOTH_SPEC_AND_ANNOTATION,
                f"both {annotation.field} and spec.loadBalancerIP are set; MetalLB allocates nothing "
                "('service can not have both').",
            ),
        )
    ]


def pool_annotation_exists(cluster: Cluster, svc: Service) -> List[Finding]:
    """AllocateFromPool for a service that requests no address: the pool must exist."""
    if not svc.pool_annotation or cluster.pool(svc.pool_annotation) is not None:
        return []
    return [
        service_finding(
            svc,
            POOL_ANNOTATION_MISMATCH,
            fixed(
                POOL_ANNOTATION_MISMATCH,
                f"the address-pool annotation names pool {svc.pool_annotation}, which does not exist.",
            ),
        )
    ]


def pending(cluster: Cluster, svc: Service) -> Finding:
    """A service whose status is MetalLB's record and shows no address; live, with
    the reason of MetalLB's AllocationFailed event when there is one."""
    reason = cluster.allocation_failures.get(svc.key)
    if reason:
        return service_finding(
            svc,
            PENDING,
            fixed(PENDING, f"no address assigned; MetalLB said: {reason}.", name=svc.name, namespace=svc.namespace),
        )
    if cluster.live:
        detail, severity = "no address assigned yet (no AllocationFailed event found).", WARNING
    else:
        detail, severity = "no address assigned (its status.loadBalancer is empty; events are not in files).", WARNING
    return service_finding(svc, PENDING, fixed(PENDING, detail, name=svc.name, namespace=svc.namespace), severity)


def check_pools(cluster: Cluster) -> List[Finding]:
    findings: List[Finding] = []
    for pool in cluster.pools:
        for error in pool.errors:
            findings.append(
                pool_finding(
                    pool,
                    INVALID_POOL_ADDRESS,
                    fixed(INVALID_POOL_ADDRESS, f"{error}; {REJECTS_CONFIGURATION}."),
                )
            )
    for pool_a, iv_a, pool_b, iv_b in cluster.overlaps:
        where = f"pool {pool_a.name}" if pool_a is pool_b else f"pools {pool_a.name} and {pool_b.name}"
        findings.append(
            pool_finding(
                pool_b,
                POOL_OVERLAP,
                fixed(POOL_OVERLAP, f"{iv_b} overlaps {iv_a} ({where}); {REJECTS_CONFIGURATION}."),
            )
        )
    return findings


def check_capacity(cluster: Cluster, warn_used: Optional[int] = None) -> List[Finding]:
    """pool-exhausted, from the per-pool counts (usage_counts); with ``warn_used`` (a
    percentage: check --warn-used) also pool-used-high where the used share reaches it."""
    findings: List[Finding] = []
    for pool in cluster.pools:
        if not pool.valid:
            continue
        for family in pool.families():
            total, used = usage_counts(cluster, pool, family)
            if total <= 0:
                continue
            free = total - used
            word = FAMILY_WORDS[family]
            if free <= 0:
                findings.append(
                    pool_finding(
                        pool,
                        POOL_EXHAUSTED,
                        fixed(POOL_EXHAUSTED, f"no free {word} address ({used}/{total} used)."),
                    )
                )
            elif free * 10 < total:
                findings.append(
                    pool_finding(
                        pool,
                        POOL_EXHAUSTED,
                        fixed(POOL_EXHAUSTED, f"{free} of {total} {word} addresses free (under 10%)."),
                        WARNING,
                    )
                )
            detail = used_high(used, total, family, warn_used)
            if detail:
                findings.append(pool_finding(pool, POOL_USED_HIGH, fixed(POOL_USED_HIGH, detail), WARNING))
    return findings


def used_high(used: int, total: int, family: str, warn_used: Optional[int]) -> str:
    """pool-used-high's words for one pool family when check --warn-used's percentage
    is reached (integers: a /64 has 2**64 addresses), else ''. MetalLB's counts and
    Cilium's (cilium_checks.used_high) are both judged here."""
    if warn_used is None or total <= 0 or used * 100 < warn_used * total:
        return ""
    word = FAMILY_WORDS[family]
    return f"{used} of {total} {word} addresses used ({used * 100 // total}%, threshold {warn_used}%)."


def check_full_pools(cluster: Cluster, full_pool_failure) -> List[Finding]:
    """pool-exhausted on each service that names, by the address-pool annotation, a
    pool with no free address for it; with what this MetalLB release says to it
    (`full_pool_failure(cluster, svc) -> (pool, message) or None`)."""
    findings: List[Finding] = []
    for svc in cluster.services:
        if not svc.is_load_balancer or not svc.pool_annotation:
            continue
        failure = full_pool_failure(cluster, svc)
        if failure is None:
            continue
        pool, said = failure
        family, _ = svc.family(cluster.metallb)
        findings.append(
            service_finding(
                svc,
                POOL_EXHAUSTED,
                fixed(
                    POOL_EXHAUSTED,
                    f"pool {pool.name} (its address-pool annotation) has no free "
                    f"{FAMILY_WORDS.get(family or '', 'matching')} address for it; MetalLB "
                    f"{metallb_text(cluster.metallb)} says: {said}.",
                    "named",
                ),
            )
        )
    return findings


def check_dual_stack_pools(cluster: Cluster) -> List[Finding]:
    if cluster.dual_stack_pools():  # first: the usual case, and it spares every service's family
        return []
    dual_services = [s for s in cluster.services if s.is_load_balancer and s.family(cluster.metallb)[0] == DUAL]
    if not dual_services:
        return []
    v4 = [p.name for p in cluster.pools if p.valid and IPV4 in p.families()]
    v6 = [p.name for p in cluster.pools if p.valid and IPV6 in p.families()]
    findings = []
    for svc in dual_services:
        severity = (
            WARNING
            if svc.ip_family_policy == "PreferDualStack" and (svc.request is None or len(svc.request.addresses) < 2)
            else ERROR
        )
        findings.append(
            service_finding(
                svc,
                NO_DUAL_STACK_POOL,
                fixed(
                    NO_DUAL_STACK_POOL,
                    "the service is dual-stack but no pool has both IPv4 and IPv6 "
                    f"ranges (IPv4: {', '.join(v4) or 'none'}; IPv6: {', '.join(v6) or 'none'}); MetalLB "
                    "takes both addresses from one pool.",
                ),
                severity,
            )
        )
    return findings


def not_load_balancer(svc: Service) -> Finding:
    if svc.type == "LoadBalancer":
        return service_finding(
            svc,
            NOT_LOAD_BALANCER,
            f"the service has spec.loadBalancerClass "
            f"{svc.load_balancer_class!r}: another implementation serves it, "
            "not MetalLB (unless its controller runs with that --lb-class)",
        )
    return service_finding(
        svc,
        NOT_LOAD_BALANCER,
        fixed(NOT_LOAD_BALANCER, f"the service is type {svc.type}, not LoadBalancer; MetalLB ignores it."),
    )


def make_request(texts: Sequence[str], how: str = REQUESTED) -> Request:
    text = ",".join(t.strip() for t in texts)
    addresses, invalid = split_request(text)
    return Request(how, text, tuple(addresses), tuple(invalid))


# Characters of a request the plugin writes: two addresses and a comma need at most
# 91 (IPv4-mapped IPv6 text is 45); the rest leaves room for spaces.
MAX_REQUEST_LENGTH = 256


def valid_request(texts: Sequence[str], how: str = REQUESTED) -> Request:
    """A request as annotate takes it and restore puts it back: at most
    MAX_REQUEST_LENGTH characters, every element an IP address (InvalidValue says
    which is not). Whether MetalLB accepts the addresses is check_request's to say."""
    length = len(",".join(texts))  # as written: padding counts
    if length > MAX_REQUEST_LENGTH:
        raise InvalidValue(
            f"{length:,} characters is too long for a list of addresses (at most {MAX_REQUEST_LENGTH}; "
            "one IPv4 and one IPv6 address need at most 91)"
        )
    request = make_request(texts, how)
    if request.invalid:
        raise InvalidValue(f"{', '.join(repr(e) for e in request.invalid)} is not an IP address")
    return request


def sort_findings(findings: Iterable[Finding]) -> List[Finding]:
    order = {ERROR: 0, WARNING: 1}
    return sorted(findings, key=lambda f: (order.get(f.severity, 2), f.kind, f.namespace, f.name, f.code, f.message))

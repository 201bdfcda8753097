"""The one rule engine: each MetalLB rule written once, returning findings.

`check_request` is what MetalLB's controller does with a requested set of
addresses (controller/service.go, then allocator.Assign), in its order;
`annotate` calls it for the addresses it is about to write, `free` for each
suggestion, `migrate` for each migrated request and `check` for every service.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, List, Optional, Sequence

from .addresses import DUAL, IPV4, IPV6, family_of, split_request, to_text
from .cluster import Cluster
from .metallb import text as metallb_text
from .pools import Pool
from .services import (ASSIGNED, CURRENT, DEPRECATED, LB_IPS, REQUESTED, Request, Service,
                       request_family)

ERROR = "error"
WARNING = "warning"

# Stable codes, documented in the README.
POOL_OVERLAP = "pool-overlap"
INVALID_POOL_ADDRESS = "invalid-pool-address"
INVALID_REQUEST = "invalid-request"
NOT_IN_POOL = "not-in-pool"
BUGGY_IP = "buggy-ip"
SPLIT_POOL = "split-pool-dual-stack"
FAMILY_MISMATCH = "family-mismatch"
TOO_MANY = "too-many-addresses"
BOTH_SPEC_AND_ANNOTATION = "both-spec-and-annotation"
ADDRESS_CONFLICT = "address-conflict"
POOL_INCOMPATIBLE = "pool-incompatible"
POOL_ANNOTATION_MISMATCH = "pool-annotation-mismatch"
NO_DUAL_STACK_POOL = "no-dual-stack-pool"
DEPRECATED_ANNOTATION = "deprecated-annotation"
DEPRECATED_LB_IP = "deprecated-loadbalancerip"
PENDING = "pending"
POOL_EXHAUSTED = "pool-exhausted"
NOT_LOAD_BALANCER = "not-loadbalancer"

FAMILY_WORDS = {IPV4: "IPv4", IPV6: "IPv6", DUAL: "dual-stack"}


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


def pool_finding(pool: Pool, code: str, message: str, severity: str = ERROR) -> Finding:
    kind = "ConfigMap" if pool.legacy else "IPAddressPool"
    return Finding(severity, code, kind, pool.namespace, pool.name, message)


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
        return (f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no "
                f"{CURRENT}allow-shared-ip key")
    if a.sharing_key != b.sharing_key:
        return f"sharing keys differ ({a.sharing_key!r} and {b.sharing_key!r})"
    if a.backend_key != b.backend_key:
        return ("backend keys differ: with externalTrafficPolicy Local both must select the "
                f"same pods ({a.backend_key or '<Cluster>'} and {b.backend_key or '<Cluster>'})")
    common = sorted(set(a.ports) & set(b.ports))
    if common:
        return f"both use port {', '.join(map(str, common))}"
    return None


def check_request(cluster: Cluster, svc: Service, request: Request, *,
                  check_conflicts: bool = True, check_admission: bool = True) -> Verdict:
    """Every rule MetalLB applies to a service asking for specific addresses."""
    findings: List[Finding] = []

    def fail(code: str, message: str) -> None:
        findings.append(service_finding(svc, code, message))

    field_name = request.field
    if request.invalid:
        bad = ", ".join(repr(e) for e in request.invalid)
        fail(INVALID_REQUEST, f"{field_name} {request.text!r}: {bad} is not an IP address; MetalLB "
             "allocates nothing for this service. Fix: list IP addresses separated by commas")
        return Verdict(findings)
    addresses = list(request.addresses)
    req_family, why = request_family(addresses)
    if req_family is None:
        fail(TOO_MANY, f"{field_name} {request.text!r}: {why}. Fix: request one address, or one "
             "IPv4 and one IPv6 address for a dual-stack service")
        return Verdict(findings)

    svc_family, why = svc.family(cluster.metallb)
    if svc_family is None:
        fail(FAMILY_MISMATCH, f"cannot tell the service's IP family: {why}")
    elif svc_family != req_family:
        fail(FAMILY_MISMATCH, _family_mismatch_message(field_name, request, svc_family, req_family))

    pools = []
    for addr in addresses:
        pool = cluster.pool_containing(addr)
        if pool is None:
            fail(NOT_IN_POOL, f"{addr} is in no IPAddressPool; MetalLB refuses it ('is not allowed "
                 f"in config'). Fix: pick a free address with 'kubectl lbip free'")
        elif not pool.allocatable(family_of(addr), int(addr)):
            fail(BUGGY_IP, f"{addr} ends in .0 or .255 and pool {pool.name} has avoidBuggyIPs: "
                 "MetalLB never hands it out. Fix: pick another address of the pool")
        else:
            pools.append(pool)
    distinct = {p.name: p for p in pools}
    pool = None
    if len(distinct) > 1:
        names = ", ".join(f"{a} in {p.name}" for a, p in zip(addresses, pools))
        fail(SPLIT_POOL, f"the addresses lie in different pools ({names}); MetalLB takes all the "
             "addresses of a service from one pool. Fix: put both ranges in one IPAddressPool, or "
             "pick a pair from one pool with 'kubectl lbip free'")
    elif len(distinct) == 1 and len(pools) == len(addresses):
        pool = pools[0]
        labels = svc.labels
        if check_admission and not pool.admits(svc.namespace, labels):
            fail(POOL_INCOMPATIBLE, pool.why_not_admitted(svc.namespace, labels) +
                 "; MetalLB refuses ('not compatible for ip assignment'). Fix: pick addresses of a "
                 "pool that serves this service, or extend the pool's serviceAllocation")
    wanted_pool = svc.pool_annotation
    if wanted_pool:
        if cluster.pool(wanted_pool) is None:
            fail(POOL_ANNOTATION_MISMATCH, f"the address-pool annotation names pool {wanted_pool}, "
                 "which does not exist. Fix: name an existing pool or remove the annotation")
        elif pool is not None and pool.name != wanted_pool:
            fail(POOL_ANNOTATION_MISMATCH, f"the address-pool annotation names pool {wanted_pool} "
                 f"but the addresses are in pool {pool.name}; MetalLB refuses. Fix: pick addresses "
                 f"of {wanted_pool}, or change or remove the annotation")

    if check_conflicts:
        for addr in addresses:
            findings.extend(_conflicts_at(cluster, svc, addr))
    return Verdict(findings, pool)


def _conflicts_at(cluster: Cluster, svc: Service, addr) -> List[Finding]:
    """address-conflict for one requested address. On a live cluster MetalLB's
    allocator knows only what it assigned: a service that merely requests the
    address and holds nothing (it is Pending) does not stop MetalLB from giving it
    to this one, so that is a warning, not a refusal. In manifests every request
    is an intention, so there it is an error."""
    family, value = family_of(addr), int(addr)
    holders = {u.service.key for u in cluster.index.uses(family, value) if u.how == ASSIGNED}
    found = []
    for other in cluster.index.services_at(family, value):
        if other.key == svc.key:
            continue
        reason = sharing_conflict(svc, other)
        if not reason:
            continue
        if cluster.observed(other) and other.key not in holders:
            found.append(service_finding(
                svc, ADDRESS_CONFLICT, f"{addr} is also requested by service {other.key}, which "
                f"holds no address (Pending) and may not share it: {reason}. MetalLB gives it to "
                f"this service; {other.key} stays Pending until its request changes", WARNING))
        else:
            found.append(service_finding(
                svc, ADDRESS_CONFLICT, f"{addr} is already held or requested by service "
                f"{other.key} and they may not share it: {reason}. Fix: pick a free address, or "
                "give both the same allow-shared-ip key and distinct ports"))
    return found


def _family_mismatch_message(field_name: str, request: Request, svc_family: str,
                             req_family: str) -> str:
    head = (f"{field_name} {request.text!r} is {FAMILY_WORDS[req_family]} but the service is "
            f"{FAMILY_WORDS[svc_family]} (from its clusterIPs)")
    if req_family == DUAL:
        return (head + "; MetalLB refuses. Fix: request one address, or make the service "
                "dual-stack (ipFamilyPolicy: RequireDualStack or PreferDualStack with ipFamilies "
                "IPv4 and IPv6)")
    if svc_family == DUAL:
        return head + "; MetalLB refuses. Fix: request one IPv4 and one IPv6 address from one pool"
    return head + f"; MetalLB refuses. Fix: request an {FAMILY_WORDS[svc_family]} address"


def check_service(cluster: Cluster, svc: Service) -> List[Finding]:
    """Rules on one service alone (conflicts between services are checked apart)."""
    findings: List[Finding] = []
    for key in svc.deprecated_keys():
        twin = CURRENT + key[len(DEPRECATED):]
        note = ""
        if twin in svc.annotations and svc.annotations[twin] != svc.annotations[key]:
            note = f" MetalLB ignores it because {twin} is also set, to another value."
        findings.append(service_finding(
            svc, DEPRECATED_ANNOTATION, f"{key} is deprecated since MetalLB v0.13.{note} Fix: use "
            f"{twin} ('kubectl lbip migrate' moves it)", WARNING))
    if not svc.is_load_balancer:
        return findings
    if svc.load_balancer_ip:
        findings.append(service_finding(
            svc, DEPRECATED_LB_IP, "spec.loadBalancerIP is deprecated by Kubernetes. Fix: use "
            f"{CURRENT}{LB_IPS} ('kubectl lbip migrate' moves it)", WARNING))
    if svc.has_both_requests:
        findings.append(service_finding(
            svc, BOTH_SPEC_AND_ANNOTATION, f"both {svc.annotation_request.field} and "  # type: ignore[union-attr]
            "spec.loadBalancerIP are set; MetalLB allocates nothing ('service can not have "
            f"both'). Fix: keep one ('kubectl lbip migrate' or 'annotate --clear-spec-ip')"))
    elif svc.request is not None:
        findings.extend(check_request(cluster, svc, svc.request, check_conflicts=False).findings)
    elif svc.pool_annotation and cluster.pool(svc.pool_annotation) is None:
        findings.append(service_finding(
            svc, POOL_ANNOTATION_MISMATCH, f"the address-pool annotation names pool "
            f"{svc.pool_annotation}, which does not exist. Fix: name an existing pool"))
    if cluster.observed(svc) and not svc.ingress:
        reason = cluster.allocation_failures.get(svc.key)
        if reason:
            findings.append(service_finding(svc, PENDING, f"no address assigned; MetalLB said: {reason}"))
        else:
            findings.append(service_finding(
                svc, PENDING, "no address assigned yet (no AllocationFailed event found)", WARNING))
    return findings


def check_conflicts(cluster: Cluster) -> List[Finding]:
    """address-conflict over the whole usage index: one pass over used addresses,
    comparing only the few services that share each one."""
    findings: List[Finding] = []
    for family, value, services in cluster.index.shared():
        text = to_text(family, value)
        for svc in services:
            for other in services:
                if other is svc:
                    continue
                reason = sharing_conflict(svc, other)
                if reason:
                    findings.append(service_finding(
                        svc, ADDRESS_CONFLICT, f"{text} is also held or requested by service "
                        f"{other.key} and they may not share it: {reason}; MetalLB gives it to one "
                        "of them and leaves the other Pending. Fix: move one to a free address, or "
                        "give both the same allow-shared-ip key and distinct ports"))
    return findings


def check_pools(cluster: Cluster) -> List[Finding]:
    findings: List[Finding] = []
    for pool in cluster.pools:
        for error in pool.errors:
            findings.append(pool_finding(pool, INVALID_POOL_ADDRESS, f"{error}; MetalLB rejects its "
                                         "whole configuration. Fix: correct the value"))
    for pool_a, iv_a, pool_b, iv_b in cluster.overlaps:
        where = f"pool {pool_a.name}" if pool_a is pool_b else f"pools {pool_a.name} and {pool_b.name}"
        findings.append(pool_finding(
            pool_b, POOL_OVERLAP, f"{iv_b} overlaps {iv_a} ({where}); MetalLB rejects its whole "
            "configuration and allocates nothing new. Fix: make the ranges disjoint"))
    return findings


def check_capacity(cluster: Cluster, usage) -> List[Finding]:
    """pool-exhausted, from the per-pool counts `usage(pool, family) -> (total, used)`."""
    findings: List[Finding] = []
    for pool in cluster.pools:
        if not pool.valid:
            continue
        for family in pool.families():
            total, used = usage(pool, family)
            if total <= 0:
                continue
            free = total - used
            word = FAMILY_WORDS[family]
            if free <= 0:
                findings.append(pool_finding(pool, POOL_EXHAUSTED, f"no free {word} address "
                                             f"({used}/{total} used). Fix: add a range to the pool"))
            elif free * 10 < total:
                findings.append(pool_finding(pool, POOL_EXHAUSTED, f"{free} of {total} {word} "
                                             "addresses free (under 10%)", WARNING))
    return findings


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
        findings.append(service_finding(
            svc, POOL_EXHAUSTED, f"pool {pool.name} (its address-pool annotation) has no free "
            f"{FAMILY_WORDS.get(family or '', 'matching')} address for it; MetalLB "
            f"{metallb_text(cluster.metallb)} says: {said}. Fix: add a range to the pool, free "
            "an address, or name another pool"))
    return findings


def check_dual_stack_pools(cluster: Cluster) -> List[Finding]:
    dual_services = [s for s in cluster.services
                     if s.is_load_balancer and s.family(cluster.metallb)[0] == DUAL]
    if not dual_services or cluster.dual_stack_pools():
        return []
    v4 = [p.name for p in cluster.pools if p.valid and IPV4 in p.families()]
    v6 = [p.name for p in cluster.pools if p.valid and IPV6 in p.families()]
    findings = []
    for svc in dual_services:
        severity = WARNING if svc.ip_family_policy == "PreferDualStack" and (
            svc.request is None or len(svc.request.addresses) < 2) else ERROR
        findings.append(service_finding(
            svc, NO_DUAL_STACK_POOL, "the service is dual-stack but no pool has both IPv4 and IPv6 "
            f"ranges (IPv4: {', '.join(v4) or 'none'}; IPv6: {', '.join(v6) or 'none'}); MetalLB "
            "takes both addresses from one pool. Fix: one IPAddressPool with an IPv4 and an IPv6 "
            "range", severity))
    return findings


def not_load_balancer(svc: Service) -> Finding:
    if svc.type == "LoadBalancer":
        return service_finding(svc, NOT_LOAD_BALANCER, f"the service has spec.loadBalancerClass "
                               f"{svc.load_balancer_class!r}: another implementation serves it, "
                               "not MetalLB (unless its controller runs with that --lb-class)")
    return service_finding(svc, NOT_LOAD_BALANCER, f"the service is type {svc.type}, not "
                           "LoadBalancer; MetalLB ignores it. Fix: set spec.type: LoadBalancer")


def make_request(texts: Sequence[str], how: str = REQUESTED) -> Request:
    text = ",".join(t.strip() for t in texts)
    addresses, invalid = split_request(text)
    return Request(how, text, tuple(addresses), tuple(invalid))


def sort_findings(findings: Iterable[Finding]) -> List[Finding]:
    order = {ERROR: 0, WARNING: 1}
    return sorted(findings, key=lambda f: (order.get(f.severity, 2), f.kind, f.namespace, f.name, f.code, f.message))

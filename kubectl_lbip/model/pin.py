"""Pinning a batch of services: each LoadBalancer service that requests no address
gets the first suggestion `free --for` would make for it, with every address chosen
earlier in the batch counted as taken (and as shareable, under MetalLB's sharing
rules), so no two services of the batch collide. Services that already request
addresses keep them. Pure: plain model objects in, decisions out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import List, Optional, Sequence

from .cluster import Cluster
from .rules import ERROR, check_request
from .services import CURRENT, LB_IPS, Service
from .suggest import suggest

PINNED = "pinned"  # gets a request now
KEPT = "kept"  # already requests addresses: left as it is
FAILED = "failed"  # no address fits: named with the reason


@dataclass(frozen=True)
class PinDecision:
    namespace: str
    name: str
    status: str
    addresses: tuple = ()
    pool: Optional[str] = None
    why: str = ""  # the suggestion's tier (current, shared, matching, lowest)
    reason: str = ""  # for FAILED; for KEPT, what MetalLB will refuse in the request

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def value(self) -> str:
        """The metallb.io/loadBalancerIPs value (IPv4 first)."""
        return ",".join(self.addresses)

    def to_dict(self) -> dict:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status,
            "pool": self.pool,
            "addresses": list(self.addresses),
            "reason": self.reason or None,
        }


def needs_pin(svc: Service) -> bool:
    """A service MetalLB serves that requests no address (annotation or spec)."""
    return svc.is_load_balancer and not svc.requests()


def working_copy(cluster: Cluster) -> Cluster:
    """A cluster the batch may add its picks to, leaving the caller's untouched."""
    return Cluster(
        list(cluster.pools),
        list(cluster.services),
        dict(cluster.namespace_labels),
        dict(cluster.allocation_failures),
        legacy_config=cluster.legacy_config,
        live=cluster.live,
        planned=cluster.planned,
    )


def pin_batch(cluster: Cluster, targets: Sequence[Service]) -> List[PinDecision]:
    """One decision per LoadBalancer service of ``targets``, in their order; other
    services are left out. The cluster holds every service (the targets among
    them); each pick is added to a working copy before the next service is decided."""
    work = working_copy(cluster)
    decisions: List[PinDecision] = []
    for svc in targets:
        if not svc.is_load_balancer:
            continue
        if not needs_pin(svc):
            request = svc.request
            addresses = tuple(str(a) for a in request.addresses) if request else ()
            pool = work.pool_containing(request.addresses[0]) if request and request.addresses else None
            decisions.append(
                PinDecision(
                    svc.namespace, svc.name, KEPT, addresses, pool.name if pool else None, reason=_refused(work, svc)
                )
            )
            continue
        family, why = svc.family()
        if family is None:
            decisions.append(PinDecision(svc.namespace, svc.name, FAILED, reason=f"cannot tell its IP family: {why}"))
            continue
        found = suggest(work, family, 1, svc)
        if not found.suggestions:
            decisions.append(PinDecision(svc.namespace, svc.name, FAILED, reason=_no_fit(found, len(decisions))))
            continue
        choice = found.suggestions[0]
        decision = PinDecision(svc.namespace, svc.name, PINNED, tuple(choice.addresses), choice.pool, choice.why)
        decisions.append(decision)
        work.add_service(requesting(svc, decision.value))
    return decisions


def requesting(svc: Service, value: str) -> Service:
    """The service as it will be once it carries the request."""
    return dataclasses.replace(svc, annotations={**svc.annotations, CURRENT + LB_IPS: value})


def _refused(cluster: Cluster, svc: Service) -> str:
    """What MetalLB will refuse in a kept request (pin keeps it: `check` says more)."""
    request = svc.request
    if svc.has_both_requests or request is None:
        return "both metallb.io/loadBalancerIPs and spec.loadBalancerIP are set"
    verdict = check_request(cluster, svc, request)
    return "; ".join(f"[{f.code}] {f.message}" for f in verdict.findings if f.severity == ERROR)


def _no_fit(found, earlier: int) -> str:
    parts = ["no free address fits it"]
    if earlier:
        parts[0] += " once the earlier services of this run are pinned"
    parts += [f"pool {p.name} left out: {why}" for p, why in found.excluded]
    parts += found.notes
    return "; ".join(parts)


def apply_pin(obj, value: str, key: str = CURRENT + LB_IPS) -> None:
    """Write the request into a Service object (plain dict or ruamel's round-trip
    map), after its other annotations, under ``key`` (the implementation's request
    key); nothing else of the object changes."""
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = type(obj)()
    if meta.get("annotations") is None:
        meta["annotations"] = type(meta)()
    meta["annotations"][key] = value

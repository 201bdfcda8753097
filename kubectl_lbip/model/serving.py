"""Which implementation serves a service when MetalLB and Cilium LB-IPAM run in
one cluster: each serves the services its class and its settings give it, and a
service both serve has two controllers writing its status (a half-done
migration). Pure: plain settings and services in, answers out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

from . import cilium
from .services import Service

METALLB, CILIUM = "metallb", "cilium"


def metallb_serves(svc: Service, lb_class: str = "") -> Tuple[bool, str]:
    """MetalLB's controller: without --lb-class it serves LoadBalancer services
    that set no loadBalancerClass; with it, only those of that class."""
    if svc.type != "LoadBalancer":
        return False, f"the service is type {svc.type}, not LoadBalancer"
    if (svc.load_balancer_class or "") == lb_class:
        return True, ""
    if lb_class:
        found = svc.load_balancer_class or "unset"
        return False, f"MetalLB runs with --lb-class={lb_class}; the service's loadBalancerClass is {found}"
    return False, f"the service's loadBalancerClass is {svc.load_balancer_class!r}: MetalLB without --lb-class skips it"


@dataclass(frozen=True)
class Installed:
    """Which implementations run in the cluster and how they are set:
    ``metallb`` whether MetalLB's controller runs, ``metallb_lb_class`` its
    --lb-class ("" when unset); ``cilium`` the Cilium operator's settings, or
    None when Cilium LB-IPAM does not run."""

    metallb: bool = False
    metallb_lb_class: str = ""
    cilium: Optional[cilium.Operator] = None

    def serving(self, svc: Service) -> Tuple[str, ...]:
        """The implementations that would try to give the service an address."""
        out = []
        if self.metallb and metallb_serves(svc, self.metallb_lb_class)[0]:
            out.append(METALLB)
        if self.cilium is not None and self.cilium.serves(svc)[0]:
            out.append(CILIUM)
        return tuple(out)

    def why_unserved(self, svc: Service) -> List[str]:
        """Why each installed implementation leaves the service."""
        out = []
        if self.metallb:
            out.append("MetalLB: " + metallb_serves(svc, self.metallb_lb_class)[1])
        if self.cilium is not None:
            out.append("Cilium: " + self.cilium.serves(svc)[1])
        return out

    def contested(self, services: Iterable[Service]) -> List[Service]:
        """LoadBalancer services both would try to serve: two controllers writing
        one status (a half-done migration)."""
        return [s for s in services if len(self.serving(s)) > 1]

    def unserved(self, services: Iterable[Service]) -> List[Tuple[Service, List[str]]]:
        """LoadBalancer services no installed implementation serves, with why."""
        return [(s, self.why_unserved(s)) for s in services if s.type == "LoadBalancer" and not self.serving(s)]

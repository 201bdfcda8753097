"""The questions every load-balancer implementation answers, in one shape.

A sketch for issue 28: commands will hold one ``Implementation`` (MetalLB of a
release, or Cilium LB-IPAM of a release, detected or named with a flag) and ask
it, never branching on which one it is. The MetalLB side is not rewritten: its
adapter below calls the existing rules (model/rules.py, model/suggest.py); the
Cilium side is model/cilium.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Protocol, Sequence, Tuple, runtime_checkable

from . import cilium
from .cluster import Cluster
from .metallb import text as metallb_text
from .rules import ERROR, check_request, make_request, not_load_balancer
from .services import CURRENT, LB_IPS, Service
from .suggest import eligible_pools, metallb_pick


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


@runtime_checkable
class Implementation(Protocol):
    name: str

    def release(self) -> str: ...

    def request_key(self) -> str:
        """The annotation a pinned address is written under."""
        ...

    def serves(self, svc: Service) -> Tuple[bool, str]: ...

    def pool_names_for(self, svc: Service) -> List[str]: ...

    def judge(self, svc: Service, addresses: Optional[Sequence[str]] = None) -> Judgement:
        """The service's own request, or ``addresses`` in its place."""
        ...

    def predict(self, svc: Service) -> Prediction: ...


class MetalLB:
    """The MetalLB rules behind the common questions (an adapter, no new rule)."""

    name = "metallb"

    def __init__(self, cluster: Cluster):
        self.cluster = cluster

    def release(self) -> str:
        return metallb_text(self.cluster.metallb)

    def request_key(self) -> str:
        return CURRENT + LB_IPS

    def serves(self, svc: Service) -> Tuple[bool, str]:
        return (True, "") if svc.is_load_balancer else (False, not_load_balancer(svc).message)

    def pool_names_for(self, svc: Service) -> List[str]:
        return [p.name for p in eligible_pools(self.cluster, svc)[0]]

    def judge(self, svc: Service, addresses: Optional[Sequence[str]] = None) -> Judgement:
        request = make_request(addresses) if addresses is not None else svc.request
        if request is None:
            return Judgement(True)
        verdict = check_request(self.cluster, svc, request)
        return Judgement(verdict.accepted, tuple((f.code, f.message) for f in verdict.findings if f.severity == ERROR))

    def predict(self, svc: Service) -> Prediction:
        pick = metallb_pick(self.cluster, svc)
        return Prediction(tuple(a for a in (pick.ipv4, pick.ipv6) if a), (), pick.note)


class Cilium:
    """Cilium LB-IPAM (model/cilium.py) behind the common questions."""

    name = "cilium"

    def __init__(self, lbipam: cilium.Lbipam):
        self.lbipam = lbipam

    def release(self) -> str:
        return cilium.text(self.lbipam.version)

    def request_key(self) -> str:
        return cilium.ips_key(self.lbipam.version)

    def serves(self, svc: Service) -> Tuple[bool, str]:
        return self.lbipam.operator.serves(svc)

    def pool_names_for(self, svc: Service) -> List[str]:
        return [p.name for p in self.lbipam.pools_for(svc)]

    def judge(self, svc: Service, addresses: Optional[Sequence[str]] = None) -> Judgement:
        verdict = self.lbipam.check_request(svc, addresses)
        return Judgement(verdict.accepted, tuple((o.reason, o.message) for o in verdict.outcomes if not o.ok))

    def predict(self, svc: Service) -> Prediction:
        verdict = self.lbipam.pick(svc)
        addresses = tuple(o.address for o in verdict.outcomes if o.ok and o.address)
        candidates = tuple(c for o in verdict.outcomes for c in o.candidates)
        notes = "; ".join(o.message for o in verdict.outcomes if o.message)
        return Prediction(addresses, candidates, notes)

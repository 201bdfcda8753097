"""MetalLB to Cilium LB-IPAM: the mapping of every object, its lossy points, and
the proof that no service's address moves.

What becomes what (docs/cilium-rules.md has Cilium's side):
- IPAddressPool -> CiliumLoadBalancerIPPool: each address a block (`cidr`, or
  `start`/`stop` for a range); `allowFirstLastIPs: "Yes"` where a cidr block has a
  first and last address to hand out (MetalLB hands them out; Cilium v1.15 does not
  by default); `avoidBuggyIPs` by cutting every .0 and .255 out of the blocks;
  `serviceAllocation.namespaces` (and the namespaces its namespaceSelectors match
  today) as the pseudo-label `io.kubernetes.service.namespace`, one
  `serviceSelectors` entry as the pool's `serviceSelector`; `autoAssign: false`, or
  several serviceSelectors (any of them, which one selector cannot say), as a
  selector on the label POOL_LABEL that only the services of that pool carry.
- Every LoadBalancer service MetalLB serves is labelled POOL_LABEL=<its pool> (the
  pool of what it holds, else of what it requests, else its address-pool
  annotation): the label is how the pools and the announcement policies, which
  cannot select pools, find it. A pool named by an address-pool annotation is made
  exclusive: the other pools' selectors leave its services out (NotIn).
- The request (metallb.io/loadBalancerIPs, metallb.universe.tf/* as `migrate` reads
  them) -> lbipam.cilium.io/ips (io.cilium/lb-ipam-ips for v1.15);
  spec.loadBalancerIP stays (Cilium reads it too); allow-shared-ip -> the sharing
  key, with sharing-cross-namespace naming the other namespaces that use the same
  key (MetalLB shares across namespaces without asking; Cilium v1.16+ needs consent
  on both sides, v1.15 cannot).
- L2Advertisement -> CiliumL2AnnouncementPolicy (services by the pool label,
  nodeSelector, interfaces as anchored regexes); BGPAdvertisement ->
  CiliumBGPAdvertisement (v1.16+); BGP peers are not carried.

The proof: the produced pools and the services as they will be (labels and
annotations added, holding today's addresses) are handed to model/cilium.Lbipam of
the chosen release, which imports the holdings as the operator does at start; each
service must keep exactly what it holds. Every point where the mapping is not
faithful is a Loss with a code of the check catalogue (model/checks.py). Pure."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from . import cilium
from .addresses import FAMILIES, IPV4, Interval, family_bits, family_of, is_buggy, to_text
from .announce import L2ADV, Advertisement
from .checks import (
    BY_CODE,
    ERROR,
    TO_CILIUM_ACCEPTED,
    TO_CILIUM_ADV_POOLS,
    TO_CILIUM_ADV_SELECTORS,
    TO_CILIUM_AUTO_ASSIGN,
    TO_CILIUM_AVOID_BUGGY,
    TO_CILIUM_BGP,
    TO_CILIUM_EXISTING_POOLS,
    TO_CILIUM_INVALID_POOL,
    TO_CILIUM_NAMESPACE_SELECTORS,
    TO_CILIUM_OVERLAP,
    TO_CILIUM_PINNED_UNPROTECTED,
    TO_CILIUM_PRIORITY,
    TO_CILIUM_REFUSED,
    TO_CILIUM_SERVICE_SELECTORS,
    fixed,
)
from .cilium_checks import needs_judging
from .cluster import Cluster
from .metallb import is_controller_image
from .pools import Pool
from .rules import check_request
from .selectors import Selector
from .services import CURRENT, DEPRECATED, METALLB_KEYS, Service

POOL_LABEL = "kubectl-lbip/pool"
# avoidBuggyIPs is kept by cutting .0 and .255 out of a block: past this many
# pieces a pool is not worth it (a /16 is 256 pieces).
MAX_PIECES = 256
NEVER = "kubectl-lbip/never"  # a key no service carries: BGP's "every service" selector

GROUP = "cilium.io"
PLURALS = {
    "CiliumLoadBalancerIPPool": "ciliumloadbalancerippools",
    "CiliumL2AnnouncementPolicy": "ciliuml2announcementpolicies",
    "CiliumBGPAdvertisement": "ciliumbgpadvertisements",
}


def pool_api(version: cilium.Version) -> str:
    """The version Cilium's operator watches its pools in (v2 from v1.18)."""
    return f"{GROUP}/v2" if version >= (1, 18, 0) else f"{GROUP}/v2alpha1"


def bgp_api(version: cilium.Version) -> Optional[str]:
    """CiliumBGPAdvertisement: v2alpha1 in v1.16 and v1.17, v2 from v1.18; None for
    v1.15, whose CRD exists but whose BGP control plane (pkg/bgpv1) never reads it."""
    if version < (1, 16, 0):
        return None
    return f"{GROUP}/v2" if version >= (1, 18, 0) else f"{GROUP}/v2alpha1"


@dataclass(frozen=True)
class Loss:
    """A point where the mapping is not faithful: its catalogue code, what it is
    about (kind and name), and the message ending in the catalogue's fix."""

    code: str
    subject: str
    message: str
    level: str = ""  # where it is not the catalogue's usual severity (its severity_note)

    @property
    def severity(self) -> str:
        return self.level or BY_CODE[self.code].severity

    def to_dict(self, accepted: bool = False) -> Dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "accepted": accepted,
        }


@dataclass
class PoolMapping:
    pool: Any  # the source's pool: MetalLB's Pool (to Cilium), cilium.CiliumPool (back)
    name: str  # the Cilium pool's name ("" when not carried)
    obj: Optional[Dict[str, Any]]
    selects: str  # which services, in words
    losses: List[Loss] = field(default_factory=list)
    exists: bool = False  # an identical pool is there already: nothing to create
    # Cilium's cilium.io/IPsUsed once it holds what the plan says (prove sets it): how
    # the cut-over knows Cilium has adopted the addresses, since Cilium writes no
    # condition on a service whose address it adopts as it is.
    used: Optional[int] = None
    exact: bool = True  # False: an unpredictable pick may add one; ``used`` is the least


@dataclass
class ServiceMapping:
    service: Service  # as it is
    pool: str  # its MetalLB pool ("" when none)
    labels: Dict[str, str]  # added
    annotations: Dict[str, str]  # added (Cilium's keys)
    retired: Tuple[str, ...]  # MetalLB's keys, removed once Cilium holds the addresses
    held: Tuple[str, ...] = ()  # what MetalLB gave it
    after: Tuple[str, ...] = ()  # what the target's status would show (Cilium's here)
    candidates: Tuple[str, ...] = ()  # an automatic pick Cilium makes among these
    losses: List[Loss] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.service.key

    @property
    def kept(self) -> bool:
        """Holds something today and keeps all of it."""
        return bool(self.held) and set(self.held) <= set(self.after)

    @property
    def gained(self) -> Tuple[str, ...]:
        """What Cilium's status would show that MetalLB's does not."""
        return tuple(a for a in self.after if a not in self.held)

    def migrated(self) -> Service:
        svc = self.service
        labels = dict(svc.labels)
        labels.update(self.labels)
        annotations = dict(svc.annotations)
        annotations.update(self.annotations)
        return replace(svc, labels=labels, annotations=annotations, raw=None)


@dataclass
class AdvertisementMapping:
    advertisement: Any  # MetalLB's Advertisement (to Cilium), cilium_explain.L2Policy (back)
    obj: Optional[Dict[str, Any]]
    losses: List[Loss] = field(default_factory=list)


@dataclass
class Plan:
    version: cilium.Version
    pools: List[PoolMapping]
    services: List[ServiceMapping]
    advertisements: List[AdvertisementMapping]
    losses: List[Loss] = field(default_factory=list)  # not about one object (the pools together)

    def objects(self) -> List[Dict[str, Any]]:
        """The Cilium objects to create: pools, then announcement policies and advertisements."""
        out = [m.obj for m in self.pools if m.obj is not None and not m.exists]
        return out + [m.obj for m in self.advertisements if m.obj is not None]

    def all_losses(self) -> List[Loss]:
        found = list(self.losses)
        for m in self.pools:
            found += m.losses
        for a in self.advertisements:
            found += a.losses
        for s in self.services:
            found += s.losses
        return found

    def blocking(self, accepted: Sequence[str] = ()) -> List[Loss]:
        """The errors not accepted by name: what makes the migration exit 1."""
        return [x for x in self.all_losses() if x.severity == ERROR and x.code not in accepted]

    def unproven(self) -> List[ServiceMapping]:
        """Services holding an address that Cilium would not keep exactly."""
        return [s for s in self.services if s.held and not s.kept]


# --------------------------------------------------------------------------
# pools


def _block(iv: Interval) -> Dict[str, str]:
    size = iv.size
    aligned = size & (size - 1) == 0 and iv.first % size == 0
    if aligned:
        prefix = family_bits(iv.family) - size.bit_length() + 1
        return {"cidr": f"{to_text(iv.family, iv.first)}/{prefix}"}
    return {"start": to_text(iv.family, iv.first), "stop": to_text(iv.family, iv.last)}


def without_buggy(iv: Interval, limit: int = MAX_PIECES) -> Optional[List[Interval]]:
    """The pieces of an IPv4 interval without its .0 and .255 addresses (MetalLB's
    avoidBuggyIPs), or None past ``limit`` pieces."""
    if iv.family != IPV4:
        return [iv]
    pieces: List[Interval] = []
    start = iv.first
    while start <= iv.last:
        while start <= iv.last and is_buggy(IPV4, start):
            start += 1
        if start > iv.last:
            break
        end = min(iv.last, (start | 0xFF) - 1)  # up to .254 of this /24
        pieces.append(Interval(IPV4, start, end))
        if len(pieces) > limit:
            return None
        start = end + 1
    return pieces


def selector_dict(labels: Dict[str, str], expressions: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    out: Dict[str, Any] = {}
    if labels:
        out["matchLabels"] = dict(sorted(labels.items()))
    if expressions:
        out["matchExpressions"] = expressions
    return out or None


def expression(key: str, op: str, values: Sequence[str] = ()) -> Dict[str, Any]:
    expr: Dict[str, Any] = {"key": key, "operator": op}
    if op in ("In", "NotIn"):
        expr["values"] = list(values)
    return expr


def _merge(selector: Selector, labels: Dict[str, str], expressions: List[Dict[str, Any]]) -> None:
    labels.update(dict(selector.match_labels))
    for key, op, values in selector.expressions:
        expressions.append(expression(key, op, values))


def unique_name(name: str, taken: Set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name[:58]}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _membership(pool: Pool) -> str:
    """Why a pool selects its services by the pool label, or ''."""
    if not pool.auto_assign:
        return TO_CILIUM_AUTO_ASSIGN
    if pool.allocation and len(pool.allocation.service_selectors) > 1:
        return TO_CILIUM_SERVICE_SELECTORS
    return ""


def map_pool(pool: Pool, name: str, exclusive: Sequence[str], version: cilium.Version) -> PoolMapping:
    """One IPAddressPool as a CiliumLoadBalancerIPPool; ``exclusive``: the pools named
    by address-pool annotations, whose services this pool must leave out."""
    subject = f"IPAddressPool {pool.namespace}/{pool.name}" if pool.namespace else f"pool {pool.name}"
    losses: List[Loss] = []
    if not pool.valid:
        msg = fixed(TO_CILIUM_INVALID_POOL, f"{'; '.join(pool.errors)}: MetalLB cannot use it, so it is not carried.")
        return PoolMapping(pool, "", None, "", [Loss(TO_CILIUM_INVALID_POOL, subject, msg)])
    blocks: List[Dict[str, str]] = []
    for iv in pool.intervals:
        pieces = without_buggy(iv) if pool.avoid_buggy_ips else [iv]
        if pieces is None:
            pieces = [iv]
            detail = f"{iv} would need more than {MAX_PIECES} blocks to leave out its .0 and .255 addresses."
            losses.append(Loss(TO_CILIUM_AVOID_BUGGY, subject, fixed(TO_CILIUM_AVOID_BUGGY, detail, pool=pool.name)))
        blocks += [_block(p) for p in pieces]
    spec: Dict[str, Any] = {"blocks": blocks}
    if any("cidr" in b and not b["cidr"].endswith(("/32", "/31", "/128", "/127")) for b in blocks):
        spec["allowFirstLastIPs"] = "Yes"  # MetalLB hands out a CIDR's first and last address
    alloc = pool.allocation
    labels: Dict[str, str] = {}
    expressions: List[Dict[str, Any]] = []
    why = _membership(pool)
    if why:
        labels[POOL_LABEL] = pool.name
        selects = f"services labelled {POOL_LABEL}={pool.name}"
    if why == TO_CILIUM_AUTO_ASSIGN:
        detail = (
            f"autoAssign: false: the pool selects only the services labelled {POOL_LABEL}={pool.name} "
            "(those pinned to it today); a new service must carry the label, an address of the pool or "
            "the address-pool annotation is not enough."
        )
        losses.append(Loss(TO_CILIUM_AUTO_ASSIGN, subject, fixed(TO_CILIUM_AUTO_ASSIGN, detail, pool=pool.name)))
    elif why == TO_CILIUM_SERVICE_SELECTORS:
        detail = (
            f"serviceAllocation.serviceSelectors has {len(alloc.service_selectors)} selectors (any of "  # type: ignore[union-attr]
            f"them); one serviceSelector cannot say that, so the pool selects the services labelled "
            f"{POOL_LABEL}={pool.name} (those it serves today)."
        )
        code = TO_CILIUM_SERVICE_SELECTORS
        losses.append(Loss(code, subject, fixed(code, detail, pool=pool.name)))
    if not why:
        words = []
        if alloc and alloc.namespaces:
            expressions.append(expression(cilium.NAMESPACE_LABEL, "In", sorted(alloc.namespaces)))
            words.append("namespaces " + ",".join(sorted(alloc.namespaces)))
        if alloc and alloc.service_selectors:
            _merge(alloc.service_selectors[0], labels, expressions)
            words.append(f"labels {alloc.service_selectors[0]}")
        others = sorted(p for p in exclusive if p != pool.name)
        if others:
            expressions.append(expression(POOL_LABEL, "NotIn", others))
            words.append(f"not labelled for {','.join(others)}")
        selects = "services of " + "; ".join(words) if words else "every service"
    if alloc and alloc.namespace_selectors:
        detail = (
            f"serviceAllocation.namespaceSelectors ({'; '.join(map(str, alloc.namespace_selectors))}) become "
            f"the namespaces they match today ({', '.join(sorted(alloc.namespaces)) or 'none'}); a namespace "
            "labelled later is not served."
        )
        code = TO_CILIUM_NAMESPACE_SELECTORS
        losses.append(Loss(code, subject, fixed(code, detail, pool=pool.name)))
    if alloc and alloc.priority:
        detail = (
            f"serviceAllocation.priority {alloc.priority} has no equivalent: where several pools serve a new "
            "service, Cilium tries them in an order the objects do not show."
        )
        losses.append(Loss(TO_CILIUM_PRIORITY, subject, fixed(TO_CILIUM_PRIORITY, detail, pool=pool.name)))
    selector = selector_dict(labels, expressions)
    if selector:
        spec["serviceSelector"] = selector
    obj = {
        "apiVersion": pool_api(version),
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kubectl-lbip"}},
        "spec": spec,
    }
    return PoolMapping(pool, name, obj, selects, losses)


# --------------------------------------------------------------------------
# services


def served(svc: Service) -> bool:
    """A service MetalLB serves (LoadBalancer, no loadBalancerClass)."""
    return svc.is_load_balancer


def pool_of(cluster: Cluster, svc: Service) -> str:
    """The MetalLB pool a service belongs to: of what it requests, else of what it
    holds, else the one its address-pool annotation names ('' for none)."""
    request = svc.request
    for addr in (request.addresses if request else ()) + tuple(svc.held()):
        found = cluster.pool_containing(addr)
        if found is not None:
            return found.name
    named = svc.pool_annotation
    return named if named and cluster.pool(named) is not None else ""


def _sharing_namespaces(services: Sequence[Service]) -> Dict[str, List[str]]:
    """Sharing key -> the namespaces of the served services that carry it."""
    found: Dict[str, Set[str]] = {}
    for svc in services:
        if svc.sharing_key:
            found.setdefault(svc.sharing_key, set()).add(svc.namespace)
    return {k: sorted(v) for k, v in found.items()}


def map_service(svc: Service, pool: str, sharing: Dict[str, List[str]], version: cilium.Version) -> ServiceMapping:
    keys = cilium.annotation_keys(version)
    annotations: Dict[str, str] = {}
    request = svc.annotation_request
    if request is not None:
        annotations[keys["ips"][0]] = request.text
    if svc.sharing_key:
        annotations[keys["sharing-key"][0]] = svc.sharing_key
        others = [ns for ns in sharing.get(svc.sharing_key, []) if ns != svc.namespace]
        if others and "sharing-cross-namespace" in keys:
            annotations[keys["sharing-cross-namespace"][0]] = ",".join(others)
    retired = tuple(
        prefix + key for key in METALLB_KEYS for prefix in (CURRENT, DEPRECATED) if prefix + key in svc.annotations
    )
    labels = {POOL_LABEL: pool} if pool else {}
    labels = {k: v for k, v in labels.items() if svc.labels.get(k) != v}
    annotations = {k: v for k, v in annotations.items() if svc.annotations.get(k) != v}
    held = tuple(str(a) for a in svc.held())
    return ServiceMapping(svc, pool, labels, annotations, retired, held)


# --------------------------------------------------------------------------
# advertisements


def _advertised_pools(cluster: Cluster, adv: Advertisement) -> List[str]:
    labels = cluster.network.pool_labels if cluster.network is not None else {}
    return [p.name for p in cluster.pools if p.valid and adv.selects_pool(p.name, labels.get(p.name) or {})]


def _service_selector(
    cluster: Cluster, adv: Advertisement, subject: str, losses: List[Loss]
) -> Tuple[Dict[str, str], List[Dict[str, Any]]]:
    labels: Dict[str, str] = {}
    expressions: List[Dict[str, Any]] = []
    if not adv.selects_every_pool:
        pools = _advertised_pools(cluster, adv)
        expressions.append(expression(POOL_LABEL, "In", pools))
        detail = (
            f"it selects pools ({', '.join(pools) or 'none'}), which Cilium's policies cannot: it selects the "
            f"services labelled {POOL_LABEL} in ({', '.join(pools)}); a new service of these pools is "
            "announced only with that label."
        )
        losses.append(Loss(TO_CILIUM_ADV_POOLS, subject, fixed(TO_CILIUM_ADV_POOLS, detail)))
    if adv.service_selectors:
        _merge(adv.service_selectors[0], labels, expressions)
        if len(adv.service_selectors) > 1:
            detail = f"{len(adv.service_selectors)} serviceSelectors (any of them): only the first is carried."
            losses.append(Loss(TO_CILIUM_ADV_SELECTORS, subject, fixed(TO_CILIUM_ADV_SELECTORS, detail)))
    return labels, expressions


def _node_selector(adv: Advertisement, subject: str, losses: List[Loss]) -> Optional[Dict[str, Any]]:
    if not adv.node_selectors:
        return None
    if len(adv.node_selectors) > 1:
        detail = f"{len(adv.node_selectors)} nodeSelectors (any of them): only the first is carried."
        losses.append(Loss(TO_CILIUM_ADV_SELECTORS, subject, fixed(TO_CILIUM_ADV_SELECTORS, detail)))
    labels: Dict[str, str] = {}
    expressions: List[Dict[str, Any]] = []
    _merge(adv.node_selectors[0], labels, expressions)
    return selector_dict(labels, expressions)


def map_advertisement(cluster: Cluster, adv: Advertisement, name: str, version: cilium.Version) -> AdvertisementMapping:
    subject = f"{adv.kind} {adv.namespace}/{adv.name}" if adv.namespace else f"{adv.kind} {adv.name}"
    losses: List[Loss] = []
    labels, expressions = _service_selector(cluster, adv, subject, losses)
    managed = {"app.kubernetes.io/managed-by": "kubectl-lbip"}
    meta: Dict[str, Any] = {"name": name, "labels": managed}
    if adv.kind == L2ADV:
        spec: Dict[str, Any] = {}
        selector = selector_dict(labels, expressions)
        if selector:
            spec["serviceSelector"] = selector
        nodes = _node_selector(adv, subject, losses)
        if nodes:
            spec["nodeSelector"] = nodes
        if adv.interfaces:
            spec["interfaces"] = ["^" + re.escape(i) + "$" for i in adv.interfaces]
        spec["loadBalancerIPs"] = True
        spec["externalIPs"] = False
        obj = {"apiVersion": f"{GROUP}/v2alpha1", "kind": "CiliumL2AnnouncementPolicy", "metadata": meta, "spec": spec}
        return AdvertisementMapping(adv, obj, losses)
    api = bgp_api(version)
    left = []
    if adv.peers:
        left.append(f"peers {', '.join(adv.peers)}")
    if adv.aggregation_length is not None or adv.aggregation_length_v6 is not None:
        left.append("aggregationLength")
    if adv.node_selectors:
        left.append("nodeSelectors (a CiliumBGPClusterConfig chooses the nodes)")
    left.append("communities and localPref, if any")
    if api is None:
        detail = (
            f"Cilium {cilium.text(version)} ships the CiliumBGPAdvertisement CRD but its BGP control plane reads "
            "CiliumBGPPeeringPolicy only (advertisements act from v1.16): nothing is made."
        )
        losses.append(Loss(TO_CILIUM_BGP, subject, fixed(TO_CILIUM_BGP, detail), ERROR))
        return AdvertisementMapping(adv, None, losses)
    detail = (
        f"the services' addresses are advertised; not carried: {'; '.join(left)}; BGP peering is out of "
        "scope (CiliumBGPClusterConfig, CiliumBGPPeerConfig)."
    )
    losses.append(Loss(TO_CILIUM_BGP, subject, fixed(TO_CILIUM_BGP, detail)))
    if not labels and not expressions:
        expressions = [expression(NEVER, "NotIn", ["never"])]  # Cilium's way to say every service
    managed["advertise"] = "bgp"  # what a CiliumBGPPeerConfig's advertisements selector usually matches
    advertisement = {
        "advertisementType": "Service",
        "service": {"addresses": ["LoadBalancerIP"]},
        "selector": selector_dict(labels, expressions),
    }
    obj = {
        "apiVersion": api,
        "kind": "CiliumBGPAdvertisement",
        "metadata": meta,
        "spec": {"advertisements": [advertisement]},
    }
    return AdvertisementMapping(adv, obj, losses)


# --------------------------------------------------------------------------
# the plan and its proof


def plan(
    cluster: Cluster,
    version: cilium.Version = cilium.NEWEST,
    operator: Optional[cilium.Operator] = None,
    existing: Sequence[Mapping[str, Any]] = (),
) -> Plan:
    """The whole mapping of a cluster (or of manifests) to Cilium ``version``, proven
    against model/cilium's rules of that release. ``existing``: the
    CiliumLoadBalancerIPPool objects already there (shape-checked): one identical to
    a pool the plan makes is that pool, made already; the others take part in the
    proof as the older pools they are."""
    operator = operator or cilium.Operator(version=version)
    services = sorted((s for s in cluster.services if served(s)), key=lambda s: (s.namespace, s.name))
    exclusive = sorted({s.pool_annotation for s in services if s.pool_annotation and cluster.pool(s.pool_annotation)})
    pools = _map_pools(cluster, exclusive, version, set())
    made = {m.name: m.obj["spec"] for m in pools if m.obj is not None}
    same = {_name(o) for o in existing if _name(o) in made and (o.get("spec") or {}) == made[_name(o)]}
    others = [o for o in existing if _name(o) not in same]
    if any(_name(o) in made for o in others):  # a name taken by another pool: ours are renamed
        pools = _map_pools(cluster, exclusive, version, {_name(o) for o in others})
    for m in pools:
        m.exists = m.name in same
    sharing = _sharing_namespaces(services)
    mappings = [map_service(s, pool_of(cluster, s), sharing, version) for s in services]
    advertisements = []
    if cluster.network is not None:
        names: Set[str] = set()
        for adv in cluster.network.advertisements:
            advertisements.append(map_advertisement(cluster, adv, unique_name(adv.name, names), version))
    result = Plan(version, pools, mappings, advertisements)
    if others:
        listed = ", ".join(sorted(_name(o) for o in others)[:5]) + (" and more" if len(others) > 5 else "")
        detail = (
            f"CiliumLoadBalancerIPPools exist already ({listed}): where Cilium's operator runs, its LB-IPAM is "
            "awake and serves services now, beside MetalLB; the proof counts them as the older pools."
        )
        result.losses.append(
            Loss(TO_CILIUM_EXISTING_POOLS, "CiliumLoadBalancerIPPools", fixed(TO_CILIUM_EXISTING_POOLS, detail))
        )
    prove(cluster, result, operator, existing)
    return result


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _map_pools(
    cluster: Cluster, exclusive: Sequence[str], version: cilium.Version, taken: Set[str]
) -> List[PoolMapping]:
    names = set(taken)
    return [map_pool(p, unique_name(p.name, names), exclusive, version) for p in cluster.pools]


# What the proof takes as the creation time of a pool not made yet: after any that exists.
NOT_YET = "9999-12-31T23:59:59Z"


def prove(
    cluster: Cluster, result: Plan, operator: cilium.Operator, existing: Sequence[Mapping[str, Any]] = ()
) -> None:
    """Hand the pools (those that exist, and those the plan makes, as newer) and the
    services as they will be to Cilium's rules, and name each service that would not keep exactly
    what it holds."""
    cilium_pools = [cilium.pool_from_object(o) for o in existing]
    made_pools = []
    for made in result.pools:
        if made.obj is not None and not made.exists:  # one that exists is among ``existing``
            pool = cilium.pool_from_object(made.obj)
            pool.created = pool.created or NOT_YET
            cilium_pools.append(pool)
            made_pools.append((made, pool))
    lbipam = cilium.Lbipam(cilium_pools, [m.migrated() for m in result.services], operator)
    for name, conflict in sorted(lbipam.conflicts.items()):
        detail = (
            f"CiliumLoadBalancerIPPool {name}: {conflict.range} overlaps {conflict.other_range} of {conflict.other}."
        )
        result.losses.append(Loss(TO_CILIUM_OVERLAP, f"pool {name}", fixed(TO_CILIUM_OVERLAP, detail)))
    views = {v.key: v for v in lbipam.views}
    stray: Dict[str, List[str]] = {}
    for view, addr, reason in lbipam.stray:
        holder = lbipam.allocations.get((family_of(addr), int(addr)))
        for other in holder.services if holder is not None else ():
            why = cilium.sharing_conflict(other, view, operator.version)
            if why:
                reason = (
                    f"{other.key} holds it and Cilium {cilium.text(operator.version)} does not let them share it: {why}"
                )
                break
        stray.setdefault(view.key, []).append(f"{addr}: {reason}")
    for m in result.services:
        svc = m.migrated()
        serves, why_not = operator.serves(svc)
        subject = f"service {m.key}"
        if not serves:
            if m.held:
                detail = f"holds {', '.join(m.held)}, and Cilium would not serve it: {why_not}."
                m.losses.append(Loss(TO_CILIUM_REFUSED, subject, fixed(TO_CILIUM_REFUSED, detail)))
            continue
        shown, verdict = cilium_status(lbipam, views.get(m.key), svc)
        m.after = shown
        m.candidates = tuple(c for o in verdict.outcomes for c in o.candidates)
        metallb = _metallb_refusal(cluster, m.service)
        lost = [a for a in m.held if a not in shown]
        if lost:
            reasons = stray.get(m.key) or [verdict.message or "Cilium's rules do not give it back"]
            moved = [a for a in shown if a not in m.held]
            then = f"; it would get {', '.join(moved)} instead" if moved else ""
            detail = f"holds {', '.join(lost)}, which Cilium would not keep ({'; '.join(reasons)}){then}."
            m.losses.append(Loss(TO_CILIUM_REFUSED, subject, fixed(TO_CILIUM_REFUSED, detail)))
        elif not verdict.accepted and metallb is None and m.service.request is not None:
            detail = f"MetalLB accepts its request; Cilium would report {verdict.reason}: {verdict.message}."
            m.losses.append(Loss(TO_CILIUM_REFUSED, subject, fixed(TO_CILIUM_REFUSED, detail)))
        gained = [a for a in shown if a not in m.held]
        if gained and not lost and ((m.held and m.service.observed) or metallb):
            if m.held:
                before = f"MetalLB gave it {', '.join(m.held)}"
            else:
                before = f"MetalLB refuses its request ({metallb})"
            detail = f"{before}; Cilium would give it {', '.join(gained)}."
            m.losses.append(Loss(TO_CILIUM_ACCEPTED, subject, fixed(TO_CILIUM_ACCEPTED, detail)))
    _pinned_at_risk(result, lbipam)
    _expected_counts(result, lbipam, made_pools)


def _expected_counts(result: Plan, lbipam: cilium.Lbipam, made: Sequence[Tuple[PoolMapping, Any]]) -> None:
    """Each created pool's cilium.io/IPsUsed once Cilium holds what the plan says:
    the addresses of its ranges held (reserved first/last ones too, a shared one
    once) and those it will hand out. A pool that an unpredictable pick (several
    candidates) may draw from gets the least it will show, not exact: kubectl's wait
    cannot say "at least", --apply can."""
    shown: Set[Tuple[str, int]] = set()
    open_picks: Set[Tuple[str, int]] = set()
    for m in result.services:
        target = open_picks if m.candidates else shown
        for text in m.candidates or m.after:
            addr = cilium.parse_addr(text)
            if addr is not None:
                target.add((family_of(addr), int(addr)))
    for mapping, pool in made:
        values: Set[Tuple[str, int]] = set()
        uncertain = False
        for rng in lbipam.ranges:
            if rng.pool != pool.name:
                continue
            values.update((rng.family, v) for v in lbipam.used_values(rng))
            values.update(a for a in shown if a[0] == rng.family and rng.interval.contains(a[1]))
            uncertain = uncertain or any(a[0] == rng.family and rng.interval.contains(a[1]) for a in open_picks)
        mapping.used, mapping.exact = len(values), not uncertain


def cilium_status(
    lbipam: cilium.Lbipam, v: Optional[cilium.View], svc: Service
) -> Tuple[Tuple[str, ...], cilium.Verdict]:
    """lbipam.satisfy(svc), without its work for a service that keeps everything it
    asks for (most of them: the operator then allocates nothing), so that a plan
    over thousands of services stays linear."""
    if v is not None and not needs_judging(lbipam, v):
        return tuple(str(a) for a in dict.fromkeys(v.held) if lbipam.holds(v, a)), cilium.Verdict(())
    if v is not None and not any(lbipam.holds(v, a) for a in v.held):
        # nothing kept: satisfy's answer is check_request's (each requested address,
        # or a pick per family), without satisfy's search for the view among all
        verdict = lbipam.check_request(svc)
        return tuple(o.address for o in verdict.outcomes if o.ok and o.address), verdict
    return lbipam.satisfy(svc)


def _metallb_refusal(cluster: Cluster, svc: Service) -> Optional[str]:
    """Why MetalLB's rules refuse the service's request (its first error), else None."""
    request = svc.request
    if request is None:
        return None
    verdict = check_request(cluster, svc, request)
    if verdict.accepted:
        return None
    first = next(f for f in verdict.findings if f.severity == ERROR)
    return f"{first.code}: {first.message.split(' Fix: ')[0]}"


def _pinned_at_risk(result: Plan, lbipam: cilium.Lbipam) -> None:
    """A pinned address its service does not hold yet, inside a range an automatic
    request of another service draws from: whichever the operator handles first
    gets it. The services each range serves automatically are found once per range."""
    views = {v.key: v for v in lbipam.views}
    automatic = [
        v
        for v in lbipam.views
        if not v.requested and any(v.wants(f) and not any(family_of(a) == f for a in v.held) for f in FAMILIES)
    ]
    rivals_of: Dict[int, List[str]] = {}

    def rivals(index: int) -> List[str]:
        if index not in rivals_of:
            rng = lbipam.ranges[index]
            pool = lbipam.pool(rng.pool)
            rivals_of[index] = [
                w.key for w in automatic if w.wants(rng.family) and pool is not None and pool.selects(w.labels)
            ]
        return rivals_of[index]

    for m in result.services:
        v = views.get(m.key)
        if v is None or not v.requested:
            continue
        for addr in v.requested:
            if lbipam.holds(v, addr):
                continue
            family, value = family_of(addr), int(addr)
            found: List[str] = []
            for i, rng in enumerate(lbipam.ranges):
                if not rng.disabled and rng.family == family and rng.interval.contains(value):
                    found += [k for k in rivals(i) if k != v.key and k not in found]
            if found:
                detail = (
                    f"requests {addr}, which it does not hold yet, and automatic allocation for "
                    f"{', '.join(found[:3])}{' and others' if len(found) > 3 else ''} draws from the same range."
                )
                code = TO_CILIUM_PINNED_UNPROTECTED
                m.losses.append(Loss(code, f"service {m.key}", fixed(code, detail)))


# --------------------------------------------------------------------------
# the cut-over, as kubectl commands


@dataclass(frozen=True)
class Step:
    title: str
    commands: Tuple[str, ...]

    def to_dict(self) -> Dict[str, Any]:
        return {"step": self.title, "commands": list(self.commands)}


def quote(text: str) -> str:
    return shlex.quote(text)


def pairs(values: Dict[str, str]) -> str:
    return " ".join(quote(f"{k}={v}") for k, v in sorted(values.items()))


def metallb_namespace(cluster: Cluster) -> str:
    """Where MetalLB's objects live: the namespace most pools are in."""
    counts: Dict[str, int] = {}
    for p in cluster.pools:
        if p.namespace:
            counts[p.namespace] = counts.get(p.namespace, 0) + 1
    return max(sorted(counts), key=counts.__getitem__) if counts else "metallb-system"


def cutover(result: Plan, namespace: str, objects_file: str) -> List[Step]:
    """The order that never has two controllers serving one service: the services
    get Cilium's labels and keys first (MetalLB ignores them); MetalLB's controller
    stops; only then the Cilium pools are made, all at once (Cilium's LB-IPAM wakes
    with its first pool and strips what no pool covers); each service's condition is
    awaited; MetalLB's objects and keys go last. A LoadBalancer service's
    loadBalancerClass cannot change, so moving the services by class is not offered."""
    label, annotate, retire = [], [], []
    for m in result.services:
        where = f"kubectl -n {quote(m.service.namespace)}"
        if m.labels:
            label.append(f"{where} label service {quote(m.service.name)} {pairs(m.labels)}")
        if m.annotations:
            annotate.append(f"{where} annotate service {quote(m.service.name)} {pairs(m.annotations)}")
        if m.retired:
            keys = " ".join(quote(k + "-") for k in m.retired)
            retire.append(f"{where} annotate service {quote(m.service.name)} {keys}")
    # Cilium writes cilium.io/IPAMRequestSatisfied only on a service it had to satisfy
    # itself (a second sharer, a new pick), never on one whose address it adopts as it
    # is (its stripOrImportIngresses; seen on its operator v1.19.0): what tells that it
    # holds the addresses is each pool's cilium.io/IPsUsed reaching the plan's count.
    waits = tuple(
        f"kubectl wait --for=jsonpath={quote(used_path(cilium.IPS_USED))}={m.used} "
        f"ciliumloadbalancerippool/{quote(m.name)} --timeout=2m"
        for m in result.pools
        if m.obj is not None and not m.exists and m.used is not None and m.exact
    )
    kinds = "ipaddresspools.metallb.io,l2advertisements.metallb.io,bgpadvertisements.metallb.io"
    return [
        Step("label and annotate the services (MetalLB ignores Cilium's keys)", tuple(label + annotate)),
        Step(
            "stop MetalLB's controller (the name of its Deployment in a Helm install is metallb-controller)",
            (f"kubectl -n {quote(namespace)} scale deployment controller --replicas=0",),
        ),
        Step("create every Cilium object at once", (f"kubectl apply -f {quote(objects_file)}",)),
        Step("wait until Cilium holds each service's addresses (its pools count them)", waits),
        Step(
            "remove MetalLB's pools, advertisements and keys (uninstall MetalLB once Cilium announces)",
            (f"kubectl -n {quote(namespace)} delete {kinds} --all",) + tuple(retire),
        ),
    ]


# --------------------------------------------------------------------------
# manifests: a Service object changed where it stands


def used_path(condition: str) -> str:
    """The JSONPath of a pool condition's message (where Cilium writes its counts)."""
    return f'{{.status.conditions[?(@.type=="{condition}")].message}}'


def apply_to_object(obj: Any, mapping: ServiceMapping) -> bool:
    """Add the mapping's labels and annotations to a Service object (a dict, or
    ruamel's round-trip map: comments and key order stay; the new keys come last).
    MetalLB's keys stay until the cut-over's last step. Whether anything changed."""
    changed = False
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = type(obj)()
    for place, values in (("labels", mapping.labels), ("annotations", mapping.annotations)):
        if not values:
            continue
        if meta.get(place) is None:
            meta[place] = type(meta)()
        for key, value in values.items():
            if meta[place].get(key) != value:
                meta[place][key] = value
                changed = True
    return changed


def plan_document(result: Plan, accepted: Sequence[str], steps: Sequence[Step]) -> Dict[str, Any]:
    """The plan as data (-o json|yaml)."""
    losses = result.all_losses()
    return {
        "cilium": cilium.text(result.version),
        "pools": [
            {
                "metallb": m.pool.name,
                "cilium": m.name,
                "blocks": (m.obj or {}).get("spec", {}).get("blocks", []),
                "selects": m.selects,
                "ipsUsed": m.used,  # Cilium's count once it holds what the plan says
                "ipsUsedExact": m.exact,  # false: at least that (an unpredictable pick)
            }
            for m in result.pools
        ],
        "services": [
            {
                **service_entry(m, "cilium"),
                "labels": m.labels,
                "annotations": m.annotations,
                "candidates": list(m.candidates),
            }
            for m in result.services
        ],
        "losses": [x.to_dict(x.code in accepted) for x in losses],
        "objects": result.objects(),
        "steps": [s.to_dict() for s in steps],
        "summary": summary(result, accepted),
    }


def service_entry(m: ServiceMapping, target: str) -> Dict[str, Any]:
    """A service in a plan's data: what it holds, what ``target`` (the implementation
    moved to) would show, whether it keeps it and what it gains."""
    return {
        "namespace": m.service.namespace,
        "name": m.service.name,
        "pool": m.pool,
        "holds": list(m.held),
        target: list(m.after),
        "keeps": m.kept if m.held else None,
        "gains": list(m.gained),
    }


def summary(result: Plan, accepted: Sequence[str]) -> Dict[str, int]:
    holding = [m for m in result.services if m.held]
    return {
        "services": len(result.services),
        "keep": sum(m.kept for m in holding),
        "move": len(holding) - sum(m.kept for m in holding),
        "holdNothing": len(result.services) - len(holding),
        "gain": sum(bool(m.gained) for m in result.services if m.service.observed),
        "pools": sum(m.obj is not None for m in result.pools),
        "errors": len(result.blocking(accepted)),
    }


# --------------------------------------------------------------------------
# --apply: the decisions on what the cluster says between the steps


def drift(mapping: ServiceMapping, current: Service) -> str:
    """What changed in a service since the plan was made that the plan depends on
    (what it holds and requests, its sharing key and pool annotation), or ''."""
    before, now = mapping.service, current
    if set(before.held()) != set(now.held()):
        held = ", ".join(map(str, now.held())) or "nothing"
        return f"it held {', '.join(mapping.held) or 'nothing'} and now holds {held}"
    for what, old, new in (
        ("its request", before.request.text if before.request else "", now.request.text if now.request else ""),
        ("its sharing key", before.sharing_key, now.sharing_key),
        ("its address-pool annotation", before.pool_annotation, now.pool_annotation),
    ):
        if old != new:
            return f"{what} was {old or 'none'!r} and is now {new or 'none'!r}"
    return ""


def service_patch(mapping: ServiceMapping, current: Service) -> Optional[Dict[str, Any]]:
    """The merge patch giving a service (as it is now) the mapping's labels and keys,
    on its current resourceVersion; None when it has them already."""
    labels = {k: v for k, v in mapping.labels.items() if current.labels.get(k) != v}
    annotations = {k: v for k, v in mapping.annotations.items() if current.annotations.get(k) != v}
    if not labels and not annotations:
        return None
    meta: Dict[str, Any] = {"resourceVersion": current.resource_version}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta}


SATISFIED, WAITING, MOVED = "satisfied", "waiting", "moved"


def pools_counted(result: Plan, used: Mapping[str, Optional[int]]) -> str:
    """'' when every pool the plan creates shows the IPsUsed the plan predicts (at
    least it, where an unpredictable pick may add one) (``used``: what Cilium wrote,
    by pool name; None: no count yet), else the words for those that do not."""
    late = []
    for m in result.pools:
        if m.obj is None or m.exists or m.used is None:
            continue
        now = used.get(m.name)
        if now is None or (now != m.used if m.exact else now < m.used):
            least = "" if m.exact else "at least "
            late.append(
                f"pool {m.name}: {cilium.IPS_USED} {'not written' if now is None else now}, the plan {least}{m.used}"
            )
    return "; ".join(late)


def judge_after(
    mapping: ServiceMapping, ingress: Sequence[str], condition: Optional[Mapping[str, Any]], counted: bool
) -> Tuple[str, str]:
    """A service once Cilium's pools exist: SATISFIED (it holds what the plan said,
    and Cilium said so: its condition True, or, with no condition, the pools'
    counts reached the plan's: ``counted``), MOVED (it holds something else, or its
    condition is False once the pools are counted: the plan was wrong), or WAITING;
    with the words for it. Cilium writes no condition on a service whose address it
    adopts as it is, so a missing condition is not a refusal."""
    held = {cilium.parse_addr(a) for a in ingress} - {None}
    expected = {cilium.parse_addr(a) for a in mapping.after} - {None}
    shown = ", ".join(sorted(map(str, held))) or "nothing"
    status = str(condition.get("status")) if condition else ""
    if status != "True" and not counted:
        reason = f" ({condition.get('reason')}: {condition.get('message')})" if condition else ""
        return WAITING, f"Cilium has not counted its pools' addresses yet{reason}"
    if condition and status != "True":
        return MOVED, f"{cilium.CONDITION} {status} ({condition.get('reason')}: {condition.get('message')})"
    if held != expected:
        return MOVED, f"holds {shown}; the plan said {', '.join(mapping.after) or 'nothing'}"
    return SATISFIED, f"holds {shown}"


def controller_deployments(deployments: Sequence[Tuple[str, Sequence[str]]]) -> List[str]:
    """The Deployments (name, container images) that run MetalLB's controller."""
    return [name for name, images in deployments if any(is_controller_image(i) for i in images)]

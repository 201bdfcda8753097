"""Cilium LB-IPAM back to MetalLB (`migrate --to metallb`): the way back of
model/tocilium.py, so that a team that moved can go back without one service
changing its address. The plan's shapes are tocilium's (Plan, PoolMapping,
ServiceMapping, AdvertisementMapping, Loss, Step), read the other way.

What becomes what (docs/cilium-rules.md has Cilium's side):
- CiliumLoadBalancerIPPool -> IPAddressPool (in MetalLB's namespace, same name):
  a `cidr` block stays a CIDR, or, where the pool reserves the first and last
  address of the block (`allowFirstLastIPs`, and Cilium v1.15's default), the
  range between them; a `start`/`stop` block the range `start-stop`;
  `disabled: true` as `autoAssign: false` (MetalLB still gives its addresses to a
  service that names them: a lossy point); the `serviceSelector`'s terms on the
  pseudo-label io.kubernetes.service.namespace (equality, In) as
  `serviceAllocation.namespaces`, the other terms as one `serviceSelectors` entry.
  What MetalLB cannot say (the io.kubernetes.service.name pseudo-label, NotIn or
  Exists on the namespace) is left out, and the pool serves more services.
  A pool Cilium cannot use, or marks as conflicting (its range overlaps an older
  pool's), is not carried: Cilium hands out nothing of it, and an overlap would
  make MetalLB reject its whole configuration.
- The request (lbipam.cilium.io/ips or io.cilium/lb-ipam-ips, as the release
  reads them) -> metallb.io/loadBalancerIPs; spec.loadBalancerIP stays (MetalLB
  reads it too); the sharing key -> metallb.io/allow-shared-ip (MetalLB shares
  across namespaces without asking: sharing-cross-namespace has no twin). Cilium's
  keys stay until the cut-over's last step.
- CiliumL2AnnouncementPolicy -> L2Advertisement: a policy selects services, an
  L2Advertisement pools: it announces the pools the selected services' addresses
  come from (a lossy point where those pools serve other services too);
  `nodeSelector` -> `nodeSelectors`; an interface regex that spells one name
  (`^eth0$`) -> that name. Cilium's BGP objects are not read.

The proof: the IPAddressPools made and the services as they will be (MetalLB's
keys added, holding today's addresses) form a cluster that MetalLB's rules
(model/rules.py, of the chosen MetalLB release) judge as its controller does when
it starts: it processes the services that hold addresses first and `Assign`s
each what it holds; a service whose holdings its rules refuse, or whose request
differs from what it holds, would move. Pure."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from . import cilium
from .addresses import family_of, to_text
from .checks import (
    ERROR,
    TO_METALLB_ACCEPTED,
    TO_METALLB_ADVERTISEMENT,
    TO_METALLB_CLASS,
    TO_METALLB_DISABLED,
    TO_METALLB_EXISTING_POOLS,
    TO_METALLB_INVALID_POOL,
    TO_METALLB_REFUSED,
    TO_METALLB_SELECTOR,
    fixed,
)
from .cilium_explain import L2Policy, l2_policy_from_object
from .cluster import Cluster
from .pools import Pool
from .rules import check_request, make_request
from .selectors import Selector
from .services import CURRENT, LB_IPS, SHARED_IP, Service
from .suggest import metallb_pick
from .tocilium import (
    AdvertisementMapping,
    Loss,
    Plan,
    PoolMapping,
    ServiceMapping,
    Step,
    expression,
    pairs,
    quote,
    selector_dict,
    service_entry,
    summary,
    unique_name,
)

API = "metallb.io/v1beta1"
NAMESPACE = "metallb-system"
OPERATOR = ("kube-system", "cilium-operator")  # where Cilium's Helm chart puts its operator
CILIUM_CLASSES = ("", cilium.L2_CLASS, cilium.BGP_CLASS)  # the classes Cilium may serve; MetalLB the first
MANAGED = {"app.kubernetes.io/managed-by": "kubectl-lbip"}
# What MetalLB's controller writes on a service once it holds its addresses (every
# release read: v0.14.9 to v0.16.1, controller/service.go)
ALLOCATED_FROM = CURRENT + "ip-allocated-from-pool"
_PLAIN_NAME = re.compile(r"\^?((?:[A-Za-z0-9_:@-]|\\\.|\.)+)(\$?)")


def cilium_keys_of(svc: Service) -> Tuple[str, ...]:
    """Every LB-IPAM key the service carries (both spellings): removed last."""
    keys = (
        cilium.IPS_KEY,
        cilium.IPS_ALIAS,
        cilium.SHARING_KEY,
        cilium.SHARING_ALIAS,
        cilium.CROSS_NAMESPACE_KEY,
        cilium.CROSS_NAMESPACE_ALIAS,
    )
    return tuple(k for k in keys if k in svc.annotations)


# --------------------------------------------------------------------------
# pools


def _addresses(pool: cilium.CiliumPool, version: cilium.Version) -> List[str]:
    """Each block as MetalLB writes it: a CIDR, or the range its reserved first and
    last addresses leave, or start-stop."""
    out = []
    for block in pool.blocks:
        iv = block.interval
        if block.from_cidr and not pool.reserved(block, version):
            out.append(block.text)
            continue
        first, last = (iv.first + 1, iv.last - 1) if pool.reserved(block, version) else (iv.first, iv.last)
        out.append(f"{to_text(iv.family, first)}-{to_text(iv.family, last)}")
    return out


def _allocation(selector: Optional[Selector], subject: str, losses: List[Loss]) -> Optional[Dict[str, Any]]:
    """The serviceSelector as MetalLB's serviceAllocation (None: every service)."""
    if selector is None:
        return None
    namespaces: Optional[Set[str]] = None
    labels: Dict[str, str] = {}
    expressions: List[Dict[str, Any]] = []
    left: List[str] = []

    def narrow(values: Sequence[str]) -> None:
        nonlocal namespaces
        namespaces = set(values) if namespaces is None else namespaces & set(values)

    for key, value in selector.match_labels:
        if key == cilium.NAMESPACE_LABEL:
            narrow([value])
        elif key == cilium.NAME_LABEL:
            left.append(f"{key}={value}")
        else:
            labels[key] = value
    for key, op, values in selector.expressions:
        if key == cilium.NAMESPACE_LABEL and op == "In":
            narrow(values)
        elif key in (cilium.NAMESPACE_LABEL, cilium.NAME_LABEL):
            left.append(f"{key} {op} ({', '.join(values)})" if values else f"{key} {op}")
        else:
            expressions.append(expression(key, op, values))
    if left:
        detail = (
            f"its serviceSelector's {'; '.join(left)} has no twin in MetalLB's serviceAllocation (which reads the "
            "service's own labels and a list of namespaces): left out, so the pool serves more services."
        )
        losses.append(Loss(TO_METALLB_SELECTOR, subject, fixed(TO_METALLB_SELECTOR, detail)))
    out: Dict[str, Any] = {}
    if namespaces is not None:
        out["namespaces"] = sorted(namespaces)
    chosen = selector_dict(labels, expressions)
    if chosen:
        out["serviceSelectors"] = [chosen]
    return out or None


def map_pool(
    pool: cilium.CiliumPool, name: str, conflicted: Mapping[str, cilium.Conflict], version: cilium.Version
) -> PoolMapping:
    subject = f"CiliumLoadBalancerIPPool {pool.name}"
    losses: List[Loss] = []
    if not pool.valid or pool.name in conflicted or not pool.blocks:
        if pool.name in conflicted:
            c = conflicted[pool.name]
            why = (
                f"Cilium marks it as conflicting ({c.range} overlaps {c.other_range} of {c.other}) and uses none of it"
            )
        else:
            why = "Cilium cannot use it (" + ("; ".join(pool.errors) or "no blocks") + ")"
        detail = f"{why}: no IPAddressPool is made for it."
        losses.append(Loss(TO_METALLB_INVALID_POOL, subject, fixed(TO_METALLB_INVALID_POOL, detail)))
        return PoolMapping(pool, "", None, "", losses)
    spec: Dict[str, Any] = {"addresses": _addresses(pool, version)}
    if pool.disabled:
        spec["autoAssign"] = False
        detail = (
            "it is disabled (Cilium hands out none of it, holdings stay): it becomes autoAssign: false, and "
            "MetalLB still gives its addresses to a service that names them."
        )
        losses.append(Loss(TO_METALLB_DISABLED, subject, fixed(TO_METALLB_DISABLED, detail)))
    allocation = _allocation(pool.service_selector, subject, losses)
    if allocation:
        spec["serviceAllocation"] = allocation
    return PoolMapping(pool, name, _object("IPAddressPool", name, spec), _selects(allocation, pool.disabled), losses)


def _selects(allocation: Optional[Dict[str, Any]], disabled: bool) -> str:
    if disabled:
        return "only the services that name its addresses"
    if not allocation:
        return "every service"
    words = []
    if allocation.get("namespaces"):
        words.append("namespaces " + ", ".join(allocation["namespaces"]))
    if allocation.get("serviceSelectors"):
        words.append("the services its selector matches")
    return " and ".join(words)


# --------------------------------------------------------------------------
# services


def _request_text(svc: Service, version: cilium.Version) -> str:
    """The Cilium annotation's request, as the release reads it ('' for none)."""
    return cilium.annotation(svc.annotations, "ips", version).strip()


def map_service(svc: Service, pool: str, version: cilium.Version) -> ServiceMapping:
    annotations: Dict[str, str] = {}
    request = _request_text(svc, version)
    if request:
        annotations[CURRENT + LB_IPS] = ",".join(p.strip() for p in request.split(",") if p.strip())
    key = cilium.annotation(svc.annotations, "sharing-key", version)
    if key:
        annotations[CURRENT + SHARED_IP] = key
    annotations = {k: v for k, v in annotations.items() if svc.annotations.get(k) != v}
    held = tuple(str(a) for a in svc.held())
    return ServiceMapping(svc, pool, {}, annotations, cilium_keys_of(svc), held)


def _in_pool(pool: cilium.CiliumPool, addr: Any) -> bool:
    family, value = family_of(addr), int(addr)
    return any(b.interval.family == family and b.interval.contains(value) for b in pool.blocks)


def _pools_holding(pools: Sequence[PoolMapping], addresses: Sequence[Any]) -> List[str]:
    """The carried pools the addresses lie in, in the addresses' order."""
    found: List[str] = []
    for addr in addresses:
        found += [m.name for m in pools if m.obj is not None and m.name not in found and _in_pool(m.pool, addr)]
    return found


def _object(kind: str, name: str, spec: Dict[str, Any]) -> Dict[str, Any]:
    """A MetalLB object the plan makes, in MetalLB's namespace, labelled as made by us."""
    return {
        "apiVersion": API,
        "kind": kind,
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(MANAGED)},
        "spec": spec,
    }


# --------------------------------------------------------------------------
# announcement policies


def _interfaces(patterns: Sequence[str], subject: str, losses: List[Loss]) -> List[str]:
    names, left = [], []
    for pattern in patterns:
        found = _PLAIN_NAME.fullmatch(pattern)
        if found and pattern.startswith("^") and found.group(2):
            names.append(found.group(1).replace("\\.", "."))
        else:
            left.append(pattern)
    if left:
        detail = (
            f"interface patterns {', '.join(left)} are regular expressions an L2Advertisement cannot hold (it "
            "names interfaces): " + ("left out." if names else "left out, so it announces on every interface.")
        )
        losses.append(Loss(TO_METALLB_ADVERTISEMENT, subject, fixed(TO_METALLB_ADVERTISEMENT, detail)))
    return names


def _selector_object(selector: Selector) -> Dict[str, Any]:
    return selector_dict(dict(selector.match_labels), [expression(k, op, v) for k, op, v in selector.expressions]) or {}


def map_policy(policy: L2Policy, name: str, plan: Plan) -> AdvertisementMapping:
    subject = f"CiliumL2AnnouncementPolicy {policy.name}"
    losses: List[Loss] = []
    if policy.errors or not policy.load_balancer_ips:
        why = "; ".join(policy.errors) if policy.errors else "it announces no load-balancer address"
        detail = f"{why}: not carried."
        losses.append(Loss(TO_METALLB_ADVERTISEMENT, subject, fixed(TO_METALLB_ADVERTISEMENT, detail)))
        return AdvertisementMapping(policy, None, losses)
    spec: Dict[str, Any] = {}
    if policy.service_selector is not None:
        view_labels = {m.key: cilium.view(m.service).labels for m in plan.services}
        chosen = [m for m in plan.services if policy.service_selector.matches(view_labels[m.key])]
        pools_of = {m.key: _pools_holding(plan.pools, m.service.held()) for m in plan.services}
        pools = sorted({p for m in chosen for p in pools_of[m.key]})
        others = sorted(m.key for m in plan.services if m not in chosen and set(pools_of[m.key]) & set(pools))
        if not pools:
            detail = (
                "it selects services, an L2Advertisement pools, and no service it selects holds an address: "
                "not carried."
            )
            losses.append(Loss(TO_METALLB_ADVERTISEMENT, subject, fixed(TO_METALLB_ADVERTISEMENT, detail)))
            return AdvertisementMapping(policy, None, losses)
        spec["ipAddressPools"] = pools
        if others:
            listed = ", ".join(others[:3]) + (" and others" if len(others) > 3 else "")
            detail = (
                f"it selects services, an L2Advertisement pools: it announces pools {', '.join(pools)}, whose "
                f"services {listed} it does not select today."
            )
            losses.append(Loss(TO_METALLB_ADVERTISEMENT, subject, fixed(TO_METALLB_ADVERTISEMENT, detail)))
    if policy.node_selector is not None:
        spec["nodeSelectors"] = [_selector_object(policy.node_selector)]
    interfaces = _interfaces(policy.interfaces, subject, losses)
    if interfaces:
        spec["interfaces"] = interfaces
    return AdvertisementMapping(policy, _object("L2Advertisement", name, spec), losses)


# --------------------------------------------------------------------------
# the plan and its proof


def plan(
    cluster: Cluster,
    pools: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]] = (),
    version: cilium.Version = cilium.NEWEST,
) -> Plan:
    """The way back for a cluster (or manifests) whose Cilium ``pools`` and L2
    announcement ``policies`` (shape-checked objects) serve its services under
    Cilium ``version``; proven against MetalLB's rules of ``cluster.metallb``.
    ``cluster.pools``: the IPAddressPools already there (they take part in the
    proof, and a pool of the same name is renamed)."""
    cilium_pools = [cilium.pool_from_object(o) for o in pools]
    conflicted = cilium.conflicts(p for p in cilium_pools if p.valid)
    names: Set[str] = {p.name for p in cluster.pools}
    mapped = [
        map_pool(p, unique_name(p.name, names), conflicted, version) for p in sorted(cilium_pools, key=lambda p: p.name)
    ]
    served = sorted(
        (s for s in cluster.services if s.type == "LoadBalancer" and s.load_balancer_class in CILIUM_CLASSES),
        key=lambda s: (s.namespace, s.name),
    )
    services = [map_service(s, next(iter(_pools_holding(mapped, s.held())), ""), version) for s in served]
    result = Plan(version, mapped, services, [])
    taken: Set[str] = set()
    for obj in sorted(policies, key=lambda o: str((o.get("metadata") or {}).get("name") or "")):
        policy = l2_policy_from_object(obj)
        result.advertisements.append(map_policy(policy, unique_name(policy.name, taken), result))
    if cluster.pools:
        listed = ", ".join(sorted(p.name for p in cluster.pools)[:5]) + (" and more" if len(cluster.pools) > 5 else "")
        detail = (
            f"IPAddressPools exist already ({listed}): where MetalLB's controller runs, it serves services now, "
            "beside Cilium; the proof counts them."
        )
        result.losses.append(
            Loss(TO_METALLB_EXISTING_POOLS, "IPAddressPools", fixed(TO_METALLB_EXISTING_POOLS, detail))
        )
    prove(cluster, result)
    return result


def target_cluster(cluster: Cluster, result: Plan) -> Cluster:
    """The cluster MetalLB's controller finds when it starts: its pools (those made
    and those there), the services with MetalLB's keys, holding what they hold."""
    made = [Pool.from_object(m.obj, cluster.namespace_labels) for m in result.pools if m.obj is not None]
    return Cluster(
        list(cluster.pools) + made,
        [m.migrated() for m in result.services],
        namespace_labels=cluster.namespace_labels,
        metallb=cluster.metallb,
    )


def _first_error(verdict: Any) -> str:
    first = next(f for f in verdict.findings if f.severity == ERROR)
    return f"{first.code}: {first.message.split(' Fix: ')[0]}"


def prove(cluster: Cluster, result: Plan) -> None:
    """Judge each service as MetalLB's controller does on its first pass
    (reprocessAll): the services holding more addresses first, each Assigned what
    it holds; one whose holdings its rules refuse is cleared and allocated again at
    once, before the holders after it, so what it then gets may be another
    holder's address, which that one loses in turn; the services holding nothing
    come last, one after the other. Names each service that would not keep
    exactly what it holds, and what it would get instead."""
    target = target_cluster(cluster, result)
    served: List[Tuple[ServiceMapping, Service]] = []
    for m, svc in zip(result.services, target.services):
        if not svc.load_balancer_class:
            served.append((m, svc))
        elif m.held or svc.request is not None:
            what = f"holds {', '.join(m.held)}" if m.held else "requests an address"
            detail = (
                f"it {what} through loadBalancerClass {svc.load_balancer_class}, which MetalLB (run without "
                "--lb-class) does not serve, and a service's class cannot change."
            )
            m.losses.append(Loss(TO_METALLB_CLASS, f"service {m.key}", fixed(TO_METALLB_CLASS, detail)))
    # refused against every holder (one cluster, cheap); whoever is refused is judged
    # again against the holders MetalLB has taken before it (first come keeps)
    refused = {m.key: why for m, svc in served if m.held and (why := _refusal(target, m, svc))}
    held_count = {m.key: len(m.held) for m, _ in served}
    state: Dict[str, Tuple[str, ...]] = {}  # what MetalLB's allocator holds, as its pass goes
    taken_by: Dict[str, str] = {}  # an address a service allocated again took -> that service
    order = sorted(served, key=lambda pair: (-len(pair[0].held), pair[0].key))
    for m, svc in order:
        if not m.held:
            continue
        lost = [a for a in m.held if a in taken_by]
        if lost and m.key not in refused:
            other = taken_by[lost[0]]
            refused[m.key] = (
                f"holds {', '.join(m.held)}, and MetalLB gives {', '.join(lost)} to {other} first (it processes the "
                f"services holding more addresses first{_tie(held_count, other, m)}) as it allocates that one again"
            )
        elif m.key in refused:  # refused against every holder: against those before it, perhaps not
            why = _refusal(_now(target, svc, state), m, svc)
            if not why:
                del refused[m.key]
            else:
                rivals = [k for k, held in state.items() if set(held) & set(m.held)]
                refused[m.key] = why + (_tie(held_count, rivals[0], m) if rivals else "")
        if m.key not in refused:
            state[m.key] = m.after = m.held
            continue
        m.after = state[m.key] = _allocate(target, svc, state)
        taken_by.update((a, m.key) for a in m.after if a not in m.held)
        then = f"; it would get {', '.join(m.after)}" if m.after else "; it would get nothing"
        detail = refused[m.key] + then + "."
        m.losses.append(Loss(TO_METALLB_REFUSED, f"service {m.key}", fixed(TO_METALLB_REFUSED, detail)))
    for m, svc in order:
        if m.held:
            continue
        m.after = state[m.key] = _allocate(target, svc, state)
        if m.after:
            detail = f"Cilium gives it nothing today; MetalLB would give it {', '.join(m.after)}."
            m.losses.append(Loss(TO_METALLB_ACCEPTED, f"service {m.key}", fixed(TO_METALLB_ACCEPTED, detail)))


def _refusal(target: Cluster, m: ServiceMapping, svc: Service) -> str:
    """Why MetalLB's Assign refuses what the service holds (its rules, against
    every holder), or why it would move it anyway (a request for others); ''."""
    verdict = check_request(target, replace(svc, ingress=()), make_request(list(m.held)))
    if not verdict.accepted:
        return f"holds {', '.join(m.held)}, which MetalLB would not keep ({_first_error(verdict)}), so it clears it"
    request = svc.request
    if request is not None and set(map(str, request.addresses)) != set(m.held):
        return f"holds {', '.join(m.held)} but requests {request.text}: MetalLB gives a service what it requests"
    return ""


def _tie(held_count: Mapping[str, int], other: str, m: ServiceMapping) -> str:
    """The words for an order MetalLB does not fix: ``other`` came first only if it
    holds more addresses than ``m``'s service."""
    if held_count.get(other) != len(m.held):
        return ""
    return f"; {other} holds as many addresses, and MetalLB's order among those is not fixed: either may move"


def _now(target: Cluster, svc: Service, state: Mapping[str, Tuple[str, ...]]) -> Cluster:
    """The cluster as MetalLB's allocator knows it when it reaches ``svc``: the
    services processed so far (``state``: what each got), and ``svc``."""
    services = [replace(s, ingress=state[s.key]) for s in target.services if s.key in state and s.key != svc.key]
    return Cluster(target.pools, services + [svc], namespace_labels=target.namespace_labels, metallb=target.metallb)


def _allocate(target: Cluster, svc: Service, state: Mapping[str, Tuple[str, ...]]) -> Tuple[str, ...]:
    """What MetalLB gives ``svc`` (its request, else its pick) while its allocator
    holds ``state`` (the services processed so far, by key)."""
    fresh = replace(svc, ingress=())
    now = _now(target, fresh, state)
    request = fresh.request
    if request is not None:
        return tuple(str(a) for a in request.addresses) if check_request(now, fresh, request).accepted else ()
    pick = metallb_pick(now, fresh)
    return tuple(a for a in (pick.ipv4, pick.ipv6) if a)


# --------------------------------------------------------------------------
# the cut-over, as kubectl commands


def allocated_path() -> str:
    """The JSONPath of the annotation MetalLB's controller writes once it holds a
    service's addresses (its pool)."""
    return "{.metadata.annotations." + ALLOCATED_FROM.replace(".", "\\.") + "}"


def cutover(result: Plan, objects_file: str, operator: Tuple[str, str] = OPERATOR, replicas: int = 1) -> List[Step]:
    """The order that never has two controllers serving one service: MetalLB's keys
    first (Cilium ignores them); Cilium's operator stops (its LB-IPAM with it); its
    pools go (nothing strips an address while it is stopped); MetalLB's pools exist
    before its controller runs (a controller without pools clears every
    LoadBalancer service's address: convergeBalancer, "pools are empty"); each
    service's ip-allocated-from-pool is awaited; Cilium's announcement policies and
    keys go last, and its operator starts again (without a pool its LB-IPAM stays
    dormant)."""
    space, deployment = operator
    annotate, retire, waits = [], [], []
    for m in result.services:
        where = f"kubectl -n {quote(m.service.namespace)}"
        if m.annotations:
            annotate.append(f"{where} annotate service {quote(m.service.name)} {pairs(m.annotations)}")
        if m.retired:
            keys = " ".join(quote(k + "-") for k in m.retired)
            retire.append(f"{where} annotate service {quote(m.service.name)} {keys}")
        pool = _metallb_pool(result, m)
        if m.held and m.kept and pool:
            waits.append(
                f"{where} wait service/{quote(m.service.name)} "
                f"--for=jsonpath={quote(allocated_path())}={quote(pool)} --timeout=2m"
            )
    pools = [m.pool.name for m in result.pools]
    policies = [a.advertisement.name for a in result.advertisements]
    stop = f"kubectl -n {quote(space)} scale deployment {quote(deployment)} --replicas=0"
    start = f"kubectl -n {quote(space)} scale deployment {quote(deployment)} --replicas={replicas}"
    return [
        Step("annotate the services with MetalLB's keys (Cilium ignores them)", tuple(annotate)),
        Step("stop Cilium's operator (its LB-IPAM; its other work waits until the last step)", (stop,)),
        Step(
            "delete Cilium's pools (with its operator stopped, no address is stripped)",
            (f"kubectl delete ciliumloadbalancerippools {' '.join(quote(p) for p in pools)}",) if pools else (),
        ),
        Step(
            "install MetalLB's CRDs only, then create its pools before its controller runs (a controller without "
            "pools clears every LoadBalancer service's address; its webhook runs in the controller)",
            (f"kubectl lbip check -f {quote(objects_file)}", f"kubectl apply -f {quote(objects_file)}"),
        ),
        Step(
            "install MetalLB's controller and speakers, and wait until it holds each service's addresses",
            tuple(waits),
        ),
        Step(
            "remove Cilium's announcement policies and keys, then start its operator again (without a pool, its "
            "LB-IPAM stays dormant)",
            (
                (f"kubectl delete ciliuml2announcementpolicies {' '.join(quote(p) for p in policies)}",)
                if policies
                else ()
            )
            + tuple(retire)
            + (start,),
        ),
    ]


def _metallb_pool(result: Plan, m: ServiceMapping) -> str:
    """The IPAddressPool the service's addresses lie in (MetalLB's record names it)."""
    for pm in result.pools:
        if pm.obj is None:
            continue
        if all(_in_pool(pm.pool, a) for a in m.service.held()):
            return pm.name
    return ""


def plan_document(result: Plan, accepted: Sequence[str], steps: Sequence[Step], metallb: str) -> Dict[str, Any]:
    """The plan as data (-o json|yaml)."""
    return {
        "cilium": cilium.text(result.version),
        "metallb": metallb,
        "pools": [
            {
                "cilium": m.pool.name,
                "metallb": m.name,
                "addresses": (m.obj or {}).get("spec", {}).get("addresses", []),
                "selects": m.selects,
            }
            for m in result.pools
        ],
        "services": [{**service_entry(m, "metallb"), "annotations": m.annotations} for m in result.services],
        "losses": [x.to_dict(x.code in accepted) for x in result.all_losses()],
        "objects": result.objects(),
        "steps": [s.to_dict() for s in steps],
        "summary": summary(result, accepted),
    }


__all__ = ["plan", "cutover", "plan_document", "target_cluster"]

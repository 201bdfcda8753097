"""Seeded random Cilium LB-IPAM scenarios, and a runner that records what Cilium's
operator (the judge) does with each service (test_cilium_conformance.py compares
the plugin's answers with it).

A scenario is plain data: three namespaces, three to five
CiliumLoadBalancerIPPools (IPv4 blocks as ``cidr`` or ``start``/``stop``, IPv6
blocks, both; ``allowFirstLastIPs`` Yes, No or unset; ``serviceSelector`` by label,
by expression, by the pseudo-labels ``io.kubernetes.service.namespace`` and
``io.kubernetes.service.name``, or none; a disabled pool), often a pool created a
second after the others whose block overlaps one of theirs (Cilium marks the newer
one ``cilium.io/PoolConflict`` and allocates nothing from it), and an ordered list
of LoadBalancer services: single-stack IPv4 or IPv6, ``PreferDualStack`` either
family first, ``RequireDualStack``; labels; ports; requests through
``lbipam.cilium.io/ips`` (one or two addresses, whatever the service's families),
the alias ``io.cilium/lb-ipam-ips`` or ``spec.loadBalancerIP``: a free address, one
another service holds, a reserved first/last address, one outside every pool, one
in a disabled or conflicting pool or in a pool that does not select the service;
sharing keys, within a namespace or across (``lbipam.cilium.io/sharing-cross-namespace``
naming the other namespace or ``*``, or missing on one side), with ports that
collide or not, ``Cluster``/``Local`` with equal or different selectors; or no
request at all (the operator picks).

The runner creates the pools (the overlapping one in a later second: the
creationTimestamp decides which pool is marked), a probe pool and service last
(once the operator satisfies the probe it has seen every pool), then the services
one at a time, each time awaiting the operator's ``cilium.io/IPAMRequestSatisfied``
condition.  Then the operator is paused (SIGSTOP) and the final state read; the
plugin is asked while nothing moves.
"""

from __future__ import annotations

import ipaddress
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import scenarios

CONDITION = "cilium.io/IPAMRequestSatisfied"
# The outcome of a service the operator handled and wrote nothing about (see settle).
NO_CONDITION = "(no condition)"
IPS = "lbipam.cilium.io/ips"
IPS_ALIAS = "io.cilium/lb-ipam-ips"
SHARING = "lbipam.cilium.io/sharing-key"
CROSS = "lbipam.cilium.io/sharing-cross-namespace"
NS_LABEL = "io.kubernetes.service.namespace"
NAME_LABEL = "io.kubernetes.service.name"
POOLS = "ciliumloadbalancerippools.cilium.io"

# One IPv4 slab of 128 addresses per scenario (MetalLB's scenarios' slabs: they never
# run at the same time), cut in chunks of 16.
V4_SLABS = scenarios.V4_SLABS
PORTS = [("TCP", 80), ("TCP", 443), ("UDP", 53), ("UDP", 443)]
SHAPES = ("v4", "v6", "prefer-v4", "prefer-v6", "require", "default")


def pool_api(version: Tuple[int, ...]) -> str:
    return "cilium.io/v2" if version >= (1, 18, 0) else "cilium.io/v2alpha1"


@dataclass
class Scenario:
    seed: int
    namespaces: List[Dict[str, Any]]
    pools: List[Dict[str, Any]]  # created in this order
    late_pools: List[Dict[str, Any]]  # created in a later second (overlaps)
    services: List[Dict[str, Any]]
    probe_ns: str
    probe_pool: Dict[str, Any]
    probe_ip: str
    barriers: int = 0

    @property
    def ns_names(self) -> List[str]:
        return [n["metadata"]["name"] for n in self.namespaces]

    @property
    def all_pools(self) -> List[Dict[str, Any]]:
        return self.pools + self.late_pools


@dataclass
class _Block:
    pool: str
    net: ipaddress._BaseNetwork  # the addresses (a cidr, or the range's bounding addresses below)
    first: int
    last: int
    cidr: bool
    family: int


class _Gen:
    def __init__(self, seed: int, slot: int, run_id: str, version: Tuple[int, ...]):
        self.rng = random.Random(seed)
        self.seed = seed
        self.version = version
        self.prefix, self.base = V4_SLABS[slot % len(V4_SLABS)]
        self.v6net = f"2001:db8:c1e2:{seed & 0xFFFF:x}"
        self.tag = f"{run_id}-{seed}"
        self.blocks: List[_Block] = []
        self.pool_specs: Dict[str, Dict[str, Any]] = {}
        self.used: List[Tuple[str, str]] = []  # (address, service key) requested so far
        self.keys: List[Dict[str, Any]] = []  # the sharing services' addresses, keys, namespaces, ports

    # -- addresses ----------------------------------------------------------
    def v4(self, n: int) -> str:
        return f"{self.prefix}.{self.base + n}"

    def v6(self, n: int) -> str:
        return str(ipaddress.ip_address(f"{self.v6net}::") + n)

    def pools(self, ns_names: List[str], names: List[str]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        rng = self.rng
        n_pools = rng.randint(4, 6)
        chunks = list(range(0, 128, 16))
        rng.shuffle(chunks)
        pools: List[Dict[str, Any]] = []
        disabled_at = rng.randrange(n_pools) if rng.random() < 0.7 else -1
        for i in range(n_pools):
            name = f"cp{i}-{self.tag}"
            kind = rng.choices(["v4", "v6", "dual"], weights=[4, 1, 5])[0]
            blocks: List[Dict[str, str]] = []
            for _ in range(rng.choice([1, 1, 2]) if kind != "v6" else 0):
                if not chunks:
                    break
                lo = chunks.pop()
                blocks.append(self._v4_block(name, lo))
            if kind != "v4" or not blocks:
                blocks.append(self._v6_block(name, 0x100 * (i + 1)))
            spec: Dict[str, Any] = {"blocks": blocks}
            flip = rng.random()
            if flip < 0.3:
                spec["allowFirstLastIPs"] = "No"
            elif flip < 0.5:
                spec["allowFirstLastIPs"] = "Yes"
            selector = self._selector(ns_names, names)
            if selector is not None:
                spec["serviceSelector"] = selector
            if i == disabled_at:
                spec["disabled"] = True
            self.pool_specs[name] = spec
            pools.append(self._pool(name, spec))
        late: List[Dict[str, Any]] = []
        v4_blocks = [b for b in self.blocks if b.family == 4]
        if v4_blocks and rng.random() < 0.7:
            # a newer pool overlapping an older one: Cilium marks the newer one
            target = rng.choice(v4_blocks)
            name = f"cx-{self.tag}"
            lo = rng.randint(target.first, target.last)
            hi = min(lo + rng.choice([1, 3]), target.first - target.first % 16 + 15)
            spec: Dict[str, Any] = {"blocks": [{"start": self.v4(lo), "stop": self.v4(hi)}]}
            if rng.random() < 0.5:
                spec["serviceSelector"] = {"matchLabels": {"app": "web"}}
            self.blocks.append(_Block(name, ipaddress.ip_network(f"{self.v4(lo)}/32"), lo, hi, False, 4))
            self.pool_specs[name] = spec
            late.append(self._pool(name, spec))
        return pools, late

    def _pool(self, name: str, spec: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "apiVersion": pool_api(self.version),
            "kind": "CiliumLoadBalancerIPPool",
            "metadata": {"name": name},
            "spec": spec,
        }

    def _v4_block(self, pool: str, lo: int) -> Dict[str, str]:
        rng = self.rng
        size = rng.choice([4, 8, 8, 16])
        if rng.random() < 0.6:
            bits = 32 - (size.bit_length() - 1)
            net = ipaddress.ip_network(f"{self.v4(lo)}/{bits}")
            self.blocks.append(_Block(pool, net, lo, lo + size - 1, True, 4))
            return {"cidr": str(net)}
        start, stop = lo + rng.choice([0, 1]), lo + size - 1 - rng.choice([0, 1])
        self.blocks.append(_Block(pool, ipaddress.ip_network(f"{self.v4(start)}/32"), start, stop, False, 4))
        if start == stop or rng.random() < 0.1:
            return {"start": self.v4(start)}  # one address (stop omitted)
        return {"start": self.v4(start), "stop": self.v4(stop)}

    def _v6_block(self, pool: str, lo: int) -> Dict[str, str]:
        size = self.rng.choice([2, 4, 8])
        if self.rng.random() < 0.5:
            bits = 128 - (size.bit_length() - 1)
            net = ipaddress.ip_network(f"{self.v6(lo)}/{bits}")
            self.blocks.append(_Block(pool, net, lo, lo + size - 1, True, 6))
            return {"cidr": str(net)}
        self.blocks.append(_Block(pool, ipaddress.ip_network(f"{self.v6(lo)}/128"), lo, lo + size - 1, False, 6))
        return {"start": self.v6(lo), "stop": self.v6(lo + size - 1)}

    def _selector(self, ns_names: List[str], names: List[str]) -> Optional[Dict[str, Any]]:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return None
        if r < 0.5:
            return {"matchLabels": {"app": rng.choice(["web", "db"])}}
        if r < 0.58:
            op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
            expr: Dict[str, Any] = {"key": "app", "operator": op}
            if op in ("In", "NotIn"):
                expr["values"] = rng.sample(["web", "db", "cache"], rng.randint(1, 2))
            return {"matchExpressions": [expr]}
        if r < 0.78:
            return {"matchLabels": {NS_LABEL: rng.choice(ns_names)}}
        if r < 0.9:
            return {"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": rng.sample(names, 8)}]}
        return {
            "matchLabels": {NS_LABEL: rng.choice(ns_names)},
            "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}],
        }

    # -- requests -----------------------------------------------------------
    def address(self, family: int, svc_key: str, labels: Dict[str, str]) -> str:
        """An address for a request, of one of the kinds the rules tell apart: most
        often a free one of a pool that selects the service (what works)."""
        rng = self.rng
        blocks = [b for b in self.blocks if b.family == family]
        text = lambda n: self.v4(n) if family == 4 else self.v6(n)  # noqa: E731
        r = rng.random()
        taken = [a for a, k in self.used if k != svc_key and ipaddress.ip_address(a).version == family]
        if r < 0.08 and taken:
            return rng.choice(taken)
        if r < 0.13:  # outside every pool (the gaps between chunks, or far away)
            for _ in range(20):
                n = rng.randrange(0, 128) if family == 4 else rng.randrange(0x10, 0xF0)
                if not any(b.first <= n <= b.last for b in blocks):
                    return text(n)
        if r < 0.2 and blocks:  # a block's first or last address (reserved with allowFirstLastIPs: No)
            b = rng.choice(blocks)
            return text(rng.choice([b.first, b.last]))
        if not blocks:
            return text(rng.randrange(0, 16))
        good = [b for b in blocks if self._usable(b.pool) and _selects(self.pool_specs[b.pool], labels)]
        if r < 0.3 or not good:  # any pool's address: maybe disabled, conflicting, not selecting
            b = rng.choice(blocks)
            return text(rng.randint(b.first, b.last))
        used = {a for a, _ in self.used}
        b = rng.choice(good)
        free = [n for n in range(b.first, b.last + 1) if text(n) not in used]
        return text(rng.choice(free or [b.first]))

    def _join(
        self, holder: Dict[str, Any], spec: Dict[str, Any], annotations: Dict[str, str], ns_names: List[str]
    ) -> str:
        """Make the service one that may share ``holder``'s address (as far as the
        holder goes): its namespace, or one the holder admits, listing the holder's
        own; other ports; the Cluster traffic policy. Returns the namespace."""
        rng = self.rng
        allowed = [holder["namespace"]]
        cross = holder["cross"].split(",") if holder["cross"] else []
        allowed += [n for n in ns_names if n != holder["namespace"] and ("*" in cross or n in cross)]
        ns = rng.choice(allowed)
        if ns != holder["namespace"]:
            annotations[CROSS] = rng.choice(["*", holder["namespace"]])
        free = [(p, n) for p, n in PORTS if (p, n) not in holder["ports"]]
        spec["ports"] = [{"name": f"{p.lower()}{n}", "protocol": p, "port": n} for p, n in rng.sample(free, 1)]
        spec.pop("externalTrafficPolicy", None)
        return ns

    def _usable(self, pool: str) -> bool:
        return not self.pool_specs[pool].get("disabled") and not pool.startswith("cx-")

    def service(self, i: int, ns_names: List[str]) -> Dict[str, Any]:
        rng = self.rng
        name = f"s{i:02d}"
        ns = rng.choice(ns_names)
        key = f"{ns}/{name}"
        labels: Dict[str, str] = {}
        app = rng.choices(["web", "db", "cache", None], weights=[4, 3, 1, 2])[0]
        if app:
            labels["app"] = app
        shape = rng.choices(SHAPES, weights=[5, 2, 3, 1, 2, 1])[0]
        spec: Dict[str, Any] = {"type": "LoadBalancer"}
        if shape == "v4":
            spec.update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv4"])
        elif shape == "v6":
            spec.update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv6"])
        elif shape == "prefer-v4":
            spec.update(ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv4", "IPv6"])
        elif shape == "prefer-v6":
            spec.update(ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv6", "IPv4"])
        elif shape == "require":
            spec.update(ipFamilyPolicy="RequireDualStack")
        fams = {"v4": [4], "v6": [6], "default": [4]}.get(shape, [4, 6])
        spec["ports"] = [
            {"name": f"{p.lower()}{n}", "protocol": p, "port": n} for p, n in rng.sample(PORTS, rng.randint(1, 2))
        ]
        annotations: Dict[str, str] = {}
        if rng.random() < 0.25:
            spec["externalTrafficPolicy"] = "Local"
            spec["selector"] = {"app": rng.choice(["web", "db"])}
        elif rng.random() < 0.5:
            spec["selector"] = {"app": app or "web"}
        addrs: List[str] = []
        r = rng.random()
        sharing = rng.random() < 0.4
        if sharing:
            skey = rng.choice(["k1", "k2"])
            annotations[SHARING] = skey
            cross = rng.random()
            if cross < 0.45:
                annotations[CROSS] = "*"
            elif cross < 0.7:
                annotations[CROSS] = ",".join(rng.sample(ns_names, rng.randint(1, 2)))
            same = [h for h in self.keys if h["key"] == skey]
            if same and rng.random() < 0.7:
                holder = rng.choice(same)
                addrs = [holder["address"]]
                r = 1.0  # an explicit request for the shared address
                if rng.random() < 0.75:
                    ns = self._join(holder, spec, annotations, ns_names)
                    key = f"{ns}/{name}"
        if not addrs and r < 0.3:
            pass  # no request: the operator picks
        elif not addrs:
            n = 2 if (len(fams) == 2 and rng.random() < 0.6) or rng.random() < 0.08 else 1
            order = list(fams) if len(fams) == 2 else fams * 2
            if rng.random() < 0.1:  # the other family than the service's (Cilium does not check)
                order = [10 - f for f in order]
            seen = dict(labels, **{NS_LABEL: ns, NAME_LABEL: name})
            addrs = [self.address(order[k % len(order)], key, seen) for k in range(n)]
        if addrs:
            how = rng.choices(["annotation", "alias", "spec"], weights=[8, 1, 1])[0]
            if how == "spec" and len(addrs) == 1:
                spec["loadBalancerIP"] = addrs[0]
            elif how == "alias":
                annotations[IPS_ALIAS] = ",".join(addrs)
            else:
                annotations[IPS] = ",".join(addrs)
            self.used.extend((a, key) for a in addrs)
            if sharing:
                for a in addrs:
                    self.keys.append(
                        {
                            "key": annotations[SHARING],
                            "namespace": ns,
                            "address": a,
                            "ports": {(p["protocol"], p["port"]) for p in spec["ports"]},
                            "cross": annotations.get(CROSS, ""),
                        }
                    )
        meta: Dict[str, Any] = {"name": name, "namespace": ns}
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _selects(spec: Dict[str, Any], labels: Dict[str, str]) -> bool:
    """The generator's own reading of a serviceSelector (to aim requests at pools
    that would serve them; the judge decides)."""
    sel = spec.get("serviceSelector")
    if sel is None:
        return True
    if any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or ():
        has, value = e["key"] in labels, labels.get(e["key"])
        ok = {
            "In": has and value in e.get("values", ()),
            "NotIn": not has or value not in e.get("values", ()),
            "Exists": has,
            "DoesNotExist": not has,
        }[e["operator"]]
        if not ok:
            return False
    return True


def generate(seed: int, slot: int, run_id: str, n_services: int, version: Tuple[int, ...]) -> Scenario:
    g = _Gen(seed, slot, run_id, version)
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"cil-{g.tag}-{i}"}} for i in range(3)]
    ns_names = [n["metadata"]["name"] for n in namespaces]
    names = [f"s{i:02d}" for i in range(n_services)]
    pools, late = g.pools(ns_names, names)
    services = [g.service(i, ns_names) for i in range(n_services)]
    probe_ns = f"cil-{g.tag}-probe"
    # the probe's pool also serves the barriers (see settle): its own namespace only
    probe_ip = g.v6(0xFF01)
    probe_pool = g._pool(
        f"probe-{g.tag}",
        {"blocks": [{"cidr": f"{g.v6(0xFF00)}/120"}], "serviceSelector": {"matchLabels": {NS_LABEL: probe_ns}}},
    )
    return Scenario(seed, namespaces, pools, late, services, probe_ns, probe_pool, probe_ip)


# --------------------------------------------------------------------------
# the judge's answers


@dataclass
class Outcome:
    """The operator's answer on one service: its condition and its ingress."""

    ingress: List[str]
    status: str = ""
    reason: str = ""
    message: str = ""

    @property
    def satisfied(self) -> bool:
        return self.status == "True"


def outcome_of(svc: Dict[str, Any]) -> Optional[Outcome]:
    status = svc.get("status") or {}
    ingress = [i["ip"] for i in (status.get("loadBalancer") or {}).get("ingress") or () if i.get("ip")]
    for cond in status.get("conditions") or ():
        if cond.get("type") == CONDITION:
            return Outcome(ingress, str(cond.get("status")), str(cond.get("reason")), str(cond.get("message") or ""))
    return None


@dataclass
class Subject:
    manifest: Dict[str, Any]
    at_creation: Outcome
    final: Optional[Outcome] = None
    before: List[Dict[str, Any]] = field(default_factory=list)  # the services as they were when it came
    created: Dict[str, Any] = field(default_factory=dict)  # the object as the API server stored it

    @property
    def key(self) -> str:
        m = self.manifest["metadata"]
        return f"{m['namespace']}/{m['name']}"

    @property
    def requested(self) -> List[str]:
        m = self.manifest
        out = []
        if m["spec"].get("loadBalancerIP"):
            out.append(m["spec"]["loadBalancerIP"])
        ann = m["metadata"].get("annotations") or {}
        value = ann.get(IPS, ann.get(IPS_ALIAS, ""))
        out += [a for a in value.split(",") if a]
        return out


class Api(scenarios.Api):
    """MetalLB's runner's API calls, and Cilium's: its pools, the operator's condition."""

    def path_of(self, obj: Dict[str, Any]) -> str:
        if obj["kind"] == "CiliumLoadBalancerIPPool":  # cluster-scoped
            return f"/apis/{obj['apiVersion']}/ciliumloadbalancerippools"
        return super().path_of(obj)

    def get(self, path: str) -> Dict[str, Any]:
        return self.client.request("GET", path)

    def services(self, namespaces: Sequence[str]) -> List[Dict[str, Any]]:
        """The services of these namespaces, each a whole object (a list's items
        carry no kind)."""
        out = []
        for ns in namespaces:
            for item in self.get(f"/api/v1/namespaces/{ns}/services").get("items") or []:
                out.append({"apiVersion": "v1", "kind": "Service", **item})
        return out

    def wait_condition(self, ns: str, name: str, timeout: float = 20.0, satisfied: bool = False) -> Optional[Outcome]:
        """The service's first condition (``satisfied``: the first that says True),
        or None when none came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            got = outcome_of(self.get(f"/api/v1/namespaces/{ns}/services/{name}"))
            if got is not None and (got.satisfied or not satisfied):
                return got
            if time.monotonic() > deadline:
                return None
            time.sleep(0.03)

    def settle(self, sc: "Scenario", ns: str, name: str, timeout: float = 30.0) -> Outcome:
        """The operator's outcome on a service just created, once it has handled it
        and everything that followed (the Pending services it retries after each
        event, the pools' counts). Some services never get a condition (a dual-stack
        service refused for the same reason in both families: Cilium writes
        nothing); the barrier tells that from "not handled yet"."""
        self.barrier(sc, timeout)
        svc = self.get(f"/api/v1/namespaces/{ns}/services/{name}")
        got = outcome_of(svc)
        if got is not None:
            return got
        ingress = [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()]
        return Outcome(ingress, "", NO_CONDITION, "")

    def barrier(self, sc: "Scenario", timeout: float = 30.0) -> None:
        """Return once the operator has handled every event before now and written
        what it writes for them (service status, then the pools' counts): a new
        service in the probe's namespace, asking for an address of the probe's pool,
        is satisfied only after that (the operator handles service events one at a
        time, in order, and counts the pools before the next)."""
        sc.barriers += 1
        barrier = f"barrier-{sc.barriers}"
        # an address of its own in the probe's pool: an automatic one could come from a
        # scenario pool that selects every service
        address = str(ipaddress.ip_address(sc.probe_ip) + sc.barriers)
        self.create(scenarios.probe_service(barrier, sc.probe_ns, IPS, address))
        if self.wait_condition(sc.probe_ns, barrier, timeout, satisfied=True) is None:
            raise TimeoutError(f"the operator did not satisfy {sc.probe_ns}/{barrier} in {timeout:.0f}s")


def _next_second() -> None:
    """Sleep into the next wall-clock second: creationTimestamp has a one-second
    resolution, and Cilium marks the newer of two overlapping pools."""
    time.sleep(1.05 - (time.time() % 1.0))


def setup(api: Api, sc: Scenario, timeout: float = 30.0) -> None:
    for ns in sc.namespaces + [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": sc.probe_ns}}]:
        api.create(ns)
    for pool in sc.pools:
        api.create(pool)
    if sc.late_pools:
        _next_second()
        for pool in sc.late_pools:
            api.create(pool)
    # The probe last: once the operator satisfies it, it has seen every pool.
    api.create(sc.probe_pool)
    api.create(scenarios.probe_service("probe", sc.probe_ns, IPS, sc.probe_ip))
    # (pools and services are watched apart: the probe may come first, be refused,
    # and be satisfied when its pool arrives)
    got = api.wait_condition(sc.probe_ns, "probe", timeout, satisfied=True)
    if got is None:
        raise TimeoutError(f"the operator did not satisfy the probe of seed {sc.seed} in {timeout:.0f}s")


def run(api: Api, sc: Scenario, log: Callable[[str], None] = print) -> List[Subject]:
    """Create the services one at a time; each one's outcome, and the state it came into."""
    subjects: List[Subject] = []
    for manifest in sc.services:
        meta = manifest["metadata"]
        before = api.services(sc.ns_names)
        created = api.create(manifest)
        outcome = api.settle(sc, meta["namespace"], meta["name"])
        subjects.append(Subject(manifest, outcome, before=before, created=created))
    return subjects


def read_final(api: Api, sc: Scenario, subjects: List[Subject]) -> List[Dict[str, Any]]:
    """The pools and services as they are now (call it with the operator paused)."""
    items = api.services(sc.ns_names)
    by_key = {f"{s['metadata']['namespace']}/{s['metadata']['name']}": s for s in items}
    for sub in subjects:
        obj = by_key.get(sub.key)
        sub.final = outcome_of(obj) if obj else None
    return items


def pools_now(api: Api, sc: Scenario) -> List[Dict[str, Any]]:
    api_version = sc.probe_pool["apiVersion"]
    names = {p["metadata"]["name"] for p in sc.all_pools}
    items = api.get(f"/apis/{api_version}/ciliumloadbalancerippools").get("items") or []
    kind = {"apiVersion": api_version, "kind": "CiliumLoadBalancerIPPool"}
    return [{**kind, **p} for p in items if p["metadata"]["name"] in names]


def cleanup(api: Api, sc: Scenario) -> None:
    for manifest in sc.services:
        meta = manifest["metadata"]
        api.delete(f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}")
    for name in ["probe"] + [f"barrier-{n}" for n in range(1, sc.barriers + 1)]:
        api.delete(f"/api/v1/namespaces/{sc.probe_ns}/services/{name}")
    api_version = sc.probe_pool["apiVersion"]
    for pool in sc.all_pools + [sc.probe_pool]:
        api.delete(f"/apis/{api_version}/ciliumloadbalancerippools/{pool['metadata']['name']}")


def scenario_json(sc: Scenario) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": sc.all_pools + sc.services}, indent=1)

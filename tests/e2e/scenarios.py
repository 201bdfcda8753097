"""Seeded random MetalLB scenarios, and a runner that asks the plugin's CLI, as a
user would, what MetalLB will do, then compares with what MetalLB's controller
does (test_conformance.py).

A scenario is plain data: namespaces (with labels), IPAddressPools (IPv4, IPv6
and dual ranges, avoidBuggyIPs, serviceAllocation by namespace, by namespace
selector (some matching no namespace), by service selector and by priority (some
tied), autoAssign, small pools that run out mid-scenario) and an ordered list of
LoadBalancer services (single- and dual-stack, ports, sharing keys, Cluster and
Local traffic policies, requests through metallb.io/loadBalancerIPs, the
deprecated annotation or spec.loadBalancerIP, IPv4-mapped IPv6 text, current and
deprecated keys that differ or an empty current key beside a deprecated one,
address-pool annotations, or no request). Among them, chains: a service MetalLB
must refuse for one reason (family, pool annotation, pool serviceAllocation, a
Local backend, a deprecated or overridden sharing key, an IPv4-mapped address)
followed by one that asks for the same address and gets it.

The runner creates the services one at a time and waits for MetalLB's answer
(status.loadBalancer.ingress, or an AllocationFailed event). It asks the plugin
through `kubectl lbip` only, on the channels a user has:

* ``pick``: for a service that requests nothing, right after MetalLB answered,
  ``free --for NAME -o json``'s ``metallbPick`` (the service's own holding does
  not count against it, so this is the state MetalLB chose in);
* once every service exists (a request's verdict does not change with services
  created after it: holdings only grow, and MetalLB checked each against the
  earlier ones), for every request:
  ``check-live``: ``check -n NS -o json``;
  ``check-file``: ``check -f DUMP -n NS -o json`` on ``kubectl get
  namespaces,ipaddresspools,services -A -o json`` (a file that carries status);
  ``annotate``: ``annotate NAME ADDRS --overwrite --dry-run=client`` (with
  ``--clear-spec-ip`` for a spec.loadBalancerIP request);
* ``pin``: then, for a sample of services (Pending ones first), a suggestion of
  ``free --for NAME -o json`` written with ``annotate --overwrite --wait``:
  MetalLB must assign exactly it.

A request's verdict: refused if the service has an error finding of a request
rule (REQUEST_CODES), then one of the codes must name MetalLB's reason; accepted
if it has no finding of a request rule at all (not even a warning), and then
MetalLB must hold exactly the requested addresses.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from kubectl_lbip.model import rules

METALLB_NS = "metallb-system"
CURRENT = "metallb.io/"
DEPRECATED = "metallb.universe.tf/"
LB_IPS = "loadBalancerIPs"
SHARED = "allow-shared-ip"
POOL_KEY = "address-pool"

# IPv4 "slabs" of 128 addresses in the documentation ranges.  Each scenario uses
# its own slab (and its own IPv6 /64), so a stale allocation of a previous
# scenario can never touch the next one.  Each slab holds exactly one address
# that avoidBuggyIPs excludes (.0 for a low half, .255 for a high half).
V4_SLABS = [
    ("192.0.2", 0),
    ("192.0.2", 128),
    ("198.51.100", 0),
    ("198.51.100", 128),
    ("203.0.113", 0),
    ("203.0.113", 128),
]

PORTS = [("TCP", 80), ("TCP", 443), ("UDP", 53)]

CHANNELS = ("check-live", "check-file", "annotate", "pin", "pick")


# --------------------------------------------------------------------------
# generation


@dataclass
class Scenario:
    seed: int
    namespaces: List[Dict[str, Any]]
    pools: List[Dict[str, Any]]
    services: List[Dict[str, Any]]
    probe_pool: Dict[str, Any]
    probe_ip: str
    chains: int = 0

    @property
    def ns_names(self) -> List[str]:
        return [n["metadata"]["name"] for n in self.namespaces]


def _v4_block(rng: random.Random, prefix: str, lo: int, hi: int) -> str:
    """lo..hi (inclusive) as a CIDR when it is one, else a dash range; or, at
    random, the same addresses as a dash range anyway."""
    size = hi - lo + 1
    if size & (size - 1) == 0 and lo % size == 0 and rng.random() < 0.6:
        return f"{prefix}.{lo}/{32 - size.bit_length() + 1}"
    return f"{prefix}.{lo}-{prefix}.{hi}"


def _allocation(
    rng: random.Random, ns_names: List[str], teams: List[str], previous: List[Dict[str, Any]]
) -> Optional[Dict[str, Any]]:
    r = rng.random()
    earlier = [p["spec"]["serviceAllocation"] for p in previous if "priority" in p["spec"].get("serviceAllocation", {})]
    if r < 0.12 and earlier:
        return json.loads(json.dumps(rng.choice(earlier)))  # a priority tie
    alloc: Optional[Dict[str, Any]] = None
    if r < 0.24:
        alloc = {"namespaces": [rng.choice(ns_names)]}
    elif r < 0.32:
        alloc = {"namespaceSelectors": [{"matchLabels": {"team": rng.choice(teams)}}]}
    elif r < 0.37:
        # matches no namespace: MetalLB then restricts nothing by namespace, and
        # never uses the pool for automatic allocation
        alloc = {"namespaceSelectors": [{"matchLabels": {"team": "nobody"}}]}
    elif r < 0.47:
        alloc = {"serviceSelectors": [{"matchLabels": {"app": rng.choice(["web", "db"])}}]}
    elif r < 0.52:
        alloc = {"namespaces": [rng.choice(ns_names)], "serviceSelectors": [{"matchLabels": {"app": "web"}}]}
    elif r < 0.56:
        alloc = {}
    if alloc is not None and rng.random() < 0.6:
        alloc["priority"] = rng.choice([1, 2, 2, 5])
    return alloc


def generate(seed: int, slot: int, run_id: str, n_services: int = 40) -> Scenario:
    rng = random.Random(seed)
    prefix, base = V4_SLABS[slot % len(V4_SLABS)]
    v6net = f"2001:db8:e2e:{seed & 0xFFFF:x}"
    tag = f"{run_id}-{seed}"

    teams = ["red", "blue"]
    namespaces = []
    for i in range(3):
        labels = {"team": teams[i % 2] if i < 2 else rng.choice(teams + ["green"])}
        namespaces.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"conf-{tag}-{i}", "labels": labels}}
        )
    ns_names = [n["metadata"]["name"] for n in namespaces]

    # IPv4 chunks cut from the slab, in order; the first (low half: holds .0)
    # or the last (high half: holds .255) touches the buggy address.
    n_pools = rng.randint(3, 5)
    cuts: List[Tuple[int, int]] = []
    cursor = base + (0 if base == 0 else 128 - 8 * n_pools * 2)
    for _ in range(n_pools * 2):
        size = rng.choice([2, 4, 4, 8])  # some small pools run out mid-scenario
        cuts.append((cursor, cursor + size - 1))
        cursor += 8
    if base == 128:  # high slab: the last chunk ends at .255
        lo, _ = cuts[-1]
        cuts[-1] = (lo, 255)
    rng.shuffle(cuts)

    pools: List[Dict[str, Any]] = []
    for i in range(n_pools):
        kind = rng.choices(["v4", "v6", "dual"], weights=[3, 2, 5])[0]
        addresses: List[str] = []
        if kind in ("v4", "dual"):
            for _ in range(rng.choice([1, 1, 2])):
                lo, hi = cuts.pop()
                addresses.append(_v4_block(rng, prefix, lo, hi))
        if kind in ("v6", "dual"):
            lo = 0x100 * (i + 1)
            size = rng.choice([2, 4, 8])
            if rng.random() < 0.5:
                addresses.append(f"{v6net}::{lo:x}/{128 - size.bit_length() + 1}")
            else:
                addresses.append(f"{v6net}::{lo:x}-{v6net}::{lo + size - 1:x}")
        spec: Dict[str, Any] = {"addresses": addresses}
        if rng.random() < 0.35:
            spec["avoidBuggyIPs"] = True
        if rng.random() < 0.1:
            spec["autoAssign"] = False
        alloc = _allocation(rng, ns_names, teams, pools)
        if alloc is not None:
            spec["serviceAllocation"] = alloc
        pools.append(
            {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "IPAddressPool",
                "metadata": {"name": f"p{i}-{tag}", "namespace": METALLB_NS},
                "spec": spec,
            }
        )
    # Most of the time, one plain pool at least, as real clusters have.
    if (
        all("serviceAllocation" in p["spec"] or p["spec"].get("autoAssign") is False for p in pools)
        and rng.random() < 0.8
    ):
        pools[0]["spec"].pop("serviceAllocation", None)
        pools[0]["spec"].pop("autoAssign", None)

    probe_ip = f"{v6net}::ffff"
    probe_pool = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": f"probe-{tag}", "namespace": METALLB_NS},
        "spec": {
            "addresses": [f"{probe_ip}/128"],
            "autoAssign": False,
            "serviceAllocation": {"namespaces": [f"conf-{tag}-probe"]},
        },
    }

    gen = _ServiceGen(rng, pools, ns_names, prefix, v6net)
    services: List[Dict[str, Any]] = []
    while len(services) < n_services:
        if rng.random() < 0.2:
            chain = gen.chain(len(services))
            if chain:
                services += chain
                gen.chains += 1
                continue
        services.append(gen.make(f"s{len(services):02d}"))
    return Scenario(seed, namespaces, pools, services, probe_pool, probe_ip, gen.chains)


def pool_addresses(pool: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    """All IPv4 and IPv6 addresses of a (small) generated pool, in order."""
    v4: List[str] = []
    v6: List[str] = []
    for text in pool["spec"]["addresses"]:
        if "-" in text:
            a, b = (ipaddress.ip_address(x) for x in text.split("-"))
            addrs = [ipaddress.ip_address(int(a) + k) for k in range(int(b) - int(a) + 1)]
        else:
            addrs = list(ipaddress.ip_network(text))
        for addr in addrs:
            (v4 if addr.version == 4 else v6).append(str(addr))
    return v4, v6


def _ports(ports: Iterable[Tuple[str, int]]) -> List[Dict[str, Any]]:
    return [{"name": f"{p.lower()}-{n}", "protocol": p, "port": n} for p, n in ports]


class _ServiceGen:
    def __init__(self, rng: random.Random, pools, ns_names, prefix: str, v6net: str):
        self.rng = rng
        self.pools = pools
        self.ns_names = ns_names
        self.prefix = prefix
        self.v6net = v6net
        self.chains = 0
        self.addrs = {p["metadata"]["name"]: pool_addresses(p) for p in pools}
        # address -> the first service that asked for it (its sharing-relevant
        # fields), so later services can try to share it, rightly or wrongly
        self.owner: Dict[str, Dict[str, Any]] = {}

    def _pool_with(self, fams: Sequence[str]) -> Optional[str]:
        names = [n for n, (v4, v6) in self.addrs.items() if ("v4" not in fams or v4) and ("v6" not in fams or v6)]
        return self.rng.choice(names) if names else None

    def _fresh(self, fam: str, pool: Optional[str] = None) -> Optional[str]:
        pool = pool or self._pool_with([fam])
        if pool is None:
            return None
        choices = self.addrs[pool][fam == "v6"]
        fresh = [a for a in choices if a not in self.owner and not a.endswith((".0", ".255"))]
        return self.rng.choice(fresh) if fresh else None

    def _one(self, fam: str, pool: Optional[str] = None) -> Optional[str]:
        """An address of the family: 30% one asked for before (sharing), else a
        fresh one of the pool (a random pool with that family when none given)."""
        rng = self.rng
        v6 = fam == "v6"
        if rng.random() < 0.3:
            seen = [a for a in self.owner if (":" in a) == v6 and (pool is None or a in self.addrs[pool][v6])]
            if seen:
                return rng.choice(seen)
        pool = pool or self._pool_with([fam])
        if pool is None:
            return None
        choices = self.addrs[pool][v6]
        fresh = [a for a in choices if a not in self.owner]
        return rng.choice(fresh or choices)

    def _request(self, family: str) -> List[str]:
        """Addresses to request for a service of ``family`` (v4, v6 or dual):
        mostly plausible ones, sometimes each kind of mistake."""
        rng = self.rng
        mode = rng.choices(
            ["ok", "outside", "wrong-family", "split", "buggy", "too-many"], weights=[74, 4, 8, 6, 4, 4]
        )[0]
        if mode == "outside":
            if family == "v6":
                return ["2001:db8:ffff::1"]
            return ["203.0.113.250" if not self.prefix.startswith("203") else "198.51.100.250"]
        if mode == "buggy":
            return [rng.choice([f"{self.prefix}.0", f"{self.prefix}.255"])]
        if mode == "too-many":
            a, b = self._one("v4"), self._one("v4")
            if a and b and a != b:
                return [a, b]
        if mode == "wrong-family":
            other = {"v4": ["v6"], "v6": ["v4"], "dual": [rng.choice(["v4", "v6"])]}[family]
            got = [self._one(f) for f in other]
            if all(got):
                return got  # type: ignore[return-value]
        if family == "dual":
            if mode == "split":
                a, b = self._one("v4"), self._one("v6")
                if a and b:
                    return [a, b]
            pool = self._pool_with(["v4", "v6"])
            if pool is None:
                return [x for x in (self._one("v4"), self._one("v6")) if x]
            return [self._one("v4", pool), self._one("v6", pool)]  # type: ignore[list-item]
        got = self._one(family)
        return [got] if got else []

    def _sharing_key(self, annotations: Dict[str, str], key: Optional[str]) -> None:
        """The sharing key through either annotation, sometimes both (differing:
        the current one wins, even when empty)."""
        rng = self.rng
        r = rng.random()
        if key is None:
            if r < 0.05:  # an empty current key hides the deprecated one: no key
                annotations[CURRENT + SHARED] = ""
                annotations[DEPRECATED + SHARED] = rng.choice(["k1", "k2"])
            return
        if r < 0.15:
            annotations[DEPRECATED + SHARED] = key
        elif r < 0.25:
            annotations[CURRENT + SHARED] = key
            annotations[DEPRECATED + SHARED] = "k1" if key != "k1" else "k2"
        else:
            annotations[CURRENT + SHARED] = key

    def _pool_annotation(self, annotations: Dict[str, str]) -> None:
        rng = self.rng
        r = rng.random()
        if r >= 0.16:
            return
        pool = rng.choice(self.pools)["metadata"]["name"]
        other = rng.choice(self.pools)["metadata"]["name"]
        if r < 0.09:
            annotations[CURRENT + POOL_KEY] = pool
        elif r < 0.12:
            annotations[DEPRECATED + POOL_KEY] = pool
        elif r < 0.14:  # both, differing: the current one wins
            annotations[CURRENT + POOL_KEY] = pool
            annotations[DEPRECATED + POOL_KEY] = other
        else:  # an empty current key hides the deprecated one: no pool asked
            annotations[CURRENT + POOL_KEY] = ""
            annotations[DEPRECATED + POOL_KEY] = other

    def _family_spec(self, shape: str) -> Dict[str, Any]:
        spec: Dict[str, Any] = {"type": "LoadBalancer"}
        if shape == "v4":
            spec.update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv4"])
        elif shape == "v6":
            spec.update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv6"])
        elif shape == "require":
            spec.update(ipFamilyPolicy="RequireDualStack")
            if self.rng.random() < 0.3:
                spec["ipFamilies"] = ["IPv6", "IPv4"]
        elif shape == "prefer":
            spec.update(ipFamilyPolicy="PreferDualStack")
        else:
            spec.update(ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv6", "IPv4"])
        return spec

    def _write_request(self, annotations: Dict[str, str], spec: Dict[str, Any], addrs: List[str]) -> None:
        rng = self.rng
        addrs = [f"::ffff:{a}" if "." in a and rng.random() < 0.06 else a for a in addrs]
        text = (", " if rng.random() < 0.1 else ",").join(addrs)
        how = rng.random()
        if how < 0.1 and len(addrs) == 1:
            spec["loadBalancerIP"] = addrs[0]
        elif how < 0.18:
            annotations[DEPRECATED + LB_IPS] = text
        elif how < 0.22:
            # the current key wins even when empty: no request at all
            annotations[CURRENT + LB_IPS] = ""
            annotations[DEPRECATED + LB_IPS] = text
        elif how < 0.25:
            # both keys, differing: the current one is the request
            annotations[CURRENT + LB_IPS] = text
            annotations[DEPRECATED + LB_IPS] = self._fresh("v4") or f"{self.prefix}.1"
        elif how < 0.28 and len(addrs) == 1:
            # both the annotation and spec.loadBalancerIP: MetalLB allocates nothing
            annotations[CURRENT + LB_IPS] = text
            spec["loadBalancerIP"] = addrs[0]
        elif how < 0.31:
            annotations[CURRENT + LB_IPS] = text + ",192.0.2.300"
        else:
            annotations[CURRENT + LB_IPS] = text

    def make(self, name: str) -> Dict[str, Any]:
        rng = self.rng
        ns = rng.choice(self.ns_names)
        meta: Dict[str, Any] = {"name": name, "namespace": ns}
        app = rng.choice(["web", "db", None])
        if app:
            meta["labels"] = {"app": app}
        annotations: Dict[str, str] = {}
        shape = rng.choices(["v4", "v6", "require", "prefer", "prefer6"], weights=[35, 15, 25, 15, 10])[0]
        spec = self._family_spec(shape)
        family = {"v4": "v4", "v6": "v6"}.get(shape, "dual")
        ports = rng.sample(PORTS, rng.choice([1, 1, 2]))
        selector = {"app": rng.choice(["a", "b"])}
        local = rng.random() < 0.3
        key = rng.choice(["k1", "k1", "k2"]) if rng.random() < 0.5 else None

        addrs: List[str] = []
        if rng.random() < 0.68:
            addrs = self._request(family)
            owners = [self.owner[a] for a in addrs if a in self.owner]
            if owners and rng.random() < 0.7:
                # mean to share: the owner's key and (mostly) backends, other
                # ports (but a wrong key, other pods under Local or a common
                # port remain possible)
                o = owners[0]
                key = o["key"] or key
                if rng.random() < 0.85:
                    selector, local = dict(o["selector"]), o["local"]
                free_ports = [p for p in PORTS if p not in o["ports"]]
                if free_ports and rng.random() < 0.85:
                    ports = rng.sample(free_ports, 1)
            for a in addrs:
                self.owner.setdefault(a, {"key": key, "ports": ports, "selector": selector, "local": local})
        spec["ports"] = _ports(ports)
        spec["selector"] = selector
        if local:
            spec["externalTrafficPolicy"] = "Local"
        self._sharing_key(annotations, key)
        if addrs:
            self._write_request(annotations, spec, addrs)
        self._pool_annotation(annotations)
        if annotations:
            meta["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}

    # -- chains: a service MetalLB refuses, then one that takes its address --

    def _svc(
        self,
        name: str,
        ns: str,
        shape: str,
        annotations: Dict[str, str],
        ports=(("TCP", 80),),
        selector: Optional[Dict[str, str]] = None,
        local: bool = False,
        labels: Optional[Dict[str, str]] = None,
    ) -> Dict[str, Any]:
        spec = self._family_spec(shape)
        spec["ports"] = _ports(ports)
        spec["selector"] = selector or {"app": "a"}
        if local:
            spec["externalTrafficPolicy"] = "Local"
        meta: Dict[str, Any] = {"name": name, "namespace": ns, "annotations": annotations}
        if labels:
            meta["labels"] = labels
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}

    def chain(self, at: int) -> List[Dict[str, Any]]:
        rng = self.rng
        fam = rng.choice(["v4", "v4", "v6"])
        pool = self._pool_with([fam])
        addr = self._fresh(fam, pool) if pool else None
        if addr is None:
            return []
        reasons = ["family", "mapped", "local-backend", "deprecated-key", "overridden-key"]
        if len(self.pools) > 1:
            reasons.append("pool-annotation")
        if self._refusing(pool) is not None:
            reasons += ["incompatible", "incompatible"]
        reason = rng.choice(reasons)
        names = [f"s{at + i:02d}" for i in range(3)]
        ns = rng.choice(self.ns_names)
        for_ns = self._admitting_namespace(pool) or ns
        taker_ann = {CURRENT + LB_IPS: addr}
        if rng.random() < 0.3:
            taker_ann[DEPRECATED + SHARED] = "k9"  # a deprecated key nobody else has
        taker = self._svc(names[-1], for_ns, fam, taker_ann, labels=self._admitted_labels(pool))
        self.owner[addr] = {"key": None, "ports": [("TCP", 80)], "selector": {"app": "a"}, "local": False}
        other_fam = "v6" if fam == "v4" else "v4"
        if reason in ("family", "mapped"):
            text = f"::ffff:{addr}" if reason == "mapped" and fam == "v4" else addr
            shape = other_fam if reason == "mapped" or rng.random() < 0.5 else "require"
            ann = {CURRENT + LB_IPS: text}
            if rng.random() < 0.5:
                ann[DEPRECATED + SHARED] = "k1"
            pending = self._svc(names[0], for_ns, shape, ann, labels=self._admitted_labels(pool))
            return [pending, _renamed(taker, names[1])]
        if reason == "pool-annotation":
            others = [p["metadata"]["name"] for p in self.pools if p["metadata"]["name"] != pool]
            if not others:
                return []
            key = rng.choice([CURRENT, DEPRECATED]) + POOL_KEY
            pending = self._svc(
                names[0],
                for_ns,
                fam,
                {CURRENT + LB_IPS: addr, key: rng.choice(others)},
                labels=self._admitted_labels(pool),
            )
            return [pending, _renamed(taker, names[1])]
        if reason == "incompatible":
            refused = self._refusing(pool)
            if refused is None:
                return []
            bad_ns, bad_labels = refused
            pending = self._svc(names[0], bad_ns, fam, {CURRENT + LB_IPS: addr}, labels=bad_labels)
            return [pending, _renamed(taker, names[1])]
        # sharing: a holder, a refused sharer, then one that shares with the holder
        holder_ann = {CURRENT + LB_IPS: addr, CURRENT + SHARED: "k1"}
        local = reason == "local-backend"
        holder = self._svc(
            names[0],
            for_ns,
            fam,
            holder_ann,
            ports=[("TCP", 80)],
            selector={"app": "a"},
            local=local,
            labels=self._admitted_labels(pool),
        )
        if reason == "local-backend":
            bad = self._svc(
                names[1],
                for_ns,
                fam,
                {CURRENT + LB_IPS: addr, CURRENT + SHARED: "k1"},
                ports=[("UDP", 53)],
                selector={"app": "b"},
                local=True,
                labels=self._admitted_labels(pool),
            )
        elif reason == "deprecated-key":
            bad = self._svc(
                names[1],
                for_ns,
                fam,
                {CURRENT + LB_IPS: addr, DEPRECATED + SHARED: "k2"},
                ports=[("UDP", 53)],
                labels=self._admitted_labels(pool),
            )
        else:  # the current key overrides the deprecated one that would have matched
            bad = self._svc(
                names[1],
                for_ns,
                fam,
                {CURRENT + LB_IPS: addr, CURRENT + SHARED: "k2", DEPRECATED + SHARED: "k1"},
                ports=[("UDP", 53)],
                labels=self._admitted_labels(pool),
            )
        sharer_ann = {CURRENT + LB_IPS: addr, rng.choice([CURRENT, DEPRECATED]) + SHARED: "k1"}
        sharer = self._svc(
            names[2],
            for_ns,
            fam,
            sharer_ann,
            ports=[("TCP", 443)],
            selector={"app": "a"},
            local=local,
            labels=self._admitted_labels(pool),
        )
        return [holder, bad, sharer]

    def _pool_spec(self, name: Optional[str]) -> Dict[str, Any]:
        for p in self.pools:
            if p["metadata"]["name"] == name:
                return p["spec"]
        return {}

    def _admitting_namespace(self, pool: Optional[str]) -> Optional[str]:
        alloc = self._pool_spec(pool).get("serviceAllocation") or {}
        listed = alloc.get("namespaces")
        return self.rng.choice(listed) if listed else None

    def _admitted_labels(self, pool: Optional[str]) -> Optional[Dict[str, str]]:
        alloc = self._pool_spec(pool).get("serviceAllocation") or {}
        sels = alloc.get("serviceSelectors")
        return dict(sels[0]["matchLabels"]) if sels else None

    def _refusing(self, pool: Optional[str]) -> Optional[Tuple[str, Optional[Dict[str, str]]]]:
        """A namespace and labels the pool's serviceAllocation refuses, if any."""
        alloc = self._pool_spec(pool).get("serviceAllocation") or {}
        if alloc.get("serviceSelectors"):
            return self.rng.choice(self.ns_names), {"app": "other"}
        if alloc.get("namespaces"):
            outside = [n for n in self.ns_names if n not in alloc["namespaces"]]
            return (self.rng.choice(outside), None) if outside else None
        return None


def _renamed(manifest: Dict[str, Any], name: str) -> Dict[str, Any]:
    out = json.loads(json.dumps(manifest))
    out["metadata"]["name"] = name
    return out


# --------------------------------------------------------------------------
# what a service requests (MetalLB's getDesiredLbIPs, written apart from the
# plugin's model on purpose)


def request_of(manifest: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """(how, text): how is 'annotation' (either key: the current one when present,
    even empty), 'spec', 'both', or None (no request)."""
    ann = manifest["metadata"].get("annotations") or {}
    spec_ip = manifest["spec"].get("loadBalancerIP") or ""
    if CURRENT + LB_IPS in ann:
        text = ann[CURRENT + LB_IPS]
    else:
        text = ann.get(DEPRECATED + LB_IPS, "")
    if text == "":
        return ("spec", spec_ip) if spec_ip else (None, "")
    return ("both" if spec_ip else "annotation"), text


def canonical_set(texts: Iterable[str]) -> Optional[Set[str]]:
    """Addresses as MetalLB prints them (IPv4-mapped IPv6 as IPv4); None if one
    does not parse."""
    out = set()
    for text in texts:
        try:
            addr = ipaddress.ip_address(text.strip())
        except ValueError:
            return None
        if addr.version == 6 and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        out.add(str(addr))
    return out


# --------------------------------------------------------------------------
# MetalLB's outcome


# The check codes that are a verdict on a request (what MetalLB refuses it for), and
# the codes each of MetalLB's AllocationFailed messages names: the model's own table.
REQUEST_CODES = rules.REQUEST_CODES
codes_for_message = rules.codes_for_event


@dataclass
class Outcome:
    assigned: List[str]
    pool: str = ""
    failure: str = ""
    seconds: float = 0.0


def _ingress(svc: Dict[str, Any]) -> List[str]:
    return [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or () if i.get("ip")]


class Api:
    """The few raw API calls the runner needs to set a scenario up and watch
    MetalLB (the plugin's own HTTP client: a kubectl process per poll is slow)."""

    def __init__(self, client):
        self.client = client

    def path_of(self, obj: Dict[str, Any]) -> str:
        """Where a POST creates ``obj``."""
        ns = obj["metadata"].get("namespace")
        return {
            "Namespace": "/api/v1/namespaces",
            "Service": f"/api/v1/namespaces/{ns}/services",
            "IPAddressPool": f"/apis/metallb.io/v1beta1/namespaces/{ns}/ipaddresspools",
        }[obj["kind"]]

    def create(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        return self.client.request("POST", self.path_of(obj), body=obj, content_type="application/json")

    def get_service(self, ns: str, name: str) -> Dict[str, Any]:
        return self.client.request("GET", f"/api/v1/namespaces/{ns}/services/{name}")

    def failures(self, ns: str, name: str) -> List[str]:
        sel = f"involvedObject.name={name},involvedObject.kind=Service,reason=AllocationFailed"
        page = self.client.request("GET", f"/api/v1/namespaces/{ns}/events", [("fieldSelector", sel)])
        return [e.get("message") or "" for e in page.get("items") or ()]

    def delete(self, path: str) -> None:
        try:
            self.client.request("DELETE", path)
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass

    def wait_outcome(self, ns: str, name: str, timeout: float = 15.0) -> Outcome:
        t0 = time.monotonic()
        polls = 0
        while True:
            svc = self.get_service(ns, name)
            ingress = _ingress(svc)
            if ingress:
                pool = (svc["metadata"].get("annotations") or {}).get(CURRENT + "ip-allocated-from-pool", "")
                return Outcome(ingress, pool, seconds=time.monotonic() - t0)
            if polls % 2 == 1:  # events are cheaper to poll less often
                failed = self.failures(ns, name)
                if failed:
                    return Outcome([], failure=failed[0], seconds=time.monotonic() - t0)
            if time.monotonic() - t0 > timeout:
                return Outcome(
                    [], failure="(timeout: no ingress and no AllocationFailed event)", seconds=time.monotonic() - t0
                )
            polls += 1
            time.sleep(0.03)


# --------------------------------------------------------------------------
# the plugin, as a user runs it


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


class Lbip:
    """`kubectl lbip ARGS` against the cluster of ``kubeconfig``: kubectl finds
    kubectl-lbip on PATH (this interpreter's bin directory first)."""

    def __init__(self, kubeconfig: str, workers: int = 3):
        self.kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
        self.env = dict(
            os.environ,
            KUBECONFIG=kubeconfig,
            PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
        )
        self.workers = workers
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, *args: str) -> Run:
        t0 = time.monotonic()
        res = subprocess.run(
            [self.kubectl, "lbip", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            stdin=subprocess.DEVNULL,
        )
        self.calls += 1
        self.seconds += time.monotonic() - t0
        return Run(res.returncode, res.stdout, res.stderr)

    def kubectl_get(self, *args: str) -> str:
        res = subprocess.run(
            [self.kubectl, "get", *args], capture_output=True, text=True, timeout=120, env=self.env, check=True
        )
        return res.stdout

    def many(self, calls: Sequence[Tuple[str, ...]]) -> List[Run]:
        """Read-only calls, a few at a time (each is mostly interpreter start-up)."""
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda args: self(*args), calls))


# --------------------------------------------------------------------------
# comparison


@dataclass
class Verdict:
    """One channel's answer on one service, and whether MetalLB agrees."""

    channel: str
    seed: int
    service: str  # namespace/name
    agree: bool
    why: str = ""
    kind: str = "request"  # request, pick or pin


@dataclass
class Subject:
    """A service of the scenario and what MetalLB did with it."""

    manifest: Dict[str, Any]
    outcome: Outcome
    how: Optional[str] = None
    text: str = ""
    final: List[str] = field(default_factory=list)  # ingress once every service exists

    @property
    def key(self) -> str:
        m = self.manifest["metadata"]
        return f"{m['namespace']}/{m['name']}"

    @property
    def requested(self) -> Optional[Set[str]]:
        return canonical_set(self.text.split(",")) if self.how else None


def metallb_verdict(sub: Subject) -> Tuple[Optional[bool], str, Set[str]]:
    """(accepted, detail, codes of its refusal) for a request; accepted None when
    MetalLB did something the comparison cannot judge."""
    held = canonical_set(sub.final) or set()
    want = sub.requested
    if held and want is not None and held == want:
        return True, f"MetalLB assigned {sorted(held)}", set()
    if held:
        return None, f"MetalLB holds {sorted(held)}, not the request {sub.text!r}", set()
    codes = codes_for_message(sub.outcome.failure)
    if codes is None:
        return None, f"unmapped MetalLB answer: {sub.outcome.failure}", set()
    return False, sub.outcome.failure, codes


def judge_request(channel: str, seed: int, sub: Subject, errors: Set[str], flagged: Set[str], detail: str) -> Verdict:
    """errors: the request-rule codes the plugin refuses with; flagged: every
    request-rule code it names at all (errors and warnings)."""
    return compare_request(channel, seed, sub.key, metallb_verdict(sub), "MetalLB", errors, flagged, detail)


def compare_request(
    channel: str,
    seed: int,
    key: str,
    judged: Tuple[Optional[bool], str, Set[str]],
    judge: str,
    errors: Set[str],
    flagged: Set[str],
    detail: str,
) -> Verdict:
    """The plugin's answer on a request against the judge's: ``judged`` is (accepted,
    what the judge did, the codes that name its refusal), accepted None when the
    judge did something the comparison cannot judge."""
    accepted, said, codes = judged
    if accepted is None:
        return Verdict(channel, seed, key, False, said)
    if accepted:
        if flagged:
            return Verdict(channel, seed, key, False, f"{said}, the plugin flags it {sorted(flagged)}: {detail}")
        return Verdict(channel, seed, key, True)
    if not errors:
        return Verdict(
            channel,
            seed,
            key,
            False,
            f"{judge} refused ({said}); the plugin accepts it{': ' + detail if detail else ''}",
        )
    if not errors & codes:
        return Verdict(
            channel,
            seed,
            key,
            False,
            f"both refuse, {judge} for {sorted(codes)} ({said}), the plugin for {sorted(errors)}: {detail}",
        )
    return Verdict(channel, seed, key, True)


def check_findings(run: Run) -> Dict[str, List[Dict[str, Any]]]:
    """`check -o json` findings per namespace/name."""
    if run.code not in (0, 1):
        raise AssertionError(f"check failed ({run.code}): {run.stderr}")
    out: Dict[str, List[Dict[str, Any]]] = collections.defaultdict(list)
    for f in json.loads(run.stdout)["findings"]:
        if f["kind"] == "Service":
            out[f"{f['namespace']}/{f['name']}"].append(f)
    return out


def request_findings(findings: List[Dict[str, Any]], codes: Iterable[str]) -> Tuple[Set[str], Set[str], str]:
    """(the error codes, every code, the text) of the findings with one of ``codes``."""
    known = set(codes)
    mine = [f for f in findings if f["code"] in known]
    errors = {f["code"] for f in mine if f["severity"] == "error"}
    detail = "; ".join(f"{f['severity']} [{f['code']}] {f['message']}" for f in mine)
    return errors, {f["code"] for f in mine}, detail


def annotate_codes(run: Run, codes: Iterable[str]) -> Tuple[Set[str], Set[str]]:
    """(errors, warnings): the codes of ``codes`` annotate's stderr names on its
    "error: [code] ..." and "warning: [code] ..." lines."""
    lines = run.stderr.splitlines()
    known = set(codes)

    def named(word: str) -> Set[str]:
        return {line[len(word) + 3 :].split("]", 1)[0] for line in lines if line.startswith(f"{word}: [")} & known

    return named("error"), named("warning")


def judge_check(channel: str, seed: int, sub: Subject, findings: List[Dict[str, Any]]) -> Verdict:
    errors, flagged, detail = request_findings(findings, REQUEST_CODES)
    return judge_request(channel, seed, sub, errors, flagged, detail)


def annotate_args(sub: Subject) -> Tuple[str, ...]:
    """`annotate` for the same request: the same addresses on the same service;
    a spec.loadBalancerIP request moved to the annotation (--clear-spec-ip)."""
    m = sub.manifest["metadata"]
    args = ["annotate", m["name"], sub.text, "-n", m["namespace"], "--overwrite", "--dry-run=client", "-o", "json"]
    if sub.how == "spec":
        args.append("--clear-spec-ip")
    return tuple(args)


def judge_annotate(seed: int, sub: Subject, run: Run) -> Verdict:
    errors, warnings = annotate_codes(run, REQUEST_CODES)
    if run.code == 2 and "is not an IP address" in run.stderr:
        errors = {"invalid-request"}
    elif run.code not in (0, 1):
        return Verdict("annotate", seed, sub.key, False, f"exit {run.code}: {run.stderr.strip()}")
    if run.code == 1 and not errors:
        errors = {"?"}
    return judge_request("annotate", seed, sub, errors, errors | warnings, run.stderr.strip())


def judge_pick(seed: int, sub: Subject, run: Run) -> Verdict:
    """`free --for`'s metallbPick against what MetalLB assigned on its own."""
    try:
        pick = json.loads(run.stdout)["metallbPick"]
    except (ValueError, KeyError):
        return Verdict("pick", seed, sub.key, False, f"exit {run.code}: {run.stderr.strip()}", "pick")
    got = canonical_set(sub.outcome.assigned) or set()
    if not pick["pools"]:
        if got:
            return Verdict(
                "pick",
                seed,
                sub.key,
                False,
                f"plugin: nothing ({pick['note']}); MetalLB assigned {sorted(got)}",
                "pick",
            )
        return Verdict("pick", seed, sub.key, True, kind="pick")
    if not got:
        return Verdict(
            "pick",
            seed,
            sub.key,
            False,
            f"plugin picks {pick['candidates']}; MetalLB refused: {sub.outcome.failure}",
            "pick",
        )
    for cand in pick["candidates"]:
        want = {a for a in (cand["ipv4"], cand["ipv6"]) if a}
        if want == got and (not sub.outcome.pool or sub.outcome.pool == cand["pool"]):
            return Verdict("pick", seed, sub.key, True, kind="pick")
    return Verdict(
        "pick",
        seed,
        sub.key,
        False,
        f"plugin picks {pick['candidates']}; MetalLB assigned {sorted(got)} from {sub.outcome.pool}",
        "pick",
    )


# --------------------------------------------------------------------------
# running a scenario


@dataclass
class ScenarioResult:
    seed: int
    subjects: List[Subject]
    verdicts: List[Verdict]
    pins_without_suggestion: int = 0
    seconds: float = 0.0


def _wait_probe(api: Api, ns: str, ip: str, timeout: float = 30.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if ip in _ingress(api.get_service(ns, "probe")):
            return
        time.sleep(0.05)
    raise TimeoutError(f"MetalLB did not load scenario pools (probe {ns}/probe)")


def _setup(api: Api, sc: Scenario, probe_ns: str) -> None:
    for ns in sc.namespaces + [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": probe_ns}}]:
        api.create(ns)
    for pool in sc.pools:
        api.create(pool)
    # The probe pool last: once MetalLB assigns from it, it has seen every pool
    # (informer events of one kind arrive in order) and the namespaces before.
    api.create(sc.probe_pool)
    api.create(probe_service("probe", probe_ns, CURRENT + LB_IPS, sc.probe_ip))
    _wait_probe(api, probe_ns, sc.probe_ip)


def probe_service(name: str, namespace: str, key: str, address: str) -> Dict[str, Any]:
    """A service that asks, under the annotation ``key``, for one IPv6 ``address``:
    the judge's answer on it says the judge has seen what came before."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": {key: address}},
        "spec": {
            "type": "LoadBalancer",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv6"],
            "ports": [{"port": 1}],
        },
    }


def run_scenario(client, lbip: Lbip, sc: Scenario, pins: int = 8, log: Callable[[str], None] = print) -> ScenarioResult:
    """Create the scenario's objects, ask every channel; one Verdict per request
    and channel, per service requesting nothing (pick) and per pin."""
    t0 = time.monotonic()
    api = Api(client)
    tag = sc.probe_pool["metadata"]["name"][len("probe-") :]
    probe_ns = f"conf-{tag}-probe"
    _setup(api, sc, probe_ns)
    subjects: List[Subject] = []
    verdicts: List[Verdict] = []
    result = ScenarioResult(sc.seed, subjects, verdicts)
    try:
        for manifest in sc.services:
            meta = manifest["metadata"]
            api.create(manifest)
            sub = Subject(manifest, api.wait_outcome(meta["namespace"], meta["name"]), *request_of(manifest))
            subjects.append(sub)
            if sub.how is None:  # MetalLB chose: would the plugin have said so?
                verdicts.append(
                    judge_pick(sc.seed, sub, lbip("free", "--for", meta["name"], "-n", meta["namespace"], "-o", "json"))
                )
        verdicts += _request_channels(lbip, sc, subjects)
        verdicts += _pins(api, lbip, sc, subjects, pins, result)
    finally:
        cleanup(api, sc, probe_ns)
    for v in verdicts:
        if not v.agree:
            log(f"DISAGREE [{v.channel}] seed={v.seed} {v.service}: {v.why}")
    result.seconds = time.monotonic() - t0
    return result


def _request_channels(lbip: Lbip, sc: Scenario, subjects: List[Subject]) -> List[Verdict]:
    """check live, check -f on a dump, and annotate --dry-run=client, for every
    request, on the state once every service exists."""
    dump_text = lbip.kubectl_get("namespaces,ipaddresspools.metallb.io,services", "-A", "-o", "json")
    final = {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": _ingress(o)
        for o in json.loads(dump_text)["items"]
        if o.get("kind") == "Service"
    }
    requests = [s for s in subjects if s.how]
    for sub in subjects:
        sub.final = final.get(sub.key, [])
    with tempfile.TemporaryDirectory(prefix="lbip-conformance-") as tmp:
        dump = os.path.join(tmp, "cluster.json")
        with open(dump, "w") as fh:
            fh.write(dump_text)
        calls: List[Tuple[str, ...]] = []
        for ns in sc.ns_names:
            calls.append(("check", "-n", ns, "-o", "json"))
            calls.append(("check", "-f", dump, "-n", ns, "-o", "json"))
        calls += [annotate_args(s) for s in requests]
        runs = lbip.many(calls)
    live, files = {}, {}
    for i in range(len(sc.ns_names)):
        live.update(check_findings(runs[2 * i]))
        files.update(check_findings(runs[2 * i + 1]))
    out = []
    for sub, run in zip(requests, runs[2 * len(sc.ns_names) :]):
        out.append(judge_check("check-live", sc.seed, sub, live.get(sub.key, [])))
        out.append(judge_check("check-file", sc.seed, sub, files.get(sub.key, [])))
        out.append(judge_annotate(sc.seed, sub, run))
    return out


def _pins(
    api: Api, lbip: Lbip, sc: Scenario, subjects: List[Subject], count: int, result: ScenarioResult
) -> List[Verdict]:
    """Pin a suggestion of `free --for` with `annotate --wait`: MetalLB must assign
    exactly it. Pending services first (what a user fixes), then a few held ones
    moved elsewhere."""
    rng = random.Random(sc.seed * 7919)
    pending = [s for s in subjects if not s.final]
    held = [s for s in subjects if s.final]
    rng.shuffle(pending)
    rng.shuffle(held)
    chosen = pending[: 2 * count] + held[:count]
    out: List[Verdict] = []
    for sub in chosen:
        if len(out) >= count:
            break
        m = sub.manifest["metadata"]
        free = lbip("free", "--for", m["name"], "-n", m["namespace"], "-o", "json", "--count", "3")
        suggestions = json.loads(free.stdout)["suggestions"] if free.stdout else []
        now = canonical_set(_ingress(api.get_service(m["namespace"], m["name"]))) or set()
        fresh = [s for s in suggestions if {a for a in (s["ipv4"], s["ipv6"]) if a} != now]
        if not fresh:
            result.pins_without_suggestion += 1
            continue
        pick = rng.choice(fresh)
        want = [a for a in (pick["ipv4"], pick["ipv6"]) if a]
        run = lbip(*pin_args(m["name"], m["namespace"], want))
        got = canonical_set(_ingress(api.get_service(m["namespace"], m["name"]))) or set()
        ok = run.code == 0 and got == set(want)
        out.append(
            Verdict(
                "pin",
                sc.seed,
                sub.key,
                ok,
                ""
                if ok
                else (
                    f"free suggested {want} ({pick['why']}); annotate --wait exit {run.code}: "
                    f"{(run.stdout + run.stderr).strip()}; MetalLB holds {sorted(got)}"
                ),
                "pin",
            )
        )
    return out


def pin_args(name: str, namespace: str, addresses: Sequence[str]) -> Tuple[str, ...]:
    """`annotate` writing a suggestion and waiting for the judge's answer."""
    return (
        "annotate",
        name,
        *addresses,
        "-n",
        namespace,
        "--overwrite",
        "--clear-spec-ip",
        "--wait",
        "--timeout",
        "20s",
    )


def cleanup(api: Api, sc: Scenario, probe_ns: str) -> None:
    for manifest in sc.services:
        meta = manifest["metadata"]
        api.delete(f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}")
    api.delete(f"/api/v1/namespaces/{probe_ns}/services/probe")
    for pool in sc.pools + [sc.probe_pool]:
        api.delete(f"/apis/metallb.io/v1beta1/namespaces/{METALLB_NS}/ipaddresspools/{pool['metadata']['name']}")


def scenario_yaml(sc: Scenario, upto: Optional[str] = None) -> str:
    """The scenario as one document list (for a disagreement's report)."""
    items = sc.namespaces + sc.pools
    for s in sc.services:
        items.append(s)
        if upto and f"{s['metadata']['namespace']}/{s['metadata']['name']}" == upto:
            break
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1)

"""Seeded random MetalLB scenarios, and a runner that compares the plugin's verdict
with what MetalLB's controller actually does (test_conformance.py).

A scenario is plain data: namespaces (with labels), IPAddressPools (IPv4, IPv6
and dual ranges, avoidBuggyIPs, serviceAllocation by namespace, namespace
selector, service selector and priority, autoAssign) and an ordered list of
LoadBalancer services (single- and dual-stack, ports, sharing keys, traffic
policies, requests through metallb.io/loadBalancerIPs, the deprecated
annotation or spec.loadBalancerIP, address-pool annotations, or no request).

The runner creates the services one at a time.  Before creating each one it
reads a snapshot of the live cluster and computes the plugin's verdict
in-process (``annotate.plan`` / ``rules.check_request`` for a request,
``suggest.metallb_pick`` otherwise); then it creates the service and waits for
MetalLB's outcome (status.loadBalancer.ingress, or an AllocationFailed event),
so every verdict is taken on exactly the state MetalLB decides on.
"""

from __future__ import annotations

import ipaddress
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from kubectl_lbip.commands import annotate
from kubectl_lbip.errors import UsageError
from kubectl_lbip.model import rules
from kubectl_lbip.model.services import CURRENT, DEPRECATED, Service
from kubectl_lbip.model.suggest import metallb_pick

METALLB_NS = "metallb-system"

# IPv4 "slabs" of 128 addresses in the documentation ranges.  Each scenario uses
# its own slab (and its own IPv6 /64), so a stale allocation of a previous
# scenario can never touch the next one.  Each slab holds exactly one address
# that avoidBuggyIPs excludes (.0 for a low half, .255 for a high half).
V4_SLABS = [("192.0.2", 0), ("192.0.2", 128), ("198.51.100", 0), ("198.51.100", 128),
            ("203.0.113", 0), ("203.0.113", 128)]

PORTS = [("TCP", 80), ("TCP", 443), ("UDP", 53)]


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


def generate(seed: int, slot: int, run_id: str, n_services: int = 40) -> Scenario:
    rng = random.Random(seed)
    prefix, base = V4_SLABS[slot % len(V4_SLABS)]
    v6net = f"2001:db8:e2e:{seed & 0xffff:x}"
    tag = f"{run_id}-{seed}"

    teams = ["red", "blue"]
    namespaces = []
    for i in range(3):
        labels = {"team": teams[i % 2] if i < 2 else rng.choice(teams + ["green"])}
        namespaces.append({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": f"conf-{tag}-{i}", "labels": labels}})
    ns_names = [n["metadata"]["name"] for n in namespaces]

    # IPv4 chunks cut from the slab, in order; the first (low half: holds .0)
    # or the last (high half: holds .255) touches the buggy address.
    n_pools = rng.randint(3, 5)
    cuts: List[Tuple[int, int]] = []
    cursor = base + (0 if base == 0 else 128 - 8 * n_pools * 2)
    for _ in range(n_pools * 2):
        size = rng.choice([4, 4, 8])
        cuts.append((cursor, cursor + size - 1))
        cursor += 8
    # high slab: make sure the last chunk ends at .255
    if base == 128:
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
            if rng.random() < 0.5 and size > 1:
                addresses.append(f"{v6net}::{lo:x}/{128 - size.bit_length() + 1}")
            else:
                addresses.append(f"{v6net}::{lo:x}-{v6net}::{lo + size - 1:x}")
        spec: Dict[str, Any] = {"addresses": addresses}
        if rng.random() < 0.35:
            spec["avoidBuggyIPs"] = True
        if rng.random() < 0.1:
            spec["autoAssign"] = False
        r = rng.random()
        alloc: Optional[Dict[str, Any]] = None
        if r < 0.15:
            alloc = {"namespaces": [rng.choice(ns_names)]}
        elif r < 0.25:
            alloc = {"namespaceSelectors": [{"matchLabels": {"team": rng.choice(teams)}}]}
        elif r < 0.38:
            alloc = {"serviceSelectors": [{"matchLabels": {"app": rng.choice(["web", "db"])}}]}
        elif r < 0.45:
            alloc = {"namespaces": [rng.choice(ns_names)],
                     "serviceSelectors": [{"matchLabels": {"app": "web"}}]}
        elif r < 0.5:
            alloc = {}
        if alloc is not None:
            if rng.random() < 0.6:
                alloc["priority"] = rng.choice([1, 2, 2, 5])
            spec["serviceAllocation"] = alloc
        pools.append({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                      "metadata": {"name": f"p{i}-{tag}", "namespace": METALLB_NS},
                      "spec": spec})
    # Most of the time, one plain pool at least, as real clusters have.
    if all("serviceAllocation" in p["spec"] or p["spec"].get("autoAssign") is False
           for p in pools) and rng.random() < 0.8:
        pools[0]["spec"].pop("serviceAllocation", None)
        pools[0]["spec"].pop("autoAssign", None)

    probe_ip = f"{v6net}::ffff"
    probe_pool = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                  "metadata": {"name": f"probe-{tag}", "namespace": METALLB_NS},
                  "spec": {"addresses": [f"{probe_ip}/128"], "autoAssign": False,
                           "serviceAllocation": {"namespaces": [f"conf-{tag}-probe"]}}}

    gen = _ServiceGen(rng, pools, ns_names, prefix, v6net)
    services = [gen.make(f"s{j:02d}") for j in range(n_services)]
    return Scenario(seed, namespaces, pools, services, probe_pool, probe_ip)


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


class _ServiceGen:
    def __init__(self, rng: random.Random, pools, ns_names, prefix: str, v6net: str):
        self.rng = rng
        self.pools = pools
        self.ns_names = ns_names
        self.prefix = prefix
        self.v6net = v6net
        self.addrs = {p["metadata"]["name"]: pool_addresses(p) for p in pools}
        # address -> the first service that asked for it (its sharing-relevant
        # fields), so later services can try to share it, rightly or wrongly
        self.owner: Dict[str, Dict[str, Any]] = {}

    def _pool_with(self, fams: Sequence[str]) -> Optional[str]:
        names = [n for n, (v4, v6) in self.addrs.items()
                 if ("v4" not in fams or v4) and ("v6" not in fams or v6)]
        return self.rng.choice(names) if names else None

    def _one(self, fam: str, pool: Optional[str] = None) -> Optional[str]:
        """An address of the family: 30% one asked for before (sharing), else a
        fresh one of the pool (a random pool with that family when none given)."""
        rng = self.rng
        v6 = fam == "v6"
        if rng.random() < 0.3:
            seen = [a for a in self.owner if (":" in a) == v6
                    and (pool is None or a in self.addrs[pool][v6])]
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
        mode = rng.choices(["ok", "outside", "wrong-family", "split", "buggy", "too-many"],
                           weights=[74, 4, 8, 6, 4, 4])[0]
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

    def make(self, name: str) -> Dict[str, Any]:
        rng = self.rng
        ns = rng.choice(self.ns_names)
        meta: Dict[str, Any] = {"name": name, "namespace": ns}
        app = rng.choice(["web", "db", None])
        if app:
            meta["labels"] = {"app": app}
        annotations: Dict[str, str] = {}
        shape = rng.choices(["v4", "v6", "require", "prefer", "prefer6"],
                            weights=[35, 15, 25, 15, 10])[0]
        spec: Dict[str, Any] = {"type": "LoadBalancer"}
        family = {"v4": "v4", "v6": "v6"}.get(shape, "dual")
        if shape == "v4":
            spec.update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv4"])
        elif shape == "v6":
            spec.update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv6"])
        elif shape == "require":
            spec.update(ipFamilyPolicy="RequireDualStack")
            if rng.random() < 0.3:
                spec["ipFamilies"] = ["IPv6", "IPv4"]
        elif shape == "prefer":
            spec.update(ipFamilyPolicy="PreferDualStack")
        else:
            spec.update(ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv6", "IPv4"])
        ports = rng.sample(PORTS, rng.choice([1, 1, 2]))
        selector = {"app": rng.choice(["a", "b"])}
        local = rng.random() < 0.25
        r = rng.random()
        key = rng.choice(["k1", "k1", "k2"]) if r < 0.5 else None
        deprecated_key = r >= 0.45 and key is not None

        addrs: List[str] = []
        if rng.random() < 0.62:
            addrs = self._request(family)
            owners = [self.owner[a] for a in addrs if a in self.owner]
            if owners and rng.random() < 0.7:
                # mean to share: the owner's key and backends, other ports
                # (but a wrong key or a common port remain possible)
                o = owners[0]
                key = o["key"] or key
                deprecated_key = False
                selector, local = dict(o["selector"]), o["local"]
                free_ports = [p for p in PORTS if p not in o["ports"]]
                if free_ports and rng.random() < 0.85:
                    ports = rng.sample(free_ports, 1)
            for a in addrs:
                self.owner.setdefault(a, {"key": key, "ports": ports, "selector": selector,
                                          "local": local})
        spec["ports"] = [{"name": f"{p.lower()}-{n}", "protocol": p, "port": n}
                         for p, n in ports]
        spec["selector"] = selector
        if local:
            spec["externalTrafficPolicy"] = "Local"
        if key:
            annotations[(DEPRECATED if deprecated_key else CURRENT) + "allow-shared-ip"] = key
        if addrs:
            text = (", " if rng.random() < 0.1 else ",").join(addrs)
            how = rng.random()
            if how < 0.1 and len(addrs) == 1:
                spec["loadBalancerIP"] = addrs[0]
            elif how < 0.2:
                annotations[DEPRECATED + "loadBalancerIPs"] = text
            elif how < 0.24:
                # the current key wins even when empty: no request at all
                annotations[CURRENT + "loadBalancerIPs"] = ""
                annotations[DEPRECATED + "loadBalancerIPs"] = text
            elif how < 0.27 and len(addrs) == 1:
                # both the annotation and spec.loadBalancerIP: MetalLB allocates nothing
                annotations[CURRENT + "loadBalancerIPs"] = text
                spec["loadBalancerIP"] = addrs[0]
            elif how < 0.30:
                annotations[CURRENT + "loadBalancerIPs"] = text + ",192.0.2.300"
            else:
                annotations[CURRENT + "loadBalancerIPs"] = text
        if rng.random() < 0.12:
            pool = rng.choice(self.pools)["metadata"]["name"]
            deprecated_pool = rng.random() < 0.25
            annotations[(DEPRECATED if deprecated_pool else CURRENT) + "address-pool"] = pool
        if annotations:
            meta["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


# --------------------------------------------------------------------------
# the plugin's verdict


@dataclass
class Expectation:
    """What the plugin says MetalLB will do with one service."""

    kind: str                        # "request" or "auto"
    accept: bool
    codes: Set[str] = field(default_factory=set)      # refusal codes (request)
    addresses: Set[str] = field(default_factory=set)  # request: what is asked
    candidates: List[Dict[str, Any]] = field(default_factory=list)  # auto: per pool
    detail: str = ""


def _request_of(manifest: Dict[str, Any]) -> Tuple[Optional[str], List[str]]:
    """Where MetalLB takes the request from (controller getDesiredLbIPs): the
    metallb.io annotation when present (even empty), else the deprecated one;
    spec.loadBalancerIP when that is empty; both set is an error."""
    ann = manifest["metadata"].get("annotations") or {}
    spec_ip = manifest["spec"].get("loadBalancerIP") or ""
    if CURRENT + "loadBalancerIPs" in ann:
        how, text = "annotation", ann[CURRENT + "loadBalancerIPs"]
    elif DEPRECATED + "loadBalancerIPs" in ann:
        how, text = "deprecated", ann[DEPRECATED + "loadBalancerIPs"]
    else:
        how, text = None, ""
    if text == "":
        return ("spec", [spec_ip]) if spec_ip else (None, [])
    addrs = [a.strip() for a in text.split(",")]
    return ("both" if spec_ip else how), addrs


def plugin_expectation(cluster, manifest: Dict[str, Any]) -> Expectation:
    """The plugin's verdict on a service about to be created, on ``cluster``
    (the model of a snapshot read just before)."""
    how, addrs = _request_of(manifest)
    if how is None:
        svc = Service.from_object(manifest)
        pick = metallb_pick(cluster, svc)
        return Expectation("auto", bool(pick.pools), candidates=pick.candidates,
                           detail=pick.note)
    if how == "annotation":
        # What `kubectl lbip annotate NAME ADDRS` checks, on the service without
        # the annotation it is about to write.
        bare = json.loads(json.dumps(manifest))
        del bare["metadata"]["annotations"][CURRENT + "loadBalancerIPs"]
        svc = Service.from_object(bare)
        try:
            annotate.plan(cluster, svc, annotate.AnnotateRequest(name=svc.name, addresses=addrs))
        except annotate.Refused as err:
            return Expectation("request", False, {f.code for f in err.findings}, set(addrs),
                               detail="; ".join(f"[{f.code}] {f.message}" for f in err.findings))
        except UsageError as err:
            return Expectation("request", False, {rules.INVALID_REQUEST}, set(addrs),
                               detail=str(err))
        return Expectation("request", True, set(), set(addrs))
    svc = Service.from_object(manifest)
    if how == "both":
        # what `check` says of such a service (its requests are not checked further)
        findings = [f for f in rules.check_service(cluster, svc)
                    if f.severity == rules.ERROR and f.code != rules.PENDING]
    else:
        findings = [f for f in rules.check_request(cluster, svc, svc.request).findings
                    if f.severity == rules.ERROR]
    return Expectation("request", not findings, {f.code for f in findings}, set(addrs),
                       detail="; ".join(f"[{f.code}] {f.message}" for f in findings))


# --------------------------------------------------------------------------
# MetalLB's outcome


# MetalLB's AllocationFailed messages (v0.15 controller/service.go and
# internal/allocator) -> the plugin's codes that name the same broken rule.
MESSAGE_CODES = [
    ("does not match the ipFamily of the service", {rules.FAMILY_MISMATCH}),
    ("is not allowed in config", {rules.NOT_IN_POOL, rules.BUGGY_IP, rules.SPLIT_POOL}),
    ("not compatible for ip assignment", {rules.POOL_INCOMPATIBLE}),
    ("is not compatible with requested address pool", {rules.POOL_ANNOTATION_MISMATCH}),
    ("can't change sharing key", {rules.ADDRESS_CONFLICT}),
    ("is already in use on", {rules.ADDRESS_CONFLICT}),
    ("same address family", {rules.TOO_MANY}),
    ("has the same family", {rules.TOO_MANY}),
    ("invalid ips length", {rules.TOO_MANY}),
    ("more than two addresses", {rules.TOO_MANY}),
    ("service can not have both", {rules.BOTH_SPEC_AND_ANNOTATION}),
    ("invalid metallb.io/loadBalancerIPs", {rules.INVALID_REQUEST}),
    ("invalid spec.loadBalancerIP", {rules.INVALID_REQUEST}),
]


def codes_for_message(message: str) -> Optional[Set[str]]:
    for needle, codes in MESSAGE_CODES:
        if needle in message:
            return codes
    return None


@dataclass
class Outcome:
    assigned: List[str]
    pool: str = ""
    failure: str = ""
    seconds: float = 0.0


class Api:
    """The few raw API calls the runner needs, through the plugin's own client
    (much faster than a kubectl process per poll)."""

    def __init__(self, client):
        self.client = client

    def create(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace")
        path = {
            "Namespace": "/api/v1/namespaces",
            "Service": f"/api/v1/namespaces/{ns}/services",
            "IPAddressPool": f"/apis/metallb.io/v1beta1/namespaces/{ns}/ipaddresspools",
        }[kind]
        return self.client.request("POST", path, body=obj, content_type="application/json")

    def get_service(self, ns: str, name: str) -> Dict[str, Any]:
        return self.client.request("GET", f"/api/v1/namespaces/{ns}/services/{name}")

    def failures(self, ns: str, name: str) -> List[str]:
        sel = f"involvedObject.name={name},involvedObject.kind=Service,reason=AllocationFailed"
        page = self.client.request("GET", f"/api/v1/namespaces/{ns}/events",
                                   [("fieldSelector", sel)])
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
            ingress = [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {})
                       .get("ingress") or () if i.get("ip")]
            if ingress:
                pool = ((svc["metadata"].get("annotations") or {})
                        .get("metallb.io/ip-allocated-from-pool", ""))
                return Outcome(ingress, pool, seconds=time.monotonic() - t0)
            if polls % 2 == 1:  # events are cheaper to poll less often
                failed = self.failures(ns, name)
                if failed:
                    return Outcome([], failure=failed[0], seconds=time.monotonic() - t0)
            if time.monotonic() - t0 > timeout:
                return Outcome([], failure="(timeout: no ingress and no AllocationFailed event)",
                               seconds=time.monotonic() - t0)
            polls += 1
            time.sleep(0.03)


# --------------------------------------------------------------------------
# comparison


@dataclass
class Record:
    seed: int
    name: str
    manifest: Dict[str, Any]
    expectation: Expectation
    outcome: Outcome
    agree: bool
    why: str = ""


def compare(exp: Expectation, out: Outcome) -> Tuple[bool, str]:
    got = set(out.assigned)
    if exp.kind == "request":
        if exp.accept:
            if got == exp.addresses:
                return True, ""
            if not got:
                return False, f"plugin accepts, MetalLB refused: {out.failure}"
            return False, f"plugin accepts, MetalLB assigned {sorted(got)}"
        if got:
            return False, f"plugin refuses ({exp.detail}), MetalLB assigned {sorted(got)}"
        codes = codes_for_message(out.failure)
        if codes is None:
            return False, f"unmapped MetalLB message: {out.failure}"
        if not codes & exp.codes:
            return False, (f"both refuse, but MetalLB says {out.failure!r} (codes "
                           f"{sorted(codes)}) and the plugin {sorted(exp.codes)}: {exp.detail}")
        return True, ""
    # automatic allocation
    if not exp.accept:
        if got:
            return False, f"plugin: nothing ({exp.detail}); MetalLB assigned {sorted(got)}"
        return True, ""
    if not got:
        return False, f"plugin picks {exp.candidates}; MetalLB refused: {out.failure}"
    for cand in exp.candidates:
        want = {a for a in (cand["ipv4"], cand["ipv6"]) if a}
        if want == got and (not out.pool or out.pool == cand["pool"]):
            return True, ""
    return False, f"plugin picks {exp.candidates}; MetalLB assigned {sorted(got)} from {out.pool}"


# --------------------------------------------------------------------------
# running a scenario


def _wait_probe(api: Api, ns: str, ip: str, timeout: float = 30.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        svc = api.get_service(ns, "probe")
        ingress = [i.get("ip") for i in ((svc.get("status") or {}).get("loadBalancer") or {})
                   .get("ingress") or ()]
        if ip in ingress:
            return
        time.sleep(0.05)
    raise TimeoutError(f"MetalLB did not load scenario pools (probe {ns}/probe)")


def run_scenario(client, sc: Scenario, log=print) -> List[Record]:
    """Create the scenario's objects; return one Record per service."""
    api = Api(client)
    tag = sc.probe_pool["metadata"]["name"][len("probe-"):]
    probe_ns = f"conf-{tag}-probe"
    for ns in sc.namespaces + [{"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": probe_ns}}]:
        api.create(ns)
    for pool in sc.pools:
        api.create(pool)
    # The probe pool last: once MetalLB assigns from it, it has seen every pool
    # (informer events of one kind arrive in order) and the namespaces before.
    api.create(sc.probe_pool)
    api.create({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "probe", "namespace": probe_ns,
                             "annotations": {CURRENT + "loadBalancerIPs": sc.probe_ip}},
                "spec": {"type": "LoadBalancer", "ipFamilyPolicy": "SingleStack",
                         "ipFamilies": ["IPv6"], "ports": [{"port": 1}]}})
    _wait_probe(api, probe_ns, sc.probe_ip)

    records: List[Record] = []
    try:
        for manifest in sc.services:
            cluster = client.snapshot().to_cluster()
            exp = plugin_expectation(cluster, manifest)
            meta = manifest["metadata"]
            api.create(manifest)
            out = api.wait_outcome(meta["namespace"], meta["name"])
            ok, why = compare(exp, out)
            rec = Record(sc.seed, f"{meta['namespace']}/{meta['name']}", manifest, exp, out,
                         ok, why)
            if not ok:
                log(f"DISAGREE seed={sc.seed} {rec.name}: {why}")
            records.append(rec)
    finally:
        cleanup(api, sc, probe_ns)
    return records


def cleanup(api: Api, sc: Scenario, probe_ns: str) -> None:
    for manifest in sc.services:
        meta = manifest["metadata"]
        api.delete(f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}")
    api.delete(f"/api/v1/namespaces/{probe_ns}/services/probe")
    for pool in sc.pools + [sc.probe_pool]:
        api.delete(f"/apis/metallb.io/v1beta1/namespaces/{METALLB_NS}/ipaddresspools/"
                   f"{pool['metadata']['name']}")


def scenario_yaml(sc: Scenario, upto: Optional[str] = None) -> str:
    """The scenario as one document list (for a disagreement's report)."""
    items = sc.namespaces + sc.pools
    for s in sc.services:
        items.append(s)
        if upto and f"{s['metadata']['namespace']}/{s['metadata']['name']}" == upto:
            break
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1)

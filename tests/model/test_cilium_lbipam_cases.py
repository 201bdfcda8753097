"""Cilium's own operator/pkg/lbipam unit tests, translated into data
(tests/model/data/cilium_lbipam_cases.yaml), replayed against model/cilium.py.

The replay plays the operator's event loop with the model's answers: a service
upsert keeps what the model says the operator keeps and adds what it would
allocate (Lbipam.satisfy); a pool upsert or delete revalidates every service,
those satisfied first (revalidateAllServices). Every assertion is one that the
Go test makes; each step's assertions are checked after the step."""

from __future__ import annotations

import pathlib
from typing import Dict, List, Optional

import pytest
import yaml

from kubectl_lbip.model import cilium
from kubectl_lbip.model.addresses import IPV4, IPV6, family_of
from kubectl_lbip.model.services import Service

DATA = yaml.safe_load((pathlib.Path(__file__).parent / "data" / "cilium_lbipam_cases.yaml").read_text())
CREATED = "2022-10-16T12:00:00Z"  # mkPool's creationTimestamp


def pool_object(spec: dict) -> dict:
    blocks = [{"cidr": b} if isinstance(b, str) else b for b in spec["blocks"]]
    body: dict = {"blocks": blocks}
    for key in ("disabled", "allowFirstLastIPs"):
        if key in spec:
            body[key] = spec[key]
    if "selector" in spec:
        body["serviceSelector"] = spec["selector"]
    meta = {"name": spec["name"], "creationTimestamp": spec.get("created", CREATED)}
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumLoadBalancerIPPool", "metadata": meta, "spec": body}


def service_object(spec: dict, ingress: List[str]) -> dict:
    ports = []
    for port in spec.get("ports", []):
        proto, _, number = str(port).rpartition("/")
        ports.append({"port": int(number), "protocol": proto or "TCP"})
    body: dict = {"type": spec.get("type", "LoadBalancer"), "ports": ports}
    if "families" in spec:
        body["ipFamilies"] = spec["families"]
    if "policy" in spec:
        body["ipFamilyPolicy"] = spec["policy"]
    if "lbip" in spec:
        body["loadBalancerIP"] = spec["lbip"]
    if "class" in spec:
        body["loadBalancerClass"] = spec["class"]
    meta = {
        "name": spec["name"],
        "namespace": spec.get("namespace", "default"),
        "labels": spec.get("labels", {}),
        "annotations": spec.get("annotations", {}),
    }
    status = {"loadBalancer": {"ingress": [{"ip": ip} for ip in ingress]}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": body, "status": status}


class Replay:
    """The operator's view of one Go test: pools, services (in the order they
    were created) with what their status shows, and the condition on each."""

    def __init__(self, operator: cilium.Operator):
        self.operator = operator
        self.pools: Dict[str, dict] = {}
        self.specs: Dict[str, dict] = {}
        self.ingress: Dict[str, List[str]] = {}
        self.condition: Dict[str, Optional[str]] = {}
        self.saved: Dict[str, str] = {}
        self.ambiguous = 0

    def services(self) -> List[Service]:
        return [Service.from_object(service_object(self.specs[k], self.ingress[k])) for k in self.specs]

    def state(self) -> cilium.Lbipam:
        pools = [cilium.pool_from_object(p) for p in self.pools.values()]
        return cilium.Lbipam(pools, self.services(), self.operator)

    def service(self, key: str) -> Service:
        return next(s for s in self.services() if s.key == key)

    def upsert_service(self, spec: dict) -> None:
        key = f"{spec.get('namespace', 'default')}/{spec['name']}"
        if "ingress" in spec:
            self.ingress[key] = list(spec["ingress"])
        else:
            self.ingress.setdefault(key, [])
        self.specs[key] = spec
        self.process(key)

    def process(self, key: str) -> None:
        """handleUpsertService (or the satisfy pass of a revalidation)."""
        svc = self.service(key)
        if not self.operator.serves(svc)[0]:
            if self.condition.get(key) is not None:  # it was ours: stripped
                self.ingress[key] = []
            self.condition[key] = None
            return
        addresses, verdict = self.state().satisfy(svc)
        self.ambiguous += sum(1 for o in verdict.outcomes if o.candidates and not o.address)
        for outcome in verdict.outcomes:  # an ambiguous pick: the model's first candidate
            if outcome.ok and not outcome.address and outcome.candidates:
                addresses += (outcome.candidates[0],)
        self.ingress[key] = list(addresses)
        self.condition[key] = cilium.SATISFIED if self.satisfied(key) else verdict.reason

    def satisfied(self, key: str) -> bool:
        """ServiceView.isSatisfied on the new status."""
        v = cilium.view(self.service(key), self.operator)
        held = {str(a) for a in v.held}
        if v.requested:
            return all(str(a) in held for a in v.requested)
        fams = {family_of(a) for a in v.held}
        return (not v.ipv4 or IPV4 in fams) and (not v.ipv6 or IPV6 in fams)

    def revalidate(self) -> None:
        state = self.state()
        for view in state.views:  # what each keeps: strip the rest first
            self.ingress[view.key] = [str(a) for a in view.held if state.holds(view, a)]
        order = sorted(self.specs, key=lambda k: self.condition.get(k) != cilium.SATISFIED)
        for key in order:
            self.process(key)

    def step(self, step: dict) -> None:
        if "pool" in step:
            self.pools[step["pool"]["name"]] = pool_object(step["pool"])
            self.revalidate()
        elif "delete_pool" in step:
            del self.pools[step["delete_pool"]]
            self.revalidate()
        elif "service" in step:
            self.upsert_service(step["service"])
        elif "shrink_to_block_of" in step or "shrink_to_address_of" in step:
            self.shrink(step)
        elif "delete_service" in step:
            key = step["delete_service"]
            del self.specs[key], self.ingress[key]
            self.condition.pop(key, None)

    def shrink(self, step: dict) -> None:
        """The Go test keeps only the block holding a service's address (or that
        one address as a start/stop block), whichever address it got."""
        how = "shrink_to_block_of" if "shrink_to_block_of" in step else "shrink_to_address_of"
        where = step[how]
        ip = self.ingress[where["service"]][0]
        pool = self.pools[where["pool"]]
        if how == "shrink_to_address_of":
            pool["spec"]["blocks"] = [{"start": ip, "stop": ip}]
        else:
            parsed = cilium.pool_from_object(pool)
            addr = cilium.parse_addr(ip)
            keep = [b.text for b in parsed.blocks if addr is not None and b.interval.contains(int(addr))]
            pool["spec"]["blocks"] = [{"cidr": keep[0]}]
        self.revalidate()


def check(replay: Replay, expect: dict) -> List[str]:
    """Each failed assertion, in words."""
    failed: List[str] = []
    state = replay.state()
    key = expect.get("service")
    ingress = replay.ingress.get(key, []) if key else []

    def first(other: str) -> Optional[str]:
        found = replay.ingress.get(other) or []
        return found[0] if found else None

    def allocated(ip: str) -> bool:
        addr = cilium.parse_addr(ip)
        return addr is not None and (family_of(addr), int(addr)) in state.allocations

    for name, want in expect.items():
        if name == "service":
            continue
        if name == "count":
            ok = len(ingress) == want
        elif name == "family":
            ok = bool(ingress) and all(family_of(cilium.parse_addr(ip)) == want for ip in ingress)  # type: ignore[arg-type]
        elif name == "ingress":
            ok = sorted(ingress) == sorted(want)
        elif name == "not_ingress":
            ok = want not in ingress
        elif name == "prefix":
            ok = bool(ingress) and all(ip.startswith(want) for ip in ingress)
        elif name == "same_as":
            ok = bool(ingress) and ingress[0] == first(want)
        elif name == "differs_from":
            ok = bool(ingress) and ingress[0] != first(want)
        elif name == "save":
            replay.saved[want] = ingress[0] if ingress else ""
            continue
        elif name == "same_as_saved":
            ok = bool(ingress) and ingress[0] == replay.saved[want]
        elif name == "differs_from_saved":
            ok = bool(ingress) and ingress[0] != replay.saved[want]
        elif name == "satisfied":
            ok = (replay.condition.get(key) == cilium.SATISFIED) == want
        elif name == "reason":
            ok = replay.condition.get(key) == want
        elif name == "no_condition":
            ok = replay.condition.get(key) is None
        elif name == "conflicting":
            ok = all(p in state.conflicts for p in want)
        elif name == "not_conflicting":
            ok = not any(p in state.conflicts for p in want)
        elif name == "used":
            ok = all(state.counts(state.pool(p)).used == n for p, n in want.items())  # type: ignore[arg-type]
        elif name == "counts":
            ok = all(counted(state, p) == tuple(n) for p, n in want.items())
        elif name == "allocated":
            ok = all(allocated(ip) == flag for ip, flag in want.items())
        elif name == "allocated_saved":
            ok = all(allocated(replay.saved[label]) == flag for label, flag in want.items())
        elif name == "ingress_of":
            ok = all(sorted(replay.ingress.get(k, [])) == sorted(v) for k, v in want.items())
        elif name == "sharers":
            ok = True
            for ip, n in want.items():
                addr = cilium.parse_addr(ip)
                alloc = state.allocations.get((family_of(addr), int(addr))) if addr else None  # type: ignore[arg-type]
                ok = ok and alloc is not None and len(alloc.services) == n
        else:
            raise AssertionError(f"unknown expectation {name!r}")
        if not ok:
            failed.append(f"{name}={want!r} (ingress {ingress}, condition {replay.condition.get(key)!r})")
    return failed


def counted(state: cilium.Lbipam, name: str) -> tuple:
    """(IPsTotal, IPsAvailable, IPsUsed) of a pool."""
    pool = state.pool(name)
    assert pool is not None, name
    c = state.counts(pool)
    return c.total, c.available, c.used


def operator_for(case: dict) -> cilium.Operator:
    o = case.get("operator", {})
    return cilium.Operator(
        version=cilium.parse(case["release"]),
        ipv4=o.get("ipv4", True),
        ipv6=o.get("ipv6", False),
        default_ipam=o.get("default_ipam", cilium.LBIPAM),
        l2_announcements=o.get("l2", True),
        bgp_control_plane=o.get("bgp", True),
    )


def run_case(case: dict):
    """(assertions, failures, ambiguous picks) of one translated Go test."""
    replay = Replay(operator_for(case))
    total, failures = 0, []
    for number, step in enumerate(case["steps"], 1):
        replay.step(step)
        expect = step.get("expect") or step.get("check") or {}
        total += sum(1 for k in expect if k not in ("service", "save"))
        failures += [f"step {number}: {f}" for f in check(replay, expect)]
    return total, failures, replay.ambiguous


CASES = DATA["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['release']}-{c['test']}" for c in CASES])
def test_translated_case_agrees(case):
    total, failures, _ = run_case(case)
    assert total > 0
    assert not failures, f"{case['source']} {case['test']} ({case['release']}): " + "; ".join(failures)


@pytest.mark.parametrize("row", DATA["families"]["rows"], ids=lambda r: r["name"])
def test_family_request_table(row):
    """TestLBIPAM_serviceIPFamilyRequest."""
    svc = Service("default", "s", ip_families=tuple(row.get("families", ())), ip_family_policy=row.get("policy", ""))
    operator = cilium.Operator(ipv4=row["ipv4"], ipv6=row["ipv6"])
    assert list(operator.families(svc)) == row["want"]


@pytest.mark.parametrize("row", DATA["prefixes"]["rows"], ids=lambda r: r["name"])
def test_range_from_prefix_table(row):
    """TestRangeFromPrefix: a cidr block's first and last address."""
    pool = cilium.pool_from_object(pool_object({"name": "p", "blocks": [row["prefix"]]}))
    iv = pool.blocks[0].interval
    assert (iv.first, iv.last) == (int(cilium.parse_addr(row["from"])), int(cilium.parse_addr(row["to"])))  # type: ignore[arg-type]


@pytest.mark.parametrize("row", DATA["intersects"]["rows"], ids=lambda r: r["name"])
def test_intersects_table(row):
    """TestIntersects, through the conflict rule (two pools, one block each)."""
    a, b = (
        cilium.pool_from_object(pool_object({"name": n, "blocks": [{"start": r[0], "stop": r[1]}], "created": t}))
        for n, r, t in (("a", row["a"], CREATED), ("b", row["b"], "2022-10-16T13:00:00Z"))
    )
    assert ("b" in cilium.conflicts([a, b])) == row["want"]


def test_every_translated_case_names_its_source():
    for case in CASES:
        assert case["source"].startswith("operator/pkg/lbipam/") and case["test"].startswith("Test")
        assert case["release"] in cilium.READ


def agreement():
    """For the report: translated Go tests, assertions, failures, ambiguous picks."""
    totals = [run_case(c) for c in CASES]
    return len(CASES), sum(t for t, _, _ in totals), sum(len(f) for _, f, _ in totals), sum(a for _, _, a in totals)

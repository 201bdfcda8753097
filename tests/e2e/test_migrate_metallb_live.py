"""migrate --to metallb (the way back) against the real control plane, judged by
both controllers: Cilium's operator (the release the tier built) assigns addresses
to seeded scenarios (automatic, dual-stack, pinned, shared in one namespace and
across two with consent, pools restricted by the namespace pseudo-label and by a
label, a cidr whose first and last addresses Cilium reserves, a start/stop range);
the plan, read live through `kubectl lbip`, must say every service keeps what
Cilium gave it; its first step (MetalLB's keys, run as the printed kubectl
commands) must leave every address where it is while Cilium runs. Then the
cut-over: Cilium's operator stops, its pools go (its CRDs are removed), MetalLB's
CRDs and the plan's objects are created, and only then MetalLB's controller starts
(``use_metallb(objects=...)``: a controller without pools clears every service's
address); the printed waits (each service's metallb.io/ip-allocated-from-pool
naming the planned pool) end, and every service holds exactly what Cilium had
given it. Where the plan says a service would move (a dual-stack pair Cilium takes
from two pools), MetalLB moves it as the plan says.

The differences from the printed order, named: nothing runs the Deployments here,
so the swap of processes stands for the steps that scale them; and Cilium's CRDs go
with its pools."""

from __future__ import annotations

import json
import random
import shlex
from typing import Any, Dict, List

import pytest

from .controlplane import Cluster, wait_until
from .test_cilium_live import cilium_pool
from .test_migrate_cilium_live import assigned, holdings, operator_release
from .test_plugin_live import lbip, service

pytestmark = pytest.mark.e2e

OPEN_V4, OPEN_V6 = "198.19.0.0/26", "2001:db8:19::/122"
TEAM = ("198.19.1.10", "198.19.1.40")
EDGE = "198.19.2.0/28"
PINS = "198.19.4.0/27"
SPLIT_V4, SPLIT_V6 = "198.19.3.0/28", "2001:db8:1a::/124"
SEEDS = (391, 392, 393)
NS_LABEL = "io.kubernetes.service.namespace"
PINNED = {"pinned": "yes"}
IPS, SHARING, CROSS = "lbipam.cilium.io/ips", "lbipam.cilium.io/sharing-key", "lbipam.cilium.io/sharing-cross-namespace"


def cilium_pools(version: str, ns2: str) -> List[Dict[str, Any]]:
    """A dual-stack pool of every service whose first and last addresses Cilium
    reserves; a start/stop range for the second namespace; a pool for the
    services labelled tier=edge that hands out its first and last; a pool for the
    pinned services (labelled pinned=yes: Cilium's automatic pick takes the first
    address of the smallest free block, which a pin carves, so pins live apart)."""
    return [
        cilium_pool(version, "open", [{"cidr": OPEN_V4}, {"cidr": OPEN_V6}], allowFirstLastIPs="No"),
        cilium_pool(
            version,
            "team",
            [{"start": TEAM[0], "stop": TEAM[1]}],
            serviceSelector={"matchLabels": {NS_LABEL: ns2}},
        ),
        cilium_pool(
            version,
            "edge",
            [{"cidr": EDGE}],
            allowFirstLastIPs="Yes",
            serviceSelector={"matchLabels": {"tier": "edge"}},
        ),
        cilium_pool(version, "pins", [{"cidr": PINS}], serviceSelector={"matchLabels": PINNED}),
    ]


def scenario(seed: int, ns: str, ns2: str) -> List[Dict[str, Any]]:
    """16 services of every kind the way back treats apart, shuffled by ``seed``.
    Pins come from the pool of their own."""
    rng = random.Random(seed)
    pins = iter(rng.sample(range(1, 31), 5))
    kinds = ["auto", "auto", "auto", "dual", "dual", "pinned", "pinned", "pinned", "team", "team", "edge", "edge"]
    rng.shuffle(kinds)
    out: List[Dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        name = f"b{seed}-{i}-{kind}"
        if kind == "auto":
            out.append(service(name, ns))
        elif kind == "dual":
            out.append(service(name, ns, policy="RequireDualStack", families=["IPv4", "IPv6"]))
        elif kind == "pinned":
            out.append(service(name, ns, annotations={IPS: f"198.19.4.{next(pins)}"}, labels=PINNED))
        elif kind == "team":
            out.append(service(name, ns2))
        else:
            out.append(service(name, ns, labels={"tier": "edge"}))
    shared = f"198.19.4.{next(pins)}"
    key = {SHARING: f"k{seed}", IPS: shared}
    out.append(service(f"b{seed}-dns-udp", ns, annotations=key, ports=(("UDP", 53),), labels=PINNED))
    out.append(service(f"b{seed}-dns-tcp", ns, annotations=key, ports=(("TCP", 53),), labels=PINNED))
    across = f"198.19.4.{next(pins)}"
    out.append(
        service(
            f"b{seed}-web-a",
            ns,
            annotations={SHARING: f"x{seed}", IPS: across, CROSS: ns2},
            ports=(("TCP", 80),),
            labels=PINNED,
        )
    )
    out.append(
        service(
            f"b{seed}-web-b",
            ns2,
            annotations={SHARING: f"x{seed}", IPS: across, CROSS: ns},
            ports=(("TCP", 443),),
            labels=PINNED,
        )
    )
    return out


def keys_of(services: List[Dict[str, Any]]) -> List[str]:
    return [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in services]


def _commands(doc: Dict[str, Any], words: str) -> List[str]:
    return [c for s in doc["steps"] for c in s["commands"] if words in c]


@pytest.fixture
def second_namespace(cluster: Cluster, namespace: str):
    name = f"{namespace}-b"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "services", "--all", "-n", name, "--wait=true", check=False)


def _plan(cluster: Cluster, version: str, *extra: str) -> Dict[str, Any]:
    r = lbip(cluster, "migrate", "--to", "metallb", "--cilium-version", version, *extra, "-o", "json")
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def _back(cluster: Cluster, version: str, doc: Dict[str, Any], namespaces: List[str], keys: List[str]) -> None:
    """The printed cut-over: MetalLB's keys while Cilium runs (nothing moves); the
    swap (Cilium stops, its pools go, MetalLB's objects, then its controller); the
    printed waits."""
    before = {k: v for k, v in holdings(cluster, namespaces).items() if k in keys}
    (first,) = [s for s in doc["steps"] if s["step"].startswith("annotate the services with MetalLB's keys")]
    for command in first["commands"]:
        cluster.kubectl(*shlex.split(command)[1:])
    assert {k: v for k, v in holdings(cluster, namespaces).items() if k in keys} == before
    cluster.use_metallb(cluster.build.newest.version, objects=doc["objects"])
    for command in _commands(doc, " wait service/"):
        waited = cluster.kubectl(*shlex.split(command)[1:], check=False, timeout=150)
        assert waited.returncode == 0, (command, waited.stderr, holdings(cluster, namespaces))


@pytest.mark.parametrize("seed", SEEDS)
def test_way_back_metallb_keeps_every_address_cilium_gave(
    cluster: Cluster, namespace: str, second_namespace: str, seed: int
) -> None:
    ns, ns2 = namespace, second_namespace
    version = operator_release(cluster)
    services = scenario(seed, ns, ns2)
    keys = keys_of(services)
    try:
        cluster.use_cilium(version)
        cluster.apply(*cilium_pools(version, ns2))
        cluster.apply(*services)
        before = assigned(cluster, [ns, ns2], keys, f"Cilium assigns every service of seed {seed}")
        doc = _plan(cluster, version)
        planned = {f"{s['namespace']}/{s['name']}": s for s in doc["services"]}
        assert {k: planned[k]["keeps"] for k in keys} == {k: True for k in keys}, doc["losses"]
        assert doc["summary"]["errors"] == 0
        assert [o["kind"] for o in doc["objects"]] == ["IPAddressPool"] * 4
        _back(cluster, version, doc, [ns, ns2], keys)
        after = holdings(cluster, [ns, ns2])
        assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
    finally:
        cluster.use_metallb(cluster.build.newest.version)


def test_way_back_a_move_the_plan_predicts_is_what_metallb_does(
    cluster: Cluster, namespace: str, second_namespace: str
) -> None:
    """A dual-stack service Cilium serves from two pools (one per family): MetalLB
    refuses the pair (split-pool-dual-stack) and, its first pass taking the
    services holding more addresses first, allocates it again at once from the one
    pool of both families, taking the address of a service that holds one and
    comes after it; that one moves in turn. The plan names both and what each
    gets; MetalLB does exactly that."""
    ns, ns2 = namespace, second_namespace
    version = operator_release(cluster)
    split = {"matchLabels": {"tier": "split"}}
    pools = [
        cilium_pool(version, "split-v4", [{"cidr": SPLIT_V4}], serviceSelector=split),
        cilium_pool(version, "split-v6", [{"cidr": SPLIT_V6}], serviceSelector=split),
        *cilium_pools(version, ns2),
    ]
    services = [
        service("split", ns, policy="RequireDualStack", families=["IPv4", "IPv6"], labels={"tier": "split"}),
        service("bystander", ns),
        service("other", ns2),
    ]
    keys = keys_of(services)
    try:
        cluster.use_cilium(version)
        cluster.apply(*pools)
        cluster.apply(*services)
        before = assigned(cluster, [ns, ns2], keys, "Cilium assigns the services")
        assert len(before[f"{ns}/split"]) == 2, before
        doc = _plan(cluster, version)
        planned = {f"{s['namespace']}/{s['name']}": s for s in doc["services"]}
        refused = {x["subject"]: x["message"] for x in doc["losses"] if x["code"] == "to-metallb-refused"}
        assert "split-pool-dual-stack" in refused[f"service {ns}/split"]
        moving = [k for k in keys if planned[k]["keeps"] is False]
        assert f"{ns}/split" in moving and len(moving) >= 2, planned  # a bystander loses its address too
        accepted = _plan(cluster, version, "--accept", "to-metallb-refused")
        assert accepted["summary"]["errors"] == 0
        _back(cluster, version, accepted, [ns, ns2], keys)

        def settled():
            now = holdings(cluster, [ns, ns2])
            return now if all(now[k] == sorted(planned[k]["metallb"]) for k in keys) else None

        try:
            wait_until(settled, 60, "MetalLB gives each service what the plan said")
        except TimeoutError:
            pytest.fail(
                f"planned {json.dumps({k: planned[k]['metallb'] for k in keys})}; holds {holdings(cluster, [ns, ns2])}"
            )
    finally:
        cluster.use_metallb(cluster.build.newest.version)

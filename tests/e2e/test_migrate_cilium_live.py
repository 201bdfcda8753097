"""migrate --to cilium against the real control plane, MetalLB's controller as the
judge of the first half: MetalLB assigns addresses to seeded scenarios (automatic,
dual-stack, pinned to an autoAssign-false pool, named by address-pool, shared in
one namespace and across two, pools restricted by namespace and by selector);
the plan, read live through `kubectl lbip`, must say every service keeps exactly
what MetalLB gave it; the cut-over's first step (the labels and Cilium keys, run
as the printed kubectl commands) must leave every address where it is while
MetalLB still runs; and a second plan has nothing left to add. With Cilium's own
CRDs (of the release the tier built its operator from) registered, every write
of `--apply --dry-run=server` (the services' patches, the controller's scale, each
Cilium object, checked against Cilium's schemas) must pass the API server.

The second half, judged by Cilium's operator (the release built for this tier,
whole): the plan's steps are followed, MetalLB's controller stops, Cilium's operator
starts, the printed waits (each pool's cilium.io/IPsUsed reaching the plan's count)
end, and every service holds exactly the addresses MetalLB had given it, with
cilium.io/IPAMRequestSatisfied True where Cilium wrote it (it writes none on a service
whose address it adopts as it is). One difference from the printed order, named: on a
real cluster Cilium's operator already runs when the pools are created; here it
starts once they exist (and MetalLB's CRDs are removed as it starts)."""

from __future__ import annotations

import json
import random
import shlex
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml

from .controlplane import CONTROLLER_DEPLOYMENT, METALLB_NAMESPACE, Cluster, wait_until
from .test_plugin_live import lbip, pool, service

pytestmark = pytest.mark.e2e

OPEN_V4, OPEN_V6 = "198.18.0.0/26", "2001:db8:18::/122"
RESERVED = "198.18.1.0/28"
TEAM = "198.18.2.0/27"
EDGE = "198.18.3.0/28"
SEEDS = (291, 292, 293)
PER_SEED = 16  # 48 services over the three seeds


def scenario(seed: int, ns: str, ns2: str) -> List[Dict[str, Any]]:
    """Services of every kind the mapping treats apart, shuffled by ``seed``. Pinned
    addresses come from the top of their ranges, automatic ones from the bottom, so
    that MetalLB's order of processing cannot give a pin to another service."""
    rng = random.Random(seed)
    pins = iter(rng.sample(range(40, 63), 6))
    reserved = iter(rng.sample(range(1, 15), 4))
    out: List[Dict[str, Any]] = []
    kinds = ["auto", "dual", "pinned", "reserved", "address-pool", "team", "edge", "auto"]
    for i in range(PER_SEED - 4):
        kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
        name = f"s{seed}-{i}-{kind}"
        if kind == "auto":
            out.append(service(name, ns))
        elif kind == "dual":
            out.append(service(name, ns, policy="RequireDualStack", families=["IPv4", "IPv6"]))
        elif kind == "pinned":
            out.append(service(name, ns, annotations={"metallb.io/loadBalancerIPs": f"198.18.0.{next(pins)}"}))
        elif kind == "reserved":
            out.append(service(name, ns, annotations={"metallb.io/loadBalancerIPs": f"198.18.1.{next(reserved)}"}))
        elif kind == "address-pool":
            out.append(service(name, ns, annotations={"metallb.io/address-pool": "reserved"}))
        elif kind == "team":
            out.append(service(name, ns2))
        else:
            out.append(service(name, ns, labels={"tier": "edge"}))
    shared = f"198.18.0.{next(pins)}"
    key = {"metallb.io/allow-shared-ip": f"k{seed}"}
    out.append(
        service(f"s{seed}-dns-udp", ns, annotations={**key, "metallb.io/loadBalancerIPs": shared}, ports=(("UDP", 53),))
    )
    out.append(
        service(f"s{seed}-dns-tcp", ns, annotations={**key, "metallb.io/loadBalancerIPs": shared}, ports=(("TCP", 53),))
    )
    across = f"198.18.0.{next(pins)}"
    other = {"metallb.universe.tf/allow-shared-ip": f"x{seed}", "metallb.io/loadBalancerIPs": across}
    out.append(service(f"s{seed}-web-a", ns, annotations=other, ports=(("TCP", 80),)))
    out.append(service(f"s{seed}-web-b", ns2, annotations=other, ports=(("TCP", 443),)))
    return out


def pools(ns2: str) -> List[Dict[str, Any]]:
    """An open dual-stack pool, an autoAssign: false pool, a pool for one namespace
    (with a priority) and a pool for the services labelled tier=edge."""
    return [
        pool("open", OPEN_V4, OPEN_V6),
        pool("reserved", RESERVED, autoAssign=False),
        pool("team", TEAM, serviceAllocation={"priority": 1, "namespaces": [ns2]}),
        pool("edge", EDGE, serviceAllocation={"serviceSelectors": [{"matchLabels": {"tier": "edge"}}]}),
    ]


def holdings(cluster: Cluster, namespaces: List[str]) -> Dict[str, List[str]]:
    found = {}
    for ns in namespaces:
        for svc in cluster.get_json("services", "-n", ns)["items"]:
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            found[f"{ns}/{svc['metadata']['name']}"] = sorted(i["ip"] for i in ingress if i.get("ip"))
    return found


def assigned(cluster: Cluster, namespaces: List[str], keys: List[str], what: str) -> Dict[str, List[str]]:
    """What each service of the namespaces holds, once every one of ``keys`` holds something."""

    def all_held() -> Optional[Dict[str, List[str]]]:
        held = holdings(cluster, namespaces)
        return held if all(held.get(k) for k in keys) else None

    return wait_until(all_held, 60, what)


def plan(cluster: Cluster) -> Dict[str, Any]:
    r = lbip(cluster, "migrate", "--to", "cilium", "-o", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def second_namespace(cluster: Cluster, namespace: str):
    name = f"{namespace}-b"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "services", "--all", "-n", name, "--wait=true", check=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_metallb_assigns_the_plan_proves_and_step_one_moves_nothing(
    cluster: Cluster, namespace: str, second_namespace: str, seed: int
) -> None:
    ns, ns2 = namespace, second_namespace
    cluster.apply(*pools(ns2))
    services = scenario(seed, ns, ns2)
    cluster.apply(*services)
    keys = [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in services]

    before = assigned(cluster, [ns, ns2], keys, f"MetalLB assigns every service of seed {seed}")
    prefixes = {
        "dual": "",
        "team": "198.18.2.",
        "edge": "198.18.3.",
        "reserved": "198.18.1.",
        "address-pool": "198.18.1.",
    }
    for key, held in before.items():  # the scenario is what it says
        kind = key.split("/", 1)[1].split("-", 2)[-1]
        if kind == "dual":
            assert len(held) == 2, (key, held)
        elif kind in prefixes:
            assert all(ip.startswith(prefixes[kind]) for ip in held), (key, held)
    assert before[f"{ns}/s{seed}-web-a"] == before[f"{ns2}/s{seed}-web-b"]

    doc = plan(cluster)
    planned = {f"{s['namespace']}/{s['name']}": s for s in doc["services"]}
    for key in keys:
        assert sorted(planned[key]["holds"]) == before[key], key
        assert planned[key]["keeps"] is True, (key, planned[key])
        assert sorted(planned[key]["cilium"]) == before[key], (key, planned[key])
    assert [x for x in doc["losses"] if x["severity"] == "error"] == []
    assert planned[f"{ns}/s{seed}-web-a"]["annotations"]["lbipam.cilium.io/sharing-cross-namespace"] == ns2

    # step 1, as printed: MetalLB still runs and must keep every address
    for command in doc["steps"][0]["commands"]:
        argv = shlex.split(command)
        assert argv[0] == "kubectl"
        cluster.kubectl(*argv[1:])
    cluster.apply(service(f"s{seed}-sentinel", ns))  # MetalLB has worked through the updates once it serves this
    cluster.wait_ingress(f"s{seed}-sentinel", ns)
    after = holdings(cluster, [ns, ns2])
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}

    again = plan(cluster)
    left = [
        s for s in again["services"] if f"{s['namespace']}/{s['name']}" in keys and (s["labels"] or s["annotations"])
    ]
    assert left == []
    assert again["summary"]["move"] == 0 and again["summary"]["errors"] == 0


# --------------------------------------------------------------------------
# Cilium's own CRDs (from the module cache of the release the plan is made for)
# judge the objects and every write of --apply, sent as server dry runs


CRD_FILES = (
    "v2/ciliumloadbalancerippools.yaml",
    "v2alpha1/ciliuml2announcementpolicies.yaml",
    "v2/ciliumbgpadvertisements.yaml",
)


@pytest.fixture
def crds(cluster: Cluster):
    """The CRDs of the Cilium release the tier built (its operator's), read where the
    build found them (the Go module cache CI fills): the plan is made for that release."""
    version = operator_release(cluster)
    root = cluster.build.cilium_release(version).crd_dir
    files = [root / name for name in CRD_FILES]
    names = []
    for f in files:
        obj = yaml.safe_load(f.read_text())
        names.append(obj["metadata"]["name"])
        cluster.kubectl("create", "-f", str(f))  # create: apply's annotation would exceed the size limit
    for name in names:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=30s")
    yield version
    cluster.kubectl("delete", "crd", *names, "--wait=true", check=False)


def test_apply_dry_run_server_every_write_passes_the_api_server(
    cluster: Cluster, namespace: str, second_namespace: str, crds: str
) -> None:
    ns, ns2 = namespace, second_namespace
    cluster.apply(
        *pools(ns2),
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": "lan", "namespace": "metallb-system"},
            "spec": {"ipAddressPools": ["open", "reserved"], "interfaces": ["eth0"]},
        },
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "BGPAdvertisement",
            "metadata": {"name": "wan", "namespace": "metallb-system"},
            "spec": {"ipAddressPools": ["team"], "nodeSelectors": [{"matchLabels": {"edge": "yes"}}]},
        },
    )
    services = scenario(SEEDS[0], ns, ns2)
    cluster.apply(*services)
    keys = [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in services]
    assigned(cluster, [ns, ns2], keys, "MetalLB assigns every service")
    before = cluster.get_json("services", "-n", ns)["items"]

    r = lbip(
        cluster,
        "migrate",
        "--to",
        "cilium",
        "--cilium-version",
        crds,
        "--apply",
        "--dry-run=server",
        "--accept",
        "to-cilium-priority",
    )
    assert r.returncode == 0, r.stderr
    assert "server dry run: every write was accepted" in r.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(r.stdout)]
    assert sorted(set(kinds)) == ["CiliumBGPAdvertisement", "CiliumL2AnnouncementPolicy", "CiliumLoadBalancerIPPool"]
    assert cluster.get_json("ciliumloadbalancerippools")["items"] == []  # nothing persisted
    assert cluster.get_json("services", "-n", ns)["items"] == before


def _controller_manager(cluster: Cluster, version: str, done: threading.Event, said: List[str]) -> None:
    """What kube-controller-manager and the kubelet would do when MetalLB's
    controller Deployment is scaled to zero (the tier runs neither): its process
    stops (Cilium's operator, already running on a real cluster, starts beside the
    objects), and the Deployment's status says no replica is left."""
    deadline = time.monotonic() + 120
    while not done.is_set() and time.monotonic() < deadline:
        dep = cluster.get_json("deployment", CONTROLLER_DEPLOYMENT, "-n", METALLB_NAMESPACE)
        if dep["spec"].get("replicas") == 0:
            cluster.start_cilium_beside(version)
            status = {"status": {"replicas": 0, "observedGeneration": dep["metadata"]["generation"]}}
            cluster.kubectl(
                "patch",
                "deployment",
                CONTROLLER_DEPLOYMENT,
                "-n",
                METALLB_NAMESPACE,
                "--subresource=status",
                "--type=merge",
                "-p",
                json.dumps(status),
            )
            said.append("scaled to zero: MetalLB's controller stopped, Cilium's operator started")
            return
        time.sleep(0.2)


def test_apply_runs_the_cut_over_and_the_operator_keeps_every_address(
    cluster: Cluster, namespace: str, second_namespace: str, crds: str
) -> None:
    """--apply itself, live: the services' patches, MetalLB's controller scaled to
    zero and awaited gone (a stand-in for kube-controller-manager stops it and
    writes the Deployment's status, and Cilium's operator starts), every Cilium
    object created, the pools' counts awaited; exit 0, and each service holds
    exactly what MetalLB gave it, as the operator keeps it."""
    ns, ns2 = namespace, second_namespace
    cluster.apply(*pools(ns2))
    services = scenario(SEEDS[1], ns, ns2)
    cluster.apply(*services)
    keys = [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in services]
    before = assigned(cluster, [ns, ns2], keys, "MetalLB assigns every service")
    done, said = threading.Event(), []
    manager = threading.Thread(target=_controller_manager, args=(cluster, crds, done, said), daemon=True)
    manager.start()
    try:
        r = lbip(
            cluster,
            "migrate",
            "--to",
            "cilium",
            "--cilium-version",
            crds,
            "--apply",
            "--yes",
            "--accept",
            "to-cilium-priority",
            timeout=400,
        )
        done.set()
        manager.join(10)
        assert said, r.stderr  # the Deployment was scaled to zero
        assert r.returncode == 0, r.stderr
        after = holdings(cluster, [ns, ns2])
        assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
        kinds = {o["metadata"]["name"] for o in cluster.get_json("ciliumloadbalancerippools")["items"]}
        assert kinds == {"open", "reserved", "team", "edge"}
    finally:
        done.set()
        cluster.use_metallb(cluster.build.newest.version)


# --------------------------------------------------------------------------
# The cut-over, judged by Cilium's operator


def operator_release(cluster: Cluster) -> str:
    whole = [b.version for b in cluster.build.cilium if not b.cell_only]
    if not whole:
        pytest.skip("no Cilium operator is built (tests/e2e/controlplane.sh build)")
    return whole[-1]


def _step(doc: Dict[str, Any], words: str) -> List[str]:
    (step,) = [s for s in doc["steps"] if any(words in c for c in s["commands"])]
    return list(step["commands"])


def _cut_over(cluster: Cluster, doc: Dict[str, Any], version: str, tmp_path: Path, namespaces: List[str]) -> None:
    """The plan's cut-over as printed, with Cilium's operator ``version`` taking over:
    step 1 while MetalLB runs; Cilium's CRDs (it is installed); the Cilium objects
    applied; MetalLB's controller stopped and the operator started (use_cilium); the
    printed waits on each pool's cilium.io/IPsUsed (the state is shown if one fails)."""
    release = cluster.build.cilium_release(version)
    for command in _step(doc, " label service "):  # step 1, MetalLB still running
        cluster.kubectl(*shlex.split(command)[1:])
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=kubectl-lbip-e2e",
        *[a for f in release.crd_files() for a in ("-f", str(f))],
    )
    objects = lbip(cluster, "migrate", "--to", "cilium", "--cilium-version", version)
    assert objects.returncode == 0, objects.stderr
    (tmp_path / "cilium-lb-ipam.yaml").write_text(objects.stdout)
    cluster.kubectl("apply", "-f", str(tmp_path / "cilium-lb-ipam.yaml"))
    cluster.use_cilium(version)  # MetalLB's controller stops, Cilium's operator starts
    # step 4 as printed: each pool's cilium.io/IPsUsed reaches the plan's count
    # (Cilium writes no condition on a service whose address it adopts as it is)
    for command in _step(doc, "wait --for=jsonpath="):
        waited = cluster.kubectl(*shlex.split(command)[1:], check=False, timeout=150)
        if waited.returncode != 0:
            state = {
                k: (cluster.service_condition(*reversed(k.split("/", 1))), held)
                for k, held in holdings(cluster, namespaces).items()
            }
            pools_now = cluster.get_json("ciliumloadbalancerippools")["items"]
            counts = {p["metadata"]["name"]: (p.get("status") or {}).get("conditions") for p in pools_now}
            pytest.fail(f"{command}: {waited.stderr.strip()}\n{json.dumps([state, counts], indent=1)}")


@pytest.mark.parametrize("seed", SEEDS)
def test_cut_over_cilium_operator_keeps_every_address_metallb_gave(
    cluster: Cluster, namespace: str, second_namespace: str, seed: int, tmp_path: Path
) -> None:
    ns, ns2 = namespace, second_namespace
    version = operator_release(cluster)
    cluster.apply(*pools(ns2))
    services = scenario(seed, ns, ns2)
    cluster.apply(*services)
    keys = [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in services]
    before = assigned(cluster, [ns, ns2], keys, f"MetalLB assigns every service of seed {seed}")
    r = lbip(cluster, "migrate", "--to", "cilium", "--cilium-version", version, "-o", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    planned = {f"{s['namespace']}/{s['name']}": s for s in doc["services"]}
    assert all(planned[k]["keeps"] is True for k in keys)

    try:
        _cut_over(cluster, doc, version, tmp_path, [ns, ns2])
        after = holdings(cluster, [ns, ns2])
        assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
        written = {}
        for key in keys:
            space, name = key.split("/", 1)
            cond = cluster.service_condition(name, space)
            assert cond is None or (cond["status"], cond["reason"]) == ("True", "satisfied"), (key, cond)
            written[key] = cond is not None
        # the sharers Cilium could not adopt as they were (the second of each pair) it satisfied itself
        assert any(written.values()) and not all(written.values()), written
    finally:
        cluster.use_metallb(cluster.build.newest.version)


def test_cut_over_a_gain_the_plan_predicts_is_what_the_operator_gives(
    cluster: Cluster, namespace: str, second_namespace: str, tmp_path: Path
) -> None:
    """Where the mapping is not one-to-one the plan says so, and the operator does what
    it said: a PreferDualStack service of the namespace a priority pool of IPv4 only
    serves gets one address from MetalLB (one pool for the request), and under Cilium
    an IPv6 address too, from the open pool (each family resolved on its own)."""
    ns, ns2 = namespace, second_namespace
    version = operator_release(cluster)
    cluster.apply(*pools(ns2))
    cluster.apply(
        service("gains", ns2, policy="PreferDualStack", families=["IPv4", "IPv6"]),
        service("stays", ns),
    )
    gains, stays = f"{ns2}/gains", f"{ns}/stays"
    before = assigned(cluster, [ns, ns2], [gains, stays], "MetalLB assigns both services")
    assert len(before[gains]) == 1 and before[gains][0].startswith("198.18.2."), before  # the IPv4 pool only
    r = lbip(
        cluster,
        "migrate",
        "--to",
        "cilium",
        "--cilium-version",
        version,
        "--accept",
        "to-cilium-accepted",
        "-o",
        "json",
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    planned = {f"{s['namespace']}/{s['name']}": s for s in doc["services"]}
    gained = [a for a in planned[gains]["cilium"] if a not in before[gains]]
    assert len(gained) == 1 and ":" in gained[0], planned[gains]
    assert "to-cilium-accepted" in {x["code"] for x in doc["losses"]}
    try:
        _cut_over(cluster, doc, version, tmp_path, [ns, ns2])
        after = holdings(cluster, [ns, ns2])
        assert sorted(after[gains]) == sorted(planned[gains]["cilium"])  # the IPv6 address the plan named
        assert after[stays] == before[stays]
    finally:
        cluster.use_metallb(cluster.build.newest.version)

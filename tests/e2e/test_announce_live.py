"""Past allocation against the real control plane: Node objects created through the
API (no kubelet is needed), advertisements with and without selectors, a pool no
advertisement selects, an EndpointSlice of a Local-policy service, and the
ServiceL2Status / ServiceBGPStatus objects a speaker would write, created through
the API with MetalLB's own CRDs (the speaker never runs: it would announce on the
machine's networks). `check`, `why`, `pools -o wide` and `who-has` find each case;
MetalLB's controller assigns the addresses and writes the pools' status counters."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from .controlplane import Cluster, wait_until
from .test_plugin_live import lbip, pool, service, wait_ips

pytestmark = pytest.mark.e2e

MS = "metallb-system"
P_ADV = "192.0.2.128/28"  # announced from zone-a
P_DARK = "198.51.100.128/29"  # no advertisement
NODES = ("e2e-node-a", "e2e-node-b")


def node(name: str, zone: str, ip: str) -> Dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
        "spec": {"podCIDRs": [f"10.244.{ip.rsplit('.', 1)[1]}.0/24"]},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]},
    }


def adv(kind: str, name: str, pools: List[str], **spec: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"ipAddressPools": pools} if pools else {}
    body.update(spec)
    return {"apiVersion": "metallb.io/v1beta1", "kind": kind, "metadata": {"name": name, "namespace": MS}, "spec": body}


def speaker_status(cluster: Cluster, kind: str, ns: str, svc: str, node_name: str, **status: Any) -> None:
    """What a speaker writes: the object, then its status subresource."""
    plural = {"ServiceL2Status": "servicel2statuses", "ServiceBGPStatus": "servicebgpstatuses"}[kind]
    name = f"{svc}-{node_name}"
    cluster.apply(
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": MS,
                "labels": {
                    "metallb.io/node": node_name,
                    "metallb.io/service-name": svc,
                    "metallb.io/service-namespace": ns,
                },
            },
        }
    )
    patch = {"status": {"node": node_name, "serviceName": svc, "serviceNamespace": ns, **status}}
    cluster.kubectl(
        "patch", f"{plural}.metallb.io", name, "-n", MS, "--subresource=status", "--type=merge", "-p", json.dumps(patch)
    )


def endpoint_slice(ns: str, svc: str, node_name: str) -> Dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{svc}-e2e", "namespace": ns, "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.2.9"], "nodeName": node_name, "conditions": {"ready": True}}],
        "ports": [{"name": "tcp-80", "port": 80, "protocol": "TCP"}],
    }


def config_state_crd(cluster: Cluster):
    """(the ConfigurationState CRD file, whether the running MetalLB's CRDs have it):
    MetalLB v0.16 added it; for an older control plane, v0.16's CRD from the Go module
    cache (read there, never copied), or None."""
    own = cluster.crd_dir / "metallb.io_configurationstates.yaml"
    if own.exists():
        return own, True
    # .../go.universe.tf/metallb@vX/config/crd/bases -> its sibling releases
    found = sorted(
        cluster.crd_dir.parents[3].glob("metallb@v0.1[6-9]*/config/crd/bases/metallb.io_configurationstates.yaml")
    )
    return (found[-1] if found else None), False


@pytest.fixture
def announced(cluster: Cluster, namespace: str):
    ns = namespace
    cluster.apply(node(NODES[0], "zone-a", "10.0.0.1"), node(NODES[1], "zone-b", "10.0.0.2"))
    cluster.apply(pool("p-adv", P_ADV), pool("p-dark", P_DARK))
    cluster.apply(
        adv(
            "L2Advertisement",
            "adv-zone-a",
            ["p-adv"],
            nodeSelectors=[{"matchLabels": {"topology.kubernetes.io/zone": "zone-a"}}],
        ),
        adv(
            "L2Advertisement",
            "adv-nowhere",
            ["p-adv"],
            nodeSelectors=[{"matchLabels": {"topology.kubernetes.io/zone": "zone-c"}}],
        ),
        adv("L2Advertisement", "adv-typo", ["p-advv"]),
    )
    pin = "metallb.io/loadBalancerIPs"
    local = service("local", ns, annotations={pin: "192.0.2.131"})
    local["spec"]["externalTrafficPolicy"] = "Local"
    cluster.apply(
        service("lit", ns, annotations={pin: "192.0.2.130"}),
        service("dark", ns, annotations={pin: "198.51.100.130"}),
        service("silent", ns, annotations={pin: "192.0.2.132"}),
        local,
        endpoint_slice(ns, "local", NODES[1]),
    )
    for name, ip in (
        ("lit", "192.0.2.130"),
        ("dark", "198.51.100.130"),
        ("silent", "192.0.2.132"),
        ("local", "192.0.2.131"),
    ):
        wait_ips(cluster, name, ns, [ip])
    speaker_status(cluster, "ServiceL2Status", ns, "lit", NODES[0], interfaces=[{"name": "eth0"}])
    speaker_status(cluster, "ServiceL2Status", ns, "local", NODES[0])

    def counted() -> bool:  # MetalLB's controller wrote the pools' status counters
        pools = {
            p["metadata"]["name"]: p.get("status") or {}
            for p in cluster.get_json("ipaddresspools.metallb.io", "-n", MS)["items"]
        }
        return pools.get("p-adv", {}).get("assignedIPv4") == 3 and pools.get("p-dark", {}).get("assignedIPv4") == 1

    wait_until(counted, 30, "MetalLB's pool status counters", interval=0.2)
    try:
        yield ns
    finally:
        cluster.kubectl(
            "delete",
            "servicel2statuses.metallb.io,servicebgpstatuses.metallb.io",
            "--all",
            "-n",
            MS,
            "--ignore-not-found",
            check=False,
        )
        cluster.kubectl("delete", "endpointslices", "--all", "-n", ns, check=False)
        cluster.kubectl("delete", "nodes", *NODES, "--ignore-not-found", check=False)


def test_check_finds_what_stops_assigned_addresses(cluster: Cluster, announced: str) -> None:
    ns = announced
    res = lbip(cluster, "check", "-o", "json")
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    got = {(f["code"], f["name"]): f for f in doc["findings"]}
    dark = got[("pool-not-advertised", "p-dark")]
    assert dark["severity"] == "error" and f"{ns}/dark" in dark["message"]
    assert ("pool-not-advertised", "p-adv") not in got
    assert got[("advertisement-no-nodes", "adv-nowhere")]["severity"] == "error"
    assert ("advertisement-no-nodes", "adv-zone-a") not in got
    assert ("advertisement-unknown-pool", "adv-typo") in got
    assert ("local-policy-no-announcer", "local") in got
    assert "e2e-node-b" in got[("local-policy-no-announcer", "local")]["message"]
    # MetalLB's own counters agree with what the services hold: no drift
    assert not [f for f in doc["findings"] if f["code"] == "pool-status-drift"], doc
    assert "L2Advertisement" not in doc["notChecked"] and "Node" not in doc["notChecked"]
    if not config_state_crd(cluster)[1]:
        # before v0.16 MetalLB has no ConfigurationState: not checked, and -v says why
        assert "ConfigurationState" in doc["notChecked"]
        res = lbip(cluster, "check", "-v")
        assert "I ConfigurationState is not served" in res.stderr, res.stderr


def test_check_sees_a_node_address_in_a_pool_and_a_bad_aggregation(cluster: Cluster, announced: str) -> None:
    cluster.apply(node("e2e-node-c", "zone-a", "192.0.2.140"))
    try:
        cluster.apply(adv("BGPAdvertisement", "agg", ["p-adv"], aggregationLength=24))
        doc = json.loads(lbip(cluster, "check", "-o", "json").stdout)
        got = {(f["code"], f["name"]) for f in doc["findings"]}
        assert ("pool-overlaps-node-address", "p-adv") in got
        assert ("bgp-aggregation-invalid", "agg") in got
        assert ("pool-overlaps-node-address", "p-dark") not in got
    finally:
        cluster.kubectl("delete", "bgpadvertisements.metallb.io", "agg", "-n", MS, "--ignore-not-found", check=False)
        cluster.kubectl("delete", "node", "e2e-node-c", "--ignore-not-found", check=False)


def test_why_explains_each_case(cluster: Cluster, announced: str) -> None:
    ns = announced
    lit = lbip(cluster, "why", "lit", "-n", ns)
    assert lit.returncode == 0, lit.stdout + lit.stderr
    assert "ServiceL2Status: node e2e-node-a, interfaces eth0" in lit.stdout
    assert "L2Advertisement/adv-zone-a: e2e-node-a" in lit.stdout
    assert "everything MetalLB needs is in place" in lit.stdout.splitlines()[-1]

    dark = lbip(cluster, "why", "dark", "-n", ns)
    assert dark.returncode == 1
    assert json.loads(lbip(cluster, "why", "dark", "-n", ns, "-o", "json").stdout)["firstFix"].startswith(
        "pool-not-advertised"
    )
    assert "> FAIL advertisements" in dark.stdout

    silent = json.loads(lbip(cluster, "why", "silent", "-n", ns, "-o", "json").stdout)
    assert silent["blocked"] and silent["speakers"] == []
    assert "no speaker reports announcing it" in silent["firstFix"]

    local = json.loads(lbip(cluster, "why", "local", "-n", ns, "-o", "json").stdout)
    assert local["readyNodes"] == ["e2e-node-b"]
    assert local["firstFix"].startswith("local-policy-no-announcer")

    assert lbip(cluster, "why", "nope", "-n", ns).returncode == 2


def test_why_pending_quotes_metallb(cluster: Cluster, announced: str) -> None:
    ns = announced
    cluster.apply(service("taken", ns, annotations={"metallb.io/loadBalancerIPs": "192.0.2.130"}))
    wait_until(
        lambda: cluster.events("taken", ns, reason="AllocationFailed"), 20, "AllocationFailed for taken", interval=0.2
    )
    message = cluster.events("taken", ns, reason="AllocationFailed")[0]["message"]
    doc = json.loads(lbip(cluster, "why", "taken", "-n", ns, "-o", "json").stdout)
    assert doc["blocked"] and doc["allocationFailed"] == message
    assert "events (MetalLB's AllocationFailed reason)" not in doc["unknown"]


def test_pools_wide_and_who_has_name_the_advertisements(cluster: Cluster, announced: str) -> None:
    doc = json.loads(lbip(cluster, "pools", "-o", "json").stdout)
    pools = {p["name"]: p for p in doc["pools"]}
    assert pools["p-adv"]["advertisements"] == {"l2": ["adv-nowhere", "adv-zone-a"], "bgp": []}
    assert pools["p-dark"]["advertisements"] == {"l2": [], "bgp": []}
    assert pools["p-adv"]["metallbStatus"]["assignedIPv4"] == 3
    assert pools["p-adv"]["metallbStatus"]["availableIPv4"] == 13
    wide = lbip(cluster, "pools", "-o", "wide").stdout
    row = next(line for line in wide.splitlines() if line.startswith("p-adv "))
    assert "l2:adv-nowhere,adv-zone-a" in row and "3/13" in row
    who = json.loads(lbip(cluster, "who-has", "198.51.100.130", "-o", "json").stdout)
    assert who[0]["advertisements"] == {"l2": [], "bgp": []}
    table = lbip(cluster, "who-has", "192.0.2.130", "-o", "wide").stdout
    assert "l2:adv-nowhere,adv-zone-a" in table


def test_readonly_user_is_told_what_it_could_not_check(cluster: Cluster, announced: str) -> None:
    res = lbip(cluster, "check", "-o", "json", context=cluster.readonly_context)
    assert res.returncode in (0, 1), res.stderr
    assert "note: L2Advertisement not checked: l2advertisements.metallb.io is forbidden: " in res.stderr, res.stderr
    assert "L2Advertisement" in json.loads(res.stdout)["notChecked"]


def test_readonly_who_has_says_unknown_never_none(cluster: Cluster, announced: str) -> None:
    """Issue 25: a context that may not list advertisements gets `?` and the 403 as a
    note, never `-` ("no advertisement in the input")."""
    res = lbip(cluster, "who-has", "192.0.2.130", "-o", "wide", context=cluster.readonly_context)
    assert res.returncode == 0, res.stderr
    row = res.stdout.splitlines()[1].split()
    assert row[:2] == ["192.0.2.130", "p-adv"] and row[-1] == "?"  # ANNOUNCED BY: the last column
    assert "note: L2Advertisement not checked: l2advertisements.metallb.io is forbidden" in res.stderr, res.stderr
    assert "note: ? in ANNOUNCED BY: L2Advertisement and BGPAdvertisement could not be read" in res.stderr
    admin = lbip(cluster, "who-has", "192.0.2.130", "-o", "wide")
    assert admin.stdout.splitlines()[1].split()[-1] == "l2:adv-nowhere,adv-zone-a"


def test_offline_on_a_dump_agrees_and_says_what_it_cannot_know(cluster: Cluster, announced: str, tmp_path) -> None:
    """The dump the README names, taken with the real kubectl, read with -f."""
    ns = announced
    dump = cluster.kubectl(
        "get", "ipaddresspools,l2advertisements,bgpadvertisements,nodes,services,endpointslices", "-A", "-o", "yaml"
    ).stdout
    path = tmp_path / "dump.yaml"
    path.write_text(dump)
    live = json.loads(lbip(cluster, "check", "-o", "json").stdout)["findings"]
    offline = json.loads(lbip(cluster, "check", "-f", str(path), "-o", "json").stdout)["findings"]
    codes = {"pool-not-advertised", "advertisement-no-nodes", "advertisement-unknown-pool", "local-policy-no-announcer"}

    def mine(found: List[Dict[str, Any]]):
        return sorted((f["code"], f["name"]) for f in found if f["code"] in codes)

    assert mine(offline) == mine(live) and mine(live)
    for name in ("lit", "dark", "local"):
        on = json.loads(lbip(cluster, "why", name, "-n", ns, "-o", "json").stdout)
        off_res = lbip(cluster, "why", name, "-n", ns, "-f", str(path))
        off = json.loads(lbip(cluster, "why", name, "-n", ns, "-f", str(path), "-o", "json").stdout)
        assert "not known from files: events" in off_res.stderr
        assert "the speakers' ServiceL2Status" in off["unknown"]
        assert off["advertisements"] == on["advertisements"] and off["readyNodes"] == on["readyNodes"]
        if name in ("dark", "local"):  # the same first fix (a dump holds no empty kind: wording aside)
            assert off["firstFix"].split()[0] == on["firstFix"].split()[0]


def test_metallb_config_invalid_is_quoted(cluster: Cluster, announced: str) -> None:
    """A ConfigurationState as MetalLB v0.16+ writes it (result Invalid, errorSummary),
    created through the API with MetalLB's own CRD."""
    ns = announced
    crd, served = config_state_crd(cluster)
    if crd is None:
        pytest.skip("no MetalLB v0.16+ in the Go module cache: no ConfigurationState CRD to install")
    if not served:
        cluster.kubectl("apply", "-f", str(crd))
        cluster.kubectl("wait", "--for=condition=established", "--timeout=30s", "crd/configurationstates.metallb.io")
    summary = "parsing address pool p-x: invalid CIDR"
    try:
        cluster.apply(
            {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "ConfigurationState",
                "metadata": {"name": "e2e-controller", "namespace": MS},
            }
        )
        cluster.kubectl(
            "patch",
            "configurationstates.metallb.io",
            "e2e-controller",
            "-n",
            MS,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": {"result": "Invalid", "errorSummary": summary}}),
        )
        doc = json.loads(lbip(cluster, "check", "-o", "json").stdout)
        (found,) = [f for f in doc["findings"] if f["code"] == "metallb-config-invalid"]
        assert found["name"] == "e2e-controller" and summary in found["message"]
        assert "ConfigurationState" not in doc["notChecked"]
        why = json.loads(lbip(cluster, "why", "lit", "-n", ns, "-o", "json").stdout)
        assert why["blocked"] and why["firstFix"].startswith("metallb-config-invalid")
        # near miss: Valid
        cluster.kubectl(
            "patch",
            "configurationstates.metallb.io",
            "e2e-controller",
            "-n",
            MS,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": {"result": "Valid", "errorSummary": None}}),
        )
        doc = json.loads(lbip(cluster, "check", "-o", "json").stdout)
        assert not [f for f in doc["findings"] if f["code"] == "metallb-config-invalid"]
    finally:
        cluster.kubectl(
            "delete", "configurationstates.metallb.io", "e2e-controller", "-n", MS, "--ignore-not-found", check=False
        )
        if not served:
            cluster.kubectl("delete", "crd", "configurationstates.metallb.io", "--wait=true", check=False)

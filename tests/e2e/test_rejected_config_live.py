"""Issue 25 item 4 on the real control plane: MetalLB's own controller (v0.16+)
rejects a configuration with two overlapping pools, says so in its
ConfigurationState, and keeps using the last one it accepted (a request in the pool
added since is refused: "not allowed in config"). `free`, `annotate` and `pin` warn
that their answers assume the configuration in the cluster and name that pool (its
status has no counters: MetalLB never loaded it); `--strict` exits 1 writing nothing."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import pytest

from .controlplane import Cluster, wait_until
from .test_plugin_live import V4, lbip, pool, service, wait_failed, wait_ips

pytestmark = pytest.mark.e2e

MS = "metallb-system"
STATE = ("configurationstates.metallb.io", "controller", "-n", MS)
OVERLAP = "192.0.2.136/29"  # inside V4: MetalLB rejects the whole configuration
FRESH = "198.51.100.128/29"  # the added pool's own range, which MetalLB never loads
CODE = "[metallb-config-invalid]"


def _result(cluster: Cluster) -> Optional[str]:
    r = cluster.kubectl("get", *STATE, "-o", "json", check=False)
    if r.returncode != 0:
        return None
    return (json.loads(r.stdout).get("status") or {}).get("result")


def _status(cluster: Cluster, name: str) -> Dict[str, Any]:
    return cluster.get_json("ipaddresspools.metallb.io", name, "-n", MS).get("status") or {}


def test_a_rejected_configuration_is_said_by_free_annotate_and_pin(cluster: Cluster, namespace: str, tmp_path):
    served = cluster.kubectl("get", "crd", "configurationstates.metallb.io", check=False)
    if served.returncode != 0:
        pytest.skip("the running MetalLB has no ConfigurationState (v0.16 and later write one)")
    ns = namespace
    cluster.apply(pool("loaded", V4))
    cluster.apply(service("web", ns))
    wait_ips(cluster, "web", ns, ["192.0.2.128"])
    wait_until(lambda: _status(cluster, "loaded").get("assignedIPv4") == 1, 20, "pool loaded's status counters")
    wait_until(lambda: _result(cluster) == "Valid", 20, "ConfigurationState controller Valid")
    try:
        cluster.apply(pool("late", OVERLAP, FRESH))
        wait_until(lambda: _result(cluster) == "Invalid", 20, "ConfigurationState controller Invalid")
        # MetalLB keeps its last valid configuration: the pool added since is not in it
        cluster.apply(service("asks", ns, annotations={"metallb.io/loadBalancerIPs": "198.51.100.130"}))
        assert "not allowed in config" in wait_failed(cluster, "asks", ns)

        r = lbip(cluster, "free", "--family", "ipv4", "-n", ns)
        assert r.returncode == 0, r.stderr
        assert f"warning: {CODE} MetalLB rejected the configuration in the cluster" in r.stderr, r.stderr
        assert "pool late (MetalLB counts none of its addresses: added since)" in r.stderr
        assert "pool loaded (" not in r.stderr  # its counters match its spec
        r = lbip(cluster, "free", "--family", "ipv4", "-n", ns, "--strict", "-o", "json")
        assert r.returncode == 1, r.stderr
        data = json.loads(r.stdout)["rejectedConfiguration"]
        assert [p["name"] for p in data["changedPools"]] == ["late"]
        assert data["states"][0]["name"] == "controller" and data["states"][0]["errorSummary"]

        cluster.apply(service("new", ns))
        r = lbip(cluster, "annotate", "new", "-n", ns, "198.51.100.131", "--dry-run=client")
        assert r.returncode == 0 and f"warning: {CODE}" in r.stderr, r.stderr
        before = cluster.get_json("service", "new", "-n", ns)["metadata"]
        r = lbip(cluster, "annotate", "new", "-n", ns, "198.51.100.131", "--strict")
        assert r.returncode == 1 and f"error: {CODE}" in r.stderr and "nothing was written" in r.stderr, r.stderr
        after = cluster.get_json("service", "new", "-n", ns)["metadata"]
        assert after["resourceVersion"] == before["resourceVersion"]

        manifest = tmp_path / "svc.yaml"
        manifest.write_text(json.dumps(service("planned", ns)))
        r = lbip(cluster, "pin", "--against-cluster", "-f", str(manifest), "--strict", "--in-place")
        assert r.returncode == 1 and f"error: {CODE}" in r.stderr, r.stderr
        assert json.loads(manifest.read_text()) == service("planned", ns)
    finally:
        cluster.kubectl("delete", "ipaddresspools.metallb.io", "late", "-n", MS, "--ignore-not-found", check=False)
        wait_until(lambda: _result(cluster) == "Valid", 20, "ConfigurationState controller Valid again")

"""history and probe --from-cluster against the real control plane (issue 30 items 2
and 3): MetalLB's own events and status writes read back as the service's history,
and the probe's pod created and deleted through the API server. The control plane
has no kubelet, so the pod never runs: the deadline ends the wait and is named. No
connect is made anywhere."""

from __future__ import annotations

import json

import pytest

from .controlplane import Cluster
from .test_plugin_live import lbip, pool, service

pytestmark = pytest.mark.e2e


def test_live_history_reads_metallbs_assignment_back(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("hist", "198.51.100.32/29"))
    cluster.apply(service("front", ns))
    (address,) = cluster.wait_ingress("front", ns)

    result = lbip(cluster, "history", "front", "-n", ns, "-o", "json")
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    by_source = {c["source"].split(" (")[0]: c for c in changes}
    assigned = by_source["event IPAllocated"]  # MetalLB's controller said it
    assert assigned["change"] == "assigned" and assigned["to"] == [address]
    assert any(c["source"].startswith("managedFields (status") and c["to"] == [address] for c in changes)
    assert changes[-1]["change"] == "listed" and changes[-1]["to"] == [address]
    assert "--event-ttl, 1h by default" in result.stderr

    by_address = lbip(cluster, "history", address, "-o", "json")
    assert {(c["namespace"], c["name"]) for c in json.loads(by_address.stdout)["changes"]} == {(ns, "front")}


def test_live_probe_from_cluster_creates_the_pod_and_deletes_it_at_the_deadline(
    cluster: Cluster, namespace: str
) -> None:
    ns = namespace
    # what kube-controller-manager would create in a new namespace (a pod needs it)
    cluster.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}})
    cluster.apply(pool("probe", "198.51.100.40/29"))
    cluster.apply(service("web", ns))
    cluster.wait_ingress("web", ns)

    result = lbip(cluster, "probe", "web", "-n", ns, "--from-cluster", "--timeout", "2s", "-v=6")
    assert result.returncode == 3, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: pod ") and "did not finish within 2s (the --timeout): Pending; deleted" in last
    name = last.split("pod ", 1)[1].split()[0].split("/")[1]
    logged = result.stderr.splitlines()
    assert any(f"POST /api/v1/namespaces/{ns}/pods 201" in line for line in logged), result.stderr
    assert any(f"DELETE /api/v1/namespaces/{ns}/pods/{name}" in line and " 200 " in line for line in logged)
    left = cluster.get_json("pods", "-n", ns)
    assert left["items"] == []

"""What differs between MetalLB releases, measured against each release's controller
(``metallb_version``: the matrix of conftest.py), and the plugin on each: it finds the
release that runs and follows its rules.

The differences themselves are pinned on plain data in
tests/model/test_metallb_versions.py; these tests measure them live.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from kubectl_lbip.model import metallb
from kubectl_lbip.model.services import Service
from kubectl_lbip.model.suggest import metallb_pick
from kubectl_lbip.snapshot.live import connect

from .controlplane import Cluster, wait_until

pytestmark = pytest.mark.e2e

VENV_BIN = Path(sys.executable).parent


def plugin(cluster: Cluster, *args: str) -> subprocess.CompletedProcess:
    """`kubectl lbip ARGS` through the real kubectl (the plugin found on PATH)."""
    env = cluster.env(PATH=os.pathsep.join([str(VENV_BIN), "/usr/bin", "/bin"]))
    return subprocess.run(["kubectl", "lbip", *args], capture_output=True, text=True, timeout=120, env=env)


def pool(name: str, *addresses: str, **spec: Any) -> Dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": {"addresses": list(addresses), **spec},
    }


def service(ns: str, name: str, annotations: Dict[str, str] | None = None) -> Dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": {
            "type": "LoadBalancer",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"],
            "ports": [{"port": 80}],
        },
    }


def failure(cluster: Cluster, ns: str, name: str) -> str:
    def probe() -> str:
        events = cluster.events(name, ns, reason="AllocationFailed")
        return events[-1]["message"] if events else ""

    return wait_until(probe, 30, f"AllocationFailed on {ns}/{name}")


def test_plugin_finds_the_release_that_runs(cluster: Cluster, metallb_version: str) -> None:
    out = plugin(cluster, "pools", "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["metallb"] == {
        "version": metallb_version,
        "source": "deployment",
        "detail": f"from deployment metallb-system/controller, image quay.io/metallb/controller:{metallb_version}",
        "rules": metallb.behaves_as(metallb.parse(metallb_version)),
    }
    table = plugin(cluster, "check")
    assert f"MetalLB {metallb_version} (from deployment metallb-system/controller" in table.stderr


def test_crds_served_tell_the_release_line(cluster: Cluster, metallb_version: str) -> None:
    """Without a Deployment to read (here: a namespace with none), the CRDs each
    release serves give its line: the markers of metallb.version_from_resources."""
    release = connect(str(cluster.kubeconfig)).metallb_release("default")
    expected = {
        (0, 14): "v0.14",
        (0, 15): "v0.15.0-v0.15.2" if metallb.parse(metallb_version) < (0, 15, 3) else ">=v0.15.3",
        (0, 16): ">=v0.15.3",
    }[metallb.parse(metallb_version)[:2]]
    assert (release.label, release.source) == (expected, "crds")


def test_priority_only_pool(cluster: Cluster, metallb_version: str, namespace: str) -> None:
    """v0.14 never uses a priority-only pool automatically; v0.15+ tries it first. The
    plugin, on the live snapshot (release found from the Deployment), predicts it."""
    cluster.apply(pool("v-prio", "198.18.7.0/30", serviceAllocation={"priority": 3}), pool("v-open", "198.18.8.0/30"))
    cluster.apply(service(namespace, "probe-first", {"metallb.io/loadBalancerIPs": "198.18.8.3"}))
    assert cluster.wait_ingress("probe-first", namespace) == ["198.18.8.3"]  # both pools seen
    manifest = service(namespace, "auto")
    model = connect(str(cluster.kubeconfig)).snapshot().to_cluster()
    pick = metallb_pick(model, Service.from_object(manifest))
    expected = (
        "198.18.7.0"
        if metallb.priority_only_pool_serves_every_service(metallb.parse(metallb_version))
        else "198.18.8.0"
    )
    assert (pick.pools, pick.ipv4) == (["v-prio" if expected == "198.18.7.0" else "v-open"], expected)
    cluster.apply(manifest)
    assert cluster.wait_ingress("auto", namespace) == [expected]


def test_full_pool_named_by_annotation(cluster: Cluster, metallb_version: str, namespace: str) -> None:
    """The refusal text for a full pool changed in v0.16; check reports pool-exhausted
    on the service with the text of the release that runs."""
    cluster.apply(pool("v-tiny", "198.18.9.1/32", autoAssign=False))
    cluster.apply(service(namespace, "holder", {"metallb.io/address-pool": "v-tiny"}))
    assert cluster.wait_ingress("holder", namespace) == ["198.18.9.1"]
    cluster.apply(service(namespace, "wants", {"metallb.io/address-pool": "v-tiny"}))
    said = failure(cluster, namespace, "wants")
    expected = metallb.full_pool_message(metallb.parse(metallb_version), "v-tiny", "ipv4")
    assert said == f'Failed to allocate IP for "{namespace}/wants": {expected}'
    out = plugin(cluster, "check", "-n", namespace, "-o", "json")
    found: List[Dict[str, Any]] = [
        f for f in json.loads(out.stdout)["findings"] if f["name"] == "wants" and f["code"] == "pool-exhausted"
    ]
    assert len(found) == 1 and expected in found[0]["message"], out.stdout


def test_without_read_access_to_deployments_the_crds_tell(cluster: Cluster, metallb_version: str) -> None:
    """The `limited` identity reads services, events, namespaces and pools, not
    Deployments: the release comes from the CRDs served, and -v says why."""
    out = plugin(cluster, "check", "--context", cluster.limited_context, "-o", "json", "-v")
    assert out.returncode in (0, 1), out.stderr
    release = json.loads(out.stdout)["metallb"]
    expected = "v0.14" if metallb_version.startswith("v0.14.") else ">=v0.15.3"
    assert (release["version"], release["source"]) == (expected, "crds")
    assert "I MetalLB release: cannot list Deployments in metallb-system (deployments.apps is forbidden" in out.stderr
    assert f"I MetalLB release: {expected}, told from the metallb.io resources served" in out.stderr

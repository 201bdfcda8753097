"""Issue 20 on the real control plane: a backup edited to name a Secret and a
ConfigMap through the service name (`x/../../secrets/sec`), or to carry any
annotation, is refused whole by `migrate --restore`; the Secret, the ConfigMap
and the service are untouched afterwards."""

from __future__ import annotations

import json

import pytest

from .controlplane import Cluster
from .test_plugin_live import V4, lbip, pool, service

pytestmark = pytest.mark.e2e
OLD = "metallb.universe.tf/loadBalancerIPs"


def _state(cluster: Cluster, namespace: str) -> dict:
    secret = cluster.get_json("secret", "sec", "-n", namespace)
    configmap = cluster.get_json("configmap", "cm", "-n", namespace)
    svc = cluster.get_json("service", "web", "-n", namespace)
    return {
        "secret": (secret["metadata"]["resourceVersion"], secret["metadata"].get("annotations"), secret["data"]),
        "configmap": (
            configmap["metadata"]["resourceVersion"],
            configmap["metadata"].get("annotations"),
            configmap["data"],
        ),
        "service": (svc["metadata"]["resourceVersion"], svc["metadata"].get("annotations")),
    }


def test_a_hostile_backup_is_refused_and_touches_nothing(cluster: Cluster, namespace: str, tmp_path):
    cluster.apply(pool("restore-pool", V4))
    cluster.kubectl("create", "secret", "generic", "sec", "-n", namespace, "--from-literal=k=v")
    cluster.kubectl("create", "configmap", "cm", "-n", namespace, "--from-literal=k=v")
    cluster.apply(service("web", namespace, annotations={OLD: "192.0.2.130"}))
    backup = tmp_path / "backup.json"
    r = lbip(cluster, "migrate", "-n", namespace, "--yes", "--backup", str(backup))
    assert r.returncode == 0, r.stderr
    saved = json.loads(backup.read_text())
    assert saved["cluster"]["server"] == cluster.server
    before = _state(cluster, namespace)

    for bad in (
        {"name": "x/../../secrets/sec"},
        {"name": "x/../../configmaps/cm"},
        {"annotations": {"example.com/pwned": "yes"}},
    ):
        hostile = json.loads(backup.read_text())
        hostile["services"].append({**hostile["services"][0], **bad})
        path = tmp_path / "hostile.json"
        path.write_text(json.dumps(hostile))
        r = lbip(cluster, "migrate", "--restore", str(path), "--yes")
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "service entry 2" in r.stderr and "nothing was written" in r.stderr
        assert "Traceback" not in r.stderr
        assert _state(cluster, namespace) == before

    # the honest backup still restores, on this cluster only
    r = lbip(cluster, "migrate", "--restore", str(backup), "--yes")
    assert r.returncode == 0, r.stderr
    svc = cluster.get_json("service", "web", "-n", namespace)
    assert svc["metadata"]["annotations"].get(OLD) == "192.0.2.130"
    other = json.loads(backup.read_text())
    other["cluster"]["server"] = "https://another.example:6443"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    r = lbip(cluster, "migrate", "--restore", str(path), "--yes")
    assert r.returncode == 2 and "--force" in r.stderr

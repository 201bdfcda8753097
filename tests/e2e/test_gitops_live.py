"""GitOps against the real control plane, with MetalLB as the judge: a pull-request
job's `check --against-cluster -f` with a read-only identity, and a folder pinned by
`pin` then applied with `kubectl apply -f`: MetalLB assigns exactly the pinned
addresses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .controlplane import Cluster
from .test_plugin_live import V4, V6, lbip, pool, service, wait_ips

pytestmark = pytest.mark.e2e
LB = "metallb.io/loadBalancerIPs"
KEY = "metallb.io/allow-shared-ip"


def write(path: Path, *objects) -> None:
    path.write_text("# kept in Git\n" + yaml.safe_dump_all(list(objects), sort_keys=False))


def test_check_against_cluster_finds_a_request_a_live_service_holds(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    ns = namespace
    cluster.apply(pool("gitops-check", V4))
    cluster.apply(service("holder", ns))  # from another repository
    held = cluster.wait_ingress("holder", ns)
    folder = tmp_path / "k8s"
    folder.mkdir()
    write(
        folder / "app.yaml",
        service("newcomer", ns, annotations={LB: held[0]}),
        service("outside", ns, annotations={LB: "203.0.113.7"}),
        service("fine", ns, annotations={LB: "192.0.2.140"}),
    )
    # what the pull-request job runs, with a read-only identity
    res = lbip(cluster, "check", "--against-cluster", "-f", str(folder), "-o", "json", context=cluster.readonly_context)
    assert res.returncode == 1, res.stderr
    errors = {
        (f["code"], f["name"], f["source"]) for f in json.loads(res.stdout)["findings"] if f["severity"] == "error"
    }
    assert ("address-conflict", "newcomer", "files") in errors, errors
    assert ("not-in-pool", "outside", "files") in errors, errors
    assert not any(name == "fine" for _, name, _ in errors)
    # without the flag the folder alone looks fine apart from the pool it lacks
    res = lbip(cluster, "check", "-f", str(folder), "-o", "json")
    codes = {f["code"] for f in json.loads(res.stdout)["findings"]}
    assert "address-conflict" not in codes


def test_a_pinned_folder_applied_gets_exactly_the_pinned_addresses(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    ns = namespace
    cluster.apply(pool("gitops-pin", V4, V6))
    cluster.apply(service("live-one", ns))  # holds the pool's first address
    live_ip = cluster.wait_ingress("live-one", ns)
    folder = tmp_path / "k8s"
    folder.mkdir()
    write(
        folder / "web.yaml",
        service("http", ns, annotations={KEY: "web"}, ports=(("TCP", 80),)),
        service("https", ns, annotations={KEY: "web"}, ports=(("TCP", 443),)),
    )
    write(folder / "apps.yaml", *[service(f"app{i}", ns) for i in range(5)])
    write(
        folder / "dual.yaml",
        service("both", ns, policy="RequireDualStack", families=["IPv4", "IPv6"]),
        service("kept", ns, annotations={LB: "192.0.2.143"}),
    )
    res = lbip(cluster, "pin", "--against-cluster", "-f", str(folder), "--in-place")
    assert res.returncode == 0, res.stderr
    assert "8 pinned, 1 kept" in res.stderr, res.stderr
    pins = {}
    for path in folder.iterdir():
        for doc in yaml.safe_load_all(path.read_text()):
            pins[doc["metadata"]["name"]] = doc["metadata"]["annotations"][LB].split(",")
        assert path.read_text().startswith("# kept in Git\n")
    assert pins["http"] == pins["https"]
    assert live_ip[0] not in sum(pins.values(), [])
    cluster.kubectl("apply", "-f", str(folder))
    for name, addresses in pins.items():
        wait_ips(cluster, name, ns, addresses)
    assert cluster.ingress_ips("live-one", ns) == live_ip
    # the folder checks clean against the cluster it now describes, and pins nothing more
    # (the control plane has no nodes: past-allocation findings are not this test's business)
    res = lbip(cluster, "check", "--against-cluster", "-f", str(folder), "-n", ns, "-o", "json")
    service_errors = [
        f for f in json.loads(res.stdout)["findings"] if f["kind"] == "Service" and f["severity"] == "error"
    ]
    assert service_errors == [], service_errors
    res = lbip(cluster, "pin", "--against-cluster", "-f", str(folder), "--in-place")
    assert res.returncode == 0 and "0 pinned, 9 kept" in res.stderr, res.stderr


def readme_cluster_role() -> dict:
    """The read-only ClusterRole the README's GitOps section gives the pull-request job."""
    import re

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("## GitOps: manifests against the live cluster", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        doc = yaml.safe_load(block)
        if isinstance(doc, dict) and doc.get("kind") == "ClusterRole":
            return doc
    raise AssertionError("no ClusterRole in the README's GitOps section")


def test_the_readmes_read_only_role_is_enough_for_the_pull_request_job(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    """Bound to an identity that could only read services, events, namespaces and
    pools, the README's ClusterRole lets `check --against-cluster -o sarif` read every
    kind it checks: nothing is left unchecked for being forbidden."""
    import time

    from .controlplane import LIMITED_USER

    ns = namespace
    role = readme_cluster_role()
    # it covers what the limited identity had, so it would be enough on its own
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert {("", "services"), ("", "events"), ("", "namespaces"), ("metallb.io", "ipaddresspools")} <= granted
    assert all(set(rule["verbs"]) == {"get", "list"} for rule in role["rules"])  # read only
    role["metadata"] = {"name": "kubectl-lbip-e2e:readme-ci-read"}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "kubectl-lbip-e2e:readme-ci-read"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": LIMITED_USER}],
    }
    cluster.apply(pool("gitops-readme-role", "192.0.2.160/29"))
    folder = tmp_path / "k8s"
    folder.mkdir()
    write(folder / "app.yaml", service("outside", ns, annotations={LB: "203.0.113.9"}))
    job = ("check", "--against-cluster", "-f", str(folder), "-o", "sarif")
    before = lbip(cluster, *job, context=cluster.limited_context)
    assert "not checked:" in before.stderr and "is forbidden" in before.stderr, before.stderr  # the API server's words
    cluster.apply(role, binding)
    try:
        deadline = time.monotonic() + 30  # the authorizer sees new bindings through its informers
        while True:
            after = lbip(cluster, *job, context=cluster.limited_context)
            if "forbidden" not in after.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "forbidden" not in after.stderr, after.stderr
        assert after.returncode == 1, after.stderr
        results = json.loads(after.stdout)["runs"][0]["results"]
        (outside,) = [r for r in results if r["properties"]["object"] == f"Service/{ns}/outside"]
        assert outside["ruleId"] == "not-in-pool" and outside["properties"]["source"] == "files"
        place = outside["locations"][0]["physicalLocation"]
        assert place["artifactLocation"]["uri"].endswith("k8s/app.yaml") and place["region"]["startLine"] == 2
    finally:
        cluster.kubectl("delete", "clusterrolebinding,clusterrole", role["metadata"]["name"], "--ignore-not-found")

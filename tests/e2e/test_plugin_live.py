"""The plugin through the real `kubectl` binary (`kubectl lbip ...`) against the
real control plane, with MetalLB's controller as the judge of every write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import pytest

from kubectl_lbip.commands import annotate as annotate_cmd
from kubectl_lbip.commands.common import Inputs
from kubectl_lbip.printer import show
from kubectl_lbip.snapshot.live import LiveClient

from .controlplane import Cluster, wait_until

pytestmark = pytest.mark.e2e

V4 = "192.0.2.128/28"  # 192.0.2.128 - .143
V6 = "2001:db8:1::/124"  # 2001:db8:1:: - ::f
V4_B = "198.51.100.128/29"  # a second pool


# --------------------------------------------------------------------------
# helpers


def _path() -> str:
    return os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"])


def lbip(
    cluster: Cluster, *args: str, context: Optional[str] = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`kubectl lbip ARGS`: kubectl finds kubectl-lbip on PATH (the venv's bin)."""
    kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
    cmd = [kubectl, "lbip", *args]
    if context:
        cmd.append(f"--context={context}")
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=cluster.env(PATH=_path()), stdin=subprocess.DEVNULL
    )


def pool(name: str, *addresses: str, **spec: Any) -> Dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": {"addresses": list(addresses), **spec},
    }


def service(
    name: str,
    namespace: str,
    *,
    annotations: Optional[Dict[str, str]] = None,
    policy: str = "SingleStack",
    families: Optional[List[str]] = None,
    lb_ip: Optional[str] = None,
    ports: tuple = (("TCP", 80),),
    labels: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    meta: Dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    spec: Dict[str, Any] = {
        "type": "LoadBalancer",
        "ipFamilyPolicy": policy,
        "selector": {"app": name},
        "ports": [{"name": f"{p.lower()}-{n}", "protocol": p, "port": n} for p, n in ports],
    }
    if families:
        spec["ipFamilies"] = families
    if lb_ip:
        spec["loadBalancerIP"] = lb_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def wait_ips(cluster: Cluster, name: str, ns: str, want: List[str], timeout: float = 20) -> None:
    """Wait until MetalLB's ingress is exactly ``want`` (as a set)."""
    wait_until(
        lambda: sorted(cluster.ingress_ips(name, ns)) == sorted(want),
        timeout,
        f"ingress of {ns}/{name} == {sorted(want)} (now {sorted(cluster.ingress_ips(name, ns))})",
        interval=0.1,
    )


def wait_failed(cluster: Cluster, name: str, ns: str, timeout: float = 20) -> str:
    ev = wait_until(
        lambda: cluster.events(name, ns, reason="AllocationFailed"),
        timeout,
        f"AllocationFailed for {ns}/{name}",
        interval=0.1,
    )
    return ev[0]["message"]


def get_svc(cluster: Cluster, name: str, ns: str) -> Dict[str, Any]:
    return cluster.get_json("service", name, "-n", ns)


def annotations(cluster: Cluster, name: str, ns: str) -> Dict[str, str]:
    return get_svc(cluster, name, ns)["metadata"].get("annotations") or {}


def _settled(cluster: Cluster, name: str, ns: str, before: List[str], seconds: float = 3.0):
    """The ingress stays ``before`` for a few seconds (MetalLB reconciled the change)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert sorted(cluster.ingress_ips(name, ns)) == sorted(before), name
        time.sleep(0.25)


# --------------------------------------------------------------------------
# read commands against a live setup


@pytest.fixture
def live_setup(cluster: Cluster, namespace: str) -> str:
    """A dual-stack pool, a v4-only pool, services with and without requests, a
    shared address, and one service MetalLB refuses (AllocationFailed)."""
    ns = namespace
    cluster.apply(pool("live-dual", V4, V6), pool("live-v4", V4_B, autoAssign=False))
    cluster.apply(
        service(
            "web",
            ns,
            policy="RequireDualStack",
            annotations={
                "metallb.io/loadBalancerIPs": "192.0.2.130,2001:db8:1::2",
                "metallb.io/allow-shared-ip": "web",
            },
        ),
        service(
            "web-udp",
            ns,
            ports=(("UDP", 53),),
            annotations={"metallb.io/loadBalancerIPs": "192.0.2.130", "metallb.io/allow-shared-ip": "web"},
        ),
        service("auto", ns),
        service("pinned-b", ns, annotations={"metallb.io/loadBalancerIPs": "198.51.100.130"}),
    )
    wait_ips(cluster, "web", ns, ["192.0.2.130", "2001:db8:1::2"])
    wait_ips(cluster, "web-udp", ns, ["192.0.2.130"])
    wait_ips(cluster, "pinned-b", ns, ["198.51.100.130"])
    cluster.wait_ingress("auto", ns)
    # a split pair: MetalLB refuses it ("is not allowed in config")
    cluster.apply(
        service(
            "split",
            ns,
            policy="RequireDualStack",
            annotations={"metallb.io/loadBalancerIPs": "198.51.100.131,2001:db8:1::3"},
        )
    )
    wait_failed(cluster, "split", ns)
    return ns


def test_kubectl_finds_the_plugin(cluster: Cluster) -> None:
    kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
    res = subprocess.run(
        [kubectl, "plugin", "list"], capture_output=True, text=True, env=cluster.env(PATH=_path()), timeout=30
    )
    assert os.path.join(os.path.dirname(sys.executable), "kubectl-lbip") in res.stdout


def test_pools_live(cluster: Cluster, live_setup: str) -> None:
    res = lbip(cluster, "pools", "-o", "json")
    assert res.returncode == 0, res.stderr
    pools = {p["name"]: p for p in json.loads(res.stdout)["pools"]}
    assert set(pools) == {"live-dual", "live-v4"}
    dual = pools["live-dual"]
    assert dual["ipv4"]["total"] == 16 and dual["ipv6"]["total"] == 16
    # used = what MetalLB assigned: .130 (web, web-udp) and auto's; ::2 held by
    # web. The refused split pair (Pending) takes nothing: not ::3, not .131
    assert dual["ipv4"]["used"] == 2 and dual["ipv6"]["used"] == 1
    assert pools["live-v4"]["autoAssign"] is False
    assert pools["live-v4"]["ipv4"] == {"total": 8, "used": 1, "free": 7}
    table = lbip(cluster, "pools")
    assert table.returncode == 0 and "live-dual" in table.stdout and "live-v4" in table.stdout


def test_free_live(cluster: Cluster, live_setup: str) -> None:
    ns = live_setup
    res = lbip(cluster, "free", "-n", ns, "-o", "json", "--count", "3")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["family"] == "dual"
    held = set(cluster.ingress_ips("web", ns) + cluster.ingress_ips("auto", ns))
    for s in doc["suggestions"]:
        assert s["pool"] == "live-dual"  # the only pool with both families
        assert s["ipv4"] not in held and s["ipv6"] not in held
    # MetalLB's own pick for a new service mirrors what it did for "auto"
    res = lbip(cluster, "free", "--for", "auto", "-n", ns, "-o", "json")
    assert res.returncode == 0, res.stderr
    pick = json.loads(res.stdout)["metallbPick"]
    assert pick["pools"] == ["live-dual"]
    assert [pick["ipv4"]] == cluster.ingress_ips("auto", ns)
    # the annotation format prints a value MetalLB accepts
    res = lbip(cluster, "free", "-n", ns, "--family", "ipv4", "-o", "annotation")
    assert res.returncode == 0 and res.stdout.startswith("metallb.io/loadBalancerIPs: "), res


def test_who_has_live(cluster: Cluster, live_setup: str) -> None:
    ns = live_setup
    res = lbip(cluster, "who-has", "192.0.2.130", "-o", "json")
    assert res.returncode == 0, res.stderr
    (entry,) = json.loads(res.stdout)
    assert entry["pool"] == "live-dual" and entry["free"] is False
    holders = {h["name"]: h for h in entry["holders"]}
    assert set(holders) == {"web", "web-udp"}
    assert {h["namespace"] for h in holders.values()} == {ns}
    assert "assigned" in holders["web"]["how"] and holders["web"]["sharingKey"] == "web"
    # an address nobody has: exit 1, like grep
    assert lbip(cluster, "who-has", "192.0.2.140").returncode == 1
    # the split request is "requested", not held
    res = lbip(cluster, "who-has", "198.51.100.131", "-o", "json")
    assert res.returncode == 0
    (entry,) = json.loads(res.stdout)
    (holder,) = entry["holders"]
    assert holder["name"] == "split" and "assigned" not in holder["how"], holder
    assert lbip(cluster, "who-has", "not-an-ip").returncode == 2


def test_check_live_reports_metallb_pending_message(cluster: Cluster, live_setup: str) -> None:
    ns = live_setup
    message = cluster.events("split", ns, reason="AllocationFailed")[0]["message"]
    res = lbip(cluster, "check", "-n", ns, "-o", "json")
    assert res.returncode == 1, res.stderr  # errors found
    found = json.loads(res.stdout)["findings"]
    mine = [f for f in found if f["name"] == "split"]
    codes = {f["code"] for f in mine}
    assert {"split-pool-dual-stack", "pending"} <= codes, mine
    (pending,) = [f for f in mine if f["code"] == "pending"]
    assert pending["severity"] == "error"
    assert message in pending["message"], (message, pending["message"])
    # the services MetalLB served are clean
    assert not [f for f in found if f["name"] in ("web", "web-udp", "auto", "pinned-b") and f["severity"] == "error"], (
        found
    )


# --------------------------------------------------------------------------
# annotate: MetalLB assigns exactly what was written


def test_annotate_then_metallb_assigns_exactly_those(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("ann-dual", V4, V6))
    cluster.apply(service("app", ns, policy="RequireDualStack"))
    auto = cluster.wait_ingress("app", ns)  # MetalLB's own pick first
    assert sorted(auto) == ["192.0.2.128", "2001:db8:1::"]
    res = lbip(cluster, "annotate", "app", "-n", ns, "2001:db8:1::9", "192.0.2.137")
    assert res.returncode == 0, res.stderr
    assert "annotated: metallb.io/loadBalancerIPs=192.0.2.137,2001:db8:1::9" in res.stdout
    assert annotations(cluster, "app", ns)["metallb.io/loadBalancerIPs"] == "192.0.2.137,2001:db8:1::9"
    wait_ips(cluster, "app", ns, ["192.0.2.137", "2001:db8:1::9"])
    # a refused request writes nothing and says why
    res = lbip(cluster, "annotate", "app", "-n", ns, "192.0.2.138", "--overwrite")
    assert res.returncode == 1 and "[family-mismatch]" in res.stderr, res
    assert annotations(cluster, "app", ns)["metallb.io/loadBalancerIPs"] == "192.0.2.137,2001:db8:1::9"


def test_annotate_auto_then_metallb_assigns_it(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    # autoAssign off: MetalLB gives nothing on its own, only what is requested
    cluster.apply(pool("ann-auto", V4, V6, autoAssign=False))
    cluster.apply(service("first", ns, annotations={"metallb.io/loadBalancerIPs": "192.0.2.128"}))
    wait_ips(cluster, "first", ns, ["192.0.2.128"])
    cluster.apply(service("svc", ns, policy="PreferDualStack"))
    wait_failed(cluster, "svc", ns)  # no available IPs
    res = lbip(cluster, "annotate", "svc", "-n", ns, "--auto")
    assert res.returncode == 0, res.stderr
    value = annotations(cluster, "svc", ns)["metallb.io/loadBalancerIPs"]
    written = value.split(",")
    assert len(written) == 2 and "192.0.2.128" not in written, value
    wait_ips(cluster, "svc", ns, written)
    # again: it holds what it asks for, so nothing to change
    res = lbip(cluster, "annotate", "svc", "-n", ns, "--auto")
    assert res.returncode == 0 and "unchanged" in res.stdout, res


def test_annotate_wait_reports_metallbs_assignment(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("ann-wait", V4, V6, autoAssign=False))
    cluster.apply(service("waited", ns, policy="RequireDualStack"))
    wait_failed(cluster, "waited", ns)  # autoAssign off: nothing until asked
    res = lbip(cluster, "annotate", "waited", "-n", ns, "192.0.2.140", "2001:db8:1::c", "--wait", "--timeout", "20s")
    assert res.returncode == 0, res.stderr
    assert "MetalLB assigned 192.0.2.140,2001:db8:1::c" in res.stdout
    assert sorted(cluster.ingress_ips("waited", ns)) == ["192.0.2.140", "2001:db8:1::c"]


# --------------------------------------------------------------------------
# migrate: deprecated annotations and spec.loadBalancerIP, addresses kept


def test_migrate_keeps_every_address(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("mig", V4, V6))
    cluster.apply(
        service(
            "old-ann",
            ns,
            policy="RequireDualStack",
            annotations={"metallb.universe.tf/loadBalancerIPs": "192.0.2.131,2001:db8:1::4"},
        ),
        service("old-spec", ns, lb_ip="192.0.2.132"),
        service(
            "old-share-a",
            ns,
            annotations={
                "metallb.universe.tf/loadBalancerIPs": "192.0.2.133",
                "metallb.universe.tf/allow-shared-ip": "k",
            },
        ),
        service(
            "old-share-b",
            ns,
            ports=(("TCP", 443),),
            annotations={
                "metallb.universe.tf/loadBalancerIPs": "192.0.2.133",
                "metallb.universe.tf/allow-shared-ip": "k",
                "metallb.universe.tf/address-pool": "mig",
            },
        ),
    )
    expected = {
        "old-ann": ["192.0.2.131", "2001:db8:1::4"],
        "old-spec": ["192.0.2.132"],
        "old-share-a": ["192.0.2.133"],
        "old-share-b": ["192.0.2.133"],
    }
    for name, ips in expected.items():
        wait_ips(cluster, name, ns, ips)

    res = lbip(cluster, "migrate", "-n", ns, "--yes")
    assert res.returncode == 0, res.stderr
    assert "4 migrated" in res.stderr, res.stderr

    for name, ips in expected.items():
        svc = get_svc(cluster, name, ns)
        ann = svc["metadata"].get("annotations") or {}
        assert not [k for k in ann if k.startswith("metallb.universe.tf/")], ann
        assert "loadBalancerIP" not in svc["spec"], svc["spec"]
        assert sorted(ann["metallb.io/loadBalancerIPs"].split(",")) == sorted(ips), ann
    assert annotations(cluster, "old-share-b", ns)["metallb.io/allow-shared-ip"] == "k"
    assert annotations(cluster, "old-share-b", ns)["metallb.io/address-pool"] == "mig"
    # MetalLB reconciles the changed services and keeps every address
    for name, ips in expected.items():
        _settled(cluster, name, ns, ips, seconds=0.75)
    for name in expected:
        assert not cluster.events(name, ns, reason="ClearAssignment"), name
        assert not cluster.events(name, ns, reason="AllocationFailed"), name
    # twice changes nothing
    res = lbip(cluster, "migrate", "-n", ns, "--yes")
    assert res.returncode == 0 and "nothing to migrate" in res.stderr, res


# --------------------------------------------------------------------------
# the read-only identity


def test_readonly_annotate_is_forbidden(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("ro", V4))
    cluster.apply(service("guarded", ns))
    cluster.wait_ingress("guarded", ns)
    rv = get_svc(cluster, "guarded", ns)["metadata"]["resourceVersion"]
    res = lbip(cluster, "annotate", "guarded", "-n", ns, "192.0.2.140", context=cluster.readonly_context)
    assert res.returncode == 3, res
    assert 'cannot patch resource "services"' in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert get_svc(cluster, "guarded", ns)["metadata"]["resourceVersion"] == rv


def test_readonly_migrate_is_forbidden_exit_3(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("ro", V4))
    cluster.apply(service("legacy", ns, lb_ip="192.0.2.141"))
    wait_ips(cluster, "legacy", ns, ["192.0.2.141"])
    res = lbip(cluster, "migrate", "-n", ns, "--yes", context=cluster.readonly_context)
    assert 'cannot patch resource "services"' in res.stderr, res.stderr
    assert res.returncode == 3, res


def test_readonly_migrate_writes_nothing_and_says_why(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("ro", V4))
    cluster.apply(service("legacy", ns, lb_ip="192.0.2.141"))
    wait_ips(cluster, "legacy", ns, ["192.0.2.141"])
    rv = get_svc(cluster, "legacy", ns)["metadata"]["resourceVersion"]
    res = lbip(cluster, "migrate", "-n", ns, "--yes", context=cluster.readonly_context)
    assert res.returncode != 0, res
    assert 'is forbidden: User "kubectl-lbip-e2e-readonly" cannot patch resource "services"' in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert get_svc(cluster, "legacy", ns)["metadata"]["resourceVersion"] == rv


# --------------------------------------------------------------------------
# a service changed between read and write is never clobbered


def _inputs(cluster: Cluster, ns: str) -> Inputs:
    return Inputs(kubeconfig=str(cluster.kubeconfig), namespace=ns)


def test_concurrent_change_is_reread_and_kept(
    cluster: Cluster, namespace: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = namespace
    cluster.apply(pool("race", V4))
    cluster.apply(service("raced", ns))
    cluster.wait_ingress("raced", ns)
    original = LiveClient.patch_service
    calls: List[str] = []

    def racing_patch(self, namespace, name, patch, dry_run=False):
        if not calls:  # another writer gets in between our read and our write
            cluster.kubectl("label", "service", name, "-n", namespace, "team=other")
        calls.append(patch["metadata"]["resourceVersion"])
        return original(self, namespace, name, patch, dry_run=dry_run)

    monkeypatch.setattr(LiveClient, "patch_service", racing_patch)
    request = annotate_cmd.AnnotateRequest(name="raced", addresses=["192.0.2.142"])
    code = show("annotate", "yaml", annotate_cmd.run(_inputs(cluster, ns), request))  # printed: the notes
    err = capsys.readouterr().err
    assert code == 0, err
    assert len(calls) == 2 and calls[0] != calls[1], calls  # 409, re-read, retried
    assert "changed since it was read" in err
    svc = get_svc(cluster, "raced", ns)
    assert svc["metadata"]["labels"]["team"] == "other"  # the other writer's change kept
    assert svc["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.0.2.142"
    wait_ips(cluster, "raced", ns, ["192.0.2.142"])


def test_concurrent_change_taking_the_address_is_refused(
    cluster: Cluster, namespace: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = namespace
    cluster.apply(pool("race", V4))
    cluster.apply(service("raced", ns))
    before = cluster.wait_ingress("raced", ns)
    original = LiveClient.patch_service
    calls: List[str] = []

    def racing_patch(self, namespace, name, patch, dry_run=False):
        if not calls:
            # meanwhile another service takes the address, and MetalLB assigns it;
            # the same writer touches our service too (so its resourceVersion moves)
            cluster.apply(service("thief", namespace, annotations={"metallb.io/loadBalancerIPs": "192.0.2.142"}))
            wait_ips(cluster, "thief", namespace, ["192.0.2.142"])
            cluster.kubectl("label", "service", name, "-n", namespace, "touched=yes")
        calls.append(patch["metadata"]["resourceVersion"])
        return original(self, namespace, name, patch, dry_run=dry_run)

    monkeypatch.setattr(LiveClient, "patch_service", racing_patch)
    request = annotate_cmd.AnnotateRequest(name="raced", addresses=["192.0.2.142"])
    code = show("annotate", "yaml", annotate_cmd.run(_inputs(cluster, ns), request))  # printed: the notes
    err = capsys.readouterr().err
    assert code == 1, err
    assert len(calls) == 1, calls  # the re-check refused: no second write
    assert "[address-conflict]" in err and f"{ns}/thief" in err, err
    assert "nothing was written" in err
    svc = get_svc(cluster, "raced", ns)
    assert "metallb.io/loadBalancerIPs" not in (svc["metadata"].get("annotations") or {})
    assert svc["metadata"]["labels"]["touched"] == "yes"
    _settled(cluster, "raced", ns, before, seconds=0.5)


# --------------------------------------------------------------------------
# --dry-run=server persists nothing


def test_dry_run_server_changes_nothing(cluster: Cluster, namespace: str) -> None:
    ns = namespace
    cluster.apply(pool("dry", V4, V6))
    cluster.apply(service("dry", ns, lb_ip="192.0.2.134"))
    wait_ips(cluster, "dry", ns, ["192.0.2.134"])
    before = get_svc(cluster, "dry", ns)

    res = lbip(cluster, "annotate", "dry", "-n", ns, "192.0.2.135", "--clear-spec-ip", "--dry-run=server")
    assert res.returncode == 0, res.stderr
    assert "(server dry run)" in res.stdout
    res = lbip(cluster, "migrate", "-n", ns, "--yes", "--dry-run=server")
    assert res.returncode == 0, res.stderr
    assert "server dry run: nothing persisted" in res.stderr

    after = get_svc(cluster, "dry", ns)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["metadata"].get("annotations") == before["metadata"].get("annotations")
    assert after["spec"].get("loadBalancerIP") == "192.0.2.134"
    _settled(cluster, "dry", ns, ["192.0.2.134"], seconds=0.5)

"""Cilium's operator as the judge: the control plane runs it (``use_cilium``) and
it answers LB-IPAM requests the way the conformance tier relies on: a pool and a
service get ``cilium.io/IPAMRequestSatisfied`` true with an address from the pool,
a pin outside every pool gets ``no_pool``, a pin in a pool that does not select the
service ``pool_selector_mismatch``, and the pool's ``cilium.io/IPsUsed`` condition
counts (reserved first/last addresses included, as Cilium counts them).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from .controlplane import CILIUM_CONDITION, CILIUM_OPERATOR, Cluster, version_tuple, wait_until

pytestmark = pytest.mark.e2e


def pool_api(version: str) -> str:
    """cilium.io/v2 serves the pools from v1.18; v2alpha1 before (and still served)."""
    return "cilium.io/v2" if version_tuple(version) >= (1, 18, 0) else "cilium.io/v2alpha1"


def cilium_pool(version: str, name: str, blocks: List[Dict[str, str]], **spec: Any) -> Dict[str, Any]:
    return {
        "apiVersion": pool_api(version),
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": name},
        "spec": {"blocks": blocks, **spec},
    }


def lb_service(name: str, namespace: str, ips: Optional[str] = None, family: str = "IPv4") -> Dict[str, Any]:
    meta: Dict[str, Any] = {"name": name, "namespace": namespace}
    if ips is not None:
        meta["annotations"] = {"lbipam.cilium.io/ips": ips}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "LoadBalancer",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": [family],
            "ports": [{"port": 80}],
        },
    }


def only(ns: str) -> Dict[str, Any]:
    """A serviceSelector on the namespace pseudo-label: this test's services only."""
    return {"matchLabels": {"io.kubernetes.service.namespace": ns}}


def pool_condition(cluster: Cluster, name: str, kind: str) -> Optional[str]:
    pool = cluster.get_json("ciliumloadbalancerippools.cilium.io", name)
    for cond in (pool.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return str(cond.get("message"))
    return None


def wait_pool_condition(cluster: Cluster, name: str, kind: str, want: str) -> None:
    wait_until(lambda: pool_condition(cluster, name, kind) == want, 30, f"{kind} of pool {name} to say {want}")


def test_operator_runs_alone_on_loopback(cluster: Cluster, cilium_version: str) -> None:
    """The judge is Cilium's operator of this release (its Deployment names the
    release for the plugin), MetalLB's controller and CRDs are gone meanwhile."""
    assert cluster.cilium is not None and cluster.cilium.version == cilium_version
    assert cluster.metallb is None
    running = [p.name for p in cluster.procs if p.alive()]
    assert CILIUM_OPERATOR in running and "metallb-controller" not in running, running
    deploy = cluster.get_json("deployment", "cilium-operator", "-n", "kube-system")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{cilium_version}")
    crds = cluster.kubectl("get", "crd", "-o", "name").stdout.split()
    assert "customresourcedefinition.apiextensions.k8s.io/ciliumloadbalancerippools.cilium.io" in crds
    assert not [c for c in crds if c.endswith(".metallb.io")], crds


def _listening(pid: int) -> List[ipaddress._BaseAddress]:
    """The local addresses of the TCP sockets process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    found = []
    for table, width in (("tcp", 4), ("tcp6", 16)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(cols[1].split(":")[0])
            # /proc prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, width, 4))
            found.append(ipaddress.ip_address(words))
    return found


def test_operator_listens_on_loopback_only(cluster: Cluster, cilium_version: str) -> None:  # noqa: ARG001
    op = next(p for p in cluster.procs if p.name == CILIUM_OPERATOR)
    found = _listening(op.popen.pid)
    assert cluster.cilium is not None
    if not cluster.cilium.cell_only:  # the LB-IPAM cell alone serves nothing
        assert found, "the operator listens nowhere (its health API should be on loopback)"
    assert all(a.is_loopback for a in found), found


def test_paused_operator_is_stopped_then_continues(
    cluster: Cluster, cilium_namespace: str, cilium_version: str
) -> None:
    """Cluster.paused() stops the operator's process (state T) for the block; the
    request made meanwhile is answered once it continues."""
    ns = cilium_namespace
    cluster.apply(cilium_pool(cilium_version, f"smoke-p-{ns}", [{"cidr": "192.0.2.16/30"}], serviceSelector=only(ns)))
    op = next(p for p in cluster.procs if p.name == CILIUM_OPERATOR)
    with cluster.paused():
        assert op.states() == {"T"}, op.states()  # every thread stopped
        cluster.apply(lb_service("late", ns))
        assert cluster.service_condition("late", ns) is None
    cond = cluster.wait_condition("late", ns)
    assert "T" not in op.states()
    assert (cond["status"], cond["reason"]) == ("True", "satisfied"), cond


def test_service_gets_an_address_from_the_pool_and_used_counts(
    cluster: Cluster, cilium_namespace: str, cilium_version: str
) -> None:
    ns = cilium_namespace
    name = f"smoke-a-{ns}"
    cluster.apply(cilium_pool(cilium_version, name, [{"cidr": "192.0.2.0/29"}], serviceSelector=only(ns)))
    wait_pool_condition(cluster, name, "cilium.io/IPsUsed", "0")
    assert pool_condition(cluster, name, "cilium.io/IPsTotal") == "8"  # first and last usable by default (v1.16+)
    cluster.apply(lb_service("auto", ns))
    cond = cluster.wait_condition("auto", ns)
    assert (cond["type"], cond["status"], cond["reason"]) == (CILIUM_CONDITION, "True", "satisfied"), cond
    ips = cluster.ingress_ips("auto", ns)
    assert len(ips) == 1 and ipaddress.ip_address(ips[0]) in ipaddress.ip_network("192.0.2.0/29"), ips
    wait_pool_condition(cluster, name, "cilium.io/IPsUsed", "1")
    assert pool_condition(cluster, name, "cilium.io/IPsAvailable") == "7"


def test_reserved_first_last_count_as_used(cluster: Cluster, cilium_namespace: str, cilium_version: str) -> None:
    """allowFirstLastIPs: No reserves .8 and .15 of a /29: IPsUsed counts them, and
    a pin on one is already_allocated (near miss: a start/stop range reserves nothing)."""
    ns = cilium_namespace
    name = f"smoke-r-{ns}"
    cluster.apply(
        cilium_pool(
            cilium_version,
            name,
            [{"cidr": "192.0.2.8/29"}, {"start": "192.0.2.32", "stop": "192.0.2.35"}],
            serviceSelector=only(ns),
            allowFirstLastIPs="No",
        )
    )
    wait_pool_condition(cluster, name, "cilium.io/IPsUsed", "2")
    cluster.apply(lb_service("first", ns, ips="192.0.2.8"), lb_service("range-start", ns, ips="192.0.2.32"))
    cond = cluster.wait_condition("first", ns)
    assert (cond["status"], cond["reason"]) == ("False", "already_allocated"), cond
    cond = cluster.wait_condition("range-start", ns)
    assert (cond["status"], cond["reason"]) == ("True", "satisfied"), cond
    assert cluster.ingress_ips("range-start", ns) == ["192.0.2.32"]
    wait_pool_condition(cluster, name, "cilium.io/IPsUsed", "3")


def test_pin_outside_every_pool_gets_no_pool(cluster: Cluster, cilium_namespace: str, cilium_version: str) -> None:
    ns = cilium_namespace
    cluster.apply(cilium_pool(cilium_version, f"smoke-n-{ns}", [{"cidr": "192.0.2.64/29"}], serviceSelector=only(ns)))
    cluster.apply(lb_service("outside", ns, ips="198.51.100.77"))
    cond = cluster.wait_condition("outside", ns)
    assert (cond["status"], cond["reason"]) == ("False", "no_pool"), cond
    assert "198.51.100.77" in cond["message"], cond
    assert cluster.ingress_ips("outside", ns) == []


def test_pin_in_a_pool_that_does_not_select_the_service(
    cluster: Cluster, cilium_namespace: str, cilium_version: str
) -> None:
    """Near miss of no_pool: the address is in a pool, whose selector names
    another namespace."""
    ns = cilium_namespace
    cluster.apply(
        cilium_pool(cilium_version, f"smoke-s-{ns}", [{"cidr": "192.0.2.72/29"}], serviceSelector=only("elsewhere"))
    )
    cluster.apply(lb_service("mismatch", ns, ips="192.0.2.73"))
    cond = cluster.wait_condition("mismatch", ns)
    assert (cond["status"], cond["reason"]) == ("False", "pool_selector_mismatch"), cond
    assert cluster.ingress_ips("mismatch", ns) == []

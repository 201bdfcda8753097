"""Smoke tests of the e2e control plane: MetalLB's controller is the judge."""

from __future__ import annotations

from typing import Any

import pytest

from .controlplane import Cluster, wait_until

pytestmark = pytest.mark.e2e

POOL_V4 = "192.0.2.0/28"
POOL_V6 = "2001:db8::/124"


def _pool(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": {"addresses": list(addresses), **spec},
    }


def _lb(
    name: str, namespace: str, *, ips: str | None = None, policy: str = "SingleStack", families: list[str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if ips is not None:
        meta["annotations"] = {"metallb.io/loadBalancerIPs": ips}
    spec: dict[str, Any] = {"type": "LoadBalancer", "ipFamilyPolicy": policy, "ports": [{"name": "http", "port": 80}]}
    if families:
        spec["ipFamilies"] = families
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def test_apiserver_allocates_dual_stack_cluster_ips(cluster: Cluster, namespace: str) -> None:
    cluster.apply(_lb("plain", namespace, policy="RequireDualStack"))
    svc = cluster.get_json("service", "plain", "-n", namespace)
    assert svc["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert len(svc["spec"]["clusterIPs"]) == 2


def test_metallb_assigns_requested_and_automatic_addresses(cluster: Cluster, namespace: str) -> None:
    cluster.apply(_pool("e2e-dual", POOL_V4, POOL_V6))
    cluster.apply(_lb("requested", namespace, ips="192.0.2.5,2001:db8::5", policy="RequireDualStack"))
    assert sorted(cluster.wait_ingress("requested", namespace)) == ["192.0.2.5", "2001:db8::5"]
    svc = cluster.get_json("service", "requested", "-n", namespace)
    assert svc["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"] == "e2e-dual"

    cluster.apply(_lb("automatic", namespace))  # SingleStack, first family = IPv4
    (ip,) = cluster.wait_ingress("automatic", namespace)
    assert ip.startswith("192.0.2.") and ip != "192.0.2.5"


def test_request_outside_pools_is_refused_by_metallb(cluster: Cluster, namespace: str) -> None:
    cluster.apply(_pool("e2e-dual", POOL_V4, POOL_V6))
    cluster.apply(_lb("outside", namespace, ips="198.51.100.7"))

    events = wait_until(
        lambda: cluster.events("outside", namespace, reason="AllocationFailed"), 30, "AllocationFailed event"
    )
    assert events[0]["type"] == "Warning"
    assert events[0]["source"]["component"] == "metallb-controller"
    assert events[0]["message"] == (
        f'Failed to allocate IP for "{namespace}/outside": ["198.51.100.7"] is not allowed in config'
    )
    assert cluster.ingress_ips("outside", namespace) == []


def test_readonly_identity_cannot_patch_services(cluster: Cluster, namespace: str) -> None:
    cluster.apply(_lb("guarded", namespace))
    # it can read ...
    cluster.kubectl("get", "service", "guarded", "-n", namespace, context=cluster.readonly_context)
    cluster.kubectl("get", "ipaddresspools.metallb.io", "-n", "metallb-system", context=cluster.readonly_context)
    # ... but not write
    res = cluster.kubectl(
        "annotate",
        "service",
        "guarded",
        "-n",
        namespace,
        "metallb.io/loadBalancerIPs=192.0.2.9",
        context=cluster.readonly_context,
        check=False,
    )
    assert res.returncode != 0
    assert "Forbidden" in res.stderr


def _first_failure(cluster: Cluster, name: str, namespace: str) -> str:
    events = wait_until(
        lambda: cluster.events(name, namespace, reason="AllocationFailed"), 30, f"AllocationFailed event for {name}"
    )
    assert cluster.ingress_ips(name, namespace) == []
    return events[0]["message"]


@pytest.mark.parametrize(
    ("case", "pools", "first", "second", "expected"),
    [
        pytest.param(
            "family-mismatch",
            [[POOL_V4, POOL_V6]],
            None,
            {"ips": "2001:db8::6"},  # SingleStack service, apiserver picks IPv4 first
            'requested loadBalancer IP(s) ["2001:db8::6"] does not match the ipFamily of the service',
            id="family-mismatch",
        ),
        pytest.param(
            "split-pools",
            [[POOL_V4], [POOL_V6]],
            None,
            {"ips": "192.0.2.5,2001:db8::5", "policy": "RequireDualStack"},
            '["192.0.2.5" "2001:db8::5"] is not allowed in config',
            id="split-pools",
        ),
        pytest.param(
            "sharing",
            [[POOL_V4]],
            {"ips": "192.0.2.5"},
            {"ips": "192.0.2.5"},
            'can\'t change sharing key for "{ns}/second", address also in use by {ns}/first',
            id="sharing-without-key",
        ),
        pytest.param(
            "ports",
            [[POOL_V4]],
            {"ips": "192.0.2.5", "share": "k"},
            {"ips": "192.0.2.5", "share": "k"},
            'port TCP/80 is already in use on "192.0.2.5"',
            id="sharing-same-port",
        ),
        pytest.param("exhausted", [["192.0.2.1/32"]], {}, {}, "no available IPs", id="pool-exhausted"),
    ],
)
def test_metallb_refusal_messages(
    cluster: Cluster,
    namespace: str,
    case: str,
    pools: list[list[str]],
    first: dict[str, str] | None,
    second: dict[str, str],
    expected: str,
) -> None:
    """The exact event text MetalLB (pinned version) emits for each refusal."""
    cluster.apply(*[_pool(f"e2e-{case}-{i}", *cidrs) for i, cidrs in enumerate(pools)])

    def svc(name: str, opts: dict[str, str]) -> dict[str, Any]:
        obj = _lb(name, namespace, ips=opts.get("ips"), policy=opts.get("policy", "SingleStack"))
        if "share" in opts:
            obj["metadata"].setdefault("annotations", {})["metallb.io/allow-shared-ip"] = opts["share"]
        return obj

    if first is not None:
        cluster.apply(svc("first", first))
        cluster.wait_ingress("first", namespace)
    cluster.apply(svc("second", second))
    message = _first_failure(cluster, "second", namespace)
    assert message == f'Failed to allocate IP for "{namespace}/second": ' + expected.format(ns=namespace)

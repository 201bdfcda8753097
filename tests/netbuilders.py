"""Plain-data builders for the kinds read past allocation, as `kubectl get -o json`
prints them (advertisements, nodes, endpoint slices, ServiceCIDRs, MetalLB's
ConfigurationStates and speaker statuses)."""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Sequence

MS = "metallb-system"


def _selectors(items):
    return [{"matchLabels": dict(s)} for s in items]


def l2adv(
    name: str,
    pools: Sequence[str] = (),
    *,
    pool_selectors: Iterable[dict] = (),
    node_selectors: Iterable[dict] = (),
    service_selectors: Iterable[dict] = (),
    interfaces: Sequence[str] = (),
) -> dict:
    spec: Dict = {}
    if pools:
        spec["ipAddressPools"] = list(pools)
    if pool_selectors:
        spec["ipAddressPoolSelectors"] = _selectors(pool_selectors)
    if node_selectors:
        spec["nodeSelectors"] = _selectors(node_selectors)
    if service_selectors:
        spec["serviceSelectors"] = _selectors(service_selectors)
    if interfaces:
        spec["interfaces"] = list(interfaces)
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "L2Advertisement",
        "metadata": {"name": name, "namespace": MS},
        "spec": spec,
    }


def bgpadv(
    name: str,
    pools: Sequence[str] = (),
    *,
    aggregation: Optional[int] = None,
    aggregation_v6: Optional[int] = None,
    peers: Sequence[str] = (),
    **kw,
) -> dict:
    obj = l2adv(name, pools, **kw)
    obj["kind"] = "BGPAdvertisement"
    if aggregation is not None:
        obj["spec"]["aggregationLength"] = aggregation
    if aggregation_v6 is not None:
        obj["spec"]["aggregationLengthV6"] = aggregation_v6
    if peers:
        obj["spec"]["peers"] = list(peers)
    return obj


def node(
    name: str,
    internal: str = "",
    *,
    labels: Optional[dict] = None,
    external: str = "",
    pod_cidrs: Sequence[str] = (),
    network_unavailable: bool = False,
) -> dict:
    addresses = [{"type": "Hostname", "address": name}]
    if internal:
        addresses.append({"type": "InternalIP", "address": internal})
    if external:
        addresses.append({"type": "ExternalIP", "address": external})
    conditions = [{"type": "Ready", "status": "True"}]
    if network_unavailable:
        conditions.append({"type": "NetworkUnavailable", "status": "True"})
    spec: Dict = {}
    if pod_cidrs:
        spec["podCIDRs"] = list(pod_cidrs)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": spec,
        "status": {"addresses": addresses, "conditions": conditions},
    }


def slice_(namespace: str, service: str, *endpoints, name: str = "") -> dict:
    """endpoints: (node, ready) pairs."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name or f"{service}-abc",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": [f"10.244.0.{i + 1}"], "nodeName": n, "conditions": {"ready": ready}}
            for i, (n, ready) in enumerate(endpoints)
        ],
    }


def service_cidr(name: str, *cidrs: str) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": list(cidrs)},
    }


def config_state(name: str, result: str, summary: str = "") -> dict:
    status: Dict = {"result": result}
    if summary:
        status["errorSummary"] = summary
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ConfigurationState",
        "metadata": {"name": name, "namespace": MS},
        "status": status,
    }


def l2status(namespace: str, service: str, node_name: str, *interfaces: str) -> dict:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ServiceL2Status",
        "metadata": {
            "name": f"l2-{service}-{node_name}",
            "namespace": MS,
            "labels": {
                "metallb.io/node": node_name,
                "metallb.io/service-name": service,
                "metallb.io/service-namespace": namespace,
            },
        },
        "status": {
            "node": node_name,
            "serviceName": service,
            "serviceNamespace": namespace,
            "interfaces": [{"name": i} for i in interfaces],
        },
    }


def bgpstatus(namespace: str, service: str, node_name: str, *peers: str) -> dict:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ServiceBGPStatus",
        "metadata": {"name": f"bgp-{service}-{node_name}", "namespace": MS},
        "status": {"node": node_name, "serviceName": service, "serviceNamespace": namespace, "peers": list(peers)},
    }


def pool_status(obj: dict, v4: int, v6: int = 0, avail4: int = 0, avail6: int = 0) -> dict:
    obj = dict(obj)
    obj["status"] = {"assignedIPv4": v4, "assignedIPv6": v6, "availableIPv4": avail4, "availableIPv6": avail6}
    return obj

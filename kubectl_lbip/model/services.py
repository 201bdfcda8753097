"""A Service as MetalLB sees it: what it holds, what it requests, its family and
the keys that decide whether it may share an address."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..errors import InvalidValue
from .addresses import (DUAL, IPV4, IPV6, Address, AddressError, family_of, parse_ip,
                        sort_addresses, split_request)
from .metallb import NEWEST, Version, require_dual_stack_needs_two_cluster_ips

CURRENT = "metallb.io/"
DEPRECATED = "metallb.universe.tf/"
LB_IPS = "loadBalancerIPs"
ADDRESS_POOL = "address-pool"
SHARED_IP = "allow-shared-ip"
ALLOCATED_FROM = "ip-allocated-from-pool"
METALLB_KEYS = (LB_IPS, ADDRESS_POOL, SHARED_IP, ALLOCATED_FROM)

# How a service uses an address; the words `who-has` prints.
ASSIGNED = "assigned"
REQUESTED = "requested"
REQUESTED_DEPRECATED = "requested-deprecated"
SPEC_IP = "spec.loadBalancerIP"


@dataclass(frozen=True, order=True)
class Port:
    protocol: str
    port: int

    def __str__(self) -> str:
        return f"{self.protocol}/{self.port}"

    @classmethod
    def parse(cls, text: str) -> "Port":
        proto, sep, number = text.strip().partition("/")
        if not sep:
            proto, number = "TCP", proto
        if not number.isdigit() or not 0 < int(number) < 65536:
            raise InvalidValue(f"port {text!r}: expected PROTOCOL/NUMBER such as TCP/80")
        proto = proto.upper()
        if proto not in ("TCP", "UDP", "SCTP"):
            raise InvalidValue(f"port {text!r}: protocol must be TCP, UDP or SCTP")
        return cls(proto, int(number))


@dataclass(frozen=True)
class Request:
    """What a service asks for: from which field, the raw text, and its parts."""

    how: str  # REQUESTED, REQUESTED_DEPRECATED or SPEC_IP
    text: str
    addresses: Tuple[Address, ...]
    invalid: Tuple[str, ...]

    @property
    def field(self) -> str:
        if self.how == REQUESTED:
            return CURRENT + LB_IPS
        if self.how == REQUESTED_DEPRECATED:
            return DEPRECATED + LB_IPS
        return "spec.loadBalancerIP"


@dataclass
class Service:
    namespace: str
    name: str
    type: str = "LoadBalancer"
    labels: Dict[str, str] = field(default_factory=dict)
    annotations: Dict[str, str] = field(default_factory=dict)
    cluster_ips: Tuple[str, ...] = ()
    ip_families: Tuple[str, ...] = ()
    ip_family_policy: str = ""
    load_balancer_ip: str = ""
    load_balancer_class: str = ""
    selector: Dict[str, str] = field(default_factory=dict)
    external_traffic_policy: str = "Cluster"
    ports: Tuple[Port, ...] = ()
    ingress: Tuple[str, ...] = ()
    resource_version: str = ""
    # Whether status.loadBalancer is MetalLB's record (see observed_object): then a
    # request the service does not hold is one MetalLB refused (Pending), and takes
    # nothing from anyone; in a manifest a request is an intention, and claims.
    observed: bool = False
    raw: Optional[Dict[str, Any]] = field(default=None, repr=False, compare=False)

    @classmethod
    def from_object(cls, obj: Mapping, keep_raw: bool = True,
                    observed: Optional[bool] = None) -> "Service":
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = (obj.get("status") or {}).get("loadBalancer") or {}
        cluster_ips = tuple(spec.get("clusterIPs") or ())
        if not cluster_ips and spec.get("clusterIP"):
            cluster_ips = (spec["clusterIP"],)
        ports = tuple(_port(str(p.get("protocol") or "TCP"), int(p.get("port") or 0))
                      for p in spec.get("ports") or ())
        return cls(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            type=str(spec.get("type") or "ClusterIP"),
            labels=_text_map(meta.get("labels")),
            annotations=_text_map(meta.get("annotations")),
            cluster_ips=tuple(str(ip) for ip in cluster_ips),
            ip_families=tuple(spec.get("ipFamilies") or ()),
            ip_family_policy=str(spec.get("ipFamilyPolicy") or ""),
            load_balancer_ip=str(spec.get("loadBalancerIP") or ""),
            load_balancer_class=str(spec.get("loadBalancerClass") or ""),
            selector=_text_map(spec.get("selector")),
            external_traffic_policy=str(spec.get("externalTrafficPolicy") or "Cluster"),
            ports=ports,
            ingress=tuple(str(i["ip"]) for i in status.get("ingress") or () if i.get("ip")),
            resource_version=str(meta.get("resourceVersion") or ""),
            observed=observed_object(obj) if observed is None else observed,
            raw=obj if keep_raw and isinstance(obj, dict) else None,
        )

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def is_load_balancer(self) -> bool:
        """A LoadBalancer service MetalLB handles: one with a loadBalancerClass
        belongs to another implementation (MetalLB's default, without --lb-class)."""
        return self.type == "LoadBalancer" and not self.load_balancer_class

    # --- MetalLB annotations: the current key wins when present, even if empty.
    def metallb_value(self, key: str) -> Optional[str]:
        if CURRENT + key in self.annotations:
            return self.annotations[CURRENT + key]
        return self.annotations.get(DEPRECATED + key)

    @property
    def sharing_key(self) -> str:
        return self.metallb_value(SHARED_IP) or ""

    @property
    def pool_annotation(self) -> str:
        return self.metallb_value(ADDRESS_POOL) or ""

    @property
    def backend_key(self) -> str:
        """Services with externalTrafficPolicy Local may only share an address when
        they select the same pods; with Cluster the backends do not matter."""
        if self.external_traffic_policy == "Local":
            return ",".join(f"{k}={v}" for k, v in sorted(self.selector.items()))
        return ""

    def deprecated_keys(self) -> List[str]:
        return [DEPRECATED + k for k in METALLB_KEYS if DEPRECATED + k in self.annotations]

    @property
    def annotation_request(self) -> Optional[Request]:
        if CURRENT + LB_IPS in self.annotations:
            how, text = REQUESTED, self.annotations[CURRENT + LB_IPS]
        elif DEPRECATED + LB_IPS in self.annotations:
            how, text = REQUESTED_DEPRECATED, self.annotations[DEPRECATED + LB_IPS]
        else:
            return None
        if text == "":
            return None  # MetalLB treats an empty value as no request
        return self._memo("_annotation_request", (how, text), _annotation_request)

    @property
    def spec_request(self) -> Optional[Request]:
        if not self.load_balancer_ip:
            return None
        return self._memo("_spec_request", self.load_balancer_ip, _spec_request)

    @property
    def request(self) -> Optional[Request]:
        """The request MetalLB acts on (the annotation, else spec.loadBalancerIP)."""
        return self.annotation_request or self.spec_request

    @property
    def has_both_requests(self) -> bool:
        return self.annotation_request is not None and self.spec_request is not None

    def requests(self) -> List[Request]:
        """Every request the service carries; both when it (wrongly) has both."""
        return [r for r in (self.annotation_request, self.spec_request) if r is not None]

    def held(self) -> List[Address]:
        return list(self._memo("_held", tuple(self.ingress), _held))

    def holds(self, addr: Address) -> bool:
        return addr in self._memo("_held", tuple(self.ingress), _held)

    def holds_exactly(self, addresses) -> bool:
        """MetalLB assigned exactly these addresses (status equal to the request),
        so it accepted them: the controller compares the same way (isEqualIPs)."""
        return self.observed and bool(addresses) and set(self.held()) == set(addresses)

    def _memo(self, slot: str, key, compute):
        """compute(key), remembered on the instance for as long as the fields it is
        computed from (the key) are unchanged: check, free and the usage index ask
        each service for its requests several times, and parsing addresses is the
        costly part. Results are immutable (a Request, a tuple)."""
        cached = self.__dict__.get(slot)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = compute(key)
        self.__dict__[slot] = (key, value)
        return value

    # --- family
    def family(self, metallb: Version = NEWEST) -> Tuple[Optional[str], str]:
        """The service's family (ipv4, ipv6 or dual) and, when it cannot be told,
        why. From clusterIPs as MetalLB does; a manifest not yet applied has none,
        so its ipFamilyPolicy and ipFamilies stand in (IPv4 as the primary family
        of a cluster when nothing says otherwise)."""
        if self.cluster_ips:
            if (self.ip_family_policy == "RequireDualStack" and len(self.cluster_ips) < 2
                    and require_dual_stack_needs_two_cluster_ips(metallb)):
                return None, "ipFamilyPolicy RequireDualStack but fewer than two clusterIPs"
            return self._memo("_family", tuple(self.cluster_ips), _family_of_texts)
        if self.ip_family_policy in ("RequireDualStack", "PreferDualStack"):
            return DUAL, ""
        if self.ip_families:
            return (IPV6 if self.ip_families[0] == "IPv6" else IPV4), ""
        return IPV4, ""


def observed_object(obj: Mapping) -> bool:
    """A Service read back from the API server: it carries a status and a
    metadata.uid, as `kubectl get -o json|yaml` prints every object. A manifest
    (GitOps files, `kubectl create --dry-run=client -o yaml`, which prints an empty
    status but no uid) is an intention: nothing says what MetalLB did with it."""
    meta = obj.get("metadata") or {}
    return isinstance(obj.get("status"), Mapping) and bool(meta.get("uid"))


def _text_map(value) -> Dict[str, str]:
    """Labels, annotations or a selector as str -> str. The object's own dict is
    shared when it already is one (the model never changes it): with 50k services
    a copy of each would be tens of megabytes."""
    if not value:
        return {}
    if all(type(k) is str and type(v) is str for k, v in value.items()):
        return value
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


@functools.lru_cache(maxsize=4096)
def _port(protocol: str, number: int) -> Port:
    return Port(protocol, number)  # a few distinct ports serve thousands of services


def _annotation_request(key: Tuple[str, str]) -> Request:
    how, text = key
    addresses, invalid = split_request(text)
    return Request(how, text, tuple(addresses), tuple(invalid))


def _spec_request(text: str) -> Request:
    addresses, invalid = split_request(text)
    if len(addresses) + len(invalid) != 1:
        return Request(SPEC_IP, text, (), (text,))
    return Request(SPEC_IP, text, tuple(addresses), tuple(invalid))


def _held(ingress: Tuple[str, ...]) -> Tuple[Address, ...]:
    held = []
    for text in ingress:
        try:
            held.append(parse_ip(text))
        except AddressError:
            continue
    return tuple(sort_addresses(held))


def _family_of_texts(texts) -> Tuple[Optional[str], str]:
    try:
        addrs = [parse_ip(t) for t in texts]
    except AddressError:
        return None, f"clusterIPs {list(texts)} are not addresses"
    return request_family(addrs)


def request_family(addresses) -> Tuple[Optional[str], str]:
    """MetalLB's ipfamily.ForAddresses: one address, or two of different families."""
    if len(addresses) == 1:
        return family_of(addresses[0]), ""
    if len(addresses) == 2:
        if addresses[0].version == addresses[1].version:
            return None, "two addresses of the same family"
        return DUAL, ""
    return None, f"{len(addresses)} addresses (at most two: one IPv4 and one IPv6)"

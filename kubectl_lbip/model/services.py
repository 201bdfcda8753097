"""A Service as MetalLB sees it: what it holds, what it requests, its family and
the keys that decide whether it may share an address."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..errors import InvalidValue
from .addresses import (
    DUAL,
    IPV4,
    IPV6,
    Address,
    AddressError,
    address_value,
    family_of,
    parse_ip,
    sort_addresses,
    split_request,
)
from .metallb import NEWEST, Version, require_dual_stack_needs_two_cluster_ips
from .schema import INT, LABELS, STR, STRINGS, at, build, list_of, obj

CURRENT = "metallb.io/"
DEPRECATED = "metallb.universe.tf/"
LB_IPS = "loadBalancerIPs"
ADDRESS_POOL = "address-pool"
SHARED_IP = "allow-shared-ip"
ALLOCATED_FROM = "ip-allocated-from-pool"
METALLB_KEYS = (LB_IPS, ADDRESS_POOL, SHARED_IP, ALLOCATED_FROM)
DEPRECATED_KEYS = tuple(DEPRECATED + k for k in METALLB_KEYS)

# How a service uses an address; the words `who-has` prints.
ASSIGNED = "assigned"
REQUESTED = "requested"
REQUESTED_DEPRECATED = "requested-deprecated"
SPEC_IP = "spec.loadBalancerIP"
# kubectl apply's copy of the whole object: often the largest annotation, never read.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


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


# Slots where dataclasses offer them (3.10+): tens of thousands of services, and
# an instance dict per service was a tenth of the memory of a large snapshot.
_SLOTS = {"slots": True} if sys.version_info >= (3, 10) else {}


# MetalLB's annotations and Cilium's: what a compact Service keeps of its annotations.
METALLB_PREFIXES = (CURRENT, DEPRECATED)
CILIUM_PREFIXES = ("lbipam.cilium.io/", "io.cilium/lb-ipam-")
KEPT_PREFIXES = METALLB_PREFIXES + CILIUM_PREFIXES


def _ports(value) -> Tuple["Port", ...]:
    try:
        return tuple([_raw_port(p.get("protocol"), p.get("port")) for p in value])
    except TypeError:  # an unhashable value: converted the long way (and refused there)
        return tuple([_port(str(p.get("protocol") or "TCP"), int(p.get("port") or 0)) for p in value])


def _ingress(value) -> Tuple[str, ...]:
    return tuple([i["ip"] if type(i["ip"]) is str else str(i["ip"]) for i in value if i.get("ip")])


IPAM_CONDITION = "cilium.io/IPAMRequestSatisfied"  # Cilium LB-IPAM's outcome (model/cilium.py)


def _ipam_condition(value) -> Tuple[str, ...]:
    """(status, reason, message) of Cilium's IPAMRequestSatisfied condition, or ()."""
    for cond in value:
        if cond.get("type") == IPAM_CONDITION:
            return tuple(str(cond.get(k) or "") for k in ("status", "reason", "message"))
    return ()


def observed_object(obj: Mapping) -> bool:
    """A Service read back from the API server: it carries a status and a
    metadata.uid, as `kubectl get -o json|yaml` prints every object. A manifest
    (GitOps files, `kubectl create --dry-run=client -o yaml`, which prints an empty
    status but no uid) is an intention: nothing says what MetalLB did with it."""
    meta = obj.get("metadata") or _NO_FIELDS
    status = obj.get("status")
    return (type(status) is dict or isinstance(status, Mapping)) and bool(meta.get("uid"))


_NO_FIELDS: Mapping = {}


@dataclass(**_SLOTS)
class Service:
    """A Service as the model reads it. Each field says where it comes from in the
    object and of which JSON type (model/schema.py): the shape check, the trim of a
    large input and the constructors below are all derived from these lines, so a
    field the model reads is added here once (see CONTRIBUTING.md)."""

    namespace: str = field(metadata=at("metadata.namespace", STR, "default", intern=True))
    name: str = field(metadata=at("metadata.name", STR))
    type: str = field(default="LoadBalancer", metadata=at("spec.type", STR, "ClusterIP", intern=True))
    labels: Dict[str, str] = field(default_factory=dict, metadata=at("metadata.labels", LABELS, {}))
    annotations: Dict[str, str] = field(
        default_factory=dict,
        metadata=at("metadata.annotations", LABELS, {}, keep_prefixes=KEPT_PREFIXES, drop=(LAST_APPLIED,)),
    )
    cluster_ips: Tuple[str, ...] = field(
        default=(), metadata=at("spec.clusterIPs", STRINGS, (), fallback=("clusterIP", STR))
    )
    ip_families: Tuple[str, ...] = field(default=(), metadata=at("spec.ipFamilies", STRINGS, (), intern=True))
    ip_family_policy: str = field(default="", metadata=at("spec.ipFamilyPolicy", STR, intern=True))
    load_balancer_ip: str = field(default="", metadata=at("spec.loadBalancerIP", STR))
    load_balancer_class: str = field(default="", metadata=at("spec.loadBalancerClass", STR))
    selector: Dict[str, str] = field(
        default_factory=dict, metadata=at("spec.selector", LABELS, {}, keep_when=("externalTrafficPolicy", "Local"))
    )
    external_traffic_policy: str = field(
        default="Cluster", metadata=at("spec.externalTrafficPolicy", STR, "Cluster", intern=True)
    )
    ports: Tuple[Port, ...] = field(
        default=(), metadata=at("spec.ports", list_of(obj(name=STR, protocol=STR, port=INT)), (), convert=_ports)
    )
    ingress: Tuple[str, ...] = field(
        default=(), metadata=at("status.loadBalancer.ingress", list_of(obj(ip=STR, hostname=STR)), (), convert=_ingress)
    )
    resource_version: str = field(default="", metadata=at("metadata.resourceVersion", STR))
    # Cilium's cilium.io/IPAMRequestSatisfied condition: (status, reason, message), or ()
    ipam_condition: Tuple[str, ...] = field(
        default=(),
        metadata=at(
            "status.conditions",
            list_of(obj(type=STR, status=STR, reason=STR, message=STR)),
            (),
            convert=_ipam_condition,
        ),
    )
    # Whether status.loadBalancer is MetalLB's record (see observed_object): then a
    # request the service does not hold is one MetalLB refused (Pending), and takes
    # nothing from anyone; in a manifest a request is an intention, and claims.
    observed: bool = field(default=False, metadata=at("metadata.uid", STR, False, derive=observed_object))
    raw: Optional[Dict[str, Any]] = field(default=None, repr=False, compare=False)
    # --against-cluster: where the object came from (a model.cluster.Origin, set by the snapshot).
    origin: Optional[Any] = field(default=None, init=False, repr=False, compare=False)
    # _memo's results, each (key, value); never compared or printed.
    _memo_annotation_request: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)
    _memo_spec_request: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)
    _memo_held: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)
    _memo_family: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_object(
        cls, obj: Mapping, keep_raw: bool = True, observed: Optional[bool] = None, compact: bool = False
    ) -> "Service":
        """The model of a Service object (a plain dict), built from the fields'
        table (model/schema.py). ``compact`` is for a snapshot of many services that
        prints none back and writes none (free, check, who-has and pools from files):
        only what the rules read is kept, MetalLB's and Cilium's annotations and the
        selector only where it decides sharing (externalTrafficPolicy Local)."""
        model = build(cls, obj, compact=compact and observed is None)
        if observed is not None:
            model.observed = observed
        if keep_raw and not (compact and observed is None) and isinstance(obj, dict):
            model.raw = obj
        return model

    @classmethod
    def compact(cls, obj: Mapping) -> "Service":
        """from_object(obj, keep_raw=False, compact=True)."""
        return build(cls, obj, compact=True)

    @classmethod
    def plain(cls, obj: Mapping) -> Optional["Service"]:
        """compact(obj) when every field read has the API's own JSON type (one pass
        for the usual object of a large file); else None: the caller checks its
        shape (snapshot/shape.py), which names what is wrong, or converts it with
        Service.compact (a label value 5 is valid, just not plain)."""
        return build(cls, obj, compact=True, plain=True)

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
        annotations = self.annotations
        return [k for k in DEPRECATED_KEYS if k in annotations] if annotations else []

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
        return self._memo("_memo_annotation_request", (how, text), _annotation_request)

    @property
    def spec_request(self) -> Optional[Request]:
        if not self.load_balancer_ip:
            return None
        return self._memo("_memo_spec_request", self.load_balancer_ip, _spec_request)

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
        return list(self.held_addresses())

    def held_addresses(self) -> Tuple[Address, ...]:
        """What held() lists, as the remembered tuple (no copy)."""
        return self._memo("_memo_held", tuple(self.ingress), _held)

    def holds(self, addr: Address) -> bool:
        return addr in self.held_addresses()

    def holds_exactly(self, addresses) -> bool:
        """MetalLB assigned exactly these addresses (status equal to the request),
        so it accepted them: the controller compares the same way (isEqualIPs)."""
        return self.observed and bool(addresses) and set(self.held()) == set(addresses)

    def _memo(self, slot: str, key, compute):
        """compute(key), remembered on the instance for as long as the fields it is
        computed from (the key) are unchanged: check, free and the usage index ask
        each service for its requests several times, and parsing addresses is the
        costly part. Results are immutable (a Request, a tuple)."""
        cached = getattr(self, slot)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = compute(key)
        setattr(self, slot, (key, value))
        return value

    # --- family
    def family(self, metallb: Version = NEWEST) -> Tuple[Optional[str], str]:
        """The service's family (ipv4, ipv6 or dual) and, when it cannot be told,
        why. From clusterIPs as MetalLB does; a manifest not yet applied has none,
        so its ipFamilyPolicy and ipFamilies stand in (IPv4 as the primary family
        of a cluster when nothing says otherwise)."""
        if self.cluster_ips:
            if (
                self.ip_family_policy == "RequireDualStack"
                and len(self.cluster_ips) < 2
                and require_dual_stack_needs_two_cluster_ips(metallb)
            ):
                return None, "ipFamilyPolicy RequireDualStack but fewer than two clusterIPs"
            return self._memo("_memo_family", tuple(self.cluster_ips), _family_of_texts)
        if self.ip_family_policy in ("RequireDualStack", "PreferDualStack"):
            return DUAL, ""
        if self.ip_families:
            return (IPV6 if self.ip_families[0] == "IPv6" else IPV4), ""
        return IPV4, ""


@functools.lru_cache(maxsize=4096)
def _raw_port(protocol: Any, number: Any) -> "Port":
    """_port of a port's raw protocol and number fields (converted as from_object does)."""
    return _port(str(protocol or "TCP"), int(number or 0))


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
    if len(held) < 2:
        return tuple(held)
    return tuple(sort_addresses(held))


def _family_of_texts(texts) -> Tuple[Optional[str], str]:
    try:
        families = [address_value(t)[0] for t in texts]
    except AddressError:
        return None, f"clusterIPs {list(texts)} are not addresses"
    return family_of_families(families)


def request_family(addresses) -> Tuple[Optional[str], str]:
    """MetalLB's ipfamily.ForAddresses: one address, or two of different families."""
    return family_of_families([family_of(a) for a in addresses])


def family_of_families(families: List[str]) -> Tuple[Optional[str], str]:
    """request_family, given each address's family."""
    if len(families) == 1:
        return families[0], ""
    if len(families) == 2:
        if families[0] == families[1]:
            return None, "two addresses of the same family"
        return DUAL, ""
    return None, f"{len(families)} addresses (at most two: one IPv4 and one IPv6)"

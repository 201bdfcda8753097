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


@dataclass(**_SLOTS)
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
    # _memo's results, each (key, value); never compared or printed.
    _memo_annotation_request: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)
    _memo_spec_request: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)
    _memo_held: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)
    _memo_family: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_object(
        cls, obj: Mapping, keep_raw: bool = True, observed: Optional[bool] = None, compact: bool = False
    ) -> "Service":
        """The model of a Service object (a plain dict). ``compact`` is for a snapshot
        of many services that prints none back and writes none (free, check,
        who-has and pools from files): only what the rules read is kept, MetalLB's
        annotations (metallb.io/*, metallb.universe.tf/*) and the selector only
        where it decides sharing (externalTrafficPolicy Local), and the strings
        thousands of services repeat are shared (interned), since each object was
        decoded on its own."""
        if compact and observed is None:
            return _compact(cls, obj)
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = (obj.get("status") or {}).get("loadBalancer") or {}
        cluster_ips = tuple(spec.get("clusterIPs") or ())
        if not cluster_ips and spec.get("clusterIP"):
            cluster_ips = (spec["clusterIP"],)
        ports = tuple(_port(str(p.get("protocol") or "TCP"), int(p.get("port") or 0)) for p in spec.get("ports") or ())
        if True:
            labels = _text_map(meta.get("labels"))
            annotations = _text_map(meta.get("annotations"))
            selector = _text_map(spec.get("selector"))
        return cls(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            type=str(spec.get("type") or "ClusterIP"),
            labels=labels,
            annotations=annotations,
            cluster_ips=tuple(str(ip) for ip in cluster_ips),
            ip_families=tuple(spec.get("ipFamilies") or ()),
            ip_family_policy=str(spec.get("ipFamilyPolicy") or ""),
            load_balancer_ip=str(spec.get("loadBalancerIP") or ""),
            load_balancer_class=str(spec.get("loadBalancerClass") or ""),
            selector=selector,
            external_traffic_policy=str(spec.get("externalTrafficPolicy") or "Cluster"),
            ports=ports,
            ingress=tuple(str(i["ip"]) for i in status.get("ingress") or () if i.get("ip")),
            resource_version=str(meta.get("resourceVersion") or ""),
            observed=observed_object(obj) if observed is None else observed,
            raw=obj if keep_raw and isinstance(obj, dict) else None,
        )

    @classmethod
    def compact(cls, obj: Mapping) -> "Service":
        """from_object(obj, keep_raw=False, compact=True)."""
        return _compact(cls, obj)

    @classmethod
    def plain(cls, obj: Mapping) -> Optional["Service"]:
        """compact(obj) when every field read has the API's own JSON type; else None."""
        return _plain(cls, obj)

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


_EMPTY: Mapping = {}


def _compact(cls, obj: Mapping) -> "Service":
    """Service.from_object(obj, keep_raw=False, compact=True). One function, as
    few calls as can be: it runs for every service of a large snapshot."""
    intern = sys.intern
    meta = obj.get("metadata") or _EMPTY
    spec = obj.get("spec") or _EMPTY
    status = (obj.get("status") or _EMPTY).get("loadBalancer") or _EMPTY
    cluster_ips = spec.get("clusterIPs") or ()
    if not cluster_ips and spec.get("clusterIP"):
        cluster_ips = (spec["clusterIP"],)
    ports = spec.get("ports")
    ingress = status.get("ingress")
    namespace = meta.get("namespace") or "default"
    kind = spec.get("type") or "ClusterIP"
    policy = spec.get("ipFamilyPolicy") or ""
    etp = spec.get("externalTrafficPolicy") or "Cluster"
    lb_ip = spec.get("loadBalancerIP") or ""
    lb_class = spec.get("loadBalancerClass") or ""
    families = spec.get("ipFamilies") or ()
    if type(etp) is not str:
        etp = str(etp)
    port_models: Tuple[Port, ...] = ()
    if ports:
        try:
            port_models = tuple([_raw_port(p.get("protocol"), p.get("port")) for p in ports])
        except TypeError:  # an unhashable value: converted the long way (and refused there)
            port_models = tuple([_port(str(p.get("protocol") or "TCP"), int(p.get("port") or 0)) for p in ports])
    return cls(
        namespace=intern(namespace) if type(namespace) is str else str(namespace),
        name=str(meta.get("name") or ""),
        type=intern(kind) if type(kind) is str else str(kind),
        labels=_interned_map(meta.get("labels")),
        annotations=_metallb_map(meta.get("annotations")),
        cluster_ips=tuple([ip if type(ip) is str else str(ip) for ip in cluster_ips]),
        ip_families=tuple([intern(f) if type(f) is str else f for f in families]),
        ip_family_policy=intern(policy) if type(policy) is str else str(policy),
        load_balancer_ip=lb_ip if type(lb_ip) is str else str(lb_ip),
        load_balancer_class=lb_class if type(lb_class) is str else str(lb_class),
        selector=_interned_map(spec.get("selector")) if etp == "Local" else {},
        external_traffic_policy=intern(etp),
        ports=port_models,
        ingress=tuple([str(i["ip"]) for i in ingress if i.get("ip")]) if ingress else (),
        resource_version=str(meta.get("resourceVersion") or ""),
        observed=observed_object(obj),
    )


_TEXT = frozenset((str,))
_TEXT_OR_NONE = frozenset((str, type(None)))
_INT_OR_NONE = frozenset((int, type(None)))


def _plain(cls, obj: Mapping) -> Optional["Service"]:
    """Service.compact(obj) for the usual object: every field the API's Service
    schema has where the model reads (names, spec, ports, status, labels,
    annotations, selector) of the API's own JSON type (a string, a list of strings,
    a map of strings, an integer port). The type tests are folded into the
    modelling, so a large file pays for one pass, not two. None for anything else:
    the caller checks its shape (snapshot/shape.py), which names what is wrong, or
    converts it with Service.compact (a label value 5 is valid, just not plain).
    It runs for every service of a large file: the tests are made on sets of
    types, and sys.intern (which refuses anything but a string) is the type test
    of what is kept."""
    meta = obj.get("metadata")
    spec = obj.get("spec")
    status = obj.get("status")
    if meta is None:
        meta = _EMPTY
    elif type(meta) is not dict:
        return None
    if spec is None:
        spec = _EMPTY
    elif type(spec) is not dict:
        return None
    lb: Any = _EMPTY
    if status is not None:
        if type(status) is not dict:
            return None
        lb = status.get("loadBalancer")
        if lb is None:
            lb = _EMPTY
        elif type(lb) is not dict:
            return None
    get = spec.get
    name, namespace, version = meta.get("name"), meta.get("namespace"), meta.get("resourceVersion")
    kind, cluster_ip, policy = get("type"), get("clusterIP"), get("ipFamilyPolicy")
    lb_ip, lb_class, etp = get("loadBalancerIP"), get("loadBalancerClass"), get("externalTrafficPolicy")
    uid = meta.get("uid")
    scalars = {type(name), type(namespace), type(version), type(uid), type(kind), type(cluster_ip)}
    scalars.update((type(policy), type(lb_ip), type(lb_class), type(etp)))
    if not scalars <= _TEXT_OR_NONE:
        return None
    cluster_ips, families = get("clusterIPs"), get("ipFamilies")
    if cluster_ips is not None:
        if type(cluster_ips) is not list or not set(map(type, cluster_ips)) <= _TEXT:
            return None
    if not cluster_ips:
        cluster_ips = (cluster_ip,) if cluster_ip else ()
    intern = sys.intern
    labels, annotations, selector = meta.get("labels"), meta.get("annotations"), get("selector")
    try:
        if families is not None:
            if type(families) is not list:
                return None
            families = tuple(map(intern, families))
        if labels is not None:
            labels = dict(zip(map(intern, labels), map(intern, labels.values())))
        if annotations is not None:
            if not set(map(type, annotations.values())) <= _TEXT:
                return None
            annotations = {intern(k): intern(v) for k, v in annotations.items() if k.startswith(METALLB_PREFIXES)}
        if etp == "Local":
            if selector is not None:
                selector = dict(zip(map(intern, selector), map(intern, selector.values())))
        elif selector is not None:
            if not (set(map(type, selector)) <= _TEXT and set(map(type, selector.values())) <= _TEXT):
                return None
            selector = None
    except (TypeError, AttributeError):  # not a string (intern, startswith), not a map (items)
        return None
    ports = get("ports")
    port_models: Tuple[Port, ...] = ()
    if ports is not None:
        if type(ports) is not list:
            return None
        for p in ports:
            if not (
                type(p) is dict
                and {type(p.get("name")), type(p.get("protocol"))} <= _TEXT_OR_NONE
                and type(p.get("port")) in _INT_OR_NONE
            ):
                return None
        port_models = tuple([_raw_port(p.get("protocol"), p.get("port")) for p in ports])
    ingress = lb.get("ingress")
    held: Tuple[str, ...] = ()
    if ingress is not None:
        if type(ingress) is not list:
            return None
        ips = []
        for entry in ingress:
            if not (type(entry) is dict and {type(entry.get("ip")), type(entry.get("hostname"))} <= _TEXT_OR_NONE):
                return None
            ip = entry.get("ip")
            if ip:
                ips.append(ip)
        held = tuple(ips)
    return cls(  # positional: the fields in their order, a tenth faster than by keyword
        intern(namespace or "default"),
        name or "",
        intern(kind or "ClusterIP"),
        labels or {},
        annotations or {},
        tuple(cluster_ips),
        families or (),
        intern(policy) if policy else "",
        lb_ip or "",
        lb_class or "",
        selector or {},
        intern(etp or "Cluster"),
        port_models,
        held,
        version or "",
        status is not None and bool(uid),  # observed_object(obj)
    )


METALLB_PREFIXES = (CURRENT, DEPRECATED)


def _metallb_map(value) -> Dict[str, str]:
    """MetalLB's annotations of an annotation map, as _interned_map would give them."""
    if not value:
        return {}
    return _interned_map({k: v for k, v in value.items() if type(k) is str and k.startswith(METALLB_PREFIXES)})


def _interned_map(value, drop: str = "") -> Dict[str, str]:
    """Like _text_map, always a new dict, keys and values interned (thousands of
    services repeat them), the key ``drop`` left out."""
    if not value:
        return {}
    intern = sys.intern
    try:
        return {intern(k): intern(v) for k, v in value.items() if k != drop}
    except TypeError:  # a key or value that is not a string
        pass
    out = {}
    for k, v in value.items():
        if type(k) is str:
            if k == drop:
                continue
            k = intern(k)
        else:
            k = str(k)
        out[k] = intern(v) if type(v) is str else ("" if v is None else str(v))
    return out


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

"""Past allocation: what stops an assigned address from answering.

MetalLB assigns an address from a pool, but only a speaker announces it, and a
speaker announces only what an L2Advertisement or BGPAdvertisement selects, from
the nodes that advertisement selects (internal/config/config.go:
setL2AdvertisementsToPools, setBGPAdvertisementsToPools, selectedNodes,
validateBGPAdvPerPool; speaker/*_controller.go for the nodes a speaker skips).
Everything here is pure: plain data in (``Network``, built by snapshot/network.py),
findings out. A kind the input did not have is in ``Network.absent`` and the rules
that need it are not run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from .addresses import IPV4, IPV6, AddressError, Interval, family_bits, family_of, parse_ip, parse_pool_address
from .checks import (  # the codes and their fixes: the catalogue
    ADV_NO_NODES,
    ADV_SELECTS_NO_POOL,
    ADV_UNKNOWN_POOL,
    BGP_AGGREGATION,
    CONFIG_INVALID,
    LOCAL_NO_ANNOUNCER,
    OVERLAPS_NODE,
    OVERLAPS_POD_CIDR,
    OVERLAPS_SERVICE_CIDR,
    POOL_NOT_ADVERTISED,
    STATUS_DRIFT,
    fixed,
)
from .pools import Pool
from .rules import ERROR, REJECTS_CONFIGURATION, WARNING, Finding, pool_finding, service_finding
from .schema import BOOL, INT, LABELS, SELECTOR, STR, STRINGS, at, list_of, obj
from .selectors import Selector, selector_list
from .services import ASSIGNED, Service

# The kinds this module reads, as the summary names them.
L2ADV = "L2Advertisement"
BGPADV = "BGPAdvertisement"
NODE = "Node"
ENDPOINTSLICE = "EndpointSlice"
SERVICECIDR = "ServiceCIDR"
CONFIGSTATE = "ConfigurationState"
L2STATUS = "ServiceL2Status"
BGPSTATUS = "ServiceBGPStatus"
KINDS = (L2ADV, BGPADV, NODE, ENDPOINTSLICE, SERVICECIDR, CONFIGSTATE, L2STATUS, BGPSTATUS)
CHECK_KINDS = KINDS[:6]  # the speakers' statuses are read by `why` alone
CONFIG_KINDS = (CONFIGSTATE,)  # annotate, pin and free: whether MetalLB uses the configuration in the cluster


# A node with this label is skipped by every speaker (unless it runs with
# --ignore-exclude-lb), as is a node whose NetworkUnavailable condition is True.
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def _selectors(items: List[Any]) -> Tuple[Selector, ...]:
    return tuple(selector_list(items))


def _selector_row(path: str) -> Dict[str, Any]:
    """A list of label selectors (snapshot/shape.py's validate names one that is
    not valid: an operator the API does not know)."""
    return at(path, list_of(SELECTOR), (), convert=_selectors)


@dataclass(frozen=True)
class Advertisement:
    """An L2Advertisement or a BGPAdvertisement as the model reads it. The rows
    both kinds have are here; each kind's class below adds its own (the table of
    the kind: model/schema.py derives its shape check, its trim and its
    constructor)."""

    kind: str = field(metadata=at("kind", STR))  # L2ADV or BGPADV
    name: str = field(metadata=at("metadata.name", STR))
    namespace: str = field(default="", metadata=at("metadata.namespace", STR))
    pools: Tuple[str, ...] = field(default=(), metadata=at("spec.ipAddressPools", STRINGS, ()))  # by name
    pool_selectors: Tuple[Selector, ...] = field(default=(), metadata=_selector_row("spec.ipAddressPoolSelectors"))
    node_selectors: Tuple[Selector, ...] = field(default=(), metadata=_selector_row("spec.nodeSelectors"))
    service_selectors: Tuple[Selector, ...] = field(default=(), metadata=_selector_row("spec.serviceSelectors"))
    interfaces: Tuple[str, ...] = ()  # L2
    peers: Tuple[str, ...] = ()  # BGP
    aggregation_length: Optional[int] = None  # BGP; MetalLB's default is 32
    aggregation_length_v6: Optional[int] = None  # BGP; default 128

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def selects_every_pool(self) -> bool:
        return not self.pools and not self.pool_selectors

    def selects_pool(self, pool: str, labels: Dict[str, str]) -> bool:
        if self.selects_every_pool:
            return True
        return pool in self.pools or any(s.matches(labels) for s in self.pool_selectors)

    def announces_service(self, svc: Service) -> bool:
        """serviceSelectors limit which services of its pools it announces."""
        return not self.service_selectors or any(s.matches(svc.labels) for s in self.service_selectors)

    def selects_node(self, node: "Node") -> bool:
        return not self.node_selectors or any(s.matches(node.labels) for s in self.node_selectors)


@dataclass(frozen=True)
class L2Advertisement(Advertisement):
    """An L2Advertisement's table: the rows of every advertisement and its interfaces."""

    interfaces: Tuple[str, ...] = field(default=(), metadata=at("spec.interfaces", STRINGS, ()))


@dataclass(frozen=True)
class BGPAdvertisement(Advertisement):
    """A BGPAdvertisement's table: the rows of every advertisement, its peers and aggregation lengths."""

    peers: Tuple[str, ...] = field(default=(), metadata=at("spec.peers", STRINGS, ()))
    aggregation_length: Optional[int] = field(default=None, metadata=at("spec.aggregationLength", INT, None))
    aggregation_length_v6: Optional[int] = field(default=None, metadata=at("spec.aggregationLengthV6", INT, None))


# The model class of each advertisement kind (shape.MODELS has them too).
ADVERTISEMENTS = {L2ADV: L2Advertisement, BGPADV: BGPAdvertisement}


def _node_addresses(entries: List[Any]) -> Tuple[Tuple[str, str], ...]:
    """status.addresses as (type, address) (snapshot/shape.py's validate says each has both)."""
    return tuple((entry["type"], entry["address"]) for entry in entries)


def _network_unavailable(conditions: List[Any]) -> bool:
    """Whether the NetworkUnavailable condition is True."""
    return any(c.get("type") == "NetworkUnavailable" and c.get("status") == "True" for c in conditions)


@dataclass(frozen=True)
class Node:
    """A Node as the model reads it (its table: model/schema.py derives its shape
    check, its trim and its constructor)."""

    name: str = field(metadata=at("metadata.name", STR))
    labels: Dict[str, str] = field(default_factory=dict, hash=False, metadata=at("metadata.labels", LABELS, {}))
    # (type, address): InternalIP, ExternalIP
    addresses: Tuple[Tuple[str, str], ...] = field(
        default=(),
        metadata=at("status.addresses", list_of(obj(type=STR, address=STR)), (), convert=_node_addresses),
    )
    pod_cidrs: Tuple[str, ...] = field(default=(), metadata=at("spec.podCIDRs", STRINGS, ()))
    network_unavailable: bool = field(
        default=False,
        metadata=at("status.conditions", list_of(obj(type=STR, status=STR)), False, convert=_network_unavailable),
    )

    @property
    def skipped_by_speakers(self) -> str:
        """Why every speaker skips this node, or ''."""
        if EXCLUDE_LABEL in self.labels:
            return f"it has the label {EXCLUDE_LABEL}"
        if self.network_unavailable:
            return "its NetworkUnavailable condition is True"
        return ""


SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # an EndpointSlice's service
ENDPOINT_CONDITIONS = obj(ready=BOOL, serving=BOOL)


def _can_serve(conditions: Any) -> bool:
    """MetalLB's EndpointCanServe: ready unset or true, or serving true."""
    conditions = conditions or {}
    ready = conditions.get("ready")
    return ready is None or ready is True or conditions.get("serving") is True


def _ready_nodes(endpoints: List[Any]) -> FrozenSet[str]:
    """The nodes with an endpoint that has addresses and can serve."""
    return frozenset(
        ep["nodeName"]
        for ep in endpoints
        if ep.get("nodeName") and ep.get("addresses") and _can_serve(ep.get("conditions"))
    )


@dataclass(frozen=True)
class EndpointSlice:
    """An EndpointSlice as the model reads it (its table): which service it is of
    (its kubernetes.io/service-name label), and the nodes with a ready endpoint."""

    name: str = field(metadata=at("metadata.name", STR))
    namespace: str = field(default="", metadata=at("metadata.namespace", STR))
    labels: Dict[str, str] = field(default_factory=dict, hash=False, metadata=at("metadata.labels", LABELS, {}))
    ready_nodes: FrozenSet[str] = field(
        default=frozenset(),
        metadata=at(
            "endpoints",
            list_of(obj(addresses=STRINGS, nodeName=STR, conditions=ENDPOINT_CONDITIONS)),
            frozenset(),
            convert=_ready_nodes,
        ),
    )

    @property
    def service_key(self) -> str:
        """ "namespace/name" of its service, or "" when it names none."""
        service = self.labels.get(SERVICE_NAME_LABEL, "")
        return f"{self.namespace or 'default'}/{service}" if service else ""


@dataclass(frozen=True)
class ServiceCIDR:
    """A ServiceCIDR as the model reads it (its table): the ranges cluster IPs come from."""

    name: str = field(metadata=at("metadata.name", STR))
    cidrs: Tuple[str, ...] = field(default=(), metadata=at("spec.cidrs", STRINGS, ()))


@dataclass(frozen=True)
class ConfigState:
    """MetalLB's ConfigurationState as the model reads it (its table): whether the
    configuration it loaded is valid."""

    name: str = field(metadata=at("metadata.name", STR))
    namespace: str = field(default="", metadata=at("metadata.namespace", STR))
    result: str = field(default="", metadata=at("status.result", STR))
    error_summary: str = field(default="", metadata=at("status.errorSummary", STR))


# The labels a speaker sets on its status objects (read when the status has no such field).
STATUS_LABELS = {
    "serviceNamespace": "metallb.io/service-namespace",
    "serviceName": "metallb.io/service-name",
    "node": "metallb.io/node",
}


def _status_or_label(key: str) -> Dict[str, Any]:
    """A status field, else the label the speaker sets for it (derived from the whole
    object: the two are in different mappings)."""

    def derive(source: Any) -> str:
        status = source.get("status")
        value = status.get(key) if isinstance(status, Mapping) else None
        if value:
            return str(value)
        meta = source.get("metadata")
        labels = meta.get("labels") if isinstance(meta, Mapping) else None
        return str(labels.get(STATUS_LABELS[key], "")) if isinstance(labels, Mapping) else ""

    return at(f"status.{key}", STR, derive=derive)


def _interface_names(entries: List[Any]) -> Tuple[str, ...]:
    """status.interfaces as names (snapshot/shape.py's validate says each name is a string)."""
    return tuple(entry.get("name", "") for entry in entries)


@dataclass(frozen=True)
class SpeakerStatus:
    """A ServiceL2Status or ServiceBGPStatus: one speaker says it announces a service
    (the table of both kinds)."""

    kind: str = field(metadata=at("kind", STR))  # L2STATUS or BGPSTATUS
    name: str = field(metadata=at("metadata.name", STR))
    service_namespace: str = field(default="", metadata=_status_or_label("serviceNamespace"))
    service_name: str = field(default="", metadata=_status_or_label("serviceName"))
    node: str = field(default="", metadata=_status_or_label("node"))
    interfaces: Tuple[str, ...] = field(
        default=(), metadata=at("status.interfaces", list_of(obj(name=STR)), (), convert=_interface_names)
    )
    peers: Tuple[str, ...] = field(default=(), metadata=at("status.peers", STRINGS, ()))
    # read by service_namespace, service_name and node when the status has none
    labels: Dict[str, str] = field(
        default_factory=dict, hash=False, compare=False, repr=False, metadata=at("metadata.labels", LABELS, {})
    )


@dataclass
class Network:
    """What the rules past allocation read; ``absent`` names the kinds the input
    did not have (not served by the API, forbidden, or not in the files)."""

    advertisements: List[Advertisement] = field(default_factory=list)
    nodes: List[Node] = field(default_factory=list)
    # "namespace/name" of a Local-policy service -> nodes with a ready endpoint
    ready_nodes: Dict[str, FrozenSet[str]] = field(default_factory=dict)
    service_cidrs: List[ServiceCIDR] = field(default_factory=list)
    config_states: List[ConfigState] = field(default_factory=list)
    speaker_statuses: List[SpeakerStatus] = field(default_factory=list)
    pool_labels: Dict[str, Dict[str, str]] = field(default_factory=dict)
    absent: FrozenSet[str] = frozenset(KINDS)

    def has(self, kind: str) -> bool:
        return kind not in self.absent

    @property
    def knows_advertisements(self) -> bool:
        return self.has(L2ADV) or self.has(BGPADV)

    def absent_kinds(self, kinds: Tuple[str, ...] = KINDS) -> List[str]:
        return [k for k in kinds if k in self.absent]

    # --- selection, as MetalLB resolves it
    def advertisements_for(self, pool: Pool) -> List[Advertisement]:
        labels = self.pool_labels.get(pool.name) or {}
        return [a for a in self.advertisements if a.selects_pool(pool.name, labels)]

    def nodes_of(self, adv: Advertisement) -> List[Node]:
        """The nodes its nodeSelectors match (all nodes when it has none)."""
        return [n for n in self.nodes if adv.selects_node(n)]

    def announcing_nodes(self, adv: Advertisement) -> List[Node]:
        """The nodes a speaker would announce from: selected and not skipped."""
        return [n for n in self.nodes_of(adv) if not n.skipped_by_speakers]

    def announcing_names(self, adv: Advertisement) -> FrozenSet[str]:
        """announcing_nodes' names, computed once per advertisement (many Local-policy
        services share a few advertisements; a cluster may have thousands of nodes)."""
        cache = self.__dict__.setdefault("_announcing", {})
        key = (adv.kind, adv.namespace, adv.name)
        if key not in cache:
            cache[key] = frozenset(n.name for n in self.announcing_nodes(adv))
        return cache[key]

    def statuses_for(self, svc: Service) -> List[SpeakerStatus]:
        return [s for s in self.speaker_statuses if s.service_namespace == svc.namespace and s.service_name == svc.name]


def advertisement_names(network: Optional[Network], pool: Optional[Pool]):
    """{"l2": [names], "bgp": [names]} of the advertisements selecting a pool, or None
    when the input had neither kind (or there is no pool)."""
    if network is None or not network.knows_advertisements or pool is None:
        return None
    advs = network.advertisements_for(pool)
    return {"l2": [a.name for a in advs if a.kind == L2ADV], "bgp": [a.name for a in advs if a.kind == BGPADV]}


def unread_advertisement_kinds(cluster) -> List[str]:
    """The advertisement kinds a live cluster did not let us read (forbidden, or not
    served): what they select is unknown, which is not the same as none."""
    net = cluster.network
    if net is None or not cluster.live or cluster.legacy_config:
        return []
    return net.absent_kinds((L2ADV, BGPADV))


def _no_nodes_message(adv: Advertisement, network: Network) -> str:
    """advertisement-no-nodes, saying what is true: no Node at all, or selectors that
    match none of them."""
    if not network.nodes:
        which = (
            f"its nodeSelectors ({'; '.join(map(str, adv.node_selectors))}) have nothing to match"
            if adv.node_selectors
            else "it selects every node"
        )
        return fixed(
            ADV_NO_NODES,
            f"the cluster has no Node, so {which} and no speaker runs to announce its pools' addresses.",
            "no-nodes",
        )
    return fixed(
        ADV_NO_NODES,
        f"its nodeSelectors ({'; '.join(map(str, adv.node_selectors))}) match none of the "
        f"{len(network.nodes)} Node(s), so no speaker announces its pools' addresses through it.",
    )


def _adv_finding(adv: Advertisement, code: str, message: str, severity: str = ERROR) -> Finding:
    return Finding(severity, code, adv.kind, adv.namespace, adv.name, message)


def check_network(cluster, network: Network) -> List[Finding]:
    """Every rule past allocation whose inputs are present."""
    found: List[Finding] = []
    # Before v0.13 (the legacy ConfigMap) each pool carried its own protocol: there
    # are no advertisements to look for.
    if network.knows_advertisements and not cluster.legacy_config:
        found += check_advertisements(cluster, network)
    if network.has(NODE):
        found += check_node_overlaps(cluster, network)
        if network.knows_advertisements and network.has(ENDPOINTSLICE):
            found += check_local_policy(cluster, network)
    if network.has(SERVICECIDR):
        found += check_service_cidrs(cluster, network)
    if network.has(CONFIGSTATE):
        found += check_config_states(network)
    found += check_status_drift(cluster)
    return found


def held_in_pool(cluster, pool: Pool) -> List[Service]:
    """LoadBalancer services that hold an address of the pool, in first-seen order."""
    seen: Dict[str, Service] = {}
    for iv in pool.intervals:
        for value in cluster.index.used_in(iv, held_only=True):
            for use in cluster.index.uses(iv.family, value):
                if use.how == ASSIGNED:
                    seen.setdefault(use.service.key, use.service)
    return list(seen.values())


def check_advertisements(cluster, network: Network) -> List[Finding]:
    found: List[Finding] = []
    names = {p.name for p in cluster.pools}
    labels = network.pool_labels
    for adv in network.advertisements:
        unknown = [p for p in adv.pools if p not in names]
        if unknown:
            found.append(
                _adv_finding(
                    adv,
                    ADV_UNKNOWN_POOL,
                    fixed(
                        ADV_UNKNOWN_POOL,
                        f"ipAddressPools names {', '.join(unknown)}, which "
                        f"{'does' if len(unknown) == 1 else 'do'} not exist; MetalLB ignores the name "
                        "without a word.",
                    ),
                )
            )
        # (names that all do not exist, and no selector: advertisement-unknown-pool says it)
        if adv.pool_selectors and not any(adv.selects_pool(p.name, labels.get(p.name) or {}) for p in cluster.pools):
            what = []
            if adv.pools:
                what.append("ipAddressPools " + ", ".join(adv.pools))
            if adv.pool_selectors:
                what.append("ipAddressPoolSelectors " + "; ".join(map(str, adv.pool_selectors)))
            found.append(
                _adv_finding(
                    adv,
                    ADV_SELECTS_NO_POOL,
                    fixed(
                        ADV_SELECTS_NO_POOL,
                        f"its {' and '.join(what)} select no existing pool, so it announces nothing.",
                    ),
                    WARNING,
                )
            )
        if network.has(NODE) and not network.nodes_of(adv):
            found.append(_adv_finding(adv, ADV_NO_NODES, _no_nodes_message(adv, network)))
    for pool in cluster.pools:
        if network.advertisements_for(pool):
            continue
        holders = held_in_pool(cluster, pool)
        kinds = " or ".join(k for k in (L2ADV, BGPADV) if network.has(k))
        if holders:
            shown = ", ".join(s.key for s in holders[:3]) + (" ..." if len(holders) > 3 else "")
            found.append(
                pool_finding(
                    pool,
                    POOL_NOT_ADVERTISED,
                    fixed(
                        POOL_NOT_ADVERTISED,
                        f"no {kinds} selects this pool, so nothing announces "
                        f"the addresses MetalLB assigned from it ({len(holders)} service(s): {shown}); "
                        "they do not answer.",
                        pool=pool.name,
                    ),
                )
            )
        else:
            found.append(
                pool_finding(
                    pool,
                    POOL_NOT_ADVERTISED,
                    fixed(
                        POOL_NOT_ADVERTISED,
                        f"no {kinds} selects this pool: an address MetalLB assigns from it will not answer.",
                        pool=pool.name,
                    ),
                    WARNING,
                )
            )
    found += check_bgp_aggregation(cluster, network)
    return found


def lowest_prefix(iv: Interval) -> int:
    """The shortest prefix among the CIDRs a range splits into (a CIDR: its own)."""
    bits = family_bits(iv.family)
    first, last, lowest = iv.first, iv.last, bits
    while first <= last:
        size = (first & -first) if first else (1 << bits)
        while size > last - first + 1:
            size >>= 1
        lowest = min(lowest, bits - (size.bit_length() - 1))
        first += size
    return lowest


def check_bgp_aggregation(cluster, network: Network) -> List[Finding]:
    found: List[Finding] = []
    for adv in network.advertisements:
        if adv.kind != BGPADV:
            continue
        v4 = 32 if adv.aggregation_length is None else adv.aggregation_length
        v6 = 128 if adv.aggregation_length_v6 is None else adv.aggregation_length_v6
        if v4 > 32 or v6 > 128:
            bad = f"aggregationLength {v4}" if v4 > 32 else f"aggregationLengthV6 {v6}"
            found.append(
                _adv_finding(
                    adv,
                    BGP_AGGREGATION,
                    fixed(
                        BGP_AGGREGATION,
                        f"{bad} is longer than the family's addresses; {REJECTS_CONFIGURATION}.",
                        "too-long",
                    ),
                )
            )
            continue
        if adv.service_selectors and (v4 != 32 or v6 != 128):
            found.append(
                _adv_finding(
                    adv,
                    BGP_AGGREGATION,
                    fixed(
                        BGP_AGGREGATION,
                        "serviceSelectors and an aggregation length other than /32 (/128 for IPv6) "
                        f"exclude each other; {REJECTS_CONFIGURATION}.",
                        "selectors",
                    ),
                )
            )
        for pool in cluster.pools:
            if not adv.selects_pool(pool.name, network.pool_labels.get(pool.name) or {}):
                continue
            for text in pool.addresses:
                try:
                    iv = parse_pool_address(text)
                except AddressError:
                    continue  # invalid-pool-address says it
                length = v4 if iv.family == IPV4 else v6
                lowest = lowest_prefix(iv)
                if length < lowest:
                    field_name = "aggregationLength" if iv.family == IPV4 else "aggregationLengthV6"
                    found.append(
                        _adv_finding(
                            adv,
                            BGP_AGGREGATION,
                            fixed(
                                BGP_AGGREGATION,
                                f"{field_name} {length} is shorter than the /"
                                f"{lowest} of {text} in pool {pool.name}; {REJECTS_CONFIGURATION}.",
                                field=field_name,
                                prefix=lowest,
                                pool=pool.name,
                            ),
                        )
                    )
                    break
    return found


def _node_address_hits(cluster, node: Node) -> Iterable[Tuple[Pool, str, str]]:
    for kind, text in node.addresses:
        if kind not in ("InternalIP", "ExternalIP"):
            continue
        try:
            addr = parse_ip(text)
        except AddressError:
            continue
        family, value = family_of(addr), int(addr)
        for pool in cluster.pools:
            if pool.contains(family, value):
                yield pool, kind, str(addr)


def _overlapping(cluster, cidr: str) -> Iterable[Tuple[Pool, Interval, Interval]]:
    try:
        net = parse_pool_address(cidr)
    except AddressError:
        return
    for pool in cluster.pools:
        for iv in pool.intervals:
            if iv.overlaps(net):
                yield pool, iv, net


def check_node_overlaps(cluster, network: Network) -> List[Finding]:
    found: List[Finding] = []
    for node in network.nodes:
        for pool, kind, addr in _node_address_hits(cluster, node):
            found.append(
                pool_finding(
                    pool,
                    OVERLAPS_NODE,
                    fixed(
                        OVERLAPS_NODE,
                        f"the pool holds {addr}, the {kind} of node {node.name}; "
                        "MetalLB may assign it to a service and the node and the service then answer for "
                        "one address.",
                    ),
                )
            )
        for cidr in node.pod_cidrs:
            for pool, iv, net in _overlapping(cluster, cidr):
                found.append(
                    pool_finding(
                        pool,
                        OVERLAPS_POD_CIDR,
                        fixed(
                            OVERLAPS_POD_CIDR,
                            f"{iv} overlaps {net}, the Pod CIDR of node "
                            f"{node.name}; traffic to a service address there is routed to pods.",
                        ),
                    )
                )
    return found


def check_service_cidrs(cluster, network: Network) -> List[Finding]:
    found: List[Finding] = []
    for service_cidr in network.service_cidrs:
        for cidr in service_cidr.cidrs:
            for pool, iv, net in _overlapping(cluster, cidr):
                found.append(
                    pool_finding(
                        pool,
                        OVERLAPS_SERVICE_CIDR,
                        fixed(
                            OVERLAPS_SERVICE_CIDR,
                            f"{iv} overlaps {net} of ServiceCIDR {service_cidr.name}; a "
                            "service's external address can equal another service's cluster IP.",
                        ),
                    )
                )
    return found


def check_config_states(network: Network) -> List[Finding]:
    found: List[Finding] = []
    for state in network.config_states:
        if state.result != "Invalid":
            continue
        summary = _summary(state.error_summary)
        found.append(
            Finding(
                ERROR,
                CONFIG_INVALID,
                CONFIGSTATE,
                state.namespace,
                state.name,
                fixed(CONFIG_INVALID, f"MetalLB reports its configuration Invalid: {summary!r}."),
            )
        )
    return found


@dataclass(frozen=True)
class RejectedConfig:
    """MetalLB rejected the configuration in the cluster (a ConfigurationState says
    Invalid) and keeps using the last one it accepted: an answer computed from the
    cluster's objects assumes a configuration MetalLB is not using. ``changed`` are
    the pools known to differ from what MetalLB loaded (pool, how it is known);
    ``unknown`` says what cannot be known from the input."""

    states: Tuple[ConfigState, ...]
    changed: Tuple[Tuple[str, str], ...]
    unknown: str

    def message(self) -> str:
        said = "; ".join(
            f"ConfigurationState {s.namespace + '/' if s.namespace else ''}{s.name}: {_summary(s.error_summary)!r}"
            for s in self.states
        )
        changed = ", ".join(f"pool {name} ({how})" for name, how in self.changed)
        return (
            f"MetalLB rejected the configuration in the cluster ({said}) and keeps using the last one it "
            "accepted; these answers assume the configuration in the cluster, which MetalLB is not using. "
            + (f"Added or changed since it last accepted one: {changed}. " if changed else "")
            + self.unknown
        )

    def finding(self, strict: bool = False) -> Finding:
        """The same as a finding: a warning, or with --strict an error."""
        first = self.states[0]
        severity = ERROR if strict else WARNING
        return Finding(
            severity, CONFIG_INVALID, CONFIGSTATE, first.namespace, first.name, fixed(CONFIG_INVALID, self.message())
        )

    def to_dict(self) -> dict:
        return {
            "states": [
                {"namespace": s.namespace, "name": s.name, "result": s.result, "errorSummary": s.error_summary}
                for s in self.states
            ],
            "changedPools": [{"name": name, "reason": how} for name, how in self.changed],
            "unknown": self.unknown,
        }


def _summary(text: str) -> str:
    return text.strip().replace("\n", "; ") or "(no errorSummary)"


# MetalLB's counters (allocator poolCount) saturate for a CIDR of 2**62 addresses or more.
COUNTED_EXACTLY = 2**62


def rejected_config(cluster) -> Optional[RejectedConfig]:
    """Whether MetalLB is not using the configuration in the cluster, and what is
    known of the difference. A pool MetalLB has not loaded as it stands shows in its
    status (v0.15+: the allocator's counters, kept while the configuration is
    rejected): none for a pool added since, another number of addresses for one
    changed since. None when no ConfigurationState in the input says Invalid."""
    network = cluster.network
    if network is None or not network.has(CONFIGSTATE):
        return None
    invalid = tuple(s for s in network.config_states if s.result == "Invalid")
    if not invalid:
        return None
    if not any(status_counters(p) for p in cluster.pools):
        return RejectedConfig(
            invalid,
            (),
            "Which pools were added or changed since cannot be known: the input has no pool status "
            "(MetalLB's own counters, v0.15 and later).",
        )
    changed = tuple((p.name, how) for p in cluster.pools for how in [_not_loaded(p)] if how)
    return RejectedConfig(
        invalid,
        changed,
        "Not known from the pools' status: a change that keeps each pool's number of addresses (a moved "
        "range, serviceAllocation, autoAssign, avoidBuggyIPs on a range without .0 or .255) or of another kind.",
    )


def _not_loaded(pool: Pool) -> str:
    """How a pool's status shows MetalLB has not loaded it as it stands, or ''."""
    counters = status_counters(pool)
    if counters is None:
        return "MetalLB counts none of its addresses: added since"
    for family, word in ((IPV4, "IPv4"), (IPV6, "IPv6")):
        total = pool.total(family)
        counted = counters["available" + word] + counters["assigned" + word]
        if total < COUNTED_EXACTLY and counted != total:
            return f"MetalLB counts {counted} {word} address(es), it has {total}"
    return ""


STATUS_KEYS = {IPV4: "assignedIPv4", IPV6: "assignedIPv6"}


def held_counts(cluster, pool: Pool) -> Dict[str, int]:
    """Distinct addresses of the pool that services hold, per family."""
    counts = {IPV4: 0, IPV6: 0}
    for iv in pool.intervals:
        counts[iv.family] += len(cluster.index.used_in(iv, held_only=True))
    return counts


def status_counters(pool: Pool) -> Optional[Dict[str, int]]:
    """MetalLB's own counters (IPAddressPool status, v0.15 and later), or None."""
    status = pool.status or {}
    keys = ("assignedIPv4", "assignedIPv6", "availableIPv4", "availableIPv6")
    if not any(k in status for k in keys):
        return None
    out = {}
    for k in keys:
        try:
            out[k] = int(status.get(k) or 0)
        except (TypeError, ValueError):
            out[k] = 0
    return out


def check_status_drift(cluster) -> List[Finding]:
    found: List[Finding] = []
    for pool in cluster.pools:
        counters = status_counters(pool)
        if counters is None or not pool.valid:
            continue
        held = held_counts(cluster, pool)
        differ = [
            f"{STATUS_KEYS[f]} {counters[STATUS_KEYS[f]]} but services hold {held[f]}"
            for f in (IPV4, IPV6)
            if counters[STATUS_KEYS[f]] != held[f]
        ]
        if differ:
            found.append(
                pool_finding(
                    pool,
                    STATUS_DRIFT,
                    fixed(
                        STATUS_DRIFT,
                        f"MetalLB's status says {'; '.join(differ)}; the controller "
                        "is behind, restarted with another view, or a service's status was written by "
                        "hand.",
                    ),
                    WARNING,
                )
            )
    return found


def check_local_policy(cluster, network: Network) -> List[Finding]:
    found: List[Finding] = []
    for svc in cluster.services:
        if not svc.is_load_balancer or svc.external_traffic_policy != "Local" or not svc.ingress:
            continue
        finding = local_policy_finding(cluster, network, svc)
        if finding is not None:
            found.append(finding)
    return found


def pool_of(cluster, svc: Service) -> Optional[Pool]:
    for addr in svc.held():
        pool = cluster.pool_containing(addr)
        if pool is not None:
            return pool
    return None


def service_advertisements(network: Network, pool: Pool, svc: Service) -> List[Advertisement]:
    """The advertisements that would announce this service of this pool."""
    return [a for a in network.advertisements_for(pool) if a.announces_service(svc)]


def local_policy_finding(cluster, network: Network, svc: Service) -> Optional[Finding]:
    pool = pool_of(cluster, svc)
    if pool is None:
        return None
    advs = service_advertisements(network, pool, svc)
    if not advs:
        return None  # pool-not-advertised says it
    ready = network.ready_nodes.get(svc.key, frozenset())
    if any(not ready.isdisjoint(network.announcing_names(a)) for a in advs):
        return None
    if not ready:
        why = "it has no ready endpoint on any node"
    else:
        why = (
            f"its ready endpoints are on {', '.join(sorted(ready))}, and no advertisement of "
            f"pool {pool.name} ({', '.join(a.ref for a in advs)}) selects "
            f"{'that node' if len(ready) == 1 else 'those nodes'}"
        )
    return service_finding(
        svc,
        LOCAL_NO_ANNOUNCER,
        fixed(LOCAL_NO_ANNOUNCER, f"externalTrafficPolicy is Local and {why}; no speaker announces its address."),
    )

"""MetalLB's legacy ConfigMap (before v0.13): its tables, and its conversion into
custom resources to review.

The ConfigMap (``LegacyConfigMap``) and the YAML text of its ``data.config``
(``LegacyConfig``, whose ``address-pools`` are ``AddressPool`` entries, whose
``bgp-advertisements`` are ``LegacyAdvertisement`` entries) are described once, as
tables (model/schema.py): the shape checks and the constructors derive from them.
snapshot.legacy_config reads the text (the model reads no YAML) and builds the
LegacyConfig; model.pools.pools_from_legacy_config and ``convert`` read it.

The conversion follows MetalLB's own converter (configmaptocrs): one IPAddressPool
per address-pool; a layer2 pool gets an L2Advertisement; a bgp pool gets one
BGPAdvertisement per entry of its bgp-advertisements (aggregation length,
localpref and communities carried), or one plain advertisement when it has none;
bgp-communities become one Community of aliases, since advertisements name them.
Peers and BFD profiles are not converted: they are noted for the reader. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from .schema import ANY, BOOL, INT, SCALAR, STR, at, at_items, build, list_of, map_of

API_VERSION = "metallb.io/v1beta1"
LAYER2 = "layer2"
BGP = "bgp"
MAX_NAME = 63


def _texts(values: Any) -> Tuple[str, ...]:
    return tuple(map(str, values))


def _text_map(values: Mapping) -> Dict[str, str]:
    return {str(k): str(v) for k, v in values.items()}


# --- the tables ------------------------------------------------------------------------
@dataclass(frozen=True)
class LegacyConfigMap:
    """The ConfigMap (metallb-system/config) as the model reads it: where it is, and
    its ``data.config``, YAML text (kept whole otherwise: commands print it back)."""

    name: str = field(default="", metadata=at("metadata.name", STR))
    namespace: str = field(default="", metadata=at("metadata.namespace", STR))
    config: str = field(default="", metadata=at("data.config", STR))

    @classmethod
    def from_object(cls, obj: Mapping) -> "LegacyConfigMap":
        return build(cls, obj)


@dataclass(frozen=True)
class LegacyAdvertisement:
    """An entry of an address-pool's ``bgp-advertisements``. A number absent (or
    null) is None: MetalLB's default, not written."""

    aggregation_length: Optional[int] = field(default=None, metadata=at("aggregation-length", INT, None))
    aggregation_length_v6: Optional[int] = field(default=None, metadata=at("aggregation-length-v6", INT, None))
    localpref: Optional[int] = field(default=None, metadata=at("localpref", INT, None))
    # values ("64512:1") or bgp-communities aliases, as text
    communities: Tuple[str, ...] = field(default=(), metadata=at("communities", list_of(SCALAR), (), convert=_texts))


@dataclass(frozen=True)
class AddressPool:
    """An entry of ``address-pools``. ``name`` is text (``name: 1`` is "1");
    ``addresses`` are as written (YAML may make one a number: str() them, a message
    shows the value as written); ``auto_assign`` is None when absent (MetalLB's true,
    not written by a conversion)."""

    name: str = field(default="", metadata=at("name", SCALAR, "", convert=str))
    protocol: str = field(default="", metadata=at("protocol", STR))
    addresses: Tuple[Any, ...] = field(default=(), metadata=at("addresses", list_of(SCALAR), (), convert=tuple))
    auto_assign: Optional[bool] = field(default=None, metadata=at("auto-assign", BOOL, None))
    avoid_buggy_ips: bool = field(default=False, metadata=at("avoid-buggy-ips", BOOL, False))
    bgp_advertisements: Tuple[LegacyAdvertisement, ...] = field(
        default=(), metadata=at_items("bgp-advertisements", LegacyAdvertisement)
    )


@dataclass(frozen=True)
class LegacyConfig:
    """The YAML of the ConfigMap's ``data.config`` as the model reads it. Peers and
    BFD profiles are only counted (a conversion notes them), so any value will do."""

    address_pools: Tuple[AddressPool, ...] = field(default=(), metadata=at_items("address-pools", AddressPool))
    bgp_communities: Dict[str, str] = field(
        default_factory=dict, metadata=at("bgp-communities", map_of(SCALAR), {}, convert=_text_map)
    )
    peers: Tuple[Any, ...] = field(default=(), metadata=at("peers", list_of(ANY), (), convert=tuple))
    bfd_profiles: Tuple[Any, ...] = field(default=(), metadata=at("bfd-profiles", list_of(ANY), (), convert=tuple))

    @classmethod
    def from_object(cls, obj: Mapping) -> "LegacyConfig":
        """The model of a ``data.config`` mapping checked for shape (snapshot.legacy_config)."""
        return build(cls, obj)


# --- the conversion ---------------------------------------------------------------------
@dataclass
class Conversion:
    objects: List[Dict[str, Any]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def kubernetes_name(text: str) -> str:
    """A valid object name (a DNS label): lowercase, other characters become '-'."""
    name = re.sub(r"[^a-z0-9-]+", "-", str(text).lower()).strip("-")
    return name[:MAX_NAME].rstrip("-") or "pool"


def _object(kind: str, name: str, namespace: str, spec: Dict[str, Any]) -> Dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _unique(name: str, taken: Set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate


def _pool_spec(entry: AddressPool) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"addresses": [str(a) for a in entry.addresses]}
    if entry.auto_assign is not None:
        spec["autoAssign"] = bool(entry.auto_assign)
    if entry.avoid_buggy_ips:
        spec["avoidBuggyIPs"] = True
    return spec


def _bgp_spec(pool: str, advertisement: LegacyAdvertisement) -> Dict[str, Any]:
    spec: Dict[str, Any] = {}
    for value, key in (
        (advertisement.aggregation_length, "aggregationLength"),
        (advertisement.aggregation_length_v6, "aggregationLengthV6"),
        (advertisement.localpref, "localPref"),
    ):
        if value is not None:
            spec[key] = int(value)
    if not spec.get("localPref"):
        spec.pop("localPref", None)  # 0 is MetalLB's default: it writes none
    if advertisement.communities:
        spec["communities"] = list(advertisement.communities)
    spec["ipAddressPools"] = [pool]
    return spec


def convert(config: LegacyConfig, namespace: str = "metallb-system") -> Conversion:
    """The ConfigMap's ``data.config`` (its model, snapshot.legacy_config) to
    IPAddressPool and advertisement objects."""
    result = Conversion()
    pools: List[Dict[str, Any]] = []
    advertisements: List[Dict[str, Any]] = []
    pool_names: Set[str] = set()
    advertisement_names: Set[str] = set()
    aliases = config.bgp_communities
    for entry in config.address_pools:
        legacy_name = entry.name
        name = _unique(kubernetes_name(legacy_name), pool_names)
        if name != legacy_name:
            result.notes.append(
                f"pool {legacy_name!r} is named {name!r} (a Kubernetes name): "
                "services whose address-pool annotation names it must be changed"
            )
        pools.append(_object("IPAddressPool", name, namespace, _pool_spec(entry)))
        protocol = entry.protocol
        bgp_entries = entry.bgp_advertisements
        if protocol == LAYER2:
            advertisements.append(
                _object(
                    "L2Advertisement", _unique(f"{name}-l2", advertisement_names), namespace, {"ipAddressPools": [name]}
                )
            )
            if bgp_entries:
                result.notes.append(f"pool {legacy_name!r} is layer2: its bgp-advertisements are ignored")
        elif protocol == BGP:
            for advertisement in bgp_entries or (LegacyAdvertisement(),):
                spec = _bgp_spec(name, advertisement)
                for community in spec.get("communities", []):
                    if ":" not in community and community not in aliases:
                        result.notes.append(
                            f"pool {legacy_name!r}: community {community!r} is "
                            "neither a value nor a bgp-communities alias"
                        )
                advertisements.append(
                    _object("BGPAdvertisement", _unique(f"{name}-bgp", advertisement_names), namespace, spec)
                )
        else:
            result.notes.append(
                f"pool {legacy_name!r} has protocol {protocol!r} (MetalLB knew "
                "layer2 and bgp): no advertisement made; write one by hand"
            )
    result.objects = pools + advertisements
    if aliases:
        result.objects.append(
            _object(
                "Community",
                "communities",
                namespace,
                {"communities": [{"name": k, "value": v} for k, v in sorted(aliases.items())]},
            )
        )
    if config.peers:
        result.notes.append(
            f"{len(config.peers)} BGP peer(s) not converted: write BGPPeer objects (metallb.io/v1beta2) by hand"
        )
    if config.bfd_profiles:
        result.notes.append(
            f"{len(config.bfd_profiles)} BFD profile(s) not converted: write BFDProfile objects by hand"
        )
    return result

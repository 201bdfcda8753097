"""MetalLB's legacy ConfigMap (before v0.13) as custom resources to review.

Follows MetalLB's own converter (configmaptocrs): one IPAddressPool per
address-pool; a layer2 pool gets an L2Advertisement; a bgp pool gets one
BGPAdvertisement per entry of its bgp-advertisements (aggregation length,
localpref and communities carried), or one plain advertisement when it has none;
bgp-communities become one Community of aliases, since advertisements name them.
Peers and BFD profiles are not converted: they are noted for the reader. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Set

API_VERSION = "metallb.io/v1beta1"
LAYER2 = "layer2"
BGP = "bgp"
MAX_NAME = 63

# legacy key -> BGPAdvertisement spec field
_ADVERTISEMENT_FIELDS = (
    ("aggregation-length", "aggregationLength"),
    ("aggregation-length-v6", "aggregationLengthV6"),
    ("localpref", "localPref"),
)


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


def _pool_spec(entry: Mapping) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"addresses": [str(a) for a in entry.get("addresses") or []]}
    if entry.get("auto-assign") is not None:
        spec["autoAssign"] = bool(entry["auto-assign"])
    if entry.get("avoid-buggy-ips"):
        spec["avoidBuggyIPs"] = True
    return spec


def _bgp_spec(pool: str, advertisement: Mapping) -> Dict[str, Any]:
    spec: Dict[str, Any] = {}
    for legacy_key, key in _ADVERTISEMENT_FIELDS:
        if advertisement.get(legacy_key) is not None:
            spec[key] = int(advertisement[legacy_key])
    if not spec.get("localPref"):
        spec.pop("localPref", None)  # 0 is MetalLB's default: it writes none
    communities = advertisement.get("communities") or []
    if communities:
        spec["communities"] = [str(c) for c in communities]
    spec["ipAddressPools"] = [pool]
    return spec


def convert(config: Mapping, namespace: str = "metallb-system") -> Conversion:
    """The `data.config` mapping of the ConfigMap to IPAddressPool and advertisement objects."""
    result = Conversion()
    pools: List[Dict[str, Any]] = []
    advertisements: List[Dict[str, Any]] = []
    pool_names: Set[str] = set()
    advertisement_names: Set[str] = set()
    aliases = {str(k): str(v) for k, v in (config.get("bgp-communities") or {}).items()}
    for entry in config.get("address-pools") or []:
        legacy_name = str(entry.get("name") or "")
        name = _unique(kubernetes_name(legacy_name), pool_names)
        if name != legacy_name:
            result.notes.append(
                f"pool {legacy_name!r} is named {name!r} (a Kubernetes name): "
                "services whose address-pool annotation names it must be changed"
            )
        pools.append(_object("IPAddressPool", name, namespace, _pool_spec(entry)))
        protocol = str(entry.get("protocol") or "")
        bgp_entries = entry.get("bgp-advertisements") or []
        if protocol == LAYER2:
            advertisements.append(
                _object(
                    "L2Advertisement", _unique(f"{name}-l2", advertisement_names), namespace, {"ipAddressPools": [name]}
                )
            )
            if bgp_entries:
                result.notes.append(f"pool {legacy_name!r} is layer2: its bgp-advertisements are ignored")
        elif protocol == BGP:
            for advertisement in bgp_entries or [{}]:
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
    peers = config.get("peers") or []
    if peers:
        result.notes.append(
            f"{len(peers)} BGP peer(s) not converted: write BGPPeer objects (metallb.io/v1beta2) by hand"
        )
    if config.get("bfd-profiles"):
        result.notes.append(
            f"{len(config['bfd-profiles'])} BFD profile(s) not converted: write BFDProfile objects by hand"
        )
    return result

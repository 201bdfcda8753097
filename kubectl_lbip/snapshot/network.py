"""The kinds read past allocation (advertisements, nodes, endpoint slices, service
CIDRs, MetalLB's ConfigurationStates and speaker statuses) turned into
model.announce.Network. Which objects they are and their checks are shape.py's
(NETWORK_API, validate); their trim is trim.py's."""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Mapping

from ..model import announce as an
from ..model import schema
from . import shape

SERVICE_NAME_LABEL = an.SERVICE_NAME_LABEL  # an EndpointSlice's service


def build(
    objects: Mapping[str, List[Dict[str, Any]]],
    present: Iterable[str],
    pools: List[Dict[str, Any]],
    services: Iterable[Any],
    where: Any = "",
) -> an.Network:
    """A Network from objects by kind; ``present`` names the kinds that were read
    (a live kind the API serves, even with no objects; a kind a file had). ``where``
    (a Snapshot's source) is made text only when a message names it."""
    present = set(present)
    net = an.Network(absent=frozenset(k for k in an.KINDS if k not in present))
    net.pool_labels = {
        str((p.get("metadata") or {}).get("name") or ""): dict((p.get("metadata") or {}).get("labels") or {})
        for p in pools
    }
    local = {s.key for s in services if s.is_load_balancer and s.external_traffic_policy == "Local"}
    for kind in an.KINDS:
        model = shape.MODELS[kind]  # the kind's table (model/announce.py)
        for obj in objects.get(kind) or ():
            shape.validate(kind, obj, where or "input")
            value = schema.build(model, obj)
            if kind in (an.L2ADV, an.BGPADV):
                net.advertisements.append(value)
            elif kind == an.NODE:
                net.nodes.append(value)
            elif kind == an.ENDPOINTSLICE:
                key = value.service_key
                if key in local:
                    net.ready_nodes[key] = net.ready_nodes.get(key, frozenset()) | value.ready_nodes
            elif kind == an.SERVICECIDR:
                net.service_cidrs.append(value)
            elif kind == an.CONFIGSTATE:
                net.config_states.append(value)
            else:
                net.speaker_statuses.append(value)
    net.advertisements.sort(key=lambda a: (a.kind, a.namespace, a.name))
    return net


def present_in(objects: Mapping[str, List[Any]]) -> FrozenSet[str]:
    """From files: a kind is known when at least one of its objects is there."""
    return frozenset(k for k, v in objects.items() if v)

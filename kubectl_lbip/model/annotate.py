"""The annotate plan: the addresses to pin on a service, checked by the same rules
as every other command, and the patch that pins them (or a refusal naming every
broken rule)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ..errors import InvalidValue, Refused
from . import rules
from .addresses import sort_addresses
from .announce import rejected_config
from .checks import ANNOTATION_EXISTS, NO_FREE_ADDRESS, fixed
from .cluster import Cluster
from .patches import request_annotation_patch
from .rules import Finding, service_finding
from .services import CURRENT, LB_IPS, Service
from .suggest import suggest


@dataclass
class Plan:
    service: Service
    value: str
    patch: Optional[Dict[str, Any]]  # None: already set, nothing to write
    warnings: List[Finding] = field(default_factory=list)


def plan(
    cluster: Cluster,
    svc: Service,
    addresses: Sequence[str] = (),
    *,
    auto: bool = False,
    overwrite: bool = False,
    clear_spec_ip: bool = False,
    strict: bool = False,
) -> Plan:
    """Check the request exactly as MetalLB's controller will; refuse (errors.Refused)
    with every broken rule, or return the patch. An address that is not one is an
    InvalidValue. While MetalLB has rejected the configuration in the cluster, the
    plan says so (a warning; with ``strict`` a refusal)."""
    if not svc.is_load_balancer:
        raise Refused([rules.not_load_balancer(svc)])
    texts = list(addresses) if not auto else _auto_pick(cluster, svc)
    request = rules.valid_request(texts)
    value = ",".join(str(a) for a in sort_addresses(request.addresses))
    request = rules.make_request([value])

    findings = list(rules.check_request(cluster, svc, request).findings)
    rejected = rejected_config(cluster)
    if rejected is not None:
        findings.append(rejected.finding(strict))
    current = svc.annotations.get(CURRENT + LB_IPS)
    if svc.load_balancer_ip and not clear_spec_ip:
        findings.append(
            service_finding(
                svc,
                rules.BOTH_SPEC_AND_ANNOTATION,
                fixed(
                    rules.BOTH_SPEC_AND_ANNOTATION,
                    f"spec.loadBalancerIP is set ({svc.load_balancer_ip}); with the annotation too MetalLB "
                    "allocates nothing.",
                    "annotate",
                ),
            )
        )
    if current not in (None, "", value) and not overwrite:
        findings.append(
            service_finding(
                svc, ANNOTATION_EXISTS, fixed(ANNOTATION_EXISTS, f"{CURRENT}{LB_IPS} is already {current!r}.")
            )
        )
    errors = [f for f in findings if f.severity == rules.ERROR]
    if errors:
        raise Refused(errors)
    warnings = [f for f in findings if f.severity != rules.ERROR]
    deprecated_left = any(k.endswith("/" + LB_IPS) for k in svc.deprecated_keys())
    if current == value and not (svc.load_balancer_ip and clear_spec_ip) and not deprecated_left:
        return Plan(svc, value, None, warnings)
    return Plan(svc, value, request_annotation_patch(svc, value, clear_spec_ip), warnings)


def _auto_pick(cluster: Cluster, svc: Service) -> List[str]:
    """--auto: the first suggestion `free --for` would make."""
    family, why = svc.family(cluster.metallb)
    if family is None:
        raise InvalidValue(f"service {svc.key}: cannot tell its IP family: {why}")
    found = suggest(cluster, family, 1, svc)
    if not found.suggestions:
        raise Refused(
            [
                service_finding(
                    svc,
                    NO_FREE_ADDRESS,
                    fixed(
                        NO_FREE_ADDRESS,
                        "no free address fits this service" + "".join("; " + n for n in found.notes) + ".",
                        name=svc.name,
                        namespace=svc.namespace,
                    ),
                )
            ]
        )
    return found.suggestions[0].addresses

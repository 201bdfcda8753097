"""JSON merge patches (RFC 7386) for Services, built and applied on plain dicts.

Every patch carries the resourceVersion it was planned on: the API server then
refuses it with 409 if the service changed in between, instead of overwriting a
change nobody looked at."""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping, Optional

from .services import CURRENT, DEPRECATED, LB_IPS, Service


def service_patch(
    svc: Service, annotations: Mapping[str, Optional[str]], clear_spec_ip: bool = False
) -> Dict[str, Any]:
    """Set (value) or remove (None) annotations, optionally clearing spec.loadBalancerIP."""
    patch: Dict[str, Any] = {"metadata": {"resourceVersion": svc.resource_version, "annotations": dict(annotations)}}
    if clear_spec_ip:
        patch["spec"] = {"loadBalancerIP": None}
    return patch


def request_annotation_patch(svc: Service, value: str, clear_spec_ip: bool) -> Dict[str, Any]:
    """metallb.io/loadBalancerIPs = value; the deprecated twin goes in the same patch."""
    changes: Dict[str, Optional[str]] = {CURRENT + LB_IPS: value}
    if DEPRECATED + LB_IPS in svc.annotations:
        changes[DEPRECATED + LB_IPS] = None
    return service_patch(svc, changes, clear_spec_ip)


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 on plain data; the input is not modified. A patch's resourceVersion
    is a precondition for the server, not a change, so it is not applied."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def patched_object(obj: Dict[str, Any], patch: Dict[str, Any]) -> Dict[str, Any]:
    """The object as it would be after the patch, for offline (-f) output."""
    body = copy.deepcopy(patch)
    (body.get("metadata") or {}).pop("resourceVersion", None)
    result = apply_merge_patch(obj, body)
    meta = result.get("metadata") or {}
    if meta.get("annotations") == {}:
        del meta["annotations"]
    return result

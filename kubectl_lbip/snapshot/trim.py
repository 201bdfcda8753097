"""Only the fields the model reads, for every object a snapshot keeps: the live
path trims each page as it arrives and the file path each object as it is parsed,
so memory follows what is kept, not what was sent or written."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ..model import schema
from . import CILIUM_VERSIONS, LEGACY, MODELS, NAMESPACE, POOL, SERVICE, role_of


def trim_service(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Only what the model reads (the fields of model.services.Service); everything
    else of a Service is dropped."""
    return schema.trim(MODELS[SERVICE], obj, apiVersion="v1", kind="Service")


def trim_pool(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Only what the model reads (the fields of model.pools.Pool)."""
    return schema.trim(MODELS[POOL], obj, apiVersion=obj.get("apiVersion", "metallb.io/v1beta1"), kind="IPAddressPool")


def trim_cilium(obj: Dict[str, Any]) -> Dict[str, Any]:
    """A Cilium LB-IPAM object: only what the model reads (the fields of
    model.cilium.CiliumPool, model.cilium_explain.L2Policy)."""
    kind = obj.get("kind")
    return schema.trim(MODELS[str(kind)], obj, apiVersion=obj.get("apiVersion"), kind=kind)


def trim_namespace(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Only what the model reads (the fields of model.pools.Namespace)."""
    return schema.trim(MODELS[NAMESPACE], obj, kind="Namespace")


def trim_object(obj: Any) -> Optional[Dict[str, Any]]:
    """The trimmed object, or None for a kind no command reads."""
    role = role_of(obj)
    if role == SERVICE:
        return trim_service(obj)
    if role == POOL:
        return trim_pool(obj)
    if role == NAMESPACE:
        return trim_namespace(obj)
    if role == LEGACY:
        return obj
    if role in CILIUM_VERSIONS:
        return trim_cilium(obj)
    if role is not None:  # a kind read past allocation
        from .network import trim

        return trim(obj)
    return None

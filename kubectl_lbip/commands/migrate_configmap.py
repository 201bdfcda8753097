"""migrate --configmap: the legacy ConfigMap as IPAddressPool and advertisement manifests, to review."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import render
from ..errors import EXIT_OK, UsageError
from ..printer import Block, Raw, Result, Text
from .common import Inputs


def run_configmap(inputs: Inputs) -> Result:
    from ..model.legacy import LegacyConfigMap, convert
    from ..snapshot import LEGACY_CONFIGMAP, legacy_config

    source: Any = ""
    if inputs.offline:
        snapshot = inputs.snapshot()
        configmap = snapshot.legacy_configmap
        if configmap is None:
            raise UsageError("no legacy MetalLB ConfigMap (data.config with address-pools) in the files")
        source = snapshot.legacy_where or snapshot.source  # its errors name the file and document
    else:
        configmap = _read_configmap(inputs.client(), inputs.namespace or LEGACY_CONFIGMAP[0], LEGACY_CONFIGMAP[1])
    read = LegacyConfigMap.from_object(configmap)
    namespace = read.namespace or LEGACY_CONFIGMAP[0]
    try:
        conversion = convert(legacy_config(configmap, source), namespace)
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"ConfigMap {namespace}/{read.name}: cannot convert: {exc}") from None
    notes = [f"note: {note}" for note in conversion.notes]
    said = f"{len(conversion.objects)} object(s) printed; nothing was applied"
    header = (
        f"# Converted from ConfigMap {namespace}/{read.name} by kubectl lbip "
        "migrate --configmap. Review, then apply; nothing was applied."
    )
    data = {"apiVersion": "v1", "kind": "List", "items": conversion.objects}
    return Result(data, EXIT_OK, notes, [said], views={"table": manifests, "yaml": manifests}, answer=header)


def manifests(result: Result) -> List[Block]:
    """The objects as YAML documents to review, under a comment that says so."""
    return [Text(result.answer), Raw("---\n".join(render.dump_yaml(obj) for obj in result.data["items"]))]


def _read_configmap(client, namespace: str, name: str) -> Dict[str, Any]:
    from ..errors import ClusterError, NotFound

    try:
        return client.get_configmap(namespace, name)
    except NotFound:
        raise ClusterError(f"no legacy MetalLB ConfigMap {namespace}/{name} (use -n for another namespace)") from None

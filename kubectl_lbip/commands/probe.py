"""kubectl lbip probe NAME: does each address of a service answer on each TCP port,
from where the command runs? Snapshot -> model/probe.py's targets -> tcpprobe.py's
connects -> model/probe.py's report -> a Result for the printer."""

from __future__ import annotations

from typing import List, Optional

from .. import tcpprobe
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import probe
from ..model.rules import FAMILY_WORDS, not_load_balancer
from ..model.services import Service
from ..printer import Block, Result, Table
from .common import Inputs


def run(
    inputs: Inputs,
    name: str,
    timeout: float,
    connect_timeout: float,
    connect: Optional[tcpprobe.Connect] = None,
    image: Optional[str] = None,
) -> Result:
    """``image``: probe from a pod of that image in the service's namespace
    (--from-cluster), instead of from here."""
    if image is not None and inputs.offline:
        raise UsageError("--from-cluster runs a pod in the cluster: not with -f (without --against-cluster)")
    if image is not None and not image.strip():
        raise UsageError("--image must name an image")
    namespace = inputs.default_namespace()
    cluster = inputs.snapshot().take_cluster()
    svc = cluster.service(namespace, name)
    if svc is None:
        raise UsageError(f'services "{name}" not found in namespace "{namespace}"')
    if not svc.is_load_balancer:
        raise UsageError(not_load_balancer(svc).message)
    answer = probed(inputs, svc, timeout, connect_timeout, connect, image)
    code = EXIT_OK if answer["answered"] else EXIT_NEGATIVE
    return Result(answer, code, after=[probe.summary(answer)], views={"table": table})


def probed(
    inputs: Inputs,
    svc: Service,
    timeout: float,
    connect_timeout: float,
    connect: Optional[tcpprobe.Connect] = None,
    image: Optional[str] = None,
) -> dict:
    """The probe's answer (model/probe.report) for a service: connects from here, or
    from a pod of ``image`` in its namespace (the pod is deleted afterwards)."""
    targets = probe.targets(svc)
    if image is not None:
        from ..clusterprobe import probe_from_pod

        attempts = probe_from_pod(inputs.client(), svc.namespace, targets, image, timeout, connect_timeout)
    else:
        said = probe.connecting(svc, targets)
        if inputs.filenames and said:  # a file may hold addresses on any network: say where, first
            inputs.say.note(said)
        attempts = tcpprobe.probe_all(targets, timeout, connect_timeout, connect or tcpprobe.connect)
    return probe.report(svc, list(zip(targets, attempts)))


def table(result: Result) -> List[Block]:
    if not result.data["results"]:
        return []
    return [Table(rows(result.data), ["address", "family", "port", "result", "time", "detail"])]


def rows(answer: dict) -> List[List[str]]:
    return [
        [
            r["address"],
            FAMILY_WORDS[r["family"]],
            f"{r['protocol']}/{r['port']}",
            r["result"],
            "-" if r["milliseconds"] is None else f"{r['milliseconds']}ms",
            r["detail"] or "-",
        ]
        for r in answer["results"]
    ]

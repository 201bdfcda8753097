"""migrate --to metallb: the way back from Cilium LB-IPAM, its pools and
announcement policies as MetalLB objects, with the plan that proves no address
moves (model/tometallb.py). The views and the files' rewrite are migrate --to
cilium's (commands/migrate_cilium.py), read the other way.

Live: the MetalLB objects on stdout, the plan and the cut-over steps (kubectl
commands) on stderr; -o json|yaml the plan as data. With -f: the manifests
printed with the services' MetalLB keys, the MetalLB objects after them; or, with
--in-place, the files rewritten (comments and order kept) and the MetalLB objects
written to a new file in the folder. Exit 1 when an error-level lossy point is not
accepted with --accept. No --apply: the steps are printed, to be run one by one."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import cilium, metallb, tocilium, tometallb
from ..printer import Block, Result, Table, Text, as_notes
from ..snapshot import Snapshot
from ..snapshot.shape import CILIUM_L2_POLICY, CILIUM_POOL
from .common import Inputs
from .migrate_cilium import (
    apply_tree,
    losses_blocks,
    objects_blocks,
    objects_path,
    release,
    steps_blocks,
    validate,
    write_in_place,
)
from .outcomes import MigrateRequest

OBJECTS_FILE = "metallb-objects.yaml"


@dataclass
class ToMetalLB:
    """What the views read: the plan, the codes accepted, the cut-over, the
    releases (and how Cilium's was chosen), and the documents read (changed)."""

    plan: tocilium.Plan
    accepted: Tuple[str, ...]
    steps: List[tocilium.Step]
    chosen: str
    metallb: str
    first_step: str = ""
    documents: List[Any] = field(default_factory=list)


def run(inputs: Inputs, req: MigrateRequest) -> Result:
    req.validate(inputs)
    flagged, accepted = validate(inputs, req, "metallb", applies=False)
    if inputs.offline:
        return _run_files(inputs, req, flagged, accepted)
    return _run_live(inputs, flagged, accepted)


def _plan(inputs: Inputs, snap: Snapshot, flagged: Optional[cilium.Version]):
    cluster = snap.to_cluster()
    flagged_metallb = inputs.flagged_release()
    cluster.metallb = flagged_metallb.version if flagged_metallb is not None else metallb.NEWEST
    pools = snap.cilium_objects.get(CILIUM_POOL, [])
    if not pools:
        where = (
            "in the files: give the Cilium pools' manifests with -f as well" if inputs.offline else "on this cluster"
        )
        raise UsageError(f"no CiliumLoadBalancerIPPool {where}; nothing to move back")
    version, chosen = release(flagged, None if inputs.offline else snap.cilium_operator)
    result = tometallb.plan(cluster, pools, snap.cilium_objects.get(CILIUM_L2_POLICY, []), version)
    return cluster, result, chosen


def _operator(snap: Snapshot) -> Tuple[str, str]:
    """Cilium's operator Deployment (namespace, name): as read, else the Helm chart's."""
    if snap.cilium_operator:
        space, _, name = snap.cilium_operator[0].partition("/")
        if name:
            return space, name
    return tometallb.OPERATOR


def _result(answer: ToMetalLB, view, after: Sequence[str] = ()) -> Result:
    blocking = answer.plan.blocking(answer.accepted)
    return Result(
        data=tometallb.plan_document(answer.plan, answer.accepted, answer.steps, answer.metallb),
        code=EXIT_NEGATIVE if blocking else EXIT_OK,
        after=[*after, summary(answer)],
        views={"table": view},
        answer=answer,
    )


# --- live cluster
def _run_live(inputs: Inputs, flagged: Optional[cilium.Version], accepted: Tuple[str, ...]) -> Result:
    snap = inputs.live_snapshot(cilium=True)
    cluster, result, chosen = _plan(inputs, snap, flagged)
    steps = tometallb.cutover(result, OBJECTS_FILE, _operator(snap))
    first = f"save the objects printed on stdout as {OBJECTS_FILE}"
    answer = ToMetalLB(result, accepted, steps, chosen, metallb.text(cluster.metallb), first)
    return _result(answer, plan_then_objects)


# --- manifests
def _run_files(
    inputs: Inputs, req: MigrateRequest, flagged: Optional[cilium.Version], accepted: Tuple[str, ...]
) -> Result:
    from ..snapshot import files

    docs = files.read_documents(inputs.filenames, stdin=inputs.stdin or sys.stdin)
    snap = files.from_documents(inputs.filenames, docs)
    cluster, result, chosen = _plan(inputs, snap, flagged)
    by_key = {m.key: m for m in result.services if m.annotations}
    target = objects_path(inputs.filenames, OBJECTS_FILE) if req.in_place else OBJECTS_FILE
    steps = tometallb.cutover(result, target)
    answer = ToMetalLB(result, accepted, steps, chosen, metallb.text(cluster.metallb))
    if not req.in_place:
        for doc in docs:
            apply_tree(doc.obj, by_key)
        answer.first_step = f"save the MetalLB objects printed last as {OBJECTS_FILE}"
        answer.documents = [doc.obj for doc in docs]
        return _result(answer, plan_then_objects)
    if result.blocking(accepted):
        return _result(
            answer, plan_view, ["nothing was written: accept each error with --accept CODE, or mend it first"]
        )
    said = write_in_place(inputs, by_key, target, result.objects(), "MetalLB", req.dry_run == "client")
    return _result(answer, plan_view, said)


# --- the views
def plan_then_objects(result: Result) -> List[Block]:
    """The plan on stderr; on stdout the documents read (changed) and the MetalLB objects."""
    answer: ToMetalLB = result.answer
    return as_notes(plan_blocks(answer)) + objects_blocks(answer.documents + answer.plan.objects())


def plan_view(result: Result) -> List[Block]:
    """The plan on stdout (--in-place: the files carry the objects)."""
    return plan_blocks(result.answer)


def plan_blocks(answer: ToMetalLB) -> List[Block]:
    """Per pool and per service what it becomes and the address it keeps, every
    lossy point with its code, then the cut-over."""
    plan = answer.plan
    blocks: List[Block] = []
    pools = [[m.pool.name, m.name or "(not carried)", _addresses(m.obj), m.selects or "-"] for m in plan.pools]
    if pools:
        blocks.append(Table(pools, ["cilium pool", "metallb pool", "addresses", "selects"]))
    rows = []
    for m in plan.services:
        keeps = "yes" if m.kept else ("NO" if m.held else "-")
        if m.gained:
            keeps += (", gains " if m.kept or not m.held else ", moves to ") + ", ".join(m.gained)
        under = ", ".join(m.after) or "<none>"
        rows.append([m.service.namespace, m.service.name, m.pool or "-", ", ".join(m.held) or "<none>", under, keeps])
    if rows:
        blocks += [Text(""), Table(rows, ["namespace", "name", "pool", "holds", "under metallb", "keeps"])]
    return blocks + losses_blocks(plan, answer.accepted) + steps_blocks(answer.steps, answer.first_step)


def _addresses(obj: Optional[dict]) -> str:
    if obj is None:
        return "-"
    addresses = obj["spec"]["addresses"]
    return ", ".join(addresses[:3]) + (f" (+{len(addresses) - 3})" if len(addresses) > 3 else "")


def summary(answer: ToMetalLB) -> str:
    s = tocilium.summary(answer.plan, answer.accepted)
    return (
        f"MetalLB {answer.metallb}, from Cilium {cilium.text(answer.plan.version)} ({answer.chosen}): "
        f"{s['services']} service(s), {s['keep']} keep their addresses, {s['move']} would not, "
        f"{s['holdNothing']} hold none, {s['gain']} would gain one; {s['pools']} pool(s); "
        f"{s['errors']} error(s) not accepted"
    )


__all__ = ["run"]

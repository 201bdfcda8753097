"""migrate --to cilium: MetalLB's pools, services and advertisements as Cilium
LB-IPAM objects, with the plan that proves no address moves (model/tocilium.py).

Each returns a printer.Result: -o json|yaml print the plan as data; the table view
is, live, the Cilium objects on stdout with the plan and the cut-over steps (kubectl
commands) on stderr. With -f: the manifests printed with the services' new labels
and keys, the Cilium objects after them; or, with --in-place, the files rewritten
(comments and order kept) and the Cilium objects written to a new file in the
folder. Exit 1 when an error-level lossy point is not accepted with --accept."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .. import render
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import cilium, tocilium
from ..model.announce import BGPADV, L2ADV
from ..model.checks import BY_CODE
from ..model.migrate import service_objects
from ..model.services import Service
from ..printer import Block, Raw, Result, Table, Text, as_notes
from ..snapshot.shape import CILIUM_POOL
from .common import Inputs
from .outcomes import MigrateRequest

OBJECTS_FILE = "cilium-lb-ipam.yaml"


def validate(
    inputs: Inputs, req: MigrateRequest, target: str = "cilium", applies: bool = True
) -> Tuple[Optional[cilium.Version], Tuple[str, ...]]:
    """--cilium-version and --accept (of the codes of --to ``target``), and the
    options that do not go with --to (--apply where the move has none: ``applies``)."""
    to = f"--to {target}"
    if req.restore or req.configmap:
        raise UsageError(f"{to} does not go with --restore or --configmap")
    if req.backup and not applies:
        raise UsageError(
            f"{to} writes nothing to the cluster (its steps are printed, to be run by hand): --backup has nothing "
            "to save; keep `kubectl get services -A -o yaml` before the last step removes Cilium's keys"
        )
    if req.apply and not applies:
        raise UsageError(
            f"--apply runs the cut-over to Cilium only; {to} prints its cut-over as kubectl commands: run them "
            "step by step"
        )
    if (req.yes or req.dry_run == "server") and not req.apply:
        raise UsageError(
            f"{to} prints the cut-over as kubectl commands and writes nothing to the cluster "
            "unless --apply: --yes and --dry-run=server have nothing to do without it"
        )
    if req.apply and inputs.offline:
        raise UsageError("--apply runs the cut-over on a cluster; with -f use --in-place, then apply the files")
    if not inputs.offline and inputs.namespace_filter():
        raise UsageError(f"{to} moves the whole cluster: not with -n")
    flagged = inputs.flagged_cilium_release()
    version = flagged.version if flagged is not None else None
    codes = tuple(code for code in BY_CODE if code.startswith(f"to-{target}-"))
    accepted = tuple(c.strip() for part in req.accept for c in part.split(",") if c.strip())
    unknown = [c for c in accepted if c not in codes]
    if unknown:
        raise UsageError(f"--accept: {', '.join(unknown)} is not a code of {to} ({', '.join(codes)})")
    return version, accepted


def run(inputs: Inputs, req: MigrateRequest) -> Result:
    req.validate(inputs)
    flagged, accepted = validate(inputs, req)
    if inputs.offline:
        return _run_files(inputs, req, flagged, accepted)
    return _run_live(inputs, req, flagged, accepted)


@dataclass
class ToCilium:
    """What the views read: the plan, the codes accepted, the cut-over, and what
    goes on stdout beside the plan (the documents read, changed)."""

    plan: tocilium.Plan
    accepted: Tuple[str, ...]
    steps: List[tocilium.Step]
    chosen: str  # how the Cilium release was chosen
    first_step: str = ""
    documents: List[Any] = field(default_factory=list)


def _result(answer: ToCilium, view, after: Sequence[str] = ()) -> Result:
    blocking = answer.plan.blocking(answer.accepted)
    return Result(
        data=tocilium.plan_document(answer.plan, answer.accepted, answer.steps),
        code=EXIT_NEGATIVE if blocking else EXIT_OK,
        after=[*after, summary(answer.plan, answer.accepted, answer.chosen)],
        views={"table": view},
        answer=answer,
    )


# --- live cluster
def release(
    flagged: Optional[cilium.Version], operator: Optional[Tuple[str, str]] = None
) -> Tuple[cilium.Version, str]:
    """The Cilium release the plan is proven for, and how it was chosen: the flag,
    else the running operator's image tag, else the newest the model read."""
    if flagged is not None:
        return flagged, "--cilium-version"
    found = cilium.version_from_image(operator[1]) if operator else None
    if found is not None and operator is not None:
        return found, f"the image of deployment {operator[0]}"
    return cilium.NEWEST, "the newest the model read; --cilium-version to choose"


def _run_live(
    inputs: Inputs, req: MigrateRequest, flagged: Optional[cilium.Version], accepted: Tuple[str, ...]
) -> Result:
    snap = inputs.live_snapshot(network=(L2ADV, BGPADV), cilium=True)
    cluster = snap.to_cluster()
    version, chosen = release(flagged, snap.cilium_operator)
    operator = cilium.operator_from_config(snap.cilium_config, version)  # its settings (IPv6, ...) where read
    result = tocilium.plan(cluster, version, operator, existing=snap.cilium_objects.get(CILIUM_POOL, []))
    namespace = tocilium.metallb_namespace(cluster)
    steps = tocilium.cutover(result, namespace, OBJECTS_FILE)
    first = "" if req.apply else f"save the objects printed on stdout as {OBJECTS_FILE}"
    answer = ToCilium(result, accepted, steps, chosen, first)
    if req.apply:
        from .migrate_cilium_apply import check_apply

        check_apply(accepted, result, req.dry_run)
    if req.backup and req.dry_run == "none":
        from .restore import write_backup

        if os.path.exists(req.backup):
            raise UsageError(f"the backup {req.backup} already exists; nothing was written. Name another file")
        write_backup(req.backup, [m.service for m in result.services if m.retired], inputs.client(), inputs.say)
    if not req.apply:
        return _result(answer, plan_then_objects)
    from .migrate_cilium_apply import apply
    from .outcomes import confirm

    asking = req.dry_run == "none" and not req.yes
    inputs.say(*as_notes(plan_blocks(answer)))  # the plan, before anything is written or asked
    if asking and not confirm("Run the cut-over (steps 1 to 4) now?"):
        return Result(code=EXIT_NEGATIVE, after=["nothing was written"])
    code, said = apply(inputs.client(), result, namespace, req.dry_run, inputs.say)
    out = _result(answer, objects_only, said)  # the plan was said before the writes
    out.code = max(out.code, code)
    return out


# --- manifests
def _run_files(
    inputs: Inputs, req: MigrateRequest, flagged: Optional[cilium.Version], accepted: Tuple[str, ...]
) -> Result:
    from ..snapshot import files

    docs = files.read_documents(inputs.filenames, stdin=inputs.stdin or sys.stdin)
    snap = files.from_documents(inputs.filenames, docs)
    cluster = snap.to_cluster()
    if not cluster.pools:
        raise UsageError("no IPAddressPool in the files: give the MetalLB pools' manifests with -f as well")
    version, chosen = release(flagged)
    result = tocilium.plan(cluster, version, existing=snap.cilium_objects.get(CILIUM_POOL, []))
    by_key = {m.key: m for m in result.services if m.labels or m.annotations}
    target = objects_path(inputs.filenames, OBJECTS_FILE) if req.in_place else OBJECTS_FILE
    steps = tocilium.cutover(result, tocilium.metallb_namespace(cluster), target)
    if not req.in_place:
        for doc in docs:
            apply_tree(doc.obj, by_key)
        first = f"save the Cilium objects printed last as {OBJECTS_FILE}"
        return _result(ToCilium(result, accepted, steps, chosen, first, [doc.obj for doc in docs]), plan_then_objects)
    answer = ToCilium(result, accepted, steps, chosen)
    if result.blocking(accepted):
        return _result(
            answer, plan_view, ["nothing was written: accept each error with --accept CODE, or mend it first"]
        )
    said = write_in_place(inputs, by_key, target, result.objects(), "Cilium", req.dry_run == "client")
    return _result(answer, plan_view, said)


def objects_path(filenames: Sequence[str], objects_file: str) -> str:
    """The new file beside the manifests: in the first folder given, else in the
    first file's folder."""
    for name in filenames:
        if name != "-" and os.path.isdir(name):
            return os.path.join(name, objects_file)
    first = next((n for n in filenames if n != "-"), ".")
    return os.path.join(os.path.dirname(first) or ".", objects_file)


def apply_tree(tree: Any, by_key: Dict[str, tocilium.ServiceMapping], path: str = "") -> bool:
    """Give each Service of a document its labels and keys; on ruamel's round-trip
    tree a place shared through a YAML anchor or merge key is refused (editing it
    would change the other objects sharing it too)."""
    from .migrate_files import not_own

    changed = False
    for obj in service_objects(tree):
        mapping = by_key.get(Service.from_object(obj, keep_raw=False).key)
        if mapping is None:
            continue
        meta: Any = obj.get("metadata")
        for place, wanted in (("labels", mapping.labels), ("annotations", mapping.annotations)):
            value = meta.get(place) if hasattr(meta, "get") else None
            chain: List[Tuple[Any, str]] = [(obj, "metadata"), (meta, place), (value, "")]  # "": the node itself
            if wanted and any(hasattr(c, "get") and not_own(c, k) for c, k in chain):
                raise UsageError(
                    f"{path}: Service {mapping.key}: its metadata.{place} is shared through a YAML anchor or merge "
                    "key, so --in-place cannot add to it without changing other objects: write it out in this "
                    "object; nothing was written"
                )
        changed = tocilium.apply_to_object(obj, mapping) or changed
    return changed


def write_in_place(
    inputs: Inputs,
    by_key: Dict[str, tocilium.ServiceMapping],
    target: str,
    objects: List[Dict[str, Any]],
    implementation: str,
    dry_run: bool,
) -> List[str]:
    """Rewrite the files and write the objects' file (all or nothing); what was done, in words."""
    from ..snapshot.files import expand_paths
    from .migrate_files import create_file, replace_files, rewrite_bytes, rewrite_each

    if os.path.lexists(target):
        raise UsageError(f"{target} already exists; nothing was written. Move it away and run again")
    rewrites, originals = rewrite_each(
        expand_paths(inputs.filenames),
        lambda data, path: rewrite_bytes(data, path, lambda tree, first: apply_tree(tree, by_key, path)),
    )
    text = "".join(("---\n" if i else "") + render.dump_yaml(obj) for i, obj in enumerate(objects))
    if dry_run:
        return [f"dry run: {len(rewrites)} file(s) would be rewritten, {target} would be written"]
    try:
        create_file(target, text.encode("utf-8"))
    except FileExistsError:
        raise UsageError(f"{target} already exists; nothing was written. Move it away and run again") from None
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc}; nothing was written") from None
    said = [f"rewrote {path}" for path in replace_files(rewrites, expected=originals)]
    return said + [f"wrote {target} ({len(objects)} {implementation} object(s))"]


# --- the views
def objects_blocks(objects: List[Any]) -> List[Block]:
    blocks: List[Block] = []
    for i, obj in enumerate(objects):
        if i:
            blocks.append(Raw("---\n"))
        blocks.append(Raw(render.dump_yaml(obj)))
    return blocks


def plan_then_objects(result: Result) -> List[Block]:
    """The plan on stderr; on stdout the documents read (changed) and the Cilium objects."""
    answer: ToCilium = result.answer
    return as_notes(plan_blocks(answer)) + objects_blocks(answer.documents + answer.plan.objects())


def objects_only(result: Result) -> List[Block]:
    """--apply: the Cilium objects it created (the plan was said before it wrote)."""
    return objects_blocks(result.answer.plan.objects())


def plan_view(result: Result) -> List[Block]:
    """The plan on stdout (--in-place: the files carry the objects)."""
    return plan_blocks(result.answer)


def plan_blocks(answer: ToCilium) -> List[Block]:
    """The plan: per pool and per service what it becomes and the address it keeps,
    every lossy point with its code, then the cut-over."""
    plan, accepted = answer.plan, answer.accepted
    blocks: List[Block] = []
    pools = [[m.pool.name, m.name or "(not carried)", _blocks(m.obj), m.selects or "-"] for m in plan.pools]
    if pools:
        blocks.append(Table(pools, ["metallb pool", "cilium pool", "blocks", "selects"]))
    rows = []
    for m in plan.services:
        keeps = "yes" if m.kept else ("NO" if m.held else "-")
        if m.held and m.gained:
            keeps += (", gains " if m.kept else ", moves to ") + ", ".join(m.gained)
        under = ", ".join(m.after) or ("one of " + ", ".join(m.candidates) if m.candidates else "<none>")
        rows.append([m.service.namespace, m.service.name, m.pool or "-", ", ".join(m.held) or "<none>", under, keeps])
    if rows:
        blocks += [Text(""), Table(rows, ["namespace", "name", "pool", "holds", "under cilium", "keeps"])]
    return blocks + losses_blocks(plan, accepted) + steps_blocks(answer.steps, answer.first_step)


def losses_blocks(plan: tocilium.Plan, accepted: Sequence[str]) -> List[Block]:
    """Every lossy point, with its code; "accepted" where --accept names it."""
    losses = plan.all_losses()
    blocks: List[Block] = [Text("")] if losses else []
    for loss in losses:
        level = "accepted" if loss.code in accepted else loss.severity
        blocks.append(Text(f"{level}: [{loss.code}] {loss.subject}: {loss.message}"))
    return blocks


def _blocks(obj: Optional[Dict[str, Any]]) -> str:
    if obj is None:
        return "-"
    blocks = obj["spec"]["blocks"]
    text = [b.get("cidr") or f"{b['start']}-{b['stop']}" for b in blocks[:3]]
    return ", ".join(text) + (f" (+{len(blocks) - 3})" if len(blocks) > 3 else "")


def steps_blocks(steps: Sequence[tocilium.Step], first: str = "") -> List[Block]:
    lines = ["", "Cut-over (never two controllers on one service):"]
    n = 0
    if first:
        n += 1
        lines.append(f"{n}. {first}")
    for step in steps:
        if not step.commands:
            continue
        n += 1
        lines.append(f"{n}. {step.title}")
        lines += [f"   {command}" for command in step.commands]
    return [Text(line) for line in lines]


def summary(plan: tocilium.Plan, accepted: Sequence[str], chosen: str) -> str:
    s = tocilium.summary(plan, accepted)
    return (
        f"Cilium {cilium.text(plan.version)} ({chosen}): {s['services']} service(s), {s['keep']} keep their addresses, "
        f"{s['move']} would not, {s['holdNothing']} hold none, {s['gain']} would gain one; {s['pools']} pool(s); "
        f"{s['errors']} error(s) not accepted"
    )


__all__ = ["run"]

"""migrate --to cilium: MetalLB's pools, services and advertisements as Cilium
LB-IPAM objects, with the plan that proves no address moves (model/tocilium.py).

Live: the Cilium objects on stdout, the plan and the cut-over steps (kubectl
commands) on stderr. With -f: the manifests printed with the services' new labels
and keys, the Cilium objects after them; or, with --in-place, the files rewritten
(comments and order kept) and the Cilium objects written to a new file in the
folder. Exit 1 when an error-level lossy point is not accepted with --accept."""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .. import render
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import cilium, tocilium
from ..model.announce import BGPADV, L2ADV
from ..model.checks import BY_CODE
from ..model.migrate import service_objects
from ..model.services import Service
from .common import Inputs
from .outcomes import MigrateRequest

OBJECTS_FILE = "cilium-lb-ipam.yaml"
CODES = tuple(code for code in BY_CODE if code.startswith("to-cilium-"))


def validate(inputs: Inputs, req: MigrateRequest) -> Tuple[cilium.Version, Tuple[str, ...]]:
    """--cilium-version and --accept, and the options that do not go with --to cilium."""
    if req.restore or req.configmap:
        raise UsageError("--to cilium does not go with --restore or --configmap")
    if (req.yes or req.dry_run == "server") and not req.apply:
        raise UsageError(
            "--to cilium prints the cut-over as kubectl commands and writes nothing to the cluster "
            "unless --apply: --yes and --dry-run=server have nothing to do without it"
        )
    if req.apply and inputs.offline:
        raise UsageError("--apply runs the cut-over on a cluster; with -f use --in-place, then apply the files")
    if not inputs.offline and inputs.namespace_filter():
        raise UsageError("--to cilium moves the whole cluster: not with -n")
    version = cilium.NEWEST
    if req.cilium_version:
        try:
            version = cilium.parse(req.cilium_version)
        except cilium.VersionError as exc:
            raise UsageError(f"--cilium-version: {exc}") from None
    accepted = tuple(c.strip() for part in req.accept for c in part.split(",") if c.strip())
    unknown = [c for c in accepted if c not in CODES]
    if unknown:
        raise UsageError(f"--accept: {', '.join(unknown)} is not a code of --to cilium ({', '.join(CODES)})")
    return version, accepted


def run(inputs: Inputs, req: MigrateRequest) -> int:
    req.validate(inputs)
    version, accepted = validate(inputs, req)
    if inputs.offline:
        return _run_files(inputs, req, version, accepted)
    return _run_live(inputs, req, version, accepted)


# --- live cluster
def _run_live(inputs: Inputs, req: MigrateRequest, version: cilium.Version, accepted: Tuple[str, ...]) -> int:
    snap = inputs.snapshot(network=(L2ADV, BGPADV))
    cluster = snap.to_cluster()
    result = tocilium.plan(cluster, version)
    namespace = tocilium.metallb_namespace(cluster)
    steps = tocilium.cutover(result, namespace, OBJECTS_FILE)
    if req.apply:
        from .migrate_cilium_apply import check_apply

        check_apply(accepted, result, req.dry_run)
    if req.backup and req.dry_run == "none":
        from .restore import write_backup

        if os.path.exists(req.backup):
            raise UsageError(f"the backup {req.backup} already exists; nothing was written. Name another file")
        write_backup(req.backup, [m.service for m in result.services if m.retired], inputs.client())
    if inputs.output in ("json", "yaml"):
        render.emit(tocilium.plan_document(result, accepted, steps), inputs.output)
    else:
        show(result, accepted, render.note)
        show_steps(steps, render.note, "" if req.apply else f"save the objects printed on stdout as {OBJECTS_FILE}")
        _print_objects(result.objects())
    code = finish(result, accepted)
    if not req.apply:
        return code
    from .migrate_cilium_apply import apply
    from .outcomes import confirm

    if req.dry_run == "none" and not req.yes and not confirm("Run the cut-over (steps 1 to 4) now?"):
        render.note("nothing was written")
        return EXIT_NEGATIVE
    return apply(inputs.client(), cluster, result, namespace, req.dry_run)


# --- manifests
def _run_files(inputs: Inputs, req: MigrateRequest, version: cilium.Version, accepted: Tuple[str, ...]) -> int:
    from ..snapshot import files

    docs = files.read_documents(inputs.filenames, stdin=inputs.stdin or sys.stdin)
    snap = files.load(inputs.filenames, documents=docs)
    cluster = snap.to_cluster()
    if not cluster.pools:
        raise UsageError("no IPAddressPool in the files: give the MetalLB pools' manifests with -f as well")
    result = tocilium.plan(cluster, version)
    by_key = {m.key: m for m in result.services if m.labels or m.annotations}
    target = _objects_path(inputs.filenames) if req.in_place else OBJECTS_FILE
    steps = tocilium.cutover(result, tocilium.metallb_namespace(cluster), target)
    data = inputs.output in ("json", "yaml")
    if data:
        render.emit(tocilium.plan_document(result, accepted, steps), inputs.output)
    if not req.in_place:
        if not data:
            show(result, accepted, render.note)
            show_steps(steps, render.note, f"save the Cilium objects printed last as {OBJECTS_FILE}")
            changed = [doc.obj for doc in docs]
            for obj in changed:
                _apply_tree(obj, by_key)
            _print_objects(changed + result.objects())
        return finish(result, accepted)
    if not data:
        show(result, accepted, render.out)
        show_steps(steps, render.out)
    blocking = result.blocking(accepted)
    if blocking:
        render.note("nothing was written: accept each error with --accept CODE, or mend it first")
        return finish(result, accepted)
    _write_in_place(inputs, by_key, target, result, req.dry_run == "client")
    return finish(result, accepted)


def _objects_path(filenames: Sequence[str]) -> str:
    """The new file beside the manifests: in the first folder given, else in the
    first file's folder."""
    for name in filenames:
        if name != "-" and os.path.isdir(name):
            return os.path.join(name, OBJECTS_FILE)
    first = next((n for n in filenames if n != "-"), ".")
    return os.path.join(os.path.dirname(first) or ".", OBJECTS_FILE)


def _apply_tree(tree: Any, by_key: Dict[str, tocilium.ServiceMapping], path: str = "") -> bool:
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


def _write_in_place(
    inputs: Inputs, by_key: Dict[str, tocilium.ServiceMapping], target: str, result: tocilium.Plan, dry_run: bool
) -> None:
    from ..snapshot.files import expand_paths
    from .migrate_files import create_file, replace_files, rewrite_bytes, rewrite_each

    if os.path.lexists(target):
        raise UsageError(f"{target} already exists; nothing was written. Move it away and run again")
    rewrites, originals = rewrite_each(
        expand_paths(inputs.filenames),
        lambda data, path: rewrite_bytes(data, path, lambda tree, first: _apply_tree(tree, by_key, path)),
    )
    text = "".join(("---\n" if i else "") + render.dump_yaml(obj) for i, obj in enumerate(result.objects()))
    if dry_run:
        render.note(f"dry run: {len(rewrites)} file(s) would be rewritten, {target} would be written")
        return
    try:
        create_file(target, text.encode("utf-8"))
    except FileExistsError:
        raise UsageError(f"{target} already exists; nothing was written. Move it away and run again") from None
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc}; nothing was written") from None
    for path in replace_files(rewrites, expected=originals):
        render.note(f"rewrote {path}")
    render.note(f"wrote {target} ({len(result.objects())} Cilium object(s))")


# --- printing
def _print_objects(objects: List[Any]) -> None:
    for i, obj in enumerate(objects):
        if i:
            sys.stdout.write("---\n")
        sys.stdout.write(render.dump_yaml(obj))


def show(result: tocilium.Plan, accepted: Sequence[str], write=render.out) -> None:
    """The plan: per pool and per service what it becomes and the address it keeps,
    then every lossy point with its code."""
    pools = [[m.pool.name, m.name or "(not carried)", _blocks(m.obj), m.selects or "-"] for m in result.pools]
    if pools:
        write(render.table(pools, ["metallb pool", "cilium pool", "blocks", "selects"]))
    rows = []
    for m in result.services:
        keeps = "yes" if m.kept else ("NO" if m.held else "-")
        if m.held and m.gained:
            keeps += (", gains " if m.kept else ", moves to ") + ", ".join(m.gained)
        under = ", ".join(m.cilium) or ("one of " + ", ".join(m.candidates) if m.candidates else "<none>")
        rows.append([m.service.namespace, m.service.name, m.pool or "-", ", ".join(m.held) or "<none>", under, keeps])
    if rows:
        write("")
        write(render.table(rows, ["namespace", "name", "pool", "holds", "under cilium", "keeps"]))
    losses = result.all_losses()
    if losses:
        write("")
    for loss in losses:
        level = "accepted" if loss.code in accepted else loss.severity
        write(f"{level}: [{loss.code}] {loss.subject}: {loss.message}")


def _blocks(obj: Optional[Dict[str, Any]]) -> str:
    if obj is None:
        return "-"
    blocks = obj["spec"]["blocks"]
    text = [b.get("cidr") or f"{b['start']}-{b['stop']}" for b in blocks[:3]]
    return ", ".join(text) + (f" (+{len(blocks) - 3})" if len(blocks) > 3 else "")


def show_steps(steps: Sequence[tocilium.Step], write=render.out, first: str = "") -> None:
    write("\nCut-over (never two controllers on one service):")
    n = 0
    if first:
        n += 1
        write(f"{n}. {first}")
    for step in steps:
        if not step.commands:
            continue
        n += 1
        write(f"{n}. {step.title}")
        for command in step.commands:
            write(f"   {command}")


def finish(result: tocilium.Plan, accepted: Sequence[str]) -> int:
    s = tocilium.summary(result, accepted)
    render.note(
        f"Cilium {cilium.text(result.version)}: {s['services']} service(s), {s['keep']} keep their addresses, "
        f"{s['move']} would not, {s['holdNothing']} hold none, {s['gain']} would gain one; {s['pools']} pool(s); "
        f"{s['errors']} error(s) not accepted"
    )
    return EXIT_NEGATIVE if s["errors"] else EXIT_OK


__all__ = ["run"]

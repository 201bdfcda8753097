"""migrate --backup/--restore: what a migration touches, written down before it, and put back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List

from .. import render
from ..errors import EXIT_CLUSTER, EXIT_NEGATIVE, EXIT_OK, LbipError, UsageError
from ..model.migrate import RestoreChange, backup_document, parse_backup, restore_changes, restore_patch
from ..model.services import Service
from .common import Inputs
from .migrate import FAILED, PLANNED, RESTORED, SKIPPED, MigrateRequest, Progress, _confirm
from .writes import attempt_write



def write_backup(path: str, services: List[Service]) -> None:
    try:  # "x": never over an older backup, even one made since the check
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(render.dump_json(backup_document(services)) + "\n")
    except FileExistsError:
        raise UsageError(f"the backup {path} already exists; nothing was changed. Name another "
                         "file") from None
    except OSError as exc:
        raise UsageError(f"cannot write the backup {path}: {exc}; nothing was changed") from None
    render.note(f"backup of {len(services)} service(s) written to {path}")


# --- restore
@dataclass
class Restoring:
    entry: Dict[str, Any]
    changes: List[RestoreChange]
    status: str = PLANNED
    error: str = ""
    denied: bool = False  # a 401/403: the identity lacks a permission

    @property
    def key(self) -> str:
        return f"{self.entry['namespace']}/{self.entry['name']}"


def _read_backup(path: str) -> List[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as fh:
            return parse_backup(json.load(fh))
    except OSError as exc:
        raise UsageError(f"cannot read the backup {path}: {exc}") from None
    except ValueError as exc:  # JSONDecodeError too
        raise UsageError(f"{path}: {exc}") from None


def _current(client, entry: Dict[str, Any]) -> Service:
    return Service.from_object(client.get_service(entry["namespace"], entry["name"]))


def _run_restore(inputs: Inputs, req: MigrateRequest) -> int:
    entries = _read_backup(req.restore)  # type: ignore[arg-type]
    namespace = inputs.namespace_filter()
    client = inputs.client()
    items = []
    for entry in entries:
        if namespace and entry["namespace"] != namespace:
            continue
        item = Restoring(entry, [])
        try:
            item.changes = restore_changes(entry, _current(client, entry))
        except LbipError as exc:
            item.status, item.error = FAILED, str(exc)
        items.append(item)
    for item in items:
        if item.status == PLANNED and not item.changes:
            item.status = SKIPPED
    pending = [i for i in items if i.status == PLANNED]
    asking = bool(pending) and req.dry_run == "none" and not req.yes
    rows = [[*item.key.split("/", 1), c.place, render.optional(c.now), render.optional(c.restored)]
            for item in items for c in item.changes]
    if rows and (inputs.output == "table" or asking):
        write = render.out if inputs.output == "table" else render.note
        write(render.table(rows, ["namespace", "name", "field", "now", "restored"]))
    if pending and req.dry_run != "client":
        if asking and not _confirm(f"Restore {len(pending)} service(s)?"):
            render.note("nothing was written")
            return EXIT_NEGATIVE
        progress = Progress(len(pending), "restoring")
        for done, item in enumerate(pending, start=1):
            _restore_one(client, item, req.dry_run == "server")
            progress.step(done)
        progress.close()
    return _finish_restore(items, inputs, req.dry_run)


def _restore_one(client, item: Restoring, server_dry_run: bool) -> None:
    """Each attempt reads the service just before, so the patch carries its current
    resourceVersion; a 409 reads it again."""
    namespace, name = item.entry["namespace"], item.entry["name"]

    def plan(reread: bool):
        current = _current(client, item.entry)
        item.changes = restore_changes(item.entry, current)
        return restore_patch(current, item.changes)

    def send(patch):
        client.patch_service(namespace, name, patch, dry_run=server_dry_run)

    attempt = attempt_write(plan, send, f"service {item.key}")
    if attempt.error:
        item.status, item.error, item.denied = FAILED, attempt.error, attempt.denied
        return
    item.status = RESTORED if attempt.sent is not None else SKIPPED


def _finish_restore(items: List[Restoring], inputs: Inputs, dry_run: str) -> int:
    summary = {"restored": sum(i.status in (RESTORED, PLANNED) for i in items),
               "skipped": sum(i.status == SKIPPED for i in items),
               "failed": sum(i.status == FAILED for i in items)}
    if inputs.output in ("json", "yaml"):
        doc = {"dryRun": dry_run, "restore": [
            {"namespace": i.entry["namespace"], "name": i.entry["name"],
             "changes": [c.to_dict() for c in i.changes], "status": i.status,
             **({"error": i.error} if i.error else {})} for i in items], "summary": summary}
        render.emit(doc, inputs.output)
    for item in items:
        if item.status == FAILED:
            render.note(f"error: {item.key}: {item.error}")
    done = {"client": "would be restored (dry run: nothing written)",
            "server": "restored (server dry run: nothing persisted)"}.get(dry_run, "restored")
    render.note(f"{summary['restored']} {done}, {summary['skipped']} already as backed up, "
                f"{summary['failed']} failed")
    if any(i.denied for i in items):
        return EXIT_CLUSTER
    return EXIT_NEGATIVE if summary["failed"] else EXIT_OK

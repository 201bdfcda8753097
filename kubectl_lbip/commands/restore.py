"""migrate --backup/--restore: what a migration touches, written down before it, and put back.

A backup is a file people pass around and edit, so --restore trusts nothing in
it: every entry is validated before anything is written (model.migrate.parse_backup),
names reach URLs percent-encoded, and a backup made on another cluster (another
API server) is refused unless --force says so."""

from __future__ import annotations

import json
from typing import Any, Dict, List

from .. import render
from ..errors import BackupError, InvalidValue, LbipError, UsageError
from ..model.migrate import Backup, backup_document, parse_backup, restore_changes, restore_patch
from ..model.services import Service
from ..printer import Result, Say
from .common import Inputs
from .outcomes import (
    FAILED,
    PLANNED,
    RESTORED,
    SKIPPED,
    MigrateRequest,
    Restoring,
    confirm,
    declined,
    finish_restore,
    restore_plan_blocks,
    write_each,
)
from .writes import attempt_write

__all__ = ["write_backup", "run_restore"]


def write_backup(path: str, services: List[Service], client: Any, say: Say) -> None:
    """The backup, naming the cluster (server and context) it is made on."""
    document = backup_document(
        services, str(getattr(client, "server", "") or ""), str(getattr(client, "context", "") or "")
    )
    from .migrate_files import create_file

    try:  # whole or not at all, and never over an older backup, even one made since the check
        create_file(path, (render.dump_json(document) + "\n").encode("utf-8"))
    except FileExistsError:
        raise UsageError(f"the backup {path} already exists; nothing was changed. Name another file") from None
    except OSError as exc:
        raise UsageError(f"cannot write the backup {path}: {exc}; nothing was changed") from None
    say.note(f"backup of {len(services)} service(s) written to {path}")


def read_backup(path: str) -> Backup:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read the backup {path}: {exc}") from None
    except RecursionError:
        raise BackupError(f"{path}: nested too deeply; nothing was written") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise BackupError(f"{path}: not JSON: {exc}; nothing was written") from None
    try:
        return parse_backup(data)
    except InvalidValue as exc:
        raise BackupError(f"{path}: {exc}; the backup is refused, nothing was written") from None


def _same_cluster(backup: Backup, client: Any, path: str, force: bool) -> List[str]:
    """Refuses a backup of another cluster (unless --force); the notes to say."""
    server = str(getattr(client, "server", "") or "")
    context = str(getattr(client, "context", "") or "")
    if not backup.server:
        if force:
            return []
        raise BackupError(
            f"{path} does not say which cluster it was made on (an older backup); "
            "nothing was written. Add --force if it is this cluster's"
        )
    if backup.server != server:
        if force:
            return [
                f"note: {path} was made on {backup.server} (context {backup.context}); "
                f"restoring it on {server} as --force says"
            ]
        raise BackupError(
            f"{path} was made on the cluster at {backup.server} (context "
            f"{backup.context}), not on this one ({server}, context {context}); "
            "nothing was written. Add --force to restore it here anyway"
        )
    if backup.context and backup.context != context:
        return [f"note: {path} was made with context {backup.context}; the server is the same"]
    return []


def _current(client, entry: Dict[str, Any]) -> Service:
    return Service.from_object(client.get_service(entry["namespace"], entry["name"]))


def run_restore(inputs: Inputs, req: MigrateRequest) -> Result:
    assert req.restore is not None
    backup = read_backup(req.restore)
    namespace = inputs.namespace_filter()
    client = inputs.client()
    say = inputs.say
    for text in _same_cluster(backup, client, req.restore, req.force):
        say.note(text)
    items = []
    for entry in backup.entries:
        if namespace and entry["namespace"] != namespace:
            continue
        item = Restoring(entry=entry)
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
    say.plan(restore_plan_blocks(items), asking)
    completed = True
    if pending and req.dry_run != "client":
        if asking and not confirm(f"Restore {len(pending)} service(s)?"):
            return declined()
        completed = write_each(
            pending, lambda i: _restore_one(client, i, req.dry_run == "server", say), "restoring", say
        )
    return finish_restore(items, req.dry_run, completed)


def _restore_one(client, item: Restoring, server_dry_run: bool, say: Say) -> None:
    """Each attempt reads the service just before, so the patch carries its current
    resourceVersion; a 409 reads it again."""
    namespace, name = item.entry["namespace"], item.entry["name"]

    def plan(reread: bool):
        current = _current(client, item.entry)
        item.changes = restore_changes(item.entry, current)
        return restore_patch(current, item.changes)

    def send(patch):
        client.patch_service(namespace, name, patch, dry_run=server_dry_run)

    attempt = attempt_write(plan, send, f"service {item.key}", say)
    if attempt.error:
        item.status, item.error, item.denied = FAILED, attempt.error, attempt.denied
        return
    item.status = RESTORED if attempt.sent is not None else SKIPPED

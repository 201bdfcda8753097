"""kubectl lbip migrate: deprecated MetalLB annotations and spec.loadBalancerIP to
metallb.io/*, on a live cluster (one patch per service, with its resourceVersion)
or on manifests (-f, printed or rewritten in place); --restore puts a --backup
back; --configmap converts the legacy ConfigMap into manifests to review."""

from __future__ import annotations

import os

from ..errors import UsageError
from ..model.migrate import plan_all, plan_service
from ..model.services import Service
from ..printer import Result, Say
from .common import Inputs, empty_namespace_note
from .outcomes import (
    CONFLICT,
    FAILED,
    MIGRATED,
    PLANNED,
    SKIPPED,
    MigrateRequest,
    Outcome,
    confirm,
    declined,
    finish_migrate,
    initial,
    nothing_to_do,
    plan_blocks,
    plan_warnings,
    write_each,
)
from .writes import attempt_write

__all__ = ["MigrateRequest", "run"]


def run(inputs: Inputs, req: MigrateRequest) -> Result:
    if req.to:
        return _moves()[req.to](inputs, req)
    req.validate(inputs)
    if req.configmap:
        from .migrate_configmap import run_configmap

        return run_configmap(inputs)
    if req.restore:
        from .restore import run_restore

        return run_restore(inputs, req)
    if inputs.offline:
        from .migrate_files import run_files

        return run_files(inputs, req)
    return _run_live(inputs, req)


def _moves():
    """--to: each implementation's move, by the name --to takes."""
    from . import migrate_cilium, migrate_metallb

    return {"cilium": migrate_cilium.run, "metallb": migrate_metallb.run}


# --- live cluster
def _run_live(inputs: Inputs, req: MigrateRequest) -> Result:
    client = inputs.client()
    cluster = inputs.snapshot().to_cluster()  # the same client, --metallb-version applied
    namespace = inputs.namespace_filter()
    services = [s for s in cluster.services if namespace is None or s.namespace == namespace]
    outcomes = initial(plan_all(cluster, services))
    notes = [msg] if (msg := empty_namespace_note(cluster, namespace)) else []
    notes += nothing_to_do(outcomes, namespace)
    if not outcomes:
        return finish_migrate(outcomes, req.dry_run, notes=notes)
    say = inputs.say
    for text in notes:  # said before the plan, which is shown as it is made
        say.note(text)
    pending = [o for o in outcomes if o.status == PLANNED]
    asking = bool(pending) and req.dry_run == "none" and not req.yes
    say.plan(plan_blocks(outcomes) + plan_warnings(outcomes), asking)  # nobody confirms a plan they did not see
    if req.backup and req.dry_run != "none":
        say.note(f"note: a dry run changes nothing, so no backup is written to {req.backup}")
    elif req.backup and os.path.exists(req.backup):  # before asking, not after
        raise UsageError(
            f"the backup {req.backup} already exists; nothing was changed. Name "
            "another file (a second run would lose what the first saved)"
        )
    if req.dry_run == "client" or not pending:
        return finish_migrate(outcomes, req.dry_run)
    if asking and not confirm(f"Migrate {len(pending)} service(s)?"):
        return declined()
    if req.backup and req.dry_run == "none":
        from .restore import write_backup

        write_backup(req.backup, [o.plan.service for o in pending], client, say)
    completed = write_each(pending, lambda o: _migrate_one(client, o, req.dry_run == "server", say), "migrating", say)
    return finish_migrate(outcomes, req.dry_run, completed)


def _migrate_one(client, outcome: Outcome, server_dry_run: bool, say: Say) -> None:
    """One patch; after a 409 the service is read again and planned again, so a
    change made meanwhile is seen (and may now be a conflict), never overwritten."""
    svc = outcome.plan.service

    def plan(reread: bool):
        if reread:
            fresh = plan_service(Service.from_object(client.get_service(svc.namespace, svc.name)))
            fresh.warnings = outcome.plan.warnings
            outcome.plan = fresh
        return outcome.plan.patch()

    def send(patch):
        client.patch_service(svc.namespace, svc.name, patch, dry_run=server_dry_run)

    attempt = attempt_write(plan, send, f"service {svc.key}", say)
    if attempt.error:
        outcome.status, outcome.error, outcome.denied = FAILED, attempt.error, attempt.denied
        return
    if attempt.sent is not None:
        outcome.status = MIGRATED
    else:
        outcome.status = CONFLICT if outcome.plan.conflicts else SKIPPED

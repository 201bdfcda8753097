"""kubectl lbip migrate: deprecated MetalLB annotations and spec.loadBalancerIP to
metallb.io/*, on a live cluster (one patch per service, with its resourceVersion)
or on manifests (-f, printed or rewritten in place); --restore puts a --backup
back; --configmap converts the legacy ConfigMap into manifests to review."""

from __future__ import annotations

import os

from .. import render
from ..errors import EXIT_NEGATIVE, UsageError
from ..model.migrate import plan_all, plan_service
from ..model.services import Service
from .common import Inputs, note_empty_namespace
from .outcomes import (
    CONFLICT,
    FAILED,
    MIGRATED,
    PLANNED,
    SKIPPED,
    MigrateRequest,
    Outcome,
    confirm,
    finish_migrate,
    initial,
    nothing_to_do,
    show_plan,
    write_each,
)
from .writes import attempt_write

__all__ = ["MigrateRequest", "run"]


def run(inputs: Inputs, req: MigrateRequest) -> int:
    if req.to:
        from .migrate_cilium import run as run_to_cilium

        return run_to_cilium(inputs, req)
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


# --- live cluster
def _run_live(inputs: Inputs, req: MigrateRequest) -> int:
    client = inputs.client()
    cluster = inputs.snapshot().to_cluster()  # the same client, --metallb-version applied
    namespace = inputs.namespace_filter()
    services = [s for s in cluster.services if namespace is None or s.namespace == namespace]
    outcomes = initial(plan_all(cluster, services))
    note_empty_namespace(cluster, namespace)
    if nothing_to_do(outcomes, namespace):
        return finish_migrate(outcomes, inputs.output, req.dry_run)
    pending = [o for o in outcomes if o.status == PLANNED]
    asking = bool(pending) and req.dry_run == "none" and not req.yes
    if inputs.output == "table" or asking:  # nobody confirms a plan they did not see
        show_plan(outcomes, write=render.out if inputs.output == "table" else render.note)
    if req.backup and req.dry_run != "none":
        render.note(f"note: a dry run changes nothing, so no backup is written to {req.backup}")
    elif req.backup and os.path.exists(req.backup):  # before asking, not after
        raise UsageError(
            f"the backup {req.backup} already exists; nothing was changed. Name "
            "another file (a second run would lose what the first saved)"
        )
    if req.dry_run == "client" or not pending:
        return finish_migrate(outcomes, inputs.output, req.dry_run)
    if asking and not confirm(f"Migrate {len(pending)} service(s)?"):
        render.note("nothing was written")
        return EXIT_NEGATIVE
    if req.backup and req.dry_run == "none":
        from .restore import write_backup

        write_backup(req.backup, [o.plan.service for o in pending], client)
    completed = write_each(pending, lambda o: _migrate_one(client, o, req.dry_run == "server"), "migrating")
    return finish_migrate(outcomes, inputs.output, req.dry_run, completed)


def _migrate_one(client, outcome: Outcome, server_dry_run: bool) -> None:
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

    attempt = attempt_write(plan, send, f"service {svc.key}")
    if attempt.error:
        outcome.status, outcome.error, outcome.denied = FAILED, attempt.error, attempt.denied
        return
    if attempt.sent is not None:
        outcome.status = MIGRATED
    else:
        outcome.status = CONFLICT if outcome.plan.conflicts else SKIPPED

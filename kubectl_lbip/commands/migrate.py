"""kubectl lbip migrate: deprecated MetalLB annotations and spec.loadBalancerIP to
metallb.io/*, on a live cluster (one patch per service, with its resourceVersion)
or on manifests (-f, printed or rewritten in place); --restore puts a --backup
back; --configmap converts the legacy ConfigMap into manifests to review."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .. import render
from ..errors import EXIT_CLUSTER, EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model.migrate import ServicePlan, plan_all, plan_service
from ..model.services import Service
from .common import Inputs
from .writes import attempt_write, check_dry_run

FORMATS = ("table", "json", "yaml")
PROGRESS_THRESHOLD = 20  # fewer services finish before a counter would help

PLANNED = "planned"  # not written: a client dry run, or before the writes
MIGRATED = "migrated"
RESTORED = "restored"
SKIPPED = "skipped"  # nothing left to change when it was written (already done)
CONFLICT = "conflict"
FAILED = "failed"


@dataclass
class MigrateRequest:
    yes: bool = False
    dry_run: str = "none"
    backup: Optional[str] = None
    restore: Optional[str] = None
    in_place: bool = False
    configmap: bool = False


@dataclass
class Outcome:
    plan: ServicePlan
    status: str
    error: str = ""
    denied: bool = False  # a 401/403: the identity lacks a permission


def run(inputs: Inputs, req: MigrateRequest) -> int:
    inputs.check_output(FORMATS)
    check_dry_run(req.dry_run)
    _check_options(inputs, req)
    if req.configmap:
        from .migrate_configmap import _run_configmap
        return _run_configmap(inputs)
    if req.restore:
        from .restore import _run_restore
        return _run_restore(inputs, req)
    if inputs.offline:
        from .migrate_files import _run_files
        return _run_files(inputs, req)
    return _run_live(inputs, req)


def _check_options(inputs: Inputs, req: MigrateRequest) -> None:
    if req.configmap and (req.backup or req.restore or req.in_place):
        raise UsageError("--configmap only prints manifests: not with --backup, --restore or --in-place")
    if req.backup and req.restore:
        raise UsageError("--backup and --restore do not go together")
    if inputs.offline and (req.backup or req.restore):
        raise UsageError("--backup and --restore are for a cluster; with -f the files are the "
                         "backup (keep them in version control)")
    if inputs.offline and req.dry_run == "server" and not req.configmap:
        raise UsageError("--dry-run=server needs a cluster; with -f use --dry-run=client")
    if req.in_place and not inputs.offline:
        raise UsageError("--in-place rewrites the files given with -f")
    if req.in_place and "-" in inputs.filenames:
        raise UsageError("--in-place cannot rewrite standard input")


# --- the plan, as a table or as data
def _document(outcomes: List[Outcome], dry_run: str) -> Dict[str, Any]:
    def entry(o: Outcome) -> Dict[str, Any]:
        changes = [] if o.plan.conflicts else [c.to_dict() for c in o.plan.changes]
        item = {"namespace": o.plan.service.namespace, "name": o.plan.service.name,
                "changes": changes, "status": o.status}
        if o.error:
            item["error"] = o.error
        return item

    return {"dryRun": dry_run,
            "plan": [entry(o) for o in outcomes],
            "conflicts": [c.to_dict() for o in outcomes for c in o.plan.conflicts],
            "warnings": [w.to_dict() for o in outcomes for w in o.plan.warnings],
            "summary": _summary(outcomes)}


def _summary(outcomes: List[Outcome]) -> Dict[str, int]:
    def count(*statuses: str) -> int:
        return sum(o.status in statuses for o in outcomes)

    return {"migrated": count(MIGRATED, PLANNED), "skipped": count(SKIPPED),
            "conflicts": count(CONFLICT), "failed": count(FAILED)}


def _show_plan(outcomes: List[Outcome], write=render.out) -> None:
    rows = [[o.plan.service.namespace, o.plan.service.name, c.source, c.target, c.value]
            for o in outcomes if not o.plan.conflicts for c in o.plan.changes]
    if rows:
        write(render.table(rows, ["namespace", "name", "from", "to", "value"]))
    conflicts = [[o.plan.service.namespace, o.plan.service.name, place, value]
                 for o in outcomes for c in o.plan.conflicts for place, value in c.values]
    if conflicts:
        write("\nConflicts (left unchanged; make the values agree, then run migrate again):")
        write(render.table(conflicts, ["namespace", "name", "field", "value"]))
    for o in outcomes:
        for w in o.plan.warnings:
            render.note(f"warning: [{w.code}] {o.plan.service.key}: {w.message}")


def _finish(outcomes: List[Outcome], output: str, dry_run: str) -> int:
    if output in ("json", "yaml"):
        render.emit(_document(outcomes, dry_run), output)
    for o in outcomes:
        if o.status == FAILED:
            render.note(f"error: {o.plan.service.key}: {o.error}")
    s = _summary(outcomes)
    done = {"client": "would be migrated (dry run: nothing written)",
            "server": "migrated (server dry run: nothing persisted)"}.get(dry_run, "migrated")
    render.note(f"{s['migrated']} {done}, {s['skipped']} skipped, {s['conflicts']} in conflict, "
                f"{s['failed']} failed")
    if any(o.denied for o in outcomes):
        return EXIT_CLUSTER  # a missing permission is a cluster failure, as for annotate
    return EXIT_NEGATIVE if s["conflicts"] or s["failed"] else EXIT_OK


def _nothing_to_do(outcomes: List[Outcome], namespace: Optional[str]) -> bool:
    if outcomes:
        return False
    render.note("nothing to migrate: no deprecated MetalLB annotation or spec.loadBalancerIP"
                + (f" in namespace {namespace}" if namespace else ""))
    return True


def _initial(plans: List[ServicePlan]) -> List[Outcome]:
    return [Outcome(p, CONFLICT if p.conflicts else PLANNED) for p in plans]


# --- asking, and showing progress
def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def _confirm(question: str) -> bool:
    """Ask on stderr; without a terminal to ask on, refuse rather than guess."""
    if not _stdin_is_tty():
        raise UsageError("standard input is not a terminal, so nobody can confirm: use --yes "
                         "to write, or --dry-run=client to see the plan only")
    import typer

    try:
        return typer.confirm(question, default=False, err=True)
    except (typer.Abort, EOFError):
        return False


class Progress:
    """A counter on stderr for long runs, only when someone watches it."""

    def __init__(self, total: int, verb: str):
        self.total, self.verb = total, verb
        self.enabled = total > PROGRESS_THRESHOLD and sys.stderr.isatty()

    def step(self, done: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{self.verb} {done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


# --- live cluster
def _run_live(inputs: Inputs, req: MigrateRequest) -> int:
    client = inputs.client()
    cluster = inputs.snapshot().to_cluster()  # the same client, --metallb-version applied
    namespace = inputs.namespace_filter()
    services = [s for s in cluster.services if namespace is None or s.namespace == namespace]
    outcomes = _initial(plan_all(cluster, services))
    if _nothing_to_do(outcomes, namespace):
        return _finish(outcomes, inputs.output, req.dry_run)
    pending = [o for o in outcomes if o.status == PLANNED]
    asking = bool(pending) and req.dry_run == "none" and not req.yes
    if inputs.output == "table" or asking:  # nobody confirms a plan they did not see
        _show_plan(outcomes, write=render.out if inputs.output == "table" else render.note)
    if req.backup and req.dry_run != "none":
        render.note(f"note: a dry run changes nothing, so no backup is written to {req.backup}")
    elif req.backup and os.path.exists(req.backup):  # before asking, not after
        raise UsageError(f"the backup {req.backup} already exists; nothing was changed. Name "
                         "another file (a second run would lose what the first saved)")
    if req.dry_run == "client" or not pending:
        return _finish(outcomes, inputs.output, req.dry_run)
    if asking and not _confirm(f"Migrate {len(pending)} service(s)?"):
        render.note("nothing was written")
        return EXIT_NEGATIVE
    if req.backup and req.dry_run == "none":
        from .restore import write_backup
        write_backup(req.backup, [o.plan.service for o in pending])
    progress = Progress(len(pending), "migrating")
    for done, outcome in enumerate(pending, start=1):
        _migrate_one(client, outcome, req.dry_run == "server")
        progress.step(done)
    progress.close()
    return _finish(outcomes, inputs.output, req.dry_run)


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

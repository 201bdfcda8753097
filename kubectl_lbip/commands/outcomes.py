"""What the migrate family shares (migrate on a cluster, migrate -f, --restore):
the request, each service's outcome, the plan as a table, asking, the progress
counter, writing one service after another (Ctrl-C finishes the current write,
then stops), and the summaries. Nothing here imports migrate.py, migrate_files.py
or restore.py: they import this."""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Protocol, Sequence

from .. import render
from ..errors import EXIT_CLUSTER, EXIT_INTERRUPTED, EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model.migrate import RestoreChange, ServicePlan
from ..printer import Block, Note, Result, Say, Table, Text

if TYPE_CHECKING:
    from .common import Inputs


PLANNED = "planned"  # not written: a client dry run, or before the writes
MIGRATED = "migrated"
RESTORED = "restored"
SKIPPED = "skipped"  # nothing left to change when it was written (already done)
CONFLICT = "conflict"
FAILED = "failed"
NOT_DONE = "not-done"  # left when the run was interrupted


@dataclass
class MigrateRequest:
    yes: bool = False
    dry_run: str = "none"
    backup: Optional[str] = None
    restore: Optional[str] = None
    in_place: bool = False
    configmap: bool = False
    force: bool = False  # --restore: a backup made on another cluster

    def validate(self, inputs: "Inputs") -> None:
        """Every combination of options the migrate family refuses, in one place."""
        from .writes import check_dry_run

        check_dry_run(self.dry_run)
        if self.configmap and (self.backup or self.restore or self.in_place):
            raise UsageError("--configmap only prints manifests: not with --backup, --restore or --in-place")
        if self.backup and self.restore:
            raise UsageError("--backup and --restore do not go together")
        if self.force and not self.restore:
            raise UsageError("--force is for --restore (a backup made on another cluster)")
        if inputs.offline and (self.backup or self.restore):
            raise UsageError(
                "--backup and --restore are for a cluster; with -f the files are "
                "the backup (keep them in version control)"
            )
        if inputs.offline and self.dry_run == "server" and not self.configmap:
            raise UsageError("--dry-run=server needs a cluster; with -f use --dry-run=client")
        if self.in_place and not inputs.offline:
            raise UsageError("--in-place rewrites the files given with -f")
        if self.in_place and "-" in inputs.filenames:
            raise UsageError("--in-place cannot rewrite standard input")


class Written(Protocol):
    """How one service's write went: its status, the error, and whether that was a
    missing permission (401/403, which makes the run exit 3)."""

    status: str
    error: str
    denied: bool

    @property
    def key(self) -> str: ...


@dataclass
class Outcome:
    """A service to migrate, and how it went (a Written)."""

    plan: ServicePlan
    status: str = PLANNED
    error: str = ""
    denied: bool = False

    @property
    def key(self) -> str:
        return self.plan.service.key


@dataclass
class Restoring:
    """A backup entry to put back, its changes, and how it went (a Written)."""

    entry: Dict[str, Any]
    changes: List[RestoreChange] = field(default_factory=list)
    status: str = PLANNED
    error: str = ""
    denied: bool = False

    @property
    def key(self) -> str:
        return f"{self.entry['namespace']}/{self.entry['name']}"


def initial(plans: List[ServicePlan]) -> List[Outcome]:
    return [Outcome(p, CONFLICT if p.conflicts else PLANNED) for p in plans]


def nothing_to_do(outcomes: List[Outcome], namespace: Optional[str]) -> List[str]:
    """The note when there is nothing to migrate (none otherwise)."""
    if outcomes:
        return []
    return [
        "nothing to migrate: no deprecated MetalLB annotation or spec.loadBalancerIP"
        + (f" in namespace {namespace}" if namespace else "")
    ]


# --- the plan, as a table
def plan_blocks(outcomes: List[Outcome]) -> List[Block]:
    """The changes, then the conflicts (as tables), shown as the plan."""
    blocks: List[Block] = []
    rows = [
        [o.plan.service.namespace, o.plan.service.name, c.source, c.target, c.value]
        for o in outcomes
        if not o.plan.conflicts
        for c in o.plan.changes
    ]
    if rows:
        blocks.append(Table(rows, ["namespace", "name", "from", "to", "value"]))
    conflicts = [
        [o.plan.service.namespace, o.plan.service.name, place, value]
        for o in outcomes
        for c in o.plan.conflicts
        for place, value in c.values
    ]
    if conflicts:
        blocks.append(Text("\nConflicts (left unchanged; make the values agree, then run migrate again):"))
        blocks.append(Table(conflicts, ["namespace", "name", "field", "value"]))
    return blocks


def plan_warnings(outcomes: List[Outcome]) -> List[Block]:
    """What the plan warns about, said after it."""
    return [Note(f"warning: [{w.code}] {o.plan.service.key}: {w.message}") for o in outcomes for w in o.plan.warnings]


def restore_plan_blocks(items: List[Restoring]) -> List[Block]:
    rows = [
        [*item.key.split("/", 1), c.place, render.optional(c.now), render.optional(c.restored)]
        for item in items
        for c in item.changes
    ]
    return [Table(rows, ["namespace", "name", "field", "now", "restored"])] if rows else []


# --- asking, and showing progress
def stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def confirm(question: str) -> bool:
    """Ask on stderr; without a terminal to ask on, refuse rather than guess."""
    if not stdin_is_tty():
        raise UsageError(
            "standard input is not a terminal, so nobody can confirm: use --yes "
            "to write, or --dry-run=client to see the plan only"
        )
    import typer

    try:
        return typer.confirm(question, default=False, err=True)
    except (typer.Abort, EOFError):
        return False


def write_each(items: Sequence[Written], write_one: Callable[[Any], None], verb: str, say: Say) -> bool:
    """Write the items one after another, with a progress counter. Ctrl-C does not
    cut a write short: the current one finishes, the others are marked not done,
    and False says the run was interrupted (the caller prints its summary, exit 130)."""
    interrupted = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_interrupt(signum, frame):  # noqa: ARG001
            if interrupted.is_set():  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            interrupted.set()
            say.note("\ninterrupted: finishing the current write, then stopping (Ctrl-C again to stop at once)")

        previous = signal.signal(signal.SIGINT, on_interrupt)
    progress = say.progress(len(items), verb)
    try:
        for done, item in enumerate(items, start=1):
            if interrupted.is_set():
                for rest in items[done - 1 :]:
                    rest.status = NOT_DONE
                break
            write_one(item)
            progress.step(done)
    finally:
        progress.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return not interrupted.is_set()


# --- summaries
def _failures(items: Sequence[Written]) -> List[str]:
    return [f"error: {item.key}: {item.error}" for item in items if item.status == FAILED]


def _exit_code(items: Sequence[Written], negative: bool, completed: bool) -> int:
    if not completed:
        return EXIT_INTERRUPTED
    if any(i.denied for i in items):
        return EXIT_CLUSTER  # a missing permission is a cluster failure, as for annotate
    return EXIT_NEGATIVE if negative else EXIT_OK


def _count(items: Sequence[Written], *statuses: str) -> int:
    return sum(i.status in statuses for i in items)


def _not_done(items: Sequence[Written]) -> str:
    left = _count(items, NOT_DONE)
    return f", {left} not done (interrupted)" if left else ""


def migrate_summary(outcomes: List[Outcome]) -> Dict[str, int]:
    summary = {
        "migrated": _count(outcomes, MIGRATED, PLANNED),
        "skipped": _count(outcomes, SKIPPED),
        "conflicts": _count(outcomes, CONFLICT),
        "failed": _count(outcomes, FAILED),
    }
    if _count(outcomes, NOT_DONE):
        summary["notDone"] = _count(outcomes, NOT_DONE)
    return summary


def migrate_document(outcomes: List[Outcome], dry_run: str) -> Dict[str, Any]:
    def entry(o: Outcome) -> Dict[str, Any]:
        changes = [] if o.plan.conflicts else [c.to_dict() for c in o.plan.changes]
        item = {
            "namespace": o.plan.service.namespace,
            "name": o.plan.service.name,
            "changes": changes,
            "status": o.status,
        }
        if o.error:
            item["error"] = o.error
        return item

    return {
        "dryRun": dry_run,
        "plan": [entry(o) for o in outcomes],
        "conflicts": [c.to_dict() for o in outcomes for c in o.plan.conflicts],
        "warnings": [w.to_dict() for o in outcomes for w in o.plan.warnings],
        "summary": migrate_summary(outcomes),
    }


def finish_migrate(
    outcomes: List[Outcome], dry_run: str, completed: bool = True, notes: Optional[List[str]] = None
) -> Result:
    """migrate's result: the document for -o json|yaml (the plan was shown as it was
    made: the table output has nothing more), then the failures and the counts."""
    s = migrate_summary(outcomes)
    done = _done_words("migrated", dry_run)
    summary = (
        f"{s['migrated']} {done}, {s['skipped']} skipped, {s['conflicts']} in conflict, "
        f"{s['failed']} failed{_not_done(outcomes)}"
    )
    code = _exit_code(outcomes, bool(s["conflicts"] or s["failed"]), completed)
    after = _failures(outcomes) + [summary]
    return Result(migrate_document(outcomes, dry_run), code, notes or [], after, views={"table": shown})


def shown(result: Result) -> List[Block]:
    """The table output of a plan already shown as it was made: nothing more."""
    return []


def declined() -> Result:
    """The person asked said no: nothing was written, and nothing more is shown."""
    return Result(
        code=EXIT_NEGATIVE, after=["nothing was written"], views=dict.fromkeys(("table", "json", "yaml"), shown)
    )


def _done_words(verb: str, dry_run: str) -> str:
    """What the summary says was done, by --dry-run mode ("" when none)."""
    if dry_run == "client":
        return f"would be {verb} (dry run: nothing written)"
    if dry_run == "server":
        return f"{verb} (server dry run: nothing persisted)"
    return verb


def finish_restore(items: List[Restoring], dry_run: str, completed: bool = True) -> Result:
    summary = {
        "restored": _count(items, RESTORED, PLANNED),
        "skipped": _count(items, SKIPPED),
        "failed": _count(items, FAILED),
    }
    if _count(items, NOT_DONE):
        summary["notDone"] = _count(items, NOT_DONE)
    doc = {
        "dryRun": dry_run,
        "restore": [
            {
                "namespace": i.entry["namespace"],
                "name": i.entry["name"],
                "changes": [c.to_dict() for c in i.changes],
                "status": i.status,
                **({"error": i.error} if i.error else {}),
            }
            for i in items
        ],
        "summary": summary,
    }
    done = _done_words("restored", dry_run)
    said = (
        f"{summary['restored']} {done}, {summary['skipped']} already as backed up, "
        f"{summary['failed']} failed{_not_done(items)}"
    )
    code = _exit_code(items, bool(summary["failed"]), completed)
    return Result(doc, code, after=_failures(items) + [said], views={"table": shown})

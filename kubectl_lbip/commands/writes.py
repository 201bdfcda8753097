"""Writing to the cluster safely, shared by annotate and migrate.

A write is planned on what was read and sent with that resourceVersion; when the
API server answers 409 (the object changed), the caller's plan is run again on a
fresh read, so its checks see the change, and the write is retried a few times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from ..errors import AccessError, ClusterError, ConflictError, LbipError, UsageError
from ..printer import Say

MAX_ATTEMPTS = 3
DRY_RUN_CHOICES = ("none", "client", "server")


def check_dry_run(value: str) -> str:
    if value not in DRY_RUN_CHOICES:
        raise UsageError(f"--dry-run={value!r}: use one of {', '.join(DRY_RUN_CHOICES)}")
    return value


def write_with_retry(
    plan: Callable[[bool], Optional[Dict[str, Any]]],
    send: Callable[[Dict[str, Any]], Any],
    what: str,
    say: Optional[Say] = None,
    attempts: int = MAX_ATTEMPTS,
) -> Optional[Dict[str, Any]]:
    """Plan (on a fresh read when ``reread`` is true), then send; on a conflict plan
    again. ``plan`` returns None when nothing is to be written (or raises to refuse).
    Returns the patch that was sent, or None; each retry is said (``say``)."""
    for attempt in range(1, attempts + 1):
        patch = plan(attempt > 1)
        if patch is None:
            return None
        try:
            send(patch)
            return patch
        except ConflictError:
            if attempt == attempts:
                break
            (say or Say()).note(
                f"{what} changed since it was read; reading it again and re-checking "
                f"(attempt {attempt + 1} of {attempts})"
            )
    raise ClusterError(
        f"{what} kept changing while we wrote it ({attempts} conflicts); nothing was overwritten. Try again"
    )


@dataclass
class Attempt:
    """How one write among many went: what was sent (None: nothing to send), or the
    error, and whether it was a missing permission (which makes the run exit 3)."""

    sent: Optional[Dict[str, Any]] = None
    error: str = ""
    denied: bool = False


def attempt_write(plan, send, what: str, say: Say) -> Attempt:
    """write_with_retry for commands that go on after one service fails."""
    try:
        return Attempt(sent=write_with_retry(plan, send, what, say))
    except LbipError as exc:
        return Attempt(error=str(exc), denied=isinstance(exc, AccessError))

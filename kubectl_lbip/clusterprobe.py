"""probe --from-cluster: the same connects as tcpprobe.py, made by a short-lived pod
in the service's namespace (as `kubectl run --rm` would: created, waited for, its
log read, deleted), for addresses reachable only from inside the cluster.

Everything goes through the door (snapshot/live.py's client). The wait is bounded
by the probe's --timeout; the pod is deleted on every path out of here: an answer,
a pod that cannot start, the deadline, an error, Ctrl-C."""

from __future__ import annotations

import secrets
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Sequence

from .errors import AccessError, ClusterError, ConflictError, NotFound, ResponseError, UsageError
from .model import probe
from .model.probe import Attempt, Target
from .model.schema import build
from .snapshot import shape
from .snapshot.live import segment

# Seconds the pod's deletion may take after the deadline passed (or Ctrl-C).
DELETE_GRACE = 10.0
# The most of the pod's log read, per target (a line of the probe is about 120 bytes).
LOG_BYTES_PER_TARGET = 1024
# Between two looks at the pod: from FIRST_POLL seconds, doubling up to LAST_POLL.
FIRST_POLL, LAST_POLL = 0.25, 2.0


def probe_from_pod(
    client: Any,
    namespace: str,
    targets: Sequence[Target],
    image: str,
    deadline: float,
    each: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    suffix: Callable[[], str] = lambda: secrets.token_hex(3),
) -> List[Optional[Attempt]]:
    """One attempt per target (None: not tried), from a pod of ``image``; the pod is
    waited for ``deadline`` seconds at most (its own connects included), then deleted."""
    pods = f"/api/v1/namespaces/{segment(namespace)}/pods"
    client.extend_deadline(deadline)  # the API requests of the wait are within the command's deadline
    name = probe.POD_PREFIX + suffix()
    path = f"{pods}/{segment(name)}"
    manifest = probe.probe_pod(namespace, name, image, targets, deadline, each)
    with deleted_on_sigterm():  # the whole time the pod may exist
        try:
            _checked(client.request("POST", pods, body=manifest), f"POST {pods}")
        except (AccessError, UsageError, ConflictError):  # refused: nothing was created
            raise
        except BaseException:  # the answer lost (a deadline, a broken connection, Ctrl-C): it may exist
            delete(client, path, f"{namespace}/{name}")
            raise
        end = clock() + deadline
        try:
            wait, doing = FIRST_POLL, "Pending"
            while True:
                finished, doing = probe.pod_state(_checked(client.request("GET", path), f"GET {path}"))
                if finished:
                    break
                left = end - clock()
                if left <= 0:
                    raise ClusterError(
                        f"pod {namespace}/{name} did not finish within {deadline:g}s (the --timeout): {doing}; deleted"
                    )
                sleep(min(wait, left))
                wait = min(wait * 2, LAST_POLL)
            limit = LOG_BYTES_PER_TARGET * (len(targets) + 1)  # a log of any other size is not the probe's
            query = [("container", probe.POD_CONTAINER), ("limitBytes", str(limit))]
            log = client.fetch("GET", f"{path}/log", query).decode("utf-8", "replace")
            try:
                attempts = probe.attempts_from_log(log, targets)
            except probe.PodLogError as exc:
                raise ResponseError(f"pod {namespace}/{name} ({doing}): its log is not the probe's: {exc}") from None
            if not any(a is not None for a in attempts) and any(t.probed for t in targets):
                raise ClusterError(f"pod {namespace}/{name} probed nothing: {doing}")
            return attempts
        finally:
            delete(client, path, f"{namespace}/{name}")


@contextmanager
def deleted_on_sigterm() -> Iterator[None]:
    """While the pod may exist, SIGTERM (a CI job's timeout, `timeout 30 kubectl lbip
    ...`) ends the command as an exception, so the pod is deleted on the way out, as
    on Ctrl-C; then the exit status is 143, as the signal's. Only in the main thread
    (where Python runs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def delete(client: Any, path: str, name: str) -> None:
    """Delete the pod now (no grace period), given a few seconds even when the
    deadline passed; when that fails, say how to delete it."""
    door = getattr(client, "door", None)
    if door is not None and door.remaining() < DELETE_GRACE:
        door.extend(DELETE_GRACE - door.remaining())
    try:
        client.request("DELETE", path, [("gracePeriodSeconds", "0")])
    except NotFound:
        pass
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - said, and the first error stays the one raised
        sys.stderr.write(
            f"warning: the probe's pod {name} may remain ({exc}); delete it with: "
            f"kubectl delete pod {name.split('/')[1]} -n {name.split('/')[0]}\n"
        )


def _checked(obj: Any, where: str) -> probe.ProbePod:
    """The answer as the probe's pod, after its shape check (both from its table)."""
    if not isinstance(obj, dict):
        raise ResponseError(f"{where}: the answer is not a Pod")
    shape.check(obj, shape.shape_of(probe.ProbePod), where, ResponseError, what="Pod")
    return build(probe.ProbePod, obj)

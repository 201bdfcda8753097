"""The TCP connects of `kubectl lbip probe`: the only module that opens a socket to
a service's address. It reports what happened to each connect (model/probe.py's
Attempt: an errno, a timeout, the time taken); model/probe.py says what that means.

Every connect is bounded by the per-connect timeout and by what is left of the
overall deadline; targets the deadline leaves are not tried (None)."""

from __future__ import annotations

import socket
import time
from typing import Callable, List, Optional, Sequence

from .model.probe import Attempt, Target

Connect = Callable[[str, int, float], Attempt]
Clock = Callable[[], float]


def connect(address: str, port: int, timeout: float, clock: Clock = time.monotonic) -> Attempt:
    """One TCP connect to address:port within ``timeout`` seconds, then closed (nothing is sent)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    start = clock()
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((address, port))
    except socket.timeout:
        return Attempt(None, True, clock() - start)
    except OSError as exc:
        return Attempt(exc.errno or 0, False, clock() - start)
    return Attempt(None, False, clock() - start)


def probe_all(
    targets: Sequence[Target],
    deadline: float,
    each: float,
    connect: Connect = connect,
    clock: Clock = time.monotonic,
) -> List[Optional[Attempt]]:
    """One attempt per probed target (model Target.probed), one after the other, all
    within ``deadline`` seconds; None for a target not tried (not probed, or the
    deadline passed)."""
    end = clock() + deadline
    attempts: List[Optional[Attempt]] = []
    for target in targets:
        left = end - clock()
        if not target.probed or left <= 0:
            attempts.append(None)
            continue
        attempts.append(connect(target.address, target.port, min(each, left)))
    return attempts

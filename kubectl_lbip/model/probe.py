"""kubectl lbip probe: what to connect to, and what each connect's outcome means.

Pure: the connects themselves are tcpprobe.py's; this module lists the targets
(each address of the service's status with each of its ports) and turns each
attempt (an errno, a timeout, the time taken) into a result, per family."""

from __future__ import annotations

import errno
import os
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .addresses import FAMILIES, family_of
from .rules import FAMILY_WORDS
from .services import Service

ANSWERED = "answered"
REFUSED = "refused"
TIMED_OUT = "timed out"
NO_ROUTE = "no route"
FAILED = "failed"
NOT_PROBED = "not probed"

# What the kernel says when no packet can reach the address, or none comes back.
_NO_ROUTE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL}
_NO_ROUTE |= {getattr(errno, "EHOSTDOWN", errno.EHOSTUNREACH)}
_TIMED_OUT = {errno.ETIMEDOUT}


class Target(NamedTuple):
    address: str
    family: str  # ipv4 or ipv6
    port: int
    protocol: str  # TCP, UDP, SCTP

    @property
    def probed(self) -> bool:
        """Only TCP is probed: a UDP or SCTP port answers nothing to a bare connect."""
        return self.protocol == "TCP" and 0 < self.port < 65536


class Attempt(NamedTuple):
    """One connect as tcpprobe.py saw it."""

    error: Optional[int]  # the errno; None when it connected (or timed out)
    timed_out: bool
    seconds: float


def targets(svc: Service) -> List[Target]:
    """Each address of the service's status (IPv4 first) with each of its ports, in
    the order of spec.ports."""
    return [
        Target(str(addr), family_of(addr), port.port, port.protocol)
        for addr in svc.held_addresses()
        for port in svc.ports
    ]


def outcome(attempt: Optional[Attempt]) -> Tuple[str, str]:
    """(result, detail) of one attempt; None is a target the deadline left unprobed."""
    if attempt is None:
        return NOT_PROBED, "the deadline (--timeout) passed first"
    if attempt.timed_out or attempt.error in _TIMED_OUT:
        return TIMED_OUT, ""
    if attempt.error is None:
        return ANSWERED, ""
    if attempt.error == errno.ECONNREFUSED:
        return REFUSED, "nothing listens, or a firewall rejects it"
    if attempt.error in _NO_ROUTE:
        return NO_ROUTE, os.strerror(attempt.error)
    return FAILED, os.strerror(attempt.error)


def report(svc: Service, attempts: Sequence[Tuple[Target, Optional[Attempt]]]) -> dict:
    """The answer as -o json prints it: one result per target (the unprobed ones too,
    with why), the counts per family, and whether every probed port answered."""
    results = []
    families: Dict[str, Dict[str, int]] = {}
    for target, attempt in attempts:
        if target.probed:
            result, detail = outcome(attempt)
        else:
            result, detail = NOT_PROBED, f"{target.protocol} is not probed"
        results.append(
            {
                "address": target.address,
                "family": target.family,
                "port": target.port,
                "protocol": target.protocol,
                "result": result,
                "detail": detail,
                "milliseconds": None if attempt is None else round(attempt.seconds * 1000, 1),
            }
        )
        counts = families.setdefault(target.family, {"probed": 0, "answered": 0})
        if target.probed:
            counts["probed"] += 1
            counts["answered"] += result == ANSWERED
    probed = sum(c["probed"] for c in families.values())
    return {
        "service": {"namespace": svc.namespace, "name": svc.name},
        "addresses": [str(a) for a in svc.held_addresses()],
        "results": results,
        "families": {f: families[f] for f in FAMILIES if f in families},
        "answered": probed > 0 and all(c["probed"] == c["answered"] for c in families.values()),
    }


def summary(answer: dict) -> str:
    """One line: per family, how many probed ports answered (or why nothing was probed)."""
    s = answer["service"]
    if not answer["addresses"]:
        return (
            f"nothing to probe: {s['namespace']}/{s['name']} has no address in its status; "
            f"'kubectl lbip why {s['name']} -n {s['namespace']}' says what blocks it"
        )
    if not answer["results"]:
        return f"nothing to probe: {s['namespace']}/{s['name']} has no port"
    parts = []
    for family, counts in answer["families"].items():
        word = FAMILY_WORDS[family]
        if counts["probed"]:
            parts.append(f"{word}: {counts['answered']} of {counts['probed']} TCP port(s) answered")
        else:
            parts.append(f"{word}: no TCP port to probe")
    return "; ".join(parts)


def connecting(svc: Service, targets: Sequence[Target]) -> Optional[str]:
    """What the probe is about to connect to, said before it does (probe -f: the
    addresses are whatever the file's status says); None when nothing is probed."""
    probed = [t for t in targets if t.probed]
    if not probed:
        return None
    addresses = ", ".join(dict.fromkeys(t.address for t in probed))
    ports = ", ".join(dict.fromkeys(str(t.port) for t in probed))
    return (
        f"connecting from this machine to {addresses} on TCP port(s) {ports}: the addresses in "
        f"status.loadBalancer.ingress of service {svc.namespace}/{svc.name}"
    )

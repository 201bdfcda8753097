"""kubectl lbip probe: what to connect to, and what each connect's outcome means.

Pure: the connects themselves are tcpprobe.py's; this module lists the targets
(each address of the service's status with each of its ports) and turns each
attempt (an errno, a timeout, the time taken) into a result, per family."""

from __future__ import annotations

import errno
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..errors import InvalidValue
from .addresses import FAMILIES, family_of
from .rules import FAMILY_WORDS
from .schema import INT, STR, at, list_of, obj
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


# --- from a pod in the cluster (probe --from-cluster; clusterprobe.py runs it)

# The default image of the probe's pod: any image with python3 runs the same probe
# (PROBE_SCRIPT), with the same outcomes as a connect from here (tcpprobe.py).
POD_IMAGE = "python:3.13-alpine"
POD_CONTAINER = "probe"
POD_PREFIX = "lbip-probe-"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubectl-lbip", "app.kubernetes.io/name": "lbip-probe"}

# Run by the pod's python3: argv[1] is {"deadline": s, "each": s, "targets": [[address,
# port], ...]}; one JSON line per target tried, as tcpprobe.connect reports it.
PROBE_SCRIPT = """\
import json, socket, sys, time
job = json.loads(sys.argv[1])
end = time.monotonic() + job["deadline"]
for address, port in job["targets"]:
    left = end - time.monotonic()
    if left <= 0:
        break
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    start = time.monotonic()
    error, timed_out = None, False
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(min(job["each"], left))
            sock.connect((address, port))
    except socket.timeout:
        timed_out = True
    except OSError as exc:
        error = exc.errno or 0
    line = {"address": address, "port": port, "errno": error, "timedOut": timed_out,
            "seconds": time.monotonic() - start}
    print(json.dumps(line), flush=True)
"""


class PodLogError(InvalidValue):
    """The probe pod's log is not what PROBE_SCRIPT prints; the message says why."""


def probe_pod(namespace: str, name: str, image: str, targets: Sequence[Target], deadline: float, each: float) -> dict:
    """The Pod that probes ``targets`` from inside the cluster: one container running
    PROBE_SCRIPT, never restarted, ended by the kubelet after the deadline if it is
    still running, with no API credentials and the restricted Pod Security profile
    (non-root, no privilege escalation, every capability dropped). Named by the caller
    (POD_PREFIX and a random suffix), not by the API server: a create whose answer is
    lost can still be deleted by its name."""
    job = {
        "deadline": deadline,
        "each": each,
        "targets": [[t.address, t.port] for t in targets if t.probed],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": max(int(math.ceil(deadline)) + 30, 1),
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 65534,
                "runAsGroup": 65534,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": POD_CONTAINER,
                    "image": image,
                    "command": ["python3", "-c", PROBE_SCRIPT, json.dumps(job)],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"cpu": "200m", "memory": "64Mi"},
                    },
                }
            ],
        },
    }


def attempts_from_log(text: str, targets: Sequence[Target]) -> List[Optional[Attempt]]:
    """The pod's log as one attempt per target (None: not tried, as tcpprobe.probe_all
    says it). Each line must name the next probed target, in order."""
    wanted = [t for t in targets if t.probed]
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > len(wanted):
        raise PodLogError(f"the log has {len(lines)} lines for {len(wanted)} target(s)")
    found: Dict[Tuple[str, int], Attempt] = {}
    for number, (line, target) in enumerate(zip(lines, wanted), start=1):
        where = f"line {number}"
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError):
            raise PodLogError(f"{where}: not JSON: {line[:80]!r}") from None
        if not isinstance(doc, dict):
            raise PodLogError(f"{where}: not a JSON object")
        if (doc.get("address"), doc.get("port")) != (target.address, target.port):
            raise PodLogError(f"{where}: names {doc.get('address')!r} port {doc.get('port')!r}, not the next target")
        error, timed_out, seconds = doc.get("errno"), doc.get("timedOut"), doc.get("seconds")
        if not (error is None or (isinstance(error, int) and not isinstance(error, bool))):
            raise PodLogError(f"{where}: errno is not a number")
        if not isinstance(timed_out, bool):
            raise PodLogError(f"{where}: timedOut is not true or false")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < 86400:
            raise PodLogError(f"{where}: seconds is not a duration")
        found[(target.address, target.port)] = Attempt(error, timed_out, float(seconds))
    return [found.get((t.address, t.port)) if t.probed else None for t in targets]


# Why a pod that has not finished never will: the kubelet's waiting reasons.
POD_STUCK = (
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
)
STATE = obj(reason=STR, message=STR, exitCode=INT)


def _states(value: Any) -> Tuple[Tuple[str, str, str, Optional[int]], ...]:
    """(waiting or terminated, reason, message, exit code) of each container's state."""
    return tuple(
        (what, str(d.get("reason") or what), str(d.get("message") or "")[:200], d.get("exitCode"))
        for cs in value
        for what in ("waiting", "terminated")
        for d in [(cs.get("state") or {}).get(what) or {}]
        if d
    )


@dataclass(frozen=True)
class ProbePod:
    """The probe's pod as the API server answers it: one table (model/schema.py) from
    which clusterprobe's shape check derives."""

    name: str = field(default="", metadata=at("metadata.name", STR))
    phase: str = field(default="Pending", metadata=at("status.phase", STR, "Pending"))
    reason: str = field(default="", metadata=at("status.reason", STR))
    message: str = field(default="", metadata=at("status.message", STR))
    states: Tuple[Tuple[str, str, str, Optional[int]], ...] = field(
        default=(),
        metadata=at(
            "status.containerStatuses",
            list_of(obj(state=obj(waiting=STATE, terminated=STATE))),
            (),
            convert=_states,
        ),
    )


def pod_state(pod: ProbePod) -> Tuple[bool, str]:
    """(finished, what it is doing) of the probe's pod, read from its status: finished
    when it ran (Succeeded, or Failed with its container's exit), or when it never
    will (an image that cannot be pulled, a container that cannot be created)."""
    said = []
    for what, reason, message, code in pod.states:
        exit_code = f" (exit {code})" if code is not None else ""
        said.append(reason + exit_code + (f": {message}" if message else ""))
        if what == "waiting" and reason in POD_STUCK:
            return True, f"{pod.phase}, {said[-1]}"
    if not said and pod.reason:
        said.append(pod.reason + f": {pod.message[:200]}")
    text = pod.phase + (f", {'; '.join(said)}" if said else "")
    return pod.phase in ("Succeeded", "Failed"), text


# --- why --probe: what a probe that did not answer most likely means


def diagnose(answer: dict, explained: dict) -> List[dict]:
    """For each family whose probed TCP ports did not all answer, one line with its
    likely cause, from the probe's answer (report()) and why's explanation
    (model/explain.py): in order, no route to the family from where the probe ran;
    no advertisement, node or speaker announcing it; a Local traffic policy without a
    ready endpoint where it is announced; refused (reached, nothing listening);
    the other family answering (this family's path); else dropped on the way."""
    out = []
    results = answer["results"]
    answered_families = [f for f, c in answer["families"].items() if c["probed"] and c["answered"] == c["probed"]]
    for family, counts in answer["families"].items():
        if not counts["probed"] or counts["answered"] == counts["probed"]:
            continue
        word = FAMILY_WORDS[family]
        mine = [r for r in results if r["family"] == family and r["result"] not in (NOT_PROBED, ANSWERED)]
        seen = sorted({r["result"] for r in mine})
        addresses = sorted({r["address"] for r in mine})
        cause = _cause(word, seen, explained, [FAMILY_WORDS[f] for f in answered_families if f != family])
        head = "assigned but not answering" if not counts["answered"] else "assigned but answering only partly"
        line = (
            f"{head} on {word} ({', '.join(addresses)}: {counts['answered']} of {counts['probed']} TCP port(s) "
            f"answered; {', '.join(seen)}): likely {cause}"
        )
        out.append({"family": family, "addresses": addresses, "results": seen, "cause": cause, "line": line})
    return out


def _cause(word: str, seen: List[str], explained: dict, others_answering: List[str]) -> str:
    pool = (explained.get("pool") or {}).get("name")
    advs = explained.get("advertisements")
    if seen == [NO_ROUTE]:
        return f"the family's route: where the probe ran there is no {word} route to the address"
    if advs is not None and pool is not None and not any(a["announcesService"] for a in advs):
        return f"no advertisement on the node: no L2 or BGP advertisement announces pool {pool} for this service"
    announcing = [a for a in (advs or ()) if a["announcesService"]]
    if announcing and all(a["nodes"] == [] for a in announcing):
        return "no advertisement on the node: the advertisements select no node that may announce it"
    speakers = explained.get("speakers")
    if speakers == []:
        return "no advertisement on the node: no speaker reports announcing it"
    ready = explained.get("readyNodes")
    local = (explained.get("service") or {}).get("externalTrafficPolicy") == "Local"
    if local and ready == []:
        return (
            "a Local policy without endpoints: externalTrafficPolicy Local and no ready endpoint, "
            "so every node drops it"
        )
    if local and ready and speakers:
        nodes = sorted({s["node"] for s in speakers})
        if not set(nodes) & set(ready):
            return (
                f"a Local policy without endpoints on the announcing node: {', '.join(nodes)} announces it, "
                f"ready endpoints are on {', '.join(ready)}"
            )
    if seen == [REFUSED]:
        return (
            "nothing listens behind it: the address is reached but the port is refused "
            "(endpoints, targetPort, a firewall)"
        )
    if others_answering:
        return (
            f"the family's route or announcement: {' and '.join(others_answering)} answers, so the service works; "
            f"the {word} path is missing (a {word} route to it, or its {word} announcement: "
            "NDP, or the BGP session's family)"
        )
    return "dropped on the way: no node answers for the address where the probe ran, or a firewall drops it"

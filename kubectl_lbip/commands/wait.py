"""annotate --wait: MetalLB's own answer to what was written.

The checks predict MetalLB; this asks it. After the write, the service is read
until its status shows the requested addresses, or MetalLB records a new
AllocationFailed event for it, or the time is up (no controller running)."""

from __future__ import annotations

import re
import time
from typing import Dict, Sequence, Tuple

from ..errors import UsageError
from ..model.addresses import AddressError, canonical

POLL_SECONDS = 0.5
REASON = "AllocationFailed"


def parse_timeout(text: str) -> float:
    """kubectl's durations: 30s, 2m, 1m30s, or plain seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"--timeout {text!r}: use a duration such as 30s or 2m")
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def failure_marks(client, namespace: str, name: str) -> Dict[str, Tuple]:
    """AllocationFailed events of the service (model/events.py's Event), each by its
    name with what changes when it recurs: (count, lastTimestamp, eventTime, message)."""
    return {
        e.event_name: (e.count, e.last, e.event_time, e.message) for e in client.service_events(namespace, name, REASON)
    }


def _ingress(obj) -> set:
    found = set()
    for item in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ():
        try:
            found.add(canonical(item.get("ip", "")))
        except AddressError:
            continue
    return found


def wait_for_metallb(
    client,
    namespace: str,
    name: str,
    addresses: Sequence[str],
    timeout: float,
    before: Dict[str, Tuple],
    clock=time.monotonic,
    sleep=time.sleep,
    who: str = "MetalLB",
) -> Tuple[bool, str]:
    """(True, what the implementation ``who`` assigned) or (False, why not; a refusal
    is told from MetalLB's AllocationFailed events)."""
    wanted = {canonical(a) for a in addresses}
    deadline = clock() + timeout
    while True:
        got = _ingress(client.get_service(namespace, name))
        if got == wanted:
            return True, f"{who} assigned {','.join(sorted(got, key=_order))}"
        marks = failure_marks(client, namespace, name)
        new = [mark[3] for key, mark in marks.items() if before.get(key) != mark]
        if new:
            return False, f"MetalLB refused it: {new[-1]}"
        if clock() >= deadline:
            held = ",".join(sorted(got, key=_order)) or "nothing"
            return False, (
                f"{who} assigned nothing new within {timeout:g}s (the service holds "
                f"{held}); is {who}'s controller running?"
            )
        sleep(POLL_SECONDS)


def _order(text: str):
    return (":" in text, text)

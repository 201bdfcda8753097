"""--watch (-w) of who-has, pools and check: one list, then a line per change, as
`kubectl get -w` does, until Ctrl-C (exit 130).

Each kind the answer depends on is followed by a Reflector of its own (snapshot/
watch.py: list, watch, list again after 410 Gone, reconnect with backoff) in a
thread; their events come here through one bounded queue. model/watch.py says what
changed (who-has: each event on its own; pools and check: whatever arrived together,
from one model); the printer writes each change as one whole line and flushes it
(printer.watch_line: the one place a change becomes text)."""

from __future__ import annotations

import datetime
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import NotFound, UsageError
from ..model import announce
from ..model import watch as mw
from ..model.addresses import Interval
from ..model.events import latest_failures
from ..model.metallb import Release
from ..model.services import Service
from ..printer import Result
from ..snapshot import Snapshot
from ..snapshot.live import (
    ALLOCATION_FAILED,
    EVENTS_PATH,
    METALLB,
    NAMESPACES_PATH,
    POOLS_PATH,
    SERVICES_PATH,
    LiveClient,
    event_model,
)
from ..snapshot.trim import trim_namespace, trim_pool, trim_service
from ..snapshot.watch import ABSENT, EVENT, FAILED, LISTED, Reflector, store_key, trim_event
from .common import Inputs

log = logging.getLogger("kubectl_lbip")

WHO_HAS, POOLS, CHECK = "who-has", "pools", "check"
QUEUE_SIZE = 10_000  # events waiting to be applied; a reflector waits when it is full
# what check -w also follows: a change of these makes it read the kinds past allocation again
TRIGGERS = {
    announce.L2ADV: METALLB + "l2advertisements",
    announce.BGPADV: METALLB + "bgpadvertisements",
    announce.CONFIGSTATE: METALLB + "configurationstates",
}


def now_text() -> str:
    """The plugin's clock, as a watch line writes it: RFC 3339, UTC, milliseconds."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@dataclass
class Watch:
    """What one watch keeps between messages: the objects of each kind, the models
    of the services (rebuilt only when a service changed), and what was said last.

    who-has decides one event at a time (two changes of a service that arrive
    together are two lines, as its status went through both); pools and check build
    the model once for whatever arrived together (a count or a finding is a state,
    not a step)."""

    command: str
    namespace: Optional[str] = None
    queries: Sequence[Interval] = ()
    warn_used: Optional[int] = None
    release: Optional[Release] = None
    stores: Dict[str, Dict[Tuple[str, str], dict]] = field(default_factory=dict)
    models: Dict[Tuple[str, str], Service] = field(default_factory=dict)
    network: Optional[Snapshot] = None  # check: the kinds past allocation, last read
    state: Any = None
    failures: Dict[str, str] = field(default_factory=dict)  # who-has: MetalLB's refusals
    pools: Any = None  # who-has: a model of the pools and refusals alone (None: build again)

    def apply(self, message: Tuple[Any, ...]) -> bool:
        """One message of a reflector kept; True when it may change the answer."""
        kind, name = message[0], message[1]
        if kind == LISTED:
            store = self.stores[name] = {}
            for obj in message[2]:
                store[store_key(obj)] = obj
            if name == "services":
                self.models = {}
        elif kind == EVENT:
            _, _, what, obj = message
            key = store_key(obj)
            store = self.stores.setdefault(name, {})
            if what == "DELETED":
                store.pop(key, None)
            else:
                store[key] = obj
            if name == "services":
                self.models.pop(key, None)
        else:
            return False
        if name in TRIGGERS:
            self.network = None
        if name in ("pools", "events"):
            self.pools = None
        return True

    def refusals(self) -> Dict[str, str]:
        """MetalLB's latest refusal per service, from the Events kept (each modelled
        through its table: snapshot.live.event_model)."""
        return latest_failures(map(event_model, self.stores.get("events", {}).values()))

    # --- who-has: one event at a time

    def take(self, message: Tuple[Any, ...]) -> List[mw.Change]:
        """who-has: keep one message, and the changes of the services it touched."""
        if not self.apply(message):
            return []
        kind, name = message[0], message[1]
        if name == "events":
            failures = self.refusals()
            keys = {k for k in set(failures) | set(self.failures) if failures.get(k) != self.failures.get(k)}
            self.failures = failures
        elif name == "services" and kind == LISTED:
            keys = set(self.state or {}) | {f"{ns}/{n}" for ns, n in self.stores["services"]}
        elif name == "services":
            keys = {"/".join(store_key(message[3]))}
        else:  # pools: what services hold did not change (their pool is named at their next change)
            return []
        return self.decide(keys)

    def decide(self, keys: Any, listed: bool = False) -> List[mw.Change]:
        if self.pools is None:
            self.pools = Snapshot(
                pools=list(self.stores.get("pools", {}).values()), allocation_failures=self.failures, live=True
            ).to_cluster(freeze=False)
        state = self.state = self.state or {}
        services = self.stores.get("services", {})
        before, after = {}, {}
        for key in keys:
            if key in state:
                before[key] = state.pop(key)
            namespace, _, name = key.partition("/")
            obj = services.get((namespace, name))
            if obj is not None and (not self.namespace or namespace == self.namespace):
                after[key] = state[key] = mw.holding(self.pools, Service.from_object(obj, False, True))
        return mw.service_changes(before, after, self.queries, listed)

    # --- pools and check: a model for each batch

    def snapshot(self, client: LiveClient) -> Snapshot:
        services = self.stores.get("services", {})
        for key, obj in services.items():
            if key not in self.models:
                self.models[key] = Service.from_object(obj, False, True)
        snap = Snapshot(
            pools=list(self.stores.get("pools", {}).values()),
            models=[self.models[key] for key in services],
            namespaces=list(self.stores.get("namespaces", {}).values()),
            allocation_failures=self.refusals(),
            source=f"cluster {client.server}" if self.command == CHECK else "",
            live=True,
            keep_objects=False,
            metallb=self.release,
        )
        if self.command == CHECK:  # the kinds past allocation: read again after a change
            if self.network is None:
                self.network = Snapshot(services=[obj for obj in services.values()])
                client.renew_deadline()  # its own deadline, as each list and watch has
                client.read_network(self.network)
            snap.network_objects = self.network.network_objects
            snap.network_present = self.network.network_present
            snap.network_notes = self.network.network_notes
        return snap

    def changes(self, client: LiveClient, listed: bool = False) -> List[mw.Change]:
        """What changed since the last call (``listed``: the first, every object)."""
        if self.command == WHO_HAS:
            self.failures = self.refusals()
            return self.decide({f"{ns}/{n}" for ns, n in self.stores.get("services", {})}, listed)
        cluster = self.snapshot(client).to_cluster(freeze=False)
        if self.command == POOLS:
            pools = self.stores.get("pools", {})
            versions = {key: str(p["metadata"].get("resourceVersion") or "") for key, p in pools.items()}
            counts = mw.pool_counts(cluster, self.namespace, versions)
            found = mw.pool_changes(self.state or {}, counts, listed)
            self.state = counts
        else:
            from ..model.findings import findings_for

            findings = findings_for(cluster, self.namespace, self.warn_used)
            found = mw.finding_changes(self.state or [], findings, listed)
            self.state = findings
        return found


def kinds_for(command: str) -> List[Tuple[str, str, Callable[[dict], dict], Optional[List[Tuple[str, str]]], bool]]:
    """(name, path, trim, query, optional) of what a command's answer depends on."""
    kinds: List[Tuple[str, str, Callable[[dict], dict], Optional[List[Tuple[str, str]]], bool]] = [
        ("services", SERVICES_PATH, trim_service, None, False),
        ("pools", POOLS_PATH, trim_pool, None, False),
    ]
    if command in (WHO_HAS, CHECK):  # MetalLB's refusals
        kinds.append(("events", EVENTS_PATH, trim_event, ALLOCATION_FAILED, True))
    if command == CHECK:
        kinds.append(("namespaces", NAMESPACES_PATH, trim_namespace, None, True))
        kinds += [(kind, path, lambda obj: obj, None, True) for kind, path in TRIGGERS.items()]
    return kinds


def run(
    inputs: Inputs,
    command: str,
    emit: Callable[[Result], None],
    queries: Sequence[Interval] = (),
    warn_used: Optional[int] = None,
    clock: Callable[[], str] = now_text,
) -> int:
    """Watch until Ctrl-C (KeyboardInterrupt: exit 130) or an error ends it. Each batch
    of changes is handed to ``emit`` as a Result whose answer is (time, changes): the
    printer's streaming printer (printer.watch_lines) writes a line per change."""
    if inputs.filenames:
        raise UsageError("--watch follows a cluster: it cannot read -f files (or lay them with --against-cluster)")
    client = inputs.client()
    namespace = inputs.namespace_filter() if command != POOLS else (inputs.namespace or None)
    w = Watch(command, namespace, queries, warn_used)
    messages: "queue.Queue[Tuple[Any, ...]]" = queue.Queue(QUEUE_SIZE)
    reflectors = [
        Reflector(client, name, path, trim, messages.put, query, optional)
        for name, path, trim, query, optional in kinds_for(command)
    ]
    for r in reflectors:
        threading.Thread(target=r.run, name=f"kubectl-lbip-watch-{r.name}", daemon=True).start()
    try:
        waiting = {r.name for r in reflectors}
        while waiting:  # the first list of every kind
            message = messages.get()
            _raise_failed(message)
            _absent(message, inputs)
            w.apply(message)
            waiting.discard(message[1])
        if command != WHO_HAS:  # the rules of pools and check are the release's
            client.renew_deadline()
            w.release = inputs.flagged_release() or client.metallb_release(_pools_namespace(w))
        _say(w.changes(client, listed=True), emit, clock)
        while True:
            batch = [messages.get()]
            while True:  # whatever else has arrived: one model for all of it
                try:
                    batch.append(messages.get_nowait())
                except queue.Empty:
                    break
            found: List[mw.Change] = []
            changed = False
            for message in batch:
                _raise_failed(message)
                _absent(message, inputs)
                if command == WHO_HAS:
                    found += w.take(message)
                else:
                    changed = w.apply(message) or changed
            if changed:
                found = w.changes(client)
            _say(found, emit, clock)
    finally:
        for r in reflectors:
            r.stopped = True


def _pools_namespace(w: Watch) -> str:
    return Snapshot(pools=list(w.stores.get("pools", {}).values())).pools_namespace


def _absent(message: Tuple[Any, ...], inputs: Inputs) -> None:
    """An optional kind that cannot be followed: not served (said with -v), or not
    readable by this identity (a note, as check says it)."""
    if message[0] != ABSENT:
        return
    if isinstance(message[2], NotFound):
        log.info("%s is not served: not followed", message[1])
    else:
        inputs.say.note(f"note: {message[1]} not followed: {message[2]}")


def _raise_failed(message: Tuple[Any, ...]) -> None:
    if message[0] == FAILED:
        raise message[2]


def _say(changes: List[mw.Change], emit: Callable[[Result], None], clock: Callable[[], str]) -> None:
    if changes:
        emit(Result(answer=(clock(), changes)))

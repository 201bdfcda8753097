"""One kind of the cluster followed over time (--watch): listed, then watched from
the list's resourceVersion through the door (door.Door.watch), its objects checked
for shape and trimmed as on the list path, and handed on as they change.

What can go wrong, and what is done (as client-go's reflector does):
- the server ends the stream (its timeoutSeconds, the --request-timeout of an
  attempt): watched again at once from the last resourceVersion seen;
- 410 Gone (an answer, or an ERROR event with code 410): the resourceVersion is too
  old, listed again at once (the list replaces what was kept: nothing is lost), or
  after a wait when the version was a fresh list's;
- a stream that breaks, a proxy that died, a 5xx, or a stream that ends early with
  nothing in it: watched again after a wait that doubles each time in a row
  (model.watch.backoff), never a busy loop;
- 401/403, 404, a credential that cannot be produced, an answer of the wrong shape:
  the end of the watch, with that error (an optional kind is just not followed)."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..door import NO_DEADLINE_WATCH
from ..errors import AccessError, ClusterError, CredentialError, Expired, NotFound, ResponseError, UsageError
from ..model.schema import trim
from ..model.watch import backoff
from .live import LiveClient
from .shape import EVENT_KIND, MODELS

log = logging.getLogger("kubectl_lbip")

# What a Reflector hands on (``post``): (LISTED, name, items), (EVENT, name, type,
# object) with type ADDED, MODIFIED or DELETED, (ABSENT, name, error) for an optional
# kind that cannot be read, (FAILED, name, error) for the end of the watch.
LISTED, EVENT, ABSENT, FAILED = "listed", "event", "absent", "failed"
TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")
# a stream that ends sooner than this share of the time it was asked for, with no
# event in it, counts as a failure (waited for before the next)
EARLY_END = 0.5


class Reflector:
    """One list path, listed and watched for as long as the command runs (``run``,
    in a thread of its own)."""

    def __init__(
        self,
        client: LiveClient,
        name: str,
        path: str,
        trim: Callable[[dict], dict],
        post: Callable[[Tuple[Any, ...]], None],
        query: Optional[List[Tuple[str, str]]] = None,
        optional: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client, self.name, self.path, self.trim = client, name, path, trim
        self.post, self.query = post, list(query or [])
        self.optional = optional
        self.sleep, self.clock = sleep, clock
        self.version = ""  # the last resourceVersion seen ("": list again)
        self.failures = 0  # in a row
        self.fresh = False  # the version is a list's, no event seen since
        self.stopped = False

    def run(self) -> None:
        try:
            while not self.stopped:
                self.attempt()
                wait = backoff(self.failures)
                if wait:
                    log.info("watch %s: waiting %.1fs before watching again", self.path, wait)
                    self.sleep(wait)
        except (AccessError, NotFound) as exc:
            self.post((ABSENT if self.optional else FAILED, self.name, exc))
        except (CredentialError, ResponseError, UsageError) as exc:
            self.post((FAILED, self.name, exc))
        except BaseException as exc:  # noqa: BLE001 - handed to the command's thread
            self.post((FAILED, self.name, exc))

    def attempt(self) -> None:
        """One list (when needed) and one watch; failures counted."""
        door = self.client.door
        assert door is not None
        try:
            if not self.version:
                self.client.renew_deadline()
                items = self.client.list_all(self.path, self.trim, self.query)
                self.version = self.client.versions.get(self.path, "")
                self.fresh = True
                self.post((LISTED, self.name, items))
            started, seen = self.clock(), 0
            for event in door.watch(self.path, self.query + [("resourceVersion", self.version)]):
                seen += 1
                self.take(event)
            lasted = self.clock() - started
            early = lasted < EARLY_END * (door.request_timeout or NO_DEADLINE_WATCH)
            self.failures = self.failures + 1 if early and not seen else 0
        except Expired:
            log.info("watch %s: resourceVersion %s is gone (410); listing again", self.path, self.version)
            # gone again right after a list: waited for, or a server that says so to
            # every watch would be listed without end
            self.failures = self.failures + 1 if self.fresh else 0
            self.version = ""
        except (AccessError, CredentialError, NotFound, ResponseError, UsageError):
            raise
        except ClusterError as exc:
            self.failures += 1
            log.info("watch %s: %s", self.path, exc)
            door.forget_dead_proxy()

    def take(self, event: Any) -> None:
        """One event of the stream: checked, then handed on (an ERROR ends the stream)."""
        where = f"GET {self.path} (watch): an event"
        if not isinstance(event, dict) or event.get("type") not in TYPES or not isinstance(event.get("object"), dict):
            raise ResponseError(f"{where} without a known type and an object: {str(event)[:100]}")
        kind, obj = event["type"], event["object"]
        if kind == "ERROR":  # a Status
            code, message = obj.get("code"), str(obj.get("message") or obj.get("reason") or "")
            if code == 410:
                raise Expired(f"{where}: {message or 'Gone'}")
            raise ClusterError(f"{where}: error {code}: {message}")
        meta = obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if kind != "BOOKMARK":
            self.client.check_item(obj, self.path, where)
            self.post((EVENT, self.name, kind, self.trim(obj)))
        if isinstance(version, str) and version:
            self.version = version
            self.fresh = False


def store_key(obj: Dict[str, Any]) -> Tuple[str, str]:
    """(namespace, name) of an object: how a store keeps it."""
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def trim_event(obj: Dict[str, Any]) -> Dict[str, Any]:
    """Only what the model of an Event reads (its table, shape.MODELS: model/events.py),
    its name and namespace among it (a store's key)."""
    return trim(MODELS[EVENT_KIND], obj)

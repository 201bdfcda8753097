"""The live cluster, through the official kubernetes client.

Lists are paged (limit 500 with continue) and read as raw JSON: the client's
model deserialisation is an order of magnitude slower on large lists, and only the
fields the model needs are kept from each page, so memory follows what we keep,
not what the server sends."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote

from ..errors import (
    AccessError,
    ClusterError,
    ConflictError,
    CredentialError,
    Expired,
    NotFound,
    ResponseError,
    UsageError,
)
from ..model import metallb
from . import LEGACY_CONFIGMAP, Snapshot, checked_role, shape
from .trim import trim_namespace, trim_pool, trim_service

log = logging.getLogger("kubectl_lbip")

PAGE_SIZE = 500
# One deadline per API request (kubectl's --request-timeout): it covers connecting,
# a body that trickles in, and any retry, including a wait the server asks for.
DEFAULT_REQUEST_TIMEOUT = 30.0  # seconds; 0 means no deadline, as kubectl's --request-timeout=0
CONNECT_TIMEOUT = 10.0  # at most this of the deadline goes to connecting
MAX_PAGES = 10_000  # a list longer than 10,000 pages (5 million objects) is refused
RETRY_STATUSES = (429, 503)  # answered with Retry-After: waited for, within the deadline
MAX_RETRY_WAITS = 5  # and at most this many times for one request
POOLS_PATH = "/apis/metallb.io/v1beta1/ipaddresspools"
SERVICES_PATH = "/api/v1/services"
NAMESPACES_PATH = "/api/v1/namespaces"
EVENTS_PATH = "/api/v1/events"
METALLB_GROUP_PATH = "/apis/metallb.io/v1beta1"
DEPLOYMENTS_PATH = "/apis/apps/v1/namespaces/{}/deployments"
METALLB = "/apis/metallb.io/v1beta1/"
# Up to this many Local-policy services, their EndpointSlices are read one service
# at a time (by label); beyond, all EndpointSlices are listed once, page by page.
PER_SERVICE_SLICES = 20

_RESOURCE_NAMES = {
    POOLS_PATH: "ipaddresspools.metallb.io",
    SERVICES_PATH: "services",
    NAMESPACES_PATH: "namespaces",
    EVENTS_PATH: "events",
}


class LiveClient:
    """One API server, as kubectl would reach it with the same flags."""

    def __init__(
        self,
        api_client,
        namespace: str,
        server: str,
        context: str = "",
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ):
        self.api = api_client
        self.namespace = namespace
        self.server = server
        self.context = context
        self.request_timeout = request_timeout

    # --- plumbing
    def request(
        self,
        method: str,
        path: str,
        query: Optional[List[Tuple[str, str]]] = None,
        body: Any = None,
        content_type: Optional[str] = None,
    ) -> Any:
        """One API request, answered as JSON, within one deadline (request_timeout)."""
        return self._parse(method, path, self.fetch(method, path, query, body, content_type))

    def fetch(
        self,
        method: str,
        path: str,
        query: Optional[List[Tuple[str, str]]] = None,
        body: Any = None,
        content_type: Optional[str] = None,
    ) -> bytes:
        """One API request within one deadline (request_timeout): its answer's body,
        undecoded."""
        # gzip, as kubectl asks: a page of 500 services is about 1 MB of JSON and a
        # sixth of it compressed (the API server compresses answers over 128 kB);
        # urllib3 decompresses it as it reads.
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if content_type:
            headers["Content-Type"] = content_type
        started = time.monotonic()
        deadline = started + self.request_timeout if self.request_timeout else math.inf
        status: Any = "error"
        waits = 0
        try:
            while True:
                try:
                    payload, status = self._call(method, path, query, headers, body, deadline)
                    break
                except Exception as exc:  # mapped to one clear error below
                    status = getattr(exc, "status", None) or "error"
                    wait = self._retry_after(exc, deadline) if waits < MAX_RETRY_WAITS else None
                    waits += 1
                    if wait is None:
                        raise self._translate(exc, method, path) from None
                    time.sleep(wait)
            return payload
        finally:
            shown = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
            log.info("%s %s %s %.0fms", method, shown, status, (time.monotonic() - started) * 1000)

    def _parse(self, method: str, path: str, payload: bytes) -> Any:
        try:
            return json.loads(payload) if payload else {}
        except RecursionError:
            raise ResponseError(f"{method} {path}: the answer is nested too deeply") from None
        except ValueError:  # a web server or a proxy's page, not an API server
            raise ClusterError(
                f"{method} {path}: the answer of {self.server} is not JSON; is it a Kubernetes API server?"
            ) from None

    def _call(self, method: str, path: str, query, headers, body, deadline: float):
        """The client's call, body read whole, in a thread of its own so that the
        deadline holds whatever the server does (accept and never answer, or send
        one byte every few seconds): past it the call is abandoned."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlinePassed()
        outcome: Dict[str, Any] = {}
        read_timeout = None if math.isinf(remaining) else remaining

        def call() -> None:
            try:
                data, code, _ = self.api.call_api(
                    path,
                    method,
                    query_params=query or [],
                    header_params=headers,
                    body=body,
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _request_timeout=(min(CONNECT_TIMEOUT, remaining), read_timeout),
                )
                outcome["result"] = (data.data, code)
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=call, name="kubectl-lbip-request", daemon=True)
        worker.start()
        worker.join(read_timeout)
        if worker.is_alive():
            raise _DeadlinePassed()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _retry_after(self, exc: Exception, deadline: float) -> Optional[float]:
        """Seconds to wait before trying again (a 429 or 503 with Retry-After that
        ends before the deadline), or None: the error stands."""
        status = getattr(exc, "status", None)
        if status not in RETRY_STATUSES:
            return None
        headers = getattr(exc, "headers", None) or {}
        try:
            wait = float(headers.get("Retry-After") or headers.get("retry-after") or "")
        except (TypeError, ValueError):
            return None
        wait = max(wait, 0.0)
        left = deadline - time.monotonic()
        if wait >= left:
            sys.stderr.write(
                f"note: the API server asked to retry after {wait:g}s ({status}); "
                f"that is past the request deadline ({self.request_timeout:g}s), "
                "so not waiting\n"
            )
            return None
        sys.stderr.write(f"note: the API server asked to retry after {wait:g}s ({status}); waiting\n")
        return wait

    def _translate(self, exc: Exception, method: str, path: str) -> Exception:
        from kubernetes.client.exceptions import ApiException

        if isinstance(exc, _DeadlinePassed):
            return ClusterError(
                f"{method} {path}: no complete answer from {self.server} within "
                f"{self.request_timeout:g}s (the request timeout)"
            )
        if isinstance(exc, ApiException):
            message = _status_message(exc)
            if exc.status == 401:
                return AccessError(
                    f"unauthorized (401) at {self.server}: the credentials of "
                    f"context {self.context or '<in-cluster>'} were refused"
                )
            if exc.status == 403:
                verb = {"GET": "list" if _is_collection(path) else "get", "PATCH": "patch"}.get(method, method.lower())
                return AccessError(f"forbidden: cannot {verb} {_resource_of(path)} {_scope_of(path)}: {message}")
            if exc.status == 409:
                return ConflictError(message or "conflict")
            if exc.status == 404:
                return NotFound(message or f"{path} not found")
            if exc.status == 410:
                return Expired(message or "the list's continue token expired")
            if exc.status == 422 or exc.status == 400:
                return UsageError(f"the API server refused the change: {message}")
            return ClusterError(f"{method} {path} failed ({exc.status}): {message or exc.reason}")
        if isinstance(exc, (ClusterError, UsageError)):
            return exc
        reason = getattr(exc, "reason", None) or exc
        return ClusterError(f"cannot reach the API server at {self.server}: {_short(reason)}")

    def list_all(
        self, path: str, trim: Callable[[dict], dict], query: Optional[List[Tuple[str, str]]] = None
    ) -> List[dict]:
        """Every item of a list, page by page, each checked for shape and trimmed as it
        is read. A continue token that expired (410 Gone: the list took longer than
        etcd keeps its revision) restarts the list once from the beginning, as
        client-go's pager does. A token seen twice, or more than MAX_PAGES pages, is
        an error: such a server would otherwise be paged forever.

        The next page is asked for while this one is decoded (its continue token is
        at the head of the answer, and checked against the decoded page): the API
        server's time and ours overlap instead of adding up. Requests stay one at a
        time and in order."""

        def params(token: str) -> List[Tuple[str, str]]:
            return list(query or []) + [("limit", str(PAGE_SIZE))] + ([("continue", token)] if token else [])

        for attempt in (1, 2):
            items: List[dict] = []
            seen = set()
            try:
                payload = self.fetch("GET", path, params(""))
                for number in range(1, MAX_PAGES + 1):
                    guess = _guess_continue(payload)
                    ahead = None
                    if guess and guess not in seen and number < MAX_PAGES:
                        ahead = _Ahead(self.fetch, "GET", path, params(guess))
                    page = self._parse("GET", path, payload)
                    items.extend(trim(item) for item in self._page_items(page, path, len(items)))
                    token = _continue_token(page, path)
                    if ahead is not None and token != guess:  # a wrong guess (never seen): dropped
                        ahead.wait()
                        ahead = None
                    if not token:
                        return items
                    if token in seen:
                        raise ResponseError(
                            f"GET {path}: page {number + 1} would repeat a continue "
                            "token already followed; the list does not end"
                        )
                    seen.add(token)
                    if number == MAX_PAGES:
                        break
                    payload = ahead.result() if ahead is not None else self.fetch("GET", path, params(token))
                raise ResponseError(f"GET {path}: more than {MAX_PAGES:,} pages of {PAGE_SIZE}; stopped")
            except Expired:
                if attempt == 2:
                    raise
                log.info("continue token expired; listing %s again", path)
        return []  # not reached

    @staticmethod
    def _page_items(page: Any, path: str, before: int) -> List[dict]:
        if not isinstance(page, dict):
            raise ResponseError(f"GET {path}: the answer is {shape.type_name(page)}, not a list object")
        items = page.get("items")
        if items is None:
            return []
        if not isinstance(items, list):
            raise ResponseError(f"GET {path}: field items: expected a list, got {shape.type_name(items)}")
        for i, item in enumerate(items, start=before + 1):
            where = f"GET {path}: item {i}"
            if not isinstance(item, dict):
                raise ResponseError(f"{where}: expected an object, got {shape.type_name(item)}")
            if path.endswith("/events"):
                shape.check(item, shape.EVENT, where, ResponseError)
            else:
                checked_role(item, where, ResponseError)
        return items

    # --- reads
    def get_service(self, namespace: str, name: str) -> Dict[str, Any]:
        path = service_path(namespace, name)
        try:
            obj = self.request("GET", path)
        except NotFound:
            raise UsageError(f'service "{name}" not found in namespace "{namespace}"') from None
        if not isinstance(obj, dict) or obj.get("kind") not in (None, "Service"):
            raise ResponseError(f"GET {path}: the answer is not a Service")
        shape.check_depth(obj, f"GET {path}", ResponseError)
        return shape.check(obj, shape.SERVICE, f"GET {path}", ResponseError)

    def service_events(self, namespace: str, name: str, reason: str) -> List[dict]:
        selector = f"involvedObject.kind=Service,involvedObject.name={name},reason={reason}"
        path = f"/api/v1/namespaces/{segment(namespace)}/events"
        page = self.request("GET", path, [("fieldSelector", selector)])
        return [e for e in self._page_items(page, path, 0)]

    def snapshot(
        self,
        events: bool = False,
        metallb_release: bool = True,
        network: Any = False,
        statuses_of: Optional[Tuple[str, str]] = None,
    ) -> Snapshot:
        snap = Snapshot(
            source=f"cluster {self.server} (context {self.context or 'in-cluster'})", live=True, keep_objects=False
        )
        try:
            snap.pools = list(self.list_all(POOLS_PATH, trim_pool))
        except NotFound:
            snap.legacy_configmap = self._legacy_configmap()
        snap.services = list(self.list_all(SERVICES_PATH, trim_service))
        if any(((p.get("spec") or {}).get("serviceAllocation") or {}).get("namespaceSelectors") for p in snap.pools):
            snap.namespaces = list(self.list_all(NAMESPACES_PATH, trim_namespace))
        if events:
            snap.allocation_failures = self.allocation_failures()
        if metallb_release:
            snap.metallb = self.metallb_release(snap.pools_namespace, legacy=snap.uses_legacy_config)
        if network:
            self.read_network(snap, statuses_of, None if network is True else tuple(network))
        return snap

    def metallb_release(self, namespace: str, legacy: bool = False) -> metallb.Release:
        """Which MetalLB runs: the image tag of its controller Deployment in the
        namespace of the pools; without read access to Deployments (or no tag to
        read), from the metallb.io resources the API server serves."""
        readable = True
        try:
            deployments = self.list_all(DEPLOYMENTS_PATH.format(segment(namespace)), _trim_deployment)
        except (AccessError, NotFound, ResponseError) as exc:
            log.info(
                "MetalLB release: cannot list Deployments in %s (%s); told from the CRDs served", namespace, _short(exc)
            )
            deployments, readable = [], False
        for dep in deployments:
            for image in dep["images"]:
                if not metallb.is_controller_image(image):
                    continue
                version = metallb.version_from_image(image)
                where = f"from deployment {namespace}/{dep['name']}, image {image}"
                if version is not None:
                    return metallb.Release(version, metallb.text(version), "deployment", where)
                log.info("MetalLB release: %s has no version in its tag; told from the CRDs served", where)
        if readable and not legacy:
            log.info(
                "MetalLB release: no controller image with a version among the "
                "Deployments in %s; told from the CRDs served",
                namespace,
            )
        if legacy:
            return metallb.Release.newest_assumed("only its legacy ConfigMap, from before v0.13, is read")
        try:
            group = self.request("GET", METALLB_GROUP_PATH)
        except (AccessError, NotFound, ResponseError) as exc:
            log.info("MetalLB release: cannot read %s (%s); the newest assumed", METALLB_GROUP_PATH, _short(exc))
            return metallb.Release.newest_assumed("neither its Deployment nor its CRDs readable")
        resources = group.get("resources") if isinstance(group, dict) else None
        names = (
            [str(r.get("name") or "") for r in resources if isinstance(r, dict)] if isinstance(resources, list) else []
        )
        found = metallb.version_from_resources(names)
        if found is None:
            return metallb.Release.newest_assumed("no MetalLB resource served")
        label, version = found
        log.info(
            "MetalLB release: %s, told from the metallb.io resources served (%s)",
            label,
            ", ".join(sorted(n for n in names if "/" not in n)),
        )
        return metallb.Release(version, label, "crds", "from the metallb.io CRDs served")

    def read_network(
        self, snap: Snapshot, statuses_of: Optional[Tuple[str, str]] = None, kinds: Optional[Tuple[str, ...]] = None
    ) -> None:
        """The kinds read past allocation. A kind the API does not serve (404) is absent
        (said with -v), one the identity may not list (403) is absent with a note;
        EndpointSlices only for the Local-policy LoadBalancer services; the speakers'
        statuses only for one service (``statuses_of``: namespace, name); ``kinds``
        limits what is read (the others are absent)."""
        from ..model import announce as an
        from . import network as net

        present = set()

        def read(
            kind: str,
            paths: List[str],
            query: Optional[List[Tuple[str, str]]] = None,
            keep: Callable[[dict], bool] = lambda obj: True,
        ) -> None:
            if kinds is not None and kind not in kinds:
                return
            for path in paths:
                api = _api_of(path)

                def typed(obj: dict, api: str = api) -> dict:  # list items carry no kind
                    return net.trim(dict(obj, kind=kind, apiVersion=obj.get("apiVersion") or api))

                try:
                    items = self.list_all(path, typed, query)
                except NotFound:
                    log.info("%s is not served (%s): not checked", kind, path)
                    continue
                except AccessError as exc:
                    snap.network_notes.append(f"note: {kind} not checked: {exc}")
                    return
                for i, obj in enumerate(items, start=1):  # core kinds' items carry no kind
                    net.check_shape(obj, f"GET {path}: item {i}", ResponseError)
                snap.network_objects[kind] = [o for o in items if keep(o)]
                present.add(kind)
                return

        read(an.L2ADV, [METALLB + "l2advertisements"])
        read(an.BGPADV, [METALLB + "bgpadvertisements"])
        read(an.CONFIGSTATE, [METALLB + "configurationstates"])
        read(an.NODE, ["/api/v1/nodes"])
        read(
            an.SERVICECIDR, ["/apis/networking.k8s.io/v1/servicecidrs", "/apis/networking.k8s.io/v1beta1/servicecidrs"]
        )
        local = [s for s in snap.services if _local_lb(s)]
        if kinds is not None and an.ENDPOINTSLICE not in kinds:
            pass
        elif len(local) <= PER_SERVICE_SLICES:
            objects: List[dict] = []
            ok = True
            for svc in local:
                meta = svc.get("metadata") or {}
                ns, name = meta.get("namespace") or "default", meta.get("name") or ""
                read(
                    an.ENDPOINTSLICE,
                    [f"/apis/discovery.k8s.io/v1/namespaces/{segment(ns)}/endpointslices"],
                    [("labelSelector", f"{net.SERVICE_NAME_LABEL}={name}")],
                )
                if an.ENDPOINTSLICE not in present:
                    ok = False
                    break
                objects += snap.network_objects.pop(an.ENDPOINTSLICE)
                present.discard(an.ENDPOINTSLICE)
            if ok:
                snap.network_objects[an.ENDPOINTSLICE] = objects
                present.add(an.ENDPOINTSLICE)
        else:
            keys = {
                f"{(s.get('metadata') or {}).get('namespace') or 'default'}/{(s.get('metadata') or {}).get('name')}"
                for s in local
            }
            read(
                an.ENDPOINTSLICE,
                ["/apis/discovery.k8s.io/v1/endpointslices"],
                keep=lambda o: (
                    f"{(o.get('metadata') or {}).get('namespace') or 'default'}/"
                    f"{((o.get('metadata') or {}).get('labels') or {}).get(net.SERVICE_NAME_LABEL)}" in keys
                ),
            )
        if statuses_of is not None:
            ns, name = statuses_of
            selector = [("labelSelector", f"metallb.io/service-namespace={ns},metallb.io/service-name={name}")]
            read(an.L2STATUS, [METALLB + "servicel2statuses"], selector)
            read(an.BGPSTATUS, [METALLB + "servicebgpstatuses"], selector)
        snap.network_present = frozenset(present)

    def _legacy_configmap(self) -> Dict[str, Any]:
        ns, name = LEGACY_CONFIGMAP
        path = f"/api/v1/namespaces/{segment(ns)}/configmaps/{segment(name)}"
        try:
            obj = self.request("GET", path)
            if not isinstance(obj, dict):
                raise ResponseError(f"GET {path}: the answer is not a ConfigMap")
            return shape.check(obj, shape.LEGACY_CONFIGMAP, f"GET {path}", ResponseError)
        except NotFound:
            raise ClusterError(
                "MetalLB is not installed: the IPAddressPool CRD "
                "(ipaddresspools.metallb.io) is absent and there is no legacy "
                f"ConfigMap {ns}/{name}"
            ) from None

    def allocation_failures(self) -> Dict[str, str]:
        latest: Dict[str, Tuple[str, str]] = {}
        query = [("fieldSelector", "reason=AllocationFailed,involvedObject.kind=Service")]
        for ev in self.list_all(EVENTS_PATH, lambda e: e, query):
            obj = ev.get("involvedObject") or {}
            key = f"{obj.get('namespace')}/{obj.get('name')}"
            when = ev.get("lastTimestamp") or ev.get("eventTime") or ""
            if key not in latest or when >= latest[key][0]:
                latest[key] = (when, ev.get("message") or "")
        return {k: v[1] for k, v in latest.items()}

    # --- writes
    def patch_service(self, namespace: str, name: str, patch: Dict[str, Any], dry_run: bool = False) -> Dict[str, Any]:
        """A JSON merge patch; the patch carries metadata.resourceVersion, so the API
        server refuses it (409) if the service changed since it was read."""
        if not (patch.get("metadata") or {}).get("resourceVersion"):
            raise ValueError("a patch must carry the resourceVersion it was planned on")
        query = [("dryRun", "All")] if dry_run else []
        return self.request(
            "PATCH", service_path(namespace, name), query, body=patch, content_type="application/merge-patch+json"
        )


def _local_lb(svc: Dict[str, Any]) -> bool:
    spec = svc.get("spec") or {}
    return (
        spec.get("type") == "LoadBalancer"
        and not spec.get("loadBalancerClass")
        and spec.get("externalTrafficPolicy") == "Local"
    )


def _api_of(path: str) -> str:
    """The apiVersion of a list path (list items carry no kind or apiVersion)."""
    parts = path.strip("/").split("/")
    return "v1" if parts[0] == "api" else f"{parts[1]}/{parts[2]}"


class _DeadlinePassed(Exception):
    """The request deadline passed; translated into a ClusterError naming it."""


def _trim_deployment(obj: Any) -> dict:
    """A Deployment's name and container images (any other shape: none)."""

    def field(parent: Any, key: str) -> Any:
        return parent.get(key) if isinstance(parent, dict) else None

    spec = field(field(field(obj, "spec"), "template"), "spec")
    containers = field(spec, "containers")
    images = (
        [str(c.get("image") or "") for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []
    )
    return {"name": str(field(field(obj, "metadata"), "name") or ""), "images": images}


def segment(text: str) -> str:
    """One URL path segment: every name that reaches a URL is percent-encoded, so a
    name such as ``x/../../secrets/s`` stays one (invalid) name, never a path."""
    return quote(str(text), safe="")


def service_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{segment(namespace)}/services/{segment(name)}"


# The head of a list's answer: {"kind":"ServiceList","apiVersion":"v1","metadata":
# {"resourceVersion":"...","continue":"...",...},"items":[...
_CONTINUE = re.compile(rb'"continue"\s*:\s*("(?:[^"\\]|\\.)*")')


def _guess_continue(payload: bytes) -> str:
    """The continue token of a list's answer, read from its head before the items,
    for asking for the next page early (the whole answer is decoded afterwards, and
    the token checked against it)."""
    head = payload[:4096]
    end = head.find(b'"items"')
    match = _CONTINUE.search(head, 0, end if end >= 0 else 0)
    if match is None:
        return ""
    try:
        token = json.loads(match.group(1))
    except ValueError:
        return ""
    return token if isinstance(token, str) else ""


class _Ahead(threading.Thread):
    """One request made in the background while the caller decodes the page before."""

    def __init__(self, fn: Callable[..., bytes], *args: Any) -> None:
        super().__init__(daemon=True, name="kubectl-lbip-next-page")
        self._fn, self._args = fn, args
        self._value: bytes = b""
        self._error: Optional[BaseException] = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def wait(self) -> None:
        self.join()

    def result(self) -> bytes:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _continue_token(page: Dict[str, Any], path: str) -> str:
    meta = page.get("metadata") or {}
    token = meta.get("continue") if isinstance(meta, dict) else None
    if token is not None and not isinstance(token, str):
        raise ResponseError(f"GET {path}: field metadata.continue: expected a string")
    return token or ""


def _status_message(exc) -> str:
    try:
        return json.loads(exc.body).get("message") or ""
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason or "")


def _is_collection(path: str) -> bool:
    parts = path.strip("/").split("/")
    return parts[-1] in (
        "services",
        "ipaddresspools",
        "namespaces",
        "events",
        "configmaps",
        "deployments",
        "l2advertisements",
        "bgpadvertisements",
        "configurationstates",
        "nodes",
        "servicecidrs",
        "endpointslices",
        "servicel2statuses",
        "servicebgpstatuses",
    )


def _resource_of(path: str) -> str:
    base = path.split("?")[0]
    for prefix, name in _RESOURCE_NAMES.items():
        if base == prefix:
            return name
    parts = base.strip("/").split("/")
    if "services" in parts:
        return "services"
    if "configmaps" in parts:
        return "configmaps"
    if parts[-1] == "deployments":
        return "deployments.apps"
    if _is_collection(base):  # kubectl's spelling: resource.group (core: resource)
        return parts[-1] if parts[0] == "api" else f"{parts[-1]}.{parts[1]}"
    return base


def _scope_of(path: str) -> str:
    parts = path.strip("/").split("/")
    if "namespaces" in parts:
        i = parts.index("namespaces")
        if i + 1 < len(parts) and parts[i + 1] and len(parts) > i + 2:
            return f'in the namespace "{parts[i + 1]}"'
    return "at the cluster scope"


def _short(reason: Any) -> str:
    text = str(reason)
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.rstrip(")'\"")[:200]


def connect(
    kubeconfig: Optional[str] = None,
    context: Optional[str] = None,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    **flags: Any,
) -> LiveClient:
    """Resolve the configuration as kubectl does: --kubeconfig, else KUBECONFIG (a
    list of files merged), else ~/.kube/config, else the in-cluster service account;
    --context, else the current context; the context's namespace. Each API request
    then has ``request_timeout`` seconds in all (kubectl's --request-timeout).
    kubectl's global flags (``flags``: server, token, cluster, user,
    certificate_authority, client_certificate, client_key, insecure_skip_tls_verify,
    tls_server_name, as_user, as_group, as_uid) override what the kubeconfig says, as
    kubectl's do; with --server no kubeconfig is needed."""
    flags = {k: v for k, v in flags.items() if v not in (None, False, [], ())}
    unknown = set(flags) - set(_OVERRIDES)
    if unknown:
        raise TypeError(f"connect() got unexpected flags {sorted(unknown)}")
    client = _connect(kubeconfig, context, request_timeout, flags)
    _override(client.api.configuration, flags)
    client.server = client.api.configuration.host
    client.api.rest_client = type(client.api.rest_client)(client.api.configuration)  # new TLS settings
    _impersonate(client.api, flags)
    return client


def _connect(
    kubeconfig: Optional[str], context: Optional[str], request_timeout: float, flags: Dict[str, Any]
) -> LiveClient:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config import incluster_config
    from kubernetes.config.config_exception import ConfigException
    from urllib3.util.retry import Retry

    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    files = [p for p in path.split(os.pathsep) if p]
    if kubeconfig and not os.path.exists(kubeconfig):
        raise UsageError(f"kubeconfig {kubeconfig!r} does not exist")
    if request_timeout is None or request_timeout < 0:
        raise UsageError(f"the request timeout must be 0 (none) or more seconds, not {request_timeout!r}")
    configuration = k8s_client.Configuration()
    # one retry of a failed connection; waits the server asks for (Retry-After) are
    # ours to decide, within the request's deadline (LiveClient.request)
    configuration.retries = Retry(total=1, respect_retry_after_header=False)
    if not any(os.path.exists(os.path.expanduser(p)) for p in files):
        if flags.get("server") and not context:  # kubectl needs no kubeconfig with --server
            return LiveClient(
                k8s_client.ApiClient(configuration), "default", flags["server"], request_timeout=request_timeout
            )
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not context:
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except ConfigException as exc:
                raise ClusterError(f"in-cluster configuration failed: {exc}") from None
            # the pod's namespace, next to the token the client read
            ns_file = os.path.join(os.path.dirname(incluster_config.SERVICE_TOKEN_FILENAME), "namespace")
            namespace = "default"
            if os.path.exists(ns_file):
                with open(ns_file) as f:
                    namespace = f.read().strip() or "default"
            return LiveClient(
                k8s_client.ApiClient(configuration), namespace, configuration.host, request_timeout=request_timeout
            )
        raise ClusterError(
            "no kubeconfig found (tried "
            f"{', '.join(files) or '~/.kube/config'}) and not running in a cluster; "
            "use --kubeconfig, KUBECONFIG, --server, or -f to read manifests"
        )
    contexts, current = _contexts(files)
    name = context or current
    if not name and flags.get("server"):
        return LiveClient(
            k8s_client.ApiClient(configuration), "default", flags["server"], request_timeout=request_timeout
        )
    if not name:
        raise UsageError("the kubeconfig has no current context; use --context")
    chosen = contexts.get(name)
    if chosen is None:
        if context:
            raise UsageError(f'context "{context}" does not exist in the kubeconfig')
        raise UsageError(f'the current context "{name}" does not exist in the kubeconfig; use --context')
    context_stanza: Dict[str, Any] = chosen["context"] if isinstance(chosen.get("context"), dict) else {}
    user = {} if flags.get("token") else _user_stanza(files, flags.get("user") or context_stanza.get("user"))
    complaints = _Complaints()
    logging.getLogger().addHandler(complaints)  # the client's loader logs, not raises
    try:
        # the context is always named: the client's loader would otherwise read the
        # current-context as it merges it (the last file's), and fail on a stale one
        _load_kubeconfig(configuration, path, name, flags)
    except ConfigException as exc:
        text = str(exc)
        if "File does not exist" in text:
            raise CredentialError(f"context {name}: {_short(text)}") from None
        raise UsageError(f"invalid kubeconfig: {exc}") from None
    except OSError as exc:  # a tokenFile, a certificate or key file
        raise CredentialError(f"context {name}: cannot read {exc.filename}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"invalid kubeconfig: not UTF-8 text ({exc})") from None
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise UsageError(f"invalid kubeconfig: context {name}: {type(exc).__name__}: {_short(exc)}") from None
    finally:
        logging.getLogger().removeHandler(complaints)
    _check_exec_credentials(name, user, configuration, complaints.messages)
    namespace = context_stanza.get("namespace") or "default"
    return LiveClient(
        k8s_client.ApiClient(configuration), str(namespace), configuration.host, name, request_timeout=request_timeout
    )


class _Complaints(logging.Handler):
    """What the kubernetes client's kubeconfig loader logs as errors (an exec
    plugin that failed is logged, and the request then goes out without credentials)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _kubeconfig_documents(files: List[str], strict: bool) -> Iterator[Dict[str, Any]]:
    """Each kubeconfig file of a KUBECONFIG list that exists, parsed, in order.
    ``strict``: a file that cannot be read or is not a YAML mapping is an error
    naming it; otherwise it is skipped (kubectl's own loader has said why)."""
    import yaml

    for p in files:
        p = os.path.expanduser(p)
        if not os.path.exists(p):
            continue
        try:
            with open(p, encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            if strict:
                raise UsageError(f"invalid kubeconfig {p}: {exc}") from None
            continue
        if isinstance(doc, dict):
            yield doc
        elif strict:
            raise UsageError(f"invalid kubeconfig {p}: not a YAML mapping")


def _user_stanza(files: List[str], user_name: Any) -> Dict[str, Any]:
    for doc in _kubeconfig_documents(files, strict=False):
        users = doc.get("users")
        for entry in users if isinstance(users, list) else ():
            if isinstance(entry, dict) and entry.get("name") == user_name:
                return entry["user"] if isinstance(entry.get("user"), dict) else {}
    return {}


_OVERRIDES = (
    "server",
    "token",
    "cluster",
    "user",
    "certificate_authority",
    "client_certificate",
    "client_key",
    "insecure_skip_tls_verify",
    "tls_server_name",
    "as_user",
    "as_group",
    "as_uid",
)


def _load_kubeconfig(configuration, path: str, name: str, flags: Dict[str, Any]) -> None:
    """The client's kubeconfig loader for context ``name``, with --cluster and --user
    picking other entries of the kubeconfig and --token replacing the user's
    credentials, as kubectl's overrides do."""
    from kubernetes.config import kube_config

    loader = kube_config._get_kube_config_loader(filename=path, active_context=name, persist_config=False)
    for kind in ("cluster", "user"):
        if flags.get(kind):
            entry = loader._config[kind + "s"].get_with_name(flags[kind], safe=True)
            if entry is None:
                raise UsageError(f'{kind} "{flags[kind]}" does not exist in the kubeconfig')
            setattr(loader, "_" + kind, entry[kind])
    if flags.get("token"):
        loader._user = None  # --token replaces the kubeconfig user's credentials
    loader.load_and_set(configuration)


def _override(configuration, flags: Dict[str, Any]) -> None:
    """kubectl's global flags over the kubeconfig, as clientcmd's overrides do."""
    for flag in ("certificate_authority", "client_certificate", "client_key"):
        if flags.get(flag) and not os.path.exists(flags[flag]):
            raise UsageError(f"--{flag.replace('_', '-')} {flags[flag]!r} does not exist")
    if flags.get("server"):
        configuration.host = flags["server"].rstrip("/")
    if flags.get("token"):
        configuration.api_key = {"authorization": "Bearer " + flags["token"]}
        configuration.refresh_api_key_hook = None
    if flags.get("certificate_authority"):
        configuration.ssl_ca_cert = flags["certificate_authority"]
    if flags.get("client_certificate"):
        configuration.cert_file = flags["client_certificate"]
    if flags.get("client_key"):
        configuration.key_file = flags["client_key"]
    if flags.get("tls_server_name"):
        configuration.tls_server_name = flags["tls_server_name"]
    if flags.get("insecure_skip_tls_verify"):
        configuration.verify_ssl = False
        if not flags.get("certificate_authority"):
            configuration.ssl_ca_cert = None  # kubectl drops the kubeconfig's CA too
        import warnings

        import urllib3

        # kubectl prints nothing about it; neither do we
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


def _impersonate(api, flags: Dict[str, Any]) -> None:
    """--as, --as-group (repeatable: one header each), --as-uid."""
    groups = list(flags.get("as_group") or ())
    if (groups or flags.get("as_uid")) and not flags.get("as_user"):
        raise UsageError("--as-group and --as-uid need --as (the user to impersonate)")
    if flags.get("as_user"):
        api.set_default_header("Impersonate-User", flags["as_user"])
    if flags.get("as_uid"):
        api.set_default_header("Impersonate-Uid", flags["as_uid"])
    if groups:
        api.rest_client.pool_manager = _WithGroups(api.rest_client.pool_manager, groups)


class _WithGroups:
    """The client's connection pool, sending one Impersonate-Group header per group
    (its headers are a dict, which holds one value per name)."""

    def __init__(self, pool, groups: List[str]):
        self._pool, self._groups = pool, groups

    def request(self, *args: Any, headers: Any = None, **kwargs: Any) -> Any:
        from urllib3 import HTTPHeaderDict

        merged = HTTPHeaderDict(headers or {})
        for group in self._groups:
            merged.add("Impersonate-Group", group)
        return self._pool.request(*args, headers=merged, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def _check_exec_credentials(context: str, user: Dict[str, Any], configuration, complaints: List[str]) -> None:
    """An exec credential plugin that failed or is missing is an error naming it and
    its stderr's first line, not the 401 the server answers to no credentials."""
    exec_config = user.get("exec")
    if not isinstance(exec_config, dict):
        return
    has_token = bool((configuration.api_key or {}).get("authorization"))
    if has_token or configuration.cert_file:
        return
    command = exec_config.get("command") or "?"
    said = next((m for m in complaints if m.strip()), "it gave no token or certificate")
    first = said.strip().splitlines()[0] if said.strip() else said
    if "No such file" in said or "not found" in said.lower():
        raise CredentialError(f"context {context}: the exec credential plugin {command!r} is missing: {_short(first)}")
    raise CredentialError(f"context {context}: the exec credential plugin {command!r} failed: {_short(first)}")


def _contexts(files: List[str]) -> Tuple[Dict[str, Dict[str, Any]], str]:
    """The contexts and the current context of a list of kubeconfig files, merged as
    kubectl merges KUBECONFIG: the first file to define a context name, and the
    first file to set a non-empty current-context, win; missing files are skipped."""
    contexts: Dict[str, Dict[str, Any]] = {}
    current = ""
    for doc in _kubeconfig_documents(files, strict=True):
        for entry in doc.get("contexts") or ():
            if isinstance(entry, dict) and entry.get("name"):
                contexts.setdefault(str(entry["name"]), entry)
        if not current and doc.get("current-context"):
            current = str(doc["current-context"])
    return contexts, current

"""The live cluster: what the commands read and write, through the door
(kubectl_lbip/door.py: kubectl itself, with the plugin's global flags).

Lists are paged (limit 500 with continue) and read as raw JSON; only the fields the
model needs are kept from each page, so memory follows what we keep, not what the
server sends."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from ..door import DEFAULT_REQUEST_TIMEOUT, Door, segment
from ..errors import (
    AccessError,
    ClusterError,
    Expired,
    NotFound,
    ResponseError,
    UsageError,
)
from ..model import cilium, metallb
from ..model.events import Event, latest_failures
from ..model.schema import build
from . import LEGACY_CONFIGMAP, Snapshot, shape
from .shape import CILIUM_L2_POLICY, CILIUM_POOL, EVENT_KIND, MODELS, SERVICE, checked_role, schema_of
from .trim import trim_namespace, trim_own_kind, trim_pool, trim_service

log = logging.getLogger("kubectl_lbip")
T = TypeVar("T")  # what list_all keeps of each item (its trim's result)

__all__ = ["DEFAULT_REQUEST_TIMEOUT", "LiveClient", "NotFound", "connect", "segment", "service_path"]

PAGE_SIZE = 500
MAX_PAGES = 10_000  # a list longer than 10,000 pages (5 million objects) is refused
POOLS_PATH = "/apis/metallb.io/v1beta1/ipaddresspools"
SERVICES_PATH = "/api/v1/services"
NAMESPACES_PATH = "/api/v1/namespaces"
EVENTS_PATH = "/api/v1/events"
METALLB_GROUP_PATH = "/apis/metallb.io/v1beta1"
DEPLOYMENTS_PATH = "/apis/apps/v1/namespaces/{}/deployments"
METALLB = "/apis/metallb.io/v1beta1/"
# Cilium's LB-IPAM: each kind's list paths, newest version first (a 404 for all: not installed)
CILIUM_PATHS = {
    CILIUM_POOL: ["/apis/cilium.io/v2/ciliumloadbalancerippools", "/apis/cilium.io/v2alpha1/ciliumloadbalancerippools"],
    CILIUM_L2_POLICY: ["/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies"],
}
CILIUM_OPERATOR = ("kube-system", "cilium-operator")  # where Cilium's Helm chart puts it
CILIUM_GROUP_PATH = "/apis/cilium.io"  # one request tells whether Cilium is installed, and its versions
CILIUM_CONFIG = ("kube-system", "cilium-config")  # the operator's settings (Helm's ConfigMap)
# Up to this many Local-policy services, their EndpointSlices are read one service
# at a time (by label); beyond, all EndpointSlices are listed once, page by page.
PER_SERVICE_SLICES = 20
ALLOCATION_FAILED = [("fieldSelector", "reason=AllocationFailed,involvedObject.kind=Service")]


class LiveClient:
    """One API server, as kubectl reaches it with the same flags."""

    def __init__(self, door: Optional[Door]):
        self.door = door
        self._pending: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], Any] = {}  # started early
        self.versions: Dict[str, str] = {}  # each list's resourceVersion, by path (a watch starts there)

    @property
    def namespace(self) -> str:
        """The context's namespace (kubectl's default for -n)."""
        return self.door.about()["namespace"] if self.door else "default"

    @property
    def server(self) -> str:
        return self.door.about()["server"] if self.door else ""

    @property
    def context(self) -> str:
        return self.door.about()["context"] if self.door else ""

    @property
    def request_timeout(self) -> float:
        return self.door.request_timeout if self.door else DEFAULT_REQUEST_TIMEOUT

    def extend_deadline(self, seconds: float) -> None:
        """Give the command's one deadline ``seconds`` more (annotate --wait's --timeout)."""
        if self.door is not None:
            self.door.extend(seconds)

    def renew_deadline(self) -> None:
        """A new deadline, --request-timeout from now (a watch's every list and read)."""
        if self.door is not None:
            self.door.renew()

    # --- plumbing
    def request(
        self,
        method: str,
        path: str,
        query: Optional[List[Tuple[str, str]]] = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request, answered as JSON (a GET, or any method with ``body`` as JSON)."""
        if method == "GET" and body is None:
            return self._parse(method, path, self.fetch(method, path, query))
        payload = self.door.send(method, path, query or (), body, content_type)  # type: ignore[union-attr]
        return self._parse(method, path, payload)

    def fetch(self, method: str, path: str, query: Optional[List[Tuple[str, str]]] = None) -> bytes:
        """One GET's answer, undecoded (from its prefetch when it was started early).
        With -v, kubectl's own log line of each request is shown (door.py)."""
        early = self._pending.pop((path, tuple(query or ())), None)
        if early is not None:
            return early.result()
        return self.door.get(path, query or ())  # type: ignore[union-attr]

    def prefetch(self, path: str, query: Optional[List[Tuple[str, str]]] = None, paged: bool = True) -> None:
        """Start a GET now (a list's first page when ``paged``), for fetch to take."""
        if self.door is None:
            return
        query = _page_query(query, "") if paged else list(query or [])
        key = (path, tuple(query))
        if key not in self._pending:
            self._pending[key] = self.door.start_get(path, query)

    def _parse(self, method: str, path: str, payload: bytes) -> Any:
        try:
            return json.loads(payload) if payload else {}
        except RecursionError:
            raise ResponseError(f"{method} {path}: the answer is nested too deeply") from None
        except ValueError:  # a web server or a proxy's page, not an API server
            raise ClusterError(
                f"{method} {path}: the answer of {self.server} is not JSON; is it a Kubernetes API server?"
            ) from None

    def list_all(self, path: str, trim: Callable[[dict], T], query: Optional[List[Tuple[str, str]]] = None) -> List[T]:
        """Every item of a list, page by page, each checked for shape and trimmed as it
        is read (``trim``: what is kept of an item, a trimmed copy or its model). A
        continue token that expired (410 Gone: the list took longer than etcd keeps
        its revision) restarts the list once from the beginning, as client-go's pager
        does. A token seen twice, or more than MAX_PAGES pages, is an error: such a
        server would otherwise be paged forever.

        The next page is asked for while this one is decoded (its continue token is
        at the head of the answer, and checked against the decoded page): the API
        server's time and ours overlap instead of adding up."""

        def params(token: str) -> List[Tuple[str, str]]:
            return _page_query(query, token)

        for attempt in (1, 2):
            items: List[T] = []
            seen = set()
            try:
                payload = self.fetch("GET", path, params(""))
                for number in range(1, MAX_PAGES + 1):
                    guess = _guess_continue(payload)
                    ahead = None
                    if guess and guess not in seen and number < MAX_PAGES and self.door is not None:
                        ahead = self.door.start_get(path, params(guess))
                    page = self._parse("GET", path, payload)
                    if number == 1:
                        self.versions[path] = _list_version(page)
                    items.extend(trim(item) for item in self._page_items(page, path, len(items)))
                    token = _continue_token(page, path)
                    if ahead is not None and token != guess:  # a wrong guess (never seen): dropped
                        ahead.cancel()
                        ahead = None
                    if not token:
                        return items
                    if token in seen:
                        if ahead is not None:
                            ahead.cancel()
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
        # The API server's items of a built-in kind carry no kind or apiVersion: they
        # are checked as the list's (a ServiceList's items as Services).
        list_kind, api = page.get("kind"), page.get("apiVersion")
        typed = (
            {"kind": list_kind[:-4], "apiVersion": api}
            if isinstance(list_kind, str) and list_kind.endswith("List")
            else {}
        )
        for i, item in enumerate(items, start=before + 1):
            LiveClient.check_item(item, path, f"GET {path}: item {i}", typed)
        return items

    @staticmethod
    def check_item(item: Any, path: str, where: str, typed: Optional[Dict[str, Any]] = None) -> None:
        """The shape check of one object of the list at ``path`` (a page's item, or a
        watch event's object); ``typed``: the kind and apiVersion of a list's items,
        for an item that does not say them."""
        if not isinstance(item, dict):
            raise ResponseError(f"{where}: expected an object, got {shape.type_name(item)}")
        if path.endswith("/events"):  # Events, by their table (model/events.py)
            shape.check(item, schema_of(EVENT_KIND), where, ResponseError)
        else:
            checked_role(item if "kind" in item or not typed else {**item, **typed}, where, ResponseError)

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
        return shape.check(obj, schema_of(SERVICE), f"GET {path}", ResponseError)

    def service_events(self, namespace: str, name: str, reason: str) -> List[Event]:
        """The Events of one reason about a service, checked and modelled (one page)."""
        selector = f"involvedObject.kind=Service,involvedObject.name={name},reason={reason}"
        path = f"/api/v1/namespaces/{segment(namespace)}/events"
        page = self.request("GET", path, [("fieldSelector", selector)])
        return [event_model(e) for e in self._page_items(page, path, 0)]

    def snapshot(
        self,
        events: bool = False,
        metallb_release: bool = True,
        network: Any = False,
        statuses_of: Optional[Tuple[str, str]] = None,
        cilium: bool = False,
    ) -> Snapshot:
        # what is read in any case is asked for at once, each by a kubectl of its own
        self.prefetch(POOLS_PATH)
        self.prefetch(SERVICES_PATH)
        if events:
            self.prefetch(EVENTS_PATH, ALLOCATION_FAILED)
        if metallb_release:  # where MetalLB usually is, and the CRDs it serves
            self.prefetch(DEPLOYMENTS_PATH.format(LEGACY_CONFIGMAP[0]))
            self.prefetch(METALLB_GROUP_PATH, paged=False)
        if cilium:  # whether cilium.io is served: the rest is read only then
            self.prefetch(CILIUM_GROUP_PATH, paged=False)
        try:
            snap = self._snapshot(events, metallb_release, network, statuses_of, cilium)
            if cilium:
                self.read_cilium(snap)
                if snap.metallb_absent and not snap.cilium_present and snap.cilium_operator is None:
                    raise ClusterError(f"{snap.metallb_absent}, and Cilium LB-IPAM is not installed either")
            return snap
        finally:
            for child in self._pending.values():  # asked for, not needed
                child.cancel()
            self._pending.clear()

    def _snapshot(
        self,
        events: bool,
        metallb_release: bool,
        network: Any,
        statuses_of: Optional[Tuple[str, str]],
        cilium: bool = False,
    ) -> Snapshot:
        snap = Snapshot(source=_Source(self), live=True, keep_objects=False)
        try:
            snap.pools = list(self.list_all(POOLS_PATH, trim_pool))
        except NotFound:
            try:
                snap.legacy_configmap = self._legacy_configmap()
            except ClusterError as exc:
                if not cilium:  # MetalLB is all this command reads
                    raise
                snap.metallb_absent = str(exc)  # Cilium may be what the cluster runs
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
            log.info("MetalLB release: cannot list Deployments in %s (%s); told from the CRDs served", namespace, exc)
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
            log.info("MetalLB release: cannot read %s (%s); the newest assumed", METALLB_GROUP_PATH, exc)
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
            items = self._list_kind(kind, paths, trim_own_kind, snap.network_notes, query)
            if items is not None:
                snap.network_objects[kind] = [o for o in items if keep(o)]
                present.add(kind)

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

    def _list_kind(
        self,
        kind: str,
        paths: List[str],
        trim: Callable[[dict], dict],
        notes: List[str],
        query: Optional[List[Tuple[str, str]]] = None,
        missing: str = "not checked",
    ) -> Optional[List[dict]]:
        """The objects of a kind from the first of ``paths`` the API serves, each typed
        (list items carry no kind), trimmed and checked for shape. None when no path is
        served (404: said with -v) or the identity may not list it (403: a note)."""
        for path in paths:
            try:
                items = self.list_all(path, _typed(_api_of(path), kind, trim), query)
            except NotFound:
                log.info("%s is not served (%s): %s", kind, path, missing)
                continue
            except AccessError as exc:
                notes.append(f"note: {kind} {missing}: {exc}")
                return None
            for i, obj in enumerate(items, start=1):
                checked_role(obj, f"GET {path}: item {i}", ResponseError)
            return items
        return None

    def read_cilium(self, snap: Snapshot) -> None:
        """Cilium's LB-IPAM objects (pools, L2 announcement policies), each checked for
        shape and trimmed, and the cilium-operator Deployment's image. A kind the API
        does not serve (404: Cilium, or that version of it, is not installed) is absent,
        not an error (said with -v); one the identity may not list (403) is absent with
        a note."""
        try:
            group = self.request("GET", CILIUM_GROUP_PATH)
        except NotFound:  # Cilium is not installed (said by the request's own log line)
            snap.cilium_present = frozenset()
            return
        except AccessError as exc:
            snap.cilium_notes.append(f"note: Cilium's kinds not read: {exc}")
            snap.cilium_present = frozenset()
            return
        log.info("cilium.io is served (%s)", ", ".join(_group_versions(group)) or "no version listed")
        present = set()
        for kind, paths in CILIUM_PATHS.items():
            items = self._list_kind(kind, paths, trim_own_kind, snap.cilium_notes, missing="not read")
            if items is not None:
                snap.cilium_objects[kind] = items
                present.add(kind)
        snap.cilium_present = frozenset(present)
        namespace, name = CILIUM_OPERATOR
        try:
            deployments = self.list_all(DEPLOYMENTS_PATH.format(segment(namespace)), _trim_deployment)
        except (AccessError, NotFound, ResponseError) as exc:
            log.info("cilium-operator: cannot list Deployments in %s (%s)", namespace, exc)
            return
        for dep in deployments:
            if dep["name"] == name and dep["images"]:
                snap.cilium_operator = (f"{namespace}/{name}", dep["images"][0])
        self.read_cilium_config(snap)

    def read_cilium_config(self, snap: Snapshot) -> None:
        """The settings of the operator that decide which services it serves and which
        families it hands out (model.cilium.CONFIG_KEYS), from the cilium-config
        ConfigMap; absent or unreadable, the operator's own defaults apply."""
        namespace, name = CILIUM_CONFIG
        path = f"/api/v1/namespaces/{segment(namespace)}/configmaps/{segment(name)}"
        try:
            obj = self.request("GET", path)
        except NotFound:
            return
        except AccessError as exc:
            snap.cilium_notes.append(
                f"note: ConfigMap {namespace}/{name} not read ({exc}): the operator's defaults apply"
            )
            return
        data = obj.get("data") if isinstance(obj, dict) else None
        if isinstance(data, dict):
            snap.cilium_config = {k: data[k] for k in cilium.CONFIG_KEYS if isinstance(data.get(k), str)}

    def _legacy_configmap(self) -> Dict[str, Any]:
        ns, name = LEGACY_CONFIGMAP
        try:
            return self.get_configmap(ns, name)
        except NotFound:
            raise ClusterError(
                "MetalLB is not installed: the IPAddressPool CRD "
                "(ipaddresspools.metallb.io) is absent and there is no legacy "
                f"ConfigMap {ns}/{name}"
            ) from None

    def get_configmap(self, namespace: str, name: str) -> Dict[str, Any]:
        """MetalLB's legacy ConfigMap, checked for shape (NotFound when absent)."""
        path = f"/api/v1/namespaces/{segment(namespace)}/configmaps/{segment(name)}"
        obj = self.request("GET", path)
        if not isinstance(obj, dict):
            raise ResponseError(f"GET {path}: the answer is not a ConfigMap")
        return shape.check(obj, schema_of(shape.LEGACY), f"GET {path}", ResponseError)

    def allocation_failures(self) -> Dict[str, str]:
        """The latest AllocationFailed message per "namespace/name" of a service."""
        return latest_failures(self.list_all(EVENTS_PATH, event_model, ALLOCATION_FAILED))

    # --- writes
    def patch_service(self, namespace: str, name: str, patch: Dict[str, Any], dry_run: bool = False) -> Dict[str, Any]:
        """A JSON merge patch; the patch carries metadata.resourceVersion, so the API
        server refuses it (409) if the service changed since it was read."""
        if not (patch.get("metadata") or {}).get("resourceVersion"):
            raise ValueError("a patch must carry the resourceVersion it was planned on")
        return self.door.patch(service_path(namespace, name), patch, dry_run=dry_run)  # type: ignore[union-attr]


def event_model(obj: Dict[str, Any]) -> Event:
    """The model of an Event checked for shape (check_item), from its table
    (shape.MODELS: model/events.py's Event)."""
    return build(MODELS[EVENT_KIND], obj)


def _list_version(page: Any) -> str:
    """A list's resourceVersion ("" when it has none; its shape is checked after)."""
    meta = page.get("metadata") if isinstance(page, dict) else None
    version = meta.get("resourceVersion") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else ""


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


def _typed(api: str, kind: str, trim: Callable[[dict], dict]) -> Callable[[dict], dict]:
    """trim for the items of a list, which carry no kind or apiVersion of their own."""
    return lambda obj: trim(dict(obj, kind=kind, apiVersion=obj.get("apiVersion") or api))


def _group_versions(group: Any) -> List[str]:
    """The versions an API group's discovery document lists."""
    versions = group.get("versions") if isinstance(group, dict) else None
    return [str(v.get("version")) for v in versions or () if isinstance(v, dict) and v.get("version")]


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


def _page_query(query: Optional[List[Tuple[str, str]]], token: str) -> List[Tuple[str, str]]:
    return list(query or []) + [("limit", str(PAGE_SIZE))] + ([("continue", token)] if token else [])


def _continue_token(page: Dict[str, Any], path: str) -> str:
    meta = page.get("metadata") or {}
    token = meta.get("continue") if isinstance(meta, dict) else None
    if token is not None and not isinstance(token, str):
        raise ResponseError(f"GET {path}: field metadata.continue: expected a string")
    return token or ""


class _Source:
    """A live snapshot's source, for messages: the cluster and context, asked of
    kubectl (`kubectl config view`, a process of its own) only when a message is
    written, not on every command."""

    def __init__(self, client: LiveClient):
        self.client = client

    def __str__(self) -> str:
        return f"cluster {self.client.server} (context {self.client.context or 'in-cluster'})"


def connect(
    kubeconfig: Optional[str] = None,
    context: Optional[str] = None,
    *,
    request_timeout: Optional[float] = DEFAULT_REQUEST_TIMEOUT,
    **flags: Any,
) -> LiveClient:
    """The cluster kubectl reaches with the same flags (kubeconfig, context, and the
    other global flags as keywords: server, token, cluster, user,
    certificate_authority, client_certificate, client_key, insecure_skip_tls_verify,
    tls_server_name, as_user, as_group, as_uid); ``request_timeout`` seconds for
    everything the command waits on (0: no deadline)."""
    door = Door(request_timeout, kubeconfig=kubeconfig, context=context, **flags)
    door.prepare()  # the proxy starts now, ready for the first request
    return LiveClient(door)

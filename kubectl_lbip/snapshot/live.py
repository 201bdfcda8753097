"""The live cluster, through the official kubernetes client.

Lists are paged (limit 500 with continue) and read as raw JSON: the client's
model deserialisation is an order of magnitude slower on large lists, and only the
fields the model needs are kept from each page, so memory follows what we keep,
not what the server sends."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import AccessError, ClusterError, ConflictError, UsageError
from ..model import metallb
from . import LEGACY_CONFIGMAP, Snapshot
from .trim import trim_namespace, trim_pool, trim_service

log = logging.getLogger("kubectl_lbip")

PAGE_SIZE = 500
TIMEOUT = (10, 120)  # connect, read (seconds)
POOLS_PATH = "/apis/metallb.io/v1beta1/ipaddresspools"
SERVICES_PATH = "/api/v1/services"
NAMESPACES_PATH = "/api/v1/namespaces"
EVENTS_PATH = "/api/v1/events"
METALLB_GROUP_PATH = "/apis/metallb.io/v1beta1"
DEPLOYMENTS_PATH = "/apis/apps/v1/namespaces/{}/deployments"

_RESOURCE_NAMES = {
    POOLS_PATH: "ipaddresspools.metallb.io",
    SERVICES_PATH: "services",
    NAMESPACES_PATH: "namespaces",
    EVENTS_PATH: "events",
}

class LiveClient:
    """One API server, as kubectl would reach it with the same flags."""

    def __init__(self, api_client, namespace: str, server: str, context: str = ""):
        self.api = api_client
        self.namespace = namespace
        self.server = server
        self.context = context

    # --- plumbing
    def request(self, method: str, path: str, query: Optional[List[Tuple[str, str]]] = None,
                body: Any = None, content_type: Optional[str] = None) -> Any:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        started = time.monotonic()
        status: Any = "error"
        try:
            try:
                data, status, _ = self.api.call_api(
                    path, method, query_params=query or [], header_params=headers, body=body,
                    auth_settings=["BearerToken"], _preload_content=False,
                    _request_timeout=TIMEOUT)
                payload = data.data
            except Exception as exc:  # mapped to one clear error below
                status = getattr(exc, "status", None) or "error"
                raise self._translate(exc, method, path) from None
            try:
                return json.loads(payload) if payload else {}
            except ValueError:  # a web server or a proxy's page, not an API server
                raise ClusterError(f"{method} {path}: the answer of {self.server} is not JSON; "
                                   "is it a Kubernetes API server?") from None
        finally:
            shown = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
            log.info("%s %s %s %.0fms", method, shown, status, (time.monotonic() - started) * 1000)

    def _translate(self, exc: Exception, method: str, path: str) -> Exception:
        from kubernetes.client.exceptions import ApiException

        if isinstance(exc, ApiException):
            message = _status_message(exc)
            if exc.status == 401:
                return AccessError(f"unauthorized (401) at {self.server}: the credentials of "
                                    f"context {self.context or '<in-cluster>'} were refused")
            if exc.status == 403:
                verb = {"GET": "list" if _is_collection(path) else "get", "PATCH": "patch"}.get(method, method.lower())
                return AccessError(f"forbidden: cannot {verb} {_resource_of(path)} "
                                    f"{_scope_of(path)}: {message}")
            if exc.status == 409:
                return ConflictError(message or "conflict")
            if exc.status == 404:
                return NotFound(message or f"{path} not found")
            if exc.status == 410:
                return Expired(message or "the list's continue token expired")
            if exc.status == 422 or exc.status == 400:
                return UsageError(f"the API server refused the change: {message}")
            return ClusterError(f"{method} {path} failed ({exc.status}): {message or exc.reason}")
        reason = getattr(exc, "reason", None) or exc
        return ClusterError(f"cannot reach the API server at {self.server}: {_short(reason)}")

    def list_all(self, path: str, trim: Callable[[dict], dict],
                 query: Optional[List[Tuple[str, str]]] = None) -> List[dict]:
        """Every item of a list, page by page, trimmed as it is read. A continue token
        that expired (410 Gone: the list took longer than etcd keeps its revision)
        restarts the list once from the beginning, as client-go's pager does."""
        for attempt in (1, 2):
            items: List[dict] = []
            token = ""
            try:
                while True:
                    params = list(query or []) + [("limit", str(PAGE_SIZE))]
                    if token:
                        params.append(("continue", token))
                    page = self.request("GET", path, params)
                    items.extend(trim(item) for item in page.get("items") or ())
                    token = (page.get("metadata") or {}).get("continue") or ""
                    if not token:
                        return items
            except Expired:
                if attempt == 2:
                    raise
                log.info("continue token expired; listing %s again", path)
        return []  # not reached

    # --- reads
    def get_service(self, namespace: str, name: str) -> Dict[str, Any]:
        try:
            return self.request("GET", f"/api/v1/namespaces/{namespace}/services/{name}")
        except NotFound:
            raise UsageError(f'service "{name}" not found in namespace "{namespace}"') from None

    def service_events(self, namespace: str, name: str, reason: str) -> List[dict]:
        selector = f"involvedObject.kind=Service,involvedObject.name={name},reason={reason}"
        page = self.request("GET", f"/api/v1/namespaces/{namespace}/events",
                            [("fieldSelector", selector)])
        return list(page.get("items") or ())

    def snapshot(self, events: bool = False, metallb_release: bool = True) -> Snapshot:
        snap = Snapshot(source=f"cluster {self.server} (context {self.context or 'in-cluster'})",
                        live=True, keep_objects=False)
        try:
            snap.pools = list(self.list_all(POOLS_PATH, trim_pool))
        except NotFound:
            snap.legacy_configmap = self._legacy_configmap()
        snap.services = list(self.list_all(SERVICES_PATH, trim_service))
        if any(((p.get("spec") or {}).get("serviceAllocation") or {}).get("namespaceSelectors")
               for p in snap.pools):
            snap.namespaces = list(self.list_all(NAMESPACES_PATH, trim_namespace))
        if events:
            snap.allocation_failures = self.allocation_failures()
        if metallb_release:
            snap.metallb = self.metallb_release(snap.pools_namespace,
                                                legacy=snap.uses_legacy_config)
        return snap

    def metallb_release(self, namespace: str, legacy: bool = False) -> metallb.Release:
        """Which MetalLB runs: the image tag of its controller Deployment in the
        namespace of the pools; without read access to Deployments (or no tag to
        read), from the metallb.io resources the API server serves."""
        readable = True
        try:
            deployments = self.list_all(DEPLOYMENTS_PATH.format(namespace), _trim_deployment)
        except (AccessError, NotFound) as exc:
            log.info("MetalLB release: cannot list Deployments in %s (%s); told from the CRDs "
                     "served", namespace, _short(exc))
            deployments, readable = [], False
        for dep in deployments:
            for image in dep["images"]:
                if not metallb.is_controller_image(image):
                    continue
                version = metallb.version_from_image(image)
                where = f"from deployment {namespace}/{dep['name']}, image {image}"
                if version is not None:
                    return metallb.Release(version, metallb.text(version), "deployment", where)
                log.info("MetalLB release: %s has no version in its tag; told from the CRDs "
                         "served", where)
        if readable and not legacy:
            log.info("MetalLB release: no controller image with a version among the "
                     "Deployments in %s; told from the CRDs served", namespace)
        if legacy:
            return metallb.Release.newest_assumed(
                "only its legacy ConfigMap, from before v0.13, is read")
        try:
            group = self.request("GET", METALLB_GROUP_PATH)
        except (AccessError, NotFound) as exc:
            log.info("MetalLB release: cannot read %s (%s); the newest assumed",
                     METALLB_GROUP_PATH, _short(exc))
            return metallb.Release.newest_assumed("neither its Deployment nor its CRDs readable")
        resources = group.get("resources") if isinstance(group, dict) else None
        names = [str(r.get("name") or "") for r in resources
                 if isinstance(r, dict)] if isinstance(resources, list) else []
        found = metallb.version_from_resources(names)
        if found is None:
            return metallb.Release.newest_assumed("no MetalLB resource served")
        label, version = found
        log.info("MetalLB release: %s, told from the metallb.io resources served (%s)", label,
                 ", ".join(sorted(n for n in names if "/" not in n)))
        return metallb.Release(version, label, "crds", "from the metallb.io CRDs served")

    def _legacy_configmap(self) -> Dict[str, Any]:
        ns, name = LEGACY_CONFIGMAP
        try:
            return self.request("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}")
        except NotFound:
            raise ClusterError("MetalLB is not installed: the IPAddressPool CRD "
                               "(ipaddresspools.metallb.io) is absent and there is no legacy "
                               f"ConfigMap {ns}/{name}") from None

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
    def patch_service(self, namespace: str, name: str, patch: Dict[str, Any],
                      dry_run: bool = False) -> Dict[str, Any]:
        """A JSON merge patch; the patch carries metadata.resourceVersion, so the API
        server refuses it (409) if the service changed since it was read."""
        if not (patch.get("metadata") or {}).get("resourceVersion"):
            raise ValueError("a patch must carry the resourceVersion it was planned on")
        query = [("dryRun", "All")] if dry_run else []
        return self.request("PATCH", f"/api/v1/namespaces/{namespace}/services/{name}", query,
                            body=patch, content_type="application/merge-patch+json")


class NotFound(ClusterError):
    pass


def _trim_deployment(obj: Any) -> dict:
    """A Deployment's name and container images (any other shape: none)."""
    def field(parent: Any, key: str) -> Any:
        return parent.get(key) if isinstance(parent, dict) else None

    spec = field(field(field(obj, "spec"), "template"), "spec")
    containers = field(spec, "containers")
    images = [str(c.get("image") or "") for c in containers
              if isinstance(c, dict)] if isinstance(containers, list) else []
    return {"name": str(field(field(obj, "metadata"), "name") or ""), "images": images}


class Expired(ClusterError):
    pass


def _status_message(exc) -> str:
    try:
        return json.loads(exc.body).get("message") or ""
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason or "")


def _is_collection(path: str) -> bool:
    parts = path.strip("/").split("/")
    return parts[-1] in ("services", "ipaddresspools", "namespaces", "events", "configmaps",
                         "deployments")


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


def connect(kubeconfig: Optional[str] = None, context: Optional[str] = None) -> LiveClient:
    """Resolve the configuration as kubectl does: --kubeconfig, else KUBECONFIG (a
    list of files merged), else ~/.kube/config, else the in-cluster service account;
    --context, else the current context; the context's namespace."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config import incluster_config
    from kubernetes.config.config_exception import ConfigException

    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    files = [p for p in path.split(os.pathsep) if p]
    if kubeconfig and not os.path.exists(kubeconfig):
        raise UsageError(f"kubeconfig {kubeconfig!r} does not exist")
    configuration = k8s_client.Configuration()
    configuration.retries = 1
    if not any(os.path.exists(os.path.expanduser(p)) for p in files):
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not context:
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except ConfigException as exc:
                raise ClusterError(f"in-cluster configuration failed: {exc}") from None
            # the pod's namespace, next to the token the client read
            ns_file = os.path.join(os.path.dirname(incluster_config.SERVICE_TOKEN_FILENAME),
                                   "namespace")
            namespace = "default"
            if os.path.exists(ns_file):
                with open(ns_file) as f:
                    namespace = f.read().strip() or "default"
            return LiveClient(k8s_client.ApiClient(configuration), namespace, configuration.host)
        raise ClusterError("no kubeconfig found (tried "
                           f"{', '.join(files) or '~/.kube/config'}) and not running in a cluster; "
                           "use --kubeconfig, KUBECONFIG, or -f to read manifests")
    contexts, current = _contexts(files)
    name = context or current
    if not name:
        raise UsageError("the kubeconfig has no current context; use --context")
    chosen = contexts.get(name)
    if chosen is None:
        if context:
            raise UsageError(f'context "{context}" does not exist in the kubeconfig')
        raise UsageError(f'the current context "{name}" does not exist in the kubeconfig; '
                         "use --context")
    try:
        # the context is always named: the client's loader would otherwise read the
        # current-context as it merges it (the last file's), and fail on a stale one
        k8s_config.load_kube_config(config_file=path, context=name,
                                    client_configuration=configuration, persist_config=False)
    except ConfigException as exc:
        raise UsageError(f"invalid kubeconfig: {exc}") from None
    namespace = (chosen.get("context") or {}).get("namespace") or "default"
    return LiveClient(k8s_client.ApiClient(configuration), namespace, configuration.host, name)


def _contexts(files: List[str]) -> Tuple[Dict[str, Dict[str, Any]], str]:
    """The contexts and the current context of a list of kubeconfig files, merged as
    kubectl merges KUBECONFIG: the first file to define a context name, and the
    first file to set a non-empty current-context, win; missing files are skipped."""
    import yaml

    contexts: Dict[str, Dict[str, Any]] = {}
    current = ""
    for p in files:
        p = os.path.expanduser(p)
        if not os.path.exists(p):
            continue
        try:
            with open(p) as f:
                doc = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"invalid kubeconfig {p}: {exc}") from None
        if not isinstance(doc, dict):
            raise UsageError(f"invalid kubeconfig {p}: not a YAML mapping")
        for entry in doc.get("contexts") or ():
            if isinstance(entry, dict) and entry.get("name"):
                contexts.setdefault(str(entry["name"]), entry)
        if not current and doc.get("current-context"):
            current = str(doc["current-context"])
    return contexts, current

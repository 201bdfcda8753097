"""A small fake Kubernetes API server for the live path's tests.

Plain HTTP (optionally TLS) on 127.0.0.1 with a free port, served by
``http.server.ThreadingHTTPServer`` with HTTP/1.1 keep-alive, so the official
``kubernetes`` client talks to it exactly as it talks to a kube-apiserver: same
URLs, bearer tokens, ``limit``/``continue`` paging, merge patches with a
``metadata.resourceVersion`` precondition, ``dryRun=All`` and ``Status`` bodies.

What it serves::

    GET   /apis/metallb.io/v1beta1/ipaddresspools           (404 "page not found" when
                                                             the CRDs are absent)
    GET   /api/v1/services | /api/v1/namespaces | /api/v1/events   (fieldSelector a=b,c=d)
    GET   /api/v1/namespaces/{ns}/services[/{name}] | /api/v1/namespaces/{ns}/events
    PATCH /api/v1/namespaces/{ns}/services/{name}           (merge patch only)
    POST  /api/v1/namespaces/{ns}/pods, GET|DELETE .../pods/{name}, GET .../pods/{name}/log
    GET   /api/v1/namespaces/metallb-system/configmaps/config
    GET   /apis/apps/v1/namespaces/{ns}/deployments         (``deployments``: ns -> objects)
    GET   /apis/metallb.io/v1beta1                          (discovery: ``metallb_resources``)
    GET   /apis/metallb.io/v1beta1/{plural}                 (``metallb_lists``: plural -> objects)
    GET   any of those lists with ?watch=1&resourceVersion=N  (a chunked stream of the events
                                                             recorded after N by ``change``;
                                                             ``gone_before``, ``gone_as_event``
                                                             and ``drop_after`` misbehave)

Every request is recorded (method, path, query, headers, body, user) in
``FakeAPI.requests``.  Knobs: ``tokens`` (token -> user name; a request without
one of them gets 401), ``forbidden`` (a set of (verb, resource) pairs answered
403), ``crds`` (False: the MetalLB API group is absent), ``configmap`` (the legacy
ConfigMap, or None), ``concurrent_write(ns, name)`` (another writer changes the
service just before our next PATCH of it) and ``fail_next`` (answer the next
matching request with a given status), ``respond`` (a function of the Recorded
request answering it first when it returns (code, body) or (code, body, headers):
hostile answers such as a JSON array, a list whose continue token never ends, or a
429 with Retry-After) and ``trickle`` (seconds between single bytes of every answer
body: a server that is slow on purpose; with ``None`` for the body, a server that
accepts and never answers)."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

import yaml

POOLS = "/apis/metallb.io/v1beta1/ipaddresspools"
SERVICES = "/api/v1/services"
NAMESPACES = "/api/v1/namespaces"
EVENTS = "/api/v1/events"
LEGACY_CM = "/api/v1/namespaces/metallb-system/configmaps/config"
METALLB_GROUP = "/apis/metallb.io/v1beta1"
# What MetalLB v0.16.1's CRDs make the API server list for metallb.io/v1beta1.
V0_16_RESOURCES = (
    "bfdprofiles",
    "bgpadvertisements",
    "bgppeers",
    "communities",
    "configurationstates",
    "configurationstates/status",
    "ipaddresspools",
    "ipaddresspools/status",
    "l2advertisements",
    "servicebgpstatuses",
    "servicebgpstatuses/status",
    "servicel2statuses",
    "servicel2statuses/status",
)


def _resources(group_version: str, *names: str) -> dict:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": n,
                "singularName": n[:-1],
                "namespaced": n != "namespaces",
                "kind": kind,
                "verbs": ["get", "list", "patch"],
            }
            for n, kind in (name.split(":") for name in names)
        ],
    }


# Legacy discovery (what kubectl reads to map a resource name to its path).
DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            }
        ],
    },
    "/api/v1": _resources("v1", "services:Service", "configmaps:ConfigMap", "namespaces:Namespace", "events:Event"),
    "/apis/apps/v1": _resources("apps/v1", "deployments:Deployment"),
}


def deployments_path(ns: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments"


def deployment(name: str, image: str, namespace: str = "metallb-system") -> dict:
    """A Deployment as MetalLB's manifests create it (one container)."""
    labels = {"app": "metallb", "component": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "managedFields": copy.deepcopy(MANAGED_FIELDS),
        },
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": image, "args": ["--port=7472"]}]},
            },
        },
    }


# What the API server attaches to every object and the plugin must not keep.
MANAGED_FIELDS = [
    {
        "manager": "kubectl-client-side-apply",
        "operation": "Update",
        "apiVersion": "v1",
        "time": "2026-10-05T11:01:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:annotations": {".": {}}}, "f:spec": {"f:ports": {}}},
    }
]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


# --- objects, as `kubectl get -o json` prints them (with the noise a server adds)


def pool(name: str, *addresses: str, namespace: str = "metallb-system", **spec: Any) -> dict:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-pool-{name}",
            "generation": 1,
            "creationTimestamp": "2026-10-02T09:14:03Z",
            "managedFields": copy.deepcopy(MANAGED_FIELDS),
        },
        "spec": {"addresses": list(addresses), **spec},
    }


def service(
    namespace: str,
    name: str,
    *,
    cluster_ip: str = "10.96.0.10",
    ingress: Tuple[str, ...] = (),
    annotations: Optional[dict] = None,
    lb_type: str = "LoadBalancer",
    port: int = 80,
    labels: Optional[dict] = None,
) -> dict:
    meta: Dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{namespace}-{name}",
        "creationTimestamp": "2026-10-05T11:01:00Z",
        "labels": dict(labels or {"app": name}),
        "annotations": {LAST_APPLIED: json.dumps({"kind": "Service", "x": "y" * 200}), **(annotations or {})},
        "managedFields": copy.deepcopy(MANAGED_FIELDS),
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": lb_type,
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [
                {"name": "http", "protocol": "TCP", "port": port, "targetPort": port, "nodePort": 30000 + port % 2000}
            ],
            "selector": {"app": name},
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "allocateLoadBalancerNodePorts": True,
        },
        "status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in ingress]}},
    }


def namespace(name: str, labels: Optional[dict] = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": f"uid-ns-{name}",
            "labels": {"kubernetes.io/metadata.name": name, **(labels or {})},
            "managedFields": copy.deepcopy(MANAGED_FIELDS),
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def allocation_failed(ns: str, name: str, message: str, when: str = "2026-10-05T12:00:00Z") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.17f0a1b2c3d4e5f6", "namespace": ns},
        "involvedObject": {
            "kind": "Service",
            "namespace": ns,
            "name": name,
            "apiVersion": "v1",
            "uid": f"uid-{ns}-{name}",
        },
        "reason": "AllocationFailed",
        "message": message,
        "type": "Warning",
        "source": {"component": "metallb-controller"},
        "count": 3,
        "firstTimestamp": when,
        "lastTimestamp": when,
    }


def legacy_configmap(config_yaml: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config", "namespace": "metallb-system", "resourceVersion": "7"},
        "data": {"config": config_yaml},
    }


def status_body(code: int, reason: str, message: str, details: Optional[dict] = None) -> dict:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


# --- kubeconfigs


# The certificate and key every FakeAPI serves TLS with unless told otherwise, and the
# CA kubeconfig_dict trusts for https servers (set by the tests' conftest): kubectl
# sends a bearer token only over TLS, as a real cluster is reached.
DEFAULT_TLS: Optional[Tuple[str, str]] = None


def kubeconfig_dict(
    clusters: Dict[str, str], users: Dict[str, dict], contexts: Dict[str, dict], current: Optional[str] = None
) -> dict:
    """clusters: name -> server (an https server is trusted with DEFAULT_TLS's
    certificate); users: name -> user stanza; contexts: name -> context stanza."""

    def cluster(server: str) -> dict:
        if server.startswith("https://") and DEFAULT_TLS:
            return {"server": server, "certificate-authority": DEFAULT_TLS[0]}
        return {"server": server}

    doc: dict = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": n, "cluster": cluster(s)} for n, s in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def write_yaml(path: Path, doc: dict) -> str:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


# --- the server


@dataclass
class Recorded:
    method: str
    path: str
    query: List[Tuple[str, str]]
    headers: Dict[str, str]
    body: Any = None
    user: Optional[str] = None
    status: int = 0
    gzipped: bool = False  # the answer was sent compressed (Content-Encoding: gzip)
    groups: List[str] = field(default_factory=list)  # each Impersonate-Group header, in order

    def param(self, name: str) -> Optional[str]:
        values = [v for k, v in self.query if k == name]
        return values[-1] if values else None


@dataclass
class FakeAPI:
    tokens: Dict[str, str] = field(default_factory=lambda: {"fake-token": "admin"})
    tls: Any = None  # (certfile, keyfile); None: DEFAULT_TLS; False: plain http
    crds: bool = True
    configmap: Optional[dict] = None
    forbidden: set = field(default_factory=set)  # {("list", "services"), ("patch", "services")}
    pools: List[dict] = field(default_factory=list)
    services: Dict[Tuple[str, str], dict] = field(default_factory=dict)
    namespaces: List[dict] = field(default_factory=list)
    events: List[dict] = field(default_factory=list)
    deployments: Dict[str, List[dict]] = field(default_factory=dict)
    # MetalLB's other kinds by plural ("l2advertisements": [...]); a plural absent here
    # is not served (404)
    metallb_lists: Dict[str, List[dict]] = field(default_factory=dict)
    metallb_resources: Tuple[str, ...] = V0_16_RESOURCES
    requests: List[Recorded] = field(default_factory=list)
    discovery: List[Recorded] = field(default_factory=list)  # /version, /api, /apis, ...
    # Pods (probe --from-cluster): created by POST (generateName gets a suffix), read,
    # deleted; each GET of a pod answers the next of ``pod_statuses`` (the last one
    # again and again), its log is ``pod_log``.
    pods: Dict[Tuple[str, str], dict] = field(default_factory=dict)
    pod_statuses: List[dict] = field(default_factory=lambda: [{"phase": "Pending"}])
    pod_log: str = ""
    respond: Any = None
    trickle: Optional[float] = None
    never_answer: bool = False
    # watches: a resourceVersion below this is 410 Gone (an answer, or with
    # gone_as_event an ERROR event in a 200 stream); drop_after: the next watch
    # streams are cut (the connection closed, no last chunk) after that many events
    # each, one stream per entry
    gone_before: int = 0
    gone_as_event: bool = False
    drop_after: List[int] = field(default_factory=list)
    watch_log: List[Tuple[int, str, str, dict]] = field(default_factory=list)  # (rv, path, type, object)
    # keep only this many changes for watches (0: all), as etcd compacts: a watch from
    # before the oldest kept is 410 Gone
    watch_keep: int = 0

    def __post_init__(self):
        if self.tls is None:
            self.tls = DEFAULT_TLS
        self._lock = threading.Lock()
        self._rv = 1000
        self._concurrent: Dict[Tuple[str, str], dict] = {}
        self._fail_next: List[Tuple[str, str, int, Any]] = []
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._changed = threading.Condition(self._lock)
        self._stopping = False

    # --- state
    def next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def add_pool(self, obj: dict) -> dict:
        obj["metadata"]["resourceVersion"] = self.next_rv()
        self.pools.append(obj)
        return obj

    def add_service(self, obj: dict) -> dict:
        meta = obj["metadata"]
        meta["resourceVersion"] = self.next_rv()
        self.services[(meta["namespace"], meta["name"])] = obj
        return obj

    def service(self, ns: str, name: str) -> dict:
        return self.services[(ns, name)]

    def change(self, path: str, kind: str, obj: dict) -> dict:
        """A change a watch of ``path`` (SERVICES, POOLS or EVENTS) sees: ``kind`` ADDED,
        MODIFIED or DELETED of ``obj`` (given a new resourceVersion), applied to what
        the lists answer too. Thread-safe: call it while watches stream."""
        with self._changed:
            obj = copy.deepcopy(obj)
            meta = obj["metadata"]
            meta["resourceVersion"] = self.next_rv()
            key = (meta.get("namespace"), meta["name"])
            if path == SERVICES:
                if kind == "DELETED":
                    self.services.pop(key, None)
                else:
                    self.services[key] = obj
            else:
                items = self.pools if path == POOLS else self.events
                items[:] = [i for i in items if (i["metadata"].get("namespace"), i["metadata"]["name"]) != key]
                if kind != "DELETED":
                    items.append(obj)
            self.watch_log.append((self._rv, path, kind, obj))
            if self.watch_keep and len(self.watch_log) > 2 * self.watch_keep:
                del self.watch_log[: len(self.watch_log) - self.watch_keep]
                self.gone_before = self.watch_log[0][0] - 1
            self._changed.notify_all()
            return obj

    def watches(self, path: Optional[str] = None) -> List[Recorded]:
        """The watch requests (of ``path``) made so far."""
        return [r for r in self.requests if r.param("watch") and (path is None or r.path == path)]

    def concurrent_write(self, ns: str, name: str, annotations: Optional[dict] = None) -> None:
        """Another writer changes the service just before our next PATCH of it."""
        self._concurrent[(ns, name)] = annotations or {"example.com/touched-by": "someone-else"}

    def fail_next(self, method: str, path: str, code: int, body: Any = None) -> None:
        """Answer the next `method path` with `code` and `body` (a dict is sent as JSON, a
        str as text/plain; default: an InternalError Status saying "boom")."""
        self._fail_next.append((method, path, code, body or status_body(code, "InternalError", "boom")))

    def calls(self, method: Optional[str] = None, path: Optional[str] = None) -> List[Recorded]:
        return [r for r in self.requests if (method is None or r.method == method) and (path is None or r.path == path)]

    # --- lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def start(self) -> "FakeAPI":
        api = self

        class Handler(_Handler):
            fake = api

        server = _Server(("127.0.0.1", 0), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fakeapi-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    # --- request handling (called from the handler threads, under the lock)
    def handle(self, rec: Recorded) -> Tuple[int, Any]:
        auth = rec.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        user = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        rec.user = user
        if self.respond is not None:
            answer = self.respond(rec)
            if answer is not None:
                return answer
        for i, (method, path, code, body) in enumerate(self._fail_next):
            if method == rec.method and path == rec.path:
                del self._fail_next[i]
                return code, body
        path = rec.path.rstrip("/")
        if rec.param("watch") in ("1", "true"):
            version = int(rec.param("resourceVersion") or 0)
            if version < self.gone_before and not self.gone_as_event:
                return 410, status_body(410, "Expired", f"too old resource version: {version} ({self.gone_before})")
            return 200, _Watch(path, version, float(rec.param("timeoutSeconds") or 60), rec.param("fieldSelector"))
        if path in DISCOVERY:  # what kubectl patch reads to map "services" to its path
            return 200, DISCOVERY[path]
        if path == POOLS:
            if not self.crds:
                return 404, "404 page not found\n"
            return self._list(
                rec, "ipaddresspools", "metallb.io", self.pools, "IPAddressPoolList", "metallb.io/v1beta1"
            )
        if path == SERVICES:
            items = [self.services[k] for k in sorted(self.services)]
            return self._list(rec, "services", "", items, "ServiceList", "v1")
        if path == NAMESPACES:
            return self._list(rec, "namespaces", "", self.namespaces, "NamespaceList", "v1")
        if path == EVENTS:
            return self._list(rec, "events", "", self.events, "EventList", "v1")
        if path == LEGACY_CM:
            denied = self._deny(rec, "get", "configmaps", "metallb-system", "config")
            if denied:
                return denied
            if self.configmap is None:
                return 404, status_body(
                    404, "NotFound", 'configmaps "config" not found', {"name": "config", "kind": "configmaps"}
                )
            return 200, self.configmap
        if path == METALLB_GROUP:
            if not self.crds:
                return 404, "404 page not found\n"
            return 200, {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": "metallb.io/v1beta1",
                "resources": [
                    {"name": n, "namespaced": True, "kind": n.split("/")[0].title()} for n in self.metallb_resources
                ],
            }
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:3] == ["apis", "metallb.io", "v1beta1"] and parts[3] in self.metallb_lists:
            kind = parts[3][:-1].replace("advertisement", "Advertisement").capitalize() + "List"
            return self._list(rec, parts[3], "metallb.io", self.metallb_lists[parts[3]], kind, "metallb.io/v1beta1")
        if len(parts) == 6 and parts[:4] == ["apis", "apps", "v1", "namespaces"] and parts[5] == "deployments":
            return self._list(
                rec, "deployments", "apps", self.deployments.get(parts[4], []), "DeploymentList", "apps/v1"
            )
        if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "services":
            items = [self.services[k] for k in sorted(self.services) if k[0] == parts[3]]
            return self._list(rec, "services", "", items, "ServiceList", "v1")
        if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "services":
            return self._service(rec, parts[3], parts[5])
        if len(parts) >= 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            return self._pod(rec, parts[3], parts[5] if len(parts) > 5 else None, parts[6:])
        if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "events":
            items = [e for e in self.events if (e.get("metadata") or {}).get("namespace") == parts[3]]
            return self._list(rec, "events", "", items, "EventList", "v1")
        return 404, "404 page not found\n"

    def _deny(
        self,
        rec: Recorded,
        verb: str,
        resource: str,
        ns: Optional[str] = None,
        name: Optional[str] = None,
        group: str = "",
    ) -> Optional[Tuple[int, dict]]:
        if (verb, resource) not in self.forbidden:
            return None
        full = f"{resource}.{group}" if group else resource
        what = f'{full} "{name}"' if name else full
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        message = (
            f'{what} is forbidden: User "{rec.user}" cannot {verb} resource "{resource}" in API group "{group}" {scope}'
        )
        details = {"kind": resource, **({"name": name} if name else {}), **({"group": group} if group else {})}
        return 403, status_body(403, "Forbidden", message, details)

    def _list(
        self, rec: Recorded, resource: str, group: str, items: List[dict], kind: str, api_version: str
    ) -> Tuple[int, Any]:
        denied = self._deny(rec, "list", resource, group=group)
        if denied:
            return denied
        selector = rec.param("fieldSelector")
        if selector:
            items = [i for i in items if _field_match(i, selector)]
        start = 0
        token = rec.param("continue")
        if token:
            try:
                start = json.loads(base64.urlsafe_b64decode(token))["start"]
            except (ValueError, KeyError, TypeError):
                return 400, status_body(400, "BadRequest", "continue key is not valid")
        limit = int(rec.param("limit") or 0)
        end = start + limit if limit > 0 else len(items)
        page = items[start:end]
        meta: Dict[str, Any] = {"resourceVersion": str(self._rv)}
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": end}).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        return 200, {"kind": kind, "apiVersion": api_version, "metadata": meta, "items": copy.deepcopy(page)}

    def _pod(self, rec: Recorded, ns: str, name: Optional[str], rest: List[str]) -> Tuple[int, Any]:
        verb = {"POST": "create", "GET": "get", "DELETE": "delete"}.get(rec.method)
        denied = self._deny(rec, verb or "", "pods", ns, name)
        if denied:
            return denied
        if name is None and rec.method == "POST":
            pod = copy.deepcopy(rec.body)
            meta = pod.setdefault("metadata", {})
            meta["name"] = meta.get("name") or f"{meta.get('generateName', 'pod-')}{len(self.pods) + 1:05d}"
            meta["namespace"], meta["resourceVersion"] = ns, self.next_rv()
            pod["status"] = {"phase": "Pending"}
            self.pods[(ns, meta["name"])] = pod
            return 201, pod
        if (ns, name) not in self.pods:
            return 404, status_body(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        pod = self.pods[(ns, name)]
        if rec.method == "DELETE":
            return 200, self.pods.pop((ns, name))
        if rest == ["log"]:
            return 200, self.pod_log
        status = self.pod_statuses.pop(0) if len(self.pod_statuses) > 1 else self.pod_statuses[0]
        pod["status"] = copy.deepcopy(status)
        return 200, pod

    def _service(self, rec: Recorded, ns: str, name: str) -> Tuple[int, Any]:
        verb = {"GET": "get", "PATCH": "patch"}.get(rec.method)
        if verb is None:
            return 405, status_body(405, "MethodNotAllowed", "the server does not allow this method")
        denied = self._deny(rec, verb, "services", ns, name)
        if denied:
            return denied
        key = (ns, name)
        if key not in self.services:
            return 404, status_body(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
        if verb == "get":
            return 200, self.services[key]
        if key in self._concurrent:  # someone else wrote first
            other = self._concurrent.pop(key)
            obj = self.services[key]
            obj["metadata"].setdefault("annotations", {}).update(other)
            obj["metadata"]["resourceVersion"] = self.next_rv()
        ctype = rec.headers.get("content-type", "")
        if ctype.split(";")[0].strip() != "application/merge-patch+json":
            return 415, status_body(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted "
                "media types include: application/json-patch+json, "
                "application/merge-patch+json, application/apply-patch+yaml",
            )
        patch = rec.body
        if not isinstance(patch, dict):
            return 400, status_body(400, "BadRequest", "the patch is not a JSON object")
        current = self.services[key]
        wanted_rv = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted_rv is not None and wanted_rv != current["metadata"]["resourceVersion"]:
            return 409, status_body(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on services "{name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": name, "kind": "services"},
            )
        result = merge_patch(current, patch)
        result["metadata"]["name"], result["metadata"]["namespace"] = name, ns
        if rec.param("dryRun") == "All":
            result["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return 200, result
        result["metadata"]["resourceVersion"] = self.next_rv()
        self.services[key] = result
        return 200, result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies application/merge-patch+json."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _field_match(obj: dict, selector: str) -> bool:
    for term in selector.split(","):
        path, _, want = term.partition("=")
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if str(value) != want:
            return False
    return True


class _Server(ThreadingHTTPServer):
    """A threading server that ends its connections when stopped: a client's
    kept-alive connection would otherwise keep its handler thread waiting for
    the next request for as long as the test process lives."""

    daemon_threads = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.connections: set = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A handler's own failure (a bug of this fake, or a client gone mid-answer),
        written to the process's real standard error: socketserver would print it to
        ``sys.stderr``, which a CliRunner invocation running at that moment has
        replaced, and the fake's traceback would read as the plugin's."""
        import sys
        import traceback

        print(f"fakeapi: a request from {client_address} failed:", file=sys.__stderr__)
        traceback.print_exc(file=sys.__stderr__)

    def close_connections(self) -> None:
        with self.connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeAPI

    def log_message(self, format, *args):  # quiet
        pass

    def _serve(self):
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        rec = Recorded(
            self.command,
            split.path,
            parse_qsl(split.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
            groups=self.headers.get_all("Impersonate-Group") or [],
        )
        with self.fake._lock:
            if split.path.rstrip("/") in DISCOVERY or split.path == "/version":
                self.fake.discovery.append(rec)  # kubectl's own questions, not the plugin's
            else:
                self.fake.requests.append(rec)
                self.fake._changed.notify_all()  # for tests waiting on a request
            answer = self.fake.handle(rec)
            code, payload = answer[0], answer[1]
            if isinstance(payload, _Watch):
                rec.status = code
        if isinstance(payload, _Watch):
            self._stream(payload)
            return
        with self.fake._lock:
            extra = answer[2] if len(answer) > 2 else {}
            rec.status = code
            if isinstance(payload, str):
                data, ctype = payload.encode(), "text/plain; charset=utf-8"
            else:
                data, ctype = json.dumps(payload).encode(), "application/json"
        if self.fake.never_answer:
            time.sleep(3600)  # a daemon thread: ends with the test process
            return
        self.send_response(code)
        # As the API server does: gzip for clients that accept it, answers over 128 kB.
        if "gzip" in (self.headers.get("Accept-Encoding") or "") and len(data) > 128 * 1024:
            data = gzip.compress(data)
            rec.gzipped = True
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", "00000000-0000-0000-0000-000000000000")
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if self.fake.trickle:
            try:
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    time.sleep(self.fake.trickle)
            except OSError:  # the client gave up
                pass
            return
        try:
            self.wfile.write(data)
        except OSError:  # the client read enough to refuse the answer and closed (ssl's EOF too)
            pass

    def _stream(self, watch: "_Watch") -> None:
        """A watch: the events recorded after its resourceVersion, then each new one as
        it is recorded, as chunks of one JSON line each, until its timeoutSeconds."""
        fake = self.fake
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        end = time.monotonic() + watch.timeout
        sent = 0
        with fake._changed:
            drop = fake.drop_after.pop(0) if fake.drop_after else None
        try:
            if watch.version < fake.gone_before:  # gone_as_event
                self._chunk({"type": "ERROR", "object": status_body(410, "Expired", "too old resource version")})
                self._chunk(None)
                return
            since = watch.version
            while True:
                with fake._changed:
                    while not fake._stopping:
                        due = [e for e in fake.watch_log[_after(fake.watch_log, since) :] if e[1] == watch.path]
                        if due or time.monotonic() >= end:
                            break
                        fake._changed.wait(end - time.monotonic())
                    if fake._stopping:
                        return
                if not due:
                    self._chunk(None)  # timeoutSeconds: the stream ends cleanly
                    return
                for rv, _, kind, obj in due:
                    since = rv
                    if watch.selector and not _field_match(obj, watch.selector):
                        continue
                    if drop is not None and sent >= drop:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)  # cut: no last chunk
                        self.close_connection = True
                        return
                    self._chunk({"type": kind, "object": obj})
                    sent += 1
        except OSError:  # the client went away
            self.close_connection = True

    def _chunk(self, event: Any) -> None:
        data = b"" if event is None else json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _serve


def _after(log: List[Tuple[int, str, str, dict]], version: int) -> int:
    """The index of the first change of ``log`` (sorted by version) after ``version``."""
    low, high = 0, len(log)
    while low < high:
        mid = (low + high) // 2
        if log[mid][0] <= version:
            low = mid + 1
        else:
            high = mid
    return low


@dataclass
class _Watch:
    path: str
    version: int
    timeout: float
    selector: Optional[str]

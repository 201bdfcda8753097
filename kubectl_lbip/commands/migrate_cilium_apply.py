"""migrate --to cilium --apply: the cut-over run step by step, each step checked
before the next (model/tocilium.py decides; this reads, writes and waits).

0. Before any write: Cilium's CRDs are served, no CiliumLoadBalancerIPPool exists
   yet (LB-IPAM would be awake and serving already), none of the objects to create
   exists, and MetalLB's controller Deployment is found.
1. Each service gets its labels and Cilium keys (a merge patch on its
   resourceVersion; a service that changed what the plan depends on is not
   written, and the run stops before MetalLB is touched).
2. MetalLB's controller is scaled to zero, and its pods awaited gone.
3. Every Cilium object is created.
4. Each created pool's cilium.io/IPsUsed is awaited until it shows the plan's
   count (Cilium writes no condition on a service whose address it adopts as it
   is), then what each service holds is compared with the plan, and a
   cilium.io/IPAMRequestSatisfied that is not True is named.
MetalLB's own objects and keys are left for the person (the last step printed):
its speakers announce the addresses until Cilium does.

--dry-run=server sends every write with dryRun=All and waits for nothing.
Every wait has its deadline (WAIT_SECONDS, counted from the step's start)."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import EXIT_NEGATIVE, EXIT_OK, ClusterError, LbipError, NotFound, ResponseError, UsageError
from ..model import cilium, tocilium
from ..model.services import Service
from ..printer import Say
from .outcomes import FAILED, MIGRATED, PLANNED, SKIPPED, write_each
from .writes import attempt_write

WAIT_SECONDS = 120.0
POLL_SECONDS = 1.0
DEPLOYMENTS = "/apis/apps/v1/namespaces/{}/deployments"


class Item:
    """One service's write (a commands.outcomes.Written)."""

    def __init__(self, mapping: tocilium.ServiceMapping):
        self.mapping = mapping
        self.status, self.error, self.denied = PLANNED, "", False

    @property
    def key(self) -> str:
        return self.mapping.key


def _segment(text: str) -> str:
    from ..door import segment

    return segment(text)


def _resource_path(obj: Dict[str, Any]) -> str:
    return f"/apis/{obj['apiVersion']}/{tocilium.PLURALS[obj['kind']]}"


def _served(client, api: str) -> List[str]:
    """The resources an API group version serves (its APIResourceList), or []."""
    try:
        answer = client.request("GET", f"/apis/{api}")
    except NotFound:
        return []
    resources = answer.get("resources") if isinstance(answer, dict) else None
    if not isinstance(resources, list):
        raise ResponseError(f"GET /apis/{api}: the answer is not an APIResourceList")
    return [str(r.get("name")) for r in resources if isinstance(r, dict)]


def _items(answer: Any, what: str) -> List[Dict[str, Any]]:
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ResponseError(f"{what}: the answer is not a list of objects")
    return items


def _deployments(client, namespace: str) -> List[Tuple[str, List[str]]]:
    """(name, container images) of the Deployments of a namespace, shape-checked."""
    path = DEPLOYMENTS.format(_segment(namespace))
    found = []
    for item in _items(client.request("GET", path), f"GET {path}"):
        name = (item.get("metadata") or {}).get("name")
        containers = (((item.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        if not isinstance(name, str) or not isinstance(containers, list):
            raise ResponseError(f"GET {path}: a Deployment without a name or containers")
        found.append((name, [str(c.get("image") or "") for c in containers if isinstance(c, dict)]))
    return found


def preconditions(client, result: tocilium.Plan, namespace: str) -> str:
    """Everything checked before the first write; the controller Deployment's name."""
    objects = result.objects()
    for api in sorted({o["apiVersion"].split("/", 1)[1] for o in objects}):
        served = _served(client, f"{tocilium.GROUP}/{api}")
        for obj in objects:
            if obj["apiVersion"].endswith("/" + api) and _resource_path(obj).rsplit("/", 1)[1] not in served:
                raise ClusterError(
                    f"{obj['kind']} ({obj['apiVersion']}) is not served: install Cilium first (its operator registers "
                    "its CRDs); nothing was written"
                )
    pool_api = tocilium.pool_api(result.version)
    existing = _items(client.request("GET", f"/apis/{pool_api}/ciliumloadbalancerippools"), "the Cilium pools")
    if existing:
        names = ", ".join(str((p.get("metadata") or {}).get("name")) for p in existing[:5])
        raise ClusterError(
            f"CiliumLoadBalancerIPPools exist already ({names}): Cilium's LB-IPAM is serving services now, and the "
            "plan does not include them; nothing was written"
        )
    for obj in objects:
        path = f"{_resource_path(obj)}/{_segment(obj['metadata']['name'])}"
        try:
            client.request("GET", path)
        except NotFound:
            continue
        raise ClusterError(f"{obj['kind']} {obj['metadata']['name']} exists already; nothing was written")
    controllers = tocilium.controller_deployments(_deployments(client, namespace))
    if len(controllers) != 1:
        found = ", ".join(controllers) or "none"
        raise ClusterError(
            f"MetalLB's controller Deployment in {namespace}: {found} found, one expected; nothing was written"
        )
    return controllers[0]


def _patch_service(client, item: Item, server_dry_run: bool, say: Say) -> None:
    m = item.mapping

    def plan(reread: bool) -> Optional[Dict[str, Any]]:
        current = Service.from_object(client.get_service(m.service.namespace, m.service.name))
        changed = tocilium.drift(m, current)
        if changed:
            raise UsageError(f"changed since the plan was made ({changed}): run the migration again")
        return tocilium.service_patch(m, current)

    def send(patch: Dict[str, Any]) -> None:
        client.patch_service(m.service.namespace, m.service.name, patch, dry_run=server_dry_run)

    attempt = attempt_write(plan, send, f"service {m.key}", say)
    if attempt.error:
        item.status, item.error, item.denied = FAILED, attempt.error, attempt.denied
    else:
        item.status = MIGRATED if attempt.sent is not None else SKIPPED


def _wait(poll, what: str, clock=time.monotonic, sleep=time.sleep, fail: bool = True) -> str:
    """poll() until it returns '' (done), at most WAIT_SECONDS from now; at the
    deadline a ClusterError naming what is missing (or, not ``fail``, the words)."""
    timeout = WAIT_SECONDS
    deadline = clock() + timeout
    while True:
        missing = poll()
        if not missing:
            return ""
        if clock() >= deadline:
            words = f"{what}: not done within {timeout:g}s: {missing}"
            if fail:
                raise ClusterError(words)
            return words
        sleep(POLL_SECONDS)


def _controller_gone(client, namespace: str, name: str) -> str:
    path = f"{DEPLOYMENTS.format(_segment(namespace))}/{_segment(name)}"
    dep = client.request("GET", path)
    if not isinstance(dep, dict):
        raise ResponseError(f"GET {path}: not an object")
    status, meta = dep.get("status") or {}, dep.get("metadata") or {}
    replicas, observed, generation = (
        status.get("replicas") or 0,
        status.get("observedGeneration"),
        meta.get("generation"),
    )
    if not all(isinstance(v, (int, type(None))) for v in (replicas, observed, generation)):
        raise ResponseError(f"GET {path}: status.replicas and the generations must be integers")
    if replicas or (generation is not None and (observed or 0) < generation):
        return f"{replicas} pod(s) of deployment {namespace}/{name} still running"
    return ""


def observed(obj: Any, key: str) -> Tuple[List[str], Optional[Dict[str, Any]]]:
    """A Service's status as the API sent it, shape-checked: the addresses of its
    ingress and its cilium.io/IPAMRequestSatisfied condition (or None)."""
    where = f"service {key}: status"
    status = obj.get("status") if isinstance(obj, dict) else None
    status = {} if status is None else status
    lb = status.get("loadBalancer") if isinstance(status, dict) else None
    lb = {} if lb is None else lb
    ingress = lb.get("ingress") if isinstance(lb, dict) else None
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(status, dict) or not isinstance(lb, dict):
        raise ResponseError(f"{where}: not a mapping")
    if not isinstance(ingress or [], list) or not isinstance(conditions or [], list):
        raise ResponseError(f"{where}: loadBalancer.ingress and conditions must be lists")
    ips = [i.get("ip") for i in ingress or () if isinstance(i, dict) and i.get("ip") is not None]
    found = [c for c in conditions or () if isinstance(c, dict) and c.get("type") == cilium.CONDITION]
    if not all(isinstance(ip, str) for ip in ips):
        raise ResponseError(f"{where}: an ingress ip is not a string")
    return [str(ip) for ip in ips], (found[0] if found else None)


def pool_used(client, obj: Dict[str, Any]) -> Optional[int]:
    """The cilium.io/IPsUsed count a CiliumLoadBalancerIPPool's status shows (None:
    not written yet), shape-checked."""
    path = f"{_resource_path(obj)}/{_segment(obj['metadata']['name'])}"
    pool = client.request("GET", path)
    status = pool.get("status") if isinstance(pool, dict) else None
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(pool, dict) or not isinstance(status or {}, dict) or not isinstance(conditions or [], list):
        raise ResponseError(f"GET {path}: status.conditions must be a list")
    for cond in conditions or ():
        if isinstance(cond, dict) and cond.get("type") == cilium.IPS_USED:
            message = cond.get("message")
            if not isinstance(message, str) or not message.isdigit():
                raise ResponseError(f"GET {path}: {cilium.IPS_USED}'s message is not a count: {message!r}")
            return int(message)
    return None


def apply(
    client, result: tocilium.Plan, namespace: str, dry_run: str, say: Say, clock=time.monotonic, sleep=time.sleep
) -> Tuple[int, List[str]]:
    """Steps 1 to 4, said as they go; the exit code and the closing lines."""
    server = dry_run == "server"
    controller = preconditions(client, result, namespace)
    say.note("step 1: the services' labels and Cilium keys")
    items = [Item(m) for m in result.services if m.labels or m.annotations]
    write_each(items, lambda i: _patch_service(client, i, server, say), "labelling", say)
    failed = [f"error: {i.key}: {i.error}" for i in items if i.status == FAILED]
    if failed:
        stop = "stopped before MetalLB was touched: mend the services named, then run the migration again"
        return EXIT_NEGATIVE, failed + [stop]
    say.note(f"step 2: scale deployment {namespace}/{controller} to zero")
    path = f"{DEPLOYMENTS.format(_segment(namespace))}/{_segment(controller)}"
    query = [("dryRun", "All")] if server else []
    client.request("PATCH", path, query, {"spec": {"replicas": 0}}, "application/merge-patch+json")
    client.extend_deadline(WAIT_SECONDS * 2)  # the two waits below
    if not server:
        _wait(lambda: _controller_gone(client, namespace, controller), "MetalLB's controller", clock, sleep)
    say.note(f"step 3: create {len(result.objects())} Cilium object(s)")
    created: List[str] = []
    try:
        for obj in result.objects():
            client.request("POST", _resource_path(obj), query, obj)
            created.append(f"{tocilium.PLURALS[obj['kind']]}/{obj['metadata']['name']}")
    except LbipError as exc:
        if server:
            raise
        back = f"kubectl -n {namespace} scale deployment {controller} --replicas=1 (or as many as it ran)"
        made = f"delete what was created (kubectl delete {' '.join(created)}), then " if created else ""
        raise ClusterError(
            f"{exc}; MetalLB's controller is scaled to zero and the services are labelled: to go back, {made}{back}"
        ) from None
    if server:
        return EXIT_OK, ["server dry run: every write was accepted, nothing persisted; nothing to wait for"]
    say.note(f"step 4: wait until Cilium's pools count what the plan says ({cilium.IPS_USED}), then check each service")
    outcome: Dict[str, Tuple[str, str]] = {}
    served = [m for m in result.services if m.after]
    counted = [p for p in result.pools if p.obj is not None and not p.exists and p.used is not None]

    def poll() -> str:
        late = tocilium.pools_counted(result, {p.name: pool_used(client, p.obj) for p in counted if p.obj})
        waiting = [late] if late else []
        for m in served:
            if outcome.get(m.key, ("",))[0] in (tocilium.SATISFIED, tocilium.MOVED):
                continue
            ingress, condition = observed(client.get_service(m.service.namespace, m.service.name), m.key)
            outcome[m.key] = tocilium.judge_after(m, ingress, condition, counted=not late)
            if outcome[m.key][0] == tocilium.WAITING:
                waiting.append(m.key)
        return ", ".join(waiting)

    late = _wait(poll, "Cilium's LB-IPAM", clock, sleep, fail=False)
    lines = [f"error: {late}"] if late else []
    moved = [(m.key, outcome[m.key][1]) for m in served if outcome[m.key][0] != tocilium.SATISFIED]
    lines += [f"error: service {key}: {words}" for key, words in moved]
    lines.append(
        f"{len(served) - len(moved)} of {len(served)} service(s) hold what the plan said under Cilium; MetalLB's "
        "objects and keys are still there: remove them once Cilium announces the addresses (the last step above)"
    )
    return (EXIT_NEGATIVE if moved else EXIT_OK), lines


def check_apply(accepted: Sequence[str], result: tocilium.Plan, dry_run: str) -> None:
    if dry_run == "client":
        raise UsageError("--apply --dry-run=client: leave out --apply to see the plan and the steps")
    blocking = result.blocking(accepted)
    if blocking:
        raise UsageError(
            f"{len(blocking)} error(s) in the plan ({', '.join(sorted({x.code for x in blocking}))}): nothing was "
            "written; mend them, or accept them with --accept CODE"
        )

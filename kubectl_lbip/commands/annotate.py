"""kubectl lbip annotate NAME [IP...]: pin addresses on a service, checked against
every MetalLB rule, written as one patch that carries the resourceVersion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..errors import EXIT_NEGATIVE, EXIT_OK, InvalidValue, Refused, UsageError
from ..model.annotate import ANNOTATION_EXISTS, Plan  # noqa: F401 - the command's words
from ..model.announce import CONFIG_KINDS
from ..model.checks import VALUE_CHANGED, fixed
from ..model.implementation import Implementation
from ..model.patches import patched_object
from ..model.rules import service_finding
from ..model.services import CURRENT, DEPRECATED, LB_IPS, SPEC_IP, Service
from ..printer import Block, Note, Result, Text
from .common import Inputs
from .target import find_service
from .writes import check_dry_run, write_with_retry


@dataclass
class AnnotateRequest:
    name: str
    addresses: List[str] = field(default_factory=list)
    auto: bool = False
    overwrite: bool = False
    clear_spec_ip: bool = False
    dry_run: str = "none"
    wait: bool = False
    timeout: str = "30s"
    strict: bool = False  # a configuration MetalLB rejected is a refusal, not a warning

    def validate(self, inputs: Inputs) -> None:
        """Every combination of options annotate refuses, in one place."""
        check_dry_run(self.dry_run)
        if self.auto and self.addresses:
            raise UsageError("give addresses or --auto, not both")
        if not self.auto and not self.addresses:
            raise UsageError("give one or two addresses, or --auto")
        if inputs.offline and self.dry_run == "server":
            raise UsageError(
                "--dry-run=server needs a cluster; with -f use --dry-run=client (or nothing: -f never writes)"
            )
        if inputs.offline and self.wait:
            raise UsageError("--wait waits for MetalLB on a cluster; with -f nothing is written")
        if self.wait and self.dry_run != "none":
            raise UsageError("--wait waits for a write; a dry run writes nothing")
        if inputs.against_cluster and (self.dry_run == "server" or self.wait):
            raise UsageError(
                "--against-cluster only reads the cluster and prints the annotated "
                "manifest: not with --dry-run=server or --wait"
            )


def plan(impl: Implementation, svc: Service, req: AnnotateRequest) -> Plan:
    """The implementation's plan for this request (its bad input is a usage error)."""
    try:
        return impl.plan_annotation(
            svc,
            req.addresses,
            auto=req.auto,
            overwrite=req.overwrite,
            clear_spec_ip=req.clear_spec_ip,
            strict=req.strict,
        )
    except InvalidValue as err:
        raise UsageError(str(err)) from None


METALLB_KEYS = (CURRENT + LB_IPS, DEPRECATED + LB_IPS)


def replaced_values(svc: Service, req: AnnotateRequest, keys: Sequence[str] = METALLB_KEYS) -> Dict[str, Optional[str]]:
    """What a write would replace: the request annotation and its deprecated twin (or
    alias): Implementation.request_keys; and spec.loadBalancerIP when it is cleared."""
    values: Dict[str, Optional[str]] = {key: svc.annotations.get(key) for key in keys}
    if req.clear_spec_ip:
        values[SPEC_IP] = svc.load_balancer_ip or None
    return values


def _unchanged_since_read(
    first: Service, now: Service, req: AnnotateRequest, keys: Sequence[str] = METALLB_KEYS
) -> None:
    """--overwrite replaces only what the user saw: after a 409, when another writer
    changed a value it would replace, stop and show the new value (exit 1)."""
    before, after = replaced_values(first, req, keys), replaced_values(now, req, keys)
    changed = [
        f"{key} is now {after[key]!r} (it was {before[key]!r} when read)" for key in before if before[key] != after[key]
    ]
    if changed:
        raise Refused(
            [
                service_finding(
                    now,
                    VALUE_CHANGED,
                    fixed(
                        VALUE_CHANGED,
                        f"service {now.key} changed while we wrote it: "
                        + "; ".join(changed)
                        + ". --overwrite replaces only what was read.",
                    ),
                )
            ]
        )


def _warnings(result: Plan) -> List[str]:
    return [f"warning: [{f.code}] {f.message}" for f in result.warnings]


def _refuse(err: Refused) -> Result:
    notes = [f"error: [{f.code}] {f.message}" for f in err.findings]
    return _lines(EXIT_NEGATIVE, notes + [f"refused: nothing was written ({len(err.findings)} rule(s) broken)"])


def _lines(code: int, notes: List[str], lines: Sequence[str] = ()) -> Result:
    """A result that is lines of text on stdout (kubectl's "service/x annotated"),
    whatever -o says, and notes."""
    return Result(lines, code, notes, views={"json": _text, "yaml": _text})


def _text(result: Result) -> List[Block]:
    return [Text(line) for line in result.data]


def run(inputs: Inputs, req: AnnotateRequest) -> Result:
    req.validate(inputs)
    if inputs.offline or inputs.against_cluster:
        return _run_offline(inputs, req)
    return _run_live(inputs, req)


def _run_offline(inputs: Inputs, req: AnnotateRequest) -> Result:
    snapshot = inputs.snapshot(whole_objects=True, network=CONFIG_KINDS, cilium=True)
    cluster = snapshot.to_cluster()
    impl = inputs.implementation_of(snapshot, cluster)
    svc = find_service(cluster, inputs.default_namespace(), req.name)
    if inputs.against_cluster and svc.key not in snapshot.planned:
        raise UsageError(
            f"service {svc.key} is in the cluster but not in the files (-f); "
            "--against-cluster prints the annotated manifest, so annotate a "
            "service of the files (or leave out -f to patch the cluster)"
        )
    try:
        result = plan(impl, svc, req)
    except Refused as err:
        return _refuse(err)
    raw = snapshot.manifests.get(("Service", svc.namespace, svc.name), svc.raw)  # as written
    obj = raw if result.patch is None else patched_object(raw, result.patch)  # type: ignore[arg-type]
    return Result(obj, EXIT_OK, _warnings(result))


def _run_live(inputs: Inputs, req: AnnotateRequest) -> Result:
    from .wait import failure_marks, parse_timeout, wait_for_metallb

    timeout = parse_timeout(req.timeout)
    client = inputs.client()
    if req.wait:  # the command's one deadline: the request timeout, and --timeout for MetalLB
        client.extend_deadline(timeout)
    namespace = inputs.default_namespace()
    planned: List[Plan] = []
    before = failure_marks(client, namespace, req.name) if req.wait else {}

    keys: List[str] = []  # the annotation the implementation reads, and its name

    def make_plan(reread: bool):
        snapshot = inputs.snapshot(network=CONFIG_KINDS, cilium=True)  # the same client, --metallb-version applied
        cluster = snapshot.to_cluster()
        impl = inputs.implementation_of(snapshot, cluster)
        keys[:] = [impl.request_key(), impl.title]
        svc = find_service(cluster, namespace, req.name)
        if reread and req.overwrite and planned:
            _unchanged_since_read(planned[0].service, svc, req, impl.request_keys())
        result = plan(impl, svc, req)
        planned.append(result)
        if req.dry_run == "client":
            return None
        return result.patch

    def send(patch):
        client.patch_service(namespace, req.name, patch, dry_run=req.dry_run == "server")

    try:
        sent = write_with_retry(make_plan, send, f"service {namespace}/{req.name}", inputs.say)
    except Refused as err:
        return _refuse(err)
    result = planned[-1]
    key = keys[0]
    warnings = _warnings(result)
    if req.dry_run == "client":
        if result.patch is None:
            said = f"service/{req.name} already has {key}={result.value}; nothing to change"
            return _lines(EXIT_OK, warnings + [said])
        return Result(result.patch, EXIT_OK, warnings, ["(dry run: nothing was written)"])
    if sent is None:
        return _lines(EXIT_OK, warnings, [f"service/{req.name} unchanged: {key} is already {result.value}"])
    suffix = " (server dry run)" if req.dry_run == "server" else ""
    annotated = f"service/{req.name} annotated: {key}={result.value}{suffix}"
    if not (req.wait and req.dry_run == "none"):
        return _lines(EXIT_OK, warnings, [annotated])
    # --wait: what was written is said before the wait (the printer says the rest)
    inputs.say(*[Note(text) for text in warnings], Text(annotated))
    assigned, said = wait_for_metallb(
        client, namespace, req.name, result.value.split(","), timeout, before, who=keys[1]
    )
    if not assigned:
        return _lines(EXIT_NEGATIVE, [f"error: {said}"])
    return _lines(EXIT_OK, [], [f"service/{req.name}: {said}"])

"""kubectl lbip pin -f DIR: give every LoadBalancer service of a folder of manifests
that requests no address its own metallb.io/loadBalancerIPs, in one run with no
collision (model/pin.py decides), and print the pinned manifests or rewrite the
files in place (keeping comments, key order, quoting and the other documents)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .. import render
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model.announce import CONFIG_KINDS, rejected_config
from ..model.migrate import service_objects
from ..model.pin import FAILED, KEPT, PINNED, PinDecision, apply_pin
from ..model.services import CURRENT, LB_IPS, Service
from ..printer import Block, Note, Raw, Result, Table
from ..snapshot import Snapshot
from ..snapshot.overlay import with_namespace
from ..snapshot.shape import SERVICE, role_of
from .common import Inputs, legacy_note, rejected_config_note
from .writes import check_dry_run


@dataclass
class PinRequest:
    in_place: bool = False
    dry_run: str = "none"
    partial: bool = False
    strict: bool = False  # a configuration MetalLB rejected: write nothing, exit 1


@dataclass
class Source:
    """One file of -f as read: its bytes (to rewrite) and its documents."""

    name: str
    data: bytes
    documents: List[Any]  # files.Document


def check_options(inputs: Inputs, req: PinRequest) -> None:
    check_dry_run(req.dry_run)
    if not inputs.filenames:
        raise UsageError(
            "pin writes requests into manifests: give -f FILE|DIR (to pin one "
            "service on the cluster, use 'kubectl lbip annotate NAME --auto')"
        )
    if req.dry_run == "server":
        raise UsageError("--dry-run=server needs a write to the cluster; pin writes files: use --dry-run=client")
    if req.in_place and "-" in inputs.filenames:
        raise UsageError("--in-place cannot rewrite standard input")


def read_sources(inputs: Inputs) -> List[Source]:
    """Each file read once, as bytes: the plan is made from what is rewritten, and a
    file changed on disk since is not overwritten."""
    from ..snapshot.documents import parse_text
    from ..snapshot.files import expand_paths, read_text

    sources = []
    for path in expand_paths(inputs.filenames):
        if path == "-":
            text = read_text(path, inputs.stdin)
            sources.append(Source("<stdin>", text.encode("utf-8"), parse_text(text, "<stdin>")))
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UsageError(f"cannot read {path}: not UTF-8 text ({exc})") from None
        sources.append(Source(path, data, parse_text(text, path)))
    return sources


def file_objects(sources: List[Source]) -> List[Tuple[str, Dict[str, Any], Optional[str]]]:
    """(file, object, where errors name it) for every object of the files, checked."""
    from ..snapshot.shape import checked

    return [(src.name, obj, where) for src in sources for _, _, obj, _, where in checked(src.documents, depth=True)]


def service_key(obj, default_namespace: str) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or default_namespace}/{meta.get('name') or ''}"


def run(inputs: Inputs, req: PinRequest) -> Result:
    """pin says its notes and, with -o table, its plan as it works (inputs.say):
    files may be rewritten after them; the result is what was written, the pinned
    objects (-o table) or the plan as data (-o json|yaml)."""
    say = inputs.say
    check_options(inputs, req)
    sources = read_sources(inputs)
    # where an object without a namespace lands: -n, else the context's (kubectl apply's
    # rule), else (offline) default
    namespace = inputs.default_namespace()
    found = [(name, with_namespace(obj, namespace), where) for name, obj, where in file_objects(sources)]
    objects = [(name, obj) for name, obj, _ in found]
    if inputs.against_cluster:
        from ..snapshot.overlay import overlay_snapshot

        snapshot = overlay_snapshot(inputs.live_snapshot(network=CONFIG_KINDS, cilium=True), objects, namespace)
    else:
        from ..snapshot.trim import keep

        checked = ((role_of(obj), obj, obj, (1, 1), where) for _, obj, where in found)  # as shape.checked gave them
        snapshot = keep(checked, Snapshot(source="files: " + ", ".join(inputs.filenames)), trimmed=False)
        snapshot.metallb = inputs.flagged_release()  # --metallb-version; else the newest
    if msg := legacy_note(snapshot):
        say.note(msg)
    cluster = snapshot.to_cluster()
    impl = inputs.implementation_of(snapshot, cluster)
    if not impl.pool_rows():
        where = "on the cluster or in the files" if inputs.against_cluster else "in the files"
        hint = "" if inputs.against_cluster else " (add the pools' manifests with -f, or use --against-cluster)"
        raise UsageError(f"no {impl.pool_kind} {where}{hint}: nothing to pin from")

    files_of: Dict[str, str] = {}
    targets: List[Service] = []
    for name, obj in objects:
        if role_of(obj) != SERVICE:
            continue
        key = service_key(obj, namespace)
        svc = cluster.service(*key.split("/", 1))
        if key in files_of:
            say.note(
                f"warning: service {key} is in {files_of[key]} and in {name}: the later "
                "one is what applies, and both get its pin"
            )
            continue
        if svc is None:
            continue
        files_of[key] = name
        targets.append(svc)
    rejected = rejected_config(cluster)
    for text in rejected_config_note(rejected, req.strict):
        say.note(text)
    refused = bool(rejected) and req.strict
    decisions = impl.pin_batch(targets)
    failed = [d for d in decisions if d.status == FAILED]
    pins = {d.key: d.value for d in decisions if d.status == PINNED}
    write = (not failed or req.partial) and not refused

    say.plan(plan_notes(decisions, files_of, impl.title))
    written: List[str] = []
    notes: List[str] = []
    shown: List[Source] = []  # the files to print, pinned (-o table)
    if req.dry_run == "client":
        notes.append("(dry run: nothing was written)")
    elif refused:
        notes.append("nothing was written: MetalLB is not using the configuration in the cluster (--strict)")
    elif not write:
        notes.append(f"nothing was written: {len(failed)} service(s) cannot be pinned (--partial writes the others)")
    elif req.in_place:
        written = rewrite_files(sources, pins, namespace, impl.request_key())
        notes += [f"rewrote {path}" for path in written] or ["no file changed"]
    else:
        shown = sources
    data = {
        "pins": [dict(d.to_dict(), file=files_of[d.key]) for d in decisions],
        "written": written,
        "rejectedConfiguration": rejected.to_dict() if rejected else None,
    }
    code = EXIT_NEGATIVE if failed or refused else EXIT_OK
    answer = Pinned(shown, pins, namespace, impl.request_key())
    return Result(data, code, notes, views={"table": pinned_objects}, answer=answer)


def plan_notes(decisions: List[PinDecision], files_of: Dict[str, str], title: str = "MetalLB") -> List[Block]:
    """The plan, on stderr (stdout carries the objects): a table, each refusal, the counts."""
    rows = [[files_of[d.key], d.namespace, d.name, d.pool or "-", d.value or "-", d.status] for d in decisions]
    blocks: List[Block] = []
    if rows:
        blocks.append(Note(Table(rows, ["file", "namespace", "name", "pool", "addresses", "status"])))
    for d in decisions:
        if d.status == FAILED:
            blocks.append(Note(f"error: service {d.key} ({files_of[d.key]}) cannot be pinned: {d.reason}"))
        elif d.reason:
            blocks.append(
                Note(
                    f"warning: service {d.key} ({files_of[d.key]}) keeps its request, which {title} refuses: {d.reason}"
                )
            )
    count = {s: sum(d.status == s for d in decisions) for s in (PINNED, KEPT, FAILED)}
    blocks.append(
        Note(f"{count[PINNED]} pinned, {count[KEPT]} kept (already requesting), {count[FAILED]} cannot be pinned")
    )
    return blocks


@dataclass
class Pinned:
    """What pin's table output reads: the files to print with their pins."""

    sources: List[Source]
    pins: Dict[str, str]
    namespace: str
    key: str  # the annotation the pins are written under


def make_edit(pins: Dict[str, str], namespace: str, where: str = "", key: str = CURRENT + LB_IPS):
    """The edit that writes each pin into its Service, wherever it stands in a
    document (List items too), and only into a Service that still requests nothing."""

    def edit(tree: Any, first: bool) -> bool:
        changed = False
        for obj in service_objects(tree):
            name = service_key(obj, namespace)
            value = pins.get(name)
            if value is None or Service.from_object(obj, False).requests():
                continue
            if not first and _shared_node(obj):
                raise UsageError(
                    f"{where}: service {name}: its metadata or annotations is a YAML anchor or alias "
                    "shared with other objects; pin cannot write into it without changing them "
                    "too. Write the annotations out in this object; nothing was written"
                )
            apply_pin(obj, value, key)
            changed = True
        return changed

    return edit


def _shared_node(obj: Any) -> bool:
    """Whether the object, its metadata or its annotations is an anchored node of a
    round-trip tree (an alias elsewhere is the same node)."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if hasattr(meta, "get") else None
    return any(getattr(getattr(node, "anchor", None), "value", None) for node in (obj, meta, annotations))


def rewrite_files(sources: List[Source], pins: Dict[str, str], namespace: str, key: str) -> List[str]:
    """migrate --in-place's round trip and writer: all files or none, and none that
    changed on disk since it was read."""
    from .migrate_files import replace_files, rewrite_bytes

    rewrites = []
    for src in sources:
        data = rewrite_bytes(src.data, src.name, make_edit(pins, namespace, src.name, key))
        if data != src.data:
            rewrites.append((src.name, data))
    return replace_files(rewrites, expected={src.name: src.data for src in sources})


def pinned_objects(result: Result) -> List[Block]:
    """Every object of the files, in input order, the pinned ones with their request."""
    a = result.answer
    edit = make_edit(a.pins, a.namespace, key=a.key)
    out = []
    for src in a.sources:
        for doc in src.documents:
            obj = copy.deepcopy(doc.obj)
            edit(obj, True)
            out.append(render.dump_yaml(obj))
    return [Raw("---\n".join(out))] if out else []

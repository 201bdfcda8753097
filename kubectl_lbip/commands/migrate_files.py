"""migrate -f: manifests printed migrated, or rewritten in place keeping comments and key order."""

from __future__ import annotations

import copy
import json
import re
import sys
from typing import Any, Callable, List, Optional, Tuple

from .. import render
from ..errors import UsageError
from ..model.cluster import Cluster
from ..model.migrate import ServicePlan, apply_in_place, plan_service, recheck, service_objects
from ..model.services import Service
from .common import Inputs
from .migrate import MigrateRequest, _finish, _initial, _nothing_to_do, _show_plan



def _migrate_tree(root: Any, namespace: Optional[str], cluster: Optional[Cluster]) -> List[ServicePlan]:
    """Plan, and apply in place, every Service of a document (List items too)."""
    plans = []
    for obj in service_objects(root):
        plan = plan_service(Service.from_object(obj))
        if not plan.touched or (namespace and plan.service.namespace != namespace):
            continue
        if cluster is not None:
            plan.warnings = recheck(cluster, plan)
        if plan.needs_patch:
            apply_in_place(obj, plan)
        plans.append(plan)
    return plans


def _run_files(inputs: Inputs, req: MigrateRequest) -> int:
    from ..snapshot import files

    docs = files.read_documents(inputs.filenames, stdin=inputs.stdin or sys.stdin)
    cluster: Optional[Cluster] = files.load(inputs.filenames, documents=docs).to_cluster()
    if not cluster.pools:
        cluster = None  # every request would be "in no pool": say so once instead
        render.note("note: no IPAddressPool in the files, so the migrated requests were not "
                    "checked against MetalLB's rules (add the pools' manifests with -f)")
    namespace = inputs.namespace_filter()
    if req.in_place:
        return _run_in_place(inputs, req, cluster, namespace)
    migrated, plans = [], []
    for doc in docs:
        obj = copy.deepcopy(doc.obj)
        plans += _migrate_tree(obj, namespace, cluster)
        migrated.append(obj)
    outcomes = _initial(plans)
    _nothing_to_do(outcomes, namespace)
    _show_plan(outcomes, write=render.note)  # stdout carries the objects
    if inputs.output == "json":
        render.emit(migrated[0] if len(migrated) == 1 else
                    {"apiVersion": "v1", "kind": "List", "items": migrated}, "json")
    else:
        sys.stdout.write("---\n".join(render.dump_yaml(obj) for obj in migrated))
    return _finish(outcomes, "table", req.dry_run)


def _run_in_place(inputs: Inputs, req: MigrateRequest, cluster: Optional[Cluster],
                  namespace: Optional[str]) -> int:
    from ..snapshot.files import expand_paths

    rewrites: List[Tuple[str, str]] = []
    plans: List[ServicePlan] = []
    for path in expand_paths(inputs.filenames):
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {path}: {exc}") from None
        found, new_text = _rewrite(text, path, namespace, cluster)
        plans += found
        if new_text != text:
            rewrites.append((path, new_text))
    outcomes = _initial(plans)
    _nothing_to_do(outcomes, namespace)
    if inputs.output == "table":
        _show_plan(outcomes)
    if req.dry_run == "client":
        render.note(f"dry run: {len(rewrites)} file(s) would be rewritten")
    else:
        for path, new_text in rewrites:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(new_text)
            render.note(f"rewrote {path}")
    return _finish(outcomes, inputs.output, req.dry_run)


def _rewrite(text: str, path: str, namespace: Optional[str],
             cluster: Optional[Cluster]) -> Tuple[List[ServicePlan], str]:
    plans: List[ServicePlan] = []

    def edit(tree: Any, first: bool) -> bool:
        found = _migrate_tree(tree, namespace, cluster if first else None)
        if first:
            plans.extend(found)
        return any(p.needs_patch for p in found)

    return plans, rewrite_text(text, path, edit)


Edit = Callable[[Any, bool], bool]


def rewrite_text(text: str, path: str, edit: Edit) -> str:
    """A manifest file's text with ``edit`` applied to each document, keeping what
    it does not change byte for byte (shared by migrate and pin).

    ``edit(tree, first)`` changes a document's data in place and says whether it
    changed anything. It is called once per document with ``first`` true (on plain
    data: for a YAML document only to decide; for JSON, the data written back),
    then, for a YAML document it changed, once more on ruamel's round-trip tree,
    which is written back with its comments, key order, quoting and indentation."""
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            pass  # YAML in flow style
        else:
            if not edit(data, True):
                return text
            return _dump_json_like(data, text)
    return "".join(_rewrite_yaml_document(chunk, path, edit)
                   for chunk in split_yaml_documents(text))


def _dump_json_like(data: Any, original: str) -> str:
    """JSON with the original's indentation (spaces or a tab) and final newline."""
    match = re.search(r"\n([ \t]+)\S", original)
    if match:
        indent = "\t" if match.group(1).startswith("\t") else len(match.group(1))
        text = json.dumps(data, indent=indent, ensure_ascii=False)
    else:
        compact = '":"' in original or '",' in original
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":") if compact else None)
    return text + ("\n" if original.endswith("\n") else "")


_DOCUMENT_START = re.compile(r"^---(?=[ \t]|\r?$)", re.M)
_BARE_START = re.compile(r"---[ \t]*(#.*)?\r?\n?$")


def split_yaml_documents(text: str) -> List[str]:
    """The text cut before each `---` line: joined again, they are the text."""
    starts = [m.start() for m in _DOCUMENT_START.finditer(text) if m.start() > 0]
    bounds = [0] + starts + [len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def _rewrite_yaml_document(chunk: str, path: str, edit: Edit) -> str:
    """A document changes only where ``edit`` changes it; the others are returned
    byte for byte."""
    import yaml

    try:  # libyaml's loader where PyYAML was built with it: the same answers, faster
        plain = yaml.load(chunk, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    if not edit(plain, True):
        return chunk
    header, body = "", chunk
    if chunk.startswith("---"):
        end = chunk.find("\n") + 1 or len(chunk)
        header, body = chunk[:end], chunk[end:]
        if not _BARE_START.match(header):
            raise UsageError(f"{path}: a document starts with content on its '---' line; "
                             "--in-place cannot keep it: move the content to the next line")
    return header + _ruamel_edit(body, edit)


def _ruamel_edit(body: str, edit: Edit) -> str:
    """Round-trip the document with ruamel.yaml: comments, key order, quoting and
    the file's indentation stay as they were."""
    import io

    from ruamel.yaml import YAML

    ruamel = YAML()  # round-trip mode
    ruamel.preserve_quotes = True
    # `ports: [{port: 80}]` stays so (ruamel writes `[port: 80]` otherwise)
    ruamel.brace_single_entry_mapping_in_flow_sequence = True
    ruamel.width = 2 ** 30  # never re-wrap long values (last-applied-configuration)
    mapping, sequence, offset = guess_indent(body)
    ruamel.indent(mapping=mapping, sequence=sequence, offset=offset)
    data = ruamel.load(body)
    edit(data, False)
    out = io.StringIO()
    ruamel.dump(data, out)
    trailing = body[len(body.rstrip("\r\n")):]
    return out.getvalue().rstrip("\r\n") + trailing


_OPENS_BLOCK = re.compile(r"^[^#]*:[ \t]*(#.*)?$")  # `key:` with its value on the next lines


def guess_indent(text: str) -> Tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as ruamel's indent() takes them:
    from the first nested mapping key and the first list under a key."""
    mapping = dash_offset = None
    after_dash = 2
    parent: Optional[int] = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if parent is not None and (stripped.startswith("- ") or stripped.rstrip() == "-"):
            if dash_offset is None:
                dash_offset = indent - parent
                rest = stripped[1:]
                after_dash = 1 + len(rest) - len(rest.lstrip(" ")) if rest.strip() else 2
        elif parent is not None and mapping is None and indent > parent:
            mapping = indent - parent
        parent = indent if _OPENS_BLOCK.match(stripped) and not stripped.startswith("- ") else None
        if mapping is not None and dash_offset is not None:
            break
    dash_offset = dash_offset or 0
    return mapping or 2, dash_offset + after_dash, dash_offset

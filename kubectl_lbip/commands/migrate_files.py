"""migrate -f: manifests printed migrated, or rewritten in place keeping comments and key order."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .. import render
from ..errors import InputError, UsageError
from ..model.cluster import Cluster
from ..model.migrate import Conflict, ServicePlan, apply_in_place, plan_service, recheck, service_objects
from ..model.services import SPEC_IP, Service
from ..printer import Block, Data, Raw, Result, as_notes, notes_kept
from .common import Inputs
from .outcomes import MigrateRequest, Outcome, finish_migrate, initial, nothing_to_do, plan_blocks, plan_warnings


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


def run_files(inputs: Inputs, req: MigrateRequest) -> Result:
    from ..snapshot import files

    docs = files.read_documents(inputs.filenames, stdin=inputs.stdin or sys.stdin)
    snap = files.from_documents(inputs.filenames, docs)
    snap.metallb = inputs.flagged_release()  # else the newest
    cluster: Optional[Cluster] = snap.to_cluster()
    notes = []
    if not cluster.pools:  # type: ignore[union-attr]
        cluster = None  # every request would be "in no pool": say so once instead
        notes.append(
            "note: no IPAddressPool in the files, so the migrated requests were not "
            "checked against MetalLB's rules (add the pools' manifests with -f)"
        )
    namespace = inputs.namespace_filter()
    if req.in_place:
        with notes_kept(notes):
            return _run_in_place(inputs, req, cluster, namespace, notes)
    migrated, plans = [], []
    for doc in docs:  # migrated where they are: the model is built and reads none of them again
        plans += _migrate_tree(doc.obj, namespace, cluster)
        migrated.append(doc.obj)
    outcomes = initial(plans)
    notes += nothing_to_do(outcomes, namespace)
    result = finish_migrate(outcomes, req.dry_run, notes=notes)
    result.data = migrated[0] if len(migrated) == 1 else {"apiVersion": "v1", "kind": "List", "items": migrated}
    result.answer = MigratedFiles(outcomes, migrated)
    result.views = {"table": migrated_documents, "yaml": migrated_documents, "json": migrated_json}
    return result


@dataclass
class MigratedFiles:
    outcomes: List[Outcome]
    objects: List[Any]  # the documents read, migrated


def migrated_documents(result: Result) -> List[Block]:
    """The plan on stderr, then the migrated objects on stdout as the YAML documents
    they were read as."""
    blocks = _plan(result)
    for i, obj in enumerate(result.answer.objects):
        if i:
            blocks.append(Raw("---\n"))
        blocks += [Raw(piece) for piece in yaml_pieces(obj)]
    return blocks


def migrated_json(result: Result) -> List[Block]:
    """The plan on stderr, then the migrated object (or a List of them) as JSON."""
    return _plan(result) + [Data(result.data, "json")]


def _plan(result: Result) -> List[Block]:
    outcomes = result.answer.outcomes  # stdout carries the objects: the plan goes to stderr
    return as_notes(plan_blocks(outcomes) + plan_warnings(outcomes))


def yaml_pieces(obj: Any) -> Iterator[str]:
    """render.dump_yaml(obj), a top-level key and a List item at a time: the same
    text, without the emitter's tree of the whole List (ten times the text's size)."""
    if not (isinstance(obj, dict) and isinstance(obj.get("items"), list) and obj["items"]):
        yield render.dump_yaml(obj)
        return
    for key, value in obj.items():
        if key == "items":
            yield "items:\n"
            for item in value:
                yield render.dump_yaml([item])
        else:
            yield render.dump_yaml({key: value})


def _run_in_place(
    inputs: Inputs, req: MigrateRequest, cluster: Optional[Cluster], namespace: Optional[str], notes: List[str]
) -> Result:
    from ..snapshot.files import expand_paths

    plans: List[ServicePlan] = []

    def rewrite(data: bytes, path: str) -> bytes:
        found, new_data = _rewrite_file(data, path, namespace, cluster)
        plans.extend(found)
        return new_data

    rewrites, originals = rewrite_each(expand_paths(inputs.filenames), rewrite)
    outcomes = initial(plans)
    say = inputs.say
    for text in notes + nothing_to_do(outcomes, namespace):  # said before the plan, shown as it is made
        say.note(text)
    notes.clear()
    say.plan(plan_blocks(outcomes) + plan_warnings(outcomes))
    if req.dry_run == "client":
        say.note(f"dry run: {len(rewrites)} file(s) would be rewritten")
    else:
        for path in replace_files(rewrites, expected=originals):
            say.note(f"rewrote {path}")
    return finish_migrate(outcomes, req.dry_run)


def rewrite_each(
    paths: List[str], rewrite: Callable[[bytes, str], bytes]
) -> Tuple[List[Tuple[str, bytes]], Dict[str, bytes]]:
    """Each file's new bytes by ``rewrite(data, path)``: the (path, new bytes) of those
    that change, and what was read of each (replace_files refuses a file changed since)."""
    rewrites: List[Tuple[str, bytes]] = []
    originals: Dict[str, bytes] = {}
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc}") from None
        new_data = rewrite(data, path)
        if new_data != data:
            rewrites.append((path, new_data))
            originals[path] = data
    return rewrites, originals


BOM = b"\xef\xbb\xbf"


def _rewrite_file(
    data: bytes, path: str, namespace: Optional[str], cluster: Optional[Cluster]
) -> Tuple[List[ServicePlan], bytes]:
    """The file's plans and its new bytes (see rewrite_bytes)."""
    plans: List[ServicePlan] = []
    return plans, rewrite_bytes(data, path, _migration_edit(namespace, cluster, plans))


def rewrite_bytes(data: bytes, path: str, edit: "Edit") -> bytes:
    """A file's new bytes with ``edit`` applied (see rewrite_text): a byte-order
    mark, CRLF line endings and the presence or absence of a final newline are
    kept; the same bytes when nothing changed."""
    bom = BOM if data.startswith(BOM) else b""
    try:
        text = data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {path}: not UTF-8 text ({exc})") from None
    crlf = "\r\n" in text and text.count("\n") == text.count("\r\n")
    if crlf:
        text = text.replace("\r\n", "\n")
    new_text = rewrite_text(text, path, edit)
    if new_text == text:
        return data
    if crlf:
        new_text = new_text.replace("\n", "\r\n")
    return bom + new_text.encode("utf-8")


def replace_files(
    rewrites: List[Tuple[str, bytes]], expected: Optional[Dict[str, bytes]] = None, new_mode: Optional[int] = None
) -> List[str]:
    """Replace each file by its new content, atomically and all or none: every new
    content is first written to a temporary file in the file's own folder, flushed,
    fsynced and given the original's mode (and owner, where allowed); only when all
    are ready is each renamed over its original (a symlink's target: the link stays).
    A read-only file, a full disk or any other failure while preparing replaces
    nothing; so does a file whose bytes are no longer ``expected[path]`` (what was
    read: someone changed it since). With ``new_mode``, a file that does not exist
    yet is created with that mode."""
    prepared: List[Tuple[str, str]] = []
    try:
        for path, data in rewrites:
            real = os.path.realpath(path)
            owner: Optional[Tuple[int, int]] = None
            if new_mode is not None and not os.path.lexists(path):
                mode = new_mode
            else:
                info = os.stat(real)
                mode, owner = stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)
            if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
                raise UsageError(f"{path} is read-only; no file was rewritten")
            prepared.append((path, _temp_beside(real, data, mode)))
            try:
                if owner is not None:
                    os.chown(prepared[-1][1], *owner)
            except OSError:
                pass  # not ours to give away: the mode is kept, the owner becomes us
    except BaseException as exc:
        for _, temp in prepared:
            _remove(temp)
        if isinstance(exc, OSError):
            raise UsageError(
                f"cannot rewrite {exc.filename or path}: {exc.strerror or exc}; no file was rewritten"
            ) from None
        raise
    changed = [p for p, _ in prepared if expected is not None and _current_bytes(p) != expected.get(p)]
    if changed:
        for _, temp in prepared:
            _remove(temp)
        raise UsageError(
            f"{', '.join(changed)} changed on disk since it was read; no file was rewritten. Run the command again"
        )
    done: List[str] = []
    for path, temp in prepared:
        try:
            os.replace(temp, os.path.realpath(path))
        except OSError as exc:
            left = [p for p, _ in prepared if p not in done and p != path]
            for _, t in prepared[len(done) :]:
                _remove(t)
            raise UsageError(
                f"cannot replace {path}: {exc.strerror or exc}; rewritten before it: "
                f"{', '.join(done) or 'none'}; not rewritten: "
                f"{', '.join([path] + left)}"
            ) from None
        done.append(path)
    for folder in sorted({os.path.dirname(os.path.realpath(p)) for p in done}):
        _fsync_folder(folder)
    return done


def create_file(path: str, data: bytes) -> None:
    """A new file, written as replace_files writes (a temporary file in its folder,
    flushed, fsynced) and then linked to its name, never over an existing file
    (FileExistsError, even for one created meanwhile). The mode is what open() would
    give it (0666 less the umask). Any failure (OSError) leaves nothing behind: no
    temporary file, no partial file under the name."""
    real = os.path.abspath(path)
    temp = _temp_beside(real, data, 0o666 & ~_umask())
    try:
        try:
            os.link(temp, real)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: the name is checked, then taken
            if os.path.lexists(real):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path) from None
            os.replace(temp, real)
    finally:
        _remove(temp)
    _fsync_folder(os.path.dirname(real))


def _temp_beside(real: str, data: bytes, mode: int) -> str:
    """A temporary file in ``real``'s folder holding ``data``, flushed, fsynced and
    given ``mode``; removed again when any of that fails."""
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".lbip-tmp", dir=os.path.dirname(real))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, mode)
    except BaseException:
        _remove(temp)
        raise
    return temp


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already (renamed, or never fully made)


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _current_bytes(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None  # gone or unreadable: changed


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _migration_edit(namespace: Optional[str], cluster: Optional[Cluster], plans: List[ServicePlan]) -> "Edit":
    """migrate's edit for rewrite_text: plans on plain data (collected in ``plans``),
    then applies them on the round-trip tree."""

    def edit(tree: Any, first: bool) -> bool:
        if first:
            found = _migrate_tree(tree, namespace, cluster)
            plans.extend(found)
            return any(p.needs_patch for p in found)
        return _apply_migration(tree, namespace, plans)

    return edit


Edit = Callable[[Any, bool], bool]


def rewrite_text(text: str, path: str, edit: Edit) -> str:
    """A manifest file's text with ``edit`` applied to each document, keeping what
    it does not change byte for byte (shared by migrate and pin).

    ``edit(tree, first)`` changes a document's data in place and says whether it
    changed anything. It is called once per document with ``first`` true (on plain
    data: for a YAML document only to decide; for JSON, the data written back),
    then, for a YAML document it changed, once more on ruamel's round-trip tree,
    which is written back with its comments, key order, quoting and indentation
    (unless that call says it changed nothing)."""
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            pass  # YAML in flow style
        except RecursionError:
            raise UsageError(f"{path}: nested too deeply to read") from None
        else:
            if not edit(data, True):
                return text
            return _dump_json_like(data, text)
    out, line = [], 1
    for chunk in split_yaml_documents(text):
        out.append(_rewrite_yaml_document(chunk, path, edit, line))
        line += chunk.count("\n")
    return "".join(out)


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


def _rewrite_yaml_document(chunk: str, path: str, edit: Edit, line: int = 1) -> str:
    """A document changes only where ``edit`` changes it; the others are returned
    byte for byte. ``line``: the chunk's first line in the file (for errors)."""
    import yaml

    from ..snapshot.documents import Loader, error_message

    try:  # the reader's loader: libyaml's where PyYAML has it, duplicate keys refused
        plain = yaml.load(chunk, Loader=Loader)
    except yaml.YAMLError as exc:
        raise InputError(error_message(exc, path, line)) from None
    if not edit(plain, True):
        return chunk
    header, body = "", chunk
    if chunk.startswith("---"):
        end = chunk.find("\n") + 1 or len(chunk)
        header, body = chunk[:end], chunk[end:]
        if not _BARE_START.match(header):
            raise UsageError(
                f"{path}: a document starts with content on its '---' line; "
                "--in-place cannot keep it: move the content to the next line"
            )
    from ruamel.yaml.error import YAMLError

    try:
        new_body = _ruamel_edit(body, edit)
    except YAMLError as exc:  # what the reader let through and ruamel refuses (a `<<` twice)
        raise InputError(error_message(exc, path, line + (1 if header else 0))) from None
    return chunk if new_body is None else header + new_body


def _ruamel_edit(body: str, edit: Edit) -> Optional[str]:
    """Round-trip the document with ruamel.yaml: comments, key order, quoting and
    the file's indentation stay as they were; None when ``edit`` changed nothing."""
    import io

    from ruamel.yaml import YAML

    ruamel = YAML()  # round-trip mode
    ruamel.preserve_quotes = True
    # `ports: [{port: 80}]` stays so (ruamel writes `[port: 80]` otherwise)
    ruamel.brace_single_entry_mapping_in_flow_sequence = True
    ruamel.width = 2**30  # never re-wrap long values (last-applied-configuration)
    mapping, sequence, offset = guess_indent(body)
    ruamel.indent(mapping=mapping, sequence=sequence, offset=offset)
    data = ruamel.load(body)
    if not edit(data, False):
        return None
    out = io.StringIO()
    ruamel.dump(data, out)
    trailing = body[len(body.rstrip("\r\n")) :]
    return keep_folded(body, out.getvalue().rstrip("\r\n") + trailing)


_FOLD = re.compile(r"\n[ \t]+")


def keep_folded(old: str, new: str) -> str:
    """``new`` with each line that only joins a scalar the original folded over
    several lines (ruamel writes it on one) given back as the original's lines: a
    line of ``new`` that ``old`` does not have, which a run of ``old``'s lines
    spells once folded (each line break and the next line's indentation read as one
    space), is that run."""
    before = old.splitlines(keepends=True)
    known = set(before)
    starts: Dict[str, List[int]] = {}
    for i, line in enumerate(before[:-1]):
        if before[i + 1][:1] in (" ", "\t"):  # a run can only go on on an indented line
            starts.setdefault(_fold_key(line), []).append(i)
    out: List[str] = []
    for line in new.splitlines(keepends=True):
        run = None if line in known else _folded_run(before, starts.get(_fold_key(line), ()), line)
        out.append("".join(run) if run else line)
    return "".join(out)


def _fold_key(line: str) -> str:
    """What the first line of a folded scalar and its one-line form both start
    with: the indentation and the key (`key: `), else the first two characters."""
    cut = line.find(": ")
    return line[: cut + 2] if cut >= 0 else line[: len(line) - len(line.lstrip(" \t")) + 2]


def _folded_run(before: List[str], candidates, line: str) -> Optional[List[str]]:
    text = line.rstrip("\n")
    for i in candidates:
        if not text.startswith(before[i].rstrip("\n")):
            continue
        for j in range(i + 2, len(before) + 1):
            folded = _FOLD.sub(" ", "".join(before[i:j]).rstrip("\n"))
            if folded == text and before[j - 1].endswith("\n") == line.endswith("\n"):
                return before[i:j]
            if len(folded) >= len(text):
                break
    return None


def _apply_migration(data: Any, namespace: Optional[str], plans: List[ServicePlan]) -> bool:
    """Migrate the Services of a round-trip tree; a change inside an alias or merge
    key becomes a conflict of its plan. Whether anything was applied."""
    applied = 0
    for obj in service_objects(data):
        plan = plan_service(Service.from_object(obj))
        if not plan.needs_patch or (namespace and plan.service.namespace != namespace):
            continue
        blocked = _shared_places(obj, plan)
        if blocked:
            _make_conflict(plans, plan, blocked)
            continue
        apply_in_place(obj, plan)
        applied += 1
    return bool(applied)


def _shared_places(obj: Any, plan: ServicePlan) -> List[str]:
    """The places of a plan that live inside a YAML alias, an anchored node or a
    merge key (`<<: *defaults`): rewriting them where they stand would change other
    objects too, or leave the old key in the merged mapping."""
    blocked = []
    meta = obj.get("metadata")
    spec = obj.get("spec")
    for change in plan.changes:
        if change.source == SPEC_IP:
            chain = [(obj, "spec"), (spec, "loadBalancerIP")]
        else:
            chain = [
                (obj, "metadata"),
                (meta, "annotations"),
                (meta.get("annotations") if hasattr(meta, "get") else None, change.source),
            ]
        if any(not_own(container, key) for container, key in chain):
            blocked.append(change.source)
    return blocked


def not_own(container: Any, key: str) -> bool:
    """Whether ``container[key]`` cannot be edited where it stands: the container is
    anchored (an alias elsewhere shares it) or the key comes from a merge key."""
    anchor = getattr(getattr(container, "anchor", None), "value", None)
    own = getattr(container, "_ok", None)
    return anchor is not None or (own is not None and key in container and key not in own)


def _make_conflict(plans: List[ServicePlan], found: ServicePlan, places: List[str]) -> None:
    for i, plan in enumerate(plans):
        if plan.service.key == found.service.key and plan.needs_patch:
            values = tuple(
                (
                    place,
                    "inside a YAML alias or merge key: cannot be rewritten "
                    "where it stands; write it out in this object",
                )
                for place in places
            )
            plans[i] = replace(
                plan, conflicts=plan.conflicts + (Conflict(plan.service.namespace, plan.service.name, values),)
            )
            return


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

"""Issue 20: `migrate -f --in-place` never loses a manifest. Rewrites are atomic
(temp file in the same folder, fsync, mode kept, rename), all or none across
files, and faithful (byte-order mark, CRLF, final newline); a deprecated key in a
YAML alias or merge key is a conflict, not "migrated"."""

from __future__ import annotations

import os
import stat
import tempfile

import pytest
from clirunner import CliRunner

from kubectl_lbip.cli import app

runner = CliRunner()
OLD, NEW = "metallb.universe.tf/loadBalancerIPs", "metallb.io/loadBalancerIPs"


def manifest(name: str, ip: str = "10.0.0.1", newline: str = "\n") -> str:
    lines = [
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        f"  name: {name}",
        "  namespace: s",
        "  annotations:",
        f"    {OLD}: {ip}  # keep me",
        "spec:",
        "  type: LoadBalancer",
        "",
    ]
    return newline.join(lines)


def in_place(*paths):
    args = ["migrate", "--in-place"]
    for p in paths:
        args += ["-f", str(p)]
    return runner.invoke(app, args)


def test_crlf_and_comments_are_kept(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes(manifest("a", newline="\r\n").encode())
    assert in_place(path).exit_code == 0
    data = path.read_bytes()
    assert data == manifest("a", newline="\r\n").replace(OLD, NEW).encode()


def test_a_byte_order_mark_is_kept_and_json_stays_json(tmp_path):
    path = tmp_path / "a.json"
    body = (
        '{\n  "apiVersion": "v1",\n  "kind": "Service",\n  "metadata": {\n    "name": "a",\n'
        f'    "annotations": {{\n      "{OLD}": "10.0.0.1"\n    }}\n  }}\n}}'
    )
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    r = in_place(path)
    assert r.exit_code == 0, r.stderr
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and not data.endswith(b"\n")
    assert data[3:].decode() == body.replace(OLD, NEW)


@pytest.mark.parametrize("ending", ["", "\n", "\n\n"])
def test_the_final_newline_is_kept_as_it_was(tmp_path, ending):
    path = tmp_path / "a.yaml"
    path.write_text(manifest("a").rstrip("\n") + ending)
    assert in_place(path).exit_code == 0
    assert path.read_text() == manifest("a").replace(OLD, NEW).rstrip("\n") + ending


def test_the_mode_is_kept_and_no_temporary_file_is_left(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(manifest("a"))
    path.chmod(0o640)
    assert in_place(path).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["a.yaml"]


def test_a_read_only_file_rewrites_none_of_the_files(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(manifest("a"))
    second.write_text(manifest("b"))
    second.chmod(0o444)
    r = in_place(tmp_path)
    assert r.exit_code == 2 and "read-only" in r.stderr and "no file was rewritten" in r.stderr
    assert first.read_text() == manifest("a") and second.read_text() == manifest("b")
    assert sorted(os.listdir(tmp_path)) == ["a.yaml", "b.yaml"]


def test_a_full_disk_rewrites_none_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(manifest("a"))
    second.write_text(manifest("b"))
    real_fsync, calls = os.fsync, []

    def fsync(fd):  # the second file's data does not fit
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    r = in_place(tmp_path)
    assert r.exit_code == 2 and "No space left on device" in r.stderr, r.stderr
    assert first.read_text() == manifest("a") and second.read_text() == manifest("b")
    assert sorted(os.listdir(tmp_path)) == ["a.yaml", "b.yaml"]


def test_killed_while_writing_leaves_the_original_whole(tmp_path, monkeypatch):
    """The new content goes to a temporary file: a process killed before the
    rename (simulated: the write dies) leaves the original as it was."""
    path = tmp_path / "a.yaml"
    path.write_text(manifest("a") * 1)
    real_replace = os.replace

    def killed(src, dst):
        assert os.path.dirname(src) == os.path.dirname(str(dst))  # same folder: rename is atomic
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    r = in_place(path)
    assert r.exit_code == 130
    monkeypatch.setattr(os, "replace", real_replace)
    assert path.read_text() == manifest("a")


def test_all_files_are_prepared_before_any_is_replaced(tmp_path, monkeypatch):
    for name in "abc":
        (tmp_path / f"{name}.yaml").write_text(manifest(name))
    events = []
    real, real_replace = tempfile.mkstemp, os.replace

    def mkstemp(*a, **kw):
        events.append("prepare")
        return real(*a, **kw)

    def replace(src, dst):
        events.append("replace")
        return real_replace(src, dst)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "replace", replace)
    assert in_place(tmp_path).exit_code == 0
    assert events == ["prepare"] * 3 + ["replace"] * 3


MERGED = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: &defaults
    metallb.universe.tf/address-pool: prod
  annotations:
    <<: *defaults
    team: a
spec:
  type: LoadBalancer
"""


def test_a_deprecated_key_inside_a_merge_key_is_a_conflict_not_migrated(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(MERGED)
    r = in_place(path)
    assert r.exit_code == 1
    assert "0 migrated" in r.stderr and "1 in conflict" in r.stderr
    assert "inside a YAML alias or merge key" in r.stdout
    assert path.read_text() == MERGED


def test_a_deprecated_key_in_an_anchored_mapping_is_a_conflict(tmp_path):
    text = MERGED.replace("  annotations:\n    <<: *defaults\n    team: a\n", "  annotations: *defaults\n")
    path = tmp_path / "a.yaml"
    path.write_text(text)
    r = in_place(path)
    assert r.exit_code == 1 and "1 in conflict" in r.stderr
    assert path.read_text() == text


# --- create_file: the same writer for a file that must not exist yet (migrate --backup)
def test_create_file_writes_a_new_file_whole_with_the_umask_mode(tmp_path):
    from kubectl_lbip.commands.migrate_files import create_file

    path = tmp_path / "new.json"
    old = os.umask(0o027)
    try:
        create_file(str(path), b"{}\n")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"{}\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["new.json"]
    with pytest.raises(FileExistsError):
        create_file(str(path), b"other")
    assert path.read_bytes() == b"{}\n" and os.listdir(tmp_path) == ["new.json"]


def test_create_file_without_hard_links_still_never_overwrites(tmp_path, monkeypatch):
    """A file system without hard links (vfat): the name is checked, then taken."""
    from kubectl_lbip.commands.migrate_files import create_file

    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "new.json"
    create_file(str(path), b"{}\n")
    assert path.read_bytes() == b"{}\n" and os.listdir(tmp_path) == ["new.json"]
    with pytest.raises(FileExistsError):
        create_file(str(path), b"other")
    assert path.read_bytes() == b"{}\n" and os.listdir(tmp_path) == ["new.json"]


def test_a_plain_scalar_folded_over_lines_stays_folded(tmp_path):
    """ruamel writes a multi-line plain scalar on one line; the rewrite gives the
    original lines back wherever they only said the same thing folded."""
    folded = [
        "  description: a long text that a person or kubectl folded",
        "    over two lines",
        "  also: 'a quoted one, folded",
        "    too'",
    ]
    text = manifest("web").replace("spec:\n", "spec:\n" + "\n".join(folded) + "\n")
    path = tmp_path / "svc.yaml"
    path.write_text(text)
    r = in_place(path)
    assert r.exit_code == 0, r.stdout
    assert path.read_text() == text.replace(OLD, NEW)


def test_keep_folded_gives_back_only_what_folding_explains():
    from kubectl_lbip.commands.migrate_files import keep_folded

    old = "a: one\n  two\nb: 1\n"
    assert keep_folded(old, "a: one two\nb: 1\n") == old
    assert keep_folded(old, "a: one three\nb: 1\n") == "a: one three\nb: 1\n"  # a real change is written
    assert keep_folded(old, "a: one two\nb: 2\n") == "a: one\n  two\nb: 2\n"

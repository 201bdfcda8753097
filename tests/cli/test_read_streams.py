"""Issue 24, item 1: -f reads what kubectl reads (a regular file, '-', a pipe, a FIFO,
/dev/stdin, process substitution), each once, as a stream, with the same output as
the same bytes in a file; a FIFO inside -f DIR is skipped with a note. Through real
processes and bash, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest
from builders import dual, lbips, namespace, pool, svc

from kubectl_lbip.snapshot import files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "cluster.yaml")
PLUGIN = f"{shlex.quote(sys.executable)} -c 'from kubectl_lbip.cli import main; main()'"

# How each source hands the file's bytes to the plugin, as a bash command line
# ({cmd}: the plugin and its arguments before -f; {path}: the file).
SOURCES = {
    "file": "{cmd} -f {path}",
    "stdin": "cat {path} | {cmd} -f -",
    "/dev/stdin": "cat {path} | {cmd} -f /dev/stdin",
    "process substitution": "{cmd} -f <(cat {path})",
    "fifo": "mkfifo {fifo} && (cat {path} > {fifo} &) && {cmd} -f {fifo}",
}
# What names the source in a message (compared as one placeholder).
NAMES = re.compile(r"<stdin>|/dev/stdin|/dev/fd/\d+|/proc/self/fd/\d+|\S*/source(?:\.fifo)?")


def services(count: int):
    """Namespaces, pools (one in the middle) and services of the kinds the model reads."""
    out = [namespace("team-a", tier="gold"), pool("a", "10.0.0.0/24", "fd00:1b::/120")]
    for i in range(count):
        make = dual if i % 2 else svc
        annotations = lbips(f"10.0.0.{i % 250 + 1}") if i % 3 == 0 else {}
        if i % 7 == 0:
            annotations["description"] = "caf\u00e9 \u6771\u4eac"  # characters and bytes differ
        out.append(make(f"team-{'ab'[i % 2]}", f"svc-{i}", annotations=annotations, ingress=[f"10.0.0.{i % 250 + 1}"]))
        if i == count // 2:
            out.append(pool("middle", "10.0.1.0/24"))
    return out


def kubectl_json(items, kind: str = "List") -> str:
    """A List indented as kubectl prints it (items before kind)."""
    return json.dumps({"apiVersion": "v1", "items": items, "kind": kind, "metadata": {"resourceVersion": ""}}, indent=4)


def run(source: str, args: str, path, tmp_path):
    line = SOURCES[source].format(cmd=f"{PLUGIN} {args}", path=shlex.quote(str(path)), fifo=tmp_path / "source.fifo")
    r = subprocess.run(["bash", "-c", line], capture_output=True, timeout=120, cwd=tmp_path)
    assert b"Traceback" not in r.stderr, r.stderr
    return r.returncode, r.stdout, NAMES.sub("SOURCE", r.stderr.decode("utf-8", "replace"))


def same_everywhere(tmp_path, data: bytes, args: str, sources=tuple(SOURCES)):
    path = tmp_path / "source"
    path.write_bytes(data)
    expected = run("file", args, path, tmp_path)
    for source in sources:
        if source != "file":
            assert run(source, args, path, tmp_path) == expected, source
            (tmp_path / "source.fifo").unlink(missing_ok=True)
    return expected


def test_a_yaml_manifest_from_every_source(tmp_path):
    """`check -f <(cat examples/cluster.yaml)` was exit 2, "underlying stream is not seekable"."""
    with open(EXAMPLE, "rb") as fh:
        code, out, err = same_everywhere(tmp_path, fh.read(), "check")
    assert code == 1 and b"pool-not-advertised" in out


def test_a_large_json_list_from_every_source(tmp_path):
    """Over 64 kB through <(...) was exit 2, "not valid YAML or JSON"."""
    data = kubectl_json(services(300)).encode("utf-8")
    assert len(data) > 1 << 17
    code, out, _ = same_everywhere(tmp_path, data, "free -o json")
    assert code == 0 and json.loads(out)
    code, out, _ = same_everywhere(tmp_path, data, "check -o json", ("stdin", "process substitution"))
    assert json.loads(out)


@pytest.mark.parametrize(
    "case",
    ["object with items", "invalid far in", "not utf-8 far in", "duplicate key far in"],
)
def test_what_a_streaming_reader_hands_back_reads_the_same_from_a_stream(tmp_path, case):
    """Large texts that the streaming readers give to the whole-text parser (or
    refuse) midway: from a pipe the result is the file's, message and all."""
    text = kubectl_json(services(200), kind="ServiceList")
    if case == "object with items":  # not a List: one object whose items are data
        text = kubectl_json(services(200), kind="Config")
    elif case == "invalid far in":
        cut = text.rindex('"svc-190"')
        text = text[:cut] + '"svc-190" x' + text[cut + 9 :]
    data = text.encode("utf-8")
    if case == "not utf-8 far in":
        data = data[: len(data) - 500] + b"\xff" + data[len(data) - 499 :]
    if case == "duplicate key far in":
        one = b"---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: a}\nspec: {ports: [{port: 80}]}\n"
        data = b"".join(one % i for i in range(2000))
        data += b"---\nkind: Service\napiVersion: v1\nmetadata: {name: x}\nspec: {}\nspec: {}\n"
    code, _, err = same_everywhere(tmp_path, data, "check", ("stdin", "process substitution"))
    assert code == (0 if case == "object with items" else 2)
    assert {
        "object with items": "0 error(s)",  # a kind no command reads, ignored
        "invalid far in": "is not valid YAML or JSON",
        "not utf-8 far in": "cannot read SOURCE: not UTF-8 text (byte",
        "duplicate key far in": "SOURCE: document 2001 line 10006: duplicate key 'spec' (first at line 10005)",
    }[case] in err


def test_a_fifo_inside_a_directory_is_skipped_with_a_note(tmp_path):
    """kubectl blocks on it; a plugin that promises bounded waits skips it."""
    folder = tmp_path / "k8s"
    folder.mkdir()
    with open(EXAMPLE, "rb") as fh:
        (folder / "cluster.yaml").write_bytes(fh.read())
    os.mkfifo(folder / "waiting.yaml")  # no writer: opening it would wait forever
    r = subprocess.run(["bash", "-c", f"{PLUGIN} check -f {folder}"], capture_output=True, timeout=120)
    assert r.returncode == 1 and b"pool-not-advertised" in r.stdout
    assert r.stderr.decode().count("waiting.yaml") == 1
    assert "skipping" in r.stderr.decode() and "not a regular file" in r.stderr.decode()


class Pipe:
    """Standard input that cannot seek, as a pipe."""

    def __init__(self, data: bytes) -> None:
        import io

        self.buffer = io.BufferedReader(io.BytesIO(data))
        self.buffer.seekable = lambda: False  # type: ignore[method-assign]


def test_a_long_stream_read_twice_replays_what_was_read_from_a_temporary_file(tmp_path, monkeypatch):
    """Past KEEP_IN_MEMORY, what a stream gave the streaming reader is kept on disk,
    and the whole-text parser reads it back and then the rest of the stream."""
    monkeypatch.setattr(files, "KEEP_IN_MEMORY", 1000)
    listed = kubectl_json(services(60))
    # a trailing comma: not JSON, so the streaming reader gives up at the list's end;
    # YAML reads it (as kubectl does)
    text = listed.replace("\n    ],", ",\n    ],")
    assert text != listed
    path = tmp_path / "c.json"
    path.write_text(text)
    from_file = files.load([str(path)], trimmed=True)
    from_pipe = files.load(["-"], stdin=Pipe(text.encode()), trimmed=True)
    assert len(from_file.models) == 60 and [p["metadata"]["name"] for p in from_file.pools] == ["a", "middle"]
    assert (from_pipe.models, from_pipe.pools) == (from_file.models, from_file.pools)


def test_a_peek_is_given_back_before_the_rest():
    import io

    text = files.Text(io.BytesIO("\ufeff \n\n- caf\u00e9\n".encode() + b"x" * 100_000), "n")
    assert text.first() == "-"
    assert text.read() == " \n\n- caf\u00e9\n" + "x" * 100_000
    assert text.read() == ""

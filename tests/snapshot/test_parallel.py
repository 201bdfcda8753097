"""A large JSON List read by two processes (snapshot/parallel.py): whatever the
split, the child's fate or the text, the snapshot is the one a single reader
makes, and so are the errors."""

import json
import os
import random
import threading
import time

import pytest
from builders import dual, lbips, namespace, pool, svc
from typer.testing import CliRunner

from kubectl_lbip.cli import app
from kubectl_lbip.errors import InputError
from kubectl_lbip.snapshot import files, jsonstream, parallel


def objects(count: int, seed: int = 1, foreign: bool = False):
    """Namespaces, pools (one in the middle, one at the end) and services of every
    kind the model reads; ``foreign``: text beyond ASCII in annotations and labels'
    neighbours, so that characters and bytes differ."""
    rng = random.Random(seed)
    out = [namespace("team-a", tier="gold"), pool("a", "10.0.0.0/24", "fd00:1b::/120")]
    for i in range(count):
        annotations = {"description": "caf\u00e9 \u6771\u4eac \U0001f680" * rng.randint(0, 3)} if foreign else {}
        if rng.random() < 0.3:
            annotations.update(lbips(f"10.0.0.{i % 250 + 1}"))
        if rng.random() < 0.1:
            annotations["metallb.universe.tf/allow-shared-ip"] = "k"
        make = dual if rng.random() < 0.5 else svc
        kw = {"ingress": [f"10.0.0.{i % 250 + 1}"]} if rng.random() < 0.8 else {}
        out.append(
            make(
                f"team-{'ab'[i % 2]}",
                f"svc-{i}",
                annotations=annotations,
                labels={"app": f"app-{i}", "note": "\u00fcber" if foreign else "plain"},
                local=rng.random() < 0.2,
                type=rng.choice(["LoadBalancer"] * 8 + ["ClusterIP", "NodePort"]),
                **kw,
            )
        )
        if i == count // 2:
            out.append(pool("middle", "10.0.1.0/24"))
    out.append(pool("last", "10.0.2.0/24", auto_assign=False))
    return out


def write_list(path, items, *, indent=4, bom=False, crlf=False, trailer=True):
    document = {"apiVersion": "v1", "items": items}
    if trailer:  # kubectl prints kind and metadata after the items
        document.update({"kind": "List", "metadata": {"resourceVersion": ""}})
    else:
        document = {"kind": "List", "apiVersion": "v1", "items": items}
    text = json.dumps(document, indent=indent, ensure_ascii=False) + "\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def snapshot_of(path):
    snap = files.load([path], trimmed=True)
    return snap.models, snap.pools, snap.namespaces, snap.network_objects, snap.legacy_configmap


def one_reader(path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(parallel, "MIN_BYTES", 1 << 62)
        return snapshot_of(path)


@pytest.fixture
def answers(monkeypatch):
    """Two readers for any file size and core count; records whether each child's
    answer was taken (True) or dropped (False)."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    monkeypatch.setattr(parallel, "other_threads", lambda: 0)  # other tests may leave some
    taken = []
    result = parallel._Child.result

    def spy(self, deadline):
        answer = result(self, deadline)
        taken.append(answer is not None)
        return answer

    monkeypatch.setattr(parallel._Child, "result", spy)
    return taken


@pytest.mark.parametrize(
    "variant",
    [{}, {"bom": True}, {"crlf": True}, {"foreign": True}, {"foreign": True, "bom": True, "crlf": True}, {"indent": 2}],
)
@pytest.mark.parametrize("share", [0.05, 0.5, 0.55, 0.9, 0.99])
def test_the_snapshot_is_one_readers_wherever_the_split(tmp_path, monkeypatch, answers, variant, share):
    foreign = variant.pop("foreign", False)
    path = write_list(tmp_path / "c.json", objects(300, seed=int(share * 100), foreign=foreign), **variant)
    monkeypatch.setattr(parallel, "SHARE", share)
    expected = one_reader(path, monkeypatch)
    assert snapshot_of(path) == expected
    assert answers == [True]  # the child's part was used, not read again here
    assert len(expected[0]) == 300 and [p["metadata"]["name"] for p in expected[1]] == ["a", "middle", "last"]


def test_items_last_in_the_document(tmp_path, monkeypatch, answers):
    path = write_list(tmp_path / "c.json", objects(200), trailer=False)
    assert snapshot_of(path) == one_reader(path, monkeypatch)
    assert answers == [True]


def test_every_split_point_inside_an_item_is_refused(tmp_path, monkeypatch, answers):
    """A split that is not an item's start (any '{' inside one) is passed by the
    reader here, which stops the child and reads on alone."""
    path = write_list(tmp_path / "c.json", objects(40, foreign=True))
    expected = one_reader(path, monkeypatch)
    data = open(path, "rb").read()
    starts = [i for i, byte in enumerate(data) if byte == ord("{")]
    item_starts = set()
    reader = jsonstream._Reader(open(path, encoding="utf-8", newline=""), 0)

    def note(r):
        item_starts.add(r.offset())
        return False

    jsonstream.stream_items(reader.fh, lambda *a: None, spans=True, boundary=note, reader=reader)
    inside = [s for s in starts if s not in item_starts][:: max(1, len(starts) // 60)]
    assert len(inside) > 20
    for split in inside:
        monkeypatch.setattr(parallel, "split_point", lambda path, s=split: s)
        assert snapshot_of(path) == expected, split
    assert answers == []  # never waited for: stopped when passed
    for split in sorted(item_starts)[1:5]:  # and the real starts are taken
        monkeypatch.setattr(parallel, "split_point", lambda path, s=split: s)
        assert snapshot_of(path) == expected
    assert answers == [True] * 4


def test_an_error_in_the_childs_part_is_the_one_reader_error(tmp_path, monkeypatch, answers):
    items = objects(200)
    items[-10]["spec"]["ports"] = "80"
    path = write_list(tmp_path / "c.json", items)
    with pytest.raises(InputError) as alone:
        one_reader(path, monkeypatch)
    with pytest.raises(InputError) as two:
        snapshot_of(path)
    assert str(two.value) == str(alone.value)
    assert f"item {len(items) - 9}:" in str(alone.value) and "spec.ports" in str(alone.value)
    assert answers == [False]


def test_invalid_json_in_the_childs_part(tmp_path, monkeypatch, answers):
    path = write_list(tmp_path / "c.json", objects(200))
    text = open(path, encoding="utf-8").read()
    cut = text.rindex('"svc-190"')
    open(path, "w", encoding="utf-8").write(text[:cut] + '"svc-190" x' + text[cut + 9 :])
    with pytest.raises(InputError) as alone:
        one_reader(path, monkeypatch)
    with pytest.raises(InputError) as two:
        snapshot_of(path)
    assert str(two.value) == str(alone.value)
    assert answers == [False]


def test_a_child_that_dies_is_replaced_by_reading_on(tmp_path, monkeypatch, answers):
    path = write_list(tmp_path / "c.json", objects(200))
    monkeypatch.setattr(parallel, "_run_child", lambda *a: os._exit(3))
    assert snapshot_of(path) == one_reader(path, monkeypatch)
    assert answers == [False]


def test_a_child_past_its_deadline_is_stopped(tmp_path, monkeypatch, answers):
    path = write_list(tmp_path / "c.json", objects(200))

    def stuck(*a):
        time.sleep(60)
        os._exit(0)

    monkeypatch.setattr(parallel, "_run_child", stuck)
    monkeypatch.setattr(parallel, "MIN_WAIT", 0.3)
    monkeypatch.setattr(parallel, "WAIT_FACTOR", 0.0)
    started = time.monotonic()
    assert snapshot_of(path) == one_reader(path, monkeypatch)
    assert time.monotonic() - started < 20
    assert answers == [False]


def test_no_child_for_small_files_one_core_threads_or_compact_json(tmp_path, monkeypatch):
    path = write_list(tmp_path / "c.json", objects(100))
    compact = write_list(tmp_path / "d.json", objects(100), indent=None)

    def no_fork():
        raise AssertionError("forked")

    monkeypatch.setattr(os, "fork", no_fork)
    assert parallel.split_point(compact) is None
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    assert len(snapshot_of(path)[0]) == 100  # 8 MB is the least
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    assert len(snapshot_of(compact)[0]) == 100
    monkeypatch.setattr(parallel, "usable_cores", lambda: 1)
    assert len(snapshot_of(path)[0]) == 100
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    monkeypatch.setattr(parallel, "other_threads", lambda: 0)
    assert parallel.split_point(path) is not None and parallel.worth_it(path)
    monkeypatch.undo()
    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not parallel.worth_it(path)
        assert len(snapshot_of(path)[0]) == 100
    finally:
        stop.set()
        thread.join()


def test_commands_print_the_same(tmp_path, monkeypatch, answers):
    """free, check and who-has through the CLI: the same output from two readers."""
    path = write_list(tmp_path / "c.json", objects(400, foreign=True))
    runner = CliRunner()
    commands = [
        ["free", "-f", path, "-o", "json"],
        ["check", "-f", path, "-o", "json"],
        ["who-has", "10.0.0.7", "-f", path, "-o", "json"],
        ["pools", "-f", path, "-o", "json"],
    ]
    two = [runner.invoke(app, c) for c in commands]
    monkeypatch.setattr(parallel, "MIN_BYTES", 1 << 62)
    alone = [runner.invoke(app, c) for c in commands]
    for c, a, b in zip(commands, alone, two):
        assert (a.exit_code, a.stdout) == (b.exit_code, b.stdout), c
        assert a.stdout.strip()
    assert answers and all(answers)


def test_never_two_readers_of_a_pipe(tmp_path, monkeypatch, answers):
    """-f <(kubectl get ...) is a pipe: each reader would take part of its bytes."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    assert not parallel.worth_it(str(fifo))
    assert parallel.worth_it(write_list(tmp_path / "c.json", objects(10)))

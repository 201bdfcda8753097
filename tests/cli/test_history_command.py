"""kubectl lbip history -f FILE: a record of watch lines (written to the line format
`who-has -w -o json` appends), read back to answer which service held an address
when; a line off the format is exit 2 naming the file and the line."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from builders import watch_line
from clirunner import CliRunner

from kubectl_lbip.cli import app
from kubectl_lbip.commands import history as cmd
from kubectl_lbip.snapshot import history as reader

runner = CliRunner()


def line(*args, **kwargs) -> str:
    return json.dumps(watch_line(*args, **kwargs))


LINES = [
    line("2026-12-01T09:00:00.000Z", "web", "front", "listed", None, ["192.168.10.5"]),
    line("2026-12-01T09:00:00.000Z", "web", "back", "listed", None, []),
    json.dumps(
        {
            "time": "2026-12-01T10:00:00.000Z",
            "kind": "IPAddressPool",
            "namespace": "metallb-system",
            "name": "default",
            "change": "counts",
            "ipv4": {"total": 8, "used": 1, "free": 7},
            "ipv6": None,
            "resourceVersion": "2",
        }
    ),  # fmt: skip
    line("2026-12-01T14:00:00.000Z", "web", "front", "released", ["192.168.10.5"], []),
    line("2026-12-01T14:00:05.000Z", "web", "back", "assigned", [], ["192.168.10.5"]),
]


@pytest.fixture
def rec(tmp_path: Path) -> str:
    path = tmp_path / "lbip.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    return str(path)


def run(*args, input=None):
    return runner.invoke(app, ["history", *args], input=input)


def test_which_service_held_the_address_at_a_time(rec):
    result = run("192.168.10.5", "-f", rec, "--at", "2026-12-01T12:00:00Z")
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["SERVICE", "HELD", "POOL", "SINCE", "UNTIL"]
    assert rows[1].split() == [
        "web/front",
        "192.168.10.5",
        "default",
        "2026-12-01T09:00:00.000Z",
        "(listed)",
        "2026-12-01T14:00:00.000Z",
        "(released)",
    ]
    later = run("192.168.10.5", "-f", rec, "--at", "2026-12-01T15:00:00+01:00", "-o", "json")  # 14:00 UTC
    got = json.loads(later.stdout)
    assert got["holders"] == []  # released at 14:00, the other service took it at 14:00:05
    assert later.exit_code == 1


def test_the_changes_of_an_address_in_order(rec):
    result = run("192.168.10.5", "-f", rec, "-o", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["query"] == {"addresses": "192.168.10.5"}
    assert [(c["name"], c["change"], c["source"]) for c in got["changes"]] == [
        ("front", "listed", f"{rec}:1"),
        ("front", "released", f"{rec}:4"),
        ("back", "assigned", f"{rec}:5"),
    ]


def test_a_service_by_name_in_the_namespace_of_n(rec):
    result = run("front", "-n", "web", "-f", rec)
    assert result.exit_code == 0, result.output
    assert [r.split()[2] for r in result.stdout.splitlines()[1:]] == ["listed", "released"]
    assert run("front", "-f", rec).exit_code == 1  # -f without -n: the default namespace, as kubectl -f


def test_since_a_time(rec):
    result = run("192.168.10.5", "-f", rec, "--since", "2026-12-01T14:00:01Z", "-o", "json")
    assert [c["change"] for c in json.loads(result.stdout)["changes"]] == ["assigned"]


def test_since_a_duration_back_from_now(rec):
    now = datetime(2026, 12, 1, 14, 0, 3, tzinfo=timezone.utc)
    since = cmd.parse_since("3s", now)
    assert since == datetime(2026, 12, 1, 14, 0, 0, tzinfo=timezone.utc)
    with pytest.raises(Exception) as err:
        cmd.parse_since("a while", now)
    assert "--since" in str(err.value)


def test_a_time_before_the_record_is_unknown_not_nobody(rec):
    result = run("192.168.10.5", "-f", rec, "--at", "2026-11-30")
    assert result.exit_code == 1
    assert "nothing is known of 2026-11-30T00:00:00.000Z: the record starts at 2026-12-01T09:00:00.000Z" in (
        result.stderr
    )


def test_nothing_found_is_exit_1_with_a_note(rec):
    result = run("192.168.99.1", "-f", rec)
    assert result.exit_code == 1 and result.stdout == ""
    assert "no change of 192.168.99.1 in the record" in result.stderr


def test_the_record_from_stdin_and_rotated_files_together(rec, tmp_path):
    older = tmp_path / "lbip.jsonl.1"
    older.write_text(line("2026-11-30T09:00:00.000Z", "web", "old", "assigned", [], ["192.168.10.5"]) + "\n")
    result = run(
        "192.168.10.5", "-f", str(older), "-f", "-", "--at", "2026-12-01T08:00:00Z", input=Path(rec).read_text()
    )
    assert result.exit_code == 0, result.output
    assert "web/old" in result.stdout


@pytest.mark.parametrize(
    "text, said",
    [
        ("{not json}\n", "not JSON: Expecting property name enclosed in double quotes at column 2"),
        ("[1, 2]\n", "expected a JSON object, got a list"),
        ('"just a string"\n', "expected a JSON object, got a string"),
        (line("2026-12-01T09:00:00Z", "web", "x", "stolen") + "\n", "field change: 'stolen' is not one of"),
        (line("yesterday", "web", "x", "listed") + "\n", "field time"),
        (line("2026-12-01T09:00:00Z", "web", "x", "assigned", [], ["300.1.1.1"]) + "\n", "field to[0]"),
        ("[" * 100000 + "\n", "nested too deeply"),
        (line(12, "web", "x", "listed") + "\n", "watch line: field time: expected a string, got an integer 12"),
        (line("2026-12-01T09:00:00Z", "web", ["x"], "listed") + "\n", "field name: expected a string, got a list"),
        (line("2026-12-01T09:00:00Z", "web", "x", "moved", "192.168.10.5") + "\n", "field from: expected a list"),
        (line("2026-12-01T09:00:00Z", "web", "x", "assigned", [], [5]) + "\n", "field to[0]: expected a string"),
        (line("2026-12-01T09:00:00Z", "web", "x", "assigned", [], [], pool=7) + "\n", "field pool: expected a string"),
        (
            line("2026-12-01T09:00:00Z", "web", "x", "refused", reason={"a": 1}) + "\n",
            "field reason: expected a string",
        ),
        (line("2026-12-01T09:00:00Z", "web", "x", "listed")[:40], "cut short: the file does not end with a newline"),
    ],
)
def test_a_malformed_line_is_exit_2_naming_the_line(rec, text, said):
    with open(rec, "a") as f:
        f.write("\n" + text)  # after a blank line: line 7
    result = run("-f", rec)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {rec}:7: ") and said in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_bytes_that_are_not_utf8_name_the_line(rec):
    with open(rec, "ab") as f:
        f.write(b'{"time": "\xff"}\n')
    result = run("-f", rec)
    assert result.exit_code == 2 and f"{rec}:6: not UTF-8 text (byte 11)" in result.stderr


def test_an_overlong_line_is_refused_without_reading_it_whole(rec, monkeypatch):
    monkeypatch.setattr(reader, "MAX_LINE", 64)
    result = run("-f", rec)
    assert result.exit_code == 2 and f"{rec}:1: the line is longer than" in result.stderr


def test_a_directory_or_a_missing_file_is_exit_2(tmp_path):
    assert "is a directory" in run("-f", str(tmp_path)).stderr
    missing = run("-f", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("\n" + LINES[0] + "\n\n   \n")
    assert run("-f", str(path)).exit_code == 0


@pytest.mark.parametrize(
    "args, said",
    [
        (["--at", "last tuesday"], "--at: 'last tuesday' is not a time"),
        (["--since", "a while"], "--since: 'a while' is not a time"),
        (["--at", "2026-12-01", "--since", "1h"], "give one of them"),
        (["web/front/x"], "neither an address, a CIDR nor a service"),
    ],
)
def test_bad_arguments_are_exit_2_before_anything_is_read(tmp_path, args, said):
    never = tmp_path / "never-read.jsonl"  # does not exist: the argument fails first
    result = run(*args, "-f", str(never))
    assert result.exit_code == 2 and said in result.stderr, result.stderr


def test_n_keeps_the_record_to_one_namespace(rec, tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text(line("2026-12-01T15:00:00.000Z", "db", "main", "assigned", [], ["192.168.10.9"]) + "\n")
    result = run("-n", "db", "-f", rec, "-f", str(other), "-o", "json")
    assert [c["name"] for c in json.loads(result.stdout)["changes"]] == ["main"]
    everything = run("-f", rec, "-f", str(other), "-o", "json")
    assert {c["namespace"] for c in json.loads(everything.stdout)["changes"]} == {"web", "db"}


def test_a_service_the_record_shows_only_later_is_not_known_at_the_time(rec, tmp_path):
    later = tmp_path / "later.jsonl"
    later.write_text(line("2026-12-03T09:00:00.000Z", "db", "main", "listed", None, ["192.168.10.5"]) + "\n")
    result = run("192.168.10.5", "-f", rec, "-f", str(later), "--at", "2026-12-01T14:00:01Z")
    assert result.exit_code == 1
    assert "nobody else held 192.168.10.5 at 2026-12-01T14:00:01.000Z" in result.stderr
    assert "not known at 2026-12-01T14:00:01.000Z: db/main (first seen 2026-12-03T09:00:00.000Z)" in result.stderr

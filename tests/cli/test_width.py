"""Every command's default output fits a 120-column terminal, on the example and on
a cluster whose names are as long as Kubernetes allows: table cells wrap within
their column, sentences and (on a terminal) notes wrap too; -o wide shows the rest.
On a terminal errors and warnings are coloured; NO_COLOR and a pipe turn that off."""

import os
import pty
import re
import subprocess
import sys

import pytest
from clirunner import CliRunner

from kubectl_lbip import render
from kubectl_lbip.cli import app

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "cluster.yaml")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NAMES = [  # every namespace, pool, service and advertisement of the example
    "production", "edge-v4", "edge-v6", "team-a", "shop", "monitoring", "legacy", "payments",
    "frontend-quic", "frontend", "grafana", "gateway", "web", "dns", "l2-zone-a", "edge-routers",
]  # fmt: skip


def long(name: str) -> str:
    """The name grown to 63 characters, the most a namespace or service name may have."""
    return (name + "-" + "abcdefghij" * 7)[:63].rstrip("-")


@pytest.fixture(scope="module")
def long_names(tmp_path_factory):
    text = open(EXAMPLE).read()
    for name in NAMES:
        text = re.sub(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", long(name), text)
    path = tmp_path_factory.mktemp("long") / "cluster-with-long-names.yaml"
    path.write_text(text)
    return str(path)


def commands(rename):
    return [
        ["pools"],
        ["free"],
        ["free", "--for", rename("frontend"), "-n", rename("shop")],
        ["free", "-n", rename("team-a")],
        ["who-has", "192.168.10.0/24", "fd00:10::150"],
        ["check"],
        ["why", rename("gateway"), "-n", rename("payments")],
        ["why", rename("grafana"), "-n", rename("monitoring")],
        ["migrate", "--dry-run=client"],
        ["pin", "--dry-run=client"],
    ]


def widest(text: str) -> int:
    return max((len(ANSI.sub("", line)) for line in text.splitlines()), default=0)


@pytest.mark.parametrize("which", ["example", "long names"])
def test_default_output_fits_120_columns(which, long_names, monkeypatch):
    path, rename = (EXAMPLE, lambda n: n) if which == "example" else (long_names, long)
    monkeypatch.setattr(render, "terminal", lambda stream: True)  # notes wrap as on a terminal
    for args in commands(rename):
        r = CliRunner().invoke(app, args + ["-f", path])
        assert r.exit_code in (0, 1), (args, r.output)
        assert (r.stdout + r.stderr).strip(), args
        assert widest(r.stdout) <= 120, (args, r.stdout)
        assert widest(r.stderr) <= 120, (args, r.stderr)


def test_wide_shows_the_rest(long_names):
    wide = CliRunner().invoke(app, ["pools", "-o", "wide", "-f", long_names]).stdout
    assert widest(wide) > 120 and "NAMESPACE" in wide and "AVOIDBUGGYIPS" in wide
    assert long("team-a") in wide  # whole, on one line


def test_wrapped_cells_keep_every_character():
    """A wrapped table holds the same text: each cell's lines joined give the cell back."""
    message = "the addresses lie in different pools (192.168.20.5 in edge-v4, fd00:20::5 in edge-v6); " * 3
    rows = [["error", "split-pool-dual-stack", "Service/" + long("payments") + "/gateway", message.strip()]]
    text = render.table(rows, ["severity", "code", "object", "message"])
    lines = text.splitlines()
    assert widest(text) <= render.WIDTH and len(lines) > 2
    starts = [lines[0].index(h) for h in ("OBJECT", "MESSAGE")]
    obj = "".join(line[starts[0] : starts[1]].strip() for line in lines[1:])
    msg = " ".join(line[starts[1] :].strip() for line in lines[1:])
    assert obj == rows[0][2]
    assert msg.replace(" ", "") == rows[0][3].replace(" ", "")
    assert lines[1].startswith("error ")  # the row starts with its own first field


def test_a_table_that_fits_is_left_as_it_is():
    rows = [["a" * 50, "b" * 60]]
    assert render.table(rows, ["x", "y"]) == render.table(rows, ["x", "y"], fit=False)


def test_fit_widths():
    assert render.fit_widths([10, 20], [0, 0], 120) == [10, 20]
    fitted = render.fit_widths([10, 200, 150], [4, 4, 4], 120)
    assert sum(fitted) + 2 * render.GAP <= 120 and fitted[0] == 10 and fitted[1] == fitted[2]
    assert render.fit_widths([50, 50, 50], [45, 45, 45], 100) == [45, 45, 45]  # best effort: the floors


@pytest.mark.parametrize(
    "text,width,lines",
    [
        ("one two three", 7, ["one two", "three"]),
        ("192.168.10.0/24,fd00:10::/64", 16, ["192.168.10.0/24,", "fd00:10::/64"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        ("", 5, [""]),
    ],
)
def test_wrap(text, width, lines):
    assert render.wrap(text, width) == lines


def _on_a_terminal(args, **env):
    """stdout and stderr a real terminal (a pty), as a person sees them."""
    main, sub = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kubectl_lbip", *args],
            stdout=sub,
            stderr=sub,
            env={**os.environ, **env},
            timeout=60,
        )
        os.close(sub)
        sub = -1
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the pty is closed once the child is gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        return proc.returncode, b"".join(chunks).decode()
    finally:
        os.close(main)
        if sub != -1:
            os.close(sub)


def test_errors_and_warnings_are_coloured_on_a_terminal():
    code, text = _on_a_terminal(["check", "-f", EXAMPLE], NO_COLOR="")
    assert code == 1 and render.RED + "error" + render.RESET in text and render.YELLOW + "warning" in text
    code, text = _on_a_terminal(["pools", "-f", "/nonexistent"], NO_COLOR="")
    assert code == 2 and text.startswith(render.RED + "error" + render.RESET + ": ")


def test_no_color_and_a_pipe_turn_colour_off():
    code, text = _on_a_terminal(["check", "-f", EXAMPLE], NO_COLOR="1")
    assert code == 1 and "error" in text and "\x1b[" not in text
    piped = subprocess.run(
        [sys.executable, "-m", "kubectl_lbip", "check", "-f", EXAMPLE],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
        timeout=60,
    )
    assert piped.returncode == 1 and "error" in piped.stdout and "\x1b[" not in piped.stdout + piped.stderr


def test_only_a_row_starts_at_the_margin():
    """A first field too long to keep whole wraps with its own lines indented, so awk
    and sort see one first field per row."""
    rows = [[long(f"pool-{i}") + " (restricted)", "yes"] + [str(10**20)] * 6 for i in range(3)]
    text = render.table(rows, ["pool", "auto", "ipv4 total", "ipv4 used", "ipv4 free", "ipv6 total", "ipv6 used", "x"])
    lines = text.splitlines()[1:]
    assert widest(text) <= render.WIDTH and len(lines) > len(rows)
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == [f"pool-{i}-" for i in range(3)]


def test_who_has_wide_adds_the_advertisements():
    args = ["who-has", "192.168.10.150", "-f", EXAMPLE]
    default = CliRunner().invoke(app, args).stdout
    wide = CliRunner().invoke(app, args + ["-o", "wide"]).stdout
    assert "ANNOUNCED BY" not in default and "ANNOUNCED BY" in wide.splitlines()[0]
    assert all(line.split()[-1] == "l2:l2-zone-a" for line in wide.splitlines()[1:])

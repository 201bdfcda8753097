"""kubectl_complete-lbip: Cobra's __complete protocol, through the real kubectl
binary where it matters; its command table held to the Typer app's options."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import typer.main

from kubectl_lbip import commandtable, complete
from kubectl_lbip.cli import app

BIN = os.path.dirname(sys.executable)
KUBECTL = shutil.which("kubectl")


def test_the_table_is_derived_from_the_app():
    """Completion's table is what commandtable derives from the Typer app now: a command
    or flag added to cli.py and not to the table (make completion-table) fails here."""
    with open(commandtable.PATH) as f:
        assert f.read() == commandtable.current_source()


def test_every_command_and_flag_is_completed():
    """The table holds every command of the app, every spelling of each option, and
    each option's choices."""
    group = typer.main.get_command(app)
    assert list(complete.COMMANDS) == list(group.commands)
    for name, cmd in group.commands.items():
        valued, booleans = complete.flags_of(name)
        for p in cmd.params:
            if p.param_type_name != "option":
                continue
            for spelling in list(p.opts) + list(p.secondary_opts):
                if p.is_flag or p.count:
                    assert spelling in booleans, (name, spelling)
                else:
                    assert spelling in valued, (name, spelling)
                    choices = getattr(p.type, "choices", None)
                    if choices:
                        assert valued[spelling] == [getattr(c, "value", c) for c in choices]


def test_namespace_is_declared_once():
    """-n is one declaration in cli.py, and every command reading services or pools takes it."""
    import inspect

    from kubectl_lbip import cli

    assert inspect.getsource(cli).count('"--namespace"') == 1
    for name in ("pools", "free", "who-has", "check", "why", "annotate", "migrate", "pin"):
        assert complete.flags_of(name)[0]["-n"] == complete.NAMESPACE


def run_complete(*args, env=None):
    r = subprocess.run(
        [os.path.join(BIN, "kubectl_complete-lbip"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env or {**os.environ, "KUBECONFIG": "/nonexistent"},
    )
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[-1].startswith(":")
    return [line.split("\t")[0] for line in lines[:-1]], int(lines[-1][1:])


@pytest.mark.parametrize(
    "args,expected,directive",
    [
        (["fr"], ["free"], complete.NO_FILE),
        ([""], sorted(complete.COMMANDS, key=list(complete.COMMANDS).index), complete.NO_FILE),
        (["check", "-o", ""], ["table", "json", "yaml", "sarif", "junit", "github"], complete.NO_FILE),
        (["who-has", "-o=n"], ["-o=name"], complete.NO_FILE),
        (
            ["check", "--output="],
            ["--output=" + f for f in ("table", "json", "yaml", "sarif", "junit", "github")],
            complete.NO_FILE,
        ),
        (["free", "--family", ""], ["dual", "ipv4", "ipv6"], complete.NO_FILE),
        (["annotate", "x", "--dry-run="], ["--dry-run=none", "--dry-run=client", "--dry-run=server"], complete.NO_FILE),
        (["check", "-f", ""], [], complete.DEFAULT),
        (["check", "--str"], ["--strict"], complete.NO_FILE),
        (["pools", "-n"], ["-n"], complete.NO_FILE),
        (["help", "wh"], ["who-has", "why"], complete.NO_FILE),
        (["-n", "free", "pools", "-o", "n"], ["name"], complete.NO_FILE),  # free is -n's value
        (["nosuch", ""], [], complete.NO_FILE),
        (["-n", "x", "ann"], ["annotate"], complete.NO_FILE),  # flags before the command
        (
            ["--context=x", "check", "-o="],
            ["-o=" + f for f in ("table", "json", "yaml", "sarif", "junit", "github")],
            complete.NO_FILE,
        ),
    ],
)
def test_static_completions(args, expected, directive):
    assert run_complete(*args) == (expected, directive)


def test_cluster_completions_without_a_cluster_print_no_error(tmp_path):
    bad = tmp_path / "config"
    bad.write_text("{not: yaml: at all")
    env = {**os.environ, "KUBECONFIG": str(bad)}
    for args in (
        ["annotate", ""],
        ["check", "-n", ""],
        ["free", "--pool", ""],
        ["free", "--for", ""],
        ["check", "--context", ""],
    ):
        assert run_complete(*args, env=env) == ([], complete.NO_FILE)


def test_a_hung_server_does_not_hang_the_shell(tmp_path):
    server, port = _hanging_server()
    config = tmp_path / "config"
    config.write_text(f"""
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: x}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u, namespace: ns1}}}}]
current-context: x
""")
    started = time.monotonic()
    assert run_complete("annotate", "", env={**os.environ, "KUBECONFIG": str(config)}) == ([], complete.NO_FILE)
    assert time.monotonic() - started < complete.DEADLINE + 2
    server.close()


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_through_kubectl():
    """kubectl >= 1.26 runs kubectl_complete-lbip from PATH for `kubectl lbip <TAB>`."""
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"], "KUBECONFIG": "/nonexistent"}
    r = subprocess.run([KUBECTL, "__complete", "lbip", "fr"], capture_output=True, text=True, env=env, timeout=30)
    assert r.stdout.splitlines()[0].split("\t")[0] == "free"
    assert r.stdout.splitlines()[-1] == ":4"
    r = subprocess.run(
        [KUBECTL, "__complete", "lbip", "who-has", "-o", ""], capture_output=True, text=True, env=env, timeout=30
    )
    assert r.stdout.splitlines() == ["table", "wide", "json", "yaml", "name", ":4"]


class _Hanging:
    """A loopback socket that accepts and never answers; close() ends its thread
    (a plain close does not wake an accept() blocked in another thread)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.held: list = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        for conn in self.held:
            conn.close()


def _hanging_server():
    server = _Hanging()
    return server, server.sock.getsockname()[1]


def _lbip(*args, env):
    started = time.monotonic()
    r = subprocess.run(
        [os.path.join(BIN, "kubectl-lbip"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    return r, time.monotonic() - started


def test_request_timeout_against_a_server_that_never_answers(tmp_path):
    """--request-timeout=1s: about a second more than failing at once on a closed port."""
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    base, base_seconds = _lbip(
        "pools", "-s", f"https://127.0.0.1:{closed_port}", "--token", "x", "--request-timeout=1s", env=env
    )
    assert base.returncode == 3
    server, port = _hanging_server()
    try:
        r, seconds = _lbip(
            "pools",
            "-s",
            f"https://127.0.0.1:{port}",
            "--token",
            "x",
            "--insecure-skip-tls-verify",
            "--request-timeout=1s",
            "-v=6",
            env=env,
        )
    finally:
        server.close()
    assert r.returncode == 3
    assert "no complete answer from" in r.stderr and "within 1s (the request timeout)" in r.stderr
    assert "Warning" not in r.stderr and "warn" not in r.stderr.lower()
    # -v=6 logs the request with its duration: the deadline, not twice it (no retry)
    logged = [line for line in r.stderr.splitlines() if line.startswith("I GET ")]
    assert len(logged) == 1 and logged[0].endswith("ms")
    assert 900 <= int(logged[0].split()[-1][:-2]) < 2000, logged
    assert seconds - base_seconds < 3, (seconds, base_seconds)  # the start is the rest


def test_the_plugin_answers_the_same(tmp_path):
    """`kubectl lbip __complete ...` (what a two-line kubectl_complete-lbip script
    calls where krew cannot link the executable) answers as kubectl_complete-lbip."""
    env = {**os.environ, "KUBECONFIG": "/nonexistent"}
    for args in (["fr"], ["check", "-o", ""], ["annotate", "--dry-run="]):
        direct = subprocess.run(
            [os.path.join(BIN, "kubectl_complete-lbip"), *args], capture_output=True, text=True, env=env
        )
        through = subprocess.run(
            [os.path.join(BIN, "kubectl-lbip"), "__complete", *args], capture_output=True, text=True, env=env
        )
        assert through.stdout == direct.stdout and through.stderr == ""


def test_completion_imports_no_heavy_module():
    """A shell waits for every <TAB>: no typer, no kubernetes client, no YAML parser for
    what needs no cluster, no network module until a cluster is asked."""
    code = (
        "import sys, kubectl_lbip.complete as c; c.complete(['fr']); c.complete(['check', '-o', ''])\n"
        "heavy = [m for m in ('typer', 'click', 'kubernetes', 'yaml', 'urllib3', 'ssl', 'http.client')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_metallb_version_choices_are_the_measured_releases():
    from kubectl_lbip import complete
    from kubectl_lbip.model.metallb import MEASURED

    assert tuple(complete.flags_of("check")[0]["--metallb-version"]) == MEASURED


def test_implementation_and_cilium_version_choices():
    from kubectl_lbip import complete
    from kubectl_lbip.model.cilium import READ

    flags = complete.flags_of("pools")[0]
    assert tuple(flags["--implementation"]) == ("metallb", "cilium")
    assert tuple(flags["--cilium-version"]) == READ

"""An exec credential plugin that hangs ends with the command that ran it: after
`kubectl lbip` (or a <TAB> completion) ends, at its deadline, on Ctrl-C, or killed
by SIGTERM or SIGKILL without its exit handlers, no process of the plugin is left
running (reparented to init, sleeping on). The fake plugin writes its pid to a
file, so the test can look for it afterwards; whatever the outcome, the test kills
what it finds, so that a failure leaks nothing either."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from fakeapi import FakeAPI, kubeconfig_dict, service, write_yaml

BIN = os.path.dirname(sys.executable)
KUBECTL = shutil.which("kubectl")

# appends its pid (one line a run: kubectl may run it more than once), then hangs
HANGING = """
    import os, sys, time
    with open(sys.argv[1], "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(300)
"""


def _alive(pid: int, plugin: Path) -> bool:
    """The plugin's process still runs (a zombie does not: it has ended, only not
    yet been waited for). Its command line must name the plugin: a pid reused by
    another process is not it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2 :].split()[0]
    return state not in ("Z", "X") and str(plugin).encode() in cmdline


class Plugin:
    def __init__(self, tmp_path: Path):
        self.path = tmp_path / "hanging-cred-plugin.py"
        self.path.write_text(textwrap.dedent(HANGING))
        self.pids = tmp_path / "plugin-pids"

    def user(self) -> dict:
        return {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": sys.executable,
                "args": [str(self.path), str(self.pids)],
                "interactiveMode": "Never",
            }
        }

    def started(self) -> List[int]:
        try:
            text = self.pids.read_text()
        except FileNotFoundError:
            return []
        return [int(line) for line in text.split() if line.isdigit()]

    def left_running(self, grace: float = 2.0) -> List[int]:
        """The plugin's processes that still run ``grace`` seconds from now at the
        latest (a killed one may take a moment to be reaped)."""
        end = time.monotonic() + grace
        while True:
            alive = [pid for pid in self.started() if _alive(pid, self.path)]
            if not alive or time.monotonic() >= end:
                return alive
            time.sleep(0.05)

    def kill_all(self) -> None:
        for pid in self.started():
            if _alive(pid, self.path):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[Plugin]:
    p = Plugin(tmp_path)
    try:
        yield p
    finally:
        p.kill_all()  # never leaked, whatever the test found


@pytest.fixture
def env(fake: FakeAPI, plugin: Plugin, tmp_path: Path) -> Dict[str, str]:
    fake.add_service(service("default", "web"))
    config = write_yaml(
        tmp_path / "exec-kubeconfig",
        kubeconfig_dict({"A": fake.url}, {"sso": plugin.user()}, {"sso": {"cluster": "A", "user": "sso"}}, "sso"),
    )
    return {
        **os.environ,
        "PATH": os.pathsep.join([BIN, os.path.dirname(KUBECTL or "/usr/bin"), os.environ.get("PATH", "")]),
        "KUBECONFIG": config,
    }


def _wait_started(plugin: Plugin, proc: "subprocess.Popen[str]") -> None:
    """Until kubectl has run the plugin (the proxy does so for its first request)."""
    end = time.monotonic() + 20
    while not plugin.started() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.02)
    assert plugin.started(), ("the plugin never ran", proc.poll())


COMMAND = ["lbip", "annotate", "web", "192.168.10.21", "--dry-run=server"]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_a_hanging_exec_plugin_ends_with_the_command_at_its_deadline(plugin, env):
    r = subprocess.run(
        [KUBECTL or "kubectl", *COMMAND, "--request-timeout=3s"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 3, r
    assert plugin.started(), ("the plugin never ran", r.stderr)
    assert plugin.left_running() == [], r.stderr


def _signalled(argv: List[str], env: Dict[str, str], plugin: Plugin, sig: int) -> int:
    """``argv`` run until the plugin hangs in it, then sent ``sig``: its exit status."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, text=True)
    try:
        _wait_started(plugin, proc)
        proc.send_signal(sig)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# Ctrl-C ends the command through its exit handlers; SIGTERM (a CI job's timeout, a
# closed terminal's SIGHUP alike) and SIGKILL end it without them: the proxy's
# watchman ends what the proxy runs.
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_hanging_exec_plugin_ends_with_the_command_when_it_is_killed(plugin, env, sig):
    code = _signalled([KUBECTL or "kubectl", *COMMAND, "--request-timeout=30s"], env, plugin, sig)
    assert code != 0
    assert plugin.left_running(grace=5) == []


def _tab(words: Tuple[str, ...], deadline: float) -> List[str]:
    """kubectl_complete-lbip's main with ``deadline`` seconds for the cluster."""
    code = f"from kubectl_lbip import complete; complete.DEADLINE = {deadline}; complete.main({list(words)!r})"
    return [sys.executable, "-c", code]


TABS = [("annotate", ""), ("free", "-n", ""), ("free", "--pool", "")]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("words", TABS, ids=["service", "namespace", "pool"])
def test_a_hanging_exec_plugin_ends_with_a_tab_completion(plugin, env, words):
    r = subprocess.run(
        [os.path.join(BIN, "kubectl_complete-lbip"), *words],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert r.stdout.splitlines() == [":4"], r
    assert plugin.started(), ("the plugin never ran", r.stderr)
    assert plugin.left_running() == [], r.stderr


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_hanging_exec_plugin_ends_with_a_tab_completion_that_is_killed(plugin, env, sig):
    """A shell's <TAB> given up (Ctrl-C, or kubectl's completion killed): the same.
    The completion gets a long deadline here, so that the signal comes first."""
    _signalled(_tab(("annotate", ""), 30), env, plugin, sig)
    assert plugin.left_running(grace=5) == []


# A kubectl whose proxy ends (an error, a crash) while the exec plugin it started
# still runs, holding the proxy's stderr as kubectl's exec plugins do.
ENDING_PROXY = """#!/bin/sh
case " $* " in
  *" proxy "*)
    "$PLUGIN_PYTHON" "$PLUGIN" "$PLUGIN_PIDS" >/dev/null &
    while [ ! -s "$PLUGIN_PIDS" ]; do sleep 0.05; done
    echo "error: the proxy broke" >&2
    exit 1;;
  *) echo '{}';;
esac
"""


def test_a_proxy_that_ends_while_its_exec_plugin_hangs_leaves_no_plugin(plugin, tmp_path, monkeypatch):
    """The proxy's end is its error, said at once (not when the plugin, holding
    its stderr, ends), and what it left running in its process group is killed."""
    from kubectl_lbip.door import Door
    from kubectl_lbip.errors import ClusterError

    fake = tmp_path / "kubectl"
    fake.write_text(ENDING_PROXY)
    fake.chmod(0o755)
    monkeypatch.setenv("PLUGIN_PYTHON", sys.executable)
    monkeypatch.setenv("PLUGIN", str(plugin.path))
    monkeypatch.setenv("PLUGIN_PIDS", str(plugin.pids))
    started = time.monotonic()
    with pytest.raises(ClusterError, match="the proxy broke"):
        Door(3, kubectl=str(fake)).get("/api/v1/namespaces")
    assert time.monotonic() - started < 2.5
    assert plugin.started()
    assert plugin.left_running() == []

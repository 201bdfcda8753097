"""kubectl lbip completion: prints the kubectl_complete-lbip helper, or writes it beside
the kubectl-lbip kubectl runs (a krew link here, as krew installs it), answers through
it, and removes only what it wrote."""

import os
import stat
import subprocess
import sys

import pytest
from clirunner import CliRunner

from kubectl_lbip.cli import app
from kubectl_lbip.commands import completion

BIN = os.path.dirname(sys.executable)


@pytest.fixture
def krew_bin(tmp_path, monkeypatch):
    """A folder on PATH holding kubectl-lbip as krew leaves it: a link to the program."""
    folder = tmp_path / "krew" / "bin"
    folder.mkdir(parents=True)
    (folder / "kubectl-lbip").symlink_to(os.path.join(BIN, "kubectl-lbip"))
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{BIN}{os.pathsep}/usr/bin:/bin")
    return folder


def run(*args):
    return CliRunner().invoke(app, ["completion", *args])


def test_prints_the_helper(krew_bin):
    r = run()
    assert r.exit_code == 0
    assert r.stdout.startswith("#!/bin/sh\n") and f"exec {krew_bin / 'kubectl-lbip'} __complete" in r.stdout
    assert "--install" in r.stderr and not (krew_bin / completion.HELPER).exists()


def test_install_answers_through_kubectls_protocol_and_uninstall_removes_it(krew_bin):
    helper = krew_bin / completion.HELPER
    r = run("--install")
    assert r.exit_code == 0, r.output
    assert f"wrote {helper}" in r.stderr and "--uninstall" in r.stderr and "bash-completion" in r.stderr
    assert stat.S_IMODE(helper.stat().st_mode) == 0o755
    answer = subprocess.run([str(helper), "fr"], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert answer.stdout.splitlines()[0].split("\t")[0] == "free" and answer.stdout.splitlines()[-1] == ":4"
    assert run("--install").exit_code == 0  # again: the same helper
    assert helper.read_text() == completion.shim(str(krew_bin / "kubectl-lbip"))
    r = run("--uninstall")
    assert r.exit_code == 0 and f"removed {helper}" in r.stderr and not helper.exists()
    assert (krew_bin / "kubectl-lbip").is_symlink()  # the plugin itself untouched
    r = run("--uninstall")
    assert r.exit_code == 0 and "nothing to remove" in r.stderr


def test_a_helper_installed_with_the_package_is_left_alone(krew_bin):
    helper = krew_bin / completion.HELPER
    helper.write_text("#!/usr/bin/python3\nfrom kubectl_lbip.complete import main\nmain()\n")
    before = helper.read_text()
    r = run("--install")
    assert r.exit_code == 0 and "there already" in r.stderr and helper.read_text() == before
    r = run("--uninstall")
    assert r.exit_code == 2 and "left as it is" in r.stderr and helper.read_text() == before


def test_without_the_plugin_on_path_it_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = run("--install")
    assert r.exit_code == 2 and "kubectl-lbip is not on PATH" in r.stderr


def test_install_and_uninstall_together_are_refused(krew_bin):
    r = run("--install", "--uninstall")
    assert r.exit_code == 2 and not (krew_bin / completion.HELPER).exists()

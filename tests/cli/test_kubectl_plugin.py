"""The real kubectl binary finds the installed console script as a plugin."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "cluster.yaml")


def plugin_dir():
    script = os.path.join(os.path.dirname(sys.executable), "kubectl-lbip")
    if not os.path.exists(script):
        script = shutil.which("kubectl-lbip")
    return os.path.dirname(script) if script else None


@pytest.fixture
def kubectl_env(tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("the kubectl binary is not on PATH; install it (see README)")
    bindir = plugin_dir()
    assert bindir, "kubectl-lbip is not installed (pip install .)"
    env = {
        "PATH": os.pathsep.join([bindir, os.path.dirname(kubectl), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(tmp_path / "none"),
    }
    return kubectl, env


def kubectl(env_pair, *args):
    binary, env = env_pair
    return subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=60)


def test_kubectl_plugin_list_finds_it(kubectl_env):
    r = kubectl(kubectl_env, "plugin", "list")
    assert "kubectl-lbip" in r.stdout, r.stdout + r.stderr


def test_kubectl_lbip_help_and_version(kubectl_env):
    r = kubectl(kubectl_env, "lbip", "--help")
    assert r.returncode == 0 and "who-has" in r.stdout and "annotate" in r.stdout
    r = kubectl(kubectl_env, "lbip", "version")
    assert r.returncode == 0 and r.stdout.startswith("kubectl-lbip ")


def test_kubectl_lbip_pools_on_example(kubectl_env):
    r = kubectl(kubectl_env, "lbip", "pools", "-f", EXAMPLE)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines()[1:] if not line.startswith(" ")]  # a wrapped cell's line is not
    assert [line.split()[0] for line in rows] == ["production", "edge-v4", "edge-v6", "team-a"]


def test_exit_codes_pass_through_kubectl(kubectl_env):
    assert kubectl(kubectl_env, "lbip", "who-has", "-f", EXAMPLE, "10.9.9.9").returncode == 1
    r = kubectl(kubectl_env, "lbip", "who-has", "-f", EXAMPLE, "bogus")
    assert r.returncode == 2 and "bogus" in r.stderr


def test_no_kubeconfig_is_a_clear_cluster_error(kubectl_env):
    r = kubectl(kubectl_env, "lbip", "pools")
    assert r.returncode == 3
    assert "no cluster configured" in r.stderr and "Traceback" not in r.stderr

"""The repository's pre-commit hook (.pre-commit-hooks.yaml), as another
repository uses it: `pre-commit try-repo` installs the plugin from this checkout
into its own environment (its dependencies from the package index) and runs
`kubectl lbip check -f` on the changed manifests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]

POOL = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "IPAddressPool",
    "metadata": {"name": "prod", "namespace": "metallb-system"},
    "spec": {"addresses": ["192.168.10.0/24"]},
}


def service(address: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {"metallb.io/loadBalancerIPs": address}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: pre-commit try-repo needs this repository's git history")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(repo: Path, home: Path, *files: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "kubectl-lbip-check", "--files", *files],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )


def git_repo(path: Path, address: str) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    (path / "pools.yaml").write_text(yaml.safe_dump(POOL))
    (path / "web.yaml").write_text(yaml.safe_dump(service(address)))
    subprocess.run(["git", "add", "."], cwd=path, check=True)
    return path


def test_hook_fails_on_a_bad_manifest_naming_the_finding_and_passes_a_good_one(tmp_path, pre_commit_home):
    bad = try_repo(git_repo(tmp_path / "bad", "10.0.0.5"), pre_commit_home, "pools.yaml", "web.yaml")
    assert bad.returncode == 1, bad.stdout
    assert "not-in-pool" in bad.stdout and "Service/shop/web" in bad.stdout and "Failed" in bad.stdout
    good = try_repo(git_repo(tmp_path / "good", "192.168.10.5"), pre_commit_home, "pools.yaml", "web.yaml")
    assert good.returncode == 0, good.stdout
    assert "Passed" in good.stdout

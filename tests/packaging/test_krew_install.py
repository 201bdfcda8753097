"""The archive as users get it: installed by a real krew, run by a real kubectl,
with the system's python3 and nothing of the venv.

Needs `bash packaging/build_krew.sh` (krew from the Go module proxy, cached
outside the repo) and kubectl on /usr/bin or /bin; skipped otherwise.  krew
never touches the network here: `install --manifest` skips the index, the
archive comes from --archive, and KREW_NO_UPGRADE_CHECK turns off its release
check (tests run it in an empty network namespace when `unshare` allows).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, clean_env

pytestmark = pytest.mark.packaging

EXAMPLE = ROOT / "examples" / "cluster.yaml"
# Every OS/arch pair krew knows on Linux and macOS: one platform entry serves them all.
PLATFORMS = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("linux", "arm"),
    ("linux", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
]


def _version() -> str:
    import re

    text = (ROOT / "kubectl_lbip" / "__init__.py").read_text()
    return re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M).group(1)


def _offline_prefix() -> list:
    """`unshare -rn` (a network namespace with no interfaces) when this kernel allows it."""
    unshare = shutil.which("unshare")
    if unshare:
        for args in ([unshare, "-n"], [unshare, "-rn"]):
            if subprocess.run(args + ["true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                return args
    return []


def run(cmd, env, cwd=None, check=True, prefix=()):
    proc = subprocess.run(
        list(prefix) + [str(c) for c in cmd],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    if check and proc.returncode:
        pytest.fail(f"{cmd} exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


def _kubectl() -> str:
    for d in ("/usr/bin", "/bin"):
        if os.access(f"{d}/kubectl", os.X_OK):
            return f"{d}/kubectl"
    pytest.skip("kubectl not found in /usr/bin or /bin")


def krew_install(krew_bin: Path, build, krew_root: Path, home: Path, **extra_env) -> subprocess.CompletedProcess:
    env = clean_env(home, KREW_ROOT=str(krew_root), KREW_NO_UPGRADE_CHECK="1", **extra_env)
    return run(
        [krew_bin / "krew", "install", f"--manifest={build.manifest}", f"--archive={build.archive}"],
        env,
        cwd=home,
        prefix=_offline_prefix(),
    )


@pytest.fixture(scope="module")
def installed(krew_bin, build, tmp_path_factory):
    """KREW_ROOT and HOME after `krew install` of the native platform."""
    tmp = tmp_path_factory.mktemp("krew")
    root, home = tmp / "krew-root", tmp / "home"
    home.mkdir()
    proc = krew_install(krew_bin, build, root, home)
    assert "Installed plugin: lbip" in proc.stdout + proc.stderr
    return root, home


def test_validate_krew_manifest(krew_bin, build, tmp_path):
    # The validator wants the file named after the plugin; it installs through the
    # release URL unless -skip-install, so installs are exercised below with --archive.
    manifest = tmp_path / "lbip.yaml"
    shutil.copyfile(build.manifest, manifest)
    proc = run(
        [krew_bin / "validate-krew-manifest", f"-manifest={manifest}", "-skip-install"],
        clean_env(tmp_path),
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "structural validation OK" in proc.stderr
    assert "no overlapping spec.platform[].selector" in proc.stderr


def test_krew_refuses_windows(krew_bin, build, tmp_path):
    """The zipapp needs a #! line: the one platform entry leaves Windows out."""
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(
        home, KREW_ROOT=str(tmp_path / "krew-root"), KREW_NO_UPGRADE_CHECK="1", KREW_OS="windows", KREW_ARCH="amd64"
    )
    proc = run(
        [krew_bin / "krew", "install", f"--manifest={build.manifest}", f"--archive={build.archive}"],
        env,
        cwd=home,
        check=False,
        prefix=_offline_prefix(),
    )
    assert proc.returncode != 0
    assert "does not offer installation for this platform" in proc.stdout + proc.stderr, proc.stderr


@pytest.mark.parametrize("os_name,arch", PLATFORMS)
def test_krew_installs_every_platform(krew_bin, build, tmp_path, os_name, arch):
    """What validate-krew-manifest's install step does, from the local archive."""
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "krew-root"
    krew_install(krew_bin, build, root, home, KREW_OS=os_name, KREW_ARCH=arch)
    installed = {Path(p).name for p in glob.glob(str(root / "store" / "lbip" / "*" / "*"))}
    assert {"LICENSE", "kubectl-lbip"} <= installed
    link = root / "bin" / "kubectl-lbip"
    assert link.exists() and os.access(link, os.X_OK)


def test_kubectl_runs_installed_plugin(installed):
    root, home = installed
    kubectl = _kubectl()
    env = clean_env(home, path=f"{root / 'bin'}:/usr/bin:/bin")
    out = run([kubectl, "lbip", "version"], env, cwd=home).stdout
    assert out.strip() == f"kubectl-lbip {_version()}"

    out = run([kubectl, "lbip", "pools", "-f", EXAMPLE], env, cwd=home).stdout
    names = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert "production" in names and "edge-v4" in names, out

    plugins = run([kubectl, "plugin", "list"], env, cwd=home, check=False).stdout
    assert str(root / "bin" / "kubectl-lbip") in plugins


def test_completion_helper_after_a_krew_install(krew_bin, build, tmp_path):
    """krew installs no kubectl_complete-lbip (krew#812): `kubectl lbip completion --install`
    writes it into krew's bin, kubectl completes through it, and --uninstall removes it
    (which `kubectl krew uninstall lbip` would not)."""
    home, root = tmp_path / "home", tmp_path / "krew-root"
    home.mkdir()
    krew_install(krew_bin, build, root, home)
    kubectl = _kubectl()
    env = clean_env(home, path=f"{root / 'bin'}:/usr/bin:/bin")
    helper = root / "bin" / "kubectl_complete-lbip"
    assert not helper.exists()
    r = run([kubectl, "lbip", "completion", "--install"], env, cwd=home)
    assert f"wrote {helper}" in r.stderr and os.access(helper, os.X_OK)
    answer = run([kubectl, "__complete", "lbip", "who-has", "-o", ""], env, cwd=home).stdout
    assert answer.splitlines() == ["table", "wide", "json", "yaml", "name", ":4"]
    run([kubectl, "lbip", "completion", "--uninstall"], env, cwd=home)
    assert not helper.exists() and (root / "bin" / "kubectl-lbip").exists()


def _system_pythons() -> list:
    found = [p for p in ("/usr/bin/python3",) if os.access(p, os.X_OK)]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    return found


@pytest.mark.parametrize("python", _system_pythons() or [pytest.param(None, marks=pytest.mark.skip("no python3"))])
def test_zipapp_runs_with_python_outside_the_venv(build, tmp_path, python):
    """-I: no user site, no PYTHON* variables; a clean env: no venv on PATH."""
    ver = run([python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], clean_env(tmp_path)).stdout
    env = clean_env(tmp_path)
    if tuple(int(x) for x in ver.strip().split(".")) < (3, 9):
        proc = run([python, "-I", build.zipapp, "version"], env, cwd=tmp_path, check=False)
        assert proc.returncode == 1 and "kubectl-lbip needs Python 3.9 or newer" in proc.stderr, proc.stderr
        return
    out = run([python, "-I", build.zipapp, "version"], env, cwd=tmp_path).stdout
    assert out.strip() == f"kubectl-lbip {_version()}"
    data = json.loads(run([python, "-I", build.zipapp, "pools", "-o", "json", "-f", EXAMPLE], env, cwd=tmp_path).stdout)
    names = {p["name"] for p in data["pools"]}
    assert {"production", "edge-v4"} <= names
    # Straight from the zip, as when the cache cannot be written.
    nocache = clean_env(tmp_path, KUBECTL_LBIP_NO_CACHE="1")
    assert (
        run([python, "-I", build.zipapp, "version"], nocache, cwd=tmp_path).stdout.strip()
        == f"kubectl-lbip {_version()}"
    )


def test_zipapp_unpacks_once_into_the_cache(build, tmp_path):
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else pytest.skip("no /usr/bin/python3")
    cache = tmp_path / "cache"
    env = clean_env(tmp_path, KUBECTL_LBIP_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1")
    run([python, build.zipapp, "version"], env)
    dirs = [p for p in cache.iterdir()]
    assert len(dirs) == 1 and (dirs[0] / "kubectl_lbip" / "cli.py").is_file(), dirs
    # Bytecode is cached for what the run imported, even under PYTHONDONTWRITEBYTECODE.
    assert list((dirs[0] / "typer").glob("__pycache__/*.pyc"))
    run([python, build.zipapp, "--help"], env)
    assert [p for p in cache.iterdir()] == dirs

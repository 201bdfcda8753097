"""Packaging tier: the krew archive (dist/kubectl-lbip.tar.gz) and plugin.yaml.

The archive and its filled manifest are built once per session into a temp
dir (never into dist/) by packaging/build_zipapp.py; the first build on a
machine needs the package index (pip's cache serves later ones).  The krew
install tests need krew, built from the Go module proxy and cached outside the
repo:

    bash packaging/build_krew.sh

Without it those tests are skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "build_zipapp.py"
BUILD_KREW = ROOT / "packaging" / "build_krew.sh"
ARCHIVE_NAME = "kubectl-lbip.tar.gz"


@dataclass
class Build:
    out: Path
    archive: Path
    zipapp: Path
    sha256: str
    manifest: Path  # plugin.yaml filled in for this archive


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_into(out: Path) -> Build:
    proc = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.returncode:
        pytest.fail(f"packaging/build_zipapp.py failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
    archive = out / ARCHIVE_NAME
    return Build(
        out=out, archive=archive, zipapp=out / "kubectl-lbip", sha256=sha256_file(archive), manifest=out / "plugin.yaml"
    )


@pytest.fixture(scope="session")
def build(tmp_path_factory) -> Build:
    """A fresh build of the current tree."""
    return build_into(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def krew_bin() -> Path:
    """The directory holding krew and validate-krew-manifest; skips when not built."""
    if shutil.which("bash") is None:
        pytest.skip("bash not found")
    out = subprocess.run(["bash", str(BUILD_KREW), "--print-dir"], stdout=subprocess.PIPE, text=True, check=True)
    bin_dir = Path(out.stdout.strip())
    if not (os.access(bin_dir / "krew", os.X_OK) and os.access(bin_dir / "validate-krew-manifest", os.X_OK)):
        pytest.skip("krew not built: run `bash packaging/build_krew.sh`")
    return bin_dir


def clean_env(home: Path, path: str = "/usr/bin:/bin", **extra: str) -> dict:
    """An environment with nothing of the venv or the developer's shell in it."""
    env = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env

"""plugin.yaml, the krew manifest: complete, and in step with the package and its archive."""

from __future__ import annotations

import re
import tarfile
import zipfile

import pytest
import yaml

from .conftest import ROOT, build_into

MANIFEST = ROOT / "plugin.yaml"
HOMEPAGE = "https://github.com/kubectl-lbip/kubectl-lbip"
PLATFORMS = {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")}
STALE = "plugin.yaml is stale: run `make krew` and commit plugin.yaml"


def package_version() -> str:
    text = (ROOT / "kubectl_lbip" / "__init__.py").read_text()
    return re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M).group(1)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def test_required_fields(manifest):
    assert manifest.get("apiVersion") == "krew.googlecontainertools.github.com/v1alpha2"
    assert manifest.get("kind") == "Plugin"
    assert manifest.get("metadata", {}).get("name") == "lbip"
    spec = manifest.get("spec") or {}
    for field in ("version", "homepage", "shortDescription", "description", "caveats", "platforms"):
        assert spec.get(field), f"spec.{field} is missing or empty"
    assert spec["homepage"] == HOMEPAGE
    assert len(spec["shortDescription"]) <= 80, "krew asks for a short shortDescription"
    assert "python3" in spec["caveats"] and "3.9" in spec["caveats"], "caveats must name python3 >= 3.9"


def test_version_matches_package(manifest):
    assert manifest["spec"]["version"] == "v" + package_version(), STALE


def test_platforms(manifest):
    platforms = manifest["spec"]["platforms"]
    seen = set()
    for p in platforms:
        labels = (p.get("selector") or {}).get("matchLabels") or {}
        key = (labels.get("os"), labels.get("arch"))
        assert key in PLATFORMS, f"unexpected platform selector {labels}"
        assert key not in seen, f"duplicate platform {key}"
        seen.add(key)
        assert p.get("bin") == "kubectl-lbip"
        tag = "v" + package_version()
        assert p.get("uri") == f"{HOMEPAGE}/releases/download/{tag}/kubectl-lbip.tar.gz", STALE
        assert re.fullmatch(r"[0-9a-f]{64}", str(p.get("sha256", ""))), f"bad sha256 for {key}"
    assert seen == PLATFORMS


def test_sha256_matches_a_fresh_build(manifest, build):
    shas = {p["sha256"] for p in manifest["spec"]["platforms"]}
    assert shas == {build.sha256}, f"{STALE} (manifest {sorted(shas)}, build {build.sha256})"


def test_build_is_reproducible(build, tmp_path):
    again = build_into(tmp_path / "again")
    assert again.sha256 == build.sha256
    assert again.zipapp.read_bytes() == build.zipapp.read_bytes()


def test_archive_layout(build):
    with tarfile.open(build.archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"LICENSE", "kubectl-lbip"}
        for m in members.values():
            assert m.isfile() and (m.uid, m.gid, m.uname, m.gname) == (0, 0, "root", "root")
        assert members["kubectl-lbip"].mode == 0o755
        assert members["LICENSE"].mode == 0o644
        assert b"Apache License" in tar.extractfile("LICENSE").read()
        app = tar.extractfile("kubectl-lbip").read()
    assert app == build.zipapp.read_bytes()
    assert app.startswith(b"#!/usr/bin/env python3\n")

    with zipfile.ZipFile(build.zipapp) as zf:
        names = zf.namelist()
    assert names == sorted(names)
    assert "__main__.py" in names and "kubectl_lbip/cli.py" in names
    for dep in ("typer/__init__.py", "click/__init__.py", "kubernetes/__init__.py", "yaml/__init__.py",
                "tabulate/__init__.py", "typing_extensions.py"):
        assert dep in names, f"{dep} is not bundled"
    junk = [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so", ".pyd", ".dylib"))]
    assert not junk, f"compiled files in the zipapp: {junk[:5]}"
    assert not [n for n in names if n.startswith("yaml/_yaml")], "PyYAML's C extension must not be bundled"
    # Licence notices of the bundled projects travel with them.
    assert "PyYAML-6.0.3.dist-info/LICENSE" in names or any(
        re.match(r"PyYAML-[^/]+\.dist-info/LICENSE$", n) for n in names)


def test_lock_pins_exact_versions():
    lock = (ROOT / "packaging" / "zipapp-requirements.txt").read_text()
    pins = re.findall(r"(?m)^([A-Za-z0-9._-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}$", lock)
    names = {n.lower().replace("_", "-") for n, _ in pins}
    for required in ("typer", "kubernetes", "tabulate", "pyyaml", "typing-extensions"):
        assert required in names, f"{required} is not pinned in packaging/zipapp-requirements.txt"

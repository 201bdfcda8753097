"""plugin.yaml, the krew manifest template, and the manifest a build fills in:
complete, in step with the package and with the archive it was built with."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tarfile
import zipfile

import pytest
import yaml

from .conftest import BUILD, ROOT, build_into

pytestmark = pytest.mark.packaging

TEMPLATE = ROOT / "plugin.yaml"
HOMEPAGE = "https://github.com/kubectl-lbip/kubectl-lbip"
SHA = "0123456789abcdef" * 4


def package_version() -> str:
    text = (ROOT / "kubectl_lbip" / "__init__.py").read_text()
    return re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M).group(1)


def _builder():
    spec = importlib.util.spec_from_file_location("build_zipapp", BUILD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def filled(build) -> dict:
    return yaml.safe_load(build.manifest.read_text())


def test_template_carries_no_version_and_no_sha256():
    """No commit needs to touch a sha256 or a version in plugin.yaml again."""
    text = TEMPLATE.read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"[0-9a-f]{64}", body)
    assert "sha256" not in body and package_version() not in body
    assert "version: {{ .TagName }}" in body
    assert re.search(
        r'(?m)^    \{\{ addURIAndSha "\S+/\{\{ \.TagName \}\}/kubectl-lbip\.tar\.gz" \.TagName \}\}$', body
    )


def test_render_fills_every_placeholder():
    text = _builder().render_manifest(TEMPLATE.read_text(), "1.2.3", SHA)
    assert "{{" not in text
    spec = yaml.safe_load(text)["spec"]
    assert spec["version"] == "v1.2.3"
    [platform] = spec["platforms"]
    assert platform["uri"] == f"{HOMEPAGE}/releases/download/v1.2.3/kubectl-lbip.tar.gz"
    assert platform["sha256"] == SHA


@pytest.mark.parametrize(
    "template,error",
    [
        ("spec:\n  version: {{ .TagName }}\n", "no {{ addURIAndSha"),
        (
            '  {{ addURIAndSha "https://x/{{ .TagName }}/other.tar.gz" .TagName }}\n',
            "does not name kubectl-lbip.tar.gz",
        ),
        (
            '  {{ addURIAndSha "https://x/{{ .TagName }}/kubectl-lbip.tar.gz" .TagName }}\n  x: {{ .Version }}\n',
            "a placeholder is left: {{ .Version }}",
        ),
    ],
)
def test_render_refuses_a_broken_template(template, error):
    with pytest.raises(SystemExit, match=re.escape(error)):
        _builder().render_manifest(template, "1.2.3", SHA)


def test_filled_manifest_fields(filled):
    assert filled.get("apiVersion") == "krew.googlecontainertools.github.com/v1alpha2"
    assert filled.get("kind") == "Plugin"
    assert filled.get("metadata", {}).get("name") == "lbip"
    spec = filled.get("spec") or {}
    for field in ("version", "homepage", "shortDescription", "description", "caveats", "platforms"):
        assert spec.get(field), f"spec.{field} is missing or empty"
    assert spec["homepage"] == HOMEPAGE
    assert len(spec["shortDescription"]) <= 80, "krew asks for a short shortDescription"
    assert "python3" in spec["caveats"] and "3.9" in spec["caveats"], "caveats must name python3 >= 3.9"
    assert spec["version"] == "v" + package_version()


def test_filled_manifest_agrees_with_its_archive(filled, build):
    """One platform entry, for Linux and macOS on every arch: the archive is one zipapp."""
    [platform] = filled["spec"]["platforms"]
    assert platform["selector"] == {
        "matchExpressions": [{"key": "os", "operator": "In", "values": ["linux", "darwin"]}]
    }
    assert platform["bin"] == "kubectl-lbip"
    assert platform["uri"] == f"{HOMEPAGE}/releases/download/v{package_version()}/kubectl-lbip.tar.gz"
    assert platform["sha256"] == build.sha256
    assert (build.out / "kubectl-lbip.tar.gz.sha256").read_text() == f"{build.sha256}  kubectl-lbip.tar.gz\n"


def test_release_refuses_another_version(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(tmp_path), "--version", "99.0.0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.returncode != 0
    assert f"VERSION=99.0.0 but kubectl_lbip.__version__ is {package_version()}" in proc.stdout
    assert not list(tmp_path.iterdir())


def test_build_is_reproducible(build, tmp_path):
    again = build_into(tmp_path / "again")
    assert again.sha256 == build.sha256
    assert again.zipapp.read_bytes() == build.zipapp.read_bytes()
    assert again.manifest.read_text() == build.manifest.read_text()


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
    for dep in (
        "typer/__init__.py",
        "click/__init__.py",
        "yaml/__init__.py",
        "tabulate/__init__.py",
        "typing_extensions.py",
    ):
        assert dep in names, f"{dep} is not bundled"
    unused = sorted(
        {
            n.split("/")[0]
            for n in names
            if n.split("/")[0] in ("rich", "pygments", "markdown_it", "mdurl", "kubernetes", "urllib3", "requests")
        }
    )
    assert not unused, f"bundled but never imported: {unused}"
    junk = [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so", ".pyd", ".dylib"))]
    assert not junk, f"compiled files in the zipapp: {junk[:5]}"
    assert not [n for n in names if n.startswith("yaml/_yaml")], "PyYAML's C extension must not be bundled"
    # Licence notices of the bundled projects travel with them.
    assert "PyYAML-6.0.3.dist-info/LICENSE" in names or any(
        re.match(r"PyYAML-[^/]+\.dist-info/LICENSE$", n) for n in names
    )


def test_lock_pins_exact_versions():
    lock = (ROOT / "packaging" / "zipapp-requirements.txt").read_text()
    pins = re.findall(r"(?m)^([A-Za-z0-9._-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}$", lock)
    names = {n.lower().replace("_", "-") for n, _ in pins}
    for required in ("typer-slim", "click", "tabulate", "pyyaml", "typing-extensions"):
        assert required in names, f"{required} is not pinned in packaging/zipapp-requirements.txt"


def test_lock_pins_every_runtime_dependency():
    """A dependency added to pyproject.toml reaches the archive only through the lock."""
    tomllib = pytest.importorskip("tomllib")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", d).group(0)).lower() for d in deps}
    lock = (ROOT / "packaging" / "zipapp-requirements.txt").read_text()
    pinned = {re.sub(r"[-_.]+", "-", n).lower() for n in re.findall(r"(?m)^([A-Za-z0-9._-]+)==", lock)}
    assert wanted <= pinned, f"not in the lock (run `make krew-lock`): {sorted(wanted - pinned)}"

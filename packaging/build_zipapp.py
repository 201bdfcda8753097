#!/usr/bin/env python3
"""Build the krew archive: dist/kubectl-lbip.tar.gz = LICENSE + kubectl-lbip.

``kubectl-lbip`` is a zipapp (PEP 441): ``#!/usr/bin/env python3`` and a zip of
``__main__.py`` (packaging/zipapp_main.py), the ``kubectl_lbip`` package and its
runtime dependencies, pure Python only, at the versions pinned with hashes in
``packaging/zipapp-requirements.txt``.  It runs with any python3 >= 3.9.
Beside it: ``kubectl-lbip.tar.gz.sha256`` and ``plugin.yaml``, the repository's
krew manifest template filled in for this archive.

Reproducible: every zip and tar entry is dated 1980-01-01 (the gzip header 0),
sorted, with fixed modes and owners, and no bytecode or pip cache gets in, so
one tree gives one sha256 whichever Python 3.9+ and pip build it (with the
same zlib).

    python packaging/build_zipapp.py [--out DIR] [--version X.Y.Z]
    python packaging/build_zipapp.py --lock [--python PYTHON3.9]   # re-pin; needs `packaging`

Wheels come through pip (its public command line only).  PyYAML has no
pure-Python wheel: its ``lib/yaml/*.py`` are taken from the pinned source
archive (what its setup.py installs without the C extension; PyYAML then uses
its pure-Python loader, as it documents), cached in ~/.cache/kubectl-lbip-zipapp/.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "kubectl_lbip"
LOCK = ROOT / "packaging" / "zipapp-requirements.txt"
BOOTSTRAP = ROOT / "packaging" / "zipapp_main.py"
MANIFEST = ROOT / "plugin.yaml"
ARCHIVE_NAME = "kubectl-lbip.tar.gz"
BIN_NAME = "kubectl-lbip"
TARGET_PYTHON = "3.9"  # the oldest supported: wheels and markers are chosen for it
SDIST_ONLY = "pyyaml"
DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can store
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubectl-lbip-zipapp"

# dist-info files kept: METADATA (importlib.metadata reads it) and the licence notices.
_DIST_INFO_KEEP = re.compile(r"^(METADATA|(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*|licenses/.*)$", re.I)
_JUNK_DIRS = {"__pycache__", "tests", "test", "testing_tools", "e2e_test"}
_JUNK_FILES = re.compile(r"^(test_.*\.py|.*_test\.py|py\.typed)$")  # kubernetes ships *_test.py
_JUNK_SUFFIXES = (".pyc", ".pyo", ".pyi", ".so", ".pyd", ".dylib", ".dll", ".c", ".h", ".pyx", ".exe")
_PURE = ["--only-binary=:all:", "--platform", "any", "--implementation", "py", "--abi", "none",
         "--python-version", TARGET_PYTHON]  # fmt: skip

Pin = Tuple[str, str, List[str]]  # name, version, sha256s


def log(msg: str) -> None:
    print(f"build_zipapp: {msg}", file=sys.stderr, flush=True)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_version() -> str:
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', (ROOT / PACKAGE / "__init__.py").read_text(), re.M)
    if not m:
        raise SystemExit(f"build_zipapp: no __version__ in {PACKAGE}/__init__.py")
    return m.group(1)


_SCRIPT = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*"([\w.]+:\w+)"\s*(?:#.*)?')


def entry_points() -> Dict[str, str]:
    """pyproject.toml's [project.scripts]: program name -> "module:function"."""
    section = re.search(r"(?ms)^\[project\.scripts\]\n(.*?)(?=^\[|\Z)", (ROOT / "pyproject.toml").read_text())
    if not section:
        raise SystemExit("build_zipapp: pyproject.toml has no [project.scripts]")
    lines = [ln for ln in section.group(1).splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    scripts = {m.group(1): m.group(2) for m in map(_SCRIPT.fullmatch, lines) if m}
    if len(scripts) != len(lines):
        raise SystemExit(f"build_zipapp: pyproject.toml: [project.scripts] lines not understood: {lines}")
    if BIN_NAME not in scripts:
        raise SystemExit(f"build_zipapp: [project.scripts] has no {BIN_NAME}")
    return scripts


def read_lock() -> List[Pin]:
    pins = []
    for line in re.sub(r"\\\n", " ", LOCK.read_text()).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
            if not m:
                raise SystemExit(f"{LOCK}: not a 'name==version --hash=sha256:...' pin: {line!r}")
            pins.append((m.group(1), m.group(2), re.findall(r"sha256:([0-9a-f]{64})", m.group(3))))
    return pins


def requirements(pins: List[Pin]) -> str:
    return "".join(f"{n}=={v} " + " ".join(f"--hash=sha256:{h}" for h in hashes) + "\n" for n, v, hashes in pins)


def pip(python: str, *args: str) -> None:
    cmd = [python, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    log("$ " + " ".join(cmd))
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_TARGET", "PIP_PREFIX", "PIP_USER")}
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"build_zipapp: pip failed ({proc.returncode})")


# --------------------------------------------------------------------------- staging


def install_pins(pins: List[Pin], site: Path, tmp: Path) -> None:
    """The pure-Python wheels through pip; PyYAML's modules from its source archive."""
    wheels = [p for p in pins if normalize(p[0]) != SDIST_ONLY]
    (tmp / "wheels.txt").write_text(requirements(wheels))
    pip(sys.executable, "install", "--target", str(site), "--no-deps", "--no-compile", "--require-hashes",
        *_PURE, "-r", str(tmp / "wheels.txt"))  # fmt: skip
    [(name, version, hashes)] = [p for p in pins if normalize(p[0]) == SDIST_ONLY]
    sdist = next((p for p in sorted(CACHE.glob("*.tar.gz")) if sha256_file(p) in hashes), None)
    if sdist is None:
        (tmp / "sdist.txt").write_text(requirements([(name, version, hashes)]))
        pip(sys.executable, "download", "--no-deps", "--require-hashes", f"--no-binary={name}",
            "-d", str(tmp / "sdist"), "-r", str(tmp / "sdist.txt"))  # fmt: skip
        [got] = (tmp / "sdist").glob("*.tar.gz")
        CACHE.mkdir(parents=True, exist_ok=True)
        sdist = Path(shutil.copyfile(got, CACHE / got.name))
    with tarfile.open(sdist) as tar:
        files = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if m.isfile() and "/" in m.name}
        modules = [p for p in sorted(files) if re.fullmatch(r"lib/yaml/\w+\.py", p)]
        if "lib/yaml/__init__.py" not in modules:
            raise SystemExit(f"build_zipapp: {sdist.name} has no lib/yaml/__init__.py")
        info = site / f"PyYAML-{version}.dist-info"
        (site / "yaml").mkdir()
        info.mkdir()
        for rel, dest in [(m, site / "yaml" / Path(m).name) for m in modules] + [
            ("PKG-INFO", info / "METADATA"),
            ("LICENSE", info / "LICENSE"),
        ]:
            dest.write_bytes(tar.extractfile(files[rel]).read())  # type: ignore[union-attr]


def prune(site: Path) -> None:
    """Drop what never runs: bytecode, tests, C sources and extensions, typing stubs."""
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts
    shutil.rmtree(site / "_yaml", ignore_errors=True)  # PyYAML's shim for its C extension
    for path in sorted(site.rglob("*"), reverse=True):
        rel = path.relative_to(site)
        in_info = rel.parts[0].endswith(".dist-info")
        if not path.exists():
            continue
        if path.is_dir():
            if path.name in _JUNK_DIRS and not in_info:
                shutil.rmtree(path)
        elif in_info:
            if not _DIST_INFO_KEEP.match("/".join(rel.parts[1:])):
                path.unlink()
        elif path.name.endswith(_JUNK_SUFFIXES) or _JUNK_FILES.match(path.name):
            path.unlink()
    for path in sorted(site.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def stage(site: Path, tmp: Path) -> None:
    install_pins(read_lock(), site, tmp)
    prune(site)
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        if "__pycache__" not in path.parts:
            dest = site / path.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    tree = hashlib.sha256()  # names the unpacked cache: every file's name and bytes
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        tree.update(path.relative_to(site).as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    main = BOOTSTRAP.read_text()
    main, n_id = re.subn(r'(?m)^BUILD_ID = "dev"', f'BUILD_ID = "{tree.hexdigest()[:20]}"', main)
    main, n_ep = re.subn(r"(?m)^ENTRY_POINTS = \{.*?\}", "ENTRY_POINTS = " + json.dumps(entry_points()), main)
    if (n_id, n_ep) != (1, 1):
        raise SystemExit(f"build_zipapp: {BOOTSTRAP.name} lost its BUILD_ID or ENTRY_POINTS line")
    (site / "__main__.py").write_text(main)


# --------------------------------------------------------------------------- archives


def zipapp_bytes(site: Path) -> bytes:
    """The shebang line and a zip of site/: sorted names, fixed dates and modes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        names = {p.relative_to(site).as_posix() + ("/" if p.is_dir() else ""): p for p in site.rglob("*")}
        for name, path in sorted(names.items()):
            info = zipfile.ZipInfo(name, DATE_TIME)
            info.create_system = 3
            if path.is_dir():
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes(), compresslevel=9)
    return b"#!/usr/bin/env python3\n" + buf.getvalue()  # offsets stay relative to the zip


def write_tar_gz(members: List[Tuple[str, bytes, int]], target: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 315532800  # 1980-01-01
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    with open(target, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())


# --------------------------------------------------------------------------- plugin.yaml

_TAG = re.compile(r"\{\{\s*\.TagName\s*\}\}")
_URI_AND_SHA = re.compile(r'(?m)^([ \t]*)\{\{\s*addURIAndSha\s+"([^"]+)"\s+\.TagName\s*\}\}[ \t]*$')


def render_manifest(template: str, version: str, sha256: str) -> str:
    """plugin.yaml with its placeholders filled: ``{{ .TagName }}`` becomes the
    release tag, ``{{ addURIAndSha "URL" .TagName }}`` the ``uri:`` and
    ``sha256:`` lines of the archive (krew-release-bot's template syntax)."""
    tag = f"v{version}"

    def uri_and_sha(m: re.Match) -> str:
        indent, uri = m.group(1), _TAG.sub(tag, m.group(2))
        if not uri.endswith("/" + ARCHIVE_NAME):
            raise SystemExit(f"build_zipapp: plugin.yaml: the uri {uri} does not name {ARCHIVE_NAME}")
        return f'{indent}uri: {uri}\n{indent}sha256: "{sha256}"'

    text, n = _URI_AND_SHA.subn(uri_and_sha, template)
    if n < 1:
        raise SystemExit('build_zipapp: plugin.yaml: no {{ addURIAndSha "URL" .TagName }} line')
    text = _TAG.sub(tag, text)
    if "{{" in text:
        left = text[text.index("{{") :].split("\n", 1)[0]
        raise SystemExit(f"build_zipapp: plugin.yaml: a placeholder is left: {left}")
    return text


def build(out: Path, manifest: Path) -> str:
    version = package_version()
    with tempfile.TemporaryDirectory(prefix="kubectl-lbip-zipapp-") as tmp:
        stage(Path(tmp) / "site", Path(tmp))
        app = zipapp_bytes(Path(tmp) / "site")
    out.mkdir(parents=True, exist_ok=True)
    archive = out / ARCHIVE_NAME
    write_tar_gz([("LICENSE", (ROOT / "LICENSE").read_bytes(), 0o644), (BIN_NAME, app, 0o755)], archive)
    (out / BIN_NAME).write_bytes(app)
    os.chmod(out / BIN_NAME, 0o755)
    digest = sha256_file(archive)
    (out / (ARCHIVE_NAME + ".sha256")).write_text(f"{digest}  {ARCHIVE_NAME}\n")
    (out / "plugin.yaml").write_text(render_manifest(manifest.read_text(), version, digest))
    log(f"{archive} v{version} {archive.stat().st_size} bytes sha256 {digest}")
    return digest


# --------------------------------------------------------------------------- lock


def lock(python: str) -> None:
    """Resolve pyproject.toml's dependencies with a python3.9 and pin each
    pure-Python wheel (PyYAML: source archive) with its sha256."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        raise SystemExit("build_zipapp --lock: needs `packaging` (pip install -e '.[dev]')") from None
    deps = re.search(r"(?ms)^dependencies = \[\n(.*?)^\]", (ROOT / "pyproject.toml").read_text())
    assert deps, "pyproject.toml: no dependencies"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pip(python, "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(tmp / "r.json"),
            *re.findall(r'(?m)^\s*"([^"]+)"', deps.group(1)))  # fmt: skip
        resolved = [r["metadata"] for r in json.loads((tmp / "r.json").read_text())["install"]]
        names = {normalize(m["name"]) for m in resolved}
        envs = [
            {"python_version": v, "python_full_version": f"{v}.0", "sys_platform": p, "platform_system": p.title()}
            for v in ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
            for p in ("linux", "darwin")
        ]
        missing = [  # a dependency needed on a newer Python or on macOS, where the lock is used too
            f"{meta['name']}: {spec}"
            for meta in resolved
            for spec in map(Requirement, meta.get("requires_dist") or [])
            if normalize(spec.name) not in names and spec.marker and any(map(spec.marker.evaluate, envs))
        ]
        if missing:
            raise SystemExit("build_zipapp --lock: not resolved for every supported Python:\n  " + "\n  ".join(missing))
        pins = sorted(((m["name"], m["version"]) for m in resolved), key=lambda p: normalize(p[0]))
        for name, version in pins:
            binary = [f"--no-binary={name}"] if normalize(name) == SDIST_ONLY else _PURE
            pip(sys.executable, "download", "--no-deps", *binary, "-d", str(tmp / "dl"), f"{name}=={version}")
        hashes = {normalize(f.name.split("-")[0]): sha256_file(f) for f in (tmp / "dl").iterdir()}
    lines = [
        "# Exact versions bundled into the zipapp (dist/kubectl-lbip.tar.gz), with the",
        "# sha256 of the pure-Python wheel of each (of the source archive for PyYAML).",
        f"# Resolved for Python {TARGET_PYTHON}, the oldest the archive supports, from",
        "# pyproject.toml's dependencies.  Regenerate: make krew-lock",
        "",
    ]
    for name, version in pins:
        if normalize(name) == SDIST_ONLY:
            lines.append("# no pure-Python wheel: its source archive, whose lib/yaml/*.py are shipped")
        lines += [f"{name}=={version} \\", f"    --hash=sha256:{hashes[normalize(name)]}"]
    LOCK.write_text("\n".join(lines) + "\n")
    log(f"wrote {LOCK} ({len(pins)} pins)")


def find_python39() -> str:
    for cand in [shutil.which(f"python{TARGET_PYTHON}")] + sorted(
        str(p) for p in (Path.home() / ".pyenv" / "versions").glob(f"{TARGET_PYTHON}.*/bin/python3")
    ):
        check = "import sys, pip; print('%d.%d' % sys.version_info[:2])"
        if cand and subprocess.run([cand, "-c", check], capture_output=True, text=True).stdout.strip() == TARGET_PYTHON:
            return cand
    raise SystemExit(f"build_zipapp --lock: needs a python{TARGET_PYTHON} with pip (--python)")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default: dist/)")
    ap.add_argument("--manifest", type=Path, default=MANIFEST, help="the krew manifest template (default: plugin.yaml)")
    ap.add_argument("--version", help="refuse to build unless the package's __version__ is this")
    ap.add_argument("--lock", action="store_true", help="re-resolve and rewrite zipapp-requirements.txt")
    ap.add_argument("--python", help=f"--lock: the python{TARGET_PYTHON} to resolve with")
    args = ap.parse_args(argv)
    if args.lock:
        lock(args.python or find_python39())
        return 0
    if args.version is not None and args.version.lstrip("v") != package_version():
        raise SystemExit(
            f"build_zipapp: VERSION={args.version} but kubectl_lbip.__version__ is "
            f"{package_version()}: change kubectl_lbip/__init__.py (and CHANGELOG.md) first"
        )
    print(build(args.out.resolve(), args.manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

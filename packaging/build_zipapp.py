#!/usr/bin/env python3
"""Build the krew archive: dist/kubectl-lbip.tar.gz = LICENSE + kubectl-lbip.

``kubectl-lbip`` in the archive is a zipapp (PEP 441): a ``#!/usr/bin/env python3``
line followed by a zip holding ``__main__.py``, the ``kubectl_lbip`` package and
every runtime dependency, pure Python only, at the versions pinned (with hashes)
in ``packaging/zipapp-requirements.txt``.  It runs with any python3 >= 3.9 and
needs no pip, no network and no virtual environment.

The build is reproducible: every timestamp in the zip and the tar is
1980-01-01 (the gzip header's is 0), entries are sorted, modes and owners are
normalised, and no pip cache or bytecode reaches the archive.  Two builds of
one tree give one sha256, whichever Python 3.9+ and pip run the build (with
the same zlib: another zlib may deflate differently).

Usage::

    python packaging/build_zipapp.py                 # dist/: the archive and the filled plugin.yaml
    python packaging/build_zipapp.py --out DIR --version X.Y.Z
    python packaging/build_zipapp.py --lock          # re-pin zipapp-requirements.txt

Building needs pip (any recent one) and the package index, the first time:
wheels come through pip's cache, the PyYAML source archive is kept in
~/.cache/kubectl-lbip-zipapp/.

PyYAML has no pure-Python wheel, so it is taken from its pinned source
distribution: ``lib/yaml/*.py`` (which is what its setup.py installs when the
C extension is left out), its LICENSE, and PKG-INFO as METADATA.  Without
``yaml._yaml`` PyYAML uses its pure-Python loader and dumper, as it documents.
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
import time
import zipapp
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "kubectl_lbip"
LOCK = ROOT / "packaging" / "zipapp-requirements.txt"
MANIFEST = ROOT / "plugin.yaml"
LICENSE = ROOT / "LICENSE"
ARCHIVE_NAME = "kubectl-lbip.tar.gz"
BIN_NAME = "kubectl-lbip"
INTERPRETER = "/usr/bin/env python3"

# The oldest Python the archive supports: wheels are chosen for it.
TARGET_PYTHON = "3.9"
# Projects without a pure-Python wheel: taken from their source distribution.
SDIST_ONLY = {"pyyaml"}
# Earliest time a zip can store.
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z

SDIST_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubectl-lbip-zipapp"

# dist-info files kept: the metadata (importlib.metadata reads it: tabulate
# takes its __version__ from it) and the licence notices the licences require.
_DIST_INFO_KEEP = re.compile(r"^(METADATA|(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*|licenses/.*)$", re.I)
# Directories never shipped, wherever they are.
_JUNK_DIRS = {"__pycache__", "tests", "test", "testing_tools", "e2e_test"}
# Test modules shipped inside packages (kubernetes has *_test.py beside its code), typing markers.
_JUNK_FILES = re.compile(r"^(test_.*\.py|.*_test\.py|py\.typed)$")
_JUNK_SUFFIXES = (".pyc", ".pyo", ".pyi", ".so", ".pyd", ".dylib", ".dll", ".c", ".h", ".pyx", ".exe")


def log(msg: str) -> None:
    print(f"build_zipapp: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- lock file


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> List[Tuple[str, str, List[str]]]:
    """(name, version, [sha256...]) for each pin of the lock file."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)\s*$", line)
        if not m:
            raise SystemExit(f"{path}: not a 'name==version --hash=sha256:...' pin: {line!r}")
        pins.append((m.group(1), m.group(2), re.findall(r"sha256:([0-9a-f]{64})", m.group(3))))
    return pins


def _requirement_lines(pins: Iterable[Tuple[str, str, List[str]]]) -> str:
    out = []
    for name, version, hashes in pins:
        out.append(f"{name}=={version} " + " ".join(f"--hash=sha256:{h}" for h in hashes))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- pip


def pip(python: str, *args: str, cwd: Optional[Path] = None) -> None:
    cmd = [python, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    log("$ " + " ".join(cmd))
    env = dict(os.environ, PIP_NO_WARN_SCRIPT_LOCATION="1")
    # A user-wide target/prefix setting would fight with --target.
    for var in ("PIP_TARGET", "PIP_PREFIX", "PIP_USER", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(var, None)
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"build_zipapp: pip failed ({proc.returncode})")


_PURE = (
    "--only-binary=:all:",
    "--platform",
    "any",
    "--implementation",
    "py",
    "--abi",
    "none",
    "--python-version",
    TARGET_PYTHON,
)


def install_wheels(pins, site: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "wheels.txt"
        req.write_text(_requirement_lines(pins))
        pip(
            sys.executable,
            "install",
            "--target",
            str(site),
            "--no-deps",
            "--no-compile",
            "--require-hashes",
            *_PURE,
            "-r",
            str(req),
        )


def fetch_sdist(name: str, version: str, hashes: List[str]) -> Path:
    """The pinned source archive, from the cache or the index (checked by hash)."""
    SDIST_CACHE.mkdir(parents=True, exist_ok=True)
    for cand in sorted(SDIST_CACHE.glob("*.tar.gz")):
        if sha256_file(cand) in hashes:
            return cand
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "sdist.txt"
        req.write_text(_requirement_lines([(name, version, hashes)]))
        # pip prepares the sdist's metadata (it builds nothing we ship); its
        # build requirements come as wheels.
        pip(
            sys.executable,
            "download",
            "--no-deps",
            "--require-hashes",
            f"--no-binary={name}",
            "-d",
            tmp,
            "-r",
            str(req),
        )
        got = [p for p in Path(tmp).iterdir() if p.name.endswith(".tar.gz")]
        if len(got) != 1:
            raise SystemExit(f"build_zipapp: expected one sdist for {name}, got {got}")
        dest = SDIST_CACHE / got[0].name
        shutil.copyfile(got[0], dest)
        return dest


def install_pyyaml_from_sdist(name: str, version: str, hashes: List[str], site: Path) -> None:
    sdist = fetch_sdist(name, version, hashes)
    if sha256_file(sdist) not in hashes:
        raise SystemExit(f"build_zipapp: {sdist} does not match the pinned hash")
    dist_info = site / f"PyYAML-{version}.dist-info"
    dist_info.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name and m.isfile()}
        modules = sorted(p for p in members if re.fullmatch(r"lib/yaml/[A-Za-z0-9_]+\.py", p))
        if "lib/yaml/__init__.py" not in modules:
            raise SystemExit(f"build_zipapp: {sdist.name} has no lib/yaml/__init__.py")
        (site / "yaml").mkdir()
        for path in modules:
            (site / "yaml" / path.rsplit("/", 1)[1]).write_bytes(tar.extractfile(members[path]).read())
        (dist_info / "METADATA").write_bytes(tar.extractfile(members["PKG-INFO"]).read())
        (dist_info / "LICENSE").write_bytes(tar.extractfile(members["LICENSE"]).read())


# --------------------------------------------------------------------------- staging


def copy_project(site: Path) -> None:
    src = ROOT / PACKAGE
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "__pycache__" in rel.parts:
            continue
        dest = site / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


MAIN_PY = '''\
# kubectl-lbip, packed as a zipapp: every dependency is inside this file.
#
# Python imports from a zip without caching bytecode, so each start would
# compile typer and click again (~0.4 s).  The first run therefore unpacks the
# archive once into the user's cache (one directory per build) and later runs
# import from there, with bytecode cached, as fast as an installed copy.
# KUBECTL_LBIP_NO_CACHE=1 runs straight from the zip; KUBECTL_LBIP_CACHE_DIR
# moves the cache (default: $XDG_CACHE_HOME/kubectl-lbip or ~/.cache/kubectl-lbip).
import os
import sys

if sys.version_info < (3, 9):
    sys.exit("kubectl-lbip needs Python 3.9 or newer; %s is %s"
             % (sys.executable or "python3", sys.version.split()[0]))

BUILD_ID = "@BUILD_ID@"


def _unpacked(archive):
    """The directory holding this build's files, unpacked; None to use the zip."""
    if os.environ.get("KUBECTL_LBIP_NO_CACHE"):
        return None
    root = os.environ.get("KUBECTL_LBIP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "kubectl-lbip")
    dest = os.path.join(root, BUILD_ID)
    if os.path.isdir(dest):
        return dest
    try:
        import shutil
        import tempfile
        import zipfile

        os.makedirs(root, mode=0o700, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".unpack-", dir=root)
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp, [n for n in zf.namelist() if n != "__main__.py"])
            os.rename(tmp, dest)  # atomic: dest exists only when complete
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if os.path.isdir(dest):  # another run unpacked it first
                return dest
            raise
        return dest
    except Exception:  # read-only or full home, ...: run from the zip
        return None


def _write_bytecode(dest):
    """Cache bytecode of the modules this run imported from dest: Python does
    not under PYTHONDONTWRITEBYTECODE, but this cache is ours, not the user's tree."""
    import importlib.util
    import py_compile

    prefix = os.path.join(dest, "")
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if not (path.startswith(prefix) and path.endswith(".py")):
            continue
        try:
            cfile = importlib.util.cache_from_source(path)
            if not os.path.exists(cfile):
                py_compile.compile(path, cfile=cfile, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        except Exception:
            pass


_archive = os.path.dirname(os.path.abspath(__file__))
_dest = _unpacked(_archive) if os.path.isfile(_archive) else None
if _dest:
    # In place of the archive: nothing more is read from the zip.
    sys.path[:] = [_dest] + [p for p in sys.path if os.path.abspath(p) != _archive]
    if sys.dont_write_bytecode:
        import atexit

        atexit.register(_write_bytecode, _dest)

from kubectl_lbip.cli import main  # noqa: E402

main()
'''


def prune(site: Path) -> None:
    """Drop what is not needed at run time (see _JUNK_* and _DIST_INFO_KEEP)."""
    shutil.rmtree(site / "bin", ignore_errors=True)
    # PyYAML's "_yaml" shim re-exports yaml._yaml, the C extension left out.
    shutil.rmtree(site / "_yaml", ignore_errors=True)
    for path in sorted(site.rglob("*"), reverse=True):
        if not path.exists():
            continue
        rel = path.relative_to(site)
        if path.is_dir():
            if rel.parts[-1] in _JUNK_DIRS and not rel.parts[0].endswith(".dist-info"):
                shutil.rmtree(path)
            continue
        if rel.parts[0].endswith(".dist-info"):
            if not _DIST_INFO_KEEP.match("/".join(rel.parts[1:])):
                path.unlink()
        elif path.name.endswith(_JUNK_SUFFIXES) or _JUNK_FILES.match(path.name):
            path.unlink()
    for path in sorted(site.rglob("*"), reverse=True):  # now-empty directories
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


# --------------------------------------------------------------------------- archives


def source_date_epoch() -> int:
    """The one timestamp of every file in the archive: 1980-01-01, always.

    Neither the commit time nor SOURCE_DATE_EPOCH: the archive depends on the
    tree alone, not on the commit that holds it or on the shell."""
    return ZIP_EPOCH


def tree_id(site: Path) -> str:
    """A short digest of every file's name and bytes: names the unpacked cache."""
    h = hashlib.sha256()
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        h.update(path.relative_to(site).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:20]


def zip_tree(site: Path, epoch: int) -> bytes:
    """A deterministic zip of site/: sorted names, fixed times and modes."""
    date_time = time.gmtime(epoch)[:6]
    buf = io.BytesIO()
    entries = sorted((p.relative_to(site).as_posix() + ("/" if p.is_dir() else ""), p) for p in site.rglob("*"))
    with zipfile.ZipFile(buf, "w") as zf:
        for name, path in entries:
            if path.is_dir():
                info = zipfile.ZipInfo(name, date_time)
                info.external_attr = (0o40755 << 16) | 0x10
                info.create_system = 3
                zf.writestr(info, b"")
            else:
                info = zipfile.ZipInfo(name, date_time)
                info.external_attr = 0o100644 << 16
                info.create_system = 3
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes(), compresslevel=9)
    return buf.getvalue()


def write_zipapp(zip_bytes: bytes, target: Path) -> None:
    # zipapp copies an existing archive behind the shebang line and makes it executable.
    zipapp.create_archive(io.BytesIO(zip_bytes), str(target), interpreter=INTERPRETER)
    os.chmod(target, 0o755)


def write_tar_gz(members: List[Tuple[str, bytes, int]], target: Path, epoch: int) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = epoch
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    with open(target, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz:
            gz.write(raw.getvalue())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_version() -> str:
    text = (ROOT / PACKAGE / "__init__.py").read_text()
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not m:
        raise SystemExit(f"build_zipapp: no __version__ in {PACKAGE}/__init__.py")
    return m.group(1)


# --------------------------------------------------------------------------- plugin.yaml

_TAG = re.compile(r"\{\{\s*\.TagName\s*\}\}")
_URI_AND_SHA = re.compile(r'(?m)^([ \t]*)\{\{\s*addURIAndSha\s+"([^"]+)"\s+\.TagName\s*\}\}[ \t]*$')


def render_manifest(template: str, version: str, sha256: str) -> str:
    """plugin.yaml with its placeholders filled: ``{{ .TagName }}`` becomes the
    release tag, ``{{ addURIAndSha "URL" .TagName }}`` the ``uri:`` and
    ``sha256:`` lines of the archive (krew-release-bot's template syntax)."""
    tag = f"v{version}"

    def uri_and_sha(m: "re.Match[str]") -> str:
        indent, uri = m.group(1), _TAG.sub(tag, m.group(2))
        if not uri.endswith("/" + ARCHIVE_NAME):
            raise SystemExit(f"build_zipapp: plugin.yaml: the uri {uri} does not name {ARCHIVE_NAME}")
        return f'{indent}uri: {uri}\n{indent}sha256: "{sha256}"'

    text, n = _URI_AND_SHA.subn(uri_and_sha, template)
    if n < 1:
        raise SystemExit('build_zipapp: plugin.yaml: no {{ addURIAndSha "URL" .TagName }} line')
    text = _TAG.sub(tag, text)
    if "{{" in text:
        raise SystemExit(
            "build_zipapp: plugin.yaml: a placeholder is left: " + text[text.index("{{") :].split("\n", 1)[0]
        )
    return text


# --------------------------------------------------------------------------- build


def build(out: Path, manifest: Path) -> Path:
    pins = read_lock()
    wheels = [p for p in pins if normalize(p[0]) not in SDIST_ONLY]
    sdists = [p for p in pins if normalize(p[0]) in SDIST_ONLY]
    if [normalize(p[0]) for p in sdists] != ["pyyaml"]:
        raise SystemExit("build_zipapp: the lock must pin PyYAML (the only source-built dependency)")
    version = package_version()
    epoch = source_date_epoch()

    with tempfile.TemporaryDirectory(prefix="kubectl-lbip-zipapp-") as tmp:
        site = Path(tmp) / "site"
        install_wheels(wheels, site)
        for name, ver, hashes in sdists:
            install_pyyaml_from_sdist(name, ver, hashes, site)
        prune(site)
        copy_project(site)
        (site / "__main__.py").write_text(MAIN_PY.replace("@BUILD_ID@", tree_id(site)))

        app = Path(tmp) / BIN_NAME
        write_zipapp(zip_tree(site, epoch), app)

        out.mkdir(parents=True, exist_ok=True)
        archive = out / ARCHIVE_NAME
        write_tar_gz([("LICENSE", LICENSE.read_bytes(), 0o644), (BIN_NAME, app.read_bytes(), 0o755)], archive, epoch)
        shutil.copyfile(app, out / BIN_NAME)
        os.chmod(out / BIN_NAME, 0o755)

    digest = sha256_file(archive)
    (out / (ARCHIVE_NAME + ".sha256")).write_text(f"{digest}  {ARCHIVE_NAME}\n")
    (out / "plugin.yaml").write_text(render_manifest(manifest.read_text(), version, digest))
    log(f"{archive} v{version} {archive.stat().st_size} bytes sha256 {digest}")
    print(digest)
    return archive


# --------------------------------------------------------------------------- lock


def _find_python39() -> str:
    cands = [shutil.which(f"python{TARGET_PYTHON}")]
    cands += sorted(str(p) for p in (Path.home() / ".pyenv" / "versions").glob(f"{TARGET_PYTHON}.*/bin/python3"))
    for c in cands:
        if not c:
            continue
        try:  # a pyenv shim may be on PATH yet refuse to run
            out = subprocess.run(
                [c, "-c", "import sys, pip; print('%d.%d' % sys.version_info[:2])"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                timeout=60,
            )
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == TARGET_PYTHON:
            return c
    raise SystemExit(
        f"build_zipapp --lock: needs a python{TARGET_PYTHON} (pass --python) so that "
        "environment markers are evaluated as on the oldest supported Python"
    )


def _project_dependencies() -> List[str]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover
        import tomli as tomllib  # type: ignore
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(data["project"]["dependencies"])


def lock(python: Optional[str]) -> None:
    python = python or _find_python39()
    deps = _project_dependencies()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        pip(python, "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report), *deps)
        resolved = json.loads(report.read_text())["install"]
        pins = sorted(
            ((r["metadata"]["name"], r["metadata"]["version"]) for r in resolved), key=lambda p: normalize(p[0])
        )
        names = {normalize(n) for n, _ in pins}
        _check_markers(resolved, names)

        dl = Path(tmp) / "dl"
        wheel_req = Path(tmp) / "wheels.txt"
        wheel_req.write_text("".join(f"{n}=={v}\n" for n, v in pins if normalize(n) not in SDIST_ONLY))
        pip(sys.executable, "download", "--no-deps", *_PURE, "-d", str(dl), "-r", str(wheel_req))
        for n, v in pins:
            if normalize(n) in SDIST_ONLY:
                pip(sys.executable, "download", "--no-deps", f"--no-binary={n}", "-d", str(dl), f"{n}=={v}")
        files: Dict[str, str] = {}
        for f in dl.iterdir():
            stem = f.name[: -len(".tar.gz")] if f.name.endswith(".tar.gz") else f.name
            files[normalize(stem.split("-")[0])] = sha256_file(f)
            if f.name.endswith(".tar.gz"):  # spare the next build a download
                SDIST_CACHE.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, SDIST_CACHE / f.name)

    lines = [
        "# Exact versions bundled into the zipapp (dist/kubectl-lbip.tar.gz), with the",
        "# sha256 of the pure-Python wheel of each (of the source archive for PyYAML).",
        f"# Resolved for Python {TARGET_PYTHON}, the oldest the archive supports, from",
        "# pyproject.toml's dependencies.  Regenerate: python packaging/build_zipapp.py --lock",
        "",
    ]
    for n, v in pins:
        key = normalize(n)
        if key not in files:
            raise SystemExit(f"build_zipapp --lock: no pure-Python distribution downloaded for {n}=={v}")
        if key in SDIST_ONLY:
            lines.append("# no pure-Python wheel: its source archive, whose lib/yaml/*.py are shipped")
        lines.append(f"{n}=={v} \\")
        lines.append(f"    --hash=sha256:{files[key]}")
    LOCK.write_text("\n".join(lines) + "\n")
    log(f"wrote {LOCK} ({len(pins)} pins)")


def _check_markers(resolved, names) -> None:
    """Fail when a dependency is needed on a newer Python or on darwin but not locked."""
    from pip._vendor.packaging.requirements import Requirement

    envs = []
    for minor in range(9, 15):
        for system, platform in (("Linux", "linux"), ("Darwin", "darwin")):
            envs.append(
                {
                    "python_version": f"3.{minor}",
                    "python_full_version": f"3.{minor}.0",
                    "platform_system": system,
                    "sys_platform": platform,
                    "os_name": "posix",
                    "implementation_name": "cpython",
                    "platform_python_implementation": "CPython",
                    "extra": "",
                }
            )
    missing = []
    for r in resolved:
        for spec in r["metadata"].get("requires_dist") or []:
            req = Requirement(spec)
            if normalize(req.name) in names or req.marker is None:
                continue
            for env in envs:
                if req.marker.evaluate(env):
                    missing.append(
                        f"{r['metadata']['name']} needs {spec} (Python {env['python_version']}, {env['sys_platform']})"
                    )
                    break
    if missing:
        raise SystemExit(
            "build_zipapp --lock: dependencies not resolved for every supported Python:\n  " + "\n  ".join(missing)
        )


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default: dist/)")
    ap.add_argument(
        "--manifest",
        type=Path,
        default=MANIFEST,
        help="the krew manifest template (default: plugin.yaml); filled into OUT/plugin.yaml",
    )
    ap.add_argument("--version", help="refuse to build unless the package's __version__ is this")
    ap.add_argument("--lock", action="store_true", help="re-resolve and rewrite zipapp-requirements.txt")
    ap.add_argument("--python", help=f"--lock: the python{TARGET_PYTHON} to resolve with")
    args = ap.parse_args(argv)
    if args.lock:
        lock(args.python)
        return 0
    if args.version is not None and args.version.lstrip("v") != package_version():
        raise SystemExit(
            f"build_zipapp: VERSION={args.version} but kubectl_lbip.__version__ is "
            f"{package_version()}: change kubectl_lbip/__init__.py (and CHANGELOG.md) first"
        )
    build(args.out.resolve(), args.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())

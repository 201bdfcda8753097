# kubectl-lbip, packed as a zipapp: every dependency is inside this file.
#
# packaging/build_zipapp.py copies this file into the zip as __main__.py and
# fills in the two constants below.  It runs on any python3, so it checks the
# version before using anything newer than Python 3.0.
#
# Python imports from a zip without caching bytecode, so each start would
# compile typer and click again (~0.4 s).  The first run therefore unpacks the
# archive once into the user's cache (one directory per build) and later runs
# import from there, with bytecode cached, as fast as an installed copy.
# KUBECTL_LBIP_NO_CACHE=1 runs straight from the zip; KUBECTL_LBIP_CACHE_DIR
# moves the cache (default: $XDG_CACHE_HOME/kubectl-lbip or ~/.cache/kubectl-lbip).
#
# One archive, several programs: the name it is run by (a symlink or a copy
# named after another of pyproject.toml's [project.scripts]) picks the entry
# point; any other name runs kubectl-lbip.
import os
import sys

if sys.version_info < (3, 9):
    sys.exit("kubectl-lbip needs Python 3.9 or newer; %s is %s" % (sys.executable or "python3", sys.version.split()[0]))

BUILD_ID = "dev"  # filled by the build: a digest of every file of the archive
ENTRY_POINTS = {"kubectl-lbip": "kubectl_lbip.cli:main"}  # filled by the build: [project.scripts]
DEFAULT = "kubectl-lbip"


def _unpacked(archive):
    """The directory holding this build's files, unpacked; None to use the zip."""
    if os.environ.get("KUBECTL_LBIP_NO_CACHE"):
        return None
    root = os.environ.get("KUBECTL_LBIP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "kubectl-lbip"
    )
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
                py_compile.compile(
                    path, cfile=cfile, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
                )
        except Exception:
            pass


COMPLETE = "kubectl_complete-lbip"  # `kubectl-lbip __complete ...` answers as it (without typer)


def _entry_point(argv0, argv1=None):
    """The function named by the program's name (its [project.scripts] entry)."""
    import importlib

    name = os.path.basename(argv0 or "")
    if argv1 == "__complete" and COMPLETE in ENTRY_POINTS:
        name = COMPLETE
    module, _, func = ENTRY_POINTS.get(name, ENTRY_POINTS[DEFAULT]).partition(":")
    return getattr(importlib.import_module(module), func)


def run():
    archive = os.path.dirname(os.path.abspath(__file__))
    dest = _unpacked(archive) if os.path.isfile(archive) else None
    if dest:
        # In place of the archive: nothing more is read from the zip.
        sys.path[:] = [dest] + [p for p in sys.path if os.path.abspath(p) != archive]
        if sys.dont_write_bytecode:
            import atexit

            atexit.register(_write_bytecode, dest)
    return _entry_point(sys.argv[0], sys.argv[1] if len(sys.argv) > 1 else None)()


if __name__ == "__main__":
    sys.exit(run())

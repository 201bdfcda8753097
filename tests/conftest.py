import os
import sys

# Test helpers (builders.py) import as top-level modules.
sys.path.insert(0, os.path.dirname(__file__))


def _without_a_version_dispatcher() -> None:
    """Google Cloud SDK installs `kubectl` as a dispatcher that first asks the API
    server for /version (5 s at most) to pick one of its kubectl.1.NN binaries. The
    tests count what reaches their fake API servers and bound waits tightly, so they
    run the binary it would pick: a directory with `kubectl` naming it goes first on
    PATH. Any other kubectl is used as found."""
    import re
    import shutil
    import subprocess
    import tempfile

    found = shutil.which("kubectl")
    if not found:
        return
    real = os.path.realpath(found)
    try:
        said = subprocess.run([found, "version", "--client"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return
    version = re.search(r"v1\.(\d+)\.\d+-dispatcher", said)
    versioned = os.path.join(os.path.dirname(real), f"kubectl.1.{version.group(1)}") if version else ""
    if not versioned or not os.access(versioned, os.X_OK):
        return
    bindir = tempfile.mkdtemp(prefix="kubectl-lbip-tests-kubectl-")
    os.symlink(versioned, os.path.join(bindir, "kubectl"))
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


_without_a_version_dispatcher()


def _ctrl_c_reaches_the_commands_under_test() -> None:
    """A test run started in the background by a non-interactive shell (`cmd &` in a
    script) ignores SIGINT, and every child inherits that: the watch tests' Ctrl-C
    (SIGINT, exit 130) would be ignored and the watch run until the test's timeout.
    The tests send it on purpose, so their children start with it as a terminal gives it.
    (A signal handled here is reset to the default in a child; an ignored one is not.)"""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_ctrl_c_reaches_the_commands_under_test()

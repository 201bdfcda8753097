"""The plugin reaches the cluster exactly as kubectl does with the same flags and
environment (issue 27 item 2): each case runs `kubectl lbip annotate web IP
--dry-run=server` and `kubectl patch service web --dry-run=server` through the real
kubectl, and requires the same server, identity (as the fake API server saw it:
its user, the impersonation headers) and namespace for the PATCH, or a failure of
both. Client certificates and tokens issued by a real API server: tests/e2e."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from fakeapi import FakeAPI, kubeconfig_dict, pool, service, write_yaml

BIN = os.path.dirname(sys.executable)
KUBECTL = shutil.which("kubectl")
LB_IPS = "metallb.io/loadBalancerIPs"


def _cluster(fake: FakeAPI) -> FakeAPI:
    fake.add_pool(pool("p", "192.168.10.0/24"))
    for ns in ("shop", "ops", "default"):
        fake.add_service(service(ns, "web"))
    return fake


@pytest.fixture
def fakes(start_fake) -> Dict[str, FakeAPI]:
    tokens = {"tok-a": "alice", "tok-b": "bob"}
    return {
        "A": _cluster(start_fake(tokens=dict(tokens))),
        "B": _cluster(start_fake(tokens=dict(tokens))),
        "silent": _cluster(start_fake(tokens=dict(tokens), never_answer=True)),
    }


def _exec_user(tmp_path: Path, body: str) -> dict:
    plugin = tmp_path / "cred-plugin.py"
    plugin.write_text(textwrap.dedent(body))
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }


TOKEN_A = """
    import json
    print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                      "status": {"token": "tok-a"}}))
"""
FAILING = """
    import sys
    sys.stderr.write("sso session expired\\n")
    sys.exit(2)
"""
HANGING = """
    import os, time
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "hanging-pids"), "a") as f:
        f.write(f"{os.getpid()}\\n")  # one line a run: looked for when the case ends
    time.sleep(300)
"""


def _case(name: str, tmp_path: Path, fakes: Dict[str, FakeAPI], ca: str) -> Tuple[Dict[str, str], List[str]]:
    """(environment, kubectl global flags) of one case."""
    a, b = fakes["A"].url, fakes["B"].url
    one = write_yaml(
        tmp_path / "one",
        kubeconfig_dict(
            {"A": a, "B": b, "silent": fakes["silent"].url},
            {"alice": {"token": "tok-a"}, "bob": {"token": "tok-b"}, "nobody": {"token": "nope"}},
            {
                "a-shop": {"cluster": "A", "user": "alice", "namespace": "shop"},
                "b-ops": {"cluster": "B", "user": "bob", "namespace": "ops"},
                "silent": {"cluster": "silent", "user": "alice"},
            },
            current="a-shop",
        ),
    )
    # a second file that conflicts with the first on every name: the first file wins
    two = write_yaml(
        tmp_path / "two",
        kubeconfig_dict(
            {"A": b},
            {"alice": {"token": "tok-b"}},
            {
                "a-shop": {"cluster": "A", "user": "alice", "namespace": "ops"},
                "two-only": {"cluster": "A", "user": "alice"},
            },
            current="two-only",
        ),
    )
    env = {"KUBECONFIG": one}
    if name == "current context":
        return env, []
    if name == "KUBECONFIG with two conflicting files":
        return {"KUBECONFIG": f"{one}{os.pathsep}{two}"}, []
    if name == "KUBECONFIG, the second file first":
        return {"KUBECONFIG": f"{two}{os.pathsep}{one}"}, []
    if name == "--context":
        return env, ["--context=b-ops"]
    if name == "--cluster and --user":
        return env, ["--cluster=B", "--user=bob"]
    if name == "--user that does not exist":
        return env, ["--user=ghost"]
    if name == "--namespace":
        return env, ["--namespace=ops"]
    if name == "--server and --token without a kubeconfig":
        return {"KUBECONFIG": str(tmp_path / "absent")}, [
            f"--server={b}",
            "--token=tok-b",
            f"--certificate-authority={ca}",
        ]
    if name == "--server and --token over the context":
        return env, [f"--server={b}", "--token=tok-b"]
    if name == "--as and --as-group":
        return env, ["--as=jane", "--as-group=g1", "--as-group=g2", "--as-uid=42"]
    if name == "--insecure-skip-tls-verify":
        return env, ["--insecure-skip-tls-verify"]
    if name == "--tls-server-name that the certificate does not name":
        return env, ["--tls-server-name=elsewhere.example"]
    if name == "--request-timeout on a silent server":
        return env, ["--context=silent", "--request-timeout=2s"]
    if name in ("exec plugin", "exec plugin that fails", "exec plugin that hangs"):
        body = {"exec plugin": TOKEN_A, "exec plugin that fails": FAILING, "exec plugin that hangs": HANGING}[name]
        path = write_yaml(
            tmp_path / "exec",
            kubeconfig_dict(
                {"A": a}, {"sso": _exec_user(tmp_path, body)}, {"sso": {"cluster": "A", "user": "sso"}}, "sso"
            ),
        )
        return {"KUBECONFIG": path}, ["--request-timeout=3s"] if name.endswith("hangs") else []
    if name == "proxy-url that refuses":
        doc = kubeconfig_dict({"A": a}, {"alice": {"token": "tok-a"}}, {"x": {"cluster": "A", "user": "alice"}}, "x")
        doc["clusters"][0]["cluster"]["proxy-url"] = "http://127.0.0.1:1"
        return {"KUBECONFIG": write_yaml(tmp_path / "proxy", doc)}, []
    raise AssertionError(name)


# case -> what kubectl itself reaches (server, namespace, user, --as, --as-group), or
# None: kubectl fails. The plugin must reach exactly the same.
CASES = {
    "current context": ("A", "shop", "alice", None, ()),
    "KUBECONFIG with two conflicting files": ("A", "shop", "alice", None, ()),
    "KUBECONFIG, the second file first": ("B", "default", "bob", None, ()),  # two-only: no namespace
    "--context": ("B", "ops", "bob", None, ()),
    "--cluster and --user": ("B", "shop", "bob", None, ()),
    "--user that does not exist": None,
    "--namespace": ("A", "ops", "alice", None, ()),
    "--server and --token without a kubeconfig": ("B", "default", "bob", None, ()),
    "--server and --token over the context": ("B", "shop", "bob", None, ()),
    "--as and --as-group": ("A", "shop", "alice", "jane", ("g1", "g2")),
    "--insecure-skip-tls-verify": ("A", "shop", "alice", None, ()),
    "--tls-server-name that the certificate does not name": None,
    "--request-timeout on a silent server": None,
    "exec plugin": ("A", "default", "alice", None, ()),
    "exec plugin that fails": None,
    "exec plugin that hangs": None,
    "proxy-url that refuses": None,
}


def _seen(fakes: Dict[str, FakeAPI]) -> Optional[Tuple[str, str, Optional[str], Optional[str], Tuple[str, ...]]]:
    """Where the PATCH went and as whom: (server, namespace, user, --as, --as-group), or None."""
    patches = [(name, r) for name, fake in fakes.items() for r in fake.requests if r.method == "PATCH"]
    assert len(patches) <= 1, patches
    for fake in fakes.values():
        fake.requests.clear()
    if not patches:
        return None
    name, rec = patches[0]
    assert rec.path.endswith("/services/web"), rec.path
    namespace = rec.path.split("/")[4]
    return name, namespace, rec.user, rec.headers.get("impersonate-user"), tuple(rec.groups)


def _run(args: List[str], env: Dict[str, str]) -> Optional[int]:
    """The command's exit status, or None when it had not ended in 15 s. It runs in a
    session of its own, killed whole at that time: kubectl itself waits on a hanging
    exec plugin without end, and killing kubectl alone would leave the plugin running."""
    proc = subprocess.Popen(
        args,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # kubectl and the exec plugin it waits on
        proc.wait()
        return None  # a failure to reach


def _alive(pid: int) -> bool:
    """The hanging plugin's process still runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :][:1] not in (b"Z", b"X") and b"cred-plugin.py" in cmdline


def _still_running(pids_file: Path, grace: float = 2.0) -> List[int]:
    """The hanging plugin's processes still running ``grace`` seconds from now at the
    latest (a killed one may take a moment to go): each is then killed, so that none
    leaks whatever the test finds."""
    try:
        pids = [int(p) for p in pids_file.read_text().split()]
    except FileNotFoundError:
        return []
    end = time.monotonic() + grace
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive or time.monotonic() >= end:
            break
        time.sleep(0.05)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return alive


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")  # the plugin needs it too
@pytest.mark.parametrize("case", list(CASES))
def test_the_plugin_reaches_the_cluster_as_kubectl_does(case, fakes, tmp_path, tls_cert):
    extra, flags = _case(case, tmp_path, fakes, tls_cert[0])
    env = {
        "PATH": os.pathsep.join([BIN, os.path.dirname(KUBECTL), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        **extra,
    }
    patch = json.dumps({"metadata": {"annotations": {LB_IPS: "192.168.10.21"}}})
    pids = tmp_path / "hanging-pids"
    theirs = _run([KUBECTL, "patch", "service", "web", "--type=merge", "-p", patch, "--dry-run=server", *flags], env)
    kubectl_saw = _seen(fakes)
    try:
        ours = _run([KUBECTL, "lbip", "annotate", "web", "192.168.10.21", "--dry-run=server", *flags], env)
        left = _still_running(pids)  # kubectl's own run's plugin was killed with its session
    finally:
        _still_running(pids, grace=0)
    plugin_saw = _seen(fakes)
    assert left == [], (case, "an exec plugin outlived its command", left)
    assert kubectl_saw == CASES[case], (case, theirs)  # the case is what it says
    assert plugin_saw == kubectl_saw, (case, theirs, ours)
    if kubectl_saw is None:  # the same failure: neither reached the server with a write
        assert theirs != 0 and ours not in (0, None), (case, theirs, ours)
    else:
        assert theirs == 0 and ours == 0, (case, theirs, ours)

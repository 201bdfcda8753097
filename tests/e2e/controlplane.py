"""A throw-away Kubernetes control plane with MetalLB's controller, for e2e tests.

Runs, on loopback only, the binaries built by ``tests/e2e/controlplane.sh build``:

* etcd,
* kube-apiserver (RBAC, client-certificate authentication, dual-stack
  service CIDRs; no kube-controller-manager, no scheduler, no kubelet),
* MetalLB's controller (webhooks disabled), which allocates
  ``status.loadBalancer.ingress`` of LoadBalancer services from
  ``IPAddressPool`` objects - the real judge of what is allowed.  One release
  runs at a time (the newest built by default); ``Cluster.use_metallb(version)``
  swaps it for another, with that release's CRDs, on the same control plane;
* or, instead of MetalLB, Cilium's operator (``cilium-operator-generic``, LB-IPAM
  only matters here), which allocates the same field from
  ``CiliumLoadBalancerIPPool`` objects and says why in the Service condition
  ``cilium.io/IPAMRequestSatisfied``: ``Cluster.use_cilium(version)``.  Only
  one of the two runs at a time (both would serve a service without
  loadBalancerClass), and the other's objects are removed meanwhile, so the
  plugin detects one implementation.  ``Cluster.paused()`` stops the running
  judge (SIGSTOP) while the plugin is asked, so nothing moves under it.

MetalLB's CRDs are applied with the real ``kubectl`` straight from MetalLB's
module in the Go module cache (nothing of MetalLB lives in this repository).

Everything (certificates, kubeconfig, etcd data, process logs) lives in one
temporary directory that is removed on teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "controlplane.sh"
BUILD_HINT = "bash tests/e2e/controlplane.sh build"

ADMIN_CONTEXT = "admin"
READONLY_CONTEXT = "readonly"
ADMIN_USER = "kubectl-lbip-e2e-admin"  # in group system:masters
READONLY_USER = "kubectl-lbip-e2e-readonly"  # bound to view (+ MetalLB pools read)
# Reads what the plugin needs (services, events, namespaces, pools) and no Deployments.
LIMITED_CONTEXT = "limited"
LIMITED_USER = "kubectl-lbip-e2e-limited"
METALLB_NAMESPACE = "metallb-system"
SERVICE_CIDRS = "10.96.0.0/16,fd00:10:96::/112"
BINARIES = ("etcd", "kube-apiserver")
CONTROLLER = "metallb-controller"
# What MetalLB's manifests install (config/manifests/metallb-native.yaml): the
# plugin reads the release from this Deployment's image tag.  Nothing runs it.
CONTROLLER_DEPLOYMENT = "controller"
CONTROLLER_IMAGE = "quay.io/metallb/controller"
# Cilium's operator, as its Helm chart installs it (the plugin reads the release
# from this Deployment's image tag).  Nothing runs the Deployment: the binary does.
CILIUM_OPERATOR = "cilium-operator-generic"  # the judge's process name, whichever binary
CILIUM_CELL = "cilium-lbipam"
CILIUM_NAMESPACE = "kube-system"
CILIUM_DEPLOYMENT = "cilium-operator"
CILIUM_IMAGE = "quay.io/cilium/operator-generic"
CILIUM_POOLS_CRD = "ciliumloadbalancerippools.cilium.io"
CILIUM_CONDITION = "cilium.io/IPAMRequestSatisfied"

T = TypeVar("T")


class ControlPlaneUnavailable(Exception):
    """The pinned binaries (or their prerequisites) are not there: skip the tier."""


class ControlPlaneError(RuntimeError):
    """Something failed while starting the control plane."""


# --------------------------------------------------------------------------
# locating the build


def _script(*args: str) -> str:
    try:
        out = subprocess.run(
            ["bash", str(SCRIPT), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ControlPlaneUnavailable(f"`controlplane.sh {' '.join(args)}` failed: {exc}") from exc
    return out.stdout.strip()


def version_tuple(version: str) -> tuple[int, ...]:
    """ "v0.16.1" -> (0, 16, 1)."""
    return tuple(int(x) for x in version.lstrip("v").split("."))


@dataclass(frozen=True)
class MetalLBBuild:
    """One MetalLB release: its controller binary and its CRDs (Go module cache)."""

    version: str
    binary: Path
    crd_dir: Path

    @property
    def reads_own_pod(self) -> bool:
        # v0.16: the controller reads its Pod at start (owner references of its
        # ConfigurationState) and its metrics listener failing is fatal.
        return version_tuple(self.version) >= (0, 16)

    def crd_files(self) -> list[Path]:
        return sorted(self.crd_dir.glob("metallb.io_*.yaml"))


@dataclass(frozen=True)
class CiliumBuild:
    """One Cilium release: its judge's binary and its CRDs (Go module cache). The
    judge is the operator (cilium-operator-generic), or, for a release whose
    operator cannot be built, its LB-IPAM cell alone (cilium-lbipam, built from
    tests/e2e/cilium-judge/main.go), which registers no CRDs."""

    version: str
    binary: Path
    crd_dir: Path

    @property
    def cell_only(self) -> bool:
        return self.binary.name == CILIUM_CELL

    def crd_files(self) -> list[Path]:
        return sorted(self.crd_dir.glob("v2*/*.yaml"))


@dataclass(frozen=True)
class Build:
    bin_dir: Path  # etcd, kube-apiserver
    metallb: tuple[MetalLBBuild, ...]  # oldest first
    cilium: tuple[CiliumBuild, ...] = ()  # oldest first

    @property
    def newest(self) -> MetalLBBuild:
        return self.metallb[-1]

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(b.version for b in self.metallb)

    def release(self, version: str) -> MetalLBBuild:
        for b in self.metallb:
            if b.version == version:
                return b
        raise ControlPlaneUnavailable(
            f"MetalLB {version} is not built (built: {', '.join(self.versions)}); run: {BUILD_HINT}"
        )

    @property
    def cilium_versions(self) -> tuple[str, ...]:
        return tuple(b.version for b in self.cilium)

    def cilium_release(self, version: str) -> CiliumBuild:
        for b in self.cilium:
            if b.version == version:
                return b
        built = ", ".join(self.cilium_versions) or "none"
        raise ControlPlaneUnavailable(f"Cilium {version} is not built (built: {built}); run: {BUILD_HINT}")


def locate() -> Build:
    """Every binary the tier needs, or raise ControlPlaneUnavailable."""
    layout = _script("layout").splitlines()
    bin_dir = Path(os.environ.get("KUBECTL_LBIP_E2E_BIN") or layout[0].split(" ", 1)[1])
    missing = [str(bin_dir / b) for b in BINARIES if not os.access(bin_dir / b, os.X_OK)]
    releases = []
    cilium = []
    for line in layout[1:]:
        kind, version, bdir, crds = line.split(" ", 3)
        build: MetalLBBuild | CiliumBuild
        if kind == "cilium":
            build = CiliumBuild(version, Path(bdir), Path(crds))
            cilium.append(build)
        else:
            build = MetalLBBuild(version, Path(bdir) / CONTROLLER, Path(crds))
            releases.append(build)
        if not os.access(build.binary, os.X_OK):
            missing.append(str(build.binary))
        elif not build.crd_files():
            raise ControlPlaneUnavailable(f"{kind} {version}'s CRDs not found in {crds}; run: {BUILD_HINT}")
    if missing:
        raise ControlPlaneUnavailable(f"e2e binaries not built ({', '.join(missing)} missing); run: {BUILD_HINT}")
    if not releases:
        raise ControlPlaneUnavailable("no MetalLB release listed by `controlplane.sh layout`")
    if shutil.which("kubectl") is None:
        raise ControlPlaneUnavailable("kubectl not found on PATH")
    if shutil.which("openssl") is None:
        raise ControlPlaneUnavailable("openssl not found on PATH")
    return Build(bin_dir, tuple(releases), tuple(cilium))


# --------------------------------------------------------------------------
# small helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.2,
) -> T:
    """Call ``probe`` until it returns something truthy; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            result = probe()
            if result:
                return result
        except ControlPlaneError:
            raise  # a process died: no point in waiting
        except Exception as exc:  # noqa: BLE001 - report the last one
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_pki(d: Path) -> None:
    """CA, apiserver serving cert, two client certs and the SA signing key."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=kubectl-lbip-e2e-ca",
        cwd=d,
    )
    certs = {
        "apiserver": ("/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        "admin": (f"/O=system:masters/CN={ADMIN_USER}", "extendedKeyUsage=clientAuth\n"),
        "limited": (f"/CN={LIMITED_USER}", "extendedKeyUsage=clientAuth\n"),
        "readonly": (f"/O=kubectl-lbip-e2e:readonly/CN={READONLY_USER}", "extendedKeyUsage=clientAuth\n"),
    }
    for name, (subj, ext) in certs.items():
        (d / f"{name}.ext").write_text(ext)
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.crt",
            cwd=d,
        )
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "sa.key", cwd=d)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


def _kubeconfig(server: str, pki: Path, users: Sequence[str], current: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "e2e",
                "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": u,
                "user": {
                    "client-certificate": str(pki / f"{u}.crt"),
                    "client-key": str(pki / f"{u}.key"),
                },
            }
            for u in users
        ],
        "contexts": [
            {
                "name": u,
                "context": {"cluster": "e2e", "user": u, "namespace": "default"},
            }
            for u in users
        ],
        "current-context": current,
    }


# --------------------------------------------------------------------------
# processes


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def states(self) -> set[str]:
        """The scheduler states of the process' threads (/proc: "T" stopped)."""
        found = set()
        for stat in Path(f"/proc/{self.popen.pid}/task").glob("*/stat"):
            with contextlib.suppress(OSError, IndexError):
                found.add(stat.read_text().rsplit(")", 1)[1].split()[0])
        return found

    def pause(self, timeout: float = 30) -> None:
        """SIGSTOP to its process group; returns once every thread is stopped (the
        signal is delivered asynchronously)."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGSTOP)
            wait_until(lambda: self.states() <= {"T", "t"}, timeout, f"{self.name} to stop", interval=0.01)

    def resume(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGCONT)

    def stop(self, grace: float = 10.0) -> None:
        """Terminate this process' own process group (it was started in a new session)."""
        if self.popen.poll() is not None:
            return
        pgid = self.popen.pid  # start_new_session=True: pgid == pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.popen.wait(5)


# --------------------------------------------------------------------------
# the cluster


@dataclass
class Cluster:
    """A running control plane.  Everything a test needs to talk to it."""

    workdir: Path
    kubeconfig: Path
    server: str
    ca_file: Path
    build: Build
    controller_kubeconfig: Path
    admin_context: str = ADMIN_CONTEXT
    readonly_context: str = READONLY_CONTEXT
    limited_context: str = LIMITED_CONTEXT
    metallb_namespace: str = METALLB_NAMESPACE
    startup_seconds: float = 0.0
    procs: list[_Proc] = field(default_factory=list)
    metallb: MetalLBBuild | None = None  # the release whose controller runs
    cilium: CiliumBuild | None = None  # or the Cilium release whose operator runs
    _spawn: Callable[..., _Proc] | None = None

    @property
    def bin_dir(self) -> Path:
        return self.build.bin_dir

    @property
    def crd_dir(self) -> Path:
        assert self.metallb is not None
        return self.metallb.crd_dir

    @property
    def metallb_version(self) -> str:
        assert self.metallb is not None
        return self.metallb.version

    def use_metallb(self, version: str, objects: Sequence[dict[str, Any]] = ()) -> float:
        """Run MetalLB ``version``'s controller (and CRDs) instead of the current one;
        a no-op when it already runs.  ``objects`` (its pools, advertisements) are
        created once its CRDs are there and before its controller starts, as the way
        back from Cilium must (a controller without pools clears every service's
        address).  Returns the seconds the swap took."""
        if self.metallb is not None and self.metallb.version == version and self.cilium is None:
            assert not objects, "MetalLB runs already: its objects would not come first"
            return 0.0
        t0 = time.monotonic()
        release = self.build.release(version)
        self._stop_judges()
        _remove_cilium(self)
        _install_crds(self, release)
        self.apply(*_controller_objects(release.version))
        if objects:
            self.apply(*objects)
        assert self._spawn is not None
        ctl = self._spawn(
            CONTROLLER,
            _controller_argv(release),
            env={**os.environ, "KUBECONFIG": str(self.controller_kubeconfig), "METALLB_NAMESPACE": METALLB_NAMESPACE},
        )
        self.metallb = release
        _probe_metallb(self, ctl)
        return time.monotonic() - t0

    def use_cilium(self, version: str) -> float:
        """Run Cilium ``version``'s operator instead of MetalLB's controller (whose
        Deployment and CRDs are removed meanwhile: ``use_metallb`` puts them back);
        a no-op when it already runs.  Returns the seconds the swap took."""
        if self.cilium is not None and self.cilium.version == version:
            return 0.0
        t0 = time.monotonic()
        release = self.build.cilium_release(version)
        self._stop_judges()
        _remove_metallb(self)
        if release.cell_only:  # the whole operator registers them itself
            self.kubectl(
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=kubectl-lbip-e2e",
                *[a for f in release.crd_files() for a in ("-f", str(f))],
            )
        self.apply(*_cilium_objects(release.version))
        assert self._spawn is not None
        op = self._spawn(CILIUM_OPERATOR, _cilium_argv(release, self.controller_kubeconfig), env=dict(os.environ))
        self.metallb = None
        self.cilium = release
        _probe_cilium(self, op)
        return time.monotonic() - t0

    def start_cilium_beside(self, version: str) -> None:
        """Cilium's operator ``version`` started as a cluster's already-running one is
        found by a migration: MetalLB's controller stopped (as its Deployment scaled
        to zero would be), its objects and CRDs left in place, no probe (a probe pool
        would wake LB-IPAM before the plan's pools exist and strip every address no
        pool covers). Cilium's CRDs must be there already."""
        release = self.build.cilium_release(version)
        self._stop_judges()
        self.apply(*_cilium_objects(release.version))
        assert self._spawn is not None
        op = self._spawn(CILIUM_OPERATOR, _cilium_argv(release, self.controller_kubeconfig), env=dict(os.environ))
        self.cilium = release
        if not op.alive():
            raise ControlPlaneError(f"{CILIUM_OPERATOR} exited with {op.popen.returncode}")

    def _stop_judges(self) -> None:
        for proc in [p for p in self.procs if p.name in (CONTROLLER, CILIUM_OPERATOR)]:
            proc.stop()
            self.procs.remove(proc)
        self.metallb = self.cilium = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The running judge (MetalLB's controller or Cilium's operator) stopped
        (SIGSTOP) for the block, continued after: it sees what changed meanwhile
        only then, and changes nothing while the plugin is asked."""
        judges = [p for p in self.procs if p.name in (CONTROLLER, CILIUM_OPERATOR)]
        try:
            for proc in judges:
                proc.pause()
            yield
        finally:
            for proc in judges:
                proc.resume()

    def service_condition(self, name: str, namespace: str) -> dict[str, Any] | None:
        """The service's cilium.io/IPAMRequestSatisfied condition, or None."""
        svc = self.get_json("service", name, "-n", namespace)
        for cond in (svc.get("status") or {}).get("conditions") or ():
            if cond.get("type") == CILIUM_CONDITION:
                return dict(cond)
        return None

    def wait_condition(self, name: str, namespace: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until Cilium's operator has set the service's condition; return it."""
        return wait_until(
            lambda: self.service_condition(name, namespace), timeout, f"{CILIUM_CONDITION} of {namespace}/{name}"
        )

    # -- environment for subprocesses (kubectl, the plugin, ...) -------------
    def env(self, **extra: str) -> dict[str, str]:
        """os.environ with KUBECONFIG pointing at this cluster (plus ``extra``)."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env.update(extra)
        return env

    def kubectl(
        self,
        *args: str,
        context: str | None = None,
        input: str | None = None,  # noqa: A002 - mirrors subprocess.run
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster; returns CompletedProcess (text)."""
        cmd = ["kubectl", f"--kubeconfig={self.kubeconfig}"]
        if context:
            cmd.append(f"--context={context}")
        cmd.extend(args)
        res = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, env=self.env())
        if check and res.returncode != 0:
            raise ControlPlaneError(f"{' '.join(cmd[1:])} failed ({res.returncode}):\n{res.stderr.strip()}")
        return res

    def apply(self, *objects: dict[str, Any], context: str | None = None) -> None:
        """``kubectl apply`` the given objects (dicts)."""
        doc = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
        self.kubectl("apply", "-f", "-", input=json.dumps(doc), context=context)

    def get_json(self, *args: str, context: str | None = None) -> Any:
        """``kubectl get ARGS -o json`` parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json", context=context).stdout)

    def ingress_ips(self, name: str, namespace: str) -> list[str]:
        svc = self.get_json("service", name, "-n", namespace)
        ingress = (svc.get("status", {}).get("loadBalancer", {}) or {}).get("ingress") or []
        return [i["ip"] for i in ingress if i.get("ip")]

    def wait_ingress(self, name: str, namespace: str, timeout: float = 30) -> list[str]:
        """Wait until MetalLB has set status.loadBalancer.ingress; return the IPs."""
        return wait_until(lambda: self.ingress_ips(name, namespace), timeout, f"ingress of service {namespace}/{name}")

    def events(self, name: str, namespace: str, reason: str | None = None) -> list[dict[str, Any]]:
        """Core/v1 events about the object ``name`` in ``namespace`` (optionally one reason)."""
        selector = f"involvedObject.name={name}"
        if reason:
            selector += f",reason={reason}"
        return self.get_json("events", "-n", namespace, f"--field-selector={selector}")["items"]

    def delete_cilium_pools(self) -> None:
        """Delete every CiliumLoadBalancerIPPool (cluster-scoped)."""
        self.kubectl("delete", "--wait=true", "--ignore-not-found", CILIUM_POOLS_CRD, "--all")

    def delete_metallb_config(self) -> None:
        """Delete every IPAddressPool / L2Advertisement / BGPAdvertisement in metallb-system."""
        self.kubectl(
            "delete",
            "-n",
            self.metallb_namespace,
            "--wait=true",
            "--ignore-not-found",
            "ipaddresspools.metallb.io,l2advertisements.metallb.io,bgpadvertisements.metallb.io",
            "--all",
        )

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {p.name} ({p.log}) ---\n{_tail(p.log, lines)}" for p in self.procs)

    def assert_alive(self) -> None:
        dead = [p.name for p in self.procs if not p.alive()]
        if dead:
            raise ControlPlaneError(f"{', '.join(dead)} exited:\n{self.logs()}")


class _Starter:
    def __init__(self, build: Build, workdir: Path):
        self.build = build
        self.bin_dir = build.bin_dir
        self.workdir = workdir
        self.procs: list[_Proc] = []
        self._spawned: dict[str, int] = {}

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> _Proc:
        n = self._spawned[name] = self._spawned.get(name, 0) + 1
        log = self.workdir / "logs" / (f"{name}.log" if n == 1 else f"{name}.{n}.log")
        log.parent.mkdir(exist_ok=True)
        with open(log, "wb") as fh:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        proc = _Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def wait_http(self, proc: _Proc, url: str, timeout: float, ctx: ssl.SSLContext | None = None) -> None:
        def probe() -> bool:
            if not proc.alive():
                raise ControlPlaneError(f"{proc.name} exited with {proc.popen.returncode}")
            with urllib.request.urlopen(url, timeout=2, context=ctx) as r:  # noqa: S310
                return r.status == 200

        try:
            wait_until(probe, timeout, f"{proc.name} at {url}", interval=0.25)
        except (TimeoutError, ControlPlaneError) as exc:
            raise ControlPlaneError(f"{exc}\n--- {proc.name} log tail ---\n{_tail(proc.log)}") from exc

    def start(self) -> Cluster:
        t0 = time.monotonic()
        d = self.workdir
        pki = d / "pki"
        pki.mkdir()
        _make_pki(pki)

        # etcd ------------------------------------------------------------
        etcd_port, peer_port = free_port(), free_port()
        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
        etcd = self.spawn(
            "etcd",
            [
                str(self.bin_dir / "etcd"),
                "--name=e2e",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=e2e={peer_url}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self.wait_http(etcd, f"{etcd_url}/health", 30)

        # kube-apiserver ----------------------------------------------------
        api_port = free_port()
        server = f"https://127.0.0.1:{api_port}"
        api = self.spawn(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={d / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=RBAC",
                f"--service-cluster-ip-range={SERVICE_CIDRS}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                # the default "lease" reconciler would publish 127.0.0.1 as the
                # endpoint of service/kubernetes, which Endpoints validation rejects
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
            ],
        )
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.wait_http(api, f"{server}/readyz", 90, ctx)

        kubeconfig = d / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                _kubeconfig(server, pki, [ADMIN_CONTEXT, READONLY_CONTEXT, LIMITED_CONTEXT], ADMIN_CONTEXT), indent=2
            )
        )
        controller_kubeconfig = d / "controller.kubeconfig"
        controller_kubeconfig.write_text(json.dumps(_kubeconfig(server, pki, [ADMIN_CONTEXT], ADMIN_CONTEXT), indent=2))
        # file names of the kubeconfig's users match the context names
        cluster = Cluster(
            workdir=d,
            kubeconfig=kubeconfig,
            server=server,
            ca_file=pki / "ca.crt",
            build=self.build,
            controller_kubeconfig=controller_kubeconfig,
            procs=self.procs,
            _spawn=self.spawn,
        )

        # namespace, RBAC; then MetalLB's CRDs and controller (the newest) ---
        cluster.apply(*_base_objects())
        cluster.use_metallb(self.build.newest.version)
        cluster.startup_seconds = time.monotonic() - t0
        return cluster


def _install_crds(cluster: Cluster, release: MetalLBBuild) -> None:
    """``release``'s CRDs (from the Go module cache), and none of another release's."""
    files = release.crd_files()
    names = {f"{f.stem.split('_', 1)[1]}.metallb.io" for f in files}
    served = cluster.kubectl("get", "crd", "-o", "name").stdout.split()
    extra = [n for n in served if n.endswith(".metallb.io") and n.split("/", 1)[1] not in names]
    if extra:
        cluster.kubectl("delete", "--wait=true", *extra)
    args = ["apply", "--server-side", "--force-conflicts", "--field-manager=kubectl-lbip-e2e"]
    for f in files:
        args += ["-f", str(f)]
    cluster.kubectl(*args)
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in sorted(names)])


def _controller_argv(release: MetalLBBuild) -> list[str]:
    argv = [
        str(release.binary),
        f"--namespace={METALLB_NAMESPACE}",
        "--webhook-mode=disabled",
        "--disable-cert-rotation",
        "--log-level=info",
    ]
    if release.reads_own_pod:
        # v0.16: the Pod object it reads at start exists (_controller_objects);
        # its metrics listener (HTTPS, authenticated through the API server)
        # must start, and the health probe listens too.  Neither has a host
        # flag (they bind every interface): free ports, nothing else.
        argv += [f"--pod-name={CONTROLLER_DEPLOYMENT}", f"--port={free_port()}", f"--health-probe-port={free_port()}"]
    else:
        # Up to v0.15 the metrics listener has no host flag (it binds every
        # interface); an invalid port makes it fail to listen, which the
        # controller only logs.  Nothing then listens outside loopback.
        argv.append("--port=-1")
    return argv


def _controller_objects(version: str) -> list[dict[str, Any]]:
    """What MetalLB's manifests create for its controller, as objects only (no
    kubelet, no kube-controller-manager: nothing runs them): the Deployment whose
    image tag names the release, its ServiceAccount, and the Pod v0.16 reads."""
    labels = {"app": "metallb", "component": "controller"}
    container = {
        "name": "controller",
        "image": f"{CONTROLLER_IMAGE}:{version}",
        "args": ["--port=7472", "--log-level=info"],
    }
    meta = {"namespace": METALLB_NAMESPACE, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "controller", **meta}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": CONTROLLER_DEPLOYMENT, **meta},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"serviceAccountName": "controller", "containers": [container]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": CONTROLLER_DEPLOYMENT, **meta},
            "spec": {
                "serviceAccountName": "controller",
                "automountServiceAccountToken": False,
                "containers": [container],
            },
        },
    ]


def _base_objects() -> list[dict[str, Any]]:
    rbac = "rbac.authorization.k8s.io/v1"
    subject = [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": READONLY_USER}]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": METALLB_NAMESPACE}},
        # MetalLB's objects are CRDs, not covered by "view": grant read on them.
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {
                "name": "kubectl-lbip-e2e:metallb-view",
                "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
            },
            "rules": [
                {"apiGroups": ["metallb.io"], "resources": ["ipaddresspools"], "verbs": ["get", "list", "watch"]}
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubectl-lbip-e2e:readonly-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": subject,
        },
        # "view" is an aggregated role whose rules are filled in by
        # kube-controller-manager, which does not run here: also bind the
        # roles that carry the rules (what "view" would aggregate).
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubectl-lbip-e2e:readonly-aggregate-to-view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:aggregate-to-view",
            },
            "subjects": subject,
        },
        # "limited": what the plugin reads, without Deployments
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": "kubectl-lbip-e2e:limited"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "events", "namespaces"],
                    "verbs": ["get", "list", "watch"],
                },
                {"apiGroups": ["metallb.io"], "resources": ["ipaddresspools"], "verbs": ["get", "list", "watch"]},
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubectl-lbip-e2e:limited"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "kubectl-lbip-e2e:limited",
            },
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": LIMITED_USER}],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "kubectl-lbip-e2e:readonly-metallb-view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "kubectl-lbip-e2e:metallb-view",
            },
            "subjects": subject,
        },
    ]


def _delete_crds(cluster: Cluster, group: str, timeout: float = 180) -> None:
    """Delete every CRD of ``group`` (".metallb.io") and wait until they are gone.
    A CRD deleted while its storage is still initializing can stay Terminating
    ("could not list instances: storage is (re)initializing") until it changes
    again: what is left is touched (an annotation) at each look."""

    def left() -> list[str]:
        return [n for n in cluster.kubectl("get", "crd", "-o", "name").stdout.split() if n.endswith(group)]

    crds = left()
    if not crds:
        return
    cluster.kubectl("delete", "--wait=false", "--ignore-not-found", *crds)

    def gone() -> bool:
        remaining = left()
        for name in remaining:
            cluster.kubectl(
                "annotate", "--overwrite", name, f"kubectl-lbip-e2e/nudge={time.monotonic_ns()}", check=False
            )
        return not remaining

    wait_until(gone, timeout, f"the {group} CRDs to be deleted", interval=2)


def _remove_metallb(cluster: Cluster) -> None:
    """MetalLB's objects and CRDs gone (its controller is stopped): Cilium alone."""
    for kind, name in (("deployment", CONTROLLER_DEPLOYMENT), ("pod", CONTROLLER_DEPLOYMENT)):
        cluster.kubectl("delete", kind, name, "-n", METALLB_NAMESPACE, "--ignore-not-found", "--wait=true")
    _delete_crds(cluster, ".metallb.io")


def _remove_cilium(cluster: Cluster) -> None:
    """Cilium's operator Deployment and CRDs gone (the operator is stopped)."""
    cluster.kubectl("delete", "deployment", CILIUM_DEPLOYMENT, "-n", CILIUM_NAMESPACE, "--ignore-not-found")
    _delete_crds(cluster, ".cilium.io")


def _cilium_argv(release: CiliumBuild, kubeconfig: Path) -> list[str]:
    """The operator with LB-IPAM (on by default) and nothing that listens outside
    loopback: its API (health) on a loopback port, no metrics, no gops, no
    pprof; the CRDs it needs registered by itself, as a real install does. The
    LB-IPAM cell alone listens nowhere."""
    if release.cell_only:
        return [str(release.binary), f"--k8s-kubeconfig-path={kubeconfig}", "--enable-ipv4", "--enable-ipv6"]
    return [
        str(release.binary),
        f"--k8s-kubeconfig-path={kubeconfig}",
        f"--k8s-namespace={CILIUM_NAMESPACE}",
        "--ipam=kubernetes",
        "--enable-ipv4=true",
        "--enable-ipv6=true",
        "--operator-api-serve-addr=127.0.0.1:0",
        "--enable-metrics=false",
        # served even with metrics off, on every interface (:9963) by default
        "--operator-prometheus-serve-addr=127.0.0.1:0",
        "--enable-gops=false",
        "--operator-pprof=false",
    ]


def _cilium_objects(version: str) -> list[dict[str, Any]]:
    """The Deployment Cilium's Helm chart creates for its operator, as an object
    only: the plugin reads the release from its image tag."""
    labels = {"app.kubernetes.io/name": "cilium-operator", "io.cilium/app": "operator", "name": "cilium-operator"}
    container = {
        "name": "cilium-operator",
        "image": f"{CILIUM_IMAGE}:{version}",
        "command": ["cilium-operator-generic"],
        "args": ["--config-dir=/tmp/cilium/config-map"],
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": CILIUM_DEPLOYMENT, "namespace": CILIUM_NAMESPACE, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"io.cilium/app": "operator", "name": "cilium-operator"}},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        }
    ]


def _probe_cilium(cluster: Cluster, op: _Proc, timeout: float = 120) -> None:
    """Prove the operator works: its CRD registered, and a probe service gets its
    requested IP from a probe pool that selects only the probe's namespace."""

    def alive() -> None:
        if not op.alive():
            raise ControlPlaneError(f"{CILIUM_OPERATOR} exited with {op.popen.returncode}")

    def established() -> bool:
        alive()
        res = cluster.kubectl("get", "crd", CILIUM_POOLS_CRD, "-o", "json", check=False)
        if res.returncode != 0:
            return False
        conds = (json.loads(res.stdout).get("status") or {}).get("conditions") or ()
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conds)

    ns = PROBE_NAMESPACE

    def ready() -> bool:
        alive()
        cond = cluster.service_condition("probe", ns)
        return bool(cond and cond.get("status") == "True" and cluster.ingress_ips("probe", ns) == [PROBE_IP])

    try:
        wait_until(established, timeout, f"{CILIUM_OPERATOR} to register {CILIUM_POOLS_CRD}")
        cluster.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {
                "apiVersion": "cilium.io/v2alpha1",
                "kind": "CiliumLoadBalancerIPPool",
                "metadata": {"name": PROBE_POOL},
                "spec": {
                    "blocks": [{"start": PROBE_IP}],
                    "serviceSelector": {"matchLabels": {"io.kubernetes.service.namespace": ns}},
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "probe", "namespace": ns, "annotations": {"io.cilium/lb-ipam-ips": PROBE_IP}},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            },
        )
        wait_until(ready, timeout, f"{CILIUM_OPERATOR} to assign the probe service")
    except (TimeoutError, ControlPlaneError) as exc:
        raise ControlPlaneError(f"{exc}\n--- {CILIUM_OPERATOR} log tail ---\n{_tail(op.log)}") from exc
    cluster.kubectl("delete", "service", "probe", "-n", ns, "--wait=true")
    cluster.kubectl("delete", CILIUM_POOLS_CRD, PROBE_POOL, "--wait=true")


PROBE_POOL = "kubectl-lbip-e2e-readiness-probe"
PROBE_NAMESPACE = "kubectl-lbip-e2e-probe"
PROBE_IP = "100.64.255.253"


def _probe_metallb(cluster: Cluster, ctl: _Proc, timeout: float = 60) -> None:
    """Prove the controller works: a probe service gets its requested IP.

    The probe pool has autoAssign: false, so even if its deletion is not yet
    seen by the controller it cannot hand out addresses to other services.
    """
    ns = PROBE_NAMESPACE
    cluster.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": PROBE_POOL, "namespace": METALLB_NAMESPACE},
            "spec": {"addresses": [f"{PROBE_IP}/32"], "autoAssign": False},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "probe", "namespace": ns, "annotations": {"metallb.io/loadBalancerIPs": PROBE_IP}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        },
    )

    def ready() -> bool:
        if not ctl.alive():
            raise ControlPlaneError(f"metallb-controller exited with {ctl.popen.returncode}")
        return cluster.ingress_ips("probe", ns) == [PROBE_IP]

    try:
        wait_until(ready, timeout, "MetalLB controller to assign the probe service")
    except (TimeoutError, ControlPlaneError) as exc:
        raise ControlPlaneError(f"{exc}\n--- metallb-controller log tail ---\n{_tail(ctl.log)}") from exc
    cluster.kubectl("delete", "service", "probe", "-n", ns, "--wait=true")
    cluster.kubectl("delete", "ipaddresspool", PROBE_POOL, "-n", METALLB_NAMESPACE, "--wait=true")


@contextlib.contextmanager
def running_cluster(keep: bool = False) -> Iterator[Cluster]:
    """Start everything; stop it (and remove the temp dir) on exit, also on failure.

    Raises ControlPlaneUnavailable when the binaries are not built.
    """
    build = locate()
    workdir = Path(tempfile.mkdtemp(prefix="kubectl-lbip-e2e-"))
    starter = _Starter(build, workdir)
    try:
        cluster = starter.start()
        yield cluster
    finally:
        # the judge first, etcd last
        for proc in reversed(starter.procs):
            proc.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)

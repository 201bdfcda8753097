"""e2e tier: a real kube-apiserver + etcd + MetalLB controller on loopback.

Build the pinned binaries first (cached outside the repo):

    bash tests/e2e/controlplane.sh build

Without them every test of this tier is skipped.  Deselect the tier with
``-m "not e2e"``.  Set KUBECTL_LBIP_E2E_KEEP=1 to keep the temp dir (logs,
kubeconfig) after the session.

A test (or fixture) that takes ``metallb_version`` runs once per MetalLB release
built (KUBECTL_LBIP_E2E_METALLB_VERSIONS, default v0.14.9 v0.15.3 v0.16.1): that
release's controller and CRDs run for it, one at a time on the session's control
plane; every other test runs against the newest.

A test (or fixture) that takes ``cilium_version`` runs once per Cilium release
built (KUBECTL_LBIP_E2E_CILIUM_VERSIONS, default v1.19.0) with that release's
operator as the judge instead of MetalLB (whose controller, Deployment and CRDs
come back afterwards); ``cilium_namespace`` is a fresh namespace whose services
and every CiliumLoadBalancerIPPool are deleted after the test.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

from .controlplane import Cluster, ControlPlaneUnavailable, locate, running_cluster

_HERE = Path(__file__).resolve().parent
_counter = itertools.count(1)
DEFAULT_MATRIX = ("v0.14.9", "v0.15.3", "v0.16.1")
DEFAULT_CILIUM = ("v1.19.0",)

# Conformance agreement per MetalLB release: version -> [(agreeing, verdicts)],
# filled by test_conformance.py, printed at the end of the session.
AGREEMENT: Dict[str, List[Tuple[int, int]]] = {}
# The same for Cilium's operator (test_cilium_conformance.py).
CILIUM_AGREEMENT: Dict[str, List[Tuple[int, int]]] = {}


@functools.lru_cache(maxsize=None)
def matrix_versions() -> List[str]:
    """The MetalLB releases built, oldest first (what `controlplane.sh layout` lists)."""
    try:
        return list(locate().versions)
    except ControlPlaneUnavailable:  # the tier is skipped anyway; keep the ids stable
        env = os.environ.get("KUBECTL_LBIP_E2E_METALLB_VERSIONS")
        return env.split() if env else list(DEFAULT_MATRIX)


@functools.lru_cache(maxsize=None)
def cilium_versions() -> List[str]:
    """The Cilium releases built, oldest first."""
    try:
        return list(locate().cilium_versions)
    except ControlPlaneUnavailable:
        env = os.environ.get("KUBECTL_LBIP_E2E_CILIUM_VERSIONS")
        return env.split() if env is not None else list(DEFAULT_CILIUM)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "metallb_version" in metafunc.fixturenames:
        versions = matrix_versions()
        metafunc.parametrize(
            "metallb_version", versions, indirect=True, scope="module", ids=[f"metallb-{v}" for v in versions]
        )
    if "cilium_version" in metafunc.fixturenames:
        versions = cilium_versions()
        metafunc.parametrize(
            "cilium_version", versions, indirect=True, scope="module", ids=[f"cilium-{v}" for v in versions]
        )


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    for name, agreement in (("MetalLB", AGREEMENT), ("Cilium", CILIUM_AGREEMENT)):
        if not agreement:
            continue
        terminalreporter.section(f"conformance with {name}, per release")
        for version in sorted(agreement, key=lambda v: tuple(int(x) for x in v.lstrip("v").split("."))):
            agree = sum(a for a, _ in agreement[version])
            total = sum(n for _, n in agreement[version])
            terminalreporter.write_line(
                f"{name} {version}: {agree}/{total} agree = {100.0 * agree / max(total, 1):.1f}%"
            )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees every collected item: mark only the ones under tests/e2e.
    mine = [i for i in items if _HERE in Path(str(i.path)).resolve().parents]
    if not mine:
        return
    # Without the pinned binaries the tier is skipped up front (same one-line
    # reason for every test, saying how to build them).
    try:
        locate()
        skip = None
    except ControlPlaneUnavailable as exc:
        skip = pytest.mark.skip(reason=str(exc))
    for item in mine:
        item.add_marker(pytest.mark.e2e)
        if skip is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The running control plane (see controlplane.Cluster); skips when not built."""
    try:
        ctx = running_cluster(keep=os.environ.get("KUBECTL_LBIP_E2E_KEEP") == "1")
        c = ctx.__enter__()
    except ControlPlaneUnavailable as exc:
        pytest.skip(str(exc))
    print(f"\n[e2e] control plane ready in {c.startup_seconds:.1f}s ({c.workdir})")
    try:
        yield c
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture(scope="module")
def metallb_version(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[str]:
    """The MetalLB release this module's tests run against (parametrized over the
    matrix): its controller and CRDs run while they do; the newest comes back after."""
    version = request.param
    took = cluster.use_metallb(version)
    print(f"\n[e2e] MetalLB {version} controller running" + (f" (swap {took:.1f}s)" if took else ""))
    yield version
    cluster.use_metallb(cluster.build.newest.version)


@pytest.fixture(scope="module")
def cilium_version(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[str]:
    """The Cilium release whose operator judges this module's tests (parametrized
    over the releases built); MetalLB's newest comes back afterwards."""
    version = request.param
    took = cluster.use_cilium(version)
    print(f"\n[e2e] Cilium {version} operator running" + (f" (swap {took:.1f}s)" if took else ""))
    yield version
    cluster.use_metallb(cluster.build.newest.version)


@contextlib.contextmanager
def _fresh_namespace(cluster: Cluster, delete_pools: Callable[[], None]) -> Iterator[str]:
    """A new namespace; afterwards its services and the judge's pools are deleted.
    The namespace itself stays (without kube-controller-manager a deleted
    namespace would stay Terminating forever)."""
    name = f"e2e-{os.getpid()}-{next(_counter)}"
    cluster.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "services", "--all", "-n", name, "--wait=true", check=False)
        delete_pools()


@pytest.fixture
def cilium_namespace(cluster: Cluster, cilium_version: str) -> Iterator[str]:  # noqa: ARG001 - orders the swap
    """A fresh namespace for one test against Cilium's operator; on teardown its
    services and every CiliumLoadBalancerIPPool are deleted."""
    with _fresh_namespace(cluster, cluster.delete_cilium_pools) as name:
        yield name


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace for one test.

    On teardown the test's services and every MetalLB pool/advertisement are
    deleted.  The namespace itself stays (without kube-controller-manager a
    deleted namespace would stay Terminating forever).
    """
    with _fresh_namespace(cluster, cluster.delete_metallb_config) as name:
        yield name

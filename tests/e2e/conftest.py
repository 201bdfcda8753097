"""e2e tier: a real kube-apiserver + etcd + MetalLB controller on loopback.

Build the pinned binaries first (cached outside the repo):

    bash tests/e2e/controlplane.sh build

Without them every test of this tier is skipped.  Deselect the tier with
``-m "not e2e"``.  Set KUBECTL_LBIP_E2E_KEEP=1 to keep the temp dir (logs,
kubeconfig) after the session.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Iterator

import pytest

from .controlplane import Cluster, ControlPlaneUnavailable, locate, running_cluster

_HERE = Path(__file__).resolve().parent
_counter = itertools.count(1)


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


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace for one test.

    On teardown the test's services and every MetalLB pool/advertisement are
    deleted.  The namespace itself stays (without kube-controller-manager a
    deleted namespace would stay Terminating forever).
    """
    name = f"e2e-{os.getpid()}-{next(_counter)}"
    cluster.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "services", "--all", "-n", name, "--wait=true", check=False)
        cluster.delete_metallb_config()

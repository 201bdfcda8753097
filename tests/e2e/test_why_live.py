"""`why` live against the real control plane: when a rule of the model explains why
MetalLB refused a service, that rule is the verdict and MetalLB's own event is the
evidence (issue 25 item 1)."""

from __future__ import annotations

import json

import pytest

from .controlplane import Cluster
from .test_plugin_live import lbip, pool, service, wait_failed

pytestmark = pytest.mark.e2e


def test_live_why_names_the_split_pool_not_metallbs_symptom(cluster: Cluster, namespace: str, tmp_path) -> None:
    ns = namespace
    # as in the issue: a dual-stack pool exists too (so no-dual-stack-pool is not the answer)
    cluster.apply(
        pool("gw-v4", "198.51.100.0/28"),
        pool("gw-v6", "2001:db8:2::/124"),
        pool("dual", "203.0.113.0/28", "2001:db8:3::/124"),
    )
    gw2 = service(
        "gw2",
        ns,
        policy="RequireDualStack",
        annotations={"metallb.io/loadBalancerIPs": "198.51.100.4,2001:db8:2::4"},
    )
    cluster.apply(gw2)
    said = wait_failed(cluster, "gw2", ns)
    assert "is not allowed in config" in said  # MetalLB's symptom, the cause unnamed

    live = lbip(cluster, "why", "gw2", "-n", ns)
    assert live.returncode == 1, live.stdout + live.stderr
    doc = json.loads(lbip(cluster, "why", "gw2", "-n", ns, "-o", "json").stdout)
    assert doc["firstFix"].startswith("split-pool-dual-stack: ") and "Fix: put both ranges" in doc["firstFix"]
    assert doc["evidence"] == {"event": said, "confirms": True}
    assert "> FAIL request" in live.stdout and "FAIL MetalLB" in live.stdout
    tail = " ".join(live.stdout.split("verdict", 1)[1].split())
    assert tail.startswith("fix first: split-pool-dual-stack") and "MetalLB's event confirms it" in tail
    assert max(len(line) for line in live.stdout.splitlines()) <= 100

    # the same objects read from files: the same verdict
    dump = tmp_path / "dump.yaml"
    dump.write_text(cluster.kubectl("get", "ipaddresspools,services", "-A", "-o", "yaml").stdout)
    off = json.loads(lbip(cluster, "why", "gw2", "-n", ns, "-f", str(dump), "-o", "json").stdout)
    assert off["firstFix"] == doc["firstFix"]

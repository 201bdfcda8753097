"""Suggestions in MetalLB's own order, with MetalLB's controller as the judge (issue
25 item 2): a team's pool with serviceAllocation.priority 10 serving the team's
namespace beside a shared pool whose addresses are lower. MetalLB picks the team's
pool for a service that requests nothing; `free`'s first suggestion, `pin` and
`annotate --auto` land in that same pool, and MetalLB assigns what they wrote."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml

from .controlplane import Cluster
from .test_gitops_live import LB, write
from .test_plugin_live import lbip, pool, service, wait_failed, wait_ips

pytestmark = pytest.mark.e2e

SHARED = "192.0.2.0/28"  # lower addresses: an order by address alone picks it first
TEAM = "198.51.100.0/28"


def pool_of(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return next(name for name, net in (("prod", SHARED), ("team-a", TEAM)) if ip in ipaddress.ip_network(net))


def test_pinning_the_first_suggestion_gives_the_pool_metallb_picks(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    ns = namespace
    cluster.apply(pool("prod", SHARED), pool("team-a", TEAM, serviceAllocation={"priority": 10, "namespaces": [ns]}))
    cluster.apply(service("by-metallb", ns))  # requests nothing: MetalLB's own pick
    (own,) = cluster.wait_ingress("by-metallb", ns)
    assert pool_of(own) == "team-a"

    first = json.loads(lbip(cluster, "free", "-n", ns, "--family", "ipv4", "-o", "json").stdout)["suggestions"][0]
    assert first["pool"] == "team-a"

    folder = tmp_path / "k8s"
    folder.mkdir()
    write(folder / "app.yaml", service("pinned", ns))
    res = lbip(cluster, "pin", "--against-cluster", "-f", str(folder), "--in-place")
    assert res.returncode == 0, res.stderr
    (written,) = yaml.safe_load_all((folder / "app.yaml").read_text())
    pinned = written["metadata"]["annotations"][LB]
    assert pool_of(pinned) == pool_of(own)
    cluster.kubectl("apply", "-f", str(folder))
    wait_ips(cluster, "pinned", ns, [pinned])  # MetalLB accepts it, in its own pool

    # annotate --auto on a team service that MetalLB refused (it asked for an address
    # outside every pool): the first suggestion, written, is in the pool MetalLB picks
    cluster.apply(service("refused", ns, annotations={LB: "203.0.113.9"}))
    wait_failed(cluster, "refused", ns)
    res = lbip(cluster, "annotate", "refused", "--auto", "--overwrite", "-n", ns)
    assert res.returncode == 0, res.stderr
    auto = cluster.get_json("service", "refused", "-n", ns)["metadata"]["annotations"][LB]
    assert pool_of(auto) == pool_of(own)
    wait_ips(cluster, "refused", ns, [auto])

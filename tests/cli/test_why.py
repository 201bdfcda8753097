"""kubectl lbip why NAME through the CLI, offline on the example cluster and on
manifests: exit 0/1/2, -o json, what a file cannot tell."""

import json
import os

import yaml
from builders import lbips, pool, svc
from netbuilders import l2adv, l2status, node
from typer.testing import CliRunner

from kubectl_lbip.cli import app

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cluster.yaml")


def run(*args):
    return CliRunner().invoke(app, list(args))


def last_row(stdout: str) -> str:
    """The table's last row, its wrapped lines joined (tables fit 120 columns)."""
    lines = stdout.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if not line.startswith(" "))
    return " ".join([lines[start]] + [line.strip() for line in lines[start + 1 :]])


def test_blocked_service_exits_1_with_the_first_fix_last():
    r = run("why", "grafana", "-n", "monitoring", "-f", EXAMPLE)
    assert r.exit_code == 1
    assert last_row(r.stdout).startswith("verdict        fix first: local-policy-no-announcer")
    assert "not known from files: events" in r.stderr


def test_pool_without_advertisement_as_the_readme_says():
    r = run("why", "web", "-n", "team-a", "-f", EXAMPLE)
    assert r.exit_code == 1
    assert "fix first: pool-not-advertised" in last_row(r.stdout)


def test_everything_in_place_exits_0():
    r = run("why", "frontend", "-n", "shop", "-f", EXAMPLE)
    assert r.exit_code == 0, r.output
    assert "everything MetalLB needs is in place" in last_row(r.stdout)


def test_pending_service_exits_1_and_json_is_one_object():
    r = run("why", "gateway", "-n", "payments", "-f", EXAMPLE, "-o", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["blocked"] and data["held"] == []
    assert data["firstFix"].startswith("split-pool-dual-stack")
    assert data["request"]["field"] == "metallb.io/loadBalancerIPs"
    assert "events (MetalLB's AllocationFailed reason)" in data["unknown"]


def test_missing_or_not_a_load_balancer_exits_2():
    r = run("why", "nope", "-n", "shop", "-f", EXAMPLE)
    assert r.exit_code == 2 and 'services "nope" not found in namespace "shop"' in r.stderr
    r = run("why", "kubernetes", "-n", "default", "-f", EXAMPLE)
    assert r.exit_code == 2 and "not LoadBalancer" in r.stderr


def test_speaker_status_in_a_dump_is_shown(tmp_path):
    objs = [
        pool("prod", "192.168.10.0/24"),
        l2adv("l2", ["prod"]),
        node("n1", "10.0.0.1"),
        svc("shop", "web", ingress=["192.168.10.5"], annotations=lbips("192.168.10.5")),
        l2status("shop", "web", "n1", "eth0"),
    ]
    path = tmp_path / "dump.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objs}))
    r = run("why", "web", "-n", "shop", "-f", str(path))
    assert r.exit_code == 0, r.output
    assert "ServiceL2Status: node n1, interfaces eth0" in r.stdout
    assert "ServiceL2Status" not in r.stderr  # known from the dump

"""kubectl lbip why NAME through the CLI, offline on the example cluster and on
manifests: exit 0/1/2, -o json, what a file cannot tell."""

import json
import os

import yaml
from builders import lbips, pool, svc
from clirunner import CliRunner
from netbuilders import l2adv, l2status, node

from kubectl_lbip.cli import app

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cluster.yaml")


def run(*args):
    return CliRunner().invoke(app, list(args))


def verdict(stdout: str) -> str:
    """The verdict, its wrapped lines joined (it is the last block)."""
    lines = stdout.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.split()[:1] == ["verdict"])
    return " ".join(line.strip() for line in lines[start:]).split(None, 1)[1]


def test_blocked_service_exits_1_with_the_first_fix_last():
    r = run("why", "grafana", "-n", "monitoring", "-f", EXAMPLE)
    assert r.exit_code == 1
    assert verdict(r.stdout).startswith("fix first: local-policy-no-announcer")
    assert "not known from files: events" in r.stderr


def test_pool_without_advertisement_as_the_readme_says():
    r = run("why", "web", "-n", "team-a", "-f", EXAMPLE)
    assert r.exit_code == 1
    assert verdict(r.stdout).startswith("fix first: pool-not-advertised")


def test_everything_in_place_exits_0():
    r = run("why", "frontend", "-n", "shop", "-f", EXAMPLE)
    assert r.exit_code == 0, r.output
    assert verdict(r.stdout).startswith("everything MetalLB needs is in place")


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


def test_steps_top_down_with_marks_and_the_first_failure_pointed_at():
    r = run("why", "gateway", "-n", "payments", "-f", EXAMPLE)
    assert r.exit_code == 1
    steps = [line[2:].split()[:2] for line in r.stdout.splitlines() if line[2:4].strip()]
    assert steps == [
        ["FAIL", "request"],
        ["ok", "pool"],
        ["FAIL", "MetalLB"],
        ["ok", "advertisements"],
        ["ok", "nodes"],
        ["-", "speakers"],
    ]
    pointed = [line for line in r.stdout.splitlines() if line.startswith(">")]
    assert pointed == [next(line for line in r.stdout.splitlines() if "FAIL request" in line)]
    assert verdict(r.stdout).startswith("fix first: split-pool-dual-stack") and "Fix: put both ranges" in r.stdout
    assert r.stdout.isascii()  # not a terminal: ASCII marks


def test_long_names_wrap_inside_their_step_within_100_columns(tmp_path):
    long = "a" * 60
    objs = [
        pool("p-" + long, "192.168.10.0/24"),
        l2adv("l2-" + long, ["p-" + long], node_selectors=[{"zone-" + long: "x" * 50}]),
        node("n1-" + long, "10.0.0.1"),
        svc("ns-" + long[:50], "svc-" + long, ingress=["192.168.10.5"], annotations=lbips("192.168.10.5")),
    ]
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objs}))
    r = run("why", "svc-" + long, "-n", "ns-" + long[:50], "-f", str(path))
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert all(line.startswith(" " * 23) or line[23:24] != " " for line in lines)  # text stays in its column
    assert "no node can announce it" in verdict(r.stdout)


def test_unicode_marks_only_on_a_utf8_terminal():
    from kubectl_lbip import render
    from kubectl_lbip.commands.why import lines
    from kubectl_lbip.model.explain import explain

    class Stream:
        def __init__(self, tty, encoding):
            self.tty, self.encoding = tty, encoding

        def isatty(self):
            return self.tty

    assert render.unicode_ok(Stream(True, "UTF-8"))
    assert not render.unicode_ok(Stream(False, "utf-8"))  # a pipe
    assert not render.unicode_ok(Stream(True, "ANSI_X3.4-1968"))  # an ASCII terminal
    from builders import cluster

    c = cluster(pool("prod", "192.168.10.0/24"), svc("shop", "web", ingress=["192.168.10.5"]))
    from kubectl_lbip.model.findings import findings_for

    result = explain(c, c.service("shop", "web"), findings_for(c))
    fancy = "\n".join(lines(result, True))
    assert "\u2713 request" in fancy and "\u25b6" not in fancy  # no advertisement kind: nothing failed
    assert "\n".join(lines(result, False)).isascii()

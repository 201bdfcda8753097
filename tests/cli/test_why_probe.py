"""why --probe, on loopback only: services whose status holds 127.0.0.1 and ::1, a
listener on IPv4 and none on IPv6, read from manifests; the probe's result and its
likely cause are in the explanation, the verdict and -o json. "no route" comes from an
injected connect, never from a real address."""

import errno
import json
import socket

import pytest
import yaml
from builders import pool, svc
from clirunner import CliRunner
from netbuilders import l2adv

from kubectl_lbip.cli import app
from kubectl_lbip.commands import why
from kubectl_lbip.commands.common import Inputs
from kubectl_lbip.model.probe import Attempt


@pytest.fixture
def port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listening:
        listening.bind(("127.0.0.1", 0))  # IPv4 only: ::1 refuses the same port
        listening.listen(8)
        yield listening.getsockname()[1]


def manifests(tmp_path, *objects):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


def loop_service(port, ingress=("127.0.0.1", "::1")):
    dual = len(ingress) == 2
    return svc(
        "shop",
        "web",
        cluster_ips=("10.96.0.5", "fd00::5") if dual else ("10.96.0.5",),
        ingress=list(ingress),
        ports=(f"TCP/{port}",),
    )


LOOP = pool("loop", "127.0.0.0/29", "::1/128")


def run(*args):
    return CliRunner().invoke(app, ["why", "web", "-n", "shop", *args])


def verdict(stdout):
    lines = stdout.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.split()[:1] == ["verdict"])
    return " ".join(line.strip() for line in lines[start:]).split(None, 1)[1]


def test_assigned_but_not_answering_on_ipv6_is_the_verdict_with_its_likely_cause(tmp_path, port):
    path = manifests(tmp_path, LOOP, loop_service(port))
    result = run("-f", path, "--probe")
    assert result.exit_code == 1, result.output
    assert verdict(result.stdout).startswith(
        "assigned but not answering on IPv6 (::1: 0 of 1 TCP port(s) answered; refused): likely nothing listens"
    )
    probe_row = [line for line in result.stdout.splitlines() if line.split()[:1] == ["probe"]]
    assert probe_row and "IPv4: 1 of 1 TCP port(s) answered; IPv6: 0 of 1" in probe_row[0]
    doc = json.loads(run("-f", path, "--probe", "-o", "json").stdout)
    assert doc["probe"]["families"] == {"ipv4": {"probed": 1, "answered": 1}, "ipv6": {"probed": 1, "answered": 0}}
    (found,) = doc["probeFindings"]
    assert found["family"] == "ipv6" and found["results"] == ["refused"]


def test_everything_answering_keeps_the_verdict_and_exit_0(tmp_path, port):
    path = manifests(tmp_path, LOOP, loop_service(port, ingress=("127.0.0.1",)))
    result = run("-f", path, "--probe")
    assert result.exit_code == 0, result.output
    assert verdict(result.stdout).startswith("everything MetalLB needs is in place")
    assert json.loads(run("-f", path, "--probe", "-o", "json").stdout)["probeFindings"] == []


def test_without_probe_nothing_is_probed(tmp_path, port):
    path = manifests(tmp_path, LOOP, loop_service(port))
    result = run("-f", path, "-o", "json")
    assert result.exit_code == 0, result.output  # the model alone finds nothing wrong
    assert "probe" not in json.loads(result.stdout)


def test_a_blocked_service_keeps_its_fix_first_and_the_probe_says_its_line(tmp_path, port):
    other = pool("other", "10.1.0.0/24")
    path = manifests(tmp_path, LOOP, other, l2adv("l2", ["other"]), loop_service(port))
    result = run("-f", path, "--probe")
    assert result.exit_code == 1
    assert verdict(result.stdout).startswith("fix first: pool-not-advertised")
    text = " ".join(result.stdout.split())
    assert "assigned but not answering on IPv6" in text and "likely no advertisement on the node" in text


def test_no_route_names_the_familys_route(tmp_path):
    path = manifests(tmp_path, LOOP, loop_service(80))

    def connect(address, port, timeout):  # the kernel's answer for a family without a route
        return Attempt(errno.ENETUNREACH if ":" in address else None, False, 0.001)

    result = why.run(Inputs(filenames=[path], namespace="shop"), "web", probing=True, connect=connect)
    (found,) = result.data["probeFindings"]
    assert found["cause"].startswith("the family's route: where the probe ran there is no IPv6 route")
    assert result.code == 1

"""kubectl lbip probe, on loopback only: services whose status holds 127.0.0.x and ::1,
local listeners on some ports and none on others, and a listener whose backlog is
full for "timed out". No test connects anywhere but 127.0.0.0/8 and ::1; "no route"
comes from an injected connect, never from a real address."""

import errno
import json
import socket
from typing import Iterator, List

import pytest
import yaml
from builders import svc
from clirunner import CliRunner

from kubectl_lbip import tcpprobe
from kubectl_lbip.cli import app
from kubectl_lbip.model.probe import Attempt, Target

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def listener(host: str, backlog: int = 8) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(backlog)
    return sock


def closed_port(host: str) -> int:
    """A port nothing listens on (bound, then closed)."""
    sock = listener(host)
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def sockets() -> Iterator[List[socket.socket]]:
    opened: List[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture
def ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("this Python has no IPv6")
    try:
        listener("::1").close()
    except OSError as exc:
        pytest.skip(f"no ::1 on this machine: {exc}")


@pytest.fixture
def full_backlog(sockets) -> int:
    """A port on 127.0.0.1 whose listener never accepts and whose backlog is full: the
    kernel drops further SYNs, so a connect times out (Linux; skipped where it does not)."""
    sock = listener("127.0.0.1", backlog=0)
    sockets.append(sock)
    port = sock.getsockname()[1]
    for _ in range(16):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sockets.append(filler)
        filler.settimeout(0.2)
        try:
            filler.connect(("127.0.0.1", port))
        except socket.timeout:
            return port
    pytest.skip("the kernel kept accepting connections into a full backlog")


def manifest(tmp_path, ingress, ports, name="web", namespace="shop", **kw) -> str:
    obj = svc(namespace, name, cluster_ips=("10.96.0.5", "fd00::5"), ingress=ingress, ports=ports, **kw)
    path = tmp_path / "svc.yaml"
    path.write_text(yaml.safe_dump(obj))
    return str(path)


# --- the sockets module, on loopback


def test_connect_answered_refused_and_timed_out_on_loopback(sockets, full_backlog):
    open_sock = listener("127.0.0.1")
    sockets.append(open_sock)
    answered = tcpprobe.connect("127.0.0.1", open_sock.getsockname()[1], 2.0)
    assert answered.error is None and not answered.timed_out and answered.seconds >= 0
    refused = tcpprobe.connect("127.0.0.1", closed_port("127.0.0.1"), 2.0)
    assert refused.error == errno.ECONNREFUSED and not refused.timed_out
    timed_out = tcpprobe.connect("127.0.0.1", full_backlog, 0.2)
    assert timed_out.timed_out and timed_out.error is None


def test_connect_on_ipv6_loopback(sockets, ipv6_loopback):
    open_sock = listener("::1")
    sockets.append(open_sock)
    assert tcpprobe.connect("::1", open_sock.getsockname()[1], 2.0).error is None
    assert tcpprobe.connect("::1", closed_port("::1"), 2.0).error == errno.ECONNREFUSED


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_probe_all_bounds_each_connect_by_what_is_left_of_the_deadline():
    """Each connect gets min(--connect-timeout, what is left); once the deadline has
    passed nothing more is tried. UDP is never tried."""
    clock = FakeClock()
    asked = []

    def slow(address, port, timeout):  # every connect takes its whole timeout
        asked.append((address, port, timeout))
        clock.now += timeout
        return Attempt(None, True, timeout)

    targets = [Target("127.0.0.1", "ipv4", p, proto) for p, proto in [(1, "TCP"), (2, "UDP"), (3, "TCP"), (4, "TCP")]]
    attempts = tcpprobe.probe_all(targets, deadline=3.0, each=2.0, connect=slow, clock=clock)
    assert asked == [("127.0.0.1", 1, 2.0), ("127.0.0.1", 3, 1.0)]
    assert attempts == [Attempt(None, True, 2.0), None, Attempt(None, True, 1.0), None]


# --- the command, with -f


def test_probe_dual_stack_answered_refused_and_udp_not_probed(tmp_path, sockets, ipv6_loopback):
    """One port listens on 127.0.0.1 only, another on ::1 only: each family answers on
    one and refuses the other."""
    v4 = listener("127.0.0.1")
    sockets.append(v4)
    v4_port = v4.getsockname()[1]
    v6 = listener("::1")
    sockets.append(v6)
    while v6.getsockname()[1] == v4_port:  # the same number on both: take another
        v6 = listener("::1")
        sockets.append(v6)
    v6_port = v6.getsockname()[1]
    path = manifest(tmp_path, ["::1", "127.0.0.1"], (f"TCP/{v4_port}", f"TCP/{v6_port}", "UDP/53"))
    r = run("probe", "web", "-n", "shop", "-f", path, "-o", "json")
    assert r.exit_code == 1, r.output
    got = json.loads(r.stdout)
    results = [(x["address"], x["family"], x["port"], x["protocol"], x["result"]) for x in got["results"]]
    assert results == [
        ("127.0.0.1", "ipv4", v4_port, "TCP", "answered"),
        ("127.0.0.1", "ipv4", v6_port, "TCP", "refused"),
        ("127.0.0.1", "ipv4", 53, "UDP", "not probed"),
        ("::1", "ipv6", v4_port, "TCP", "refused"),
        ("::1", "ipv6", v6_port, "TCP", "answered"),
        ("::1", "ipv6", 53, "UDP", "not probed"),
    ]
    assert all(isinstance(x["milliseconds"], float) for x in got["results"] if x["protocol"] == "TCP")
    assert got["families"] == {"ipv4": {"probed": 2, "answered": 1}, "ipv6": {"probed": 2, "answered": 1}}
    assert got["addresses"] == ["127.0.0.1", "::1"] and got["answered"] is False
    assert "IPv4: 1 of 2 TCP port(s) answered; IPv6: 1 of 2 TCP port(s) answered" in r.stderr


def test_probe_every_port_answered_exits_0_with_a_table(tmp_path, sockets):
    a, b = listener("127.0.0.2"), listener("127.0.0.2")
    sockets += [a, b]
    ports = (f"TCP/{a.getsockname()[1]}", f"TCP/{b.getsockname()[1]}")
    r = run("probe", "web", "-n", "shop", "-f", manifest(tmp_path, ["127.0.0.2"], ports))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "FAMILY", "PORT", "RESULT", "TIME", "DETAIL"]
    assert [line.split()[:4] for line in lines[1:]] == [["127.0.0.2", "IPv4", p, "answered"] for p in ports]
    assert all(len(line) <= 120 for line in lines)
    assert "IPv4: 2 of 2 TCP port(s) answered" in r.stderr


def test_probe_with_a_file_says_where_it_connects_before_it_does(tmp_path, monkeypatch):
    """-f: the addresses come from a file (a dump may hold any network's), so probe names
    them on stderr before the first connect: a connect that fails the run comes after."""
    asked = []

    def boom(address, port, timeout):
        asked.append(address)
        raise RuntimeError("the first connect")

    monkeypatch.setattr(tcpprobe, "connect", boom)
    path = manifest(tmp_path, ["127.0.0.5", "::1"], ("TCP/8080", "UDP/53", "TCP/8443"))
    r = run("probe", "web", "-n", "shop", "-f", path, "-o", "json")
    assert r.exit_code == 4 and asked == ["127.0.0.5"] and r.stdout == "", r.output
    said, failed = r.stderr.splitlines()[:2]
    assert said == (
        "connecting from this machine to 127.0.0.5, ::1 on TCP port(s) 8080, 8443: the addresses in "
        "status.loadBalancer.ingress of service shop/web"
    )
    assert "the first connect" in failed


def test_probe_with_a_file_and_nothing_to_connect_to_says_no_such_thing(tmp_path):
    for ingress, ports in (([], ("TCP/80",)), (["127.0.0.6"], ("UDP/53",))):
        r = run("probe", "web", "-n", "shop", "-f", manifest(tmp_path, ingress, ports))
        assert r.exit_code == 1 and "connecting" not in r.stderr, r.output


def test_probe_timed_out_on_a_full_backlog(tmp_path, full_backlog):
    path = manifest(tmp_path, ["127.0.0.1"], (f"TCP/{full_backlog}",))
    r = run("probe", "web", "-n", "shop", "-f", path, "--connect-timeout", "200ms", "-o", "yaml")
    assert r.exit_code == 1, r.output
    (result,) = yaml.safe_load(r.stdout)["results"]
    assert result["result"] == "timed out" and result["port"] == full_backlog


def test_probe_no_route_from_an_injected_connect(tmp_path, monkeypatch):
    """ "no route" is what the kernel says: injected, so no test sends a packet off loopback."""
    asked = []

    def unreachable(address, port, timeout):
        asked.append(address)
        return Attempt(errno.EHOSTUNREACH, False, 0.003)

    monkeypatch.setattr(tcpprobe, "connect", unreachable)
    r = run("probe", "web", "-n", "shop", "-f", manifest(tmp_path, ["127.0.0.4"], ("TCP/80",)), "-o", "json")
    assert r.exit_code == 1
    (result,) = json.loads(r.stdout)["results"]
    assert (result["result"], result["milliseconds"]) == ("no route", 3.0) and result["detail"]
    assert asked == ["127.0.0.4"]


def test_probe_deadline_leaves_the_rest_not_probed(tmp_path, full_backlog):
    """--timeout bounds the whole probe: the first connect takes it all (a full
    backlog), the second is not tried."""
    ports = (f"TCP/{full_backlog}", f"TCP/{closed_port('127.0.0.1')}")
    path = manifest(tmp_path, ["127.0.0.1"], ports)
    r = run("probe", "web", "-n", "shop", "-f", path, "--timeout", "300ms", "--connect-timeout", "5s", "-o", "json")
    assert r.exit_code == 1, r.output
    got = json.loads(r.stdout)["results"]
    assert [x["result"] for x in got] == ["timed out", "not probed"]
    assert "deadline" in got[1]["detail"] and got[1]["milliseconds"] is None


def test_probe_pending_service_has_nothing_to_probe(tmp_path):
    r = run("probe", "web", "-n", "shop", "-f", manifest(tmp_path, [], ("TCP/80",)))
    assert r.exit_code == 1 and r.stdout == ""
    assert "nothing to probe: shop/web has no address in its status" in r.stderr


def test_probe_refuses_a_missing_or_non_loadbalancer_service(tmp_path):
    path = manifest(tmp_path, ["127.0.0.1"], ("TCP/80",), type="ClusterIP")
    r = run("probe", "web", "-n", "shop", "-f", path)
    assert r.exit_code == 2 and "LoadBalancer" in r.stderr and r.stdout == ""
    r = run("probe", "nope", "-n", "shop", "-f", path)
    assert r.exit_code == 2 and 'services "nope" not found in namespace "shop"' in r.stderr


@pytest.mark.parametrize("flag", ["--timeout", "--connect-timeout"])
@pytest.mark.parametrize("value", ["0", "0s", "-1s", "soon", ""])
def test_probe_refuses_a_deadline_that_is_not_above_zero(tmp_path, flag, value):
    r = run("probe", "web", "-n", "shop", "-f", manifest(tmp_path, ["127.0.0.1"], ("TCP/80",)), flag, value)
    assert r.exit_code == 2 and flag in r.stderr and "above 0" in r.stderr and r.stdout == ""


def test_probe_ignores_an_ingress_that_is_not_an_address(tmp_path, monkeypatch):
    """A hostname (or garbage) in status.loadBalancer.ingress[].ip is not connected to."""

    def boom(address, port, timeout):
        raise AssertionError(f"connected to {address}")

    monkeypatch.setattr(tcpprobe, "connect", boom)
    r = run("probe", "web", "-n", "shop", "-f", manifest(tmp_path, ["lb.example.com"], ("TCP/80",)))
    assert r.exit_code == 1 and "no address in its status" in r.stderr and "Traceback" not in r.output


def test_probe_a_hostile_status_is_one_line_exit_2(tmp_path, monkeypatch):
    """The service is shape-checked before anything connects."""

    def boom(address, port, timeout):
        raise AssertionError(f"connected to {address}")

    monkeypatch.setattr(tcpprobe, "connect", boom)
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
        "spec: {type: LoadBalancer, ports: [{port: 80}]}\nstatus: {loadBalancer: {ingress: [x]}}\n"
    )
    r = run("probe", "web", "-n", "shop", "-f", str(path))
    assert r.exit_code == 2 and "Traceback" not in r.stderr and r.stdout == ""
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ingress[0]: expected a mapping" in errors[0]

"""model/probe.py on plain data: the targets of a service, what each attempt means,
the counts per family and when the answer is "every port answered"."""

import errno

from builders import svc

from kubectl_lbip.model import probe
from kubectl_lbip.model.probe import Attempt, Target
from kubectl_lbip.model.services import Service

DUAL = Service.from_object(
    svc(
        "shop",
        "web",
        cluster_ips=("10.96.0.5", "fd00::5"),
        ingress=["::1", "127.0.0.2"],
        ports=("TCP/80", "UDP/53", "TCP/443"),
    )
)


def answer(service, *attempts):
    targets = probe.targets(service)
    return probe.report(service, list(zip(targets, attempts)))


def test_targets_each_address_ipv4_first_with_each_port_in_spec_order():
    assert probe.targets(DUAL) == [
        Target("127.0.0.2", "ipv4", 80, "TCP"),
        Target("127.0.0.2", "ipv4", 53, "UDP"),
        Target("127.0.0.2", "ipv4", 443, "TCP"),
        Target("::1", "ipv6", 80, "TCP"),
        Target("::1", "ipv6", 53, "UDP"),
        Target("::1", "ipv6", 443, "TCP"),
    ]
    assert [t.probed for t in probe.targets(DUAL)] == [True, False, True] * 2


def test_each_outcome_means_what_the_kernel_said():
    assert probe.outcome(Attempt(None, False, 0.001)) == (probe.ANSWERED, "")
    assert probe.outcome(Attempt(errno.ECONNREFUSED, False, 0.001))[0] == probe.REFUSED
    assert probe.outcome(Attempt(None, True, 2.0)) == (probe.TIMED_OUT, "")
    assert probe.outcome(Attempt(errno.ETIMEDOUT, False, 2.0)) == (probe.TIMED_OUT, "")
    for no_route in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL):
        result, detail = probe.outcome(Attempt(no_route, False, 0.0))
        assert result == probe.NO_ROUTE and detail  # the kernel's words
    result, detail = probe.outcome(Attempt(errno.EACCES, False, 0.0))
    assert result == probe.FAILED and detail  # anything else: failed, with the kernel's words
    assert probe.outcome(None)[0] == probe.NOT_PROBED  # the deadline passed first


def test_report_counts_per_family_and_lists_udp_as_not_probed():
    ok = Attempt(None, False, 0.0004)
    got = answer(DUAL, ok, None, ok, Attempt(errno.ECONNREFUSED, False, 0.0001), None, Attempt(None, True, 0.5))
    assert got["families"] == {"ipv4": {"probed": 2, "answered": 2}, "ipv6": {"probed": 2, "answered": 0}}
    assert [(r["address"], r["port"], r["protocol"], r["result"]) for r in got["results"]] == [
        ("127.0.0.2", 80, "TCP", "answered"),
        ("127.0.0.2", 53, "UDP", "not probed"),
        ("127.0.0.2", 443, "TCP", "answered"),
        ("::1", 80, "TCP", "refused"),
        ("::1", 53, "UDP", "not probed"),
        ("::1", 443, "TCP", "timed out"),
    ]
    assert got["results"][0]["milliseconds"] == 0.4 and got["results"][1]["milliseconds"] is None
    assert got["results"][1]["detail"] == "UDP is not probed"
    assert got["answered"] is False
    assert probe.summary(got) == "IPv4: 2 of 2 TCP port(s) answered; IPv6: 0 of 2 TCP port(s) answered"


def test_answered_only_when_every_probed_port_answered():
    ok = Attempt(None, False, 0.0)
    assert answer(DUAL, ok, None, ok, ok, None, ok)["answered"] is True
    assert answer(DUAL, ok, None, ok, ok, None, None)["answered"] is False  # one left by the deadline


def test_nothing_to_probe_is_not_an_answer():
    pending = Service.from_object(svc("shop", "pending"))
    got = answer(pending)
    assert got["results"] == [] and got["answered"] is False
    assert "has no address in its status" in probe.summary(got) and "why pending -n shop" in probe.summary(got)
    udp_only = Service.from_object(svc("shop", "dns", ingress=["127.0.0.3"], ports=("UDP/53",)))
    got = answer(udp_only, None)
    assert got["answered"] is False and probe.summary(got) == "IPv4: no TCP port to probe"
    no_ports = Service.from_object(svc("shop", "bare", ingress=["127.0.0.3"], ports=()))
    assert probe.summary(answer(no_ports)) == "nothing to probe: shop/bare has no port"

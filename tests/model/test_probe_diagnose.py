"""why --probe's pure part: a probe that did not answer on a family is one line with
its likely cause, from the probe's answer and why's own explanation (built here by
model/explain.py from plain objects), each cause with its near miss."""

import errno

from builders import cluster, pool, svc
from netbuilders import l2adv, l2status, node, slice_

from kubectl_lbip.model import probe
from kubectl_lbip.model.explain import explain
from kubectl_lbip.model.findings import findings_for
from kubectl_lbip.model.probe import Attempt
from kubectl_lbip.model.services import Service

PROD = pool("prod", "192.168.10.0/24", "fd00:10::/120")
NODES = (node("n1", "10.0.0.1", labels={"zone": "a"}), node("n2", "10.0.0.2", labels={"zone": "b"}))
OK, REFUSED, TIMED_OUT = Attempt(None, False, 0.001), Attempt(errno.ECONNREFUSED, False, 0.001), Attempt(None, True, 2)
NO_ROUTE = Attempt(errno.ENETUNREACH, False, 0.0)


def web(local=False):
    return svc(
        "shop",
        "web",
        cluster_ips=("10.96.0.5", "fd00::5"),
        ingress=["192.168.10.5", "fd00:10::5"],
        ports=("TCP/80",),
        local=local,
    )


def diagnose(objects, v4, v6, local=False):
    c = cluster(PROD, web(local), *objects)
    service = c.service("shop", "web")
    targets = probe.targets(service)
    answer = probe.report(Service.from_object(web(local)), list(zip(targets, [v4, v6])))
    return probe.diagnose(answer, explain(c, service, findings_for(c)))


ANNOUNCED = (*NODES, l2adv("l2", ["prod"]), l2status("shop", "web", "n1", "eth0"))


def test_answering_on_both_families_says_nothing():
    assert diagnose(ANNOUNCED, OK, OK) == []


def test_ipv6_timing_out_while_ipv4_answers_is_the_ipv6_path():
    (found,) = diagnose(ANNOUNCED, OK, TIMED_OUT)
    assert found["family"] == "ipv6" and found["addresses"] == ["fd00:10::5"]
    assert found["line"].startswith("assigned but not answering on IPv6 (fd00:10::5: 0 of 1 TCP port(s) answered;")
    assert "likely the family's route or announcement: IPv4 answers" in found["line"]


def test_no_route_is_the_familys_route_first():
    (found,) = diagnose(ANNOUNCED, OK, NO_ROUTE)
    assert found["cause"].startswith("the family's route: where the probe ran there is no IPv6 route")


def test_no_advertisement_for_the_pool():
    elsewhere = (pool("other", "10.1.0.0/24"), l2adv("l2", ["other"]))
    (v4, v6) = diagnose((*NODES, *elsewhere), TIMED_OUT, TIMED_OUT)
    assert v4["cause"].startswith("no advertisement on the node: no L2 or BGP advertisement announces pool prod")
    assert v6["family"] == "ipv6"
    # near miss: an advertisement of its pool, no speaker status read: not this cause
    (v4, v6) = diagnose((*NODES, l2adv("l2", ["prod"])), TIMED_OUT, TIMED_OUT)
    assert v4["cause"].startswith("dropped on the way")


def test_an_advertisement_selecting_no_node():
    (found, _) = diagnose((*NODES, l2adv("l2", ["prod"], node_selectors=[{"zone": "c"}])), TIMED_OUT, TIMED_OUT)
    assert "select no node" in found["cause"]


def test_no_speaker_announcing_it():
    (found, _) = diagnose((*NODES, l2adv("l2", ["prod"]), l2status("shop", "other", "n1")), TIMED_OUT, TIMED_OUT)
    assert found["cause"] == "no advertisement on the node: no speaker reports announcing it"


def test_local_policy_without_endpoints():
    objects = (*ANNOUNCED, slice_("shop", "web", ("n1", False)))
    (found, _) = diagnose(objects, TIMED_OUT, TIMED_OUT, local=True)
    assert found["cause"].startswith("a Local policy without endpoints: externalTrafficPolicy Local")
    # near miss: a ready endpoint on the announcing node: not this cause
    objects = (*ANNOUNCED, slice_("shop", "web", ("n1", True)))
    (found, _) = diagnose(objects, TIMED_OUT, TIMED_OUT, local=True)
    assert not found["cause"].startswith("a Local policy")


def test_local_policy_with_endpoints_only_elsewhere():
    objects = (*ANNOUNCED, slice_("shop", "web", ("n2", True)))
    (found, _) = diagnose(objects, TIMED_OUT, TIMED_OUT, local=True)
    assert "n1 announces it, ready endpoints are on n2" in found["cause"]


def test_refused_is_reached_but_nothing_listens():
    (v4, v6) = diagnose(ANNOUNCED, REFUSED, REFUSED)
    assert v4["cause"].startswith("nothing listens behind it") and v4["results"] == ["refused"]


def test_a_family_answering_partly_says_so():
    c = cluster(PROD, svc("shop", "web", ingress=["192.168.10.5"], ports=("TCP/80", "TCP/443")), *ANNOUNCED)
    service = c.service("shop", "web")
    answer = probe.report(service, list(zip(probe.targets(service), [OK, REFUSED])))
    (found,) = probe.diagnose(answer, explain(c, service, findings_for(c)))
    assert found["line"].startswith("assigned but answering only partly on IPv4 (192.168.10.5: 1 of 2")

"""why's explanation on plain data: each thing that stops an assigned address from
answering is named first, and a service with everything in place is not blocked."""

from builders import cluster, dual, lbips, live_cluster, pool, svc
from netbuilders import bgpadv, bgpstatus, config_state, l2adv, l2status, node, slice_

from kubectl_lbip.model.explain import explain
from kubectl_lbip.model.findings import findings_for

PROD = pool("prod", "192.168.10.0/24")
WEB = svc("shop", "web", ingress=["192.168.10.5"], annotations=lbips("192.168.10.5"), labels={"app": "web"})
NODES = (node("n1", "10.0.0.1", labels={"zone": "a"}), node("n2", "10.0.0.2", labels={"zone": "b"}))


def why(*objects, name=("shop", "web"), live=False):
    c = cluster(*objects)
    c.live = live
    return explain(c, c.service(*name), findings_for(c))


def test_everything_in_place():
    r = why(PROD, WEB, *NODES, l2adv("l2", ["prod"]), l2status("shop", "web", "n1", "eth0"))
    assert not r["blocked"] and r["firstFix"] is None
    assert r["request"] == {"field": "metallb.io/loadBalancerIPs", "value": "192.168.10.5"}
    assert r["held"] == ["192.168.10.5"] and r["pool"]["name"] == "prod"
    (adv,) = r["advertisements"]
    assert adv["nodes"] == ["n1", "n2"] and adv["announcesService"]
    assert r["speakers"] == [{"kind": "ServiceL2Status", "node": "n1", "interfaces": ["eth0"], "peers": None}]
    assert "events (MetalLB's AllocationFailed reason)" in r["unknown"]


def test_no_advertisement_for_its_pool():
    r = why(PROD, pool("other", "10.1.0.0/24"), WEB, *NODES, l2adv("l2", ["other"]))
    assert r["blocked"] and r["firstFix"].startswith("pool-not-advertised")


def test_advertisement_whose_service_selectors_exclude_it():
    r = why(PROD, WEB, *NODES, l2adv("l2", ["prod"], service_selectors=[{"app": "db"}]))
    assert r["blocked"] and "serviceSelectors" in r["firstFix"]
    assert r["advertisements"][0]["announcesService"] is False


def test_advertisement_selecting_no_node():
    r = why(PROD, WEB, *NODES, l2adv("l2", ["prod"], node_selectors=[{"zone": "c"}]))
    assert r["blocked"] and "no node can announce it" in r["firstFix"]
    # near miss: a second advertisement of the pool selects a node
    r = why(
        PROD,
        WEB,
        *NODES,
        l2adv("l2", ["prod"], node_selectors=[{"zone": "c"}]),
        l2adv("l2b", ["prod"], node_selectors=[{"zone": "a"}]),
    )
    assert not r["blocked"], r["firstFix"]


def test_local_policy_without_an_announcing_node():
    local = svc("shop", "web", ingress=["192.168.10.5"], local=True)
    objs = (PROD, local, *NODES, l2adv("l2", ["prod"], node_selectors=[{"zone": "a"}]))
    r = why(*objs, slice_("shop", "web", ("n2", True)))
    assert r["blocked"] and r["firstFix"].startswith("local-policy-no-announcer")
    assert r["readyNodes"] == ["n2"]
    assert not why(*objs, slice_("shop", "web", ("n1", True)))["blocked"]


def test_pending_says_so_and_quotes_metallb_when_live():
    pending = svc("shop", "web")
    r = why(PROD, pending, l2adv("l2"))
    assert r["blocked"] and "assigned no address" in r["firstFix"]
    c = cluster(PROD, pending, l2adv("l2"))
    c.live = True
    c.allocation_failures["shop/web"] = "no available IPs"
    r = explain(c, c.service("shop", "web"), findings_for(c))
    assert "no available IPs" in r["firstFix"] and r["allocationFailed"] == "no available IPs"


def test_speaker_statuses_known_but_none_for_it():
    other = l2status("shop", "other", "n1")
    r = why(PROD, WEB, *NODES, l2adv("l2", ["prod"]), other)
    assert r["blocked"] and "no speaker reports announcing it" in r["firstFix"]
    r = why(PROD, WEB, *NODES, bgpadv("b", ["prod"]), bgpstatus("shop", "web", "n2", "peer-a"))
    assert not r["blocked"] and r["speakers"][0]["peers"] == ["peer-a"]


def test_invalid_metallb_configuration_blocks():
    r = why(PROD, WEB, l2adv("l2"), config_state("controller", "Invalid", "bad pool"))
    assert r["blocked"] and r["firstFix"].startswith("metallb-config-invalid")


def test_a_typo_in_another_advertisement_does_not_block():
    r = why(PROD, WEB, *NODES, l2adv("l2", ["prod"]), l2adv("typo", ["prd"]))
    assert not r["blocked"]
    assert "advertisement-unknown-pool" not in [f["code"] for f in r["findings"]]


SPLIT = (
    pool("v4only", "198.51.100.0/24"),
    pool("v6only", "2001:db8:2::/64"),
    l2adv("l2", ["v4only", "v6only"]),
    *NODES,
)
REFUSED = '["198.51.100.4" "2001:db8:2::4"] is not allowed in config'


def _split_pending():
    return dual("payments", "gw2", policy="RequireDualStack", annotations=lbips("198.51.100.4,2001:db8:2::4"))


def test_live_pending_names_the_rule_that_explains_it_and_quotes_metallb_as_evidence():
    """Issue 25 item 1: live, MetalLB's AllocationFailed is the symptom; the split-pool
    rule is the cause, so it is the verdict (with its Fix), and the event confirms it."""
    c = live_cluster(*SPLIT, _split_pending(), failures={"payments/gw2": REFUSED})
    r = explain(c, c.service("payments", "gw2"), findings_for(c))
    assert r["firstFix"].startswith("split-pool-dual-stack: ") and "Fix: " in r["firstFix"]
    assert r["evidence"] == {"event": REFUSED, "confirms": True}
    status = {s["step"]: s["status"] for s in r["steps"]}
    assert status["request"] == "failed" and status["metallb"] == "failed"
    assert [s["step"] for s in r["steps"]] == ["request", "pool", "metallb", "advertisements", "nodes", "speakers"]
    assert status["speakers"] == "not-reached"
    # the same objects read from files give the same verdict, without an event
    f = cluster(*SPLIT, _split_pending())
    off = explain(f, f.service("payments", "gw2"), findings_for(f))
    assert off["firstFix"] == r["firstFix"] and off["evidence"] is None


def test_an_event_that_names_another_rule_is_shown_but_does_not_confirm():
    c = live_cluster(*SPLIT, _split_pending(), failures={"payments/gw2": "can't change sharing key"})
    r = explain(c, c.service("payments", "gw2"), findings_for(c))
    assert r["firstFix"].startswith("split-pool-dual-stack")
    assert r["evidence"] == {"event": "can't change sharing key", "confirms": False}


def test_pending_without_a_rule_that_explains_it_is_metallbs_own_words():
    c = live_cluster(PROD, svc("shop", "web"), l2adv("l2"), failures={"shop/web": "no available IPs"})
    r = explain(c, c.service("shop", "web"), findings_for(c))
    assert r["firstFix"] == "MetalLB assigned no address: no available IPs" and r["evidence"] is None
    assert next(s for s in r["steps"] if s["status"] == "failed")["step"] == "metallb"


def test_steps_pass_fail_and_unknown_top_down():
    r = why(PROD, WEB, l2adv("l2", ["prod"]))  # no Node, no speaker status in the input
    status = {s["step"]: s["status"] for s in r["steps"]}
    assert status == {
        "request": "ok",
        "pool": "ok",
        "metallb": "ok",
        "advertisements": "ok",
        "nodes": "unknown",
        "speakers": "unknown",
    }
    r = why(PROD, pool("other", "10.1.0.0/24"), WEB, *NODES, l2adv("l2", ["other"]))
    failed = [s["step"] for s in r["steps"] if s["status"] == "failed"]
    assert failed == ["advertisements"]
    assert {s["step"]: s["status"] for s in r["steps"]}["nodes"] == "not-reached"

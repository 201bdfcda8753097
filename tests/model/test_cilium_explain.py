"""`why` for a Cilium service (model/cilium_explain.py): each step, with a near
miss beside it."""

from __future__ import annotations

from typing import Dict

import pytest

from kubectl_lbip.model import checks, cilium
from kubectl_lbip.model import cilium_checks as cc
from kubectl_lbip.model import cilium_explain as ce
from kubectl_lbip.model.services import Service

V15, V16, V20 = (1, 15, 19), (1, 16, 0), (1, 20, 2)
MAIN = cilium.pool_from_object({"metadata": {"name": "main"}, "spec": {"blocks": [{"cidr": "10.0.0.0/24"}]}})
TEAM = cilium.pool_from_object(
    {
        "metadata": {"name": "team"},
        "spec": {
            "blocks": [{"start": "10.1.0.10", "stop": "10.1.0.20"}],
            "serviceSelector": {"matchLabels": {"team": "a"}},
        },
    }
)


def l2(name="l2", **spec) -> ce.L2Policy:
    return ce.l2_policy_from_object({"metadata": {"name": name}, "spec": {"loadBalancerIPs": True, **spec}})


def bgp(*entries) -> list:
    return ce.bgp_advertisements_from_object({"metadata": {"name": "bgp"}, "spec": {"advertisements": list(entries)}})


def why(pools, svc: Service, others=(), announcers=ce.NOT_READ, condition=None, **operator) -> Dict:
    lbipam = cilium.Lbipam(list(pools), [svc, *others], cilium.Operator(ipv6=False, **operator))
    found = cc.findings_for(lbipam, [svc, *others])
    return ce.explain(lbipam, svc, found, announcers=announcers, condition=condition)


def status(result) -> Dict[str, str]:
    return {s["step"]: s["status"] for s in result["steps"]}


HELD = Service("shop", "web", labels={"app": "web"}, ingress=("10.0.0.5",), observed=True)


def test_a_held_address_announced_by_an_l2_policy_passes_every_step():
    result = why([MAIN], HELD, announcers=ce.Announcers(l2=(l2(serviceSelector={"matchLabels": {"app": "web"}}),)))
    assert status(result) == dict.fromkeys(ce.STEPS, "ok") and not result["blocked"]
    (policy,) = result["announcements"]
    assert policy["covers"] and policy["serviceSelector"] == "app=web"
    assert result["kept"] == ["10.0.0.5"] and result["implementation"]["name"] == "cilium"


def test_an_l2_policy_that_selects_other_services_leaves_the_address_unannounced():
    result = why([MAIN], HELD, announcers=ce.Announcers(l2=(l2(serviceSelector={"matchLabels": {"app": "db"}}),)))
    assert status(result)[ce.ANNOUNCEMENT] == "failed" and result["blocked"]
    assert "does not match the service" in result["announcements"][0]["whyNot"]
    assert result["firstFix"].startswith("no CiliumL2AnnouncementPolicy or CiliumBGPAdvertisement covers it")


def test_an_l2_policy_without_load_balancer_ips_announces_nothing_and_selects_by_service_name():
    off = l2(loadBalancerIPs=False)
    assert off.covers(HELD, {"x": "y"}) == (False, "spec.loadBalancerIPs is not true")
    by_name = l2(serviceSelector={"matchLabels": {cilium.NAME_LABEL: "web"}})
    assert status(why([MAIN], HELD, announcers=ce.Announcers(l2=(by_name,))))[ce.ANNOUNCEMENT] == "ok"


def test_a_bgp_advertisement_needs_a_selector_and_load_balancer_ip():
    entry = {"advertisementType": "Service", "service": {"addresses": ["LoadBalancerIP"]}}
    (nosel,) = bgp(entry)
    assert nosel.covers(HELD, {}) == (False, "it has no selector, and then advertises no service")
    (good,) = bgp({**entry, "selector": {"matchLabels": {cilium.NAMESPACE_LABEL: "shop"}}})
    result = why([MAIN], HELD, announcers=ce.Announcers(bgp=(good,)))
    assert status(result)[ce.ANNOUNCEMENT] == "ok"
    (cluster_ip,) = bgp({**entry, "selector": {}, "service": {"addresses": ["ClusterIP"]}})
    assert not cluster_ip.covers(HELD, {})[0]
    assert bgp({"advertisementType": "PodCIDR"}) == []


def test_announcement_objects_not_in_the_input_are_unknown_and_an_unheld_service_does_not_reach_them():
    result = why([MAIN], HELD)
    assert status(result)[ce.ANNOUNCEMENT] == "unknown"
    assert {"CiliumL2AnnouncementPolicys", "CiliumBGPAdvertisements"} <= set(result["unknown"])
    pending = Service("shop", "web", observed=True)
    assert status(why([MAIN], pending, announcers=ce.Announcers(l2=())))[ce.ANNOUNCEMENT] == "not-reached"


def test_a_class_cilium_does_not_serve_fails_the_first_step_and_reaches_nothing():
    other = Service("shop", "web", load_balancer_class="example.com/lb")
    result = why([MAIN], other)
    assert status(result) == {
        ce.CLASS: "failed",
        ce.REQUEST: "not-reached",
        ce.POOL: "not-reached",
        ce.CILIUM: "not-reached",
        ce.ANNOUNCEMENT: "not-reached",
    }
    assert "does not serve loadBalancerClass 'example.com/lb'" in result["firstFix"]
    l2_class = Service("shop", "web", load_balancer_class=cilium.L2_CLASS, ingress=("10.0.0.5",))
    assert status(why([MAIN], l2_class, l2_announcements=True))[ce.CLASS] == "ok"


def test_no_pool_selecting_the_service_fails_the_pool_step_with_each_pools_reason():
    svc = Service("shop", "web", observed=True)
    result = why([TEAM], svc)
    assert status(result)[ce.POOL] == "failed"
    assert "pool team selects only services matching team=a" in result["firstFix"]
    team_svc = Service("shop", "web", labels={"team": "a"}, observed=True)
    assert status(why([TEAM], team_svc))[ce.POOL] == "ok"


def test_a_refused_request_names_its_code_and_the_condition_explains_the_pending_service():
    asking = Service("shop", "web", annotations={cilium.IPS_KEY: "10.1.0.15"}, observed=True)
    cond = {"status": "False", "reason": "pool_selector_mismatch", "message": "The pool ... doesn't select"}
    result = why([MAIN, TEAM], asking, condition=cond)
    assert result["request"] == {"fields": [cilium.IPS_KEY], "addresses": ["10.1.0.15"], "unparsed": []}
    steps = {s["step"]: s for s in result["steps"]}
    assert steps[ce.POOL]["code"] == checks.CILIUM_SELECTOR_MISMATCH
    assert "Cilium assigned no address: pool_selector_mismatch" in steps[ce.CILIUM]["problem"]
    assert result["predicted"]["reason"] == cilium.POOL_SELECTOR_MISMATCH
    assert result["firstFix"].startswith("cilium-pool-selector-mismatch: ")


def test_a_manifest_is_judged_by_the_prediction_and_its_unknowns_say_so():
    planned = Service("shop", "web", annotations={cilium.IPS_KEY: "10.0.0.7"})
    result = why([MAIN], planned)
    assert status(result)[ce.CILIUM] == "ok" and result["predicted"]["outcomes"][0]["pool"] == "main"
    assert any("manifests carry no status" in u for u in result["unknown"])
    taken = Service("shop", "db", annotations={cilium.IPS_KEY: "10.0.0.7"}, ingress=("10.0.0.7",))
    assert status(why([MAIN], planned, others=[taken]))[ce.CILIUM] == "failed"


@pytest.mark.parametrize(
    "annotations,version,key",
    [
        ({cilium.IPS_KEY: "10.0.0.1", cilium.IPS_ALIAS: "10.0.0.2"}, V20, cilium.IPS_KEY),
        ({cilium.IPS_ALIAS: "10.0.0.2"}, V16, cilium.IPS_ALIAS),
        ({cilium.IPS_KEY: "", cilium.IPS_ALIAS: "10.0.0.2"}, V20, cilium.IPS_KEY),  # present and empty: wins
        ({cilium.IPS_KEY: "10.0.0.1"}, V15, None),  # v1.15 never reads it
        ({cilium.IPS_ALIAS: ""}, V15, None),
    ],
)
def test_the_key_the_request_is_read_from(annotations, version, key):
    assert ce.request_key(Service("a", "b", annotations=annotations), version) == key


@pytest.mark.parametrize(
    "spec",
    [
        {"serviceSelector": "app=web"},
        {"nodeSelector": {"matchExpressions": [{"key": "k", "operator": "Bogus"}]}},
        {"serviceSelector": {"matchExpressions": [{"key": "k", "operator": "In"}]}},
    ],
)
def test_a_policy_with_a_selector_the_agent_cannot_use_covers_nothing(spec):
    policy = l2(**spec)
    assert policy.errors and not policy.covers(HELD, {"app": "web"})[0]


@pytest.mark.parametrize("spec", [None, {"advertisements": "x"}, {"advertisements": [None, 3, {"selector": 1}]}])
def test_hostile_bgp_advertisements_read_as_none(spec):
    assert ce.bgp_advertisements_from_object({"metadata": {"name": "b"}, "spec": spec}) == []


def test_the_l2_announcer_ignores_a_service_of_the_bgp_class():
    bgp_class = Service("shop", "web", load_balancer_class=cilium.BGP_CLASS, ingress=("10.0.0.5",))
    assert l2().covers(bgp_class, {}) == (False, f"the L2 announcer ignores loadBalancerClass {cilium.BGP_CLASS}")
    assert l2().covers(HELD, {})[0]


def test_an_address_held_in_a_disabled_pool_does_not_fail_the_pool_step_but_shows_the_warning():
    off = cilium.pool_from_object(
        {"metadata": {"name": "off"}, "spec": {"blocks": [{"cidr": "10.0.0.0/24"}], "disabled": True}}
    )
    result = why([off], HELD)
    pool_step = next(s for s in result["steps"] if s["step"] == ce.POOL)
    assert pool_step["status"] == "ok" and [f["code"] for f in pool_step["findings"]] == [checks.CILIUM_DISABLED_IN_USE]
    assert (
        status(why([off], Service("shop", "web", observed=True)))[ce.POOL] == "failed"
    )  # nothing held: nothing to serve it

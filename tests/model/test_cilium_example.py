"""examples/cilium.yaml, the shipped Cilium LB-IPAM example: valid YAML of the
kinds it names, every case its header promises present, and its status (pool
counts and conflicts, service conditions) what Cilium's rules give for it."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubectl_lbip.model import checks, cilium
from kubectl_lbip.model import cilium_checks as cc
from kubectl_lbip.model import cilium_explain as ce
from kubectl_lbip.model.services import Service

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cilium.yaml"
API = {
    "CiliumLoadBalancerIPPool": "cilium.io/v2alpha1",
    "CiliumL2AnnouncementPolicy": "cilium.io/v2alpha1",
    "Service": "v1",
}
V118 = (1, 18, 0)  # the header says v1.18 or later


def load():
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    items = doc["items"]
    pools = [cilium.pool_from_object(o) for o in items if o["kind"] == "CiliumLoadBalancerIPPool"]
    objects = [o for o in items if o["kind"] == "Service"]
    services = [Service.from_object(o) for o in objects]
    conditions = {s.key: cc.satisfied_condition(o) for s, o in zip(services, objects)}
    policies = tuple(ce.l2_policy_from_object(o) for o in items if o["kind"] == "CiliumL2AnnouncementPolicy")
    lbipam = cilium.Lbipam(pools, services, cilium.Operator(version=V118))
    return doc, lbipam, services, conditions, policies


def test_it_is_a_list_of_the_kinds_its_header_names():
    doc, *_ = load()
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    kinds = {o["kind"] for o in doc["items"]}
    assert kinds == set(API)
    assert all(o["apiVersion"] == API[o["kind"]] and o["metadata"]["name"] for o in doc["items"])
    assert all(o["metadata"].get("namespace") for o in doc["items"] if o["kind"] == "Service")
    header = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert "kubectl get ciliumloadbalancerippools,ciliuml2announcementpolicies,services" in header


def test_it_has_every_case_the_header_promises():
    _, lbipam, services, _, _ = load()
    pools = {p.name: p for p in lbipam.pools}
    assert all(p.valid for p in pools.values())
    assert {p.allow_first_last_ips for p in pools.values()} >= {"Yes", "No"}
    assert any(not b.from_cidr for p in pools.values() for b in p.blocks)  # a start/stop block
    assert pools["retired"].disabled and pools["lan-pinned"].service_selector is not None
    assert set(lbipam.conflicts) == {"lan-extra"} and lbipam.conflicts["lan-extra"].other == "lan"
    views = {v.key: v for v in lbipam.views}
    assert (
        views["ingress-nginx/ingress-nginx-controller"].ipv6
        and not views["ingress-nginx/ingress-nginx-controller"].requested
    )
    assert cilium.sharing_conflict(views["dns/pihole-udp"], views["dns/pihole-tcp"], V118) is None
    assert cilium.sharing_conflict(views["monitoring/grafana"], views["logging/loki-gateway"], V118) is None
    assert cilium.sharing_conflict(views["dns/pihole-udp"], views["dns/pihole-tcp"], (1, 17, 0)) == "same port"


def test_its_status_is_what_ciliums_rules_give():
    _, lbipam, services, conditions, _ = load()
    for pool in lbipam.pools:
        counts = lbipam.counts(pool)
        assert pool.reported(cilium.IPS_TOTAL) == str(counts.total), pool.name
        assert pool.reported(cilium.IPS_USED) == str(counts.used), pool.name
        assert pool.reported(cilium.IPS_AVAILABLE) == str(counts.available), pool.name
    for svc in services:
        kept, verdict = lbipam.satisfy(svc)
        assert kept == svc.ingress, svc.key
        assert conditions[svc.key]["reason"] == verdict.reason, svc.key


def test_its_findings_are_the_ones_the_readme_tells():
    _, lbipam, services, conditions, _ = load()
    found = cc.findings_for(lbipam, services, conditions=conditions)
    assert sorted((f.code, f.object) for f in found) == [
        (checks.CILIUM_DISABLED_IN_USE, "CiliumLoadBalancerIPPool/retired"),
        (checks.CILIUM_NO_POOL, "Service/apps/batch"),
        (checks.CILIUM_PIN_IN_AUTO_RANGE, "Service/apps/api"),
        (checks.CILIUM_POOL_CONFLICT, "CiliumLoadBalancerIPPool/lan-extra"),
        (checks.DEPRECATED_ANNOTATION, "Service/apps/legacy-app"),
        (checks.MIXED_ANNOTATIONS, "Service/apps/legacy-app"),
        (checks.PENDING, "Service/apps/batch"),
    ]


def test_the_l2_policy_announces_every_held_address():
    _, lbipam, services, conditions, policies = load()
    found = cc.findings_for(lbipam, services, conditions=conditions)
    for svc in services:
        result = ce.explain(lbipam, svc, found, announcers=ce.Announcers(l2=policies), condition=conditions[svc.key])
        steps = {s["step"]: s["status"] for s in result["steps"]}
        assert steps[ce.ANNOUNCEMENT] == ("ok" if svc.ingress else "not-reached"), svc.key

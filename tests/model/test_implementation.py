"""The common questions (model/implementation.py) asked of MetalLB and of Cilium:
one shape, each implementation's own answer."""

from __future__ import annotations

from kubectl_lbip.model import cilium
from kubectl_lbip.model.cluster import Cluster
from kubectl_lbip.model.implementation import Cilium, Implementation, MetalLB
from kubectl_lbip.model.pools import pool_from_object
from kubectl_lbip.model.services import Service


def ip_pool(name, *addresses):
    return {"metadata": {"name": name, "namespace": "metallb-system"}, "spec": {"addresses": list(addresses)}}


def cilium_pool(name, *cidrs):
    return {"metadata": {"name": name}, "spec": {"blocks": [{"cidr": c} for c in cidrs]}}


def dual_service(**annotations):
    return Service(
        "default",
        "web",
        annotations=annotations,
        cluster_ips=("10.96.0.10", "fd00:96::10"),
        ip_families=("IPv4", "IPv6"),
        ip_family_policy="RequireDualStack",
    )


def both():
    metallb = MetalLB(
        Cluster(
            [
                pool_from_object(ip_pool("v4", "192.0.2.0/24"), {}),
                pool_from_object(ip_pool("v6", "2001:db8::/120"), {}),
            ],
            [],
        )
    )
    lbipam = cilium.Lbipam(
        [
            cilium.pool_from_object(cilium_pool("v4", "192.0.2.0/24")),
            cilium.pool_from_object(cilium_pool("v6", "2001:db8::/120")),
        ],
        [],
    )
    return metallb, Cilium(lbipam)


def test_both_implementations_answer_the_same_questions():
    for impl in both():
        assert isinstance(impl, Implementation)
        assert impl.serves(dual_service()) == (True, "")
        assert sorted(impl.pool_names_for(dual_service())) == ["v4", "v6"]


def test_a_dual_stack_pair_from_two_pools_metallb_refuses_and_cilium_accepts():
    metallb, cil = both()
    pair = ["192.0.2.10", "2001:db8::10"]
    refused = metallb.judge(dual_service(), pair)
    assert not refused.accepted and "split-pool-dual-stack" in [code for code, _ in refused.reasons]
    assert cil.judge(dual_service(), pair).accepted


def test_each_names_its_own_key_and_release():
    metallb, cil = both()
    assert metallb.request_key() == "metallb.io/loadBalancerIPs"
    assert cil.request_key() == "lbipam.cilium.io/ips"
    assert cil.release.label == "v1.20.2" and metallb.release.label == "v0.16.1"


def test_predictions_in_one_shape():
    metallb, cil = both()
    assert cil.predict(dual_service()).addresses == ("192.0.2.0", "2001:db8::")
    assert metallb.predict(dual_service()).addresses == ()  # MetalLB takes both families from one pool: none has both


def test_a_refusal_carries_the_implementations_own_reason():
    _, cil = both()
    judged = cil.judge(dual_service(), ["198.51.100.1"])
    assert judged.reasons == (("no_pool", "No pool exists with a CIDR containing '198.51.100.1'"),)

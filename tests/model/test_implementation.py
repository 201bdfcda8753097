"""The common questions (model/implementation.py) asked of MetalLB and of Cilium:
one shape, each implementation's own answer."""

from __future__ import annotations

import pytest

from kubectl_lbip.errors import InvalidValue
from kubectl_lbip.model import cilium
from kubectl_lbip.model.cluster import Cluster
from kubectl_lbip.model.implementation import Cilium, Facts, Implementation, MetalLB, detect
from kubectl_lbip.model.pools import pool_from_object
from kubectl_lbip.model.services import Service
from kubectl_lbip.model.serving import Installed


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


# --- every command's question, asked the same way


def test_both_suggest_in_one_shape():
    for impl in both():
        found = impl.suggest(dual_service(), "dual", 1)
        for s in found.suggestions:
            assert set(s.to_dict()) >= {"pool", "ipv4", "ipv6", "why"} and s.addresses
    _, cil = both()
    assert cil.suggest(dual_service(), "dual", 1).suggestions[0].pool == "v4+v6"


def test_both_plan_an_annotation_under_their_own_key():
    for impl in both():
        plan = impl.plan_annotation(Service("default", "a", ip_families=("IPv4",)), ["192.0.2.10"])
        assert impl.request_key() in plan.patch["metadata"]["annotations"]


def test_both_pin_a_batch():
    for impl in both():
        decisions = impl.pin_batch([Service("default", "a", ip_families=("IPv4",))])
        assert [d.status for d in decisions] == ["pinned"]


def test_each_says_its_sharing_annotation_and_family():
    metallb, cil = both()
    assert metallb.sharing_annotation("k") == {"metallb.io/allow-shared-ip": "k"}
    assert cil.sharing_annotation("k") == {"lbipam.cilium.io/sharing-key": "k"}
    assert metallb.family(dual_service()) == cil.family(dual_service()) == ("dual", "")


def test_metallbs_json_release_is_unchanged_and_cilium_names_itself():
    metallb, cil = both()
    assert metallb.release_entry() == (
        "metallb",
        {"version": "v0.16.1", "source": "assumed", "detail": "nothing to tell from", "rules": "v0.16.1"},
    )
    key, entry = cil.release_entry()
    assert key == "cilium" and entry == {
        "implementation": "cilium",
        "release": "v1.20.2",
        "source": "assumed",
        "detail": "nothing to tell from",
        "rules": "v1.20.2",
    }
    assert cil.release.describe() == "Cilium LB-IPAM v1.20.2 assumed (nothing to tell from)"


def test_cilium_pool_rows_count_by_ipsused_and_show_the_status():
    obj = cilium_pool("a", "192.0.2.0/30")
    obj["spec"]["allowFirstLastIPs"] = "No"
    obj["status"] = {"conditions": [{"type": cilium.IPS_USED, "message": "2"}]}
    cil = Cilium(cilium.Lbipam([cilium.pool_from_object(obj)], []))
    row = cil.pool_rows()[0]
    assert row["ipv4"] == {"total": 4, "used": 2, "free": 2, "reserved": 2}
    assert row["ciliumStatus"] == {"total": None, "available": None, "used": "2"}
    assert row["reservesFirstLast"] and row["conflict"] is None
    assert cil.free_addresses("a", "ipv4") == ["192.0.2.1", "192.0.2.2"]


def test_cilium_pool_rows_name_the_conflict():
    older = cilium_pool("old", "192.0.2.0/24")
    older["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    newer = cilium_pool("new", "192.0.2.128/25")
    newer["metadata"]["creationTimestamp"] = "2024-06-01T00:00:00Z"
    rows = Cilium(cilium.Lbipam([cilium.pool_from_object(o) for o in (older, newer)], [])).pool_rows()
    assert rows[0]["conflict"] is None
    assert rows[1]["conflict"] == {
        "with": "old",
        "range": "192.0.2.128/25",
        "otherRange": "192.0.2.0/24",
        "certain": True,
    }


# --- both in one cluster (item 3)

CLASSLESS = Service("default", "web")


def test_a_classless_service_is_served_by_both_a_half_done_migration():
    installed = Installed(metallb=True, cilium=cilium.Operator())
    assert installed.serving(CLASSLESS) == ("metallb", "cilium")
    assert installed.contested([CLASSLESS, Service("default", "c", type="ClusterIP")]) == [CLASSLESS]


def test_cilium_with_another_default_ipam_leaves_classless_services_to_metallb():
    installed = Installed(metallb=True, cilium=cilium.Operator(version=(1, 17, 0), default_ipam="nodeipam"))
    assert installed.serving(CLASSLESS) == ("metallb",)
    old = Installed(metallb=True, cilium=cilium.Operator(version=(1, 16, 0), default_ipam="nodeipam"))
    assert old.serving(CLASSLESS) == ("metallb", "cilium")  # v1.16 has no such setting


def test_metallb_with_lb_class_serves_only_that_class():
    installed = Installed(metallb=True, metallb_lb_class="metallb", cilium=cilium.Operator())
    assert installed.serving(CLASSLESS) == ("cilium",)
    assert installed.serving(Service("default", "m", load_balancer_class="metallb")) == ("metallb",)


def test_a_cilium_class_is_served_only_when_the_feature_is_on():
    l2 = Service("default", "l2", load_balancer_class=cilium.L2_CLASS)
    on = Installed(metallb=True, cilium=cilium.Operator(l2_announcements=True))
    assert on.serving(l2) == ("cilium",)
    off = Installed(metallb=True, cilium=cilium.Operator())
    [(svc, why)] = off.unserved([l2, CLASSLESS])
    assert svc is l2 and len(why) == 2 and "io.cilium/l2-announcer" in why[1]


# --- which implementation and release (detection)

METALLB_IMAGE = (("deployment metallb-system/controller", "quay.io/metallb/controller:v0.15.3"),)
CILIUM_IMAGE = (("deployment kube-system/cilium-operator", "quay.io/cilium/operator-generic:v1.19.0@sha256:ab"),)


def test_the_release_comes_from_the_operator_image_then_the_crds():
    found = detect(Facts(cilium_images=CILIUM_IMAGE, cilium_pool_versions=("v2", "v2alpha1")))
    name, release = found.choose()
    assert (name, release.label, release.source) == ("cilium", "v1.19.0", "deployment")
    crds = detect(Facts(cilium_pool_versions=("v2alpha1",))).choose()[1]
    assert (crds.label, crds.version, crds.source) == ("<=v1.17", (1, 17, 0), "crds")
    untagged = detect(Facts(cilium_images=(("deployment x/y", "quay.io/cilium/operator-generic"),))).choose()[1]
    assert untagged.source == "assumed"


def test_metallb_alone_is_detected_as_before():
    name, release = detect(Facts(metallb_images=METALLB_IMAGE)).choose()
    assert (name, release.label, release.source) == ("metallb", "v0.15.3", "deployment")
    assert detect(Facts(metallb_resources=("ipaddresspools", "servicel2statuses"))).choose()[1].label == "v0.14"
    assert detect(Facts()).choose()[0] == "metallb"


def test_both_installed_the_one_with_pools_is_chosen():
    both_facts = Facts(metallb_images=METALLB_IMAGE, cilium_pool_versions=("v2",), metallb_pools=2)
    assert detect(both_facts).choose()[0] == "metallb"  # Cilium as the CNI, its CRD idle
    cilium_only_pools = Facts(metallb_images=METALLB_IMAGE, cilium_pool_versions=("v2",), cilium_pools=1)
    assert detect(cilium_only_pools).choose()[0] == "cilium"


def test_both_with_pools_cannot_be_told_and_the_error_names_the_flag():
    facts = Facts(metallb_images=METALLB_IMAGE, cilium_images=CILIUM_IMAGE, metallb_pools=1, cilium_pools=1)
    with pytest.raises(InvalidValue, match="--implementation metallb[|]cilium"):
        detect(facts).choose()
    assert detect(facts).choose("cilium")[1].label == "v1.19.0"


def test_the_flag_names_an_implementation_not_found():
    name, release = detect(Facts(metallb_images=METALLB_IMAGE)).choose("cilium")
    assert (name, release.source, release.label) == ("cilium", "assumed", "v1.20.2")
    with pytest.raises(InvalidValue):
        detect(Facts()).choose("kube-vip")


def test_build_gives_the_named_implementation_with_its_release_and_settings():
    from kubectl_lbip.model.implementation import build

    cluster = Cluster([], [Service("default", "m", annotations={"lbipam.cilium.io/ips": "192.0.2.4"})])
    pools = [cilium.pool_from_object(cilium_pool("v4", "192.0.2.0/24"))]
    release = cilium.Release((1, 19, 0), "v1.19.0", "flag", "--cilium-version")
    impl = build("cilium", release, cluster, pools, {"enable-ipv6": "false"})
    assert impl.name == "cilium" and impl.release is release
    assert impl.pool_rows()[0]["ipv4"]["used"] == 1  # the manifest's request, as an intention
    assert impl.family(dual_service()) == ("ipv4", "")  # IPv6 off in its configuration
    assert build("metallb", metallb_release(), cluster).name == "metallb"
    with pytest.raises(InvalidValue):
        build("kube-vip", release, cluster)


def metallb_release():
    from kubectl_lbip.model.metallb import Release

    return Release.newest_assumed("test")


def test_check_from_either_side_names_a_service_both_serve():
    from kubectl_lbip.model.implementation import Context

    cluster = Cluster([pool_from_object(ip_pool("v4", "192.0.2.0/24"), {})], [CLASSLESS])
    alone = MetalLB(cluster)
    assert "served-by-both" not in [f.code for f in alone.findings()]
    mixed = MetalLB(cluster, context=Context(metallb_class="", cilium_operator=cilium.Operator()))
    assert "served-by-both" in [f.code for f in mixed.findings()]
    lbipam = cilium.Lbipam([cilium.pool_from_object(cilium_pool("c", "198.51.100.0/24"))], [CLASSLESS])
    cil = Cilium(lbipam, services=[CLASSLESS], context=Context(metallb_class=""))
    assert "served-by-both" in [f.code for f in cil.findings()]
    assert "served-by-both" not in [f.code for f in Cilium(lbipam, services=[CLASSLESS]).findings()]


def test_why_from_either_side():
    metallb, cil = both()
    assert metallb.explain(dual_service(), [])["service"]["name"] == "web"
    explained = cil.explain(dual_service(), [])
    assert explained["implementation"]["name"] == "cilium" and explained["served"]

"""Cilium's LB-IPAM kinds enter through the same door as MetalLB's: read from -f files
and live (a cluster without them is no error), shape-checked, trimmed, and exposed by
the Snapshot; a Service keeps Cilium's annotations and its labels."""

from __future__ import annotations

import json

import pytest
from fakeapi import deployment, deployments_path, service

from kubectl_lbip.errors import InputError, ResponseError
from kubectl_lbip.model.cilium import pool_from_object, version_from_image
from kubectl_lbip.snapshot import files
from kubectl_lbip.snapshot.live import connect
from kubectl_lbip.snapshot.shape import CILIUM_L2_POLICY, CILIUM_POOL


def cilium_pool(name: str, version: str = "cilium.io/v2", **spec) -> dict:
    return {
        "apiVersion": version,
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": "2026-10-02T09:14:03Z", "generation": 3},
        "spec": {"blocks": [{"cidr": "10.10.0.0/24"}], "serviceSelector": {"matchLabels": {"team": "a"}}, **spec},
        "status": {"conditions": [{"type": "io.cilium/pool-conflict", "status": "False", "message": "", "x": 1}]},
    }


def l2_policy(name: str) -> dict:
    return {
        "apiVersion": "cilium.io/v2alpha1",
        "kind": "CiliumL2AnnouncementPolicy",
        "metadata": {"name": name, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {
            "serviceSelector": {"matchLabels": {"team": "a"}},
            "nodeSelector": {"matchExpressions": [{"key": "node-role", "operator": "DoesNotExist"}]},
            "interfaces": ["^eth[0-9]+"],
            "externalIPs": False,
            "loadBalancerIPs": True,
        },
    }


def cilium_service() -> dict:
    obj = service("shop", "web", labels={"team": "a", "app": "web"})
    obj["metadata"]["annotations"].update(
        {"lbipam.cilium.io/ips": "10.10.0.5", "io.cilium/lb-ipam-sharing-key": "k", "example.com/other": "x"}
    )
    return obj


def as_list(*items) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}, indent=4)


@pytest.mark.parametrize("trimmed", [True, False])
@pytest.mark.parametrize("form", ["json", "yaml"])
def test_cilium_objects_are_read_from_files(tmp_path, trimmed, form):
    objects = [cilium_pool("a"), cilium_pool("old", "cilium.io/v2alpha1"), l2_policy("l2"), cilium_service()]
    path = tmp_path / f"cilium.{form}"
    path.write_text(as_list(*objects) if form == "json" else "\n---\n".join(json.dumps(o) for o in objects))
    snap = files.load([str(path)], trimmed=trimmed)
    pools = snap.cilium_objects[CILIUM_POOL]
    assert [p["metadata"]["name"] for p in pools] == ["a", "old"]
    assert [p["metadata"]["name"] for p in snap.cilium_objects[CILIUM_L2_POLICY]] == ["l2"]
    # what model/cilium.py reads is there
    pool = pool_from_object(pools[0])
    assert pool.name == "a" and pool.created == "2026-10-02T09:14:03Z" and pool.blocks and not pool.errors
    assert pool.selects({"team": "a"}) and pool.reported("io.cilium/pool-conflict") == ""
    (web,) = snap.to_cluster().services
    assert web.labels == {"team": "a", "app": "web"}
    assert web.annotations["lbipam.cilium.io/ips"] == "10.10.0.5"
    assert web.annotations["io.cilium/lb-ipam-sharing-key"] == "k"


def test_cilium_objects_are_trimmed_when_read_for_the_model(tmp_path):
    path = tmp_path / "cilium.json"
    path.write_text(as_list(cilium_pool("a"), l2_policy("l2")))
    snap = files.load([str(path)], trimmed=True)
    (pool,) = snap.cilium_objects[CILIUM_POOL]
    assert "generation" not in pool["metadata"] and "uid" in pool["metadata"]
    assert pool["status"]["conditions"][0] == {"type": "io.cilium/pool-conflict", "status": "False", "message": ""}
    (policy,) = snap.cilium_objects[CILIUM_L2_POLICY]
    assert "annotations" in policy["metadata"]  # kept as the shape check covers them
    assert policy["spec"]["interfaces"] == ["^eth[0-9]+"] and policy["spec"]["loadBalancerIPs"] is True


def test_a_service_compact_keeps_cilium_annotations_but_not_others(tmp_path):
    path = tmp_path / "svc.json"
    path.write_text(as_list(cilium_service()))
    (web,) = files.load([str(path)], trimmed=True).models
    assert set(web.annotations) == {"lbipam.cilium.io/ips", "io.cilium/lb-ipam-sharing-key"}


@pytest.mark.parametrize(
    "obj, field",
    [
        (cilium_pool("a", blocks="10.0.0.0/24"), "spec.blocks"),
        (cilium_pool("a", disabled="false"), "spec.disabled"),
        (dict(l2_policy("l2"), spec={"interfaces": "eth0"}), "spec.interfaces"),
    ],
)
def test_a_cilium_object_of_the_wrong_shape_is_an_error_naming_the_field(tmp_path, obj, field):
    path = tmp_path / "bad.json"
    path.write_text(as_list(obj))
    for trimmed in (True, False):
        with pytest.raises(InputError, match=rf"item 1: {obj['kind']} \w+: field {field}:"):
            files.load([str(path)], trimmed=trimmed)


def test_other_cilium_io_versions_are_not_read(tmp_path):
    path = tmp_path / "v1.json"
    path.write_text(as_list(cilium_pool("a", "cilium.io/v1"), dict(l2_policy("l2"), apiVersion="cilium.io/v2")))
    assert files.load([str(path)], trimmed=True).cilium_objects == {}


def cilium_api(pools_version="cilium.io/v2", pools=(), policies=None):
    """A respond hook serving cilium.io: pools at one version (None: not served), L2
    policies (None: not served)."""

    def respond(rec):
        parts = rec.path.strip("/").split("/")
        if parts[:2] != ["apis", "cilium.io"]:
            return None
        if len(parts) == 2:  # the group's discovery document: cilium.io is served
            versions = [{"groupVersion": f"cilium.io/{v}", "version": v} for v in ("v2", "v2alpha1")]
            return 200, {"kind": "APIGroup", "apiVersion": "v1", "name": "cilium.io", "versions": versions}
        version = "cilium.io/" + parts[2]
        if parts[3:] == ["ciliumloadbalancerippools"] and version == pools_version:
            items = [dict(p, apiVersion=version) for p in pools]
            return 200, {"kind": "CiliumLoadBalancerIPPoolList", "apiVersion": version, "metadata": {}, "items": items}
        if parts[3:] == ["ciliuml2announcementpolicies"] and policies is not None and parts[2] == "v2alpha1":
            return 200, {"kind": "CiliumL2AnnouncementPolicyList", "apiVersion": version, "items": policies}
        return 404, "404 page not found\n"

    return respond


def test_live_cilium_objects_and_the_operator_image(fake, kubeconfig):
    fake.respond = cilium_api("cilium.io/v2alpha1", [cilium_pool("a")], [l2_policy("l2")])
    fake.deployments["kube-system"] = [
        deployment("coredns", "registry.k8s.io/coredns/coredns:v1.11.1", "kube-system"),
        deployment("cilium-operator", "quay.io/cilium/operator-generic:v1.16.5@sha256:abc", "kube-system"),
    ]
    fake.add_service(cilium_service())
    snap = connect(kubeconfig).snapshot(metallb_release=False, cilium=True)
    assert snap.cilium_present == {CILIUM_POOL, CILIUM_L2_POLICY}
    (pool,) = snap.cilium_objects[CILIUM_POOL]
    assert pool["apiVersion"] == "cilium.io/v2alpha1" and "generation" not in pool["metadata"]
    assert pool_from_object(pool).blocks
    assert [p["metadata"]["name"] for p in snap.cilium_objects[CILIUM_L2_POLICY]] == ["l2"]
    assert snap.cilium_operator == ("kube-system/cilium-operator", "quay.io/cilium/operator-generic:v1.16.5@sha256:abc")
    assert version_from_image(snap.cilium_operator[1]) == (1, 16, 5)
    # v2 was asked for first, then v2alpha1
    asked = [r.path for r in fake.requests if "ciliumloadbalancerippools" in r.path]
    assert asked == [
        "/apis/cilium.io/v2/ciliumloadbalancerippools",
        "/apis/cilium.io/v2alpha1/ciliumloadbalancerippools",
    ]
    (web,) = snap.to_cluster().services
    assert web.annotations["lbipam.cilium.io/ips"] == "10.10.0.5" and web.labels["team"] == "a"


def test_a_cluster_without_cilium_is_no_error(fake, kubeconfig):
    fake.add_service(service("shop", "web"))
    snap = connect(kubeconfig).snapshot(metallb_release=False, cilium=True)
    assert snap.cilium_present == frozenset() and snap.cilium_objects == {} and snap.cilium_operator is None
    # one request (the cilium.io group's discovery, 404) tells Cilium is not installed: nothing more is read
    assert [r.path for r in fake.requests if "cilium" in r.path] == ["/apis/cilium.io"]
    assert not fake.calls("GET", deployments_path("kube-system"))


def test_cilium_is_read_only_when_asked_for(fake, kubeconfig):
    fake.respond = cilium_api(pools=[cilium_pool("a")])
    snap = connect(kubeconfig).snapshot(metallb_release=False)
    assert snap.cilium_present is None and snap.cilium_objects == {}
    assert not [r for r in fake.requests if "cilium" in r.path or "kube-system" in r.path]


def test_a_live_cilium_pool_of_the_wrong_shape_is_a_response_error(fake, kubeconfig):
    fake.respond = cilium_api(pools=[cilium_pool("a", blocks=[{"cidr": 10}])])
    with pytest.raises(ResponseError, match=r"ciliumloadbalancerippools: item 1: .*field spec.blocks\[0\].cidr"):
        connect(kubeconfig).snapshot(metallb_release=False, cilium=True)


def test_the_overlay_keeps_the_clusters_cilium_objects(fake, kubeconfig):
    from kubectl_lbip.snapshot.overlay import overlay_snapshot

    fake.respond = cilium_api(pools=[cilium_pool("a")])
    live = connect(kubeconfig).snapshot(metallb_release=False, cilium=True)
    snap = overlay_snapshot(live, [("f.yaml", service("shop", "web"))], "default")
    assert [p["metadata"]["name"] for p in snap.cilium_objects[CILIUM_POOL]] == ["a"]
    assert snap.cilium_present == {CILIUM_POOL}

"""snapshot/overlay.py on plain data: the files laid over the cluster, as
`kubectl apply -f` would leave it, each object with its origin."""

from builders import pool, svc

from kubectl_lbip.model.findings import findings_for
from kubectl_lbip.model.rules import ADDRESS_CONFLICT, ERROR, NOT_IN_POOL, PENDING
from kubectl_lbip.snapshot import Snapshot
from kubectl_lbip.snapshot.overlay import CLUSTER, FILES, Origin, object_key, overlay, overlay_snapshot

LB = "metallb.io/loadBalancerIPs"


def names(merged):
    return [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"], str(origin)) for o, origin in merged]


def test_a_file_object_replaces_the_live_one_of_the_same_kind_namespace_and_name():
    live = [pool("prod", "192.168.1.0/24"), svc("shop", "web", rv="7"), svc("shop", "api")]
    mine = svc("shop", "web", annotations={LB: "192.168.1.9"})
    mine.pop("status")
    merged = overlay(live, [("k8s/web.yaml", mine), ("k8s/new.yaml", svc("shop", "new"))])
    assert names(merged) == [
        ("IPAddressPool", "metallb-system", "prod", "cluster"),
        ("Service", "shop", "api", "cluster"),
        ("Service", "shop", "web", "k8s/web.yaml"),
        ("Service", "shop", "new", "k8s/new.yaml"),
    ]
    web = merged[2][0]
    assert web["metadata"]["annotations"] == {LB: "192.168.1.9"} and web["metadata"]["resourceVersion"] == "100"
    assert merged[2][1] == Origin(FILES, "k8s/web.yaml") and merged[0][1] == Origin(CLUSTER)


def test_same_name_in_another_namespace_or_kind_is_another_object():
    live = [svc("shop", "web"), pool("web", "192.168.1.0/24", namespace="shop")]
    merged = overlay(live, [("f", svc("other", "web"))])
    assert len(merged) == 3


def test_an_object_without_namespace_lands_in_the_default_namespace_given():
    mine = svc("x", "web")
    del mine["metadata"]["namespace"]
    merged = overlay([svc("team", "web")], [("f", mine)], default_namespace="team")
    assert names(merged) == [("Service", "team", "web", "f")]
    assert "namespace" not in mine["metadata"]  # the caller's object is not changed
    assert object_key({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "a"}}) == (
        "",
        "Namespace",
        "",
        "a",
    )


def test_a_later_file_wins_over_an_earlier_one():
    merged = overlay([], [("a.yaml", svc("s", "w", rv="1")), ("b.yaml", svc("s", "w", rv="2"))])
    assert names(merged) == [("Service", "s", "w", "b.yaml")]


def test_a_file_service_keeps_what_it_holds_while_its_request_still_stands():
    live = svc("shop", "web", ingress=["192.168.1.5"])
    for request, kept in ((None, True), ("192.168.1.5", True), ("192.168.1.6", False), ("bad", False)):
        mine = svc("shop", "web", annotations={LB: request} if request else None)
        mine.pop("status")
        ((obj, _),) = overlay([live], [("f", mine)])
        assert bool(obj.get("status")) is kept, request
    clusterip = svc("shop", "web", type="ClusterIP")
    clusterip.pop("status")
    ((obj, _),) = overlay([live], [("f", clusterip)])
    assert "status" not in obj


def test_overlay_snapshot_marks_the_files_services_as_planned():
    live = Snapshot(
        pools=[pool("prod", "192.168.1.0/24")], services=[svc("shop", "api", ingress=["192.168.1.1"])], live=True
    )
    mine = svc("shop", "web", annotations={LB: "192.168.1.1"})
    mine.pop("status")
    snap = overlay_snapshot(live, [("k8s/web.yaml", mine)], "default")
    assert snap.live and snap.planned == {"shop/web"}
    cluster = snap.to_cluster()
    assert cluster.overlaid
    # where each object came from travels on its model object, from the snapshot on
    assert str(cluster.service("shop", "web").origin) == "k8s/web.yaml"
    assert cluster.service("shop", "api").origin == Origin(CLUSTER)
    (prod,) = cluster.pools
    assert prod.origin == Origin(CLUSTER)
    assert cluster.origin_of("Service", "shop", "web") == Origin(FILES, "k8s/web.yaml")
    assert cluster.origin_of("L2Advertisement", "metallb-system", "any") == Origin(CLUSTER)
    found = findings_for(cluster)
    conflicts = {(f.name, f.severity) for f in found if f.code == ADDRESS_CONFLICT}
    assert ("web", ERROR) in conflicts
    # a manifest not applied yet is not Pending
    assert not [f for f in found if f.code == PENDING and f.name == "web"]


def test_a_request_outside_every_live_pool_is_an_error():
    live = Snapshot(pools=[pool("prod", "192.168.1.0/24")], live=True)
    mine = svc("shop", "web", annotations={LB: "10.0.0.1"})
    found = findings_for(overlay_snapshot(live, [("f", mine)], "default").to_cluster())
    assert [(f.code, f.severity) for f in found if f.name == "web"] == [(NOT_IN_POOL, ERROR)]


def test_a_live_pending_service_still_is_pending():
    live = Snapshot(pools=[pool("prod", "192.168.1.0/24")], services=[svc("shop", "api")], live=True)
    found = findings_for(overlay_snapshot(live, [("f", svc("shop", "web"))], "default").to_cluster())
    assert [f.name for f in found if f.code == PENDING] == ["api"]


def test_the_origin_is_not_part_of_a_models_equality():
    """Two reads of one object are the same model whether they came from the files or the cluster."""
    live = Snapshot(pools=[pool("prod", "192.168.1.0/24")], services=[svc("shop", "web")], live=True)
    mine = svc("shop", "web")
    mine.pop("status")
    over = overlay_snapshot(live, [("k8s/web.yaml", mine)], "default").to_cluster()
    plain = Snapshot(pools=[pool("prod", "192.168.1.0/24")], services=[mine], live=True).to_cluster()
    mine_over, mine_plain = over.service("shop", "web"), plain.service("shop", "web")
    assert mine_over.origin != mine_plain.origin
    mine_plain.observed = mine_over.observed  # a planned service is an intention (not part of this test)
    assert mine_over == mine_plain
    assert over.pools == plain.pools and not plain.overlaid

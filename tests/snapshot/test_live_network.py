"""Live reading of the kinds past allocation, on a stub of the API's paths: a kind the
API does not serve (404) is absent and said with -v, a forbidden one (403) is absent
with a note, EndpointSlices are read per Local-policy service or listed once when there
are many, ServiceCIDRs fall back to v1beta1, and a malformed item is one line naming
the request, the object and the field."""

import json
import logging
from typing import Any, Dict, List

import pytest

from kubectl_lbip.errors import AccessError, ClusterError
from kubectl_lbip.model.announce import ServiceCIDR
from kubectl_lbip.snapshot import Snapshot
from kubectl_lbip.snapshot import live as live_mod
from kubectl_lbip.snapshot.live import LiveClient, NotFound

M = "/apis/metallb.io/v1beta1/"


def local_service(name: str) -> Dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
    }


class Stub(LiveClient):
    def __init__(self, served: Dict[str, List[dict]], forbidden=()):
        super().__init__(None)
        self.served, self.forbidden, self.calls = served, set(forbidden), []

    def request(self, method, path, query=None):
        self.calls.append((path, dict(query or [])))
        if path in self.forbidden:
            raise AccessError(f"forbidden: cannot list {path}")
        if path not in self.served:
            raise NotFound(f"{path} not found")
        return {"items": self.served[path], "metadata": {}}

    def fetch(self, method, path, query=None):
        # lists read raw answers (the next page is asked for while one is decoded)
        return json.dumps(self.request(method, path, query)).encode()


def test_absent_forbidden_and_present_kinds(caplog):
    stub = Stub(
        {
            M + "l2advertisements": [{"metadata": {"name": "l2"}, "spec": {}}],
            "/api/v1/nodes": [{"metadata": {"name": "n1"}}],
            "/apis/networking.k8s.io/v1beta1/servicecidrs": [
                {"metadata": {"name": "kubernetes"}, "spec": {"cidrs": ["10.96.0.0/12"]}}
            ],
        },
        forbidden={M + "bgpadvertisements"},
    )
    snap = Snapshot(live=True)
    with caplog.at_level(logging.INFO, logger="kubectl_lbip"):
        stub.read_network(snap)
    assert snap.network_present == {"L2Advertisement", "Node", "ServiceCIDR", "EndpointSlice"}
    assert snap.network_notes == [
        "note: BGPAdvertisement not checked: forbidden: cannot list " + M + "bgpadvertisements"
    ]
    assert "ConfigurationState is not served" in caplog.text
    # v1 first, then v1beta1
    paths = [p for p, _ in stub.calls]
    assert paths.index("/apis/networking.k8s.io/v1/servicecidrs") < paths.index(
        "/apis/networking.k8s.io/v1beta1/servicecidrs"
    )
    net = snap.network(services=[])
    assert net.service_cidrs == [ServiceCIDR("kubernetes", ("10.96.0.0/12",))]
    assert {a.name for a in net.advertisements} == {"l2"}


def test_endpoint_slices_per_local_service_by_label():
    path = "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"
    stub = Stub({path: []})
    snap = Snapshot(live=True, services=[local_service("a"), local_service("b")])
    stub.read_network(snap)
    queries = [q["labelSelector"] for p, q in stub.calls if p == path]
    assert queries == ["kubernetes.io/service-name=a", "kubernetes.io/service-name=b"]
    assert "EndpointSlice" in snap.network_present


def test_endpoint_slices_listed_once_when_many_local_services(monkeypatch):
    monkeypatch.setattr(live_mod, "PER_SERVICE_SLICES", 1)
    mine = {
        "metadata": {"name": "a-x", "namespace": "shop", "labels": {"kubernetes.io/service-name": "a"}},
        "endpoints": [{"addresses": ["10.0.0.1"], "nodeName": "n1"}],
    }
    other = {
        "metadata": {"name": "z-x", "namespace": "shop", "labels": {"kubernetes.io/service-name": "zzz"}},
        "endpoints": [],
    }
    stub = Stub({"/apis/discovery.k8s.io/v1/endpointslices": [mine, other]})
    snap = Snapshot(live=True, services=[local_service("a"), local_service("b")])
    stub.read_network(snap)
    assert [o["metadata"]["name"] for o in snap.network_objects["EndpointSlice"]] == ["a-x"]


def test_only_the_kinds_asked_for():
    stub = Stub({M + "l2advertisements": []})
    snap = Snapshot(live=True, services=[local_service("a")])
    stub.read_network(snap, kinds=("L2Advertisement", "BGPAdvertisement"))
    assert {p for p, _ in stub.calls} == {M + "l2advertisements", M + "bgpadvertisements"}
    assert snap.network_present == {"L2Advertisement"}


def test_malformed_live_item_names_the_request_object_and_field():
    stub = Stub({"/api/v1/nodes": [{"metadata": {"name": "n1"}, "spec": {"podCIDRs": "x"}}]})
    with pytest.raises(ClusterError) as err:  # exit 3: the API sent it
        stub.read_network(Snapshot(live=True))
    assert str(err.value) == (
        "GET /api/v1/nodes: item 1: Node n1: field spec.podCIDRs: expected a list, got a string 'x'"
    )

"""One table per kind: a field added to a model class's table (model/schema.py) reaches
the model from a file (streamed JSON, YAML, read whole), a live page and the overlay,
and is shape-checked on the way, with no other edit."""

from __future__ import annotations

import json
from dataclasses import field, make_dataclass
from typing import Tuple

import pytest
from fakeapi import pool, service

from kubectl_lbip import snapshot
from kubectl_lbip.errors import InputError, ResponseError
from kubectl_lbip.model.schema import STRINGS, at
from kubectl_lbip.model.services import Service
from kubectl_lbip.snapshot import files
from kubectl_lbip.snapshot.live import connect
from kubectl_lbip.snapshot.overlay import overlay_snapshot

RANGES = ["10.0.0.0/8", "192.168.0.0/16"]


@pytest.fixture
def wider(monkeypatch):
    """The Service model with one more row: spec.loadBalancerSourceRanges."""
    row = field(default=(), metadata=at("spec.loadBalancerSourceRanges", STRINGS, ()))
    cls = make_dataclass("WiderService", [("source_ranges", Tuple[str, ...], row)], bases=(Service,))
    monkeypatch.setitem(snapshot.MODELS, snapshot.SERVICE, cls)
    return cls


def with_ranges(obj: dict, ranges=RANGES) -> dict:
    obj["spec"]["loadBalancerSourceRanges"] = ranges
    return obj


def test_the_new_field_reaches_the_model_from_files(tmp_path, wider):
    listed = tmp_path / "list.json"
    items = [with_ranges(service("shop", "web")), service("shop", "api")]
    listed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=4))
    yaml_file = tmp_path / "web.yaml"
    yaml_file.write_text(json.dumps(with_ranges(service("shop", "web"))))  # JSON is YAML; one object
    for path in (listed, yaml_file):
        for trimmed in (True, False):
            cluster = files.load([str(path)], trimmed=trimmed).to_cluster()
            by_name = {s.name: s for s in cluster.services}
            assert isinstance(by_name["web"], wider)
            assert by_name["web"].source_ranges == tuple(RANGES), (path.name, trimmed)
            if "api" in by_name:
                assert by_name["api"].source_ranges == ()
    # kept by the trim of objects that are laid over a cluster (models=False)
    laid = files.load([str(listed)], trimmed=True, models=False).services
    (kept,) = [s for s in laid if s["metadata"]["name"] == "web"]
    assert kept["spec"]["loadBalancerSourceRanges"] == RANGES


def test_the_new_field_is_shape_checked_in_files(tmp_path, wider):
    path = tmp_path / "bad.json"
    bad = with_ranges(service("shop", "web"), "10.0.0.0/8")  # a string, not a list
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [bad]}))
    with pytest.raises(InputError, match=r"Service shop/web: field spec.loadBalancerSourceRanges: expected a list"):
        files.load([str(path)], trimmed=True)


def test_the_new_field_reaches_the_model_from_a_live_page(fake, kubeconfig, wider):
    fake.add_pool(pool("prod", "192.168.1.0/24"))
    fake.add_service(with_ranges(service("shop", "web", ingress=("192.168.1.5",))))
    snap = connect(kubeconfig).snapshot(metallb_release=False)
    (web,) = snap.to_cluster().services
    assert isinstance(web, wider) and web.source_ranges == tuple(RANGES)


def test_the_new_field_is_shape_checked_on_a_live_page(fake, kubeconfig, wider):
    fake.add_service(with_ranges(service("shop", "web"), [5]))
    with pytest.raises(ResponseError, match=r"field spec.loadBalancerSourceRanges\[0\]: expected a string"):
        connect(kubeconfig).snapshot(metallb_release=False)


def test_the_new_field_reaches_the_model_through_the_overlay(fake, kubeconfig, tmp_path, wider):
    fake.add_pool(pool("prod", "192.168.1.0/24"))
    fake.add_service(with_ranges(service("shop", "live", ingress=("192.168.1.5",)), ["10.1.0.0/16"]))
    path = tmp_path / "web.yaml"
    path.write_text(json.dumps(with_ranges(service("shop", "web"))))
    mine = files.load([str(path)], trimmed=True, models=False)
    objects = [(str(path), obj) for obj in mine.services]
    snap = overlay_snapshot(connect(kubeconfig).snapshot(metallb_release=False), objects, "default")
    by_name = {s.name: s for s in snap.to_cluster().services}
    assert by_name["web"].source_ranges == tuple(RANGES)
    assert by_name["live"].source_ranges == ("10.1.0.0/16",)


def test_without_the_row_the_field_is_neither_kept_nor_read(tmp_path):
    path = tmp_path / "web.json"
    path.write_text(json.dumps(with_ranges(service("shop", "web"))))
    (kept,) = files.load([str(path)], trimmed=True, models=False).services
    assert "loadBalancerSourceRanges" not in kept["spec"]
    (web,) = files.load([str(path)], trimmed=True).to_cluster().services
    assert not hasattr(web, "source_ranges")


def test_live_items_without_a_kind_are_checked_as_the_lists(fake, kubeconfig):
    """kube-apiserver's items of a built-in kind carry no kind or apiVersion (a
    ServiceList's items are Services): they are shape-checked all the same, so a bad
    answer is one error, not a traceback."""
    bad = service("shop", "web")
    bad["spec"]["ports"] = "http"
    del bad["kind"], bad["apiVersion"]
    fake.add_service(bad)
    with pytest.raises(ResponseError, match=r"services: item 1: Service shop/web: field spec.ports: expected a list"):
        connect(kubeconfig).snapshot(metallb_release=False)
    good = service("shop", "api", ingress=("192.168.1.5",))
    del good["kind"], good["apiVersion"]
    fake.services.clear()
    fake.add_service(good)
    (api,) = connect(kubeconfig).snapshot(metallb_release=False).to_cluster().services
    assert api.name == "api" and api.observed and [str(a) for a in api.held()] == ["192.168.1.5"]

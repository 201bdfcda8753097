"""One table per kind: a field added to a model class's table (model/schema.py) reaches
the model from a file (streamed JSON, YAML, read whole), a live page and the overlay,
and is shape-checked on the way, with no other edit (a Service, MetalLB's pool, an
advertisement, Cilium's pool, the other kinds read past allocation; an Event, from a
live page only; an address-pool of MetalLB's legacy ConfigMap, read from its data.config)."""

from __future__ import annotations

import json
from dataclasses import field, make_dataclass
from typing import Any, Dict, Tuple

import pytest
from fakeapi import allocation_failed, legacy_configmap, pool, service
from netbuilders import bgpstatus, config_state, l2status, service_cidr
from test_cilium_objects import cilium_api, cilium_pool

from kubectl_lbip.errors import InputError, ResponseError, UsageError
from kubectl_lbip.model.announce import (
    BGPSTATUS,
    CONFIGSTATE,
    L2ADV,
    L2STATUS,
    SERVICECIDR,
    ConfigState,
    L2Advertisement,
    ServiceCIDR,
    SpeakerStatus,
)
from kubectl_lbip.model.cilium import CiliumPool
from kubectl_lbip.model.events import Event
from kubectl_lbip.model.legacy import AddressPool, LegacyConfig, LegacyConfigMap
from kubectl_lbip.model.pools import Pool
from kubectl_lbip.model.schema import INT, LABELS, STR, STRINGS, at, at_items, shape_of
from kubectl_lbip.model.services import Service
from kubectl_lbip.snapshot import files, legacy_config, shape
from kubectl_lbip.snapshot.live import ALLOCATION_FAILED, EVENTS_PATH, connect, event_model
from kubectl_lbip.snapshot.overlay import overlay_snapshot
from kubectl_lbip.snapshot.watch import trim_event

RANGES = ["10.0.0.0/8", "192.168.0.0/16"]


def one_more_row(monkeypatch, role: str, base: type, name: str, kind: Any, row: Any) -> type:
    """``base`` with one more field ``name`` (its table's row ``row``), as the model of ``role``."""
    frozen = base.__dataclass_params__.frozen  # type: ignore[attr-defined]
    cls = make_dataclass(f"Wider{base.__name__}", [(name, kind, row)], bases=(base,), frozen=frozen)
    monkeypatch.setitem(shape.MODELS, role, cls)
    return cls


def list_file(path, *items):
    """``path``, written as a List of ``items`` as kubectl prints it (indented JSON)."""
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}, indent=4))
    return path


@pytest.fixture
def wider(monkeypatch):
    """The Service model with one more row: spec.loadBalancerSourceRanges."""
    row = field(default=(), metadata=at("spec.loadBalancerSourceRanges", STRINGS, ()))
    return one_more_row(monkeypatch, shape.SERVICE, Service, "source_ranges", Tuple[str, ...], row)


def with_ranges(obj: dict, ranges=RANGES) -> dict:
    obj["spec"]["loadBalancerSourceRanges"] = ranges
    return obj


def test_the_new_field_reaches_the_model_from_files(tmp_path, wider):
    listed = list_file(tmp_path / "list.json", with_ranges(service("shop", "web")), service("shop", "api"))
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


# --- the IPAddressPool's table (model.pools.Pool): the same door --------------------
NOTE = {"example.com/owner": "team-net"}


@pytest.fixture
def noted(monkeypatch):
    """The Pool model with one more row: metadata.annotations."""
    row = field(default_factory=dict, metadata=at("metadata.annotations", LABELS, {}))
    return one_more_row(monkeypatch, shape.POOL, Pool, "annotations", Dict[str, str], row)


def with_note(obj: dict, note=NOTE) -> dict:
    obj["metadata"]["annotations"] = note
    return obj


def test_a_new_pool_field_reaches_the_model_from_files(tmp_path, noted):
    items = [with_note(pool("prod", "192.168.1.0/24")), pool("lab", "192.168.2.0/24"), service("shop", "web")]
    listed = list_file(tmp_path / "list.json", *items)
    yaml_file = tmp_path / "prod.yaml"
    yaml_file.write_text(json.dumps(with_note(pool("prod", "192.168.1.0/24"))))
    for path in (listed, yaml_file):
        for trimmed in (True, False):
            cluster = files.load([str(path)], trimmed=trimmed).to_cluster()
            by_name = {p.name: p for p in cluster.pools}
            assert isinstance(by_name["prod"], noted)
            assert by_name["prod"].annotations == NOTE, (path.name, trimmed)
            assert by_name["prod"].intervals and not by_name["prod"].errors  # derived from the table's fields
            if "lab" in by_name:
                assert by_name["lab"].annotations == {}
    laid = files.load([str(listed)], trimmed=True, models=False).pools  # the trim keeps it
    (kept,) = [p for p in laid if p["metadata"]["name"] == "prod"]
    assert kept["metadata"]["annotations"] == NOTE


def test_a_new_pool_field_is_shape_checked_in_files(tmp_path, noted):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(with_note(pool("prod", "192.168.1.0/24"), "team-net")))
    with pytest.raises(InputError, match=r"IPAddressPool metallb-system/prod: field metadata.annotations: expected a"):
        files.load([str(path)], trimmed=True)


def test_a_new_pool_field_reaches_the_model_from_a_live_page(fake, kubeconfig, noted):
    fake.add_pool(with_note(pool("prod", "192.168.1.0/24")))
    (prod,) = connect(kubeconfig).snapshot(metallb_release=False).to_cluster().pools
    assert isinstance(prod, noted) and prod.annotations == NOTE


def test_a_new_pool_field_is_shape_checked_on_a_live_page(fake, kubeconfig, noted):
    fake.add_pool(with_note(pool("prod", "192.168.1.0/24"), {"example.com/owner": ["a"]}))
    with pytest.raises(ResponseError, match=r"field metadata.annotations.example.com/owner: expected a string"):
        connect(kubeconfig).snapshot(metallb_release=False)


def test_a_new_pool_field_reaches_the_model_through_the_overlay(fake, kubeconfig, tmp_path, noted):
    fake.add_pool(with_note(pool("live", "192.168.1.0/24"), {"example.com/owner": "cluster"}))
    path = tmp_path / "prod.yaml"
    path.write_text(json.dumps(with_note(pool("prod", "192.168.2.0/24"))))
    mine = files.load([str(path)], trimmed=True, models=False)
    objects = [(str(path), obj) for obj in mine.pools]
    snap = overlay_snapshot(connect(kubeconfig).snapshot(metallb_release=False), objects, "default")
    by_name = {p.name: p for p in snap.to_cluster().pools}
    assert by_name["prod"].annotations == NOTE
    assert by_name["live"].annotations == {"example.com/owner": "cluster"}


def test_without_the_row_a_pool_field_is_neither_kept_nor_read(tmp_path):
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(with_note(pool("prod", "192.168.1.0/24"))))
    (kept,) = files.load([str(path)], trimmed=True, models=False).pools
    assert "annotations" not in kept["metadata"]
    (prod,) = files.load([str(path)], trimmed=True).to_cluster().pools
    assert not hasattr(prod, "annotations")


# --- an advertisement's table (model.announce.L2Advertisement): the same door ---------
@pytest.fixture
def tagged(monkeypatch):
    """The L2Advertisement model with one more row: metadata.labels."""
    row = field(default_factory=dict, metadata=at("metadata.labels", LABELS, {}))
    return one_more_row(monkeypatch, L2ADV, L2Advertisement, "labels", Dict[str, str], row)


def l2(labels) -> dict:
    meta = {"name": "l2", "namespace": "metallb-system", "labels": labels}
    return {"apiVersion": "metallb.io/v1beta1", "kind": L2ADV, "metadata": meta, "spec": {"interfaces": ["eth0"]}}


def test_a_new_advertisement_field_reaches_the_model_from_files_and_a_live_page(tmp_path, fake, kubeconfig, tagged):
    path = list_file(tmp_path / "l2.json", l2(NOTE))
    for trimmed in (True, False):
        (adv,) = files.load([str(path)], trimmed=trimmed).to_cluster().network.advertisements
        assert isinstance(adv, tagged) and adv.labels == NOTE and adv.interfaces == ("eth0",), trimmed
    fake.metallb_lists = {"l2advertisements": [l2(NOTE)], "bgpadvertisements": []}
    (adv,) = connect(kubeconfig).snapshot(metallb_release=False, network=True).to_cluster().network.advertisements
    assert isinstance(adv, tagged) and adv.labels == NOTE


def test_a_new_advertisement_field_is_shape_checked(tmp_path, tagged):
    path = tmp_path / "l2.json"
    path.write_text(json.dumps(l2(["team-net"])))
    with pytest.raises(InputError, match=r"L2Advertisement metallb-system/l2: field metadata.labels: expected a"):
        files.load([str(path)], trimmed=True)


# --- Cilium's pool (model.cilium.CiliumPool): the same door --------------------------
@pytest.fixture
def generational(monkeypatch):
    """The CiliumPool model with one more row: metadata.generation."""
    row = field(default=0, metadata=at("metadata.generation", INT, 0))
    return one_more_row(monkeypatch, shape.CILIUM_POOL, CiliumPool, "generation", int, row)


def test_a_new_cilium_pool_field_reaches_the_model_from_files(tmp_path, generational):
    items = [cilium_pool("a"), cilium_pool("old", "cilium.io/v2alpha1"), service("shop", "web")]
    del items[1]["metadata"]["generation"]
    listed = list_file(tmp_path / "list.json", *items)
    yaml_file = tmp_path / "a.yaml"
    yaml_file.write_text(json.dumps(cilium_pool("a")))
    for path in (listed, yaml_file):
        for trimmed in (True, False):
            snap = files.load([str(path)], trimmed=trimmed)
            by_name = {p.name: p for p in snap.cilium_models(shape.CILIUM_POOL)}
            assert isinstance(by_name["a"], generational)
            assert by_name["a"].generation == 3, (path.name, trimmed)
            assert by_name["a"].blocks and not by_name["a"].errors  # derived from the table's fields
            if "old" in by_name:
                assert by_name["old"].generation == 0
    (kept, _) = files.load([str(listed)], trimmed=True).cilium_objects[shape.CILIUM_POOL]  # the trim keeps it
    assert kept["metadata"]["generation"] == 3


def test_a_new_cilium_pool_field_is_shape_checked_in_files(tmp_path, generational):
    bad = cilium_pool("a")
    bad["metadata"]["generation"] = "3"
    path = list_file(tmp_path / "bad.json", bad)
    with pytest.raises(InputError, match=r"CiliumLoadBalancerIPPool a: field metadata.generation: expected an integer"):
        files.load([str(path)], trimmed=True)


def test_a_new_cilium_pool_field_reaches_the_model_from_a_live_page(fake, kubeconfig, generational):
    fake.respond = cilium_api("cilium.io/v2", [cilium_pool("a")], [])
    snap = connect(kubeconfig).snapshot(metallb_release=False, cilium=True)
    (a,) = snap.cilium_models(shape.CILIUM_POOL)
    assert isinstance(a, generational) and a.generation == 3 and a.blocks


def test_a_new_cilium_pool_field_is_shape_checked_on_a_live_page(fake, kubeconfig, generational):
    bad = cilium_pool("a")
    bad["metadata"]["generation"] = [3]
    fake.respond = cilium_api("cilium.io/v2", [bad], [])
    with pytest.raises(ResponseError, match=r"field metadata.generation: expected an integer"):
        connect(kubeconfig).snapshot(metallb_release=False, cilium=True)


def test_a_new_cilium_pool_field_reaches_the_model_through_the_overlay(fake, kubeconfig, tmp_path, generational):
    fake.respond = cilium_api("cilium.io/v2", [cilium_pool("a")], [])
    path = tmp_path / "web.yaml"
    path.write_text(json.dumps(service("shop", "web")))
    mine = files.load([str(path)], trimmed=True, models=False)
    objects = [(str(path), obj) for obj in mine.services]
    live = connect(kubeconfig).snapshot(metallb_release=False, cilium=True)
    (a,) = overlay_snapshot(live, objects, "default").cilium_models(shape.CILIUM_POOL)
    assert isinstance(a, generational) and a.generation == 3


def test_without_the_row_a_cilium_pool_field_is_neither_kept_nor_read(tmp_path):
    path = list_file(tmp_path / "a.json", cilium_pool("a"))
    (kept,) = files.load([str(path)], trimmed=True).cilium_objects[shape.CILIUM_POOL]
    assert "generation" not in kept["metadata"]
    (a,) = files.load([str(path)], trimmed=True).cilium_models(shape.CILIUM_POOL)
    assert not hasattr(a, "generation")


# --- the other kinds read past allocation (model.announce: ServiceCIDR, ConfigState,
# SpeakerStatus for both speaker status kinds): the same door ---------------------------
CIDRS = "/apis/networking.k8s.io/v1/servicecidrs"
PAST = {  # kind: (model class, an object, where the fake API lists it)
    SERVICECIDR: (ServiceCIDR, lambda: service_cidr("kubernetes", "10.96.0.0/12"), CIDRS),
    CONFIGSTATE: (ConfigState, lambda: config_state("controller", "Valid"), "configurationstates"),
    L2STATUS: (SpeakerStatus, lambda: l2status("shop", "web", "n1", "eth0"), "servicel2statuses"),
    BGPSTATUS: (SpeakerStatus, lambda: bgpstatus("shop", "web", "n1", "peer-a"), "servicebgpstatuses"),
}


def past_models(network, kind):
    if kind == SERVICECIDR:
        return network.service_cidrs
    if kind == CONFIGSTATE:
        return network.config_states
    return [s for s in network.speaker_statuses if s.kind == kind]


def serve_past(fake, kind, *items):
    """The fake API listing ``items`` of a kind read past allocation."""
    path = PAST[kind][2]
    if path == CIDRS:
        answer = {"kind": "ServiceCIDRList", "apiVersion": "networking.k8s.io/v1", "metadata": {}, "items": items}
        fake.respond = lambda rec: (200, answer) if rec.path.rstrip("/") == CIDRS else None
    else:
        fake.metallb_lists = {path: list(items)}


def read_live(kubeconfig):
    return connect(kubeconfig).snapshot(metallb_release=False, network=True, statuses_of=("shop", "web"))


@pytest.fixture(params=sorted(PAST))
def annotated(request, monkeypatch):
    """(kind, its model with one more row: metadata.annotations)."""
    kind = request.param
    row = field(default_factory=dict, metadata=at("metadata.annotations", LABELS, {}))
    return kind, one_more_row(monkeypatch, kind, PAST[kind][0], "annotations", Dict[str, str], row)


def test_a_new_field_past_allocation_reaches_the_model_from_files_and_a_live_page(
    tmp_path, fake, kubeconfig, annotated
):
    kind, wider_model = annotated
    plain = PAST[kind][1]()
    path = list_file(tmp_path / "past.json", with_note(PAST[kind][1]()), plain)
    for trimmed in (True, False):
        noted_one, other = past_models(files.load([str(path)], trimmed=trimmed).to_cluster().network, kind)
        assert isinstance(noted_one, wider_model) and noted_one.annotations == NOTE, trimmed
        assert other.annotations == {}
    serve_past(fake, kind, with_note(PAST[kind][1]()))
    (live_one,) = past_models(read_live(kubeconfig).to_cluster().network, kind)
    assert isinstance(live_one, wider_model) and live_one.annotations == NOTE


def test_a_new_field_past_allocation_is_shape_checked_in_files_and_on_a_live_page(
    tmp_path, fake, kubeconfig, annotated
):
    kind, _ = annotated
    path = list_file(tmp_path / "bad.json", with_note(PAST[kind][1](), "team-net"))
    with pytest.raises(InputError, match=rf"{kind} \S+: field metadata.annotations: expected a mapping"):
        files.load([str(path)], trimmed=True)
    serve_past(fake, kind, with_note(PAST[kind][1](), {"example.com/owner": ["a"]}))
    with pytest.raises(ResponseError, match=r"field metadata.annotations.example.com/owner: expected a string"):
        read_live(kubeconfig)


def test_without_the_row_a_field_past_allocation_is_neither_kept_nor_read(tmp_path):
    for kind in PAST:
        path = list_file(tmp_path / "past.json", with_note(PAST[kind][1]()))
        (kept,) = files.load([str(path)], trimmed=True).network_objects[kind]
        assert "annotations" not in kept["metadata"], kind
        (model,) = past_models(files.load([str(path)], trimmed=True).to_cluster().network, kind)
        assert not hasattr(model, "annotations"), kind


def test_a_speaker_status_without_its_fields_is_read_from_its_labels_after_the_trim(tmp_path):
    """The status's fields, else the labels the speaker sets (one row reads both)."""
    bare = l2status("shop", "web", "n1", "eth0")
    bare["status"] = {"interfaces": [{"name": "eth0"}]}
    path = list_file(tmp_path / "status.json", bare)
    for trimmed in (True, False):
        (status,) = files.load([str(path)], trimmed=trimmed).to_cluster().network.speaker_statuses
        assert (status.service_namespace, status.service_name, status.node) == ("shop", "web", "n1"), trimmed
        assert status.interfaces == ("eth0",) and status.kind == L2STATUS


# --- Events (model.events.Event, read from the API only): the same door ----------------
@pytest.fixture
def typed_event(monkeypatch):
    """The Event model with one more row: type (Normal or Warning)."""
    row = field(default="", metadata=at("type", STR))
    return one_more_row(monkeypatch, shape.EVENT_KIND, Event, "type", str, row)


def test_a_new_event_field_reaches_the_model_from_a_live_page(fake, kubeconfig, typed_event):
    fake.add_pool(pool("prod", "192.168.1.0/24"))
    fake.add_service(service("shop", "web"))
    fake.events = [allocation_failed("shop", "web", "no available IPs")]  # "type": "Warning"
    client = connect(kubeconfig)
    (one,) = client.service_events("shop", "web", "AllocationFailed")  # why, annotate --wait
    assert isinstance(one, typed_event) and one.type == "Warning" and one.message == "no available IPs"
    (listed,) = client.list_all(EVENTS_PATH, event_model, ALLOCATION_FAILED)  # check's AllocationFailed
    assert isinstance(listed, typed_event) and listed.type == "Warning"
    (kept,) = client.list_all(EVENTS_PATH, trim_event, ALLOCATION_FAILED)  # what a watch lists and keeps
    assert kept["type"] == "Warning" and event_model(kept).type == "Warning"
    assert connect(kubeconfig).snapshot(events=True).allocation_failures == {"shop/web": "no available IPs"}


def test_a_new_event_field_is_shape_checked_on_a_live_page(fake, kubeconfig, typed_event):
    fake.add_pool(pool("prod", "192.168.1.0/24"))
    fake.events = [dict(allocation_failed("shop", "web", "no available IPs"), type=["Warning"])]
    words = r"GET /api/v1/events: item 1: Event shop/web\.17f0a1b2c3d4e5f6: field type: expected a string"
    with pytest.raises(ResponseError, match=words):
        connect(kubeconfig).snapshot(events=True, metallb_release=False)
    with pytest.raises(ResponseError, match=r"field type: expected a string"):
        connect(kubeconfig).service_events("shop", "web", "AllocationFailed")


def test_without_the_row_an_event_field_is_neither_kept_nor_read(fake, kubeconfig):
    fake.events = [allocation_failed("shop", "web", "no available IPs")]
    (kept,) = connect(kubeconfig).list_all(EVENTS_PATH, trim_event, ALLOCATION_FAILED)
    assert "type" not in kept and not hasattr(event_model(kept), "type")
    assert kept["metadata"] == {"name": "web.17f0a1b2c3d4e5f6", "namespace": "shop"}  # a watch's store key


# --- MetalLB's legacy ConfigMap (model.legacy): its data.config's tables, the same door --
LEGACY_TEXT = """\
address-pools:
- name: prod
  protocol: layer2
  addresses: [192.168.1.0/24]
  owner-team: %s
- name: lab
  protocol: bgp
  addresses: [192.168.2.0/24]
"""


@pytest.fixture
def owned(monkeypatch):
    """The legacy address-pool entry with one more row: owner-team (a key with a dash).
    The entry is a list's item of the config's table: the wider entry's list is the
    config's row (at_items), as editing AddressPool itself would need no other line."""
    row = field(default="", metadata=at("owner-team", STR))
    entry = make_dataclass("WiderAddressPool", [("owner", str, row)], bases=(AddressPool,), frozen=True)
    pools = field(default=(), metadata=at_items("address-pools", entry))
    wider = make_dataclass(
        "WiderLegacyConfig", [("address_pools", Tuple[Any, ...], pools)], bases=(LegacyConfig,), frozen=True
    )
    monkeypatch.setitem(shape.MODELS, shape.LEGACY_DATA, wider)
    return entry


def legacy_file(tmp_path, owner: Any = "net") -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(legacy_configmap(LEGACY_TEXT % json.dumps(owner))))
    return path


def test_a_new_legacy_pool_field_reaches_the_model_from_files(tmp_path, owned):
    path = legacy_file(tmp_path)
    for trimmed in (True, False):
        snap = files.load([str(path)], trimmed=trimmed)
        config = legacy_config(snap.legacy_configmap, snap.legacy_where)
        prod, lab = config.address_pools
        assert isinstance(prod, owned) and (prod.owner, lab.owner) == ("net", ""), trimmed
        assert (prod.name, prod.protocol, prod.addresses) == ("prod", "layer2", ("192.168.1.0/24",))
        # the pools the model reads from it, as before
        assert [(p.name, p.legacy, p.valid) for p in snap.to_cluster().pools] == [
            ("prod", True, True),
            ("lab", True, True),
        ]


def test_a_new_legacy_pool_field_reaches_the_model_from_a_live_page(fake, kubeconfig, owned):
    fake.crds = False
    fake.configmap = legacy_configmap(LEGACY_TEXT % "net")
    snap = connect(kubeconfig).snapshot(metallb_release=False)
    prod, _ = legacy_config(snap.legacy_configmap).address_pools
    assert isinstance(prod, owned) and prod.owner == "net"


def test_a_new_legacy_pool_field_is_shape_checked(tmp_path, owned):
    path = legacy_file(tmp_path, ["net"])
    snap = files.load([str(path)])
    expected = (
        rf"{path}: document 1: ConfigMap metallb-system/config: data.config: "
        r"field address-pools\[0\].owner-team: expected a string, got a list"
    )
    with pytest.raises(UsageError, match=expected):
        snap.to_cluster()


def test_without_the_row_a_legacy_pool_field_is_not_read(tmp_path):
    path = legacy_file(tmp_path, ["net"])  # not a string, and not looked at
    snap = files.load([str(path)])
    prod, _ = legacy_config(snap.legacy_configmap, snap.legacy_where).address_pools
    assert type(prod) is AddressPool and not hasattr(prod, "owner")
    assert [p.name for p in snap.to_cluster().pools] == ["prod", "lab"]


def test_the_legacy_configmap_is_checked_by_its_table(tmp_path):
    """The ConfigMap itself is a table too (model.legacy.LegacyConfigMap), kept whole."""
    assert shape.schema_of(shape.LEGACY) == shape_of(LegacyConfigMap)
    bad = legacy_configmap(LEGACY_TEXT % "net")
    bad["metadata"]["namespace"] = 5
    path = tmp_path / "config.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"document 1: ConfigMap config: field metadata.namespace: expected a string"):
        files.load([str(path)])
    bad["metadata"]["namespace"] = "metallb-system"
    path.write_text(json.dumps(bad))
    assert files.load([str(path)], trimmed=True).legacy_configmap == bad  # kept whole

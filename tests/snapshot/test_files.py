"""-f loading: the trimmed, streamed read gives the same model as the whole read."""

import io
import json

import pytest
import yaml
from builders import dual, lbips, namespace, pool, svc

from kubectl_lbip.errors import UsageError
from kubectl_lbip.snapshot import documents, files
from kubectl_lbip.snapshot.documents import NotStreamable, json_items


def objects():
    fat = svc(
        "shop",
        "web",
        annotations={**lbips("192.0.2.7"), "kubectl.kubernetes.io/last-applied-configuration": "x" * 5000},
        ingress=["192.0.2.7"],
        labels={"app": "web"},
    )
    fat["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}] * 20
    return [
        pool("p", "192.0.2.0/24", "2001:db8::/64"),
        fat,
        dual("shop", "api", ingress=["192.0.2.8", "2001:db8::8"]),
        namespace("shop", team="a"),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ignored"}},
    ]


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def model_view(cluster):
    """What the model reads; kubectl's copy of the object is dropped by trimming."""
    return (
        [(p.name, p.intervals) for p in cluster.pools],
        [
            (
                s.key,
                s.labels,
                {k: v for k, v in s.annotations.items() if k != LAST_APPLIED},
                s.held(),
                s.ports,
                s.family(),
            )
            for s in cluster.services
        ],
        cluster.namespace_labels,
    )


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(documents, "CHUNK", 97)  # items straddle every chunk boundary
    monkeypatch.setattr(documents, "MARGIN", 40)  # and most are longer than the read-ahead


def test_streamed_json_list_gives_the_same_model(tmp_path):
    path = tmp_path / "cluster.json"
    path.write_text(
        json.dumps(
            {"apiVersion": "v1", "items": objects(), "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4
        )
    )
    whole = files.load([str(path)]).to_cluster()
    streamed_snapshot = files.load([str(path)], trimmed=True)
    assert [s.name for s in streamed_snapshot.models] == ["web", "api"]
    web = streamed_snapshot.models[0]
    assert web.raw is None
    assert "kubectl.kubernetes.io/last-applied-configuration" not in web.annotations
    assert model_view(streamed_snapshot.take_cluster()) == model_view(whole)


def test_items_before_kind_and_nested_lists(tmp_path):
    path = tmp_path / "c.json"
    inner = {"kind": "ServiceList", "items": [svc("a", "nested")]}
    path.write_text(
        '{"items": [%s, %s], "kind": "List", "n": 12345678901234567890}'
        % (json.dumps(pool("p", "192.0.2.0/24")), json.dumps(inner))
    )
    snap = files.load([str(path)], trimmed=True)
    assert [s.name for s in snap.models] == ["nested"]
    assert [p["metadata"]["name"] for p in snap.pools] == ["p"]


def test_a_single_object_json_falls_back_to_the_whole_read(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(svc("a", "only")))
    assert [s.name for s in files.load([str(path)], trimmed=True).models] == ["only"]


def test_stream_refuses_what_is_not_one_list():
    for text in (
        '{"kind": "Service", "metadata": {}}',
        "[1, 2]",
        '{"items": []} {"items": []}',
        '{"items": [1, 2',
        "nope",
    ):
        with pytest.raises(NotStreamable):
            list(json_items(io.StringIO(text)))


def test_malformed_json_still_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"kind": "List", "items": [{"kind": "Service", "metadata": {')
    with pytest.raises(UsageError, match="bad.json"):
        files.load([str(path)], trimmed=True)


def test_yaml_files_are_trimmed_too(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump_all(objects()))
    snap = files.load([str(path)], trimmed=True)
    assert LAST_APPLIED not in snap.models[0].annotations
    assert snap.keep_objects is False
    assert snap.take_cluster().services[0].raw is None
    assert files.load([str(path)]).to_cluster().services[0].raw["metadata"]["managedFields"]


def _dumped(obj):
    """As `kubectl get -o json` prints it: a uid, a resourceVersion, a status."""
    out = json.loads(json.dumps(obj))
    out["metadata"]["uid"] = "0b7d3e05-8a41-4c55-b0f2-" + obj["metadata"]["name"]
    return out


def _dry_run_client(obj):
    """As `kubectl create ... --dry-run=client -o yaml` prints it: an empty status,
    creationTimestamp null, no uid, no resourceVersion."""
    out = json.loads(json.dumps(obj))
    out["metadata"].pop("resourceVersion", None)
    out["metadata"]["creationTimestamp"] = None
    out["status"] = {"loadBalancer": {}}
    return out


@pytest.mark.parametrize("trimmed", [True, False])
def test_a_service_carries_status_when_read_back_from_the_api(tmp_path, trimmed):
    """Which services' statuses are MetalLB's record: those with a status and a uid
    (a dump); not a hand-written manifest, nor a dry-run print with an empty status."""
    hand = svc("a", "hand", annotations=lbips("192.0.2.7"))
    del hand["status"]
    items = [
        pool("p", "192.0.2.0/24"),
        _dumped(svc("a", "dumped", annotations=lbips("192.0.2.7"))),
        _dry_run_client(svc("a", "dry", annotations=lbips("192.0.2.8"))),
        hand,
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    cluster = files.load([str(path)], trimmed=trimmed).to_cluster()
    observed = {s.name: s.observed for s in cluster.services}
    assert observed == {"dumped": True, "dry": False, "hand": False}


def test_locate_is_recorded_by_the_stream_reader_as_the_whole_read_marks_them(tmp_path, monkeypatch):
    """check's reports (locate) read the files through the one streaming reader, with
    the same (file, line, column) for each object as the whole read gives."""
    text = (
        "# pools first\n"
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: prod, namespace: metallb-system}\n"
        "spec: {addresses: [192.168.1.0/24]}\n"
        "---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: a, namespace: shop}\n  spec: {type: LoadBalancer}\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n  spec: {type: LoadBalancer}\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: other}\n"
    )
    yaml_file = tmp_path / "all.yaml"
    yaml_file.write_text(text)
    json_file = tmp_path / "svc.json"
    json_file.write_text(json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"}}, indent=2))
    paths = [str(yaml_file), str(json_file)]
    whole = files.load(paths, locate=True).locations
    assert whole[("Service", "shop", "a")] == (str(yaml_file), 10, 3)
    assert whole[("Service", "", "b")] == (str(yaml_file), 14, 3)
    assert whole[("IPAddressPool", "metallb-system", "prod")] == (str(yaml_file), 2, 1)
    assert whole[("Service", "", "j")] == (str(json_file), 1, 1)

    def no_whole_read(*args, **kwargs):
        raise AssertionError("read whole")

    monkeypatch.setattr(files, "read_documents", no_whole_read)
    streamed = files.load(paths, trimmed=True, locate=True)
    assert streamed.locations == whole
    assert sorted(s.name for s in streamed.models) == ["a", "b", "j"]

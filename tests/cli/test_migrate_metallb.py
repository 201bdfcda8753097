"""migrate --to metallb (the way back) end to end on the shipped Cilium example
(examples/cilium.yaml): the plan, the MetalLB objects, exit codes and --accept,
--in-place (comments and order kept, the objects in a new file), and the live
path against an in-memory API (objects on stdout, the cut-over on stderr, nothing
written)."""

import json
import os
import shutil

import pytest
import yaml
from builders import pool, snapshot, svc
from clirunner import CliRunner

from kubectl_lbip.cli import app
from kubectl_lbip.model import cilium

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "cilium.yaml")
runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["migrate", "--to", "metallb", *args])


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d and d.get("kind") == kind}


def cpool(name, *cidrs, **spec):
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": name},
        "spec": {"blocks": [{"cidr": c} for c in cidrs], **spec},
    }


def test_files_print_the_services_with_metallbs_keys_then_the_metallb_objects():
    r = run("-f", EXAMPLE)
    assert r.exit_code == 0, r.stderr
    [listing, *objects] = list(yaml.safe_load_all(r.stdout))
    assert [o["kind"] for o in objects] == ["IPAddressPool"] * 4 + ["L2Advertisement"]
    pools = by_kind(objects, "IPAddressPool")
    assert pools["lan"]["spec"]["addresses"] == ["192.168.100.1-192.168.100.126", "fd00:100::1-fd00:100::fe"]
    assert pools["team-a"]["spec"] == {
        "addresses": ["192.168.101.10-192.168.101.29"],
        "serviceAllocation": {"namespaces": ["team-a"]},
    }
    assert pools["retired"]["spec"]["autoAssign"] is False
    assert "lan-extra" not in pools  # conflicting: Cilium uses none of it
    services = by_kind(listing["items"], "Service")
    grafana = services["grafana"]["metadata"]["annotations"]
    assert grafana["metallb.io/allow-shared-ip"] == "observability"
    assert grafana["metallb.io/loadBalancerIPs"] == "192.168.100.201"
    assert grafana[cilium.IPS_KEY] == "192.168.100.201"  # Cilium's keys stay until the last step
    assert "Cut-over" in r.stderr and "9 keep their addresses, 0 would not" in r.stderr


def test_files_plan_as_json():
    r = run("-f", EXAMPLE, "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["metallb"] == "v0.16.1" and doc["cilium"] == cilium.text(cilium.NEWEST)
    assert doc["summary"]["keep"] == 9 and doc["summary"]["move"] == 0 and doc["summary"]["errors"] == 0
    api = next(s for s in doc["services"] if s["name"] == "api")
    assert api["keeps"] is True and api["metallb"] == ["192.168.100.50", "fd00:100::50"]
    assert sorted({x["code"] for x in doc["losses"]}) == [
        "to-metallb-announcement",
        "to-metallb-disabled-pool",
        "to-metallb-invalid-pool",
    ]


@pytest.fixture
def split(tmp_path):
    """A dual-stack service holding one address of each of two Cilium pools."""
    dual = svc("a", "dual", cluster_ips=("10.96.0.1", "fd00:96::1"), ingress=["10.0.0.1", "fd00::1"])
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all([cpool("v4", "10.0.0.0/24"), cpool("v6", "fd00::/120"), dual]))
    return str(path)


def test_an_error_exits_1_unless_accepted_by_name(split):
    r = run("-f", split)
    assert r.exit_code == 1
    assert "error: [to-metallb-refused] service a/dual" in r.stderr and "split-pool-dual-stack" in r.stderr
    ok = run("-f", split, "--accept", "to-metallb-refused")
    assert ok.exit_code == 0 and "accepted: [to-metallb-refused]" in ok.stderr


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "manifests"
    target.mkdir()
    shutil.copy(EXAMPLE, target / "cluster.yaml")
    return target


def test_in_place_keeps_comments_and_order_and_writes_the_objects_beside(folder):
    before = (folder / "cluster.yaml").read_text()
    r = run("-f", str(folder), "--in-place")
    assert r.exit_code == 0, r.stdout
    after = (folder / "cluster.yaml").read_text()
    assert "# The general pool: every service may draw from it." in after
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added and all("metallb.io/" in line for line in added)
    objects = list(yaml.safe_load_all((folder / "metallb-objects.yaml").read_text()))
    assert [o["kind"] for o in objects] == ["IPAddressPool"] * 4 + ["L2Advertisement"]
    assert f"wrote {folder / 'metallb-objects.yaml'} (5 MetalLB object(s))" in r.stderr
    again = run("-f", str(folder), "--in-place")
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_in_place_with_an_error_not_accepted_writes_nothing(split, tmp_path):
    before = open(split).read()
    r = run("-f", split, "--in-place")
    assert r.exit_code == 1 and "nothing was written" in r.stderr + r.stdout
    assert open(split).read() == before and not (tmp_path / "metallb-objects.yaml").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--apply"], "--apply runs the cut-over to Cilium only"),
        (["--accept", "to-cilium-refused"], "is not a code of --to metallb"),
        (["--configmap"], "does not go with"),
    ],
)
def test_option_mistakes_are_usage_errors(args, message):
    r = run("-f", EXAMPLE, *args)
    assert r.exit_code == 2 and message in r.stderr


def test_files_without_cilium_pools_are_refused(tmp_path):
    path = tmp_path / "svc.yaml"
    path.write_text(yaml.safe_dump(svc("a", "b")))
    r = run("-f", str(path))
    assert r.exit_code == 2 and "no CiliumLoadBalancerIPPool in the files" in r.stderr


# --- live, against an in-memory API
class FakeApi:
    namespace = "default"

    def __init__(self, *objects, operator=("cilium/cilium-operator", "quay.io/cilium/operator-generic:v1.16.3")):
        self.objects = objects
        self.operator = operator
        self.writes = []
        self.server, self.context = "https://fake.example:6443", "fake"

    def snapshot(self, events=False, **kw):
        assert kw.get("cilium") is True
        snap = snapshot(*[o for o in self.objects if o["kind"] != "CiliumLoadBalancerIPPool"])
        snap.live = True
        snap.cilium_operator = self.operator
        snap.cilium_objects = {
            "CiliumLoadBalancerIPPool": [o for o in self.objects if o["kind"] == "CiliumLoadBalancerIPPool"]
        }
        return snap

    def patch_service(self, *a, **kw):
        self.writes.append(a)


LIVE = (
    cpool("lan", "192.168.10.0/24"),
    svc("shop", "db", annotations={cilium.IPS_KEY: "192.168.10.7"}, ingress=["192.168.10.7"]),
    svc("shop", "web", ingress=["192.168.10.0"]),
)


def test_live_prints_the_objects_and_the_cut_over_and_writes_nothing(live):
    api = live(FakeApi(*LIVE))
    r = run()
    assert r.exit_code == 0, r.stderr
    [obj] = list(yaml.safe_load_all(r.stdout))
    assert obj["kind"] == "IPAddressPool" and obj["spec"]["addresses"] == ["192.168.10.0/24"]
    assert "kubectl -n shop annotate service db metallb.io/loadBalancerIPs=192.168.10.7" in r.stderr
    assert "kubectl -n cilium scale deployment cilium-operator --replicas=0" in r.stderr  # the operator read
    assert "from Cilium v1.16.3 (the image of deployment cilium/cilium-operator)" in r.stderr
    assert api.writes == []


def test_live_namespace_is_refused(live):
    live(FakeApi(*LIVE))
    r = run("-n", "shop")
    assert r.exit_code == 2 and "whole cluster" in r.stderr


def test_live_backup_is_refused_not_ignored(live, tmp_path):
    live(FakeApi(*LIVE))
    r = run("--backup", str(tmp_path / "before.json"))
    assert r.exit_code == 2 and "--backup has nothing to save" in r.stderr
    assert not (tmp_path / "before.json").exists()


def test_live_metallb_pools_already_there_are_named_and_counted(live):
    live(FakeApi(*LIVE, pool("lan", "10.9.0.0/24")))
    r = run("-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [p["metallb"] for p in doc["pools"]] == ["lan-2"]
    assert "to-metallb-existing-pools" in {x["code"] for x in doc["losses"]}


def test_the_metallb_release_is_the_flag(live):
    live(FakeApi(*LIVE))
    r = runner.invoke(app, ["--metallb-version", "v0.14.9", "migrate", "--to", "metallb", "-o", "json"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["metallb"] == "v0.14.9"

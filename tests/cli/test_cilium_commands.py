"""Issue 28: every command on Cilium LB-IPAM, offline (-f), on the shipped example
(examples/cilium.yaml) and small manifests: the implementation is told from the
files (or named with --implementation), its release shown and flagged
(--cilium-version), and each answer is Cilium's."""

import json
import os

import pytest
import yaml
from clirunner import CliRunner

from kubectl_lbip.cli import app

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "cilium.yaml")
METALLB_EXAMPLE = os.path.join(ROOT, "examples", "cluster.yaml")
runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a command with -f tried to reach a cluster")

    monkeypatch.setattr("kubectl_lbip.snapshot.live.connect", boom)


def cilium_pool(name, *cidrs, **spec):
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumLoadBalancerIPPool",
        "metadata": {"name": name},
        "spec": {"blocks": [{"cidr": c} for c in cidrs], **spec},
    }


def service(name, namespace="shop", annotations=None, **spec):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], **spec},
    }


def write(tmp_path, *objects, name="m.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


# --- which implementation


def test_the_files_pools_tell_the_implementation_and_json_says_it():
    r = run("pools", "-f", EXAMPLE, "-o", "json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and "metallb" not in data
    assert data["cilium"] == {
        "implementation": "cilium",
        "release": "v1.20.2",
        "source": "assumed",
        "detail": "reading manifests; --cilium-version to choose",
        "rules": "v1.20.2",
    }
    metallb = json.loads(run("pools", "-f", METALLB_EXAMPLE, "-o", "json").stdout)
    assert "cilium" not in metallb and metallb["metallb"]["source"] == "assumed"


def test_both_kinds_of_pools_need_the_flag():
    r = run("pools", "-f", EXAMPLE, "-f", METALLB_EXAMPLE)
    assert r.exit_code == 2 and "--implementation metallb|cilium" in r.stderr
    named = run("pools", "-f", EXAMPLE, "-f", METALLB_EXAMPLE, "--implementation", "cilium", "-o", "name")
    assert named.exit_code == 0 and "ciliumloadbalancerippool.cilium.io/lan" in named.stdout.split()


def test_a_bad_flag_value_is_a_usage_error():
    assert run("pools", "-f", EXAMPLE, "--implementation", "kube-vip").exit_code == 2
    assert run("pools", "-f", EXAMPLE, "--cilium-version", "latest").exit_code == 2


def test_the_cilium_version_flag_is_the_release_and_its_rules(tmp_path):
    path = write(tmp_path, cilium_pool("lan", "192.0.2.0/24"), service("web"))
    r = run("annotate", "web", "-n", "shop", "192.0.2.7", "-f", path, "--cilium-version", "v1.15.19")
    assert r.exit_code == 0 and yaml.safe_load(r.stdout)["metadata"]["annotations"] == {
        "io.cilium/lb-ipam-ips": "192.0.2.7"
    }
    reserved = run("who-has", "192.0.2.0", "-f", path, "--cilium-version", "v1.15.19", "-o", "json")
    assert json.loads(reserved.stdout)[0]["reserved"] is True  # v1.15 reserves the first address by default
    assert json.loads(run("who-has", "192.0.2.0", "-f", path, "-o", "json").stdout)[0]["reserved"] is False


# --- pools and free


def test_pools_counts_and_conflict_on_the_example():
    r = run("pools", "-f", EXAMPLE, "-o", "json")
    rows = {row["name"]: row for row in json.loads(r.stdout)["pools"]}
    assert rows["lan"]["ipv4"] == {"total": 128, "used": 4, "free": 124, "reserved": 2}
    assert rows["lan-extra"]["conflict"]["with"] == "lan" and rows["retired"]["disabled"] is True
    table = run("pools", "-f", EXAMPLE)
    assert "lan-extra is marked cilium.io/PoolConflict" in table.stderr
    assert "Cilium LB-IPAM v1.20.2 assumed" in table.stderr


def test_free_for_a_service_gives_what_cilium_accepts_and_its_own_pick():
    r = run("free", "-f", EXAMPLE, "--for", "web", "-n", "team-a", "-o", "json")
    data = json.loads(r.stdout)
    assert r.exit_code == 0 and data["suggestions"][0]["why"] == "current"
    assert data["ciliumPick"]["addresses"] == [] and "not predictable" in data["ciliumPick"]["note"]
    assert data["cilium"]["implementation"] == "cilium"


def test_free_pairs_two_families_from_two_pools(tmp_path):
    path = write(
        tmp_path,
        cilium_pool("v4", "192.0.2.0/24"),
        cilium_pool("v6", "2001:db8::/120"),
        service("web", ipFamilyPolicy="RequireDualStack", ipFamilies=["IPv4", "IPv6"]),
    )
    r = run("free", "-f", path, "--for", "web", "-n", "shop", "-o", "json")
    first = json.loads(r.stdout)["suggestions"][0]
    assert (first["ipv4"], first["ipv6"], first["pools"]) == ("192.0.2.0", "2001:db8::", ["v4", "v6"])
    line = run("free", "-f", path, "--for", "web", "-n", "shop", "-o", "annotation").stdout
    assert line.strip() == 'lbipam.cilium.io/ips: "192.0.2.0,2001:db8::"'


# --- annotate and pin


def test_annotate_dry_run_writes_the_cilium_key_and_refuses_with_cilium_reasons():
    ok = run("annotate", "web", "-n", "team-a", "192.168.101.11", "--overwrite", "-f", EXAMPLE)
    assert ok.exit_code == 0 and yaml.safe_load(ok.stdout)["metadata"]["annotations"] == {
        "lbipam.cilium.io/ips": "192.168.101.11"
    }
    taken = run("annotate", "batch", "-n", "apps", "192.168.100.1", "--overwrite", "-f", EXAMPLE)
    assert taken.exit_code == 1 and "[cilium-already-allocated]" in taken.stderr


def test_pin_writes_each_pin_under_the_cilium_key(tmp_path):
    path = write(tmp_path, cilium_pool("lan", "192.0.2.0/30", allowFirstLastIPs="No"), service("a"), service("b"))
    r = run("pin", "-f", path)
    pins = [d["metadata"]["annotations"] for d in yaml.safe_load_all(r.stdout) if d["kind"] == "Service"]
    assert r.exit_code == 0 and pins == [{"lbipam.cilium.io/ips": "192.0.2.1"}, {"lbipam.cilium.io/ips": "192.0.2.2"}]
    full = run("pin", "-f", write(tmp_path, cilium_pool("one", "192.0.2.9/32"), service("a"), service("b"), name="f"))
    assert full.exit_code == 1 and "cannot be pinned" in full.stderr


# --- check, who-has, why


def test_check_reports_cilium_codes_and_its_release():
    r = run("check", "-f", EXAMPLE, "-o", "json")
    data = json.loads(r.stdout)
    codes = {f["code"] for f in data["findings"]}
    assert r.exit_code == 1 and {"cilium-pool-conflict", "cilium-no-pool", "cilium-pin-in-auto-range"} <= codes
    assert data["cilium"]["release"] == "v1.20.2"
    assert "Cilium LB-IPAM v1.20.2" in run("check", "-f", EXAMPLE).stderr


def test_check_names_a_service_both_would_serve_in_a_mixed_dump(tmp_path):
    mixed = write(tmp_path, cilium_pool("c", "198.51.100.0/24"), service("web"))
    metallb = run("check", "-f", mixed, "-f", METALLB_EXAMPLE, "--implementation", "cilium", "-o", "json")
    assert "served-by-both" in {f["code"] for f in json.loads(metallb.stdout)["findings"]}
    alone = run("check", "-f", mixed, "-o", "json")  # Cilium only: nobody else serves it
    assert "served-by-both" not in {f["code"] for f in json.loads(alone.stdout)["findings"]}


def test_who_has_lists_holders_and_reserved_addresses():
    r = run("who-has", "192.168.100.192", "192.168.100.0", "-f", EXAMPLE, "-o", "json")
    shared, reserved = json.loads(r.stdout)
    assert {h["name"] for h in shared["holders"]} == {"pihole-udp", "pihole-tcp"} and not shared["conflict"]
    assert reserved["reserved"] and not reserved["holders"]


def test_why_walks_cilium_steps():
    r = run("why", "batch", "-n", "apps", "-f", EXAMPLE)
    assert r.exit_code == 1 and "> FAIL pool" in r.stdout and "no_pool" in r.stdout
    ok = run("why", "api", "-n", "apps", "-f", EXAMPLE, "-o", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["implementation"]["name"] == "cilium"


def test_why_shows_the_condition_cilium_wrote(tmp_path):
    dumped = service("batch", annotations={"lbipam.cilium.io/ips": "10.99.0.1"})
    dumped["metadata"]["uid"] = "u-1"  # read back from the API server: its status is the operator's record
    condition = {
        "type": "cilium.io/IPAMRequestSatisfied",
        "status": "False",
        "reason": "no_pool",
        "message": "No pool exists with a CIDR containing '10.99.0.1'",
    }
    dumped["status"] = {"loadBalancer": {}, "conditions": [condition]}
    path = write(tmp_path, cilium_pool("lan", "192.0.2.0/24"), dumped)
    r = run("why", "batch", "-n", "shop", "-f", path, "-o", "json")
    data = json.loads(r.stdout)
    assert r.exit_code == 1 and data["condition"] == {k: condition[k] for k in ("status", "reason", "message")}
    table = run("why", "batch", "-n", "shop", "-f", path)
    assert "cilium.io/IPAMRequestSatisfied False: no_pool" in table.stdout

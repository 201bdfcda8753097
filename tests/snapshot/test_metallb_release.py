"""Which MetalLB runs, as the plugin finds it on a (fake) API server, and how
--metallb-version and -f change the rules applied."""

from __future__ import annotations

import json

import pytest
from clirunner import CliRunner
from fakeapi import deployment, deployments_path, pool, service
from test_live import bare_root_logger

from kubectl_lbip.cli import app
from kubectl_lbip.snapshot.live import connect

V14_RESOURCES = (
    "bfdprofiles",
    "bgpadvertisements",
    "bgppeers",
    "communities",
    "ipaddresspools",
    "l2advertisements",
    "servicel2statuses",
    "servicel2statuses/status",
)


def prio_cluster(fake):
    """A priority-only pool and an open one; shop/new asks for nothing."""
    fake.add_pool(pool("prio", "192.0.2.0/29", serviceAllocation={"priority": 5}))
    fake.add_pool(pool("open", "198.51.100.0/29"))
    fake.add_service(service("shop", "new", cluster_ip="10.96.0.30"))
    return fake


def run(args):
    with bare_root_logger():
        result = CliRunner().invoke(app, args)
    return result


def test_the_controller_deployments_image_tag(fake, kubeconfig):
    fake.deployments["metallb-system"] = [
        deployment("speaker", "quay.io/metallb/speaker:v0.14.9"),
        deployment("controller", "quay.io/metallb/controller:v0.14.9"),
    ]
    prio_cluster(fake)
    snap = connect(kubeconfig).snapshot()
    assert snap.metallb.to_dict() == {
        "version": "v0.14.9",
        "source": "deployment",
        "rules": "v0.14.9",
        "detail": "from deployment metallb-system/controller, image quay.io/metallb/controller:v0.14.9",
    }
    assert snap.to_cluster().metallb == (0, 14, 9)


def test_the_namespace_of_the_pools_is_searched(fake, kubeconfig):
    fake.add_pool(pool("p", "192.0.2.0/29", namespace="lb"))
    fake.deployments["lb"] = [deployment("metallb-controller", "quay.io/metallb/controller:v0.15.3", namespace="lb")]
    assert connect(kubeconfig).snapshot().metallb.label == "v0.15.3"
    assert deployments_path("lb") in [r.path for r in fake.requests]


def test_free_for_follows_the_release_found(fake, kubeconfig):
    """v0.14.9 never tries a priority-only pool automatically; v0.16.1 tries it first."""
    prio_cluster(fake)
    fake.deployments["metallb-system"] = [deployment("controller", "quay.io/metallb/controller:v0.14.9")]
    old = json.loads(run(["free", "--for", "new", "-n", "shop", "-o", "json", "--kubeconfig", kubeconfig]).stdout)
    assert (old["metallbPick"]["pools"], old["metallbPick"]["ipv4"]) == (["open"], "198.51.100.0")
    assert old["metallb"]["version"] == "v0.14.9" and old["metallb"]["source"] == "deployment"
    fake.deployments["metallb-system"] = [deployment("controller", "quay.io/metallb/controller:v0.16.1")]
    new = json.loads(run(["free", "--for", "new", "-n", "shop", "-o", "json", "--kubeconfig", kubeconfig]).stdout)
    assert (new["metallbPick"]["pools"], new["metallbPick"]["ipv4"]) == (["prio"], "192.0.2.0")


def test_the_flag_overrides_the_cluster(fake, kubeconfig):
    prio_cluster(fake)
    fake.deployments["metallb-system"] = [deployment("controller", "quay.io/metallb/controller:v0.16.1")]
    out = json.loads(
        run(
            [
                "free",
                "--for",
                "new",
                "-n",
                "shop",
                "-o",
                "json",
                "--kubeconfig",
                kubeconfig,
                "--metallb-version",
                "v0.14.9",
            ]
        ).stdout
    )
    assert out["metallbPick"]["pools"] == ["open"]
    assert out["metallb"] == {"version": "v0.14.9", "source": "flag", "detail": "--metallb-version", "rules": "v0.14.9"}
    # the flag makes asking the cluster pointless
    assert deployments_path("metallb-system") not in [r.path for r in fake.requests]


def test_no_read_access_to_deployments_falls_back_to_the_crds_and_says_so(fake, kubeconfig):
    prio_cluster(fake)
    fake.forbidden = {("list", "deployments")}
    fake.metallb_resources = V14_RESOURCES
    result = run(["check", "--kubeconfig", kubeconfig, "-o", "json", "-v"])
    assert json.loads(result.stdout)["metallb"] == {
        "version": "v0.14",
        "source": "crds",
        "detail": "from the metallb.io CRDs served",
        "rules": "v0.14.9",
    }
    assert (
        "I MetalLB release: cannot list Deployments in metallb-system (deployments.apps is forbidden: "
        'User "admin" cannot list resource "deployments" in API group "apps" at the cluster scope)'
    ) in result.stderr
    assert "I MetalLB release: v0.14, told from the metallb.io resources served" in result.stderr


def test_without_v_the_fallback_is_quiet_but_the_summary_names_the_release(fake, kubeconfig):
    prio_cluster(fake)
    fake.forbidden = {("list", "deployments")}
    result = run(["check", "--kubeconfig", kubeconfig])
    assert "I MetalLB" not in result.stderr
    assert result.stderr.rstrip().endswith("; MetalLB >=v0.15.3 (from the metallb.io CRDs served; rules of v0.16.1)")


def test_an_untagged_image_falls_back_to_the_crds(fake, kubeconfig):
    prio_cluster(fake)
    fake.deployments["metallb-system"] = [deployment("controller", "quay.io/metallb/controller@sha256:0123abcd")]
    release = connect(kubeconfig).snapshot().metallb
    assert (release.label, release.source) == (">=v0.15.3", "crds")


def test_pools_prints_the_release_in_its_header_and_json(fake, kubeconfig):
    prio_cluster(fake)
    fake.deployments["metallb-system"] = [deployment("controller", "quay.io/metallb/controller:v0.16.1")]
    table = run(["pools", "--kubeconfig", kubeconfig])
    assert table.stderr.splitlines()[0] == (
        "MetalLB v0.16.1 (from deployment metallb-system/controller, image quay.io/metallb/controller:v0.16.1)"
    )
    data = json.loads(run(["pools", "--kubeconfig", kubeconfig, "-o", "json"]).stdout)
    assert data["metallb"]["version"] == "v0.16.1" and data["metallb"]["source"] == "deployment"


def test_files_assume_the_newest_unless_told(tmp_path):
    manifest = tmp_path / "c.json"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    pool("prio", "192.0.2.0/29", serviceAllocation={"priority": 5}),
                    pool("open", "198.51.100.0/29"),
                    service("shop", "new"),
                ],
            }
        )
    )
    assumed = run(["free", "--for", "new", "-n", "shop", "-o", "json", "-f", str(manifest)])
    data = json.loads(assumed.stdout)
    assert data["metallb"]["source"] == "assumed" and data["metallb"]["version"] == "v0.16.1"
    assert data["metallbPick"]["pools"] == ["prio"]
    told = json.loads(
        run(
            ["free", "--for", "new", "-n", "shop", "-o", "json", "-f", str(manifest), "--metallb-version", "0.14.9"]
        ).stdout
    )
    assert told["metallbPick"]["pools"] == ["open"] and told["metallb"]["source"] == "flag"
    check = run(["check", "-f", str(manifest)])
    assert "MetalLB v0.16.1 assumed (reading manifests; --metallb-version to choose)" in check.stderr


@pytest.mark.parametrize("bad", ["latest", "v1", ""])
def test_a_bad_version_is_one_line_exit_2(tmp_path, bad):
    manifest = tmp_path / "c.json"
    manifest.write_text(json.dumps(pool("open", "198.51.100.0/29")))
    result = run(["pools", "-f", str(manifest), "--metallb-version", bad])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: --metallb-version: {bad!r} is not a MetalLB version (like v0.16.1)")


def test_annotate_follows_the_flag_on_a_live_cluster(fake, kubeconfig):
    """RequireDualStack with one clusterIP: v0.14 serves it single-stack (an IPv4
    request is fine), v0.15+ allocates nothing (annotate refuses)."""
    fake.add_pool(pool("open", "198.51.100.0/29"))
    odd = service("shop", "odd", cluster_ip="10.96.0.40")
    odd["spec"]["ipFamilyPolicy"] = "RequireDualStack"
    fake.add_service(odd)
    args = ["annotate", "odd", "198.51.100.3", "-n", "shop", "--dry-run=client", "--kubeconfig", kubeconfig]
    newest = run(args)
    assert newest.exit_code == 1 and "family-mismatch" in newest.stderr + newest.stdout
    old = run(args + ["--metallb-version", "v0.14.9"])
    assert old.exit_code == 0, old.stderr
    assert "198.51.100.3" in old.stdout


def test_odd_shapes_from_the_api_are_no_traceback(fake, kubeconfig):
    """A Deployment without containers, containers that are not objects, a discovery
    answer without resources: the newest is assumed, nothing breaks."""
    prio_cluster(fake)
    fake.deployments["metallb-system"] = [
        {"metadata": {"name": "odd"}, "spec": {"template": {"spec": {"containers": "x"}}}},
        {"metadata": "nope", "spec": []},
        deployment("controller", "quay.io/metallb/controller:latest"),
    ]
    fake.metallb_resources = ()
    release = connect(kubeconfig).snapshot().metallb
    assert (release.label, release.source) == ("v0.16.1", "assumed")

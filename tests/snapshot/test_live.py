"""The live path (kubectl_lbip.snapshot.live) against a fake API server (fakeapi.py).

Everything real except the API server: the official kubernetes client resolves the
kubeconfig, runs exec plugins, reads in-cluster service-account files and talks
HTTP(S) to a server on 127.0.0.1 that pages, authenticates, authorises and
patches like a kube-apiserver."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
from clirunner import CliRunner
from fakeapi import (
    EVENTS,
    LAST_APPLIED,
    LEGACY_CM,
    METALLB_GROUP,
    POOLS,
    SERVICES,
    FakeAPI,
    allocation_failed,
    deployments_path,
    kubeconfig_dict,
    legacy_configmap,
    namespace,
    pool,
    service,
    write_yaml,
)

from kubectl_lbip.cli import app
from kubectl_lbip.errors import AccessError, ClusterError, ConflictError, UsageError
from kubectl_lbip.snapshot import live
from kubectl_lbip.snapshot.live import connect

LB_IPS = "metallb.io/loadBalancerIPs"
SECRET = "tok-9f3c1e77-DO-NOT-PRINT"  # distinctive, so a leak is unmistakable


def small_cluster(fake: FakeAPI) -> FakeAPI:
    """One dual-stack pool; shop/web holds .20, shop/pending got nothing."""
    fake.add_pool(pool("production", "192.168.10.0/24", "fd00:10::/64"))
    fake.add_service(service("shop", "web", cluster_ip="10.96.0.20", ingress=("192.168.10.20",)))
    fake.add_service(service("shop", "pending", cluster_ip="10.96.0.21"))
    fake.add_service(service("default", "kubernetes", cluster_ip="10.96.0.1", lb_type="ClusterIP", port=443))
    return fake


# --------------------------------------------------------------------------- kubeconfig


def test_kubeconfig_flag_context_namespace_and_token(fake, kubeconfig):
    small_cluster(fake)
    client = connect(kubeconfig)
    assert (client.server, client.context, client.namespace) == (fake.url, "fake", "shop")
    assert client.get_service("shop", "web")["metadata"]["name"] == "web"
    (req,) = fake.requests
    assert req.headers["authorization"] == "Bearer fake-token" and req.user == "admin"
    assert req.headers["accept"].startswith("application/json")


def test_kubeconfig_flag_wins_over_env(fake, kubeconfig, tmp_path, monkeypatch, closed_port):
    elsewhere = write_yaml(
        tmp_path / "elsewhere",
        kubeconfig_dict(
            {"dead": f"http://127.0.0.1:{closed_port}"},
            {"u": {"token": "x"}},
            {"dead": {"cluster": "dead", "user": "u"}},
            current="dead",
        ),
    )
    monkeypatch.setenv("KUBECONFIG", elsewhere)
    assert connect(kubeconfig).server == fake.url
    assert connect().server == f"http://127.0.0.1:{closed_port}"


def test_kubeconfig_env_merges_files(fake, tmp_path, monkeypatch):
    small_cluster(fake)
    # clusters and users in one file, contexts (and the current one) in another; a
    # missing file in the list is skipped, as kubectl does.
    creds = write_yaml(tmp_path / "creds", kubeconfig_dict({"prod": fake.url}, {"admin": {"token": "fake-token"}}, {}))
    ctxs = write_yaml(
        tmp_path / "contexts",
        kubeconfig_dict(
            {}, {}, {"prod-shop": {"cluster": "prod", "user": "admin", "namespace": "shop"}}, current="prod-shop"
        ),
    )
    monkeypatch.setenv("KUBECONFIG", ":".join([ctxs, str(tmp_path / "missing"), creds]))
    client = connect()
    assert (client.server, client.context, client.namespace) == (fake.url, "prod-shop", "shop")
    assert len(client.snapshot().services) == 3
    assert {r.user for r in fake.requests} == {"admin"}


def test_context_flag_selects_another_server_and_user(start_fake, tmp_path):
    first = small_cluster(start_fake())
    second = start_fake(tokens={"viewer-token": "viewer"})
    second.add_service(service("other", "api", cluster_ip="10.96.1.1"))
    path = write_yaml(
        tmp_path / "kubeconfig",
        kubeconfig_dict(
            {"one": first.url, "two": second.url},
            {"admin": {"token": "fake-token"}, "viewer": {"token": "viewer-token"}},
            {
                "one": {"cluster": "one", "user": "admin", "namespace": "shop"},
                "two": {"cluster": "two", "user": "viewer"},
            },
            current="one",
        ),
    )
    client = connect(path, "two")
    assert (client.server, client.context) == (second.url, "two")
    assert client.namespace == "default"  # the context names no namespace
    assert [s["metadata"]["name"] for s in client.snapshot().services] == ["api"]
    assert first.requests == [] and {r.user for r in second.requests} == {"viewer"}


def test_unknown_context_is_a_usage_error(kubeconfig):
    with pytest.raises(UsageError, match='context "nope" does not exist'):
        connect(kubeconfig, "nope").snapshot()


def test_no_current_context_is_a_cluster_error_as_in_kubectl(fake, tmp_path):
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict({"c": fake.url}, {"u": {"token": "fake-token"}}, {"x": {"cluster": "c", "user": "u"}}),
    )
    with pytest.raises(ClusterError, match="no cluster configured: .*--context") as err:
        connect(path).snapshot()  # kubectl then tries localhost:8080, as without a kubeconfig
    assert err.value.exit_code == 3 and not fake.requests


def test_first_file_setting_current_context_wins(fake, tmp_path, monkeypatch):
    """kubectl's merge rule (`KUBECONFIG=a:b kubectl config current-context` says a's),
    not the kubernetes client's (the last file's)."""
    a = write_yaml(
        tmp_path / "a",
        kubeconfig_dict(
            {"c": fake.url},
            {"u": {"token": "fake-token"}},
            {"ctx-a": {"cluster": "c", "user": "u", "namespace": "from-a"}},
            current="ctx-a",
        ),
    )
    b = write_yaml(
        tmp_path / "b",
        kubeconfig_dict(
            {},
            {},
            {
                "ctx-b": {"cluster": "c", "user": "u", "namespace": "from-b"},
                # a second definition of ctx-a: the first file's wins
                "ctx-a": {"cluster": "c", "user": "u", "namespace": "shadowed"},
            },
            current="ctx-b",
        ),
    )
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    client = connect()
    assert (client.context, client.namespace) == ("ctx-a", "from-a")
    assert connect(context="ctx-b").namespace == "from-b"


def test_context_flag_works_whatever_the_current_context(fake, tmp_path):
    for current in ("gone", "", None):  # stale, empty, absent
        path = write_yaml(
            tmp_path / "k",
            kubeconfig_dict(
                {"c": fake.url},
                {"u": {"token": "fake-token"}},
                {"good": {"cluster": "c", "user": "u", "namespace": "ns-good"}},
                current=current,
            ),
        )
        client = connect(path, "good")
        assert (client.context, client.namespace) == ("good", "ns-good")
    with pytest.raises(UsageError, match="context was not found for specified context: gone"):
        connect(
            write_yaml(
                tmp_path / "k",
                kubeconfig_dict(
                    {"c": fake.url}, {"u": {"token": "t"}}, {"good": {"cluster": "c", "user": "u"}}, current="gone"
                ),
            )
        ).snapshot()


def test_invalid_kubeconfig_is_a_usage_error(tmp_path):
    bad = tmp_path / "k"
    bad.write_text("clusters: [\n")
    with pytest.raises(UsageError, match="invalid kubeconfig: error loading config file .*k.: yaml"):
        connect(str(bad)).snapshot()
    listed = tmp_path / "k3"
    listed.write_text("- clusters\n")
    with pytest.raises(UsageError, match="invalid kubeconfig: error loading config file .*k3"):
        connect(str(listed)).snapshot()


def test_missing_kubeconfig_flag_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        connect(str(tmp_path / "nope"))


def test_no_kubeconfig_and_not_in_a_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "a") + ":" + str(tmp_path / "b"))
    with pytest.raises(ClusterError) as err:
        connect().snapshot()
    msg = str(err.value)
    assert "no cluster configured" in msg and "not in a cluster" in msg
    assert "localhost:8080" in msg and "--kubeconfig" in msg
    assert err.value.exit_code == 3


def test_in_cluster_namespace_is_the_pods(tmp_path, monkeypatch):
    """In a pod kubectl reaches the API server with the service account (its own
    in-cluster configuration, at paths a test cannot move); the default namespace is
    the pod's, read from the file beside the token, as kubectl does."""
    from kubectl_lbip import door

    (tmp_path / "namespace").write_text("ops\n")
    monkeypatch.setattr(door, "SERVICE_ACCOUNT_NAMESPACE", str(tmp_path / "namespace"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    assert connect().namespace == "ops"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert connect().namespace == "default"  # not in a pod: kubectl's default


def test_exec_credential_plugin(fake, tmp_path):
    small_cluster(fake)
    fake.tokens = {SECRET: "sso-user"}
    seen = tmp_path / "exec-info.json"
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        textwrap.dedent(f"""
        import json, os, sys
        open({str(seen)!r}, "w").write(os.environ["KUBERNETES_EXEC_INFO"])
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1",
                           "kind": "ExecCredential", "status": {{"token": {SECRET!r}}}}}))
    """)
    )
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict(
            {"c": fake.url},
            {
                "sso": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": sys.executable,
                        "args": [str(plugin)],
                        "interactiveMode": "Never",
                    }
                }
            },
            {"sso": {"cluster": "c", "user": "sso"}},
            current="sso",
        ),
    )
    client = connect(path)
    assert len(client.snapshot().services) == 3
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {SECRET}"}
    assert json.loads(seen.read_text())["kind"] == "ExecCredential"


# --------------------------------------------------------------------------- paging


def test_paging_1200_services_in_three_requests_trimmed(fake, kubeconfig):
    fake.add_pool(pool("production", "192.168.0.0/16"))
    for i in range(1200):
        fake.add_service(
            service(
                f"ns{i % 7}",
                f"svc-{i:04d}",
                cluster_ip=f"10.96.{i // 250}.{i % 250 + 1}",
                ingress=(f"192.168.{i // 250}.{i % 250 + 1}",),
            )
        )
    client = connect(kubeconfig)
    services = list(client.list_all(SERVICES, live.trim_service))

    assert len(services) == 1200
    assert len({(s["metadata"]["namespace"], s["metadata"]["name"]) for s in services}) == 1200
    calls = fake.calls("GET", SERVICES)
    assert len(calls) == 3
    assert [c.param("limit") for c in calls] == ["500", "500", "500"]
    assert calls[0].param("continue") is None
    assert all(c.param("continue") for c in calls[1:])
    assert calls[1].param("continue") != calls[2].param("continue")
    # asked compressed, as kubectl does: the full pages came gzipped and were read
    assert all("gzip" in c.headers.get("accept-encoding", "") for c in calls)
    assert all(c.gzipped for c in calls)

    one = services[0]
    assert "managedFields" not in one["metadata"] and "creationTimestamp" not in one["metadata"]
    assert set(one["spec"]) == {
        "type",
        "clusterIP",
        "clusterIPs",
        "ipFamilies",
        "ipFamilyPolicy",
        "selector",
        "externalTrafficPolicy",
        "ports",
    }
    assert one["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 80}]
    assert one["status"] == {"loadBalancer": {"ingress": [{"ip": "192.168.0.1"}]}}
    assert one["metadata"]["resourceVersion"] and one["metadata"]["uid"]
    assert LAST_APPLIED not in one["metadata"].get("annotations", {})


def test_snapshot_pages_every_list_and_reads_allocation_failures(fake, kubeconfig, monkeypatch):
    monkeypatch.setattr(live, "PAGE_SIZE", 2)
    fake.add_pool(pool("production", "192.168.10.0/24"))
    fake.add_pool(
        pool("team-a", "192.168.30.0/28", serviceAllocation={"namespaceSelectors": [{"matchLabels": {"team": "a"}}]})
    )
    for i in range(5):
        fake.add_service(service("shop", f"s{i}"))
    fake.namespaces = [namespace("shop"), namespace("team-a", {"team": "a"}), namespace("default")]
    fake.events = [
        allocation_failed("shop", "s1", "old message", "2026-10-05T10:00:00Z"),
        allocation_failed("shop", "s1", "no available IPs", "2026-10-05T12:00:00Z"),
        {
            **allocation_failed("shop", "s2", "not a service"),
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "s2"},
        },
        {**allocation_failed("shop", "s3", "scheduled"), "reason": "IPAllocated"},
    ]
    snap = connect(kubeconfig).snapshot(events=True)
    assert len(snap.pools) == 2 and len(snap.services) == 5
    assert [n["metadata"]["name"] for n in snap.namespaces] == ["shop", "team-a", "default"]
    assert snap.namespaces[1] == {
        "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a", "team": "a"}},
    }
    assert snap.allocation_failures == {"shop/s1": "no available IPs"}
    assert len(fake.calls("GET", SERVICES)) == 3  # 2 + 2 + 1
    (ev,) = fake.calls("GET", EVENTS)
    assert ev.param("fieldSelector") == "reason=AllocationFailed,involvedObject.kind=Service"


def test_namespaces_are_not_listed_without_namespace_selectors(fake, kubeconfig):
    small_cluster(fake)
    snap = connect(kubeconfig).snapshot()
    assert sorted(r.path for r in fake.requests) == sorted(
        [POOLS, SERVICES, deployments_path("metallb-system"), METALLB_GROUP]
    )
    assert snap.namespaces == [] and not snap.uses_legacy_config


# --------------------------------------------------------------------------- errors


def test_401_is_a_cluster_error_saying_unauthorized(fake, kubeconfig):
    fake.tokens = {"another-token": "someone"}
    with pytest.raises(ClusterError) as err:
        connect(kubeconfig).snapshot()
    assert "unauthorized (401)" in str(err.value) and fake.url in str(err.value)
    assert "context fake" in str(err.value)
    assert err.value.exit_code == 3


def test_403_on_list_names_verb_resource_and_scope(fake, kubeconfig):
    small_cluster(fake)
    fake.forbidden = {("list", "services")}
    with pytest.raises(ClusterError) as err:
        connect(kubeconfig).snapshot()
    assert isinstance(err.value, AccessError) and str(err.value) == (
        'services is forbidden: User "admin" cannot list resource "services" in API group "" at the cluster scope'
    )


def test_403_on_pools_names_the_crd(fake, kubeconfig):
    fake.forbidden = {("list", "ipaddresspools")}
    with pytest.raises(ClusterError, match="ipaddresspools.metallb.io is forbidden: .*cannot list .*cluster scope"):
        connect(kubeconfig).snapshot()


def test_403_on_patch_names_the_namespace(fake, kubeconfig):
    small_cluster(fake)
    fake.forbidden = {("patch", "services")}
    client = connect(kubeconfig)
    rv = client.get_service("shop", "web")["metadata"]["resourceVersion"]
    with pytest.raises(ClusterError) as err:
        client.patch_service(
            "shop", "web", {"metadata": {"resourceVersion": rv, "annotations": {LB_IPS: "192.168.10.20"}}}
        )
    assert str(err.value).startswith('services "web" is forbidden: User "admin" cannot patch')
    assert str(err.value).endswith('in the namespace "shop"')
    assert not isinstance(err.value, ConflictError)


def test_unreachable_server_fails_fast_naming_it(tmp_path, closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict({"c": url}, {"u": {"token": "t"}}, {"x": {"cluster": "c", "user": "u"}}, current="x"),
    )
    started = time.monotonic()
    with pytest.raises(ClusterError) as err:
        connect(path).snapshot()
    assert time.monotonic() - started < 15
    assert str(err.value).startswith(f"cannot reach the API server at {url}: ")
    assert "refused" in str(err.value).lower()


def test_missing_crds_fall_back_to_the_legacy_configmap(fake, kubeconfig):
    fake.crds = False
    fake.configmap = legacy_configmap(
        textwrap.dedent("""\
        address-pools:
        - name: default
          protocol: layer2
          addresses:
          - 192.168.1.240-192.168.1.250
    """)
    )
    fake.add_service(service("shop", "web", ingress=("192.168.1.240",)))
    snap = connect(kubeconfig).snapshot()
    assert snap.uses_legacy_config and snap.pools == []
    assert snap.legacy_configmap["data"]["config"].startswith("address-pools:")
    assert sorted((r.path, r.status) for r in fake.requests) == sorted(
        [(POOLS, 404), (LEGACY_CM, 200), (SERVICES, 200), (deployments_path("metallb-system"), 200)]
        + [(METALLB_GROUP, 404)] * any(r.path == METALLB_GROUP for r in fake.requests)  # asked for early
    )
    cluster = snap.to_cluster()
    assert [p.name for p in cluster.pools] == ["default"]


def test_no_crds_and_no_configmap_means_metallb_is_not_installed(fake, kubeconfig):
    fake.crds = False
    with pytest.raises(ClusterError, match="MetalLB is not installed") as err:
        connect(kubeconfig).snapshot()
    assert err.value.exit_code == 3


def test_get_missing_service_is_a_usage_error(fake, kubeconfig):
    with pytest.raises(UsageError, match='service "ghost" not found in namespace "shop"'):
        connect(kubeconfig).get_service("shop", "ghost")


def test_other_server_errors_carry_status_and_message(fake, kubeconfig):
    fake.fail_next("GET", SERVICES, 500)
    with pytest.raises(ClusterError, match=r"GET /api/v1/services failed \(500\): boom"):
        list(connect(kubeconfig).list_all(SERVICES, live.trim_service))


def test_a_200_that_is_not_json_is_not_called_unreachable(fake, kubeconfig):
    # e.g. the kubeconfig points at a web server or a proxy's login page
    fake.fail_next("GET", POOLS, 200, "<html>login</html>")
    with pytest.raises(ClusterError) as err:
        connect(kubeconfig).snapshot()
    assert "cannot reach" not in str(err.value)
    assert "not JSON" in str(err.value) and fake.url in str(err.value)


# --------------------------------------------------------------------------- patch


def _patch(rv, ip="192.168.10.30"):
    return {"metadata": {"resourceVersion": rv, "annotations": {LB_IPS: ip}}}


def test_patch_is_a_merge_patch_with_the_resource_version(fake, kubeconfig):
    small_cluster(fake)
    client = connect(kubeconfig)
    rv = client.get_service("shop", "pending")["metadata"]["resourceVersion"]
    out = client.patch_service("shop", "pending", _patch(rv))
    (req,) = fake.calls("PATCH")
    assert req.path == "/api/v1/namespaces/shop/services/pending" and ("dryRun", "All") not in req.query
    assert req.headers["content-type"] == "application/merge-patch+json"
    assert req.body == _patch(rv)
    stored = fake.service("shop", "pending")
    assert stored["metadata"]["annotations"][LB_IPS] == "192.168.10.30"
    assert stored["metadata"]["resourceVersion"] != rv
    assert out["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert LAST_APPLIED in stored["metadata"]["annotations"]  # a merge patch keeps the rest


def test_stale_resource_version_is_a_conflict(fake, kubeconfig):
    small_cluster(fake)
    client = connect(kubeconfig)
    rv = client.get_service("shop", "pending")["metadata"]["resourceVersion"]
    fake.concurrent_write("shop", "pending")
    with pytest.raises(ConflictError, match="the object has been modified"):
        client.patch_service("shop", "pending", _patch(rv))
    stored = fake.service("shop", "pending")
    assert LB_IPS not in stored["metadata"]["annotations"]
    assert stored["metadata"]["annotations"]["example.com/touched-by"] == "someone-else"


def test_server_dry_run_sends_dry_run_all_and_changes_nothing(fake, kubeconfig):
    small_cluster(fake)
    client = connect(kubeconfig)
    before = json.dumps(fake.service("shop", "pending"), sort_keys=True)
    rv = fake.service("shop", "pending")["metadata"]["resourceVersion"]
    out = client.patch_service("shop", "pending", _patch(rv), dry_run=True)
    (req,) = fake.calls("PATCH")
    assert ("dryRun", "All") in req.query
    assert out["metadata"]["annotations"][LB_IPS] == "192.168.10.30"  # what it would be
    assert json.dumps(fake.service("shop", "pending"), sort_keys=True) == before


def test_patch_without_resource_version_is_refused_before_sending(fake, kubeconfig):
    small_cluster(fake)
    client = connect(kubeconfig)
    with pytest.raises(ValueError, match="resourceVersion"):
        client.patch_service("shop", "pending", {"metadata": {"annotations": {LB_IPS: "192.168.10.30"}}})
    with pytest.raises(ValueError):
        client.patch_service("shop", "pending", {"spec": {"loadBalancerIP": None}})
    assert fake.requests == []


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def secret_kubeconfig(fake, tmp_path) -> str:
    fake.tokens = {SECRET: "admin"}
    return write_yaml(
        tmp_path / "kubeconfig",
        kubeconfig_dict(
            {"fake": fake.url},
            {"admin": {"token": SECRET}},
            {"fake": {"cluster": "fake", "user": "admin", "namespace": "shop"}},
            current="fake",
        ),
    )


LOG_LINE = re.compile(r"^I (GET|PATCH) (/\S*) (\d{3}) (\d+)ms$")


@contextlib.contextmanager
def bare_root_logger():
    """cli._run calls logging.basicConfig, a no-op while the root logger has handlers,
    and during a test pytest's capture handlers are there: hide them while the CLI
    runs, then put back the root logger's handlers and level."""
    root, urllib3 = logging.getLogger(), logging.getLogger("urllib3")
    handlers, level, urllib3_level = root.handlers, root.level, urllib3.level
    root.handlers = []
    try:
        yield
    finally:
        root.handlers, root.level = handlers, level
        urllib3.setLevel(urllib3_level)


def invoke_verbose(runner: CliRunner, args):
    with bare_root_logger():
        return runner.invoke(app, args)


NOT_SERVED = re.compile(r"^I \w+ is not served \(/\S*\): not checked$")


def _log_lines(stderr: str):
    """-v's request lines (the notes about the MetalLB release, and the kinds the API
    does not serve, aside)."""
    return [
        LOG_LINE.match(line)
        for line in stderr.splitlines()
        if line.startswith("I ") and not line.startswith("I MetalLB release: ") and not NOT_SERVED.match(line)
    ]


def _log_notes(stderr: str):
    return [line for line in stderr.splitlines() if line.startswith("I MetalLB release: ")]


def _shown(rec) -> str:
    return rec.path + ("?" + "&".join(f"{k}={v}" for k, v in rec.query) if rec.query else "")


def test_verbose_logs_each_request_and_never_the_token(fake, secret_kubeconfig, runner):
    small_cluster(fake)
    result = invoke_verbose(runner, ["pools", "--kubeconfig", secret_kubeconfig, "-v"])
    assert result.exit_code == 0, result.output
    lines, notes = _log_lines(result.stderr), _log_notes(result.stderr)
    assert all(lines), result.stderr
    assert len(lines) == len(fake.requests) == 5  # pools, services, MetalLB's Deployment, CRDs, cilium.io
    assert notes == [
        "I MetalLB release: no controller image with a version among the "
        "Deployments in metallb-system; told from the CRDs served",
        "I MetalLB release: >=v0.15.3, told from the metallb.io resources served "
        "(bfdprofiles, bgpadvertisements, bgppeers, communities, configurationstates, "
        "ipaddresspools, l2advertisements, servicebgpstatuses, servicel2statuses)",
    ]
    # kubectl's own line for each request (asked at once: in the order they are read)
    logged = [(m.group(1), m.group(2), int(m.group(3))) for m in lines]
    assert sorted(logged) == sorted((rec.method, _shown(rec), rec.status) for rec in fake.requests)
    assert logged[0][1] == POOLS + "?limit=500"
    assert SECRET not in result.stderr and SECRET not in result.stdout
    assert "I " not in result.stdout  # the log goes to stderr only


def test_verbose_logs_failed_requests_too(fake, secret_kubeconfig, runner):
    fake.tokens = {"other": "x"}
    result = invoke_verbose(runner, ["pools", "--kubeconfig", secret_kubeconfig, "-v"])
    assert result.exit_code == 3
    (line,) = _log_lines(result.stderr)
    assert line.group(3) == "401"
    assert "error: unauthorized (401)" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_verbose_in_a_real_process(fake, secret_kubeconfig):
    """The installed entry point, with nothing of pytest's logging around it."""
    small_cluster(fake)
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_lbip", "who-has", "192.168.10.20", "--kubeconfig", secret_kubeconfig, "-v"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = _log_lines(proc.stderr)
    # ... then the advertisements (not served by this API: said with -v)
    assert all(lines) and len(lines) == len(fake.requests) == 7  # and cilium.io's discovery (404)
    assert "I L2Advertisement is not served" in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    assert "shop/web" in proc.stdout


def test_cli_pools(fake, kubeconfig, runner):
    small_cluster(fake)
    result = runner.invoke(app, ["pools", "--kubeconfig", kubeconfig, "-o", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["pools"]
    assert row["name"] == "production" and row["ipv4"]["used"] == 1


@pytest.fixture
def kubectl_runs(tmp_path, monkeypatch):
    """The kubectl runs the plugin starts, each as its arguments (a kubectl first on
    PATH that notes them, then runs the real one)."""
    real = shutil.which("kubectl")
    log = tmp_path / "kubectl-runs.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kubectl"
    shim.write_text(f'#!/bin/sh\nprintf \'%s\\n\' "$*" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return lambda: log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("args", [["pools"], ["free"], ["who-has", "192.168.10.20"]])
def test_a_read_runs_one_kubectl_the_proxy(fake, kubeconfig, runner, kubectl_runs, args):
    """Issue 27 item 3: a command that reads the cluster starts one kubectl, the proxy;
    which context kubectl uses (`kubectl config view`, a run of its own) is asked only
    when a message needs it."""
    small_cluster(fake)
    result = runner.invoke(app, [*args, "--kubeconfig", kubeconfig])
    assert result.exit_code == 0, result.output
    assert [run.split(" --unix-socket=")[0] for run in kubectl_runs()] == [f"--kubeconfig={kubeconfig} proxy"]


def test_a_live_command_starts_kubectl_before_it_runs(fake, kubeconfig, runner, monkeypatch):
    """Issue 27 item 3: the command connects (the proxy starts) before its own
    modules load and it runs, so that kubectl gets ready meanwhile."""
    from kubectl_lbip.commands import pools as cmd

    order = []
    real_connect, real_run = live.connect, cmd.run
    monkeypatch.setattr(live, "connect", lambda *a, **k: order.append("connect") or real_connect(*a, **k))
    monkeypatch.setattr(cmd, "run", lambda *a, **k: order.append("run") or real_run(*a, **k))
    small_cluster(fake)
    result = runner.invoke(app, ["pools", "--kubeconfig", kubeconfig])
    assert result.exit_code == 0, result.output
    assert order == ["connect", "run"]


def test_against_cluster_reads_the_files_before_it_connects(fake, kubeconfig, runner, monkeypatch, tmp_path):
    """With --against-cluster the files are read first: a bad one fails before
    kubectl starts (and its time is not taken from the command's deadline)."""
    connects = []
    real_connect = live.connect
    monkeypatch.setattr(live, "connect", lambda *a, **k: connects.append(a) or real_connect(*a, **k))
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Service\nmetadata: [\n")
    result = runner.invoke(app, ["check", "--against-cluster", "-f", str(bad), "--kubeconfig", kubeconfig])
    assert result.exit_code == 2, result.output
    assert connects == []


def test_the_early_start_leaves_errors_where_they_were(tmp_path, runner):
    """A command's own usage error still comes first, whatever the early start met
    (a kubeconfig that does not exist)."""
    result = runner.invoke(app, ["who-has", "not-an-ip", "--kubeconfig", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.stderr == "error: 'not-an-ip' is not an IP address or CIDR\n"


def test_cli_pools_legacy_configmap(fake, kubeconfig, runner):
    fake.crds = False
    fake.configmap = legacy_configmap(
        "address-pools:\n- name: old\n  protocol: layer2\n  addresses: [192.168.1.240/29]\n"
    )
    result = runner.invoke(app, ["pools", "--kubeconfig", kubeconfig])
    assert result.exit_code == 0, result.output
    assert "old" in result.stdout and "legacy ConfigMap" in result.stderr


def test_cli_errors_exit_3_with_one_line(fake, kubeconfig, runner):
    fake.forbidden = {("list", "ipaddresspools")}
    result = runner.invoke(app, ["pools", "--kubeconfig", kubeconfig])
    assert result.exit_code == 3
    assert result.stderr == (
        'error: ipaddresspools.metallb.io is forbidden: User "admin" cannot list resource "ipaddresspools" '
        'in API group "metallb.io" at the cluster scope\n'
    )
    assert result.stdout == ""


def test_cli_who_has(fake, kubeconfig, runner):
    small_cluster(fake)
    result = runner.invoke(app, ["who-has", "192.168.10.20", "--kubeconfig", kubeconfig, "-o", "json"])
    assert result.exit_code == 0, result.output
    (hit,) = json.loads(result.stdout)
    assert hit["pool"] == "production" and [h["name"] for h in hit["holders"]] == ["web"]
    result = runner.invoke(app, ["who-has", "192.168.10.99", "--kubeconfig", kubeconfig])
    assert result.exit_code == 1


def test_cli_who_has_never_says_none_for_advertisements_it_may_not_read(fake, kubeconfig, runner):
    """Issue 25: `-` means "no advertisement in the input"; a context that may not list
    advertisements gets `?` and a note saying why, as `check` does (ANNOUNCED BY is the
    last column of -o wide)."""
    small_cluster(fake)
    adv = {"metadata": {"name": "l2", "namespace": "metallb-system"}, "spec": {"ipAddressPools": ["production"]}}
    fake.metallb_lists = {"l2advertisements": [adv], "bgpadvertisements": []}

    def announced_by(*addresses):
        result = runner.invoke(app, ["who-has", *addresses, "-o", "wide", "--kubeconfig", kubeconfig])
        assert result.exit_code in (0, 1), result.output
        return result.stdout.splitlines()[1].split("  ")[-1].strip(), result.stderr

    assert announced_by("192.168.10.20") == ("l2:l2", "")
    fake.forbidden = {("list", "l2advertisements"), ("list", "bgpadvertisements")}
    shown, notes = announced_by("192.168.10.20")
    assert shown == "?"
    assert "note: L2Advertisement not checked:" in notes and "forbidden" in notes  # the API server's words
    assert "note: ? in ANNOUNCED BY: L2Advertisement and BGPAdvertisement could not be read" in notes
    fake.forbidden = {("list", "bgpadvertisements")}  # one kind read: its names, and "?" for the rest
    assert announced_by("192.168.10.20")[0] == "l2:l2 ?"
    wide = runner.invoke(app, ["pools", "-o", "wide", "--kubeconfig", kubeconfig])
    assert "l2:l2 ?" in wide.stdout and "note: ? in ADVERTISEMENTS: BGPAdvertisement" in wide.stderr
    # an address in no pool has no advertisement to ask about: "-"
    shown, notes = announced_by("10.1.2.3")
    assert shown == "-" and "? in ANNOUNCED BY" not in notes


def test_cli_check_reports_allocation_failed_as_pending(fake, kubeconfig, runner):
    small_cluster(fake)
    message = 'Failed to allocate IP for "shop/pending": no available IPs'
    fake.events = [allocation_failed("shop", "pending", message)]
    result = runner.invoke(app, ["check", "--kubeconfig", kubeconfig, "-o", "json"])
    assert result.exit_code == 1, result.output
    pending = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "pending"]
    assert len(pending) == 1 and pending[0]["severity"] == "error"
    assert message in pending[0]["message"] and "shop/pending" in json.dumps(pending[0])
    assert fake.calls("GET", EVENTS)


def test_cli_check_warn_used_live_as_with_files(fake, kubeconfig, runner):
    """--warn-used reads the live pools and services as -f reads files: shop/web holds
    one of the two addresses of 192.168.60.0/31."""
    fake.add_pool(pool("tiny", "192.168.60.0/31"))
    fake.add_service(service("shop", "web", cluster_ip="10.96.0.20", ingress=("192.168.60.0",)))
    result = runner.invoke(app, ["check", "--kubeconfig", kubeconfig, "--warn-used", "50%", "-o", "json"])
    assert result.exit_code == 0, result.output
    used = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "pool-used-high"]
    assert [(f["name"], f["severity"]) for f in used] == [("tiny", "warning")]
    assert used[0]["message"].startswith("1 of 2 IPv4 addresses used (50%, threshold 50%).")


def test_cli_annotate_sends_one_patch_with_the_resource_version(fake, kubeconfig, runner):
    small_cluster(fake)
    rv = fake.service("shop", "pending")["metadata"]["resourceVersion"]
    result = runner.invoke(app, ["annotate", "pending", "192.168.10.150", "--kubeconfig", kubeconfig])
    assert result.exit_code == 0, result.output
    assert "annotated" in result.stdout
    (req,) = fake.calls("PATCH")
    assert req.path == "/api/v1/namespaces/shop/services/pending"  # the context's namespace
    assert req.body["metadata"]["resourceVersion"] == rv
    assert req.body["metadata"]["annotations"] == {LB_IPS: "192.168.10.150"}
    assert fake.service("shop", "pending")["metadata"]["annotations"][LB_IPS] == "192.168.10.150"


def test_cli_annotate_rereads_and_retries_after_a_conflict(fake, kubeconfig, runner):
    small_cluster(fake)
    rv = fake.service("shop", "pending")["metadata"]["resourceVersion"]
    fake.concurrent_write("shop", "pending")
    result = runner.invoke(app, ["annotate", "pending", "192.168.10.150", "--kubeconfig", kubeconfig])
    assert result.exit_code == 0, result.output
    first, second = fake.calls("PATCH")
    assert (first.status, second.status) == (409, 200)
    assert first.body["metadata"]["resourceVersion"] == rv
    assert second.body["metadata"]["resourceVersion"] not in (rv, None)
    assert len(fake.calls("GET", SERVICES)) == 2  # read, then read again after the 409
    assert "changed since it was read" in result.stderr
    annotations = fake.service("shop", "pending")["metadata"]["annotations"]
    assert annotations[LB_IPS] == "192.168.10.150"
    assert annotations["example.com/touched-by"] == "someone-else"  # nothing overwritten


def test_cli_annotate_server_dry_run(fake, kubeconfig, runner):
    small_cluster(fake)
    result = runner.invoke(
        app, ["annotate", "pending", "192.168.10.150", "--kubeconfig", kubeconfig, "--dry-run=server"]
    )
    assert result.exit_code == 0, result.output
    (req,) = fake.calls("PATCH")
    assert ("dryRun", "All") in req.query
    assert "server dry run" in result.stdout
    assert LB_IPS not in fake.service("shop", "pending")["metadata"]["annotations"]


def test_cli_annotate_client_dry_run_sends_nothing(fake, kubeconfig, runner):
    small_cluster(fake)
    result = runner.invoke(
        app, ["annotate", "pending", "192.168.10.150", "--kubeconfig", kubeconfig, "--dry-run=client", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    assert fake.calls("PATCH") == []
    assert json.loads(result.stdout)["metadata"]["annotations"] == {LB_IPS: "192.168.10.150"}
    assert "nothing was written" in result.stderr


def test_cli_annotate_forbidden_patch(fake, kubeconfig, runner):
    small_cluster(fake)
    fake.forbidden = {("patch", "services")}
    result = runner.invoke(app, ["annotate", "pending", "192.168.10.150", "--kubeconfig", kubeconfig])
    assert result.exit_code == 3
    assert 'cannot patch resource "services" in API group "" in the namespace "shop"' in result.stderr


def test_the_next_page_is_asked_for_while_this_one_is_decoded(fake, kubeconfig, monkeypatch):
    """The continue token is read from the head of each answer and the next page
    requested (by a kubectl of its own) while this one is decoded."""
    for i in range(1200):
        fake.add_service(service(f"ns{i % 7}", f"svc-{i:04d}"))
    client = connect(kubeconfig)
    started = []
    real = client.door.start_get

    def counting(path, query=()):
        started.append(dict(query).get("continue"))
        return real(path, query)

    monkeypatch.setattr(client.door, "start_get", counting)
    services = client.list_all(SERVICES, live.trim_service)
    assert len(services) == 1200
    calls = fake.calls("GET", SERVICES)
    assert [c.param("continue") for c in calls] == started  # each page once, the next one early
    assert started[0] is None and all(started[1:]) and len(started) == 3


def test_continue_token_read_from_the_head_of_an_answer():
    head = b'{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"eyJ2Ij\\u003d"},'
    assert live._guess_continue(head + b'"items":[]}') == "eyJ2Ij="
    assert live._guess_continue(b'{"metadata":{"resourceVersion":"9"},"items":[{"continue":"x"}]}') == ""
    assert live._guess_continue(b'{"metadata":{"continue":7},"items":[]}') == ""
    assert live._guess_continue(b"") == "" and live._guess_continue(b"<html>") == ""


def test_a_wrong_guess_of_the_token_is_dropped(fake, kubeconfig, monkeypatch):
    for i in range(1200):
        fake.add_service(service(f"ns{i % 7}", f"svc-{i:04d}"))
    monkeypatch.setattr(live, "_guess_continue", lambda payload: "bogus")
    services = connect(kubeconfig).list_all(SERVICES, live.trim_service)
    assert len(services) == 1200  # the guesses' kubectl runs are stopped; the real tokens followed
    tokens = [c.param("continue") for c in fake.calls("GET", SERVICES)]
    assert len([t for t in tokens if t and t != "bogus"]) == 2

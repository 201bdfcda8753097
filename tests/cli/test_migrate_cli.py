"""migrate end to end: -f to stdout, --in-place (comments, other documents, JSON,
List), the live write path against an in-memory API (confirmation, dry runs, 409
re-read, one failure among many, 403, backup and restore, idempotence) and
--configmap."""

import copy
import json
import os

import pytest
import yaml
from builders import pool, snapshot, svc
from clirunner import CliRunner

from kubectl_lbip import printer
from kubectl_lbip.cli import app
from kubectl_lbip.commands import outcomes
from kubectl_lbip.errors import ClusterError, ConflictError, UsageError
from kubectl_lbip.model.patches import apply_merge_patch

OLD = "metallb.universe.tf/"
NEW = "metallb.io/"
POOL = pool("prod", "192.168.10.0/24", "fd00:10::/64")
runner = CliRunner()
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cluster.yaml")


def run(*args, **kw):
    return runner.invoke(app, ["migrate", *args], **kw)


def annotations(obj):
    return obj["metadata"].get("annotations") or {}


# --- -f: nothing talks to a cluster
def test_files_print_every_object_in_input_order_changed_or_not(tmp_path):
    objects = [
        POOL,
        svc("shop", "web", annotations={OLD + "loadBalancerIPs": "192.168.10.7"}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        svc("legacy", "dns", lb_ip="192.168.10.53"),
    ]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    r = run("-f", str(path))
    assert r.exit_code == 0, r.stderr
    out = list(yaml.safe_load_all(r.stdout))
    assert [o["kind"] for o in out] == ["IPAddressPool", "Service", "ConfigMap", "Service"]
    assert out[0] == POOL and out[2] == objects[2]
    assert annotations(out[1]) == {NEW + "loadBalancerIPs": "192.168.10.7"}
    assert annotations(out[3]) == {NEW + "loadBalancerIPs": "192.168.10.53"}
    assert "loadBalancerIP" not in out[3]["spec"]
    assert "spec.loadBalancerIP" in r.stderr and "2 migrated" in r.stderr


def test_files_kind_list_example_patched_inside_the_list():
    r = run("-f", EXAMPLE)
    assert r.exit_code == 0, r.stderr
    [doc] = list(yaml.safe_load_all(r.stdout))
    assert doc["kind"] == "List"
    items = {f"{o['metadata'].get('namespace')}/{o['metadata']['name']}": o for o in doc["items"]}
    assert annotations(items["monitoring/grafana"]) == {
        NEW + "ip-allocated-from-pool": "production",
        NEW + "loadBalancerIPs": "192.168.10.20",
    }
    assert annotations(items["legacy/dns"])[NEW + "loadBalancerIPs"] == "192.168.10.53"
    assert "loadBalancerIP" not in items["legacy/dns"]["spec"]


def test_files_twice_change_nothing_the_second_time(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        yaml.safe_dump_all(
            [POOL, svc("legacy", "dns", lb_ip="192.168.10.53", annotations={OLD + "allow-shared-ip": "k"})]
        )
    )
    first = run("-f", str(path))
    again = tmp_path / "again.yaml"
    again.write_text(first.stdout)
    second = run("-f", str(again))
    assert second.exit_code == 0
    assert list(yaml.safe_load_all(second.stdout)) == list(yaml.safe_load_all(first.stdout))
    assert "nothing to migrate" in second.stderr


def test_files_conflict_is_left_unchanged_and_exits_1(tmp_path):
    obj = svc(
        "shop", "web", annotations={OLD + "loadBalancerIPs": "192.168.10.7", NEW + "loadBalancerIPs": "192.168.10.8"}
    )
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all([POOL, obj]))
    r = run("-f", str(path))
    assert r.exit_code == 1
    assert list(yaml.safe_load_all(r.stdout))[1] == obj
    assert "192.168.10.7" in r.stderr and "192.168.10.8" in r.stderr and "1 in conflict" in r.stderr


def test_files_warn_with_the_rule_when_metallb_would_not_keep_the_request(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all([POOL, svc("shop", "web", lb_ip="10.9.9.9")]))
    r = run("-f", str(path))
    assert r.exit_code == 0
    assert "warning: [not-in-pool] shop/web" in r.stderr


def test_files_namespace_narrows_what_is_migrated(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all([svc("a", "x", lb_ip="192.168.10.1"), svc("b", "y", lb_ip="192.168.10.2")]))
    out = list(yaml.safe_load_all(run("-f", str(path), "-n", "b").stdout))
    assert out[0]["spec"]["loadBalancerIP"] == "192.168.10.1"
    assert "loadBalancerIP" not in out[1]["spec"]


IN_PLACE = """\
# shop services
apiVersion: v1
kind: Service
metadata:
  name: web   # the storefront
  namespace: shop
  annotations:
    # pinned by ops
    metallb.universe.tf/loadBalancerIPs: "192.168.10.5"  # do not change
    example.com/owner: team-a
spec:
  type: LoadBalancer
  ports:
    - port: 80   # http
      protocol: TCP
---
# untouched
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
data:
  k:    "v"
---
apiVersion: v1
kind: Service
metadata:
  name: dns
  namespace: legacy
spec:
  type: LoadBalancer
  loadBalancerIP: 192.168.10.53   # old style
  ports:
    - port: 53
"""


def test_in_place_keeps_comments_order_quotes_and_other_documents(tmp_path):
    path = tmp_path / "svc.yaml"
    path.write_text(IN_PLACE)
    r = run("-f", str(path), "--in-place")
    assert r.exit_code == 0, r.stderr
    text = path.read_text()
    assert text.startswith("# shop services\n")
    assert (
        '    # pinned by ops\n    metallb.io/loadBalancerIPs: "192.168.10.5"  # do not change\n'
        "    example.com/owner: team-a\n" in text
    )
    assert "  name: web   # the storefront\n" in text
    assert "    - port: 80   # http\n" in text
    assert (
        '---\n# untouched\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  k:    "v"\n---\n' in text
    )  # byte for byte
    dns = list(yaml.safe_load_all(text))[2]
    assert annotations(dns) == {NEW + "loadBalancerIPs": "192.168.10.53"}
    assert "loadBalancerIP" not in dns["spec"]
    assert "universe" not in text
    # a second run finds nothing and leaves the file as it is
    before = path.read_text()
    assert run("-f", str(path), "--in-place").exit_code == 0
    assert path.read_text() == before


def test_in_place_dry_run_client_writes_nothing(tmp_path):
    path = tmp_path / "svc.yaml"
    path.write_text(IN_PLACE)
    r = run("-f", str(path), "--in-place", "--dry-run=client")
    assert r.exit_code == 0
    assert path.read_text() == IN_PLACE
    assert "would be rewritten" in r.stderr


def test_in_place_json_keeps_its_indentation_and_handles_lists(tmp_path):
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [svc("shop", "web", annotations={OLD + "address-pool": "prod", "z": "1"}), svc("shop", "db")],
    }
    path = tmp_path / "svc.json"
    path.write_text(json.dumps(doc, indent=4) + "\n")
    r = run("-f", str(path), "--in-place", "-o", "json")
    assert r.exit_code == 0, r.stderr
    text = path.read_text()
    assert text.endswith("}\n") and '\n    "kind": "List"' in text
    web = json.loads(text)["items"][0]
    assert list(annotations(web)) == [NEW + "address-pool", "z"]
    assert json.loads(text)["items"][1] == doc["items"][1]
    plan = json.loads(r.stdout)
    assert plan["plan"] == [
        {
            "namespace": "shop",
            "name": "web",
            "status": "planned",
            "changes": [{"from": OLD + "address-pool", "to": NEW + "address-pool", "value": "prod", "action": "move"}],
        }
    ]
    assert plan["summary"] == {"migrated": 1, "skipped": 0, "conflicts": 0, "failed": 0}


def test_in_place_yaml_list_items(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n"
        "  metadata:\n    name: web\n    namespace: shop\n  spec:\n    type: LoadBalancer\n"
        "    loadBalancerIP: 192.168.10.9\n"
    )
    assert run("-f", str(path), "--in-place").exit_code == 0
    assert path.read_text() == (
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n"
        "  metadata:\n    name: web\n    namespace: shop\n"
        "    annotations:\n      metallb.io/loadBalancerIPs: 192.168.10.9\n"
        "  spec:\n    type: LoadBalancer\n"
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["--in-place"], "--in-place rewrites the files"),
        (["-f", "-", "--in-place"], "standard input"),
        (["-f", "x.yaml", "--backup", "b.json"], "--backup and --restore are for a cluster"),
        (["--configmap", "--in-place", "-f", "x.yaml"], "--configmap only prints"),
    ],
)
def test_option_mistakes_are_usage_errors(args, message):
    r = run(*args)
    assert r.exit_code == 2 and message in r.stderr


# --- live: an in-memory API server
class FakeApi:
    """Services by namespace/name; a patch must carry the current resourceVersion
    (else 409) and bumps it, as the API server does."""

    namespace = "default"

    def __init__(self, *objects, configmap=None):
        self.pools = [o for o in objects if o["kind"] == "IPAddressPool"]
        self.services = {
            f"{o['metadata']['namespace']}/{o['metadata']['name']}": copy.deepcopy(o)
            for o in objects
            if o["kind"] == "Service"
        }
        self.configmap = configmap
        self.failures = {}  # key -> exception raised by the next patch
        self.before_patch = None  # a concurrent writer
        self.patches = []
        self.version = 1000
        self.server, self.context = "https://fake.example:6443", "fake"

    def snapshot(self, events=False):
        return snapshot(*self.pools, *copy.deepcopy(list(self.services.values())))

    def get_service(self, namespace, name):
        return copy.deepcopy(self.services[f"{namespace}/{name}"])

    def patch_service(self, namespace, name, patch, dry_run=False):
        key = f"{namespace}/{name}"
        self.patches.append((key, copy.deepcopy(patch), dry_run))
        if self.before_patch:
            hook, self.before_patch = self.before_patch, None
            hook(self)
        if key in self.failures:
            raise self.failures.pop(key)
        current = self.services[key]
        if patch["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise ConflictError("the object has been modified")
        if dry_run:
            return current
        self.bump(key, patch)
        return self.services[key]

    def bump(self, key, patch):
        body = copy.deepcopy(patch)
        body["metadata"].pop("resourceVersion")
        self.version += 1
        self.services[key] = apply_merge_patch(self.services[key], body)
        self.services[key]["metadata"]["resourceVersion"] = str(self.version)

    def get_configmap(self, namespace, name):
        from kubectl_lbip.snapshot.live import NotFound

        if self.configmap is None:
            raise NotFound(f"{namespace}/{name}")
        assert (namespace, name) == ("metallb-system", "config")
        return self.configmap


def many(n, **kw):
    return [
        svc("shop", f"web{i:02}", annotations={OLD + "loadBalancerIPs": f"192.168.10.{i + 1}"}, **kw) for i in range(n)
    ]


def test_live_refuses_without_yes_when_stdin_is_not_a_terminal(live):
    api = live(FakeApi(POOL, *many(2)))
    r = run()
    assert r.exit_code == 2 and "--yes" in r.stderr and "--dry-run" in r.stderr
    assert api.patches == []
    assert "metallb.universe.tf/loadBalancerIPs" in r.stdout  # the plan was shown


def test_live_asks_on_a_terminal_and_no_means_nothing_written(live, mocker):
    api = live(FakeApi(POOL, *many(1)))
    mocker.patch.object(outcomes, "stdin_is_tty", return_value=True)
    r = run(input="n\n")
    assert r.exit_code == 1 and api.patches == [] and "Migrate 1 service(s)?" in r.stderr
    r = run("-o", "json", input="n\n")  # the plan is shown on stderr before the question
    assert r.exit_code == 1 and "metallb.universe.tf/loadBalancerIPs" in r.stderr
    r = run(input="y\n")
    assert r.exit_code == 0 and len(api.patches) == 1


def test_live_patches_each_service_once_with_its_resource_version(live):
    objs = many(2) + [svc("legacy", "dns", lb_ip="192.168.10.53", rv="77"), svc("shop", "plain")]
    api = live(FakeApi(POOL, *objs))
    r = run("--yes")
    assert r.exit_code == 0, r.stderr
    assert [(k, p["metadata"]["resourceVersion"]) for k, p, _ in api.patches] == [
        ("legacy/dns", "77"),
        ("shop/web00", "100"),
        ("shop/web01", "100"),
    ]
    assert api.services["legacy/dns"]["metadata"]["annotations"] == {NEW + "loadBalancerIPs": "192.168.10.53"}
    assert "loadBalancerIP" not in api.services["legacy/dns"]["spec"]
    assert "3 migrated, 0 skipped, 0 in conflict, 0 failed" in r.stderr
    again = run("--yes")  # twice: nothing the second time
    assert again.exit_code == 0 and len(api.patches) == 3 and "nothing to migrate" in again.stderr


def test_live_namespace_filter(live):
    api = live(FakeApi(POOL, *many(1), svc("other", "x", lb_ip="192.168.10.99")))
    assert run("--yes", "-n", "other").exit_code == 0
    assert [k for k, _, _ in api.patches] == ["other/x"]


def test_live_dry_run_client_writes_nothing_and_reports_json(live):
    api = live(FakeApi(POOL, *many(2)))
    r = run("--dry-run=client", "-o", "json")
    assert r.exit_code == 0 and api.patches == []
    doc = json.loads(r.stdout)
    assert doc["dryRun"] == "client" and [p["status"] for p in doc["plan"]] == ["planned", "planned"]
    assert doc["summary"] == {"migrated": 2, "skipped": 0, "conflicts": 0, "failed": 0}


def test_live_dry_run_server_sends_every_patch_with_dry_run(live):
    api = live(FakeApi(POOL, *many(2)))
    r = run("--dry-run=server")  # nothing persists: no question asked
    assert r.exit_code == 0, r.stderr
    assert [d for _, _, d in api.patches] == [True, True]
    assert OLD + "loadBalancerIPs" in api.services["shop/web00"]["metadata"]["annotations"]


def test_live_conflict_409_rereads_and_replans_with_the_new_resource_version(live, mocker):
    api = live(FakeApi(POOL, *many(1)))

    def concurrent_label(server):
        server.services["shop/web00"]["metadata"]["labels"] = {"team": "a"}
        server.services["shop/web00"]["metadata"]["resourceVersion"] = "200"

    api.before_patch = concurrent_label
    reads = mocker.spy(api, "get_service")
    r = run("--yes")
    assert r.exit_code == 0, r.stderr
    assert [p["metadata"]["resourceVersion"] for _, p, _ in api.patches] == ["100", "200"]
    reads.assert_called_once_with("shop", "web00")
    assert api.services["shop/web00"]["metadata"]["labels"] == {"team": "a"}  # not clobbered
    assert "changed since it was read" in r.stderr


def test_live_409_that_became_a_conflict_is_not_written(live):
    api = live(FakeApi(POOL, *many(1)))

    def someone_sets_the_new_key(server):
        server.bump(
            "shop/web00",
            {"metadata": {"resourceVersion": "x", "annotations": {NEW + "loadBalancerIPs": "192.168.10.200"}}},
        )

    api.before_patch = someone_sets_the_new_key
    r = run("--yes", "-o", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["plan"][0]["status"] == "conflict"
    assert doc["conflicts"][0]["values"] == {
        NEW + "loadBalancerIPs": "192.168.10.200",
        OLD + "loadBalancerIPs": "192.168.10.1",
    }
    assert len(api.patches) == 1  # the second plan wrote nothing


def test_live_one_failing_service_does_not_stop_the_others(live):
    api = live(FakeApi(POOL, *many(4)))
    api.failures["shop/web01"] = ClusterError('forbidden: cannot patch services in the namespace "shop"')
    api.failures["shop/web02"] = UsageError("the API server refused the change: invalid")  # 422
    r = run("--yes", "-o", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert [p["status"] for p in doc["plan"]] == ["migrated", "failed", "failed", "migrated"]
    assert "forbidden" in doc["plan"][1]["error"]
    assert doc["summary"] == {"migrated": 2, "skipped": 0, "conflicts": 0, "failed": 2}
    assert NEW + "loadBalancerIPs" in api.services["shop/web03"]["metadata"]["annotations"]
    assert "error: shop/web01: forbidden" in r.stderr


def test_live_conflicting_service_listed_and_exit_1_others_migrated(live):
    bad = svc("shop", "bad", annotations={OLD + "allow-shared-ip": "a", NEW + "allow-shared-ip": "b"})
    api = live(FakeApi(POOL, bad, *many(1)))
    r = run("--yes")
    assert r.exit_code == 1
    assert [k for k, _, _ in api.patches] == ["shop/web00"]
    assert "Conflicts" in r.stdout and "1 in conflict" in r.stderr


def test_backup_then_restore_puts_everything_back(live, tmp_path):
    originals = [
        svc(
            "shop",
            "web",
            rv="5",
            annotations={
                OLD + "loadBalancerIPs": "192.168.10.7",
                OLD + "allow-shared-ip": "k",
                NEW + "address-pool": "prod",
                "keep/me": "x",
            },
        ),
        svc("legacy", "dns", rv="6", lb_ip="192.168.10.53"),
    ]
    api = live(FakeApi(POOL, *originals))
    backup = tmp_path / "before.json"
    assert run("--yes", "--backup", str(backup)).exit_code == 0
    saved = json.loads(backup.read_text())
    assert saved["kind"] == "kubectl-lbip-migrate-backup"
    assert {(s["namespace"], s["name"], s["resourceVersion"]) for s in saved["services"]} == {
        ("shop", "web", "5"),
        ("legacy", "dns", "6"),
    }
    assert saved["services"][0]["loadBalancerIP"] == "192.168.10.53"
    assert OLD + "loadBalancerIPs" not in api.services["shop/web"]["metadata"]["annotations"]

    r = run("--restore", str(backup), "--yes")
    assert r.exit_code == 0, r.stderr
    for original in originals:
        key = f"{original['metadata']['namespace']}/{original['metadata']['name']}"
        now = api.services[key]
        assert annotations(now) == annotations(original)
        assert now["spec"].get("loadBalancerIP") == original["spec"].get("loadBalancerIP")
    restore_patches = api.patches[2:]
    assert all(p["metadata"]["resourceVersion"] != "5" for _, p, _ in restore_patches)
    again = run("--restore", str(backup), "--yes")
    assert again.exit_code == 0 and len(api.patches) == 4 and "2 already as backed up" in again.stderr


def test_backup_is_not_written_on_a_client_dry_run(live, tmp_path):
    live(FakeApi(POOL, *many(1)))
    backup = tmp_path / "b.json"
    assert run("--dry-run=client", "--backup", str(backup)).exit_code == 0
    assert not backup.exists()


def test_backup_never_overwrites_an_older_one(live, tmp_path):
    api = live(FakeApi(POOL, *many(1)))
    backup = tmp_path / "b.json"
    backup.write_text("older")
    r = run("--yes", "--backup", str(backup))
    assert r.exit_code == 2 and "already exists" in r.stderr
    assert backup.read_text() == "older" and api.patches == []


def test_restore_rereads_on_409(live, tmp_path, mocker):
    api = live(FakeApi(POOL, svc("shop", "web", lb_ip="192.168.10.7")))
    backup = tmp_path / "b.json"
    run("--yes", "--backup", str(backup))
    api.before_patch = lambda server: server.bump(
        "shop/web", {"metadata": {"resourceVersion": "x", "labels": {"l": "1"}}}
    )
    r = run("--restore", str(backup), "--yes")
    assert r.exit_code == 0, r.stderr
    assert api.services["shop/web"]["spec"]["loadBalancerIP"] == "192.168.10.7"
    assert api.services["shop/web"]["metadata"]["labels"] == {"l": "1"}
    assert "metallb.io/loadBalancerIPs" not in annotations(api.services["shop/web"])


def test_restore_refuses_a_file_that_is_not_a_backup(live, tmp_path):
    live(FakeApi(POOL))
    path = tmp_path / "x.json"
    path.write_text('{"kind": "List"}')
    r = run("--restore", str(path), "--yes")
    assert r.exit_code == 2 and "not a kubectl-lbip migrate backup" in r.stderr


def test_progress_counter_only_on_a_terminal_with_many_services(mocker, capsys):
    mocker.patch("sys.stderr.isatty", return_value=True)
    quiet, counting = printer.Progress(20, "migrating"), printer.Progress(21, "migrating")
    quiet.step(1)
    counting.step(1)
    counting.step(21)
    counting.close()
    assert capsys.readouterr().err == "\rmigrating 1/21\rmigrating 21/21\n"


# --- the legacy ConfigMap
LEGACY_CONFIG = """\
peers:
- peer-address: 10.0.0.1
  peer-asn: 64501
  my-asn: 64500
address-pools:
- name: l2-space
  protocol: layer2
  addresses: [192.168.10.0/24]
  auto-assign: false
- name: bgp-space
  protocol: bgp
  addresses: [198.51.100.0/24]
  avoid-buggy-ips: true
  bgp-advertisements:
  - aggregation-length: 32
    localpref: 100
    communities: ["64512:1"]
"""
CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "config", "namespace": "metallb-system"},
    "data": {"config": LEGACY_CONFIG},
}


def check_converted(objects):
    kinds = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert kinds == [
        ("IPAddressPool", "l2-space"),
        ("IPAddressPool", "bgp-space"),
        ("L2Advertisement", "l2-space-l2"),
        ("BGPAdvertisement", "bgp-space-bgp"),
    ]
    assert objects[0]["spec"] == {"addresses": ["192.168.10.0/24"], "autoAssign": False}
    assert objects[1]["spec"] == {"addresses": ["198.51.100.0/24"], "avoidBuggyIPs": True}
    assert objects[3]["spec"] == {
        "aggregationLength": 32,
        "localPref": 100,
        "communities": ["64512:1"],
        "ipAddressPools": ["bgp-space"],
    }


def test_configmap_from_files_printed_for_review(tmp_path):
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump(CONFIGMAP))
    r = run("--configmap", "-f", str(path))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("# Converted from ConfigMap metallb-system/config")
    check_converted(list(yaml.safe_load_all(r.stdout)))
    assert "1 BGP peer(s) not converted" in r.stderr


def test_configmap_from_files_with_a_bad_data_config_names_the_file_and_document(tmp_path):
    """Its inner YAML is read when it is converted: the error says where the ConfigMap was."""
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "default"}, "data": {}}
    bad = copy.deepcopy(CONFIGMAP)
    bad["data"]["config"] = "address-pools:\n- name: a\n  addresses: 10.0.0.0/24\n"
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump_all([other, bad]))
    r = run("--configmap", "-f", str(path))
    assert r.exit_code == 2 and "Traceback" not in r.stderr, r.stderr
    assert (
        f"error: {path}: document 2: ConfigMap metallb-system/config: data.config: "
        "field address-pools[0].addresses: expected a list"
    ) in r.stderr


def test_configmap_live_read_and_json(live):
    api = live(FakeApi(configmap=CONFIGMAP))
    r = run("--configmap", "-o", "json")
    assert r.exit_code == 0, r.stderr
    check_converted(json.loads(r.stdout)["items"])
    assert api.patches == []


def test_configmap_live_absent_is_a_cluster_error(live):
    live(FakeApi())
    r = run("--configmap")
    assert r.exit_code == 3 and "no legacy MetalLB ConfigMap metallb-system/config" in r.stderr

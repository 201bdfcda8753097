"""migrate --to cilium end to end on the shipped example (examples/migrate-to-cilium):
the plan, the objects, exit codes and --accept, --in-place (comments and order
kept, the objects in a new file), and the live path against an in-memory API
(objects on stdout, the cut-over on stderr, --backup then --restore)."""

import copy
import json
import os
import shutil

import pytest
import yaml
from builders import pool, snapshot, svc
from clirunner import CliRunner

from kubectl_lbip.cli import app
from kubectl_lbip.model import cilium, tocilium
from kubectl_lbip.model.patches import apply_merge_patch
from kubectl_lbip.model.tocilium import POOL_LABEL

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "migrate-to-cilium")
runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["migrate", "--to", "cilium", *args])


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d and d.get("kind") == kind}


def test_files_print_the_services_changed_then_the_cilium_objects():
    r = run("-f", EXAMPLE)
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    kinds = [d["kind"] for d in docs]
    assert kinds[-5:] == ["CiliumLoadBalancerIPPool"] * 3 + ["CiliumL2AnnouncementPolicy"] * 2
    services = by_kind(docs, "Service")
    assert services["db"]["metadata"]["labels"] == {POOL_LABEL: "reserved"}
    assert services["db"]["metadata"]["annotations"][cilium.IPS_KEY] == "192.168.20.12"
    assert (
        services["db"]["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.20.12"
    )  # kept till the end
    assert services["dns-udp"]["metadata"]["annotations"][cilium.CROSS_NAMESPACE_KEY] == "edge"
    pools = by_kind(docs, "CiliumLoadBalancerIPPool")
    assert pools["payments"]["spec"]["blocks"] == [{"start": "10.20.0.1", "stop": "10.20.0.254"}]
    assert "Cut-over" in r.stderr and "6 keep their addresses" in r.stderr


def test_files_plan_as_json():
    r = run("-f", EXAMPLE, "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["cilium"] == cilium.text(cilium.NEWEST)
    assert doc["summary"]["keep"] == 6 and doc["summary"]["move"] == 0 and doc["summary"]["errors"] == 0
    api = next(s for s in doc["services"] if s["name"] == "api")
    assert api["keeps"] is True and api["gains"] == ["fd00:10::1"]
    assert [x["code"] for x in doc["losses"] if x["subject"] == "service payments/api"] == ["to-cilium-accepted"]
    assert [s["step"] for s in doc["steps"]][1].startswith("stop MetalLB")


def test_an_error_exits_1_unless_accepted_by_name():
    r = run("-f", EXAMPLE, "--cilium-version", "v1.15.19")
    assert r.exit_code == 1
    assert "error: [to-cilium-refused] service infra/dns-udp" in r.stderr
    ok = run("-f", EXAMPLE, "--cilium-version", "v1.15.19", "--accept", "to-cilium-refused,to-cilium-priority")
    assert ok.exit_code == 0, ok.stderr
    assert "accepted: [to-cilium-refused] service infra/dns-udp" in ok.stderr
    assert "io.cilium/lb-ipam-ips: 192.168.20.12" in ok.stdout


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "manifests"
    shutil.copytree(EXAMPLE, target)
    return target


def test_in_place_keeps_comments_and_order_and_writes_the_objects_beside(folder):
    metallb = (folder / "metallb.yaml").read_bytes()
    r = run("-f", str(folder), "--in-place")
    assert r.exit_code == 0, r.stderr
    assert (folder / "metallb.yaml").read_bytes() == metallb  # no Service in it: untouched
    text = (folder / "services.yaml").read_text()
    assert "metallb.io/loadBalancerIPs: 192.168.20.12  # pinned by the DBA team" in text
    assert text.startswith("# The services, with the addresses MetalLB gave them")
    assert "ports: [{port: 5432, protocol: TCP}]" in text  # flow style kept
    objects = list(yaml.safe_load_all((folder / "cilium-lb-ipam.yaml").read_text()))
    assert [o["kind"] for o in objects].count("CiliumLoadBalancerIPPool") == 3
    assert "cilium-lb-ipam.yaml" in r.stdout and "cilium-lb-ipam.yaml" in r.stderr
    os.remove(folder / "cilium-lb-ipam.yaml")
    again = run("-f", str(folder), "--in-place")  # the services have their keys: only the objects are written
    assert again.exit_code == 0 and "rewrote" not in again.stderr
    assert (folder / "services.yaml").read_text() == text


def test_in_place_never_overwrites_the_objects_file(folder):
    (folder / "cilium-lb-ipam.yaml").write_text("# mine\n")
    before = (folder / "services.yaml").read_bytes()
    r = run("-f", str(folder), "--in-place")
    assert r.exit_code == 2 and "already exists" in r.stderr
    assert (folder / "services.yaml").read_bytes() == before


def test_in_place_with_an_error_not_accepted_writes_nothing(folder):
    before = (folder / "services.yaml").read_bytes()
    r = run("-f", str(folder), "--in-place", "--cilium-version", "1.15")
    assert r.exit_code == 1 and "nothing was written" in r.stderr
    assert (folder / "services.yaml").read_bytes() == before
    assert not (folder / "cilium-lb-ipam.yaml").exists()


def test_in_place_dry_run_writes_nothing(folder):
    before = (folder / "services.yaml").read_bytes()
    r = run("-f", str(folder), "--in-place", "--dry-run=client")
    assert r.exit_code == 0 and "would be rewritten" in r.stderr
    assert (folder / "services.yaml").read_bytes() == before
    assert not (folder / "cilium-lb-ipam.yaml").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--accept", "pool-overlap"], "is not a code of --to cilium"),
        (["--cilium-version", "banana"], "--cilium-version"),
        (["--backup", "x.json"], "--backup and --restore are for a cluster"),
        (["--yes"], "writes nothing to the cluster"),
    ],
)
def test_option_mistakes_are_usage_errors(args, message):
    r = run("-f", EXAMPLE, *args)
    assert r.exit_code == 2 and message in r.stderr, r.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--restore", "x.json"], "does not go with --restore"),
        (["--configmap"], "does not go with --restore or --configmap"),
        (["--dry-run=server"], "writes nothing to the cluster"),
    ],
)
def test_live_option_mistakes_are_refused_before_reading(args, message, mocker):
    api = mocker.MagicMock()
    mocker.patch("kubectl_lbip.snapshot.live.connect", return_value=api)
    r = run(*args)
    assert r.exit_code == 2 and message in r.stderr, r.stderr
    assert not api.snapshot.called


def test_files_without_pools_are_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(svc("a", "b")))
    r = run("-f", str(path))
    assert r.exit_code == 2 and "no IPAddressPool" in r.stderr


# --- live, against an in-memory API
class FakeApi:
    namespace = "default"

    def __init__(self, *objects):
        self.objects = [o for o in objects if o["kind"] != "Service"]
        self.services = {
            f"{o['metadata']['namespace']}/{o['metadata']['name']}": copy.deepcopy(o)
            for o in objects
            if o["kind"] == "Service"
        }
        for i, o in enumerate(self.services.values()):
            o["metadata"]["uid"] = f"uid-{i}"
        self.patches = []
        self.server, self.context = "https://fake.example:6443", "fake"

    def snapshot(self, events=False, **kw):
        snap = snapshot(*self.objects, *copy.deepcopy(list(self.services.values())))
        snap.live = True
        return snap

    def get_service(self, namespace, name):
        return copy.deepcopy(self.services[f"{namespace}/{name}"])

    def patch_service(self, namespace, name, patch, dry_run=False):
        key = f"{namespace}/{name}"
        self.patches.append((key, patch))
        body = copy.deepcopy(patch)
        body["metadata"].pop("resourceVersion", None)
        self.services[key] = apply_merge_patch(self.services[key], body)
        return self.services[key]


LIVE = (
    pool("prod", "192.168.10.0/24"),
    svc("shop", "db", annotations={"metallb.universe.tf/loadBalancerIPs": "192.168.10.7"}, ingress=["192.168.10.7"]),
    svc("shop", "web", ingress=["192.168.10.0"]),
)


def test_live_prints_the_objects_and_the_cut_over_and_writes_nothing(live):
    api = live(FakeApi(*LIVE))
    r = run()
    assert r.exit_code == 0, r.stderr
    [obj] = list(yaml.safe_load_all(r.stdout))
    assert obj["kind"] == "CiliumLoadBalancerIPPool" and obj["spec"]["allowFirstLastIPs"] == "Yes"
    assert f"kubectl -n shop annotate service db {cilium.IPS_KEY}=192.168.10.7" in r.stderr
    assert "kubectl -n metallb-system scale deployment controller --replicas=0" in r.stderr
    assert api.patches == []


def test_live_namespace_is_refused(live):
    live(FakeApi(*LIVE))
    r = run("-n", "shop")
    assert r.exit_code == 2 and "whole cluster" in r.stderr


def test_live_backup_then_restore_puts_metallbs_keys_back(live, tmp_path):
    api = live(FakeApi(*LIVE))
    backup = tmp_path / "before.json"
    assert run("--backup", str(backup)).exit_code == 0
    saved = json.loads(backup.read_text())
    assert [(e["name"], e["annotations"]) for e in saved["services"]] == [
        ("db", {"metallb.universe.tf/loadBalancerIPs": "192.168.10.7"})
    ]
    # the cut-over's last step removes MetalLB's keys; restore brings them back
    api.services["shop/db"]["metadata"]["annotations"] = {cilium.IPS_KEY: "192.168.10.7"}
    r = runner.invoke(app, ["migrate", "--restore", str(backup), "--yes"])
    assert r.exit_code == 0, r.stderr
    assert api.services["shop/db"]["metadata"]["annotations"] == {
        cilium.IPS_KEY: "192.168.10.7",
        "metallb.universe.tf/loadBalancerIPs": "192.168.10.7",
    }
    again = run("--backup", str(backup))
    assert again.exit_code == 2 and "already exists" in again.stderr


# --- --apply, against an in-memory cluster whose "operator" adopts the addresses
class FakeCluster(FakeApi):
    def __init__(self, *objects, crds=True, existing=(), moves=None, stuck=False, images=None):
        super().__init__(*objects)
        self.crds, self.existing, self.moves, self.stuck = crds, list(existing), dict(moves or {}), stuck
        self.images = images or {"controller": ["quay.io/metallb/controller:v0.14.9"], "other": ["nginx:1"]}
        self.replicas, self.created, self.log = 1, [], []
        self.pools: dict = {}  # the CiliumLoadBalancerIPPools created, by name

    def extend_deadline(self, seconds):
        pass

    def patch_service(self, namespace, name, patch, dry_run=False):
        self.log.append(("PATCH", f"service {namespace}/{name}", dry_run))
        if dry_run:
            return self.services[f"{namespace}/{name}"]
        return super().patch_service(namespace, name, patch)

    def request(self, method, path, query=None, body=None, content_type="application/json"):
        from kubectl_lbip.errors import NotFound

        dry = bool(query)
        self.log.append((method, path, dry))
        if method == "GET" and path in ("/apis/cilium.io/v2", "/apis/cilium.io/v2alpha1"):
            if not self.crds:
                raise NotFound(path)
            return {"resources": [{"name": n} for n in tocilium.PLURALS.values()]}
        if method == "GET" and path.endswith("/ciliumloadbalancerippools"):
            return {"items": self.existing}
        if method == "GET" and "/ciliumloadbalancerippools/" in path:
            name = path.rsplit("/", 1)[1]
            if name not in self.pools:
                raise NotFound(path)
            return self.pools[name]
        if method == "GET" and path.startswith("/apis/cilium.io/"):
            raise NotFound(path)
        if path == "/apis/apps/v1/namespaces/metallb-system/deployments":
            return {
                "items": [
                    {
                        "metadata": {"name": n},
                        "spec": {"template": {"spec": {"containers": [{"image": i} for i in imgs]}}},
                    }
                    for n, imgs in self.images.items()
                ]
            }
        if path.endswith("/deployments/controller"):
            if method == "PATCH" and not dry and not self.stuck:
                self.replicas = 0
            return {"metadata": {"generation": 2}, "status": {"replicas": self.replicas, "observedGeneration": 2}}
        if method == "POST":
            self.created.append((body["kind"], dry))
            if body["kind"] == "CiliumLoadBalancerIPPool" and not dry:
                self.pools[body["metadata"]["name"]] = copy.deepcopy(body)
                self.operate()
            return body
        raise AssertionError((method, path))

    def operate(self):
        """As Cilium's operator does: an address a service holds is adopted as it is,
        with no condition written; a service Cilium gives another address gets the
        condition True; each pool's IPsUsed counts the addresses held."""
        for key, obj in self.services.items():
            if key in self.moves:
                obj["status"]["loadBalancer"]["ingress"] = [{"ip": ip} for ip in self.moves[key]]
                cond = {"type": cilium.CONDITION, "status": "True", "reason": "satisfied", "message": ""}
                obj["status"]["conditions"] = [cond]
        held = {i["ip"] for o in self.services.values() for i in o["status"]["loadBalancer"].get("ingress") or ()}
        for made in self.pools.values():
            used = {"type": cilium.IPS_USED, "status": "Unknown", "reason": "noreason", "message": str(len(held))}
            made["status"] = {"conditions": [used]}


def test_apply_runs_the_steps_in_order_and_checks_each_service(live):
    api = live(FakeCluster(*LIVE))
    r = run("--apply", "--yes")
    assert r.exit_code == 0, r.stderr
    assert api.services["shop/db"]["metadata"]["labels"] == {POOL_LABEL: "prod"}
    assert api.services["shop/db"]["metadata"]["annotations"][cilium.IPS_KEY] == "192.168.10.7"
    writes = [(m, p) for m, p, _ in api.log if m in ("PATCH", "POST")]
    assert writes == [
        ("PATCH", "service shop/db"),
        ("PATCH", "service shop/web"),
        ("PATCH", "/apis/apps/v1/namespaces/metallb-system/deployments/controller"),
        ("POST", "/apis/cilium.io/v2/ciliumloadbalancerippools"),
    ]
    assert "2 of 2 service(s) hold what the plan said" in r.stderr
    assert [d["kind"] for d in yaml.safe_load_all(r.stdout)] == ["CiliumLoadBalancerIPPool"]  # what it created


def test_apply_names_a_service_that_moved_and_exits_1(live):
    live(FakeCluster(*LIVE, moves={"shop/web": ["192.168.10.99"]}))
    r = run("--apply", "--yes")
    assert r.exit_code == 1
    assert "error: service shop/web: holds 192.168.10.99; the plan said 192.168.10.0" in r.stderr


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"crds": False}, "is not served: install Cilium first"),
        ({"existing": [{"metadata": {"name": "old"}}]}, "CiliumLoadBalancerIPPools exist already (old)"),
        ({"images": {"web": ["nginx:1"]}}, "none found, one expected"),
    ],
)
def test_apply_checks_everything_before_the_first_write(live, kw, message):
    api = live(FakeCluster(*LIVE, **kw))
    r = run("--apply", "--yes")
    assert r.exit_code == 3 and message in r.stderr, r.stderr
    assert not [entry for entry in api.log if entry[0] in ("PATCH", "POST")]


def test_apply_dry_run_server_sends_every_write_as_a_dry_run(live):
    api = live(FakeCluster(*LIVE))
    before = copy.deepcopy(api.services)
    r = run("--apply", "--dry-run=server")
    assert r.exit_code == 0, r.stderr
    writes = [entry for entry in api.log if entry[0] in ("PATCH", "POST")]
    assert writes and all(dry for _, _, dry in writes)
    assert api.services == before and api.replicas == 1


def test_apply_stops_before_metallb_when_a_service_changed_since_the_plan(live, mocker):
    api = live(FakeCluster(*LIVE))
    original = api.get_service

    def someone_repins(namespace, name):
        obj = original(namespace, name)
        if name == "db":
            obj["metadata"]["annotations"]["metallb.universe.tf/loadBalancerIPs"] = "192.168.10.8"
        return obj

    api.get_service = someone_repins
    r = run("--apply", "--yes")
    assert r.exit_code == 1 and "changed since the plan was made" in r.stderr
    assert not [entry for entry in api.log if "deployments/controller" in entry[1] or entry[0] == "POST"]


def test_apply_waits_with_a_deadline(live, mocker):
    mocker.patch("kubectl_lbip.commands.migrate_cilium_apply.WAIT_SECONDS", 0)
    api = live(FakeCluster(*LIVE, stuck=True))
    r = run("--apply", "--yes")
    assert r.exit_code == 3 and "1 pod(s) of deployment metallb-system/controller still running" in r.stderr
    assert api.created == []


def test_apply_refuses_a_plan_with_an_error_not_accepted(live):
    api = live(FakeCluster(pool("p", "10.0.0.0/24"), svc("a", "x", ingress=["192.0.2.1"])))
    r = run("--apply", "--yes")
    assert r.exit_code == 2 and "to-cilium-refused" in r.stderr and "nothing was written" in r.stderr
    assert not [entry for entry in api.log if entry[0] in ("PATCH", "POST")]


@pytest.mark.parametrize(
    "status",
    [
        "a string",
        {"loadBalancer": ["x"]},
        {"loadBalancer": {"ingress": "x"}},
        {"conditions": {"type": "x"}},
        {"loadBalancer": {"ingress": [{"ip": 5}]}},
    ],
)
def test_apply_a_hostile_status_is_one_line_not_a_traceback(live, status):
    api = live(FakeCluster(*LIVE))
    api.operate = lambda: [obj.__setitem__("status", status) for obj in api.services.values()]
    r = run("--apply", "--yes")
    assert r.exit_code == 3 and "service shop/db: status" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_the_printed_commands_quote_what_the_objects_say():
    """A sharing key is anything the object says: the commands stay one argument each."""
    import shlex

    from kubectl_lbip.model import tocilium as model
    from kubectl_lbip.model.services import Service

    obj = svc("shop", "x", annotations={"metallb.io/allow-shared-ip": "k; touch /tmp/owned $(id)"})
    mapping = model.map_service(Service.from_object(obj), "prod", {}, cilium.NEWEST)
    plan = model.Plan(cilium.NEWEST, [], [mapping], [])
    [command] = [c for s in model.cutover(plan, "metallb-system", "f.yaml") for c in s.commands if "annotate" in c][:1]
    assert shlex.split(command)[-1] == f"{cilium.SHARING_KEY}=k; touch /tmp/owned $(id)"


def test_apply_a_service_cilium_never_satisfies_is_named_at_the_deadline(live, mocker):
    mocker.patch("kubectl_lbip.commands.migrate_cilium_apply.WAIT_SECONDS", 0)
    api = live(FakeCluster(*LIVE))
    api.operate = lambda: None  # no operator: the pools are never counted
    r = run("--apply", "--yes")
    assert r.exit_code == 1
    assert "pool prod: cilium.io/IPsUsed not written, the plan 2" in r.stderr
    assert "error: service shop/web: Cilium has not counted its pools' addresses yet" in r.stderr
    assert "0 of 2 service(s) hold what the plan said" in r.stderr


def test_apply_an_adopted_service_needs_no_condition_but_a_false_one_is_named(live):
    """Found by Cilium's operator (v1.19.0) in the e2e tier: it writes no condition on a
    service whose address it adopts as it is, so the pools' counts say it holds them;
    a condition False once they are counted is a refusal, named."""
    api = live(FakeCluster(*LIVE))
    r = run("--apply", "--yes")
    assert r.exit_code == 0, r.stderr
    assert all("conditions" not in obj["status"] for obj in api.services.values())
    assert "2 of 2 service(s) hold what the plan said" in r.stderr

    api = live(FakeCluster(*LIVE))
    operate = api.operate

    def refuses_web():
        operate()
        cond = {"type": cilium.CONDITION, "status": "False", "reason": "already_allocated", "message": "taken"}
        api.services["shop/web"]["status"]["conditions"] = [cond]

    api.operate = refuses_web
    r = run("--apply", "--yes")
    assert r.exit_code == 1
    assert "error: service shop/web: cilium.io/IPAMRequestSatisfied False (already_allocated: taken)" in r.stderr


@pytest.mark.parametrize("message", ["many", None, 7])
def test_apply_a_hostile_pool_count_is_one_line_not_a_traceback(live, message):
    api = live(FakeCluster(*LIVE))
    operate = api.operate

    def hostile():
        operate()
        for made in api.pools.values():
            made["status"]["conditions"][0]["message"] = message

    api.operate = hostile
    r = run("--apply", "--yes")
    assert r.exit_code == 3 and "cilium.io/IPsUsed's message is not a count" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "labels",
    [
        "labels: &common {app: web}",  # anchored: another object shares it
        "<<: *meta",  # labels from a merge key
    ],
)
def test_in_place_refuses_to_add_to_a_place_shared_through_yaml(tmp_path, labels):
    text = f"""apiVersion: v1
kind: List
items:
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: &meta {{name: p, namespace: metallb-system, labels: {{app: web}}}}
  spec: {{addresses: [192.168.10.0/24]}}
- apiVersion: v1
  kind: Service
  metadata:
    name: web
    namespace: shop
    uid: u1
    {labels}
  spec: {{type: LoadBalancer, clusterIPs: [10.96.0.1], ports: [{{port: 80}}]}}
  status: {{loadBalancer: {{ingress: [{{ip: 192.168.10.4}}]}}}}
"""
    path = tmp_path / "m.yaml"
    path.write_text(text)
    r = run("-f", str(path), "--in-place")
    assert r.exit_code == 2 and "shared through a YAML anchor or merge key" in r.stderr, r.stderr
    assert path.read_text() == text and not (tmp_path / "cilium-lb-ipam.yaml").exists()


def test_the_release_is_the_flag_else_the_operators_image_else_the_newest():
    from kubectl_lbip.commands.migrate_cilium import release

    operator = ("kube-system/cilium-operator", "quay.io/cilium/operator-generic:v1.16.3@sha256:abc")
    assert release((1, 15, 19), operator) == ((1, 15, 19), "--cilium-version")
    assert release(None, operator) == ((1, 16, 3), "the image of deployment kube-system/cilium-operator")
    assert release(None, ("kube-system/cilium-operator", "quay.io/cilium/operator-generic:latest"))[0] == cilium.NEWEST
    assert release(None)[0] == cilium.NEWEST


def test_live_reads_the_running_operator_and_the_pools_there(live):
    api = live(FakeApi(*LIVE))
    original = api.snapshot

    def with_cilium(events=False, **kw):
        assert kw.get("cilium") is True
        snap = original(events, **kw)
        snap.cilium_operator = ("kube-system/cilium-operator", "quay.io/cilium/operator-generic:v1.15.19")
        snap.cilium_objects = {
            "CiliumLoadBalancerIPPool": [{"metadata": {"name": "old"}, "spec": {"blocks": [{"cidr": "10.9.0.0/24"}]}}]
        }
        return snap

    api.snapshot = with_cilium
    r = run()
    assert r.exit_code == 0, r.stderr
    assert "Cilium v1.15.19 (the image of deployment kube-system/cilium-operator)" in r.stderr
    assert f"{cilium.IPS_ALIAS}=192.168.10.7" in r.stderr  # v1.15's key
    assert "warning: [to-cilium-existing-pools]" in r.stderr


def test_apply_a_refused_cilium_object_says_how_to_go_back(live):
    from kubectl_lbip.errors import ClusterError

    api = live(FakeCluster(*LIVE))
    original = api.request

    def refuse_posts(method, path, query=None, body=None, content_type="application/json"):
        if method == "POST":
            raise ClusterError("the server rejected the object")
        return original(method, path, query, body, content_type)

    api.request = refuse_posts
    r = run("--apply", "--yes")
    assert r.exit_code == 3
    assert "MetalLB's controller is scaled to zero" in r.stderr
    assert "kubectl -n metallb-system scale deployment controller --replicas=1" in r.stderr

"""kubectl lbip pin -f DIR through the CLI: a folder pinned in one run, rewritten in
place faithfully and atomically, or printed; the plan; all or nothing."""

import json
import os
import stat

import pytest
import yaml
from clirunner import CliRunner

from kubectl_lbip.cli import app

runner = CliRunner()
LB = "metallb.io/loadBalancerIPs"
KEY = "metallb.io/allow-shared-ip"

POOLS = """\
# the pools, as the platform team keeps them
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: prod
  namespace: metallb-system
spec:
  addresses:
  - {cidr}
"""


def service_doc(ns, name, port=80, key=None, comment=True, request=None):
    lines = []
    if comment:
        lines.append(f"# {name}: the team's service")
    lines += ["apiVersion: v1", "kind: Service", "metadata:", f"  name: {name}", f"  namespace: {ns}"]
    annotations = {}
    if key:
        annotations[KEY] = key
    if request:
        annotations[LB] = request
    if annotations:
        lines.append("  annotations:")
        lines += [f'    {k}: "{v}"' for k, v in annotations.items()]
    lines += [
        "spec:",
        "  type: LoadBalancer   # MetalLB's",
        "  selector:",
        f"    app: '{name}'",
        "  ports:",
        f"  - port: {port}",
        "    protocol: TCP",
    ]
    return "\n".join(lines) + "\n"


def folder(tmp_path, per_file=10, files=5, cidr="192.168.10.0/26"):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "00-pools.yaml").write_text(POOLS.format(cidr=cidr))
    for f in range(files):
        docs = [service_doc(f"team{f}", f"svc{f}-{i}", port=80 + i) for i in range(per_file)]
        docs.insert(1, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: untouched  # keep me\ndata: {a: '1'}\n")
        (root / f"team{f}.yaml").write_text("---\n".join(docs))
    return root


def pin(*args):
    return runner.invoke(app, ["pin", *args])


def snapshot(root):
    return {p: open(os.path.join(root, p), "rb").read() for p in sorted(os.listdir(root))}


def requests_in(root):
    out = {}
    for name in sorted(os.listdir(root)):
        for doc in yaml.safe_load_all(open(os.path.join(root, name))):
            if doc and doc.get("kind") == "Service":
                m = doc["metadata"]
                out[f"{m['namespace']}/{m['name']}"] = (m.get("annotations") or {}).get(LB)
    return out


def test_a_folder_of_fifty_services_in_five_files_is_pinned_in_one_run(tmp_path):
    root = folder(tmp_path)
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 0, r.stderr
    assert "50 pinned, 0 kept (already requesting), 0 cannot be pinned" in r.stderr
    assert r.stdout == ""
    pins = requests_in(root)
    assert len(pins) == 50 and None not in pins.values()
    assert len(set(pins.values())) == 50  # no collision
    check = runner.invoke(app, ["check", "-f", str(root)])
    assert check.exit_code == 0, check.stdout + check.stderr
    assert "0 error(s)" in check.stderr


def test_in_place_keeps_comments_key_order_quoting_and_other_documents(tmp_path):
    root = folder(tmp_path, per_file=2, files=1)
    before = (root / "team0.yaml").read_text()
    assert pin("-f", str(root), "--in-place").exit_code == 0
    after = (root / "team0.yaml").read_text()
    old_docs, new_docs = before.split("---\n"), after.split("---\n")
    assert new_docs[1] == old_docs[1]  # the ConfigMap, byte for byte
    for old, new in ((old_docs[0], new_docs[0]), (old_docs[2], new_docs[2])):
        assert new.replace("  annotations:\n    metallb.io/loadBalancerIPs: 192.168.10.", "X") != new
        stripped = "\n".join(line for line in new.splitlines() if "annotations:" not in line and LB not in line) + "\n"
        assert stripped == old  # nothing else changed: comments, quoting, order
    assert (root / "00-pools.yaml").read_text() == POOLS.format(cidr="192.168.10.0/26")


def test_a_second_run_changes_nothing(tmp_path):
    root = folder(tmp_path, per_file=4, files=2)
    assert pin("-f", str(root), "--in-place").exit_code == 0
    first = snapshot(root)
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 0, r.stderr
    assert "0 pinned, 8 kept" in r.stderr and "no file changed" in r.stderr
    assert snapshot(root) == first


def test_services_with_a_sharing_key_end_up_sharing(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "pools.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    (root / "web.yaml").write_text(
        "---\n".join(
            [
                service_doc("shop", "http", 80, key="web"),
                service_doc("shop", "https", 443, key="web"),
                service_doc("shop", "other", 8080),
            ]
        )
    )
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 0, r.stderr
    pins = requests_in(root)
    assert pins["shop/http"] == pins["shop/https"] != pins["shop/other"]
    assert runner.invoke(app, ["check", "-f", str(root)]).exit_code == 0


def test_a_pool_too_small_exits_1_names_each_service_and_writes_nothing(tmp_path):
    root = folder(tmp_path, per_file=3, files=2, cidr="192.168.10.0/30")
    before = snapshot(root)
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 1
    assert "error: service team1/svc1-1" in r.stderr and "error: service team1/svc1-2" in r.stderr
    assert "4 pinned, 0 kept (already requesting), 2 cannot be pinned" in r.stderr
    assert "nothing was written" in r.stderr
    assert snapshot(root) == before
    r = pin("-f", str(root))  # to stdout: nothing either
    assert r.exit_code == 1 and r.stdout == ""


def test_partial_writes_the_services_that_can_be_pinned(tmp_path):
    root = folder(tmp_path, per_file=3, files=2, cidr="192.168.10.0/30")
    r = pin("-f", str(root), "--in-place", "--partial")
    assert r.exit_code == 1
    pins = requests_in(root)
    assert sum(v is not None for v in pins.values()) == 4


def test_without_in_place_the_objects_go_to_stdout_in_input_order(tmp_path):
    root = folder(tmp_path, per_file=2, files=2)
    before = snapshot(root)
    r = pin("-f", str(root))
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("IPAddressPool", "prod"),
        ("Service", "svc0-0"),
        ("ConfigMap", "untouched"),
        ("Service", "svc0-1"),
        ("Service", "svc1-0"),
        ("ConfigMap", "untouched"),
        ("Service", "svc1-1"),
    ]
    assert docs[1]["metadata"]["annotations"] == {LB: "192.168.10.0"}
    assert snapshot(root) == before
    assert "FILE" in r.stderr and "NAMESPACE" in r.stderr  # the plan, on stderr


def test_dry_run_prints_the_plan_only_and_json_is_for_scripts(tmp_path):
    root = folder(tmp_path, per_file=2, files=1)
    before = snapshot(root)
    r = pin("-f", str(root), "--in-place", "--dry-run=client")
    assert r.exit_code == 0 and r.stdout == "" and "dry run" in r.stderr
    assert "192.168.10.0" in r.stderr and snapshot(root) == before
    r = pin("-f", str(root), "-o", "json", "--dry-run=client")
    data = json.loads(r.stdout)
    assert [(p["name"], p["status"], p["pool"], p["addresses"], os.path.basename(p["file"])) for p in data["pins"]] == [
        ("svc0-0", "pinned", "prod", ["192.168.10.0"], "team0.yaml"),
        ("svc0-1", "pinned", "prod", ["192.168.10.1"], "team0.yaml"),
    ]
    assert data["written"] == []


def test_services_already_requesting_keep_their_addresses(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "all.yaml").write_text(
        POOLS.format(cidr="192.168.10.0/28")
        + "---\n"
        + "---\n".join([service_doc("a", "old", request="192.168.10.0"), service_doc("a", "new")])
    )
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 0, r.stderr
    assert requests_in(root) == {"a/old": "192.168.10.0", "a/new": "192.168.10.1"}


def test_a_file_changed_on_disk_since_it_was_read_is_not_overwritten(tmp_path, monkeypatch):
    import tempfile

    root = folder(tmp_path, per_file=2, files=2)
    real = tempfile.mkstemp

    def meanwhile(*args, **kw):  # someone edits team1.yaml while the new contents are prepared
        if str(kw.get("prefix", "")).startswith(".team1.yaml"):
            with open(root / "team1.yaml", "a") as fh:
                fh.write("# edited by someone else\n")
        return real(*args, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", meanwhile)
    before = (root / "team0.yaml").read_bytes()
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 2
    assert "team1.yaml changed on disk since it was read; no file was rewritten" in r.stderr
    assert (root / "team0.yaml").read_bytes() == before  # all or none
    assert (root / "team1.yaml").read_text().endswith("# edited by someone else\n")
    assert sorted(os.listdir(root)) == ["00-pools.yaml", "team0.yaml", "team1.yaml"]  # no temp left


def test_mode_bom_and_crlf_are_kept(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "pools.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    path = root / "svc.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + service_doc("a", "web").replace("\n", "\r\n").encode())
    os.chmod(path, 0o640)
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 0, r.stderr
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert b"metallb.io/loadBalancerIPs: 192.168.10.0\r\n" in data
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_json_manifests_and_lists_are_pinned_too(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "pools.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    svc = yaml.safe_load(service_doc("a", "web"))
    (root / "list.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [svc]}, indent=2) + "\n")
    assert pin("-f", str(root), "--in-place").exit_code == 0
    data = json.loads((root / "list.json").read_text())
    assert data["items"][0]["metadata"]["annotations"] == {LB: "192.168.10.0"}


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "give -f"),
        (["-f", "-", "--in-place"], "cannot rewrite standard input"),
        (["-f", "x.yaml", "--dry-run=server"], "--dry-run=client"),
    ],
)
def test_usage_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    r = pin(*args)
    assert r.exit_code == 2 and message in r.stderr


def test_no_pool_in_the_files_says_how_to_get_one(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(service_doc("a", "web"))
    r = pin("-f", str(path))
    assert r.exit_code == 2 and "--against-cluster" in r.stderr


def test_flow_style_in_a_rewritten_document_is_kept(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "pools.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    text = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\n"
        "spec:\n  type: LoadBalancer\n  ports: [{port: 81, protocol: TCP}, {port: 82}]\n"
        "  selector: {app: web}  # flow\n"
    )
    (root / "svc.yaml").write_text(text)
    assert pin("-f", str(root), "--in-place").exit_code == 0
    assert (root / "svc.yaml").read_text() == text.replace(
        "metadata: {name: web, namespace: a}",
        "metadata: {name: web, namespace: a, annotations: {metallb.io/loadBalancerIPs: 192.168.10.0}}",
    )


def test_a_symlinked_manifest_stays_a_symlink(tmp_path):
    real = tmp_path / "shared"
    real.mkdir()
    (real / "svc.yaml").write_text(service_doc("a", "web"))
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "pools.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    os.symlink(real / "svc.yaml", root / "svc.yaml")
    assert pin("-f", str(root), "--in-place").exit_code == 0
    assert os.path.islink(root / "svc.yaml")
    assert "metallb.io/loadBalancerIPs: 192.168.10.0" in (real / "svc.yaml").read_text()
    assert sorted(os.listdir(real)) == ["svc.yaml"]


def test_objects_without_namespace_land_in_n(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "pools.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    (root / "svc.yaml").write_text(service_doc("x", "web").replace("  namespace: x\n", ""))
    r = pin("-f", str(root), "-n", "shop", "-o", "json", "--dry-run=client")
    assert r.exit_code == 0, r.stderr
    (p,) = json.loads(r.stdout)["pins"]
    assert (p["namespace"], p["name"], p["status"]) == ("shop", "web", "pinned")
    assert pin("-f", str(root), "-n", "shop", "--in-place").exit_code == 0
    assert "namespace" not in (root / "svc.yaml").read_text()  # only the request is written


def test_annotations_shared_through_an_alias_are_not_written_into(tmp_path):
    root = tmp_path / "k8s"
    root.mkdir()
    (root / "pools.yaml").write_text(POOLS.format(cidr="192.168.10.0/28"))
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n    namespace: x\n"
        "    annotations: &common {team: web}\n  spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
        "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: b\n    namespace: x\n"
        "    annotations: *common\n  spec: {type: LoadBalancer, ports: [{port: 81}]}\n"
    )
    (root / "svc.yaml").write_text(text)
    before = snapshot(root)
    r = pin("-f", str(root), "--in-place")
    assert r.exit_code == 2 and "anchor or alias" in r.stderr and "service x/a" in r.stderr
    assert snapshot(root) == before

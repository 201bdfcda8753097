"""Issue 20, offline: broken and hostile files through the CLI, each the smallest
input that showed the problem. Wrong shapes are one line naming the file, the
document, the object and the field (exit 2); nothing prints a traceback; work is
bounded; nothing is silently left unread."""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml
from clirunner import CliRunner

from kubectl_lbip import cli as cli_module
from kubectl_lbip.cli import app
from kubectl_lbip.commands import free as free_cmd
from kubectl_lbip.snapshot import documents

runner = CliRunner()
SVC = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
POOL = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n"
LEGACY = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: metallb-system}\n"
    "data:\n  config: |\n    address-pools: %s\n"
)
FILE_COMMANDS = [
    ["check"],
    ["pools"],
    ["free"],
    ["who-has", "10.0.0.1"],
    ["migrate"],
    ["annotate", "web", "-n", "shop", "10.0.0.1"],
]


def run(*args, **kw):
    return runner.invoke(app, list(args), **kw)


def one_line_error(r, code=2):
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr
    return errors[0]


# --- a wrong type where a mapping, a list, a string or an integer is expected
SHAPES = [
    (SVC + "spec: oops\n", "field spec: expected a mapping"),
    (SVC + "spec: [1]\n", "field spec: expected a mapping"),
    (SVC + "status: oops\n", "field status: expected a mapping"),
    (SVC + "status: {loadBalancer: [1]}\n", "field status.loadBalancer: expected a mapping"),
    (SVC + "status: {loadBalancer: {ingress: {ip: 1}}}\n", "status.loadBalancer.ingress: expected a list"),
    (SVC + "status: {loadBalancer: {ingress: [x]}}\n", "ingress[0]: expected a mapping"),
    ("apiVersion: v1\nkind: Service\nmetadata: oops\n", "field metadata: expected a mapping"),
    (
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, annotations: oops}\n",
        "field metadata.annotations: expected a mapping",
    ),
    (
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, labels: [a]}\n",
        "field metadata.labels: expected a mapping",
    ),
    (
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, labels: {a: {b: c}}}\n",
        "field metadata.labels.a: expected a string",
    ),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: [web]}\n", "field metadata.name: expected a string"),
    (SVC + "spec: {selector: oops}\n", "field spec.selector: expected a mapping"),
    (SVC + "spec: {clusterIPs: 7}\n", "field spec.clusterIPs: expected a list"),
    (SVC + "spec: {ipFamilies: 4}\n", "field spec.ipFamilies: expected a list"),
    (SVC + "spec: {ports: [{port: http}]}\n", "field spec.ports[0].port: expected an integer"),
    (SVC + "spec: {ports: {port: 80}}\n", "field spec.ports: expected a list"),
    (SVC + "spec: {ports: [80]}\n", "field spec.ports[0]: expected a mapping"),
    (SVC + "spec: {type: [LoadBalancer]}\n", "field spec.type: expected a string"),
    (POOL + "spec: oops\n", "field spec: expected a mapping"),
    (POOL + "spec: {addresses: 10.0.0.0/24}\n", "field spec.addresses: expected a list"),
    (
        POOL + "spec: {addresses: [10.0.0.0/24], avoidBuggyIPs: 'false'}\n",
        "field spec.avoidBuggyIPs: expected a boolean",
    ),
    (POOL + "spec: {addresses: [10.0.0.0/24], autoAssign: 'no'}\n", "field spec.autoAssign: expected a boolean"),
    (
        POOL + "spec: {addresses: [10.0.0.0/24], serviceAllocation: {namespaces: team-a}}\n",
        "field spec.serviceAllocation.namespaces: expected a list",
    ),
    (
        POOL + "spec: {addresses: [10.0.0.0/24], serviceAllocation: {serviceSelectors: {a: b}}}\n",
        "field spec.serviceAllocation.serviceSelectors: expected a list",
    ),
    (
        POOL + "spec: {addresses: [10.0.0.0/24], serviceAllocation: oops}\n",
        "field spec.serviceAllocation: expected a mapping",
    ),
    (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: n, labels: oops}\n",
        "field metadata.labels: expected a mapping",
    ),
    (LEGACY % "oops", "data.config: field address-pools: expected a list"),
    (LEGACY % "[oops]", "data.config: field address-pools[0]: expected a mapping"),
    (LEGACY % "[{name: a, addresses: 10.0.0.0/24}]", "address-pools[0].addresses: expected a list"),
]


@pytest.mark.parametrize("text, words", SHAPES, ids=[w for _, w in SHAPES])
def test_wrong_shape_is_one_line_naming_file_document_object_and_field(tmp_path, text, words):
    path = tmp_path / "m.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n---\n" + text)
    line = one_line_error(run("check", "-f", str(path)))
    assert f"{path}: document 2" in line and words in line, line


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda c: c[0])
def test_every_file_command_checks_shapes(tmp_path, command):
    path = tmp_path / "m.yaml"
    path.write_text(SVC + "spec: {ports: [{port: http}]}\n")
    line = one_line_error(run(*command, "-f", str(path)))
    assert "Service shop/web: field spec.ports[0].port" in line


@pytest.mark.parametrize("command", FILE_COMMANDS + [["pin"]], ids=lambda c: c[0])
def test_every_file_command_names_where_a_legacy_configmaps_inner_yaml_is_wrong(tmp_path, command):
    """The inner YAML is read when the model is made, after the files: its error still
    names the file and the document the ConfigMap was in, as the other shape errors."""
    path = tmp_path / "m.yaml"
    path.write_text(SVC + "spec: {type: LoadBalancer, ports: [{port: 80}]}\n---\n" + LEGACY % "oops")
    line = one_line_error(run(*command, "-f", str(path)))
    assert f"{path}: document 2: ConfigMap metallb-system/config: data.config: field address-pools" in line, line


def test_a_json_list_item_of_the_wrong_shape_names_the_item(tmp_path):
    path = tmp_path / "l.json"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "items": [
                    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "b"}},
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": "c", "namespace": "b"},
                        "spec": {"clusterIPs": 1},
                    },
                ],
                "kind": "List",
            }
        )
    )
    line = one_line_error(run("check", "-f", str(path)))
    assert "document 1 item 2: Service b/c: field spec.clusterIPs" in line


# --- what was not read is said
def test_a_truncated_list_without_kind_is_an_error_not_nothing(tmp_path):
    path = tmp_path / "l.json"
    path.write_text(
        json.dumps({"apiVersion": "v1", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}]})
    )
    assert "has no kind" in one_line_error(run("check", "-f", str(path)))


def test_a_yaml_document_without_kind_is_an_error(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("apiVersion: v1\nmetadata: {name: a}\n")
    assert "document 1: object a has no kind" in one_line_error(run("check", "-f", str(path)))


def test_the_same_file_twice_is_read_once(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        yaml.safe_dump_all(
            [
                yaml.safe_load(POOL + "spec: {addresses: [10.0.0.0/24]}"),
                yaml.safe_load(SVC + "spec: {type: LoadBalancer}\nstatus: {loadBalancer: {ingress: [{ip: 10.0.0.5}]}}"),
            ]
        )
    )
    link = tmp_path / "again.yaml"
    link.symlink_to(path)
    r = run("check", "-f", str(path), "-f", str(path), "-f", str(tmp_path), "-f", str(link))
    assert r.exit_code == 0, r.stderr
    r = run("who-has", "10.0.0.5", "-f", str(path), "-f", str(path), "-o", "json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)[0]["holders"]) == 1, r.stdout


def test_an_unreadable_directory_is_an_error_naming_it(tmp_path, monkeypatch):
    inner = tmp_path / "d" / "locked"
    inner.mkdir(parents=True)
    real_scandir = os.scandir

    def scandir(path="."):  # as root, chmod 000 does not stop reading: fail as it would
        if os.fspath(path) == str(inner):
            raise PermissionError(13, "Permission denied", str(inner))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    line = one_line_error(run("check", "-f", str(tmp_path / "d")))
    assert "cannot read the directory" in line and str(inner) in line


def test_an_unreadable_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes(b"kind: Service\nmetadata: {name: \xff}\n")
    line = one_line_error(run("check", "-f", str(path)))
    assert str(path) in line


def test_non_utf8_stdin_is_an_error():
    r = run("check", "-f", "-", input=b"kind: Service\nmetadata: {name: \xff\xfe}\n")
    assert "not UTF-8" in one_line_error(r)


def test_a_json_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(yaml.safe_load(POOL + "spec: {addresses: [10.0.0.0/24]}")).encode())
    r = run("pools", "-f", str(path), "-o", "json")
    assert r.exit_code == 0, r.stderr


# --- bounded work
SVC_BLOCK = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n"
BOMB = (
    SVC_BLOCK
    + "  labels:\n    a: &a ["
    + ",".join(["lol"] * 9)
    + "]\n"
    + "".join(f"    {b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
)


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda c: c[0])
def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path, command):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    started = time.monotonic()
    line = one_line_error(run(*command, "-f", str(path)))
    assert "aliases expand it past" in line and "document 1" in line
    assert time.monotonic() - started < 5


def test_a_pool_addresses_alias_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(
        POOL
        + "spec:\n  w: &a ["
        + ",".join(["10.0.0.1"] * 9)
        + "]\n"
        + "".join(f"  {b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("axcdefgh", "xcdefghi"))
        + "  addresses: *i\n"
    )
    assert "aliases expand" in one_line_error(run("check", "-f", str(path)))


def test_ordinary_anchors_and_merge_keys_stay_within_the_budget(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        POOL
        + "spec:\n  addresses: &a [10.0.0.0/24]\n---\n"
        + SVC_BLOCK
        + "  labels: &l {app: web}\nspec:\n  selector: *l\n  type: LoadBalancer\n"
    )
    assert run("check", "-f", str(path)).exit_code == 0


def test_the_alias_budget_counts_the_expansion():
    import yaml as pyyaml

    node = pyyaml.compose("a: &a [1, 2]\nb: [*a, *a, *a]\n")
    documents.check_expansion(node, "x", budget=20)
    with pytest.raises(Exception, match="past 5 nodes"):
        documents.check_expansion(node, "x", budget=5)


@pytest.mark.parametrize(
    "depth, commands, words",
    [
        (150, [["migrate"], ["annotate", "web", "10.0.0.1"]], "nested more than 100 levels"),
        (5000, [["check"], ["migrate"], ["pools"]], "nested too deeply"),
    ],
)
def test_deep_nesting_is_an_error(tmp_path, depth, commands, words):
    """Commands that copy and print whole objects refuse past 100 levels; the others
    keep only fields whose shape is checked, and the parser's own limit is an error."""
    nested = "[" * depth + "]" * depth
    for name, text in (
        ("deep.json", '{"kind": "Service", "metadata": {"name": "web"}, "x": ' + nested + "}"),
        ("deep.yaml", "kind: Service\nmetadata: {name: web}\nx: " + nested + "\n"),
    ):
        path = tmp_path / name
        path.write_text(text)
        for command in commands:
            line = one_line_error(run(*command, "-f", str(path)))
            assert words in line or (name == "deep.yaml" and "not valid YAML" in line), line


def test_count_has_a_documented_maximum(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(POOL + "spec: {addresses: [10.0.0.0/8]}\n")
    line = one_line_error(run("free", "-f", str(path), "--count", "100000000000"))
    assert f"between 1 and {free_cmd.MAX_COUNT:,}" in line
    assert run("free", "-f", str(path), "--count", str(free_cmd.MAX_COUNT), "--family", "ipv4").exit_code == 0


# --- the last-resort handler
def test_an_unexpected_exception_is_one_line_exit_4_with_a_hint(monkeypatch, tmp_path):
    from kubectl_lbip.commands import pools

    def boom(*args, **kwargs):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(pools, "run", boom)
    path = tmp_path / "m.yaml"
    path.write_text(POOL + "spec: {addresses: [10.0.0.0/24]}\n")
    r = run("pools", "-f", str(path))
    assert r.exit_code == 4 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        "error: unexpected RuntimeError: something broke; this is a bug in "
        "kubectl-lbip, rerun with -v to see the traceback"
    )
    r = run("pools", "-f", str(path), "-v")
    assert r.exit_code == 4 and "Traceback" in r.stderr and "raise RuntimeError" in r.stderr


def test_main_catches_what_escapes_typer(monkeypatch, capsys):
    def boom(**_):  # called as app(prog_name="kubectl lbip")
        raise ValueError("x")

    monkeypatch.setattr(cli_module, "app", boom)
    monkeypatch.setattr("sys.argv", ["kubectl-lbip", "pools"])
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main()
    assert exit_info.value.code == 4 and "unexpected ValueError" in capsys.readouterr().err


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_non_utf8_stdin_in_a_real_process_is_an_error(locale):
    """A real process's stdin may decode with surrogateescape (C locale): bytes are read."""
    import subprocess
    import sys

    env = {**os.environ, "LC_ALL": locale, "LANG": locale}
    argv = [sys.executable, "-c", "from kubectl_lbip.cli import main; main()", "pools", "-f", "-"]
    r = subprocess.run(argv, input=b"\xff\xfe", capture_output=True, env=env, timeout=60)
    assert r.returncode == 2 and b"not UTF-8" in r.stderr and b"Traceback" not in r.stderr, r.stderr

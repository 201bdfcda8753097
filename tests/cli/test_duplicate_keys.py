"""Issue 24, item 3: a duplicate YAML key is an input error (exit 2) naming the file,
the document and the key, in every command, with or without --in-place (it was
exit 4 "unexpected DuplicateKeyError" from ruamel with --in-place, and a plan with
exit 0 without)."""

from __future__ import annotations

import pytest
from clirunner import CliRunner

from kubectl_lbip.cli import app

runner = CliRunner()

POOL = """apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec:
  addresses: [10.0.0.0/24]
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    metallb.universe.tf/loadBalancerIPs: 10.0.0.5
spec:
  type: LoadBalancer
  ports: [{port: 80}]
"""
# (text, what the error names: document, line, key)
CASES = {
    "a top-level key": (
        POOL + "---\n" + SERVICE + "spec: {}\n",
        "document 2 line 17: duplicate key 'spec' (first at line 14)",
    ),
    "a nested key": (
        POOL + "---\n" + SERVICE.replace("  name: web\n", "  name: web\n  name: shop\n"),
        "document 2 line 11: duplicate key 'name' (first at line 10)",
    ),
    "in a List item": (
        "apiVersion: v1\nkind: List\nitems:\n- " + SERVICE.replace("\n", "\n  ").rstrip() + "\n  kind: Service\n",
        "document 1 line 14: duplicate key 'kind'",
    ),
    "a merge key twice": (
        POOL
        + "---\nx-a: &a {app: web}\nx-b: &b {tier: a}\n"
        + SERVICE.replace("  name: web\n", "  name: web\n  labels:\n    <<: *a\n    <<: *b\n"),
        "document 2 line 14: duplicate key '<<'",
    ),
}
COMMANDS = [
    ["check"],
    ["pools"],
    ["free"],
    ["who-has", "10.0.0.5"],
    ["annotate", "web", "-n", "shop", "10.0.0.6"],
    ["migrate"],
    ["migrate", "--in-place"],
    ["pin"],
    ["pin", "--in-place"],
]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_duplicate_key_is_exit_2_naming_file_document_and_key(tmp_path, case, command):
    text, named = CASES[case]
    path = tmp_path / "m.yaml"
    path.write_text(text)
    r = runner.invoke(app, [*command, "-f", str(path)])
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert f"error: {path}: {named}" in r.stderr, r.stderr
    assert "unexpected" not in r.stderr and path.read_text() == text


def test_a_duplicate_key_on_standard_input():
    text, named = CASES["a top-level key"]
    r = runner.invoke(app, ["check", "-f", "-"], input=text)
    assert r.exit_code == 2 and f"error: <stdin>: {named}" in r.stderr


def test_a_key_a_merge_gave_may_be_replaced(tmp_path):
    """Not a duplicate: `<<` gives defaults, the mapping's own key wins."""
    labelled = SERVICE.replace("  name: web\n", "  name: web\n  labels:\n    <<: *a\n    tier: b\n")
    path = tmp_path / "m.yaml"
    path.write_text(POOL + "---\nx-a: &a {app: web, tier: a}\n" + labelled)
    r = runner.invoke(app, ["migrate", "-f", str(path)])
    assert r.exit_code == 0, r.output
    assert "tier: b" in r.stdout and "app: web" in r.stdout


def test_what_only_ruamel_calls_a_duplicate_is_exit_2_in_place(tmp_path):
    """YAML 1.1 (PyYAML) reads `0o10` as a string, YAML 1.2 (ruamel, the in-place
    rewrite) as 8: the rewrite's error is an input error naming the file and line."""
    text = SERVICE + "  x-modes: {0o10: a, 8: b}\n"
    path = tmp_path / "m.yaml"
    path.write_text(text)
    r = runner.invoke(app, ["migrate", "--in-place", "-f", str(path)])
    assert r.exit_code == 2, r.output
    assert f"error: {path} line 11 is not valid YAML or JSON: found duplicate key" in r.stderr
    assert path.read_text() == text

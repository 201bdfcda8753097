"""Property: whatever YAML or JSON shape a file holds, every command that reads -f
answers with exit 0, 1 or 2 and never a traceback (issue 20). The shapes are
Kubernetes-like objects (Service, IPAddressPool, Namespace, the legacy ConfigMap,
Lists of them) whose fields are drawn either with the right type or as any JSON
value, so that the checks at the boundary, not only the parser, are exercised."""

from __future__ import annotations

import json
import os
import tempfile

import yaml
from clirunner import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import documents, examples

from kubectl_lbip.cli import app

runner = CliRunner()

COMMANDS = [
    ["check"],
    ["check", "--strict", "-o", "json"],
    ["pools"],
    ["pools", "-o", "yaml"],
    ["free"],
    ["free", "--for", "web", "-n", "shop"],
    ["who-has", "192.168.10.5"],
    ["migrate"],
    ["migrate", "--in-place"],
    ["migrate", "--configmap"],
    ["annotate", "web", "-n", "shop", "192.168.10.5"],
    ["annotate", "web", "-n", "shop", "--auto", "--overwrite"],
]


def serialise(docs, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(docs[0] if len(docs) == 1 else {"kind": "List", "items": docs})
    return yaml.safe_dump_all(docs, sort_keys=False)


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", examples(150))),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(docs=documents, fmt=st.sampled_from(["json", "yaml"]), command=st.sampled_from(COMMANDS), stdin=st.booleans())
def test_any_shape_through_any_file_command_is_exit_0_1_or_2_without_traceback(docs, fmt, command, stdin):
    text = serialise(docs, fmt)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"m.{fmt}")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        if stdin:  # the same text on standard input (-f -)
            r = runner.invoke(app, [*command, "-f", "-"], input=text.encode())
        else:
            r = runner.invoke(app, [*command, "-f", path])
    assert r.exit_code in (0, 1, 2), (command, r.exit_code, r.stderr, r.exception)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)

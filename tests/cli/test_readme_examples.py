"""Every `$ kubectl lbip ...` example in the README, with its output and exit code,
is what the plugin prints today on the shipped example cluster."""

import os
import re
import shlex

import pytest
from clirunner import CliRunner

from kubectl_lbip.cli import app

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
README = os.path.join(ROOT, "README.md")


def examples():
    text = open(README, encoding="utf-8").read()
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("$ kubectl lbip ") and "-f examples/" in line:
                out, code = [], 0
                i += 1
                while i < len(lines) and not lines[i].startswith("$ "):
                    out.append(lines[i])
                    i += 1
                if i + 1 < len(lines) and lines[i] == "$ echo $?":
                    code = int(lines[i + 1])
                    i += 2
                found.append((line[len("$ kubectl lbip ") :], "\n".join(out), code))
            else:
                i += 1
    return found


EXAMPLES = examples()


def test_readme_has_examples_for_every_command():
    commands = {shlex.split(cmd)[0] for cmd, _, _ in EXAMPLES}
    assert {"pools", "free", "who-has", "annotate", "check", "migrate", "why", "pin"} <= commands


@pytest.mark.parametrize("command,expected,code", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_readme_example_output_is_real(command, expected, code, monkeypatch):
    monkeypatch.chdir(ROOT)
    redirect = re.search(r" > [\w.-]+\.yaml$", command)  # stdout to a file: the example shows stderr
    stdout_only = redirect is not None
    argv = shlex.split(command[: redirect.start()] if redirect else command)
    result = CliRunner().invoke(app, argv)
    shown = result.stderr if stdout_only else result.stdout + result.stderr
    assert shown.rstrip() == expected.rstrip()
    assert result.exit_code == code

"""Issue 26 item 2: one printer owns -o. Each command's formats are declared once
(printer.FORMATS); the printer writes a Result's blocks in order, stdout for data and
stderr for notes; --no-headers is the printer's parameter."""

from __future__ import annotations

import click
import pytest
import typer
from clirunner import CliRunner

from kubectl_lbip import printer, render
from kubectl_lbip.cli import app
from kubectl_lbip.errors import UsageError
from kubectl_lbip.printer import Data, Note, Result, Say, Table, Text

EXAMPLE = "examples/cluster.yaml"


def _said(monkeypatch):
    """What the printer writes, in order: ("out"|"note", text)."""
    said = []
    monkeypatch.setattr(render, "out", lambda text="": said.append(("out", text)))
    monkeypatch.setattr(render, "note", lambda text: said.append(("note", text)))
    monkeypatch.setattr(render, "emit", lambda data, fmt: said.append(("out", f"{fmt}:{data}")))
    return said


def test_every_command_offers_exactly_its_registry_formats():
    group = typer.main.get_command(app)
    offered = {}
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            if "--output" in getattr(param, "opts", []):
                assert isinstance(param.type, click.Choice), name
                offered[name] = list(param.type.choices)
    declared = {c: printer.formats(c) for c in printer.FORMATS if c in offered}
    assert offered == declared
    assert set(offered) >= {"pools", "free", "who-has", "check", "why", "probe", "annotate", "migrate", "pin"}


def test_a_format_the_registry_lacks_is_refused():
    with pytest.raises(UsageError, match="--list prints a table, json or yaml, not sarif"):
        printer.printer_for("check --list", "sarif")
    with pytest.raises(UsageError, match="'annotation'"):
        printer.printer_for("pools", "annotation")
    assert printer.printer_for("check", "sarif") is printer.sarif


def test_check_list_refuses_a_ci_format_with_exit_2():
    r = CliRunner().invoke(app, ["check", "--list", "-o", "junit"])
    assert r.exit_code == 2 and "--list prints a table, json or yaml, not junit" in r.output


def test_notes_then_the_view_then_the_notes_after(monkeypatch):
    said = _said(monkeypatch)

    def view(result):
        return [Note("first in view"), Table([["a", "b"]], ["x", "y"]), Text("below", heading=True)]

    result = Result({"k": 1}, 1, notes=["before"], after=["after"], views={"table": view})
    assert printer.show("pools", "table", result) == 1
    assert said == [
        ("note", "before"),
        ("note", "first in view"),
        ("out", render.table([["a", "b"]], ["x", "y"])),
        ("out", "below"),
        ("note", "after"),
    ]
    said.clear()
    printer.show("pools", "json", result)
    assert said == [("note", "before"), ("out", "json:{'k': 1}"), ("note", "after")]


def test_no_headers_is_a_parameter_of_the_printer(monkeypatch):
    assert not hasattr(render, "NO_HEADERS")
    said = _said(monkeypatch)
    blocks = [Text("SUGGESTIONS", heading=True), Table([["a", "b"]], ["x", "y"])]
    printer.write(blocks, no_headers=True)
    assert said == [("out", "a  b")]
    said.clear()
    printer.write(blocks)
    assert said == [("out", "SUGGESTIONS"), ("out", render.table([["a", "b"]], ["x", "y"]))]
    assert "X" in said[1][1]


def test_a_result_with_its_own_data_view_is_shown_by_it(monkeypatch):
    said = _said(monkeypatch)
    result = Result({"k": 1}, views={"json": lambda r: [Note("plan"), Data(r.data, "json")]})
    printer.show("migrate", "json", result)
    assert said == [("note", "plan"), ("out", "json:{'k': 1}")]


def test_a_plan_is_the_table_output_or_said_on_stderr_only_when_asking(monkeypatch):
    said = _said(monkeypatch)
    plan = [Table([["a"]], ["x"]), Note("warning: w")]
    Say("table").plan(plan, asking=False)
    assert said == [("out", render.table([["a"]], ["x"])), ("note", "warning: w")]
    said.clear()
    Say("json").plan(plan, asking=False)
    assert said == []
    Say("json", no_headers=True).plan(plan, asking=True)
    assert said == [("note", "a"), ("note", "warning: w")]


def test_notes_gathered_before_an_error_are_said_before_it(monkeypatch):
    said = _said(monkeypatch)
    with pytest.raises(UsageError):
        with printer.notes_kept(["note: one"]):
            raise UsageError("bad")
    assert said == [("note", "note: one")]


def test_free_says_its_notes_before_the_error_that_ends_it():
    """-n names a namespace without a LoadBalancer service, and --for a service not in
    it: kubectl's "No resources found" line, then the error."""
    r = CliRunner().invoke(app, ["free", "-f", EXAMPLE, "-n", "nowhere", "--for", "web"])
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "No resources found in nowhere namespace."
    assert lines[-1].startswith("error: ") and "web" in lines[-1]

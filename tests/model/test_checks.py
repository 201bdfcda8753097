"""The check catalogue (model/checks.py) is the one source of the README's "Check
codes" table, `check --list`, SARIF's rules and each finding's "Fix: ...".

Run this file (`python tests/model/test_checks.py`) to rewrite the README's table
from the catalogue after changing it."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from kubectl_lbip.model import announce, cilium_checks, rules
from kubectl_lbip.model.checks import BY_CODE, CATALOGUE, ERROR, GENERIC, WARNING, fix_text, fixed

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- check codes: generated from kubectl_lbip/model/checks.py (python tests/model/test_checks.py) -->"
END = "<!-- end of check codes -->"


def readme_table() -> str:
    """The README's table, from the catalogue: one row per code, each with an anchor
    (check-CODE) that SARIF's helpUri points at."""
    lines = ["| code | severity | meaning | fix | check |", "|---|---|---|---|---|"]
    for c in CATALOGUE:
        cells = [f'<a id="check-{c.code}"></a>`{c.code}`', c.severity_text, c.meaning, c.generic_fix, c.rules]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_section(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


def test_readme_table_is_the_catalogue():
    assert readme_section(README.read_text()) == readme_table(), (
        "the README's check codes differ from the catalogue: run python tests/model/test_checks.py"
    )


def test_codes_are_unique_and_stable_spellings():
    codes = [c.code for c in CATALOGUE]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", c) for c in codes)
    assert all(c.severity in (ERROR, WARNING) for c in CATALOGUE)


def test_every_code_the_rules_report_is_catalogued():
    """The rule modules' code constants are the catalogue's (annotate's own refusal aside)."""
    spelled = {
        value
        for module in (rules, announce, cilium_checks)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", value)
    }
    assert spelled - set(BY_CODE) == {rules.NOT_LOAD_BALANCER}


def test_named_checks_exist():
    """The check column names functions of model/rules.py (or announce.*, cilium_checks.*)."""
    modules = {"": rules, "announce": announce, "cilium_checks": cilium_checks}
    for c in CATALOGUE:
        for name in re.findall(r"`([a-z_.]+)`", c.rules):
            module, _, func = name.rpartition(".")
            assert callable(getattr(modules[module], func)), name


@pytest.mark.parametrize("check", CATALOGUE, ids=lambda c: c.code)
def test_every_fix_reads_without_a_finding(check):
    """Each fix and its variants fill in from GENERIC: no placeholder left unnamed."""
    for template in (check.fix, *check.variants.values()):
        text = template.format(**GENERIC)
        assert "{" not in text and text


def test_a_finding_ends_with_the_catalogues_fix():
    assert fixed("pool-not-advertised", "no advertisement.", pool="team-a") == (
        "no advertisement. Fix: an L2Advertisement or BGPAdvertisement whose ipAddressPools lists team-a"
    )
    assert fix_text("family-mismatch", "dual-service") == BY_CODE["family-mismatch"].variants["dual-service"]
    with pytest.raises(KeyError):
        fix_text("no-such-code")


def fix_pattern(template: str) -> str:
    """A regular expression for a fix with its placeholders filled in by anything."""
    parts = re.split(r"(\{[a-z_]+\})", template)
    return "".join("(.+)" if re.fullmatch(r"\{[a-z_]+\}", p) else re.escape(p) for p in parts)


def test_every_finding_of_the_example_ends_with_its_codes_fix():
    """No rule spells its own fix: the text after "Fix: " is the catalogue's fix of
    the finding's code (or of one of its cases), specifics filled in."""
    from typer.testing import CliRunner

    from kubectl_lbip.cli import app

    result = CliRunner().invoke(app, ["check", "-f", str(README.parent / "examples"), "-o", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert findings
    for f in findings:
        check = BY_CODE[f["code"]]
        assert " Fix: " in f["message"], f
        fix = f["message"].split(" Fix: ", 1)[1]
        templates = (check.fix, *check.variants.values())
        assert any(re.fullmatch(fix_pattern(t), fix) for t in templates), f


if __name__ == "__main__":  # rewrite the README's table from the catalogue
    text = README.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + readme_table() + "\n" + text[end:])
    sys.exit(0)

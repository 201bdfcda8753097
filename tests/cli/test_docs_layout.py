"""The README is for the people who run the plugin: the development set-up, the test
tiers, the conformance method and figures and the performance tables live in
CONTRIBUTING.md and docs/, linked from the README, and the test suite's times are
given in one place (CONTRIBUTING.md's tier table)."""

import glob
import os
import re

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGES = ["README.md", "CONTRIBUTING.md", "tests/e2e/README.md", "benchmarks/README.md"] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md"))
)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def prose(text):
    """The text outside fenced code blocks."""
    return re.sub(r"```.*?```", "", text, flags=re.S)


def anchors(path):
    """The anchors GitHub makes of a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.*)$", prose(read(path)), re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return found


def links(path):
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", prose(read(path))) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES)
def test_every_link_between_the_pages_resolves(page):
    for target in links(page):
        file, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(page), file)) if file else page
        assert os.path.exists(os.path.join(ROOT, dest)), f"{page}: {target}: no such file"
        if anchor:
            assert anchor in anchors(dest), f"{page}: {target}: no such heading in {dest}"


def test_the_readme_links_contributing_and_every_page_of_docs():
    docs = [p for p in PAGES if p.startswith("docs" + os.sep)]
    assert {"docs/conformance.md", "docs/performance.md"} <= {p.replace(os.sep, "/") for p in docs}
    linked = {os.path.normpath(t.partition("#")[0]) for t in links("README.md")}
    for page in ["CONTRIBUTING.md"] + docs:
        assert page in linked, f"the README does not link {page}"


def test_the_readme_keeps_the_test_command_ci_runs():
    ci = read(".ci/run")
    command = ci.split("# The README's test command.", 1)[1].split("python -m pytest", 1)
    assert len(command) == 2, "the test command is no longer named in .ci/run"
    blocks = re.findall(r"```sh\n(.*?)```", read("README.md"), re.S)
    assert any(line.split("#", 1)[0].strip() == "python -m pytest" for b in blocks for line in b.splitlines())


# A line naming a tier of the test suite (or the build of its binaries) and a duration.
TIER = re.compile(r"quick loop|make test\b|make e2e|e2e tier|whole tier|controlplane\.sh build|pytest tests/e2e\b")
DURATION = re.compile(r"\d+(\.\d+)?\s*(s|min|minutes?)\b|about a minute")


@pytest.mark.parametrize("page", [p for p in PAGES if p != "CONTRIBUTING.md"] + ["Makefile"])
def test_the_suites_times_are_only_in_contributings_tier_table(page):
    for line in read(page).splitlines():
        assert not (TIER.search(line) and DURATION.search(line)), f"{page}: {line.strip()}"


def test_contributings_tier_table_says_when_and_at_what_load_it_was_measured():
    section = read("CONTRIBUTING.md").split("## Run each tier", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"Measured at \d{4}-\d\d-\d\d, load [\d.]+", section)
    rows = {row.split("|")[1].strip(): row.split("|")[-2].strip() for row in section.splitlines() if row[:2] == "| "}
    for tier in ["quick loop", "lint", "every tier in one run", "all, as CI, warm", "all, as CI, cold"]:
        assert DURATION.search(rows[tier]), f"no time for {tier}"

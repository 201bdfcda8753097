"""The check catalogue (model/checks.py) is the one source of the README's "Check
codes" table, `check --list`, SARIF's rules and each finding's "Fix: ...".

Run this file (`python tests/model/test_checks.py`) to rewrite the README's table
from the catalogue after changing it."""

from __future__ import annotations

import ast
import functools
import importlib
import json
import re
import sys
import types
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

import pytest

import kubectl_lbip
from kubectl_lbip.model import annotate, announce, checks, cilium_checks, cilium_plans, migrate, rules
from kubectl_lbip.model.checks import BY_CODE, CATALOGUE, CHECK, CHECKED, ERROR, GENERIC, WARNING, fix_text, fixed

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


# --------------------------------------------------------------------------
# every code the plugin can put on a finding, read from the source


PACKAGE = Path(kubectl_lbip.__file__).parent
# What makes a finding or its fix, and where the code goes: the functions that pass
# a code on to these are found (a fixed point), so a new helper needs no entry here.
SEEDS = {f"{rules.__name__}.Finding": 1, f"{checks.__name__}.fix_text": 0}


class Scope(NamedTuple):
    module: str
    qualname: str
    fn: ast.FunctionDef
    cls: Optional[str]  # the class a method is defined in
    local_defs: Set[str]  # functions defined inside it

    def params(self) -> List[str]:
        args = [a.arg for a in self.fn.args.posonlyargs + self.fn.args.args]
        return args[1:] if self.cls and args and args[0] in ("self", "cls") else args


@functools.lru_cache(maxsize=None)  # both walks below read the package
def package_modules(package: Path) -> Tuple[Tuple[types.ModuleType, ast.Module], ...]:
    found = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] != "__main__":  # importing it runs the command line
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((importlib.import_module(name), ast.parse(path.read_text())))
    return tuple(found)


def calls(module: str, tree: ast.AST) -> Iterator[Tuple[Optional[Scope], ast.Call]]:
    """Each call, with the function it is made in (None: at module level)."""

    def visit(node, scope, prefix, cls):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, scope, f"{prefix}{child.name}.", child.name)
            elif isinstance(child, ast.FunctionDef):
                local = {n.name for n in child.body if isinstance(n, ast.FunctionDef)}
                inner = Scope(module, prefix + child.name, child, cls, local)
                yield from visit(child, inner, f"{prefix}{child.name}.<locals>.", None)
            else:
                if isinstance(child, ast.Call):
                    yield scope, child
                yield from visit(child, scope, prefix, cls)

    yield from visit(tree, None, "", None)


def callee(call: ast.Call, scope: Optional[Scope], module: types.ModuleType) -> str:
    """The called function as module.qualname; "*.name" for a method of some object."""
    f, namespace = call.func, vars(module)
    if isinstance(f, ast.Name):
        if scope is not None and f.id in scope.local_defs:
            return f"{scope.module}.{scope.qualname}.<locals>.{f.id}"
        obj = namespace.get(f.id)
    elif (
        isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self" and scope and scope.cls
    ):
        return f"{scope.module}.{scope.cls}.{f.attr}"
    elif isinstance(f, ast.Attribute) and isinstance(namespace.get(getattr(f.value, "id", "")), types.ModuleType):
        obj = getattr(namespace[f.value.id], f.attr, None)
    elif isinstance(f, ast.Attribute):
        return f"*.{f.attr}"
    else:
        return ""
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def code_position(makers: Dict[str, int], key: str, module: types.ModuleType) -> Optional[int]:
    """Where a call to ``key`` takes its code, if it makes a finding or its fix; a method
    called on an object is a maker's when this module defines or imports its class."""
    if not key.startswith("*."):
        return makers.get(key)
    for maker, position in makers.items():
        owner, _, method = maker.rpartition(".")
        home, _, cls = owner.rpartition(".")
        defined = vars(sys.modules[home]).get(cls)
        if method == key[2:] and defined is not None and vars(module).get(cls) is defined:
            return position
    return None


def code_argument(call: ast.Call, position: int) -> Optional[ast.expr]:
    named = [k.value for k in call.keywords if k.arg == "code"]
    return named[0] if named else call.args[position] if position < len(call.args) else None


def spelled(expr: ast.expr, scope: Optional[Scope], module: types.ModuleType) -> Set[str]:
    """The codes an argument can be: a constant, a name (of the module or assigned in
    the function), either branch of a condition, any value of a table."""

    def value(e):
        return eval(compile(ast.Expression(e), module.__name__, "eval"), vars(module))

    if isinstance(expr, ast.IfExp):
        return spelled(expr.body, scope, module) | spelled(expr.orelse, scope, module)
    if isinstance(expr, ast.Name) and scope is not None:
        if expr.id in scope.params():
            return set()  # passed on: the function is a maker, and its callers are read
        assigned = [
            n.value
            for n in ast.walk(scope.fn)
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)
        ]
        if assigned:
            return set().union(*(spelled(v, scope, module) for v in assigned))
    if isinstance(expr, ast.Subscript):
        return set(value(expr.value).values())
    if isinstance(expr, (ast.Constant, ast.Name, ast.Attribute)):
        return {value(expr)}
    raise AssertionError(f"{module.__name__}: cannot tell which code {ast.dump(expr)} is")


def emitted_codes(*packages: Path) -> Dict[str, Set[str]]:
    """Every code a finding (or a fix) of the packages can carry, with where."""
    every = [
        (module, scope, call, callee(call, scope, module))
        for package in packages
        for module, tree in package_modules(package)
        for scope, call in calls(module.__name__, tree)
    ]
    makers = dict(SEEDS)

    def code_of(module, call, key) -> Optional[ast.expr]:
        position = code_position(makers, key, module)
        return None if position is None else code_argument(call, position)

    grown = True
    while grown:  # a function that passes its own parameter on as the code makes findings too
        grown = False
        for module, scope, call, key in every:
            arg = code_of(module, call, key)
            if scope and isinstance(arg, ast.Name) and arg.id in scope.params():
                maker = f"{scope.module}.{scope.qualname}"
                grown = grown or maker not in makers
                makers.setdefault(maker, scope.params().index(arg.id))
    found: Dict[str, Set[str]] = {}
    for module, scope, call, key in every:
        arg = code_of(module, call, key)
        for code in set() if arg is None else spelled(arg, scope, module):
            found.setdefault(code, set()).add(f"{module.__name__}:{call.lineno}")
    return found


def test_every_code_a_finding_can_carry_is_catalogued():
    """Read from the source: each call that makes a finding or a fix, and the codes
    its argument can be. Both ways: no code outside the catalogue, no row no code uses."""
    found = emitted_codes(PACKAGE)
    missing = {code: sorted(where) for code, where in found.items() if code not in BY_CODE}
    assert missing == {}, "add these codes to the catalogue (model/checks.py)"
    assert set(BY_CODE) <= set(found)


def test_the_code_walk_sees_each_way_a_code_is_given(tmp_path, monkeypatch):
    """The walk above is not blind: a constant, a module's name, an attribute, a
    variable, a condition, a table and a helper that passes its code on."""
    package = tmp_path / "walked"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(
        "from kubectl_lbip.model import rules\n"
        "from kubectl_lbip.model.rules import Finding\n"
        "A = 'code-a'\n"
        "TABLE = {1: 'code-t'}\n"
        "def helper(x, code, message):\n"
        "    return Finding('error', code, 'Service', '', x, message)\n"
        "def rule(svc, flag):\n"
        "    helper(svc, 'code-literal', '')\n"
        "    rules.service_finding(svc, A, '')\n"
        "    code = 'code-b' if flag else 'code-c'\n"
        "    helper(svc, code, '')\n"
        "    helper(svc, TABLE[flag], '')\n"
        "    return helper(svc, rules.PENDING, '')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = emitted_codes(PACKAGE, package)
    finally:
        for name in ("walked.mod", "walked"):
            sys.modules.pop(name, None)
    walked = {code for code, where in found.items() if any(w.startswith("walked.") for w in where)}
    assert walked == {"code-a", "code-b", "code-c", "code-t", "code-literal", "pending"}


def test_check_reports_only_its_own_codes():
    """The other commands' codes are rows too, but not `check --list`'s or SARIF's."""
    others = {c.code for c in CATALOGUE if CHECK not in c.commands}
    assert {rules.NOT_LOAD_BALANCER, "annotation-exists", "address-moves"} <= others
    assert [c.code for c in CHECKED] == [c.code for c in CATALOGUE if c.code not in others]


def refusal(call) -> str:
    from kubectl_lbip.errors import Refused

    with pytest.raises(Refused) as refused:
        call()
    [finding] = refused.value.findings
    return finding.message


def test_the_other_commands_findings_end_with_the_catalogues_fix():
    """annotate's, why's, probe's and migrate's own codes take their fix from the
    catalogue too (the specifics filled in)."""
    from builders import cluster, pool, svc

    from kubectl_lbip.commands import annotate as annotate_command
    from kubectl_lbip.model.services import Service

    def ends_with_fix(message, code, **specifics):
        assert message.endswith(" Fix: " + fix_text(code, **specifics)), message

    ends_with_fix(
        rules.not_load_balancer(Service.from_object(svc("shop", "web", type="NodePort"))).message, "not-loadbalancer"
    )

    c = cluster(
        pool("one", "192.168.10.7/32"), svc("shop", "web", annotations={"metallb.io/loadBalancerIPs": "192.168.10.9"})
    )
    web = c.service("shop", "web")
    ends_with_fix(refusal(lambda: annotate.plan(c, web, ["192.168.10.7"])), "annotation-exists")
    full = cluster(pool("one", "192.168.10.7/32"), svc("shop", "web"), svc("shop", "db", ingress=["192.168.10.7"]))
    ends_with_fix(
        refusal(lambda: annotate.plan(full, full.service("shop", "web"), auto=True)),
        "no-free-address",
        name="web",
        namespace="shop",
    )

    moved = migrate.plan_service(
        Service.from_object(svc("shop", "web", lb_ip="192.168.10.7", ingress=["192.168.10.9"]))
    )
    [warning] = migrate.recheck(cluster(pool("one", "192.168.10.0/24")), moved)
    ends_with_fix(warning.message, "address-moves", held="192.168.10.9")

    before = Service.from_object(svc("shop", "web", annotations={"metallb.io/loadBalancerIPs": "192.168.10.9"}))
    after = Service.from_object(svc("shop", "web", annotations={"metallb.io/loadBalancerIPs": "192.168.10.8"}))
    request = annotate_command.AnnotateRequest(name="web", addresses=["192.168.10.7"], overwrite=True)
    ends_with_fix(refusal(lambda: annotate_command._unchanged_since_read(before, after, request)), "value-changed")


def test_named_checks_exist():
    """The check column names functions of model/rules.py (or announce.*, cilium_checks.*)."""
    modules = {
        "": rules,
        "announce": announce,
        "cilium_checks": cilium_checks,
        "annotate": annotate,
        "migrate": migrate,
        "cilium_plans": cilium_plans,
    }
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
    from clirunner import CliRunner

    from kubectl_lbip.cli import app

    findings = []
    for example in ("cluster.yaml", "cilium.yaml"):  # one implementation each
        result = CliRunner().invoke(app, ["check", "-f", str(README.parent / "examples" / example), "-o", "json"])
        found = json.loads(result.stdout)["findings"]
        assert found, example
        findings += found
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

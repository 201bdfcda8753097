"""Issue 18: the migrate family (migrate, migrate_files, restore, migrate_configmap)
shares one neutral module (outcomes.py); no module of the package imports another's
private names, and the package's import graph has no cycle; errors live in errors.py."""

from __future__ import annotations

import ast
import functools
import os

import kubectl_lbip

PACKAGE = os.path.dirname(kubectl_lbip.__file__)


def _modules():
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                yield rel.removesuffix(".__init__"), path


@functools.lru_cache(maxsize=None)
def _tree(path: str) -> ast.Module:
    """A module's syntax tree, parsed once for all the tests here (they only read it)."""
    with open(path, encoding="utf-8") as fh:
        return ast.parse(fh.read())


def _imports(module: str, path: str):
    """(imported module, names) of every `from X import names`, relative ones resolved,
    inside functions too."""
    tree = _tree(path)
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            yield target, [a.name for a in node.names]


def test_no_module_imports_another_modules_private_names():
    found = [
        (m, t, n)
        for m, p in _modules()
        for t, names in _imports(m, p)
        if t and t.startswith("kubectl_lbip")
        for n in names
        if n.startswith("_") and not n.startswith("__") and t != m
    ]
    assert found == []


def test_the_import_graph_has_no_cycle():
    modules = dict(_modules())
    graph = {m: set() for m in modules}
    for m, p in modules.items():
        for target, names in _imports(m, p):
            if not target or not target.startswith("kubectl_lbip"):
                continue
            for name in names:  # `from . import shape` imports a module
                if f"{target}.{name}" in modules and f"{target}.{name}" != m:
                    graph[m].add(f"{target}.{name}")
            if target in modules and target != m and not any(f"{target}.{n}" in modules for n in names):
                graph[m].add(target)
    # a package imports its submodules and they import it back for its names: not a cycle
    # of modules; only cycles among non-package modules count
    packages = {m for m, p in modules.items() if p.endswith("__init__.py")}
    state: dict = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if nxt in packages or node in packages:
                continue
            if state.get(nxt) == "open":
                raise AssertionError(f"import cycle: {' -> '.join(stack + [nxt])}")
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_the_migrate_family_shares_outcomes_and_not_each_other():
    modules = dict(_modules())
    family = [
        "kubectl_lbip.commands.migrate_files",
        "kubectl_lbip.commands.restore",
        "kubectl_lbip.commands.outcomes",
        "kubectl_lbip.commands.migrate_configmap",
    ]
    for m in family:
        targets = {t for t, _ in _imports(m, modules[m])}
        assert "kubectl_lbip.commands.migrate" not in targets, m


def test_error_types_are_defined_only_in_errors_py():
    defined = []
    for m, p in _modules():
        for node in ast.walk(_tree(p)):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception")) for b in node.bases
            ):
                defined.append((m, node.name))
    # the model's own InvalidValue subclasses, and signals caught inside snapshot/ that
    # never reach a command
    allowed = {
        ("kubectl_lbip.model.addresses", "AddressError"),
        ("kubectl_lbip.model.selectors", "SelectorError"),
        ("kubectl_lbip.model.metallb", "VersionError"),
        ("kubectl_lbip.model.history", "HistoryError"),
        ("kubectl_lbip.model.probe", "PodLogError"),
        ("kubectl_lbip.snapshot.documents", "NotStreamable"),
        ("kubectl_lbip.snapshot.documents", "NotAList"),
        ("kubectl_lbip.snapshot.live", "_DeadlinePassed"),
    }
    assert [d for d in defined if d[0] != "kubectl_lbip.errors" and d not in allowed] == []


# Issue 26 item 2: commands return a Result and printer.py shows it; nothing under
# commands/ prints or asks which -o it was given.
PRINTING = {"out", "note", "emit", "sentence", "raw", "severities"}  # render's writers
FORMAT_NAMES = {"table", "wide", "json", "yaml", "name", "annotation", "sarif", "junit", "github"}


def _command_modules():
    return [(m, p) for m, p in _modules() if m.startswith("kubectl_lbip.commands.")]


def _printing_or_format_branches(path: str):
    """(line, what) of each place that prints or branches on the output format."""
    tree = _tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            yield node.lineno, "print()"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, attr = node.value.id, node.attr
            if owner == "render" and attr in PRINTING:
                yield node.lineno, f"render.{attr}"
            if (owner, attr) in {("sys", "stdout"), ("sys", "stderr"), ("typer", "echo")}:
                yield node.lineno, f"{owner}.{attr}"
        if isinstance(node, ast.Attribute) and node.attr in {"output", "no_headers", "NO_HEADERS"}:
            yield node.lineno, f".{node.attr}"
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                for item in items:
                    if isinstance(item, ast.Constant) and item.value in FORMAT_NAMES:
                        yield node.lineno, f"compares with {item.value!r}"


def test_no_command_module_prints_or_branches_on_the_output_format():
    found = [
        (m.rsplit(".", 1)[1], line, what)
        for m, p in _command_modules()
        for line, what in _printing_or_format_branches(p)
    ]
    assert found == []


def test_a_command_is_not_handed_the_output_format():
    """-o is the printer's alone: the inputs a command runs with carry no format to
    branch on (cli.py hands it to the printer)."""
    from dataclasses import fields

    from kubectl_lbip.commands.common import Inputs

    assert not {"output", "fmt", "format"} & {f.name for f in fields(Inputs)}


def test_the_structure_check_sees_printing_and_format_branches(tmp_path):
    """The check above is not blind: each way of printing or branching is caught."""
    path = tmp_path / "cmd.py"
    path.write_text(
        "import sys\n"
        "def run(inputs):\n"
        "    print('x')\n"
        "    render.note('y')\n"
        "    sys.stdout.write('z')\n"
        "    if inputs.output in ('json', 'yaml'):\n"
        "        pass\n"
        "    if fmt == 'wide':\n"
        "        pass\n"
    )
    whats = [what for _, what in _printing_or_format_branches(str(path))]
    assert whats.count("print()") == 1 and "render.note" in whats and "sys.stdout" in whats
    assert ".output" in whats and "compares with 'json'" in whats and "compares with 'wide'" in whats


def _branches_on_the_implementation(tree) -> list:
    """Comparisons with an implementation's name ("metallb", "cilium", METALLB,
    CILIUM, x.name) and isinstance() of an Implementation class."""
    names = {"metallb", "cilium"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if (
                    (isinstance(side, ast.Constant) and side.value in names)
                    or (isinstance(side, ast.Attribute) and side.attr in ("name", "METALLB", "CILIUM"))
                    or (isinstance(side, ast.Name) and side.id in ("METALLB", "CILIUM"))
                ):
                    found.append(node.lineno)
                    break
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
            if any(getattr(a, "id", getattr(a, "attr", "")) in ("MetalLB", "Cilium") for a in ast.walk(node)):
                found.append(node.lineno)
    return found


def test_commands_do_not_branch_on_the_implementation():
    """Issue 28: a command holds one Implementation (model/implementation.py) and asks
    it; which one answers is decided in the model (and a view picked from a registry
    by its name), never by an `if` of a command."""
    found = {
        path: lines
        for module, path in _modules()
        if module.startswith("kubectl_lbip.commands.")
        if (lines := _branches_on_the_implementation(_tree(path)))
    }
    assert found == {}


def test_the_branch_finder_finds_a_branch():
    src = 'if impl.name == "cilium":\n    pass\nif x == METALLB:\n    pass\nok = isinstance(i, Cilium)\n'
    assert _branches_on_the_implementation(ast.parse(src)) == [1, 3, 5]
    assert _branches_on_the_implementation(ast.parse("VIEWS = {'cilium': 1}\nif a == b:\n    pass\n")) == []

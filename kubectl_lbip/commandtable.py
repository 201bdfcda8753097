"""Completion's table of commands and flags, derived from the Typer app (cli.py).

The command line is declared once, in cli.py. A shell waits for every <TAB>, and
importing typer and click costs more than the whole answer, so completion reads a
table written from the app into ``completion_table.py``:

    python -m kubectl_lbip.commandtable      (make completion-table)

tests/cli/test_complete.py derives it again and fails on any difference, so a new
command or flag cannot be left out of completion.

What a flag's value is (a namespace, a service, a file, ...) is read from its
metavar, which --help shows as well; choices from the option's type."""

from __future__ import annotations

import os
import pprint
from typing import Any, Dict, List

# metavar -> the kind of value completion offers (complete.py knows how to list each)
KINDS = {
    "NS": "namespace",
    "SERVICE": "service",
    "POOL": "pool",
    "CONTEXT": "context",
    "CLUSTER": "cluster",
    "USER": "user",
    "PATH": "file",
    "FILE": "file",
    "FILE|DIR|-": "file",
}
HELP = ("-h", "--help")  # Click's help option is no parameter
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "completion_table.py")


def _kind(param, commands: List[str]) -> Any:
    from .model.cilium import READ as CILIUM_READ
    from .model.implementation import NAMES as IMPLEMENTATIONS
    from .model.metallb import MEASURED

    choices = getattr(param.type, "choices", None)
    if choices:
        return [getattr(c, "value", c) for c in choices]
    if param.metavar == "VERSION":  # --metallb-version: the releases measured
        return list(MEASURED)
    if param.metavar == "CILIUM_VERSION":  # --cilium-version: the releases read
        return list(CILIUM_READ)
    if param.metavar == "metallb|cilium":  # --implementation
        return list(IMPLEMENTATIONS)
    if param.metavar == "[COMMAND]":  # help COMMAND
        return commands
    return KINDS.get(param.metavar or "")


def derive(group) -> Dict[str, Any]:
    """{"global": {"valued": {flag: kind}, "booleans": [...]}, "commands": {command: {"help",
    "global", "valued", "booleans", "positionals": [kind]}}}: kubectl's global flags once
    (the options a command's --help hides), then each command's own, in --help's order."""
    import click

    ctx = click.Context(group, info_name="kubectl lbip")
    names = list(group.list_commands(ctx))
    shared: Dict[str, Any] = {}
    commands: Dict[str, Dict[str, Any]] = {}
    for name in names:
        command = group.get_command(ctx, name)
        own: Dict[str, Any] = {"valued": {}, "booleans": []}
        common: Dict[str, Any] = {"valued": {}, "booleans": []}
        positionals: List[Any] = []
        for param in command.params:
            spellings = list(param.opts) + list(param.secondary_opts)
            into = common if getattr(param, "hidden", False) else own
            if param.param_type_name == "argument":
                positionals.append(_kind(param, names))
            elif getattr(param, "is_flag", False) or getattr(param, "count", False):
                into["booleans"] += spellings
            else:
                kind = _kind(param, names)
                into["valued"].update({s: kind for s in spellings})
        if common["valued"] or common["booleans"]:
            if shared and common != shared:
                raise ValueError(f"{name}: its global flags differ from the other commands'")
            shared = common
        commands[name] = {
            "help": command.short_help or "",
            "global": bool(common["valued"] or common["booleans"]),
            "valued": own["valued"],
            "booleans": own["booleans"] + list(HELP),
            "positionals": positionals,
        }
    return {"global": shared, "commands": commands}


def source(table: Dict[str, Any]) -> str:
    return (
        '"""Generated from the Typer app by kubectl_lbip/commandtable.py '
        '(make completion-table): do not edit."""\n\n'
        "from typing import Any, Dict\n\n"
        "GLOBAL: Dict[str, Any] = " + pprint.pformat(table["global"], width=100, sort_dicts=False) + "\n\n"
        "COMMANDS: Dict[str, Dict[str, Any]] = " + pprint.pformat(table["commands"], width=100, sort_dicts=False) + "\n"
    )


def current_source() -> str:
    import typer.main

    from .cli import app

    return source(derive(typer.main.get_command(app)))


def main() -> None:
    from .commands.migrate_files import replace_files

    replace_files([(PATH, current_source().encode())], new_mode=0o644)


if __name__ == "__main__":
    main()

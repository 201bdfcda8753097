"""kubectl lbip completion: the helper kubectl runs for `kubectl lbip <TAB>`.

kubectl (1.26 and later) completes a plugin's arguments by running an executable
named ``kubectl_complete-lbip`` from PATH. ``pip install`` puts one beside
``kubectl-lbip``; krew and the plain archive do not (krew#812), so this command
prints one, or writes it beside the ``kubectl-lbip`` that kubectl runs, and
removes it again. It only ever removes a file it wrote itself."""

from __future__ import annotations

import os
import shlex
import shutil
from typing import List, Optional

from ..errors import EXIT_OK, UsageError
from ..printer import Block, Result, Text

PROGRAM = "kubectl-lbip"
HELPER = "kubectl_complete-lbip"
MARK = "# written by 'kubectl lbip completion --install'"
LOADING = (
    "note: kubectl's own completion must be loaded in your shell: bash: "
    "'source <(kubectl completion bash)' in ~/.bashrc, with the bash-completion package installed "
    "(without it each <TAB> prints '_get_comp_words_by_ref: command not found'); "
    "zsh: 'source <(kubectl completion zsh)'; fish: 'kubectl completion fish | source'"
)


def program() -> str:
    """The kubectl-lbip kubectl runs: the first on PATH, as kubectl finds plugins. Its
    path as found, links not followed: krew's link stays when an upgrade moves its target."""
    found = shutil.which(PROGRAM)
    if not found:
        raise UsageError(f"{PROGRAM} is not on PATH, so kubectl finds neither the plugin nor a helper beside it")
    return os.path.abspath(found)


def shim(prog: str) -> str:
    remove = "remove it with: kubectl lbip completion --uninstall"
    return f'#!/bin/sh\n{MARK}; {remove}\nexec {shlex.quote(prog)} __complete "$@"\n'


def _read(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as fh:
            return fh.read(65536).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def run(install: bool = False, uninstall: bool = False) -> Result:
    if install and uninstall:
        raise UsageError("--install writes the helper, --uninstall removes it: give one")
    prog = program()
    target = os.path.join(os.path.dirname(prog), HELPER)
    if not (install or uninstall):
        note = (
            f"note: save it as an executable {HELPER} on PATH, or let 'kubectl lbip completion --install' "
            f"write it to {target}"
        )
        return Result(shim(prog).rstrip("\n"), EXIT_OK, after=[note], views={"table": _script})
    existing = _read(target)
    if uninstall:
        if existing is None:
            return _said(f"nothing to remove: there is no {target}")
        if MARK not in existing:
            raise UsageError(
                f"{target} was not written by 'kubectl lbip completion --install' (pip installs it with the "
                "plugin; 'pip uninstall kubectl-lbip' removes it): left as it is"
            )
        os.unlink(target)
        return _said(f"removed {target}")
    if existing is not None and MARK not in existing:
        return _said(f"{target} is there already (installed with the plugin): nothing to write", LOADING)
    from .migrate_files import replace_files

    replace_files([(target, shim(prog).encode())], new_mode=0o755)
    return _said(
        f"wrote {target}; 'kubectl lbip completion --uninstall' removes it "
        "('kubectl krew uninstall lbip' leaves it behind: run that first)",
        LOADING,
    )


def _script(result: Result) -> List[Block]:
    return [Text(result.data)] if result.data else []


def _said(*notes: str) -> Result:
    return Result(None, EXIT_OK, list(notes), views={"table": _script})

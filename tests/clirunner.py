"""typer's CliRunner, with the click command made from the Typer app once.

typer.testing.CliRunner.invoke(app) makes the click command from the app on every
call (typer.main.get_command, about 10 ms of CPU: most of a short command's cost in
the quick tier). The app does not change during a test run, so its command is made
once and invoked as typer's runner invokes it (click's CliRunner, the same arguments)."""

from __future__ import annotations

import functools

import typer
import typer.main
import typer.testing
from click.testing import CliRunner as ClickCliRunner
from click.testing import Result


@functools.lru_cache(maxsize=None)
def command(app: typer.Typer):
    """The click command of a Typer app, made on first use."""
    return typer.main.get_command(app)


class CliRunner(typer.testing.CliRunner):
    def invoke(self, app, args=None, **kwargs) -> Result:  # type: ignore[override]
        return ClickCliRunner.invoke(self, command(app), args, **kwargs)

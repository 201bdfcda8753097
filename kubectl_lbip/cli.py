"""The Typer app: options as kubectl spells them, wired to the commands.

No logic lives here beyond turning options into an Inputs and an exit code.
The kubernetes package is imported only by commands that talk to a cluster, so
`--help` and `version` start fast."""

from __future__ import annotations

import logging
import sys
from typing import List, Optional

import typer
from typing_extensions import Annotated

from . import __version__
from .errors import EXIT_USAGE, LbipError

app = typer.Typer(
    name="kubectl-lbip",
    help="MetalLB LoadBalancer addresses for kubectl: free addresses, who holds one, "
    "safe pinning, migration off deprecated annotations, and a linter.\n\n"
    "Run as 'kubectl lbip COMMAND'. Every command reads the live cluster, or "
    "manifests with -f FILE|DIR|- (then nothing talks to a cluster).",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Kubeconfig = Annotated[Optional[str], typer.Option("--kubeconfig", metavar="PATH",
                       help="Path to the kubeconfig file (default: KUBECONFIG, else ~/.kube/config).")]
Context = Annotated[Optional[str], typer.Option("--context", metavar="NAME",
                    help="The kubeconfig context to use.")]
Namespace = Annotated[Optional[str], typer.Option("-n", "--namespace", metavar="NS",
                      help="The namespace (default: the context's namespace).")]
AllNamespaces = Annotated[bool, typer.Option("-A", "--all-namespaces",
                          help="All namespaces.")]
Filenames = Annotated[Optional[List[str]], typer.Option(
    "-f", "--filename", metavar="FILE|DIR|-",
    help="Read manifests instead of the cluster: a file, a directory (recursive .yaml/.yml/.json) "
    "or - for stdin. Repeatable.")]
Verbose = Annotated[int, typer.Option("-v", "--verbose", count=True,
                    help="Log each API request (method, path, status, duration) to stderr.")]


def _output(formats: str, default: str = "table"):
    return Annotated[str, typer.Option("-o", "--output", metavar="FORMAT",
                                       help=f"Output format: {formats}.")]


def _inputs(kubeconfig, context, namespace, filenames, output="table", all_namespaces=False):
    from .commands.common import Inputs

    return Inputs(kubeconfig=kubeconfig, context=context, namespace=namespace,
                  all_namespaces=all_namespaces, output=output, filenames=list(filenames or []))


def _run(verbose: int, fn, *args, **kwargs) -> None:
    """Run a command; project errors become one line on stderr and an exit code."""
    if verbose:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="I %(message)s")
        logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        code = fn(*args, **kwargs)
    except LbipError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130)
    except BrokenPipeError:
        raise typer.Exit(0)
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print the plugin's version."""
    typer.echo(f"kubectl-lbip {__version__}")


@app.command()
def pools(
    output: _output("table, wide, json, yaml") = "table",
    filename: Filenames = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    verbose: Verbose = 0,
) -> None:
    """List MetalLB's address pools: ranges, flags, restrictions and usage per family.

    \b
    Examples:
      kubectl lbip pools
      kubectl lbip pools -o json
      kubectl lbip pools -f examples/cluster.yaml
    """
    from .commands import pools as cmd

    _run(verbose, cmd.run, _inputs(kubeconfig, context, namespace, filename, output))


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `kubectl lbip ... | head`
        sys.exit(0)


def _usage_error_exit_code() -> int:
    return EXIT_USAGE

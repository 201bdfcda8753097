"""The Typer app: options as kubectl spells them, wired to the commands.

No logic lives here beyond turning options into an Inputs and an exit code.
The kubernetes package is imported only by commands that talk to a cluster, so
`--help` and `version` start fast."""

import functools
import inspect
import logging
import sys
import traceback
from typing import List, Optional

import typer
from typing_extensions import Annotated

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_OK, exit_code_for

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


def _output(formats: str):
    return Annotated[str, typer.Option("-o", "--output", metavar="FORMAT",
                                       help=f"Output format: {formats}.")]


TableOutput = _output("table, wide, json, yaml")
FreeOutput = _output("table, wide, json, yaml, annotation")
PlainOutput = _output("table, json, yaml")
ObjectOutput = _output("yaml, json (with -f or --dry-run=client)")


class Where:
    """Where a command reads from: files (-f), or the cluster of --kubeconfig/--context."""

    def __init__(self, filenames, kubeconfig, context):
        self.filenames, self.kubeconfig, self.context = list(filenames or []), kubeconfig, context

    def inputs(self, namespace=None, output="table", all_namespaces=False):
        from .commands.common import Inputs

        return Inputs(kubeconfig=self.kubeconfig, context=self.context, namespace=namespace,
                      all_namespaces=all_namespaces, output=output, filenames=self.filenames)


_COMMON = [("filename", Filenames, None), ("kubeconfig", Kubeconfig, None),
           ("context", Context, None), ("verbose", Verbose, 0)]


def kubectl_command(fn):
    """Adds the options every command takes as kubectl spells them (-f, --kubeconfig,
    --context, -v) to the command's own; the command receives them as ``where`` and
    returns its exit code, and errors become one line on stderr (see _run)."""
    own = inspect.signature(fn)
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                               annotation=annotation) for name, annotation, default in _COMMON]

    @functools.wraps(fn)
    def command(*args, filename=None, kubeconfig=None, context=None, verbose=0, **kwargs):
        _run(verbose, fn, *args, where=Where(filename, kubeconfig, context), **kwargs)

    command.__signature__ = own.replace(
        parameters=[p for p in own.parameters.values() if p.name != "where"] + extra)
    return command


def _run(verbose: int, fn, *args, **kwargs) -> None:
    """Run a command; every exception becomes one line on stderr and an exit code
    (errors.exit_code_for): the plugin's own errors their code, Ctrl-C 130, and
    anything unexpected 4 with a hint to rerun with -v, which prints the traceback."""
    log = logging.getLogger("kubectl_lbip")
    handler = None
    if verbose:
        # A handler of our own, removed afterwards: basicConfig would do nothing when
        # the host process (a test runner, an embedding script) configured logging.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("I %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        logging.getLogger("urllib3").setLevel(logging.ERROR)  # retry chatter is not a request
    try:
        code = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - the last-resort handler
        raise typer.Exit(report(exc, verbose)) from None
    finally:
        if handler is not None:
            log.removeHandler(handler)
            log.setLevel(logging.NOTSET)
            log.propagate = True
    raise typer.Exit(code)


def report(exc: BaseException, verbose: int = 0) -> int:
    """One line on stderr for an exception, and its exit code. SystemExit and
    click's own exits pass through untouched."""
    if isinstance(exc, (SystemExit, typer.Exit, typer.Abort)) or \
            type(exc).__module__.startswith(("click", "typer")):  # click's own exits and usage
        raise exc
    if isinstance(exc, BrokenPipeError):  # `kubectl lbip ... | head`
        return EXIT_OK
    code = exit_code_for(exc)
    if isinstance(exc, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
    elif code != EXIT_INTERNAL:
        typer.echo(f"error: {_one_line(exc)}", err=True)
    else:
        if verbose:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        what = {"RecursionError": "input nested too deeply", "MemoryError": "out of memory"}.get(
            type(exc).__name__, f"unexpected {type(exc).__name__}")
        typer.echo(f"error: {what}: {_one_line(exc) or '(no message)'}; this is a bug in "
                   "kubectl-lbip" + ("" if verbose else ", rerun with -v to see the traceback"),
                   err=True)
    return code


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:2000]


@app.command()
def version() -> None:
    """Print the plugin's version."""
    typer.echo(f"kubectl-lbip {__version__}")


@app.command()
@kubectl_command
def pools(
    output: TableOutput = "table",
    namespace: Namespace = None,
    *,
    where: Where,
) -> int:
    """List MetalLB's address pools: ranges, flags, restrictions and usage per family.

    \b
    Examples:
      kubectl lbip pools
      kubectl lbip pools -o json
      kubectl lbip pools -f examples/cluster.yaml
    """
    from .commands import pools as cmd

    return cmd.run(where.inputs(namespace, output))


@app.command()
@kubectl_command
def free(
    family: Annotated[Optional[str], typer.Option("--family", metavar="dual|ipv4|ipv6",
                      help="Address family to suggest (default: the --for service's, else dual).")] = None,
    count: Annotated[int, typer.Option("--count", help="How many suggestions (1 to 10,000).")] = 5,
    for_service: Annotated[Optional[str], typer.Option("--for", metavar="NAME",
                           help="An existing service (in -n): its namespace, labels, family, "
                           "sharing key, ports and traffic policy decide.")] = None,
    selector: Annotated[Optional[str], typer.Option("--selector", "-l", metavar="K=V,...",
                        help="Labels of the service to be (for pools' serviceSelectors).")] = None,
    sharing_key: Annotated[Optional[str], typer.Option("--sharing-key", metavar="KEY",
                           help="The metallb.io/allow-shared-ip key of the service to be.")] = None,
    ports: Annotated[Optional[str], typer.Option("--ports", metavar="PROTO/PORT,...",
                     help="Ports of the service to be, e.g. TCP/80,UDP/53.")] = None,
    pool: Annotated[Optional[str], typer.Option("--pool", metavar="NAME",
                    help="Only this pool.")] = None,
    output: FreeOutput = "table",
    namespace: Namespace = None,
    *,
    where: Where,
) -> int:
    """Free addresses per pool, and addresses or dual-stack pairs MetalLB will accept.

    Exit 1 when no suggestion can be made.

    \b
    Examples:
      kubectl lbip free
      kubectl lbip free --for frontend -n shop
      kubectl lbip free -n shop --sharing-key web --ports TCP/443
      kubectl lbip free --family ipv4 --count 10 -o json
      kubectl lbip free -f examples/cluster.yaml -o annotation
    """
    from .commands import free as cmd

    query = cmd.FreeQuery(family=family, count=count, for_service=for_service, selector=selector,
                          sharing_key=sharing_key, ports=ports, pool=pool)
    return cmd.run(where.inputs(namespace, output), query)


@app.command("who-has")
@kubectl_command
def who_has(
    addresses: Annotated[List[str], typer.Argument(metavar="IP|CIDR...",
                         help="Addresses or CIDRs to look up.")],
    output: PlainOutput = "table",
    namespace: Namespace = None,
    *,
    where: Where,
) -> int:
    """Which services hold or request an address, in which pool, and whether they conflict.

    Exit 0 when at least one address is held or requested, 1 when none is (like grep),
    2 when an argument is not an address or CIDR.

    \b
    Examples:
      kubectl lbip who-has 192.168.10.150
      kubectl lbip who-has 192.168.10.150 fd00:10::150
      kubectl lbip who-has 192.168.10.0/24 -o json
    """
    from .commands import whohas as cmd

    return cmd.run(where.inputs(namespace, output), addresses)


@app.command()
@kubectl_command
def check(
    strict: Annotated[bool, typer.Option("--strict", help="Warnings count as failures too.")] = False,
    output: PlainOutput = "table",
    namespace: Annotated[Optional[str], typer.Option("-n", "--namespace", metavar="NS",
                         help="Only this namespace's services (default: all).")] = None,
    all_namespaces: AllNamespaces = False,
    *,
    where: Where,
) -> int:
    """Lint a cluster, or a folder of manifests, for every mistake MetalLB would punish.

    Exit 1 when there is at least one error (with --strict, or warning), 0 otherwise.

    \b
    Examples:
      kubectl lbip check
      kubectl lbip check -f manifests/ --strict
      kubectl lbip check -o json | jq '.findings[] | select(.severity=="error")'
    """
    from .commands import check as cmd

    return cmd.run(where.inputs(namespace, output, all_namespaces), strict)


DryRun = Annotated[str, typer.Option("--dry-run", metavar="none|client|server",
                  help="client: print what would change and write nothing; server: send it with "
                  "the API server's dry run (validated, not persisted).")]


@app.command()
@kubectl_command
def annotate(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The service.")],
    addresses: Annotated[Optional[List[str]], typer.Argument(
        metavar="[IP...]", help="One address, or one IPv4 and one IPv6 for a dual-stack service.")] = None,
    auto: Annotated[bool, typer.Option("--auto", help="Take the first suggestion of "
                    "'free --for NAME' (what the service holds now, if anything).")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing "
                         "metallb.io/loadBalancerIPs value.")] = False,
    clear_spec_ip: Annotated[bool, typer.Option("--clear-spec-ip", help="Remove "
                             "spec.loadBalancerIP in the same patch.")] = False,
    dry_run: DryRun = "none",
    wait: Annotated[bool, typer.Option("--wait", help="After writing, wait for MetalLB: exit 0 "
                    "once it assigns the addresses, 1 if it refuses (its reason) or --timeout "
                    "passes.")] = False,
    timeout: Annotated[str, typer.Option("--timeout", metavar="DURATION",
                       help="How long --wait waits, e.g. 30s or 2m.")] = "30s",
    output: ObjectOutput = "yaml",
    namespace: Namespace = None,
    *,
    where: Where,
) -> int:
    """Pin addresses on a service with metallb.io/loadBalancerIPs, after checking every MetalLB rule.

    Refuses with exit 1 and one line per broken rule; writes one patch that carries the
    service's resourceVersion (a concurrent change is re-read and re-checked, never
    overwritten). With -f, prints the annotated Service and talks to no cluster.

    \b
    Examples:
      kubectl lbip annotate frontend -n shop 192.168.10.150 fd00:10::150 --wait
      kubectl lbip annotate grafana -n monitoring --auto --dry-run=client
      kubectl lbip annotate dns -n legacy 192.168.10.53 --clear-spec-ip
      kubectl lbip annotate gateway -n payments --auto --overwrite -f examples/cluster.yaml
    """
    from .commands import annotate as cmd

    req = cmd.AnnotateRequest(name=name, addresses=list(addresses or []), auto=auto,
                              overwrite=overwrite, clear_spec_ip=clear_spec_ip, dry_run=dry_run,
                              wait=wait, timeout=timeout)
    return cmd.run(where.inputs(namespace, output), req)


@app.command()
@kubectl_command
def migrate(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: DryRun = "none",
    backup: Annotated[Optional[str], typer.Option("--backup", metavar="FILE", help="Before any "
                      "change, write the original annotations and spec.loadBalancerIP of every "
                      "service to be touched.")] = None,
    restore: Annotated[Optional[str], typer.Option("--restore", metavar="FILE", help="Put back "
                       "what a --backup file holds.")] = None,
    force: Annotated[bool, typer.Option("--force", help="With --restore: restore a backup made "
                     "on another cluster (its API server differs from this context's), or one "
                     "that does not record its cluster.")] = False,
    in_place: Annotated[bool, typer.Option("--in-place", help="With -f: rewrite the files, "
                        "keeping comments, key order and other documents.")] = False,
    configmap: Annotated[bool, typer.Option("--configmap", help="Convert MetalLB's legacy "
                         "ConfigMap into IPAddressPool and advertisement manifests (printed, "
                         "never applied).")] = False,
    output: PlainOutput = "table",
    namespace: Annotated[Optional[str], typer.Option("-n", "--namespace", metavar="NS",
                         help="Only this namespace (default: all).")] = None,
    all_namespaces: AllNamespaces = False,
    *,
    where: Where,
) -> int:
    """Move deprecated metallb.universe.tf/* annotations and spec.loadBalancerIP to metallb.io/*.

    Prints the plan and asks before writing. A service whose old and new values
    disagree is left alone and reported as a conflict (exit 1). Each service is one
    patch carrying its resourceVersion; running it twice changes nothing the second time.

    \b
    Examples:
      kubectl lbip migrate --dry-run=client
      kubectl lbip migrate -n shop --backup before.json --yes
      kubectl lbip migrate --restore before.json
      kubectl lbip migrate -f manifests/ --in-place
      kubectl lbip migrate --configmap > pools.yaml
    """
    from .commands import migrate as cmd

    req = cmd.MigrateRequest(yes=yes, dry_run=dry_run, backup=backup, restore=restore,
                             in_place=in_place, configmap=configmap, force=force)
    return cmd.run(where.inputs(namespace, output, all_namespaces), req)


def main() -> None:
    try:
        app()
    except BaseException as exc:  # noqa: BLE001 - nothing escapes as a traceback
        sys.exit(report(exc, verbose=int("-v" in sys.argv or "--verbose" in sys.argv)))

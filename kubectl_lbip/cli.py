"""The Typer app: options as kubectl spells them, wired to the commands.

No logic lives here beyond turning options into an Inputs and an exit code.
Each command imports what it needs when it runs, so `--help` and `version` start
fast."""

import functools
import inspect
import os
import sys
import traceback
from enum import Enum
from typing import Annotated, List, Optional, Tuple

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_OK, LbipError, UsageError, exit_code_for

PROG = "kubectl lbip"  # what Usage and "Try ... --help" lines say (krew's guidelines)


class KubectlGroup(TyperGroup):
    """Flags before the command, as Cobra's persistent flags allow
    (`kubectl lbip -n shop free`): moved after the command's name, where it reads them.
    No arguments prints the help and exits 0, as kubectl does."""

    def parse_args(self, ctx, args):
        from .flags import hoist

        if not args:
            typer.echo(ctx.get_help())
            ctx.exit(EXIT_OK)
        return super().parse_args(ctx, hoist(list(args), self.commands))

    def format_epilog(self, ctx, formatter):
        formatter.write_paragraph()
        with formatter.section("Flags before or after the command (kubectl's, on every command)"):
            formatter.write_dl(global_flags(ctx))
        formatter.write_paragraph()
        formatter.write_text(
            f"Use '{PROG} COMMAND --help' for more information about a command, and "
            f"'{PROG} options' for the global flags with their meaning."
        )


app = typer.Typer(
    cls=KubectlGroup,
    name=PROG,
    help="MetalLB LoadBalancer addresses for kubectl: free addresses, who holds one, "
    "safe pinning, migration off deprecated annotations, and a linter.\n\n"
    "Run as 'kubectl lbip COMMAND'. Every command reads the live cluster, or "
    "manifests with -f FILE|DIR|- (then nothing talks to a cluster, unless --against-cluster "
    "lays them over the live cluster).",
    rich_markup_mode=None,
    suggest_commands=False,  # click says "Did you mean" already
    add_completion=False,  # completion comes through kubectl: kubectl_complete-lbip
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class KubectlCommand(TyperCommand):
    """A command whose command line is read as kubectl's flag parser (pflag) reads it:
    ``-n=x``, ``-An=x``, ``--strict=false``, ``-v=6``, bare ``--dry-run``; see flags.py.
    Its --help lists its own options; the global ones are on the options page."""

    def parse_args(self, ctx, args):
        from .flags import normalize, spec_of

        return super().parse_args(ctx, normalize(list(args), spec_of(self.params)))

    def format_epilog(self, ctx, formatter):
        super().format_epilog(ctx, formatter)
        if any(p.name in _COMMON_NAMES for p in self.params):
            formatter.write_paragraph()
            formatter.write_text(OPTIONS_HINT)


OPTIONS_HINT = f"Use '{PROG} options' for a list of global command-line options (applies to all commands)."


def _namespace(value: Optional[str]) -> Optional[str]:
    from .flags import dns1123_label_problem

    if value is not None:
        problem = dns1123_label_problem(value)
        if problem:
            raise typer.BadParameter(f"{value!r} is not a valid namespace name: {problem}")
    return value


def _duration(value: Optional[str]) -> Optional[str]:
    from .flags import parse_duration

    if value is not None and parse_duration(value) is None:
        raise typer.BadParameter(
            f"{value!r}: use a duration such as 1s, 2m or 0 (no timeout); a bare number is seconds"
        )
    return value


def _positive_duration(value: Optional[str]) -> Optional[str]:
    from .flags import parse_duration

    if value is not None and not (parse_duration(value) or 0) > 0:
        raise typer.BadParameter(f"{value!r}: use a duration above 0, such as 500ms, 2s or 1m")
    return value


def _percent(value: Optional[str]) -> Optional[str]:
    from .flags import parse_percent

    if value is not None and parse_percent(value) is None:
        raise typer.BadParameter(f"{value!r}: use a share from 1% to 100%, such as 80% (or 80)")
    return value


# The -o values of each command are printer.FORMATS's: --help lists exactly these
# and Click refuses any other (exit 2).
def _output(command: str, text: str = "Output format."):
    from click import Choice

    from .printer import formats

    return typer.Option("-o", "--output", click_type=Choice(formats(command)), help=text)


class MigrateTarget(str, Enum):
    cilium = "cilium"
    metallb = "metallb"


class DryRunChoice(str, Enum):
    none = "none"
    client = "client"
    server = "server"


class FamilyChoice(str, Enum):
    dual = "dual"
    ipv4 = "ipv4"
    ipv6 = "ipv6"


PoolsOutput = Annotated[str, _output("pools")]
FreeOutput = Annotated[str, _output("free")]
WhoHasOutput = Annotated[str, _output("who-has")]
CheckOutput = Annotated[str, _output("check")]
WhyOutput = Annotated[str, _output("why")]
ProbeOutput = Annotated[str, _output("probe")]
HistoryOutput = Annotated[str, _output("history")]
MigrateOutput = Annotated[str, _output("migrate")]
PinOutput = Annotated[
    str,
    _output(
        "pin",
        "table: the plan on stderr, the pinned manifests on stdout (unless "
        "--in-place); json, yaml: the plan on stdout, for scripts.",
    ),
]
AnnotateOutput = Annotated[
    str, _output("annotate", "Output format of the object (with -f) or the patch (with --dry-run=client).")
]


Namespace = Annotated[
    Optional[str],
    typer.Option(
        "-n",
        "--namespace",
        metavar="NS",
        callback=_namespace,
        hidden=True,
        help="The namespace: of the service named, or of the service to be; the commands that "
        "read every namespace by default (pools, who-has, check, migrate) keep to this one.",
    ),
]
AllNamespaces = Annotated[bool, typer.Option("-A", "--all-namespaces", help="All namespaces (the default).")]
AgainstCluster = Annotated[
    bool,
    typer.Option(
        "--against-cluster",
        help="With -f: read the live cluster (kubectl's flags name it) and lay "
        "the manifests over it, as 'kubectl apply -f' would leave it: an object in the files "
        "replaces the live one of the same kind, namespace and name. Only reads the cluster.",
    ),
]
NoHeaders = Annotated[bool, typer.Option("--no-headers", help="Print tables without their header row.")]
Watch = Annotated[
    bool,
    typer.Option(
        "-w",
        "--watch",
        help="After the first list, follow the cluster and print a line per change (-o json: a JSON "
        "object per line) until Ctrl-C; see the README's Watching.",
    ),
]
Filenames = Annotated[
    Optional[List[str]],
    typer.Option(
        "-f",
        "--filename",
        metavar="FILE|DIR|-",
        hidden=True,
        help="Read manifests instead of the cluster: a file, a directory (recursive .yaml/.yml/.json) "
        "or - for stdin. Repeatable.",
    ),
]
MetallbVersion = Annotated[
    Optional[str],
    typer.Option(
        "--metallb-version",
        metavar="VERSION",
        hidden=True,
        help="Apply this MetalLB release's rules (e.g. v0.14.9) instead of the one found in the "
        "cluster (its controller Deployment's image tag, else its CRDs); with -f the newest is "
        "assumed otherwise.",
    ),
]

ImplementationName = Annotated[
    Optional[str],
    typer.Option(
        "--implementation",
        metavar="metallb|cilium",
        hidden=True,
        help="Apply this implementation's rules: metallb (MetalLB) or cilium (Cilium LB-IPAM), instead of "
        "the one found in the cluster (its CRDs, pools and operator Deployment); with -f, the one whose "
        "pools the files hold.",
    ),
]
CiliumVersion = Annotated[
    Optional[str],
    typer.Option(
        "--cilium-version",
        metavar="CILIUM_VERSION",
        hidden=True,
        help="Apply this Cilium release's LB-IPAM rules (e.g. v1.16.0) instead of the one found in the "
        "cluster (the cilium-operator Deployment's image tag, else its CRDs); with -f the newest is "
        "assumed otherwise.",
    ),
]


def _flag(*names: str, text: str, metavar: str = "TEXT", kind=Optional[str]):
    return Annotated[kind, typer.Option(*names, metavar=metavar, hidden=True, help=text)]


# kubectl's own global flags (`kubectl options`), meaning what they mean to kubectl:
# (name, annotation, default); the command receives them in ``where``.
_COMMON = [
    ("namespace", Namespace, None),
    ("filename", Filenames, None),
    (
        "kubeconfig",
        _flag(
            "--kubeconfig",
            metavar="PATH",
            text="Path to the kubeconfig file (default: KUBECONFIG, else ~/.kube/config).",
        ),
        None,
    ),
    ("context", _flag("--context", metavar="CONTEXT", text="The kubeconfig context to use."), None),
    ("cluster", _flag("--cluster", metavar="CLUSTER", text="The kubeconfig cluster to use."), None),
    ("user", _flag("--user", metavar="USER", text="The kubeconfig user to use."), None),
    (
        "server",
        _flag(
            "-s", "--server", metavar="URL", text="The API server's address (with --token, no kubeconfig is needed)."
        ),
        None,
    ),
    ("token", _flag("--token", metavar="TOKEN", text="Bearer token for the API server."), None),
    (
        "certificate_authority",
        _flag("--certificate-authority", metavar="PATH", text="A CA certificate file for the API server."),
        None,
    ),
    (
        "client_certificate",
        _flag("--client-certificate", metavar="PATH", text="A client certificate file for TLS."),
        None,
    ),
    ("client_key", _flag("--client-key", metavar="PATH", text="A client key file for TLS."), None),
    (
        "insecure_skip_tls_verify",
        _flag(
            "--insecure-skip-tls-verify",
            kind=bool,
            metavar="",
            text="Do not verify the API server's certificate (insecure).",
        ),
        False,
    ),
    (
        "tls_server_name",
        _flag(
            "--tls-server-name", metavar="NAME", text="The server name to verify the API server's certificate against."
        ),
        None,
    ),
    ("as_user", _flag("--as", metavar="USERNAME", text="Impersonate this user."), None),
    (
        "as_group",
        _flag("--as-group", metavar="GROUP", kind=Optional[List[str]], text="Impersonate this group (repeatable)."),
        None,
    ),
    ("as_uid", _flag("--as-uid", metavar="UID", text="Impersonate this UID."), None),
    ("metallb_version", MetallbVersion, None),
    ("implementation", ImplementationName, None),
    ("cilium_version", CiliumVersion, None),
    (
        "request_timeout",
        Annotated[
            Optional[str],
            typer.Option(
                "--request-timeout",
                metavar="DURATION",
                callback=_duration,
                hidden=True,
                help="How long one API request may take in all, e.g. 1s, 2m; 0 waits forever (default: 30s).",
            ),
        ],
        None,
    ),
    (
        "verbose",
        Annotated[
            int,
            typer.Option(
                "-v",
                "--v",
                "--verbose",
                metavar="LEVEL",
                min=0,
                hidden=True,
                help="Log level as kubectl's: 6 and above log each API request (method, path, status, "
                "duration) to stderr; -v alone is -v=6.",
            ),
        ],
        0,
    ),
]
_COMMON_NAMES = [name for name, _, _ in _COMMON]


class Where:
    """Where a command reads from: files (-f), or the cluster named by kubectl's flags."""

    def __init__(
        self,
        namespace=None,
        filename=None,
        verbose=0,
        request_timeout=None,
        metallb_version=None,
        implementation=None,
        cilium_version=None,
        **flags,
    ):
        self.namespace = namespace
        self.filenames = list(filename or [])
        self.verbose = verbose
        self.request_timeout = request_timeout
        self.metallb_version = metallb_version
        self.implementation = implementation
        self.cilium_version = cilium_version
        self.flags = flags

    def inputs(self, command, output="table", all_namespaces=False, no_headers=False, against_cluster=False):
        """The command's Inputs; ``command`` and ``output`` name the printer that
        show() hands the result to (printer.FORMATS)."""
        from .commands.common import Inputs
        from .flags import parse_duration
        from .printer import Say, needs, printer_for

        output = getattr(output, "value", output)
        printer_for(command, output)  # a format the command lacks is refused before any work
        self.command, self.output, self.no_headers = command, output, no_headers

        flags = dict(self.flags)
        kubeconfig, context = flags.pop("kubeconfig", None), flags.pop("context", None)
        timeout = None if self.request_timeout is None else parse_duration(self.request_timeout)
        inputs = Inputs(
            kubeconfig=kubeconfig,
            context=context,
            namespace=self.namespace,
            all_namespaces=all_namespaces,
            needs=needs(command, output),
            say=Say(output, no_headers),
            filenames=self.filenames,
            overrides=flags,
            request_timeout=timeout,
            metallb_version=self.metallb_version,
            implementation=self.implementation,
            cilium_version=self.cilium_version,
            against_cluster=against_cluster,
        )
        inputs.check_against_cluster()
        if not inputs.filenames:  # (with --against-cluster the files are read first)
            try:
                inputs.client()  # kubectl starts now, while the command's own modules load
            except LbipError:
                pass  # said where the command connects, as without this early start
        return inputs

    def show(self, result) -> int:
        """The command's result, printed as -o asked; its exit code."""
        from .printer import show

        return show(self.command, self.output, result, self.no_headers)

    def stream(self, result) -> None:
        """One batch of a streaming command's output (--watch), printed and flushed."""
        from .printer import stream

        stream(self.command, self.output, result, self.no_headers)


def kubectl_command(fn):
    """Adds the options every command takes as kubectl spells them (-f, kubectl's
    global flags, -v) to the command's own; the command receives them as ``where``
    and returns its exit code, and errors become one line on stderr (see _run)."""
    own = inspect.signature(fn)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in _COMMON
    ]

    @functools.wraps(fn)
    def command(*args, **kwargs):
        common = {name: kwargs.pop(name, None) for name in _COMMON_NAMES}
        _run(common["verbose"] or 0, fn, *args, where=Where(**common), **kwargs)

    command.__signature__ = own.replace(parameters=[p for p in own.parameters.values() if p.name != "where"] + extra)
    return command


def _run(verbose: int, fn, *args, **kwargs) -> None:
    """Run a command; every exception becomes one line on stderr and an exit code
    (errors.exit_code_for): the plugin's own errors their code, Ctrl-C 130, and
    anything unexpected 4 with a hint to rerun with -v, which prints the traceback."""
    handler = None
    if verbose >= 6:  # kubectl's level for logging each request (logging is imported only then)
        import logging

        log = logging.getLogger("kubectl_lbip")
        # A handler of our own, removed afterwards: basicConfig would do nothing when
        # the host process (a test runner, an embedding script) configured logging.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("I %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
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
    if isinstance(exc, (SystemExit, typer.Exit, typer.Abort)) or type(exc).__module__.startswith(
        ("click", "typer")
    ):  # click's own exits and usage
        raise exc
    if isinstance(exc, BrokenPipeError):  # `kubectl lbip ... | head`
        return EXIT_OK
    from .render import paint, terminal

    code = exit_code_for(exc)
    if isinstance(exc, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
    elif code != EXIT_INTERNAL:
        line = f"error: {_one_line(exc)}"  # one line, coloured on a terminal
        typer.echo(paint(line) if terminal(sys.stderr) else line, err=True)
    else:
        if verbose:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        what = {"RecursionError": "input nested too deeply", "MemoryError": "out of memory"}.get(
            type(exc).__name__, f"unexpected {type(exc).__name__}"
        )
        typer.echo(
            f"error: {what}: {_one_line(exc) or '(no message)'}; this is a bug in "
            "kubectl-lbip" + ("" if verbose else ", rerun with -v to see the traceback"),
            err=True,
        )
    return code


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:2000]


def global_flags(ctx) -> List[Tuple[str, str]]:
    """(spelling, help) of each global flag, in _COMMON's order, for the root help and
    the options page (each command's own --help leaves them out)."""
    group = ctx.find_root().command
    command = next(c for c in group.commands.values() if any(p.name in _COMMON_NAMES for p in c.params))
    params = {p.name: p for p in command.params}
    rows = []
    for name in _COMMON_NAMES:
        p = params[name]
        spelling = ", ".join(list(p.opts) + list(p.secondary_opts))
        rows.append((spelling + (f" {p.metavar}" if p.metavar else ""), p.help or ""))
    return rows


@app.command(cls=KubectlCommand, short_help="List MetalLB's address pools and their usage")
@kubectl_command
def pools(
    output: PoolsOutput = "table",
    no_headers: NoHeaders = False,
    draw_map: Annotated[
        bool,
        typer.Option(
            "--map",
            help="Draw each pool's address space: free, held, shared, requested, conflicting "
            "(by blocks beyond 4096 addresses); with -o json|yaml, each pool's runs.",
        ),
    ] = False,
    watch: Watch = False,
    *,
    where: Where,
) -> int:
    """List MetalLB's address pools: ranges, flags, restrictions and usage per family.

    With -n, only the pools that live in that namespace.

    \b
    Examples:
      kubectl lbip pools
      kubectl lbip pools -o json
      kubectl lbip pools --map -f examples/cluster.yaml
      kubectl lbip pools -w
    """
    if watch:
        from .commands import watch as cmd_watch

        if draw_map:
            raise UsageError("--map draws one moment: it cannot be used with --watch")
        return cmd_watch.run(where.inputs("pools -w", output, no_headers=no_headers), cmd_watch.POOLS, where.stream)
    from .commands import pools as cmd

    return where.show(cmd.run(where.inputs("pools", output, no_headers=no_headers), draw_map=draw_map))


StrictConfig = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="While MetalLB has rejected the configuration in the cluster (its ConfigurationState "
        "says Invalid), fail with exit 1 and write nothing, instead of a warning.",
    ),
]


@app.command(cls=KubectlCommand, short_help="Free addresses and suggestions MetalLB will accept")
@kubectl_command
def free(
    family: Annotated[
        Optional[FamilyChoice],
        typer.Option("--family", help="Address family to suggest (default: the --for service's, else dual)."),
    ] = None,
    count: Annotated[int, typer.Option("--count", help="How many suggestions (1 to 10,000).")] = 5,
    for_service: Annotated[
        Optional[str],
        typer.Option(
            "--for",
            metavar="SERVICE",
            help="An existing service (in -n): its namespace, labels, family, "
            "sharing key, ports and traffic policy decide.",
        ),
    ] = None,
    selector: Annotated[
        Optional[str],
        typer.Option(
            "--selector", "-l", metavar="K=V,...", help="Labels of the service to be (for pools' serviceSelectors)."
        ),
    ] = None,
    sharing_key: Annotated[
        Optional[str],
        typer.Option("--sharing-key", metavar="KEY", help="The metallb.io/allow-shared-ip key of the service to be."),
    ] = None,
    ports: Annotated[
        Optional[str],
        typer.Option("--ports", metavar="PROTO/PORT,...", help="Ports of the service to be, e.g. TCP/80,UDP/53."),
    ] = None,
    pool: Annotated[Optional[str], typer.Option("--pool", metavar="POOL", help="Only this pool.")] = None,
    strict: StrictConfig = False,
    output: FreeOutput = "table",
    no_headers: NoHeaders = False,
    against_cluster: AgainstCluster = False,
    *,
    where: Where,
) -> int:
    """Free addresses per pool, and addresses or dual-stack pairs MetalLB will accept.

    -n is the namespace of the service (--for), or of the service to be: its pools'
    namespaceSelectors decide (default: the context's namespace). Exit 1 when no
    suggestion can be made.

    \b
    Examples:
      kubectl lbip free
      kubectl lbip free --for frontend -n shop
      kubectl lbip free -n shop --sharing-key web --ports TCP/443
      kubectl lbip free --family ipv4 --count 10 -o json
      kubectl lbip free -f examples/cluster.yaml -o annotation
    """
    from .commands import free as cmd

    query = cmd.FreeQuery(
        family=family.value if family else None,
        count=count,
        for_service=for_service,
        selector=selector,
        sharing_key=sharing_key,
        ports=ports,
        pool=pool,
        strict=strict,
    )
    inputs = where.inputs("free", output, no_headers=no_headers, against_cluster=against_cluster)
    return where.show(cmd.run(inputs, query))


@app.command("who-has", cls=KubectlCommand, short_help="Which services hold or request an address")
@kubectl_command
def who_has(
    addresses: Annotated[
        Optional[List[str]],
        typer.Argument(metavar="IP|CIDR...", help="Addresses or CIDRs to look up (with -w: every one when none)."),
    ] = None,
    output: WhoHasOutput = "table",
    no_headers: NoHeaders = False,
    all_namespaces: AllNamespaces = False,
    against_cluster: AgainstCluster = False,
    watch: Watch = False,
    *,
    where: Where,
) -> int:
    """Which services hold or request an address, in which pool, and whether they conflict.

    Every namespace, unless -n names one. Exit 0 when at least one address is held or
    requested, 1 when none is (like grep), 2 when an argument is not an address or CIDR.

    \b
    Examples:
      kubectl lbip who-has 192.168.10.150
      kubectl lbip who-has 192.168.10.150 fd00:10::150
      kubectl lbip who-has 192.168.10.0/24 -n shop -o name
      kubectl lbip who-has -w -o json >> assignments.jsonl
    """
    from .commands import whohas as cmd

    if not addresses and not watch:
        raise UsageError("who-has needs at least one IP or CIDR (with -w, none follows every address)")
    if watch:
        from .commands import watch as cmd_watch

        queries = cmd.parse_queries(addresses or [])  # bad input fails before any cluster access
        inputs = where.inputs("who-has -w", output, all_namespaces, no_headers, against_cluster)
        return cmd_watch.run(inputs, cmd_watch.WHO_HAS, where.stream, queries)
    inputs = where.inputs("who-has", output, all_namespaces, no_headers, against_cluster)
    return where.show(cmd.run(inputs, addresses or []))


@app.command(cls=KubectlCommand, short_help="Lint a cluster or manifests for what MetalLB would punish")
@kubectl_command
def check(
    strict: Annotated[bool, typer.Option("--strict", help="Warnings count as failures too.")] = False,
    list_checks: Annotated[
        bool, typer.Option("--list", help="List the check codes (code, severity, title, fix) and exit.")
    ] = False,
    warn_used: Annotated[
        Optional[str],
        typer.Option(
            "--warn-used",
            metavar="PERCENT",
            callback=_percent,
            help="Also report each pool whose used share of a family is PERCENT or more "
            "(pool-used-high, a warning), e.g. 80%.",
        ),
    ] = None,
    output: CheckOutput = "table",
    no_headers: NoHeaders = False,
    all_namespaces: AllNamespaces = False,
    against_cluster: AgainstCluster = False,
    watch: Watch = False,
    *,
    where: Where,
) -> int:
    """Lint a cluster, or a folder of manifests, for every mistake MetalLB would punish.

    Every namespace's services, unless -n names one. Exit 1 when there is at least one
    error (with --strict, or warning), 0 otherwise.

    \b
    Examples:
      kubectl lbip check
      kubectl lbip check -f manifests/ --strict
      kubectl lbip check --against-cluster -f k8s/
      kubectl lbip check --warn-used 80% --strict
      kubectl lbip check -o json | jq '.findings[] | select(.severity=="error")'
      kubectl lbip check -f k8s/ -o sarif > lbip.sarif
      kubectl lbip check --list
      kubectl lbip check -w
    """
    from .commands import check as cmd

    name = "check --list" if list_checks else "check -w" if watch else "check"
    inputs = where.inputs(name, output, all_namespaces, no_headers, against_cluster)
    if list_checks:
        return where.show(cmd.list_checks())
    from .flags import parse_percent

    percent = None if warn_used is None else parse_percent(warn_used)
    if watch:
        from .commands import watch as cmd_watch

        return cmd_watch.run(inputs, cmd_watch.CHECK, where.stream, warn_used=percent)
    return where.show(cmd.run(inputs, strict, percent))


@app.command(cls=KubectlCommand, short_help="Explain one LoadBalancer service end to end, and what to fix first")
@kubectl_command
def why(
    name: Annotated[str, typer.Argument(metavar="SERVICE", help="The LoadBalancer service.")],
    probing: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Also connect from here to its addresses on each TCP port (as 'probe' does) and say, "
            "per family that does not answer, its likely cause.",
        ),
    ] = False,
    output: WhyOutput = "table",
    no_headers: NoHeaders = False,
    *,
    where: Where,
) -> int:
    """Explain one LoadBalancer service end to end: request, MetalLB's answer, findings,
    pool, advertisements and their nodes, speakers, endpoints; then the first fix.

    With --probe, also connect from here to each of its addresses on each TCP port, and
    for a family that does not answer, say in one line what it most likely is (the
    family's route, no advertisement on the node, a Local policy without endpoints...).

    Exit 0 when nothing blocks the service (and with --probe, every TCP port answered),
    1 otherwise, 2 when it does not exist or is not a LoadBalancer.

    \b
    Examples:
      kubectl lbip why frontend -n shop
      kubectl lbip why gateway -n payments -o json
      kubectl lbip why web -n team-a -f dump.yaml
      kubectl lbip why frontend -n shop --probe
    """
    from .commands import why as cmd

    return where.show(cmd.run(where.inputs("why", output, no_headers=no_headers), name, probing=probing))


@app.command(cls=KubectlCommand, short_help="Connect to each address and TCP port of a service, per family")
@kubectl_command
def probe(
    name: Annotated[str, typer.Argument(metavar="SERVICE", help="The LoadBalancer service.")],
    timeout: Annotated[
        str,
        typer.Option(
            "--timeout",
            metavar="DURATION",
            callback=_positive_duration,
            help="How long the whole probe may take, e.g. 10s; ports not tried by then are not probed.",
        ),
    ] = "10s",
    connect_timeout: Annotated[
        str,
        typer.Option(
            "--connect-timeout",
            metavar="DURATION",
            callback=_positive_duration,
            help="How long one connect may take before it counts as timed out, e.g. 500ms.",
        ),
    ] = "2s",
    from_cluster: Annotated[
        bool,
        typer.Option(
            "--from-cluster",
            help="Probe from a short-lived pod in the service's namespace (deleted afterwards, "
            "on every path), for addresses reachable only inside; --timeout bounds its start too.",
        ),
    ] = False,
    image: Annotated[
        Optional[str],
        typer.Option(
            "--image",
            metavar="IMAGE",
            help="With --from-cluster: the pod's image, any with python3 (default: python:3.13-alpine).",
        ),
    ] = None,
    output: ProbeOutput = "table",
    no_headers: NoHeaders = False,
    *,
    where: Where,
) -> int:
    """Connect from here to each address in a LoadBalancer service's status, on each of
    its TCP ports: answered, refused, timed out or no route, with the time taken, per
    family. UDP and SCTP ports are listed as not probed. Nothing is sent: a connect
    opened is closed at once.

    With --from-cluster, the same connects are made by a pod in the service's namespace
    (restartPolicy Never, no API credentials, the restricted Pod Security profile), as
    'kubectl run --rm' would: created, waited for within --timeout, its log read, deleted.

    Exit 0 when every TCP port answered on every address, 1 otherwise (or when there is
    nothing to probe), 2 when the service does not exist or is not a LoadBalancer, 3 when
    the pod cannot run or finish within --timeout.

    \b
    Examples:
      kubectl lbip probe frontend -n shop
      kubectl lbip probe gateway -n payments --connect-timeout 500ms -o json
      kubectl lbip probe internal-dns -n infra --from-cluster --timeout 1m
    """
    from .commands import probe as cmd
    from .errors import UsageError
    from .flags import parse_duration
    from .model.probe import POD_IMAGE

    if image is not None and not from_cluster:
        raise UsageError("--image is the image of --from-cluster's pod: give --from-cluster too")
    return where.show(
        cmd.run(
            where.inputs("probe", output, no_headers=no_headers),
            name,
            parse_duration(timeout) or 0.0,
            parse_duration(connect_timeout) or 0.0,
            image=(image or POD_IMAGE) if from_cluster else None,
        )
    )


@app.command(cls=KubectlCommand, short_help="What happened to an address or a service: changes, and who held it when")
@kubectl_command
def history(
    target: Annotated[
        Optional[str],
        typer.Argument(
            metavar="[IP|CIDR|SERVICE]",
            help="An address or CIDR, or a service (NAME in -n, or NAMESPACE/NAME); none: every service.",
        ),
    ] = None,
    at: Annotated[
        Optional[str],
        typer.Option(
            "--at",
            metavar="TIME",
            help="Who held the address (or what the service held) at this time, from when until when: "
            "RFC 3339 (2026-12-01T15:00:00Z), or a date and time in UTC.",
        ),
    ] = None,
    since: Annotated[
        Optional[str],
        typer.Option(
            "--since",
            metavar="DURATION|TIME",
            help="Only the changes since then: a duration back from now (1h, 48h) or a time.",
        ),
    ] = None,
    output: HistoryOutput = "table",
    no_headers: NoHeaders = False,
    all_namespaces: AllNamespaces = False,
    *,
    where: Where,
) -> int:
    """What happened to an address or a service: each change (assigned, released, moved,
    refused, deleted) with its time, or with --at who held it at a time.

    With -f FILE (repeatable, - for stdin), from a record: the lines 'kubectl lbip
    who-has -w -o json' appended to FILE, kept as long as you keep the file. Without,
    from what the API server still keeps: MetalLB's Events about services (one hour by
    default, the API server's --event-ttl), each service's last status write
    (managedFields), Cilium's condition times, and the current state.

    Exit 0 when a change (or a holder at --at) is found, 1 when none is, 2 when an
    argument, a time or a line of the record is malformed (the line is named).

    \b
    Examples:
      kubectl lbip who-has -w -o json >> /var/log/lbip.jsonl     # keep a record
      kubectl lbip history 192.168.10.5 -f /var/log/lbip.jsonl --at 2026-12-01T15:00:00Z
      kubectl lbip history frontend -n shop -f /var/log/lbip.jsonl --since 48h
      kubectl lbip history 192.168.10.0/24
    """
    from .commands import history as cmd

    return where.show(cmd.run(where.inputs("history", output, all_namespaces, no_headers), target, at=at, since=since))


DryRun = Annotated[
    DryRunChoice,
    typer.Option(
        "--dry-run",
        help="client: print what would change and write nothing; server: send it with "
        "the API server's dry run (validated, not persisted). --dry-run alone is the deprecated "
        "spelling of --dry-run=client, as in kubectl.",
    ),
]


@app.command(cls=KubectlCommand, short_help="Pin addresses on a service, checked against MetalLB's rules")
@kubectl_command
def annotate(
    name: Annotated[str, typer.Argument(metavar="SERVICE", help="The service.")],
    addresses: Annotated[
        Optional[List[str]],
        typer.Argument(metavar="[IP...]", help="One address, or one IPv4 and one IPv6 for a dual-stack service."),
    ] = None,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto", help="Take the first suggestion of 'free --for NAME' (what the service holds now, if anything)."
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing metallb.io/loadBalancerIPs value.")
    ] = False,
    clear_spec_ip: Annotated[
        bool, typer.Option("--clear-spec-ip", help="Remove spec.loadBalancerIP in the same patch.")
    ] = False,
    dry_run: DryRun = DryRunChoice.none,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="After writing, wait for MetalLB: exit 0 "
            "once it assigns the addresses, 1 if it refuses (its reason) or --timeout "
            "passes.",
        ),
    ] = False,
    timeout: Annotated[
        str, typer.Option("--timeout", metavar="DURATION", help="How long --wait waits, e.g. 30s or 2m.")
    ] = "30s",
    strict: StrictConfig = False,
    output: AnnotateOutput = "yaml",
    against_cluster: AgainstCluster = False,
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

    req = cmd.AnnotateRequest(
        name=name,
        addresses=list(addresses or []),
        auto=auto,
        overwrite=overwrite,
        clear_spec_ip=clear_spec_ip,
        dry_run=dry_run.value,
        wait=wait,
        timeout=timeout,
        strict=strict,
    )
    return where.show(cmd.run(where.inputs("annotate", output, against_cluster=against_cluster), req))


@app.command(cls=KubectlCommand, short_help="Move deprecated MetalLB annotations to metallb.io/*")
@kubectl_command
def migrate(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: DryRun = DryRunChoice.none,
    backup: Annotated[
        Optional[str],
        typer.Option(
            "--backup",
            metavar="FILE",
            help="Before any "
            "change, write the original annotations and spec.loadBalancerIP of every "
            "service to be touched.",
        ),
    ] = None,
    restore: Annotated[
        Optional[str], typer.Option("--restore", metavar="FILE", help="Put back what a --backup file holds.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --restore: restore a backup made "
            "on another cluster (its API server differs from this context's), or one "
            "that does not record its cluster.",
        ),
    ] = False,
    in_place: Annotated[
        bool,
        typer.Option("--in-place", help="With -f: rewrite the files, keeping comments, key order and other documents."),
    ] = False,
    configmap: Annotated[
        bool,
        typer.Option(
            "--configmap",
            help="Convert MetalLB's legacy "
            "ConfigMap into IPAddressPool and advertisement manifests (printed, "
            "never applied).",
        ),
    ] = False,
    to: Annotated[
        Optional[MigrateTarget],
        typer.Option(
            "--to",
            help="Move to this implementation (from MetalLB to cilium, or back to metallb): its objects, the "
            "services' labels and keys, the plan proving each service keeps its address, and the cut-over steps.",
        ),
    ] = None,
    accept: Annotated[
        Optional[List[str]],
        typer.Option(
            "--accept",
            metavar="CODE[,CODE]",
            help="With --to: lossy points to accept by code (exit 0 despite them). Repeatable.",
        ),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="With --to cilium: run the cut-over on the cluster, step by step, each checked before the next "
            "(asks first unless --yes; --dry-run=server sends every write as a dry run).",
        ),
    ] = False,
    output: MigrateOutput = "table",
    no_headers: NoHeaders = False,
    all_namespaces: AllNamespaces = False,
    *,
    where: Where,
) -> int:
    """Move deprecated metallb.universe.tf/* annotations and spec.loadBalancerIP to metallb.io/*.

    Prints the plan and asks before writing. A service whose old and new values
    disagree is left alone and reported as a conflict (exit 1). Each service is one
    patch carrying its resourceVersion; running it twice changes nothing the second time.
    Every namespace, unless -n names one.

    \b
    Examples:
      kubectl lbip migrate --dry-run=client
      kubectl lbip migrate -n shop --backup before.json --yes
      kubectl lbip migrate --restore before.json
      kubectl lbip migrate -f manifests/ --in-place
      kubectl lbip migrate --configmap > pools.yaml
      kubectl lbip migrate --to cilium > cilium-lb-ipam.yaml
      kubectl lbip migrate --to cilium -f manifests/ --in-place --accept to-cilium-refused
      kubectl lbip migrate --to cilium --apply --backup before.json
      kubectl lbip migrate --to metallb > metallb-objects.yaml
    """
    from .commands import migrate as cmd

    req = cmd.MigrateRequest(
        yes=yes,
        dry_run=dry_run.value,
        backup=backup,
        restore=restore,
        in_place=in_place,
        configmap=configmap,
        force=force,
        to=to.value if to else "",
        accept=list(accept or []),
        apply=apply,
    )
    return where.show(cmd.run(where.inputs("migrate", output, all_namespaces, no_headers), req))


@app.command(cls=KubectlCommand, short_help="Pin an address on every service of manifests that requests none")
@kubectl_command
def pin(
    in_place: Annotated[
        bool,
        typer.Option(
            "--in-place",
            help="Rewrite the files, keeping comments, key order, quoting and other documents (all files or none).",
        ),
    ] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial", help="When some services cannot be pinned, still write the others (default: write nothing)."
        ),
    ] = False,
    dry_run: DryRun = DryRunChoice.none,
    strict: StrictConfig = False,
    output: PinOutput = "table",
    no_headers: NoHeaders = False,
    against_cluster: AgainstCluster = False,
    *,
    where: Where,
) -> int:
    """Pin an address on every LoadBalancer service of -f that requests none.

    Each gets the first suggestion of 'free --for' with the addresses chosen earlier
    in the run counted as taken, so no two collide and those that may share (same
    sharing key, no common port, same backend) share. Services that already request
    addresses keep them. Exit 1, writing nothing, when a service cannot be pinned
    (--partial writes the others). -n is the namespace of objects that name none, as
    'kubectl apply -n' (default: the context's with --against-cluster, else default).

    \b
    Examples:
      kubectl lbip pin -f k8s/ --dry-run=client
      kubectl lbip pin -f k8s/ --in-place
      kubectl lbip pin --against-cluster -f k8s/ --in-place
    """
    from .commands import pin as cmd

    req = cmd.PinRequest(in_place=in_place, dry_run=dry_run.value, partial=partial, strict=strict)
    inputs = where.inputs("pin", output, no_headers=no_headers, against_cluster=against_cluster)
    return where.show(cmd.run(inputs, req))


@app.command(short_help="Print or install the completion helper kubectl runs")
def completion(
    install: Annotated[
        bool,
        typer.Option("--install", help="Write the helper beside the kubectl-lbip that kubectl runs."),
    ] = False,
    uninstall: Annotated[
        bool, typer.Option("--uninstall", help="Remove the helper --install wrote (and nothing else).")
    ] = False,
) -> None:
    """Print or install kubectl_complete-lbip, which kubectl runs for `kubectl lbip <TAB>`.

    pip installs it with the plugin; after a krew or archive install, --install writes it
    beside kubectl-lbip, and --uninstall removes it (before 'kubectl krew uninstall lbip',
    which leaves it behind). kubectl's own completion must be loaded in the shell (for bash,
    with the bash-completion package).

    \b
    Examples:
      kubectl lbip completion --install
      kubectl lbip completion > ~/bin/kubectl_complete-lbip && chmod +x ~/bin/kubectl_complete-lbip
      kubectl lbip completion --uninstall
    """
    from .commands import completion as cmd
    from .printer import show

    _run(0, lambda: show("completion", "table", cmd.run(install=install, uninstall=uninstall)))


@app.command(cls=KubectlCommand, short_help="Print the plugin's version")
def version(
    output: Annotated[Optional[str], _output("version", "The version as data, for scripts.")] = None,
) -> None:
    """Print the plugin's version."""
    if output is None:
        typer.echo(f"kubectl-lbip {__version__}")
    else:
        from .printer import Result, show

        show("version", output, Result({"name": "kubectl-lbip", "version": __version__}))


@app.command(short_help="Print the global flags, which every command takes")
def options(ctx: typer.Context) -> None:
    """Print the global flags, which every command takes (before or after its name)."""
    formatter = ctx.make_formatter()
    formatter.write_text("The following options can be passed to any command:")
    formatter.write_paragraph()
    with formatter.indentation():
        formatter.write_dl(global_flags(ctx))
    typer.echo(formatter.getvalue(), nl=False)


@app.command("help", short_help="Help about any command")
def help_command(
    ctx: typer.Context,
    command: Annotated[Optional[str], typer.Argument(metavar="[COMMAND]", help="The command to explain.")] = None,
) -> None:
    """Help about any command."""
    import click

    root = ctx.find_root()
    if command is None:
        typer.echo(root.get_help())
        return
    found = root.command.get_command(root, command)  # type: ignore[attr-defined]
    if found is None:
        raise click.UsageError(f"unknown command {command!r} for {PROG!r}", ctx)
    typer.echo(found.get_help(click.Context(found, info_name=command, parent=root)))


def main() -> None:
    if sys.argv[1:2] == ["__complete"]:  # `kubectl lbip __complete ...`, as Cobra plugins answer
        from .complete import main as complete

        return complete(sys.argv[2:])
    try:
        app(prog_name=PROG)
    except SystemExit as exc:
        _leave_quickly(exc)
        raise
    except BaseException as exc:  # noqa: BLE001 - nothing escapes as a traceback
        sys.exit(report(exc, verbose=int(_verbose_typed(sys.argv[1:]))))


def _verbose_typed(args: List[str]) -> bool:
    """-v in any of kubectl's spellings (-v, -v 6, -v=6, -v6, --v=6, --verbose)."""
    return any(
        a in ("-v", "--v", "--verbose")
        or a.startswith(("-v=", "--v=", "--verbose="))
        or (a.startswith("-v") and a[2:].isdigit())
        for a in args
    )


def _leave_quickly(exc: SystemExit) -> None:
    """After a command that built a large model from files (snapshot.LARGE_MODELS),
    end the process without freeing it object by object (a tenth of a second at 50k
    services): output flushed, the door's kubectl proxy stopped, then os._exit.
    Never when flushing fails: then the usual exit."""
    from .snapshot import LARGE_MODELS

    if not LARGE_MODELS or not isinstance(exc.code, (int, type(None))):
        return
    if "kubectl_lbip.door" in sys.modules:  # os._exit runs no exit handlers: the proxy now
        sys.modules["kubectl_lbip.door"].close_all()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a closed pipe: the usual exit reports it as ever
        return
    if "logging" in sys.modules:  # a handler of -v 6 (or of the host process) flushed
        sys.modules["logging"].shutdown()
    os._exit(exc.code or 0)

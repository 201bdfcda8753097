"""The command line reads as kubectl's (pflag) does: every spelling of a flag means
the same, namespaces are DNS-1123 labels, -o values are exactly each command's,
tables drop their headers with --no-headers, help says `kubectl lbip`, and option
combinations are refused in one place. Offline (-f): nothing talks to a cluster."""

import json
import os

import pytest
from clirunner import CliRunner

from kubectl_lbip.cli import app
from kubectl_lbip.flags import Spec, normalize, parse_duration

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cluster.yaml")
runner = CliRunner()


def run(args):
    return runner.invoke(app, list(args))


# (what is meant, every spelling pflag accepts for it); each spelling must give the
# same stdout and exit code as the first.
SPELLINGS = [
    (
        "check -n payments",
        [
            ["check", "-f", EXAMPLE, "-n", "payments"],
            ["check", "-f", EXAMPLE, "-n=payments"],
            ["check", "-f", EXAMPLE, "-npayments"],
            ["check", "-f", EXAMPLE, "--namespace", "payments"],
            ["check", "-f", EXAMPLE, "--namespace=payments"],
            ["check", "-n=payments", "-f", EXAMPLE],
            ["check", "--filename=" + EXAMPLE, "-n=payments"],
            ["-n=payments", "check", "-f", EXAMPLE],  # before the command, as Cobra allows
            ["-f", EXAMPLE, "--namespace", "payments", "check"],
        ],
    ),
    (
        "check -o json",
        [
            ["check", "-f", EXAMPLE, "-o", "json"],
            ["check", "-f", EXAMPLE, "-o=json"],
            ["check", "-f", EXAMPLE, "-ojson"],
            ["check", "-f", EXAMPLE, "--output", "json"],
            ["check", "-f", EXAMPLE, "--output=json"],
        ],
    ),
    (
        "check --strict -A",
        [
            ["check", "-f", EXAMPLE, "--strict", "-A"],
            ["check", "-f", EXAMPLE, "--strict=true", "-A=true"],
            ["check", "-f", EXAMPLE, "--strict", "--all-namespaces"],
            ["check", "-f", EXAMPLE, "--strict", "-A", "--no-headers=false"],
        ],
    ),
    (
        "check (booleans off)",
        [
            ["check", "-f", EXAMPLE],
            ["check", "-f", EXAMPLE, "--strict=false"],
            ["check", "-f", EXAMPLE, "-A=false"],
        ],
    ),
    (
        "free -n team-a -o json",
        [
            ["free", "-f", EXAMPLE, "-n", "team-a", "-o", "json"],
            ["free", "-f", EXAMPLE, "-n=team-a", "-o=json"],
            ["free", "-f", EXAMPLE, "-nteam-a", "-ojson"],
            ["free", "-f", EXAMPLE, "--namespace=team-a", "--output=json"],
        ],
    ),
    (
        "who-has -n shop -A",
        [
            ["who-has", "-f", EXAMPLE, "192.168.10.0/24", "-A", "-n", "shop"],
            ["who-has", "-f", EXAMPLE, "192.168.10.0/24", "-An", "shop"],
            ["who-has", "-f", EXAMPLE, "192.168.10.0/24", "-An=shop"],
            ["who-has", "-f", EXAMPLE, "192.168.10.0/24", "-Anshop"],
        ],
    ),
    (
        "who-has -v 6 (requests logged; none with -f)",
        [
            ["who-has", "-f", EXAMPLE, "192.168.10.150"],
            ["who-has", "-f", EXAMPLE, "192.168.10.150", "-v", "6"],
            ["who-has", "-f", EXAMPLE, "192.168.10.150", "-v=6"],
            ["who-has", "-f", EXAMPLE, "192.168.10.150", "-v6"],
            ["who-has", "-f", EXAMPLE, "192.168.10.150", "--v=6"],
            ["who-has", "-f", EXAMPLE, "-v", "192.168.10.150"],
            ["who-has", "-f", EXAMPLE, "-v", "6", "192.168.10.150"],
        ],
    ),
    (
        "annotate --dry-run=client",
        [
            ["annotate", "gateway", "-n", "payments", "--auto", "--overwrite", "-f", EXAMPLE, "--dry-run=client"],
            ["annotate", "gateway", "-n=payments", "--auto", "--overwrite", "-f", EXAMPLE, "--dry-run"],
            ["annotate", "gateway", "-npayments", "--auto", "--overwrite=true", "-f", EXAMPLE, "--dry-run", "-o=yaml"],
        ],
    ),
]


@pytest.mark.parametrize("meaning,spellings", SPELLINGS, ids=[m for m, _ in SPELLINGS])
def test_every_spelling_means_the_same(meaning, spellings):
    first = run(spellings[0])
    assert first.exit_code in (0, 1), first.output
    assert first.stdout.strip()  # the reference answer says something
    for args in spellings[1:]:
        r = run(args)
        assert (r.exit_code, r.stdout) == (first.exit_code, first.stdout), (args, r.stderr)


def test_the_reported_case_finds_the_split_pair():
    """`check -f examples/cluster.yaml -n=payments` was read as the namespace
    '=payments', checked nothing and exited 0."""
    r = run(["check", "-f", EXAMPLE, "-n=payments"])
    assert r.exit_code == 1
    assert "split-pool-dual-stack" in r.stdout and "payments/gateway" in r.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["check", "-f", EXAMPLE, "-n==payments"],
        ["check", "-f", EXAMPLE, "-n", "=payments"],
        ["free", "-f", EXAMPLE, "-n", "=team-a"],
        ["who-has", "-f", EXAMPLE, "192.168.10.1", "--namespace=Shop"],
        ["migrate", "-f", EXAMPLE, "-n", "a_b"],
        ["annotate", "x", "1.2.3.4", "-f", EXAMPLE, "-n", "-" + "a" * 70],
    ],
)
def test_a_namespace_is_a_dns1123_label(command):
    r = run(command)
    assert r.exit_code == 2
    assert "is not a valid namespace name" in r.stderr
    assert "RFC 1123" in r.stderr or "63 characters" in r.stderr


def test_bare_dry_run_is_client_with_kubectls_deprecation_warning():
    r = run(["annotate", "gateway", "-n", "payments", "--auto", "--overwrite", "-f", EXAMPLE, "--dry-run"])
    assert r.exit_code == 0
    assert "--dry-run is deprecated and can be replaced with --dry-run=client." in r.stderr


def test_v_takes_kubectls_levels():
    assert run(["pools", "-f", EXAMPLE, "-v=x"]).exit_code == 2
    assert run(["pools", "-f", EXAMPLE, "-v", "3"]).exit_code == 0


# --- -o: each command lists exactly its values and refuses the others
OUTPUTS = {
    "pools": ["table", "wide", "json", "yaml", "name"],
    "free": ["table", "wide", "json", "yaml", "annotation"],
    "who-has": ["table", "wide", "json", "yaml", "name"],
    "check": ["table", "json", "yaml", "sarif", "junit", "github"],
    "annotate": ["yaml", "json"],
    "migrate": ["table", "json", "yaml"],
}
ALL = {"table", "wide", "json", "yaml", "name", "annotation", "xml"}


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_help_lists_exactly_the_output_values(command):
    text = run([command, "--help"]).stdout
    assert "[" + "|".join(OUTPUTS[command]) + "]" in " ".join(text.split())


@pytest.mark.parametrize(
    "command,value", [(c, v) for c in sorted(OUTPUTS) if c != "annotate" for v in sorted(ALL - set(OUTPUTS[c]))]
)
def test_other_output_values_are_refused(command, value):
    args = {"who-has": ["who-has", "192.168.10.150"]}.get(command, [command])
    r = run(args + ["-f", EXAMPLE, "-o", value])
    assert r.exit_code == 2 and f"'{value}' is not one of" in r.stderr


def test_who_has_o_name():
    r = run(["who-has", "-f", EXAMPLE, "192.168.10.150", "-o", "name"])
    assert r.exit_code == 0
    assert r.stdout.splitlines() == ["service/shop/frontend", "service/shop/frontend-quic"]


def test_pools_o_name():
    r = run(["pools", "-f", EXAMPLE, "-o", "name"])
    assert r.stdout.splitlines()[0] == "ipaddresspool.metallb.io/production"
    assert all(line.startswith("ipaddresspool.metallb.io/") for line in r.stdout.splitlines())


@pytest.mark.parametrize(
    "args,header",
    [
        (["pools"], "NAME"),
        (["free"], "POOL"),
        (["who-has", "192.168.10.150"], "SERVICE"),
        (["check"], "SEVERITY"),
    ],
)
def test_no_headers_on_every_table(args, header):
    with_headers = run(args + ["-f", EXAMPLE]).stdout
    without = run(args + ["-f", EXAMPLE, "--no-headers"]).stdout
    assert header in with_headers and header not in without
    rows = [  # a row starts at the first column: a line starting with blanks is a wrapped cell's
        line
        for line in with_headers.splitlines()
        if line and header not in line and not line.startswith((" ", "SUGGESTIONS", "MetalLB"))
    ]
    assert [line.split()[0] for line in without.splitlines()] == [line.split()[0] for line in rows]


def test_no_headers_keeps_each_row_on_one_line():
    """Tables wrap to fit a terminal; with --no-headers (scripts) every row is one line."""
    with_headers = run(["check", "-f", EXAMPLE]).stdout.splitlines()
    without = run(["check", "-f", EXAMPLE, "--no-headers"]).stdout.splitlines()
    assert len(with_headers) > len(without) + 1
    findings = json.loads(run(["check", "-f", EXAMPLE, "-o", "json"]).stdout)["findings"]
    assert [line.split()[:2] for line in without] == [[f["severity"], f["code"]] for f in findings]


# --- help
@pytest.mark.parametrize("command", ["pools", "free", "who-has", "check", "annotate", "migrate"])
def test_help_says_kubectl_lbip_and_shows_examples(command):
    text = run([command, "--help"]).stdout
    assert text.startswith(f"Usage: kubectl lbip {command} ")
    examples = [line for line in text.splitlines() if line.strip().startswith("kubectl lbip ")]
    assert examples, text
    err = run([command, "--no-such-flag"]).stderr
    assert f"Try 'kubectl lbip {command} --help' for help." in err


def test_help_names_the_request_timeout_default():
    text = " ".join(run(["options"]).stdout.split())
    from kubectl_lbip.snapshot.live import DEFAULT_REQUEST_TIMEOUT

    after = text.split("--request-timeout")[1][:200]
    assert f"(default: {DEFAULT_REQUEST_TIMEOUT:g}s)" in after


# --- option combinations, refused in one place per command
@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["annotate", "gateway", "-n", "payments", "--auto", "-f", EXAMPLE, "--dry-run=server"],
            "--dry-run=server needs a cluster",
        ),
        (
            ["annotate", "gateway", "-n", "payments", "--auto", "-f", EXAMPLE, "--wait"],
            "--wait waits for MetalLB on a cluster",
        ),
        (["migrate", "-f", EXAMPLE, "--dry-run=server"], "--dry-run=server needs a cluster"),
        (["free", "-f", EXAMPLE, "--for", "x", "--ports", "TCP/80"], "--for takes"),
        (["free", "-f", EXAMPLE, "--count", "0"], "--count must be between 1 and"),
    ],
)
def test_combinations_refused(args, message):
    r = run(args)
    assert r.exit_code == 2 and message in r.stderr


# --- the rewriting itself
SPEC = Spec(valued={"-n", "--namespace", "-o", "-f", "--dry-run", "-v", "--v"}, booleans={"-A", "--strict", "-y"})


@pytest.mark.parametrize(
    "given,expected",
    [
        (["-n=x"], ["-n", "x"]),
        (["-nx"], ["-n", "x"]),
        (["-An=x"], ["-A", "-n", "x"]),
        (["-Ay"], ["-A", "-y"]),
        (["-n", "-A"], ["-n", "-A"]),  # a value, whatever it looks like (Click then checks it)
        (["--strict=false", "-A=1"], ["-A"]),
        (["--", "-n=x"], ["--", "-n=x"]),
        (["-v"], ["-v", "6"]),
        (["-v", "frontend"], ["-v", "6", "frontend"]),
        (["-v", "2"], ["-v", "2"]),
        (["-Zx"], ["-Zx"]),  # unknown: left for Click's own error
    ],
)
def test_normalize(given, expected):
    assert normalize(given, SPEC, warn=lambda _: None) == expected


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("0", 0.0),
        ("1s", 1.0),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("3", 3.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("x", None),
        ("1 s", None),
        ("-1s", None),
        ("", None),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_empty_namespace_with_files_is_never_silent():
    r = run(["check", "-f", EXAMPLE, "-n", "nosuch"])
    # pool findings are shown whatever -n says: the example's pool team-a is advertised by nothing
    assert r.exit_code == 1 and "pool-not-advertised" in r.stdout
    assert "No resources found in nosuch namespace." in r.stderr
    assert "no LoadBalancer service was checked in namespace nosuch" in r.stderr
    assert run(["check", "-f", EXAMPLE, "-n", "nosuch", "--strict"]).exit_code == 1
    for args in (["who-has", "192.168.10.150"], ["free"], ["migrate", "--dry-run=client"]):
        r = run(args + ["-f", EXAMPLE, "-n", "nosuch"])
        assert "No resources found in nosuch namespace." in r.stderr or "nothing to migrate" in r.stderr, args


def test_who_has_n_filters():
    r = run(["who-has", "-f", EXAMPLE, "192.168.10.0/24", "-n", "legacy", "-o", "json"])
    holders = [h["namespace"] for x in json.loads(r.stdout) for h in x["holders"]]
    assert holders and set(holders) == {"legacy"}
    all_ns = run(["who-has", "-f", EXAMPLE, "192.168.10.0/24", "-o", "json"])
    assert len({h["namespace"] for x in json.loads(all_ns.stdout) for h in x["holders"]}) > 1


def test_pools_n_filters_by_the_pools_namespace(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
        "metadata: {name: elsewhere, namespace: lb}\nspec: {addresses: [10.9.0.0/24]}\n"
    )
    both = ["-f", EXAMPLE, "-f", str(other), "-o", "name"]
    assert "ipaddresspool.metallb.io/elsewhere" in run(["pools"] + both).stdout
    r = run(["pools", "-n", "lb"] + both)
    assert r.exit_code == 0 and r.stdout.splitlines() == ["ipaddresspool.metallb.io/elsewhere"]
    r = run(["pools", "-n", "nosuch", "-f", EXAMPLE])
    assert r.exit_code == 0 and r.stdout == "" and "No resources found in nosuch namespace." in r.stderr


def test_a_value_before_the_command_is_never_taken_for_the_command():
    """`-n free pools`: free is -n's value (the namespace), pools the command, as kubectl reads it."""
    r = run(["-n", "free", "pools", "-f", EXAMPLE])
    assert r.exit_code == 0 and r.stdout == ""
    assert "No resources found in free namespace." in r.stderr
    r = run(["-n", "metallb-system", "pools", "-f", EXAMPLE, "-o", "name"])
    assert r.stdout.splitlines() == run(["pools", "-f", EXAMPLE, "-o", "name"]).stdout.splitlines()
    r = run(["-v", "who-has", "-f", EXAMPLE, "192.168.10.150"])  # -v alone takes no value
    assert r.exit_code == 0 and "192.168.10.150" in r.stdout
    r = run(["-n", "pools"])  # no command left: refused, not run
    assert r.exit_code == 2


def test_flags_before_the_command_must_be_its_own():
    r = run(["--strict", "pools", "-f", EXAMPLE])
    assert r.exit_code == 2 and "No such option" in r.stderr
    assert run(["-h", "pools"]).stdout.startswith("Usage: kubectl lbip [OPTIONS] COMMAND")


# --- kubectl's habits
def test_no_arguments_prints_help_and_exits_0():
    r = run([])
    assert r.exit_code == 0 and r.stdout.startswith("Usage: kubectl lbip") and "Commands:" in r.stdout


def test_one_did_you_mean():
    r = run(["pool"])
    assert r.exit_code == 2 and r.stderr.count("Did you mean") == 1 and "'pools'" in r.stderr


def test_help_subcommand_is_the_help():
    assert run(["help"]).stdout == run(["--help"]).stdout
    assert run(["help", "who-has"]).stdout == run(["who-has", "--help"]).stdout
    r = run(["help", "nosuch"])
    assert r.exit_code == 2 and "unknown command 'nosuch'" in r.stderr


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_version_as_data(fmt):
    import yaml

    from kubectl_lbip import __version__

    r = run(["version", "-o", fmt])
    assert r.exit_code == 0 and yaml.safe_load(r.stdout) == {"name": "kubectl-lbip", "version": __version__}
    assert run(["version", "-o", "xml"]).exit_code == 2


def _global_flags():
    from kubectl_lbip.cli import _COMMON_NAMES

    return [f"--{name.replace('_', '-')}" for name in _COMMON_NAMES if name not in ("as_user", "verbose")]


def test_options_page_and_root_help_list_the_global_flags():
    page = run(["options"])
    root = run(["--help"]).stdout
    assert page.exit_code == 0 and page.stdout.startswith("The following options can be passed to any command:")
    for flag in _global_flags() + ["--as", "-v, --v, --verbose LEVEL", "-n, --namespace NS"]:
        assert flag in page.stdout and flag in root, flag


@pytest.mark.parametrize("command", ["pools", "free", "who-has", "check", "why", "annotate", "migrate", "pin"])
def test_command_help_points_to_the_options_page(command):
    text = run([command, "--help"]).stdout
    assert "Use 'kubectl lbip options' for a list of global command-line options" in " ".join(text.split())
    assert not [flag for flag in _global_flags() if flag in text]
    assert "--help" in text and "-o, --output" in text


def test_who_has_help_is_short():
    assert len(run(["who-has", "--help"]).stdout.splitlines()) < 40


def test_free_no_headers_prints_only_rows():
    out = run(["free", "-f", EXAMPLE, "--no-headers"]).stdout
    assert "SUGGESTIONS" not in out and "" not in out.splitlines() and "MetalLB" not in out
    rows = [line.split() for line in out.splitlines()]
    assert any(row[1:2] == ["192.168.10.2"] for row in rows)  # the suggestions' rows are there


def test_every_who_has_row_starts_with_its_address():
    import ipaddress

    out = run(["who-has", "-f", EXAMPLE, "192.168.10.0/24", "--no-headers"]).stdout
    lines = out.splitlines()
    assert len(lines) >= 5
    for line in lines:
        ipaddress.ip_address(line.split()[0])
    assert sum(line.startswith("192.168.10.150 ") for line in lines) == 2  # two holders, two whole rows

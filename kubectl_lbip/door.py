"""The door to the cluster: the only module that reaches an API server.

Every request is made by kubectl itself, the plugin's own caller, run with the
kubectl global flags the plugin was given: the kubeconfig files and their merge,
contexts, exec credential plugins, OIDC, client certificates, tokens, proxies,
impersonation and the in-cluster service account are then kubectl's, exactly. Reads
are ``kubectl get --raw PATH`` (paged by the caller with limit and continue),
writes ``kubectl patch --type=merge`` with the resourceVersion the change was planned
on inside the patch (the API server refuses it, 409, if the object changed since),
``--dry-run=server`` for dry runs.

One deadline per command (``--request-timeout``, 30 s by default, 0: none) covers
everything it waits on: each kubectl child runs in a process group of its own and
is killed with the whole group when the deadline passes, so an exec credential
plugin that hangs, a child that keeps stdout open, or a FIFO given as a token file
or kubeconfig ends the command with one line naming what was still running, and
never a frozen shell.

This module imports only the standard library: completion uses it on every <TAB>."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode

from .errors import (
    AccessError,
    ClusterError,
    ConflictError,
    CredentialError,
    Expired,
    NotFound,
    UsageError,
)

log = logging.getLogger("kubectl_lbip")

DEFAULT_REQUEST_TIMEOUT = 30.0  # seconds for the whole command; 0: no deadline
# Go's largest duration (kubectl refuses a longer --request-timeout)
MAX_REQUEST_TIMEOUT = (2**63 - 1) / 1e9
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

# The global flags the plugin takes as kubectl does, passed on to kubectl as given:
# keyword -> kubectl's spelling. as_group repeats; insecure_skip_tls_verify is boolean.
FLAGS = {
    "kubeconfig": "--kubeconfig",
    "context": "--context",
    "cluster": "--cluster",
    "user": "--user",
    "server": "--server",
    "token": "--token",
    "certificate_authority": "--certificate-authority",
    "client_certificate": "--client-certificate",
    "client_key": "--client-key",
    "tls_server_name": "--tls-server-name",
    "insecure_skip_tls_verify": "--insecure-skip-tls-verify",
    "as_user": "--as",
    "as_group": "--as-group",
    "as_uid": "--as-uid",
}


_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")


def segment(text: str) -> str:
    """A name as one URL path segment. Only what can be a Kubernetes object's name
    reaches a URL (kubectl --raw would decode %2F, and a name such as
    ``x/../../secrets/s`` would become a path): anything else is refused, exit 2,
    before any request."""
    text = str(text)
    if not _NAME.fullmatch(text):
        raise UsageError(f"{text[:100]!r} is not a valid Kubernetes name: nothing was asked of the API server")
    return quote(text, safe="")


def check_timeout(seconds: Optional[float]) -> float:
    """A --request-timeout in seconds, refused (exit 2) when negative or longer
    than kubectl accepts."""
    if seconds is None:
        return DEFAULT_REQUEST_TIMEOUT
    if not isinstance(seconds, (int, float)) or math.isnan(seconds) or seconds < 0:
        raise UsageError(f"--request-timeout must be 0 (none) or a positive duration, not {seconds!r}")
    if seconds > MAX_REQUEST_TIMEOUT:
        raise UsageError("--request-timeout is longer than kubectl accepts (about 292 years)")
    return float(seconds)


class Door:
    """One API server, reached by kubectl with the same flags and environment."""

    def __init__(
        self,
        request_timeout: Optional[float] = DEFAULT_REQUEST_TIMEOUT,
        kubectl: Optional[str] = None,
        clock: Callable[[], float] = time.monotonic,
        env: Optional[Dict[str, str]] = None,
        **flags: Any,
    ):
        unknown = set(flags) - set(FLAGS)
        if unknown:
            raise TypeError(f"Door() got unexpected flags {sorted(unknown)}")
        self.request_timeout = check_timeout(request_timeout)
        self.flags = {k: v for k, v in flags.items() if v not in (None, False, "", [], ())}
        groups = list(self.flags.get("as_group") or ())
        if (groups or self.flags.get("as_uid")) and not self.flags.get("as_user"):
            raise UsageError("--as-group and --as-uid need --as (the user to impersonate)")
        if self.flags.get("kubeconfig") and not os.path.exists(self.flags["kubeconfig"]):
            raise UsageError(f"kubeconfig {self.flags['kubeconfig']!r} does not exist")
        self.kubectl = kubectl or shutil.which("kubectl") or ""
        self.clock = clock
        self.env = env  # kubectl's environment (None: this process's)
        self.deadline = clock() + self.request_timeout if self.request_timeout else math.inf
        self.args = self._global_args()
        self._about: Optional[_Child] = None

    def _global_args(self) -> List[str]:
        args: List[str] = []
        for key, flag in FLAGS.items():
            value = self.flags.get(key)
            if not value:
                continue
            if key == "insecure_skip_tls_verify":
                args.append(flag)
            elif key == "as_group":
                args += [f"{flag}={group}" for group in value]
            else:
                args.append(f"{flag}={value}")
        return args

    # --- what kubectl resolved: context, server, namespace
    def about(self) -> Dict[str, str]:
        """The context kubectl uses, its server and namespace (the namespace is the
        context's, else the pod's in a cluster, else default; as kubectl's)."""
        config = self._config()
        context = _first(config.get("contexts"), "context")
        cluster = _first(config.get("clusters"), "cluster")
        namespace = context.get("namespace") or ""
        if (
            not namespace
            and not config.get("current-context")
            and (self.env or os.environ).get("KUBERNETES_SERVICE_HOST")
        ):
            namespace = _read_small(SERVICE_ACCOUNT_NAMESPACE)
        return {
            "context": str(self.flags.get("context") or config.get("current-context") or ""),
            "server": str(self.flags.get("server") or cluster.get("server") or ""),
            "namespace": str(namespace or "default"),
        }

    def _config(self) -> Dict[str, Any]:
        """The context kubectl uses, as `kubectl config view --minify --raw` shows it,
        or {} when it cannot (no context, or no answer within the deadline)."""
        if self._about is None:
            self.prepare()
        assert self._about is not None
        try:
            config = json.loads(self._about.output() or b"{}")
        except (ClusterError, UsageError, ValueError):
            return {}
        return config if isinstance(config, dict) else {}

    def prepare(self) -> None:
        """Start asking kubectl which context it uses (answered by about()), so that
        the answer is ready when a command needs it."""
        if self._about is None:
            # --raw: the credential files' names too (credential_file_problem); never printed
            self._about = self.start(["config", "view", "--minify", "--raw", "-o", "json"], "config view", config=True)

    # --- requests
    def start(self, args: Sequence[str], what: str, stdin: bytes = b"", config: bool = False) -> "_Child":
        """Start one kubectl (its answer: ``.result()``). ``config``: only the kubeconfig
        flags are passed (kubectl config commands take no connection flags)."""
        if not self.kubectl:
            raise ClusterError("kubectl is not on PATH: the plugin reaches the cluster through it")
        if config:
            head = self._config_args()
        else:
            head = self.args + (["-v=6"] if log.isEnabledFor(logging.INFO) else [])  # its request log
        return _Child(self, [self.kubectl, *head, *args], what, stdin, about=args[:2] == ["config", "view"])

    def get(self, path: str, query: Sequence[Tuple[str, str]] = ()) -> bytes:
        """One GET, its body undecoded."""
        return self.start_get(path, query).result()

    def start_get(self, path: str, query: Sequence[Tuple[str, str]] = ()) -> "_Child":
        url = path + ("?" + urlencode(list(query)) if query else "")
        return self.start(["get", "--raw", url], f"GET {path}")

    def patch(self, resource: str, namespace: str, name: str, patch: Dict[str, Any], dry_run: bool = False) -> Any:
        """A JSON merge patch; the answer (the object as patched) decoded."""
        segment(namespace), segment(name)  # names only
        args = [
            "patch",
            resource,
            name,
            "--namespace",
            namespace,
            "--type=merge",
            "-p",
            json.dumps(patch),
            "-o",
            "json",
        ]
        if dry_run:
            args.append("--dry-run=server")
        out = self.start(args, f"PATCH {resource} {namespace}/{name}").result()
        try:
            return json.loads(out) if out.strip() else {}
        except ValueError:
            raise ClusterError(f"PATCH {resource} {namespace}/{name}: the answer is not JSON") from None

    def credential_file_problem(self) -> Optional[str]:
        """Why the credential files the context names cannot be what kubectl sent (a
        token file that is not a regular file or not UTF-8 text, a certificate file
        missing), asked after a 401 or a deadline: or None. From kubectl's own view of
        the context (about()); relative paths are resolved against the one kubeconfig
        file when there is one."""
        config = self._config()
        user, cluster = _first(config.get("users"), "user"), _first(config.get("clusters"), "cluster")
        files = [
            (user, "tokenFile", "token file"),
            (user, "client-certificate", "client certificate"),
            (user, "client-key", "client key"),
            (cluster, "certificate-authority", "certificate authority"),
        ]
        base = self.flags.get("kubeconfig") or (self.env or os.environ).get("KUBECONFIG") or ""
        base_dir = os.path.dirname(os.path.abspath(base)) if base and os.pathsep not in base else None
        context = config.get("current-context") or "?"
        for stanza, key, what in files:
            path = stanza.get(key)
            if not isinstance(path, str) or not path:
                continue
            if not os.path.isabs(path):
                if base_dir is None:
                    continue
                path = os.path.join(base_dir, path)
            problem = _file_problem(path, text=key == "tokenFile")
            if problem:
                return f"context {context}: the {what} {path} {problem}"
        return None

    def _config_args(self) -> List[str]:
        return [a for a in self.args if a.split("=", 1)[0] in ("--kubeconfig", "--context")]

    def names(self, what: str) -> List[str]:
        """Names of the kubeconfig's contexts, clusters or users, as kubectl reads them."""
        out = self.start(["config", f"get-{what}s", *(["-o", "name"] if what == "context" else [])], what, config=True)
        lines = out.output().decode("utf-8", "replace").splitlines()
        if what != "context":
            lines = lines[1:]  # kubectl's NAME header
        return [line.strip() for line in lines if line.strip()]

    def extend(self, seconds: float) -> None:
        """The deadline ``seconds`` later (none stays none)."""
        self.deadline += max(float(seconds), 0.0)

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def timeout_text(self) -> str:
        return f"{self.request_timeout:g}s (the request timeout)"


class _Child:
    """One kubectl run in a process group of its own: the group is killed at the
    door's deadline."""

    def __init__(self, door: Door, argv: List[str], what: str, stdin: bytes, about: bool = False):
        self.door, self.what, self.about = door, what, about
        if door.remaining() <= 0:
            raise ClusterError(f"{what}: the deadline of {door.timeout_text()} passed before it could start")
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=door.env,
                start_new_session=True,  # its own process group, exec plugins included
            )
        except OSError as exc:
            raise ClusterError(f"cannot run kubectl ({argv[0]}): {exc.strerror or exc}") from None
        self.stdin = stdin or None
        self.started = door.clock()
        self._done: Optional[Tuple[int, bytes, bytes]] = None

    def _wait(self) -> Tuple[int, bytes, bytes]:
        if self._done is not None:
            return self._done
        left = self.door.remaining()
        try:
            out, err = self.proc.communicate(self.stdin, timeout=None if math.isinf(left) else max(left, 0.001))
        except subprocess.TimeoutExpired:
            log.info("%s no answer at the deadline %.0fms", self.what, (self.door.clock() - self.started) * 1000)
            running = _group_members(self.proc.pid)
            _kill_group(self.proc)
            self.proc.communicate()
            still = f"; killed what still ran: {'; '.join(running)}" if running else ""
            server = "" if self.about else f" from {self.door.about()['server'] or 'the API server'}"
            problem = None if self.about else self.door.credential_file_problem()
            if problem:
                raise CredentialError(f"{problem}; {self.what} did not finish{still}") from None
            raise ClusterError(
                f"{self.what}: no complete answer{server} within {self.door.timeout_text()}{still}"
            ) from None
        except BaseException:
            _kill_group(self.proc)
            raise
        self._done = (self.proc.returncode, out, err)
        return self._done

    def output(self) -> bytes:
        """stdout, or the mapped error when kubectl failed."""
        return self.result()

    def result(self) -> bytes:
        code, out, err = self._wait()
        if log.isEnabledFor(logging.INFO):
            for line in err.decode("utf-8", "replace").splitlines():
                request = _REQUEST_LOG.search(line) or _REQUEST_LOG_STRUCTURED.search(line)
                if request is not None:  # -v: kubectl's own line for each request, shortened
                    log.info("%s %s %s %sms", *request.group("verb", "path", "status", "ms"))
        if code != 0:
            raise failure(self.what, err.decode("utf-8", "replace"), None if self.about else self.door)
        return out

    def cancel(self) -> None:
        if self._done is None and self.proc.poll() is None:
            _kill_group(self.proc)
            self.proc.communicate()


def failure(what: str, stderr: str, door: Optional[Door] = None) -> Exception:
    """kubectl's error as the error hierarchy, one line: 401/403 AccessError, 404
    NotFound, 409 ConflictError, 410 Expired, 400/422 UsageError, credentials that
    could not be produced CredentialError, anything else ClusterError."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    # kubectl's error is its last words: from the last line that starts one (with -v,
    # log lines and the answer's body come before)
    starts = [i for i, line in enumerate(lines) if line.startswith(_ERROR_STARTS)]
    lines_before: List[str] = []
    if starts:
        lines_before, lines = lines[: starts[-1]], lines[starts[-1] :]
    else:
        lines = [line for line in lines if not _is_klog(line)][-1:]
    text = " ".join(lines)[:500] or "kubectl failed and said nothing"
    if text.startswith("Error from server ("):
        reason, _, message = text[len("Error from server (") :].partition("): ")
        if reason in ("BadRequest", "Invalid"):
            return UsageError(f"the API server refused the change: {message}")
        kind = ERRORS.get(reason)
        if kind is AccessError:
            return AccessError(message)  # the server's: names the user, verb, resource and scope
        if kind is not None:
            return kind(f"{what}: {message}")
        return ClusterError(f"{what} failed ({reason}): {message}")
    if " is invalid: " in text:
        return UsageError(f"the API server refused the change: {text}")
    about = door.about() if door is not None else {"server": "?", "context": ""}
    if "(Unauthorized)" in text:
        problem = door.credential_file_problem() if door is not None else None
        if problem:
            return CredentialError(problem)
        return AccessError(
            f"unauthorized (401) at {about['server']}: the credentials of context "
            f"{about['context'] or '<none>'} were refused"
        )
    text = text[len("error: ") :] if text.startswith("error: ") else text
    if text.startswith("error loading config file"):
        return UsageError(f"invalid kubeconfig: {text}")
    if "context was not found" in text or "does not exist" in text or "no server found" in text:
        return UsageError(text)
    plugin = _EXEC_FAILED.search(text)
    if plugin is not None:  # kubectl passes the plugin's stderr through: its first line says why
        command, how = plugin.groups()
        said = [line for line in lines_before if not _is_klog(line)][:1]
        if how == "not found":
            return CredentialError(f"the exec credential plugin {command!r} is missing (not found on PATH)")
        return CredentialError(f"the exec credential plugin {command!r} {how}" + (f": {said[0][:200]}" if said else ""))
    if "getting credentials" in text or text.startswith("Error in configuration") or "unable to read" in text:
        return CredentialError(text)
    if text.startswith(("The connection to the server", "Unable to connect to the server")):
        if not about["server"] and "localhost:8080" in text:
            return ClusterError(
                "no cluster configured: no kubeconfig with a current context, no --server, and not in "
                "a cluster (kubectl tried localhost:8080); use --kubeconfig, KUBECONFIG, --context, "
                "--server, or -f to read manifests"
            )
        return ClusterError(f"cannot reach the API server at {about['server'] or '?'}: {text}")
    if text.startswith(("Invalid timeout", "unknown flag", "invalid argument")):
        return UsageError(text)
    return ClusterError(f"{what}: {text}")


_EXEC_FAILED = re.compile(r"exec: executable (\S+) (not found|failed with exit code -?\d+)")

_ERROR_STARTS = (
    "Error from server",
    "error:",
    "Error in configuration",
    "The connection to the server",
    "Unable to connect to the server",
    "The ",  # The Service "x" is invalid: ...
)

ERRORS = {
    "Forbidden": AccessError,
    "Unauthorized": AccessError,
    "NotFound": NotFound,
    "Conflict": ConflictError,
    "Expired": Expired,
    "Gone": Expired,
}


# kubectl -v=6's line for each request (1.32: the first; later releases: the second)
_REQUEST_LOG = re.compile(
    r"\] (?P<verb>[A-Z]+) (?:https?://[^/\s]+)?(?P<path>/\S*) (?P<status>\d{3})\b.* in (?P<ms>\d+) milliseconds"
)
_REQUEST_LOG_STRUCTURED = re.compile(
    r'"Response" verb="(?P<verb>[A-Z]+)" url="(?:https?://[^/"]+)?(?P<path>/[^"]*)" status="(?P<status>\d{3})[^"]*"'
    r" milliseconds=(?P<ms>\d+)"
)


def _is_klog(line: str) -> bool:
    """kubectl's log lines (W1207 02:33:28.834353 ...), not its error."""
    return len(line) > 5 and line[0] in "IWE" and line[1:5].isdigit() and " " in line[:8]


def _group_members(pgid: int) -> List[str]:
    """What still runs in a process group: 'name (pid N)' for each, and the files
    the processes hold open that are not pipes, sockets or devices (a FIFO given as a
    token file or kubeconfig shows here). Linux's /proc; elsewhere nothing is named."""
    found: List[str] = []
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:
                continue
        except (OSError, ValueError, IndexError):
            continue
        held = []
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if (
                    target.startswith("/")
                    and not target.startswith(("/dev/", "/proc/"))
                    and not target.endswith((".so", ".py", ".pyc"))
                ):
                    held.append(target)
        except OSError:
            pass
        exe = name
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            exe = os.path.basename(argv[0].decode("utf-8", "replace")) or name
        except OSError:
            pass
        files = f", reading {', '.join(sorted(set(held)))}" if held else ""
        found.append(f"{exe} (pid {pid}{files})")
    return found


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if sys.platform == "win32":  # pragma: no cover - no process groups there
        proc.kill()


def _file_problem(path: str, text: bool) -> Optional[str]:
    """What is wrong with a credential file, or None: missing, not a regular file (a
    FIFO or a device would block or never end), or (``text``) not UTF-8."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device is refused)"
    if text:
        try:
            with open(path, "rb") as f:
                f.read(1 << 20).decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8 text"
        except OSError as exc:
            return f"cannot be read: {exc.strerror or exc}"
    return None


def _first(entries: Any, key: str) -> Dict[str, Any]:
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        value = entries[0].get(key)
        return value if isinstance(value, dict) else {}
    return {}


def _read_small(path: str) -> str:
    """A small regular file's text (the pod's namespace), or ''."""
    try:
        if not os.path.isfile(path):
            return ""
        with open(path, encoding="utf-8") as f:
            return f.read(256).strip()
    except (OSError, UnicodeDecodeError):
        return ""

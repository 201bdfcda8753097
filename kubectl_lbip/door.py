"""The door to the cluster: the only module that reaches an API server.

kubectl itself, the plugin's own caller, does the reaching: one `kubectl proxy` per
command, run with the kubectl global flags the plugin was given and listening on a
unix socket in a private temporary directory, so the kubeconfig files and their
merge, contexts, exec credential plugins, OIDC, client certificates, tokens,
proxies, impersonation and the in-cluster service account are kubectl's, exactly.
The plugin then speaks plain HTTP to that socket: lists paged with limit and
continue, several at once, gets, merge patches carrying the resourceVersion they were
planned on (409 if the object changed since), dryRun=All for server dry runs, and
watches (a chunked stream of JSON events, one a line: ``watch``). One kubectl
process for the whole command: a kubectl run per request would cost as much as the
`kubectl get` a user compares the plugin with.

One deadline per command (``--request-timeout``, 30 s by default, 0: none) covers
everything it waits on: every socket read is bounded by the time left, and the
proxy runs in a process group of its own, killed with the whole group when the
deadline passes, so an exec credential plugin that hangs, a child that keeps its
output open, or a FIFO given as a token file or kubeconfig ends the command with one
line naming what was still running, and never a frozen shell.

This module imports only the standard library: completion uses it on every <TAB>."""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode

from .errors import (
    AccessError,
    ClusterError,
    ConflictError,
    CredentialError,
    Expired,
    NotFound,
    ResponseError,
    UsageError,
)

log = logging.getLogger("kubectl_lbip")

DEFAULT_REQUEST_TIMEOUT = 30.0  # seconds for the whole command; 0: no deadline
# Go's largest duration (kubectl refuses a longer --request-timeout)
MAX_REQUEST_TIMEOUT = (2**63 - 1) / 1e9
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
RETRY_STATUSES = (429, 503)  # answered with Retry-After: waited for, within the deadline
MAX_RETRY_WAITS = 5  # and at most this many times for one request
MAX_EVENT_LINE = 64 << 20  # one watch event's JSON line, at most (a longer one is refused)
WATCH_GRACE = 5.0  # a watch stream is read this long past the end asked of the server
NO_DEADLINE_WATCH = 300  # seconds asked of the server per watch when there is no deadline

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


_OPEN: List["Door"] = []  # doors whose proxy may run: closed at exit


@atexit.register
def close_all() -> None:
    """Stop every proxy this process started (at exit, and before a quick exit)."""
    while _OPEN:
        _OPEN.pop().close()


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
        self._proxy: Optional[_Proxy] = None
        self._lock = threading.Lock()

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
        try:
            config = json.loads(self.ask_context().output() or b"{}")
        except (ClusterError, UsageError, ValueError):
            return {}
        return config if isinstance(config, dict) else {}

    def prepare(self) -> None:
        """Start the proxy now, for a command that will make requests: it gets ready
        while the command does (its first request waits for it). Which context kubectl
        uses (about()) is asked only when something needs it: another kubectl run."""
        self._start_proxy()

    def ask_context(self) -> "_Child":
        """Start asking kubectl which context it uses, once (about() takes the answer)."""
        if self._about is None:
            # --raw: the credential files' names too (credential_file_problem); never printed
            self._about = self.start(["config", "view", "--minify", "--raw", "-o", "json"], "config view")
        return self._about

    # --- requests
    def start(self, args: Sequence[str], what: str) -> "_Child":
        """Start one `kubectl config ...` (its answer: ``.result()``): only the
        kubeconfig flags are passed, as those commands take no connection flags."""
        if not self.kubectl:
            raise ClusterError("kubectl is not on PATH: the plugin reaches the cluster through it")
        return _Child(self, [self.kubectl, *self._config_args(), *args], what, about=args[:2] == ["config", "view"])

    def proxy(self) -> "_Proxy":
        """The command's one `kubectl proxy`, started on first use (or by prepare()),
        once it serves. One that failed to is forgotten: the next request starts another."""
        proxy = self._start_proxy()
        try:
            proxy.ready()
        except BaseException:
            with self._lock:
                if self._proxy is proxy:
                    self._proxy = None
            raise
        return proxy

    def _start_proxy(self) -> "_Proxy":
        with self._lock:
            if self._proxy is None:
                if not self.kubectl:
                    raise ClusterError("kubectl is not on PATH: the plugin reaches the cluster through it")
                self._proxy = _Proxy(self)
                _OPEN.append(self)
            return self._proxy

    def close(self) -> None:
        """Stop the proxy (and everything of its process group)."""
        with self._lock:
            proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.stop()

    def get(self, path: str, query: Sequence[Tuple[str, str]] = ()) -> bytes:
        """One GET, its body undecoded."""
        return self.start_get(path, query).result()

    def start_get(self, path: str, query: Sequence[Tuple[str, str]] = ()) -> "_Request":
        """One GET made now, beside others (its answer: ``.result()``)."""
        url = path + ("?" + urlencode(list(query)) if query else "")
        return _Request(self, "GET", url, f"GET {path}")

    def send(
        self,
        method: str,
        path: str,
        query: Sequence[Tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> bytes:
        """Any other request (``body`` sent as JSON), its answer's body undecoded."""
        url = path + ("?" + urlencode(list(query)) if query else "")
        data = None if body is None else json.dumps(body).encode()
        return _Request(self, method, url, f"{method} {path}", data, content_type if data else "").result()

    def watch(self, path: str, query: Sequence[Tuple[str, str]] = ()) -> Iterator[Any]:
        """One watch of the list at ``path``: each event of the stream (one JSON object
        a line, decoded), as it comes. The attempt is bounded by --request-timeout: the
        API server is asked to end the stream by then (timeoutSeconds), and it is read
        at most WATCH_GRACE longer; then the iterator ends, as it does when the server
        ends the stream. A stream that breaks, or that cannot be opened, raises
        ClusterError; an answer of 400 or more its error (410 Gone: Expired)."""
        seconds = self.request_timeout or NO_DEADLINE_WATCH
        params = list(query) + [
            ("watch", "1"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(max(1, int(seconds)))),
        ]
        url = path + "?" + urlencode(params)
        what = f"GET {path} (watch)"
        self.renew()
        end = self.clock() + seconds + WATCH_GRACE
        return _watch_events(self, url, what, lambda: end - self.clock())

    def renew(self) -> None:
        """A new deadline, --request-timeout from now: for a command that waits on
        the API again and again (--watch), each list or watch is bounded on its own."""
        if self.request_timeout:
            self.deadline = max(self.deadline, self.clock() + self.request_timeout)

    def forget_dead_proxy(self) -> None:
        """A kubectl proxy that has ended is forgotten: the next request starts another."""
        with self._lock:
            proxy = self._proxy
            if proxy is None or proxy.proc.poll() is None:
                return
            self._proxy = None
        proxy.stop()

    def patch(self, resource_path: str, patch: Dict[str, Any], dry_run: bool = False) -> Any:
        """A JSON merge patch of the object at ``resource_path``; the answer (the
        object as patched) decoded."""
        query = [("dryRun", "All")] if dry_run else []
        out = self.send("PATCH", resource_path, query, patch, "application/merge-patch+json")
        try:
            return json.loads(out) if out.strip() else {}
        except ValueError:
            raise ClusterError(f"PATCH {resource_path}: the answer is not JSON") from None

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
        out = self.start(["config", f"get-{what}s", *(["-o", "name"] if what == "context" else [])], what)
        lines = out.output().decode("utf-8", "replace").splitlines()
        if what != "context":
            lines = lines[1:]  # kubectl's NAME header
        return [line.strip() for line in lines if line.strip()]

    def expire(self, what: str) -> Exception:
        """The deadline passed during ``what``: the proxy's process group is killed
        (an exec plugin or a child of it included) and named."""
        with self._lock:
            proxy, self._proxy = self._proxy, None
        still = proxy.stop() if proxy is not None else ""
        return self.deadline_error(what, still)

    def deadline_error(self, what: str, still: str, server: bool = True) -> Exception:
        problem = self.credential_file_problem()
        if problem:
            return CredentialError(f"{problem}; {what} did not finish{still}")
        where = f" from {self.about()['server'] or 'the API server'}" if server else ""
        return ClusterError(f"{what}: no complete answer{where} within {self.timeout_text()}{still}")

    def http_failure(self, what: str, status: int, payload: bytes) -> Exception:
        """An answer's status as the error hierarchy, one line: 401/403 AccessError
        (the server's message names the user, verb, resource and scope), 404 NotFound,
        409 ConflictError, 410 Expired, 400/422 UsageError; kubectl proxy's own 500s
        (it could not reach the server or produce credentials) as kubectl says them."""
        message, is_status = _status_message(payload)
        if status == 401:
            problem = self.credential_file_problem()
            if problem:
                return CredentialError(problem)
            about = self.about()
            return AccessError(
                f"unauthorized (401) at {about['server'] or '?'}: the credentials of context "
                f"{about['context'] or '<none>'} were refused"
            )
        if status == 403:
            return AccessError(message or f"{what}: forbidden (403)")
        if status in (400, 422):
            return UsageError(f"the API server refused the change: {message}")
        kind = {404: NotFound, 409: ConflictError, 410: Expired}.get(status)
        if kind is not None:
            return kind(message if kind is ConflictError else f"{what}: {message or status}")
        if status == 500 and not is_status:  # kubectl proxy's own: the request never got there
            proxy = self._proxy
            said = proxy.complaint() if proxy is not None else []
            return failure(what, "\n".join(said + ["error: " + message]), self)
        return ClusterError(f"{what} failed ({status}): {message}")

    def extend(self, seconds: float) -> None:
        """The deadline ``seconds`` later (none stays none)."""
        self.deadline += max(float(seconds), 0.0)

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def timeout_text(self) -> str:
        return f"{self.request_timeout:g}s (the request timeout)"


class _Child:
    """One `kubectl config ...` in a process group of its own, killed with its group
    at the door's deadline."""

    def __init__(self, door: Door, argv: List[str], what: str, about: bool = False):
        self.door, self.what, self.about = door, what, about
        self.proc = _spawn(door, argv, what, stdout=subprocess.PIPE)
        self._done: Optional[Tuple[int, bytes, bytes]] = None
        self._lock = threading.Lock()  # asked from several requests' threads

    def _wait(self) -> Tuple[int, bytes, bytes]:
        with self._lock:
            return self._wait_once()

    def _wait_once(self) -> Tuple[int, bytes, bytes]:
        if self._done is not None:
            return self._done
        left = self.door.remaining()
        try:
            out, err = self.proc.communicate(timeout=None if math.isinf(left) else max(left, 0.001))
        except subprocess.TimeoutExpired:
            still = _stop(self.proc)
            raise ClusterError(f"{self.what}: no answer within {self.door.timeout_text()}{still}") from None
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
        if code != 0:
            raise failure(self.what, err.decode("utf-8", "replace"), None if self.about else self.door)
        return out


class _Proxy:
    """`kubectl proxy` on a unix socket in a private directory (mode 0700: only this
    user reaches it), in a process group of its own. Its stderr is kept (the last
    lines: an exec credential plugin's complaint goes there)."""

    def __init__(self, door: Door):
        self.door = door
        self.dir = tempfile.mkdtemp(prefix="kubectl-lbip-")
        self.path = os.path.join(self.dir, "api.sock")
        # Under a watchman: a small shell that kills the proxy's process group (the
        # proxy and the exec credential plugins it runs) when this process's end of its
        # stdin closes, so that none of them outlives the plugin, whatever ends it
        # (SIGTERM, SIGKILL, a crash); its exit status is the proxy's.
        argv = [
            "/bin/sh",
            "-c",
            _WATCHMAN,
            "kubectl-lbip",
            door.kubectl,
            *door.args,
            "proxy",
            f"--unix-socket={self.path}",
        ]
        self.proc = _spawn(door, argv, "kubectl proxy", stdout=subprocess.PIPE, stdin=subprocess.PIPE)
        self.said: List[str] = []  # its stderr, the last lines
        self._serving = False
        self._lock = threading.Lock()  # several requests' threads wait for it at once

    def ready(self) -> None:
        """Wait until it serves (once); when it cannot, it is stopped and kubectl's
        error raised."""
        with self._lock:
            if self._serving:
                return
            try:
                self._wait_ready()
            except BaseException:
                self.stop()
                raise
            self._serving = True
        threading.Thread(target=self._drain, name="kubectl-lbip-proxy-stderr", daemon=True).start()

    def _wait_ready(self) -> None:
        """Until it says it serves; an exit first is kubectl's error (a bad
        kubeconfig, an unknown context, a missing certificate file)."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out = b""
        while b"\n" not in out:
            left = self.door.remaining()
            if left <= 0:
                still = _stop(self.proc)
                raise self.door.deadline_error("kubectl proxy: not serving", still, server=False)
            ready, _, _ = select.select([self.proc.stdout], [], [], None if math.isinf(left) else left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:  # it ended: what it said is the error
                # what it left running in its group goes first: an exec plugin holds its
                # stderr, which would not end until the plugin did, past the deadline
                _kill_group(self.proc)
                self.proc.wait()
                err = self.proc.stderr.read().decode("utf-8", "replace")
                raise failure("kubectl proxy", err, self.door)
            out += chunk
        if not out.startswith(b"Starting to serve on "):
            raise ClusterError(f"kubectl proxy: unexpected first words {out[:100]!r}")

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.said = (self.said + [line.decode("utf-8", "replace").rstrip()])[-20:]

    def complaint(self) -> List[str]:
        """What kubectl and its exec plugins said (not kubectl's log lines)."""
        return [line for line in self.said if line.strip() and not _is_klog(line)]

    def stop(self) -> str:
        if self.proc.poll() is None:
            still = _stop(self.proc)
        else:  # it ended, not necessarily what it ran (an exec plugin): the group's id is
            # still its own, kept by the watchman's reader until this end of its stdin closes
            _kill_group(self.proc)
            still = ""
        shutil.rmtree(self.dir, ignore_errors=True)
        return still


class _Request:
    """One HTTP exchange with the proxy, made in a thread of its own (so that several
    run at once); every read is bounded by the door's deadline, so the thread ends
    by itself by then. A 429 or 503 asking to retry is waited for when the wait ends
    before the deadline (at most MAX_RETRY_WAITS times), with a note."""

    def __init__(
        self, door: Door, method: str, url: str, what: str, body: Optional[bytes] = None, content_type: str = ""
    ):
        self.door, self.method, self.url, self.what = door, method, url, what
        self.body, self.content_type = body, content_type
        self._status = 0
        self._payload = b""
        self._error: Optional[BaseException] = None
        self._cancelled = False
        self._sock: Optional[socket.socket] = None
        self.started = door.clock()
        self._thread = threading.Thread(target=self._run, name="kubectl-lbip-request", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for waits in range(MAX_RETRY_WAITS + 1):
                status, headers, payload = self._exchange()
                wait = _retry_after(headers) if status in RETRY_STATUSES and waits < MAX_RETRY_WAITS else None
                if wait is None:
                    break
                if wait >= self.door.remaining():
                    sys.stderr.write(
                        f"note: the API server asked to retry after {wait:g}s ({status}); that is past "
                        f"the deadline ({self.door.timeout_text()}), so not waiting\n"
                    )
                    break
                sys.stderr.write(f"note: the API server asked to retry after {wait:g}s ({status}); waiting\n")
                time.sleep(wait)
            self._status, self._payload = status, payload
        except BaseException as exc:  # handed to result()
            self._error = exc

    def _exchange(self) -> Tuple[int, Dict[str, str], bytes]:
        import http.client

        proxy = self.door.proxy()
        self._sock = sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._bound(sock)
            sock.connect(proxy.path)
            conn = http.client.HTTPConnection("localhost")
            conn.sock = sock
            # gzip, as kubectl asks: the API server compresses answers over 128 kB, and
            # the proxy passes them on as they came
            headers = {"Accept": "application/json", "Accept-Encoding": "gzip", "User-Agent": "kubectl-lbip"}
            if self.content_type:
                headers["Content-Type"] = self.content_type
            self._bound(sock)
            conn.request(self.method, self.url, body=self.body, headers=headers)
            self._bound(sock)
            resp = conn.getresponse()
            chunks = []
            while True:
                self._bound(sock)
                chunk = resp.read1(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            payload = b"".join(chunks)
            if (resp.getheader("Content-Encoding") or "").lower() == "gzip":
                import gzip

                try:
                    payload = gzip.decompress(payload)
                except (OSError, EOFError) as exc:
                    raise ClusterError(f"{self.what}: a broken compressed answer: {exc}") from None
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
        except TimeoutError:  # socket.timeout too: every read is bounded by the deadline
            raise
        except OSError as exc:
            if self._cancelled:
                raise TimeoutError() from None
            raise ClusterError(f"{self.what}: the connection to kubectl proxy failed: {exc}") from None
        except http.client.HTTPException as exc:
            raise ClusterError(f"{self.what}: a broken answer through kubectl proxy: {exc!r}") from None
        finally:
            sock.close()

    def _bound(self, sock: socket.socket) -> None:
        left = self.door.remaining()
        if left <= 0 or self._cancelled:
            raise TimeoutError()
        sock.settimeout(None if math.isinf(left) else left)

    def result(self) -> bytes:
        left = self.door.remaining()
        self._thread.join(None if math.isinf(left) else left / 2)
        if self._thread.is_alive() and self.door.remaining() > 0:  # slow: ask now what a deadline's message names
            self.door.ask_context()
            self._thread.join()
        status = self._status
        if log.isEnabledFor(logging.INFO):
            shown = status or ("deadline" if isinstance(self._error, TimeoutError) else "error")
            log.info("%s %s %s %.0fms", self.method, self.url, shown, (self.door.clock() - self.started) * 1000)
        if isinstance(self._error, TimeoutError):
            raise self.door.expire(self.what)
        if self._error is not None:
            raise self._error
        if status >= 400:
            raise self.door.http_failure(self.what, status, self._payload)
        return self._payload

    def cancel(self) -> None:
        """Not needed after all: stopped, its answer dropped."""
        self._cancelled = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _watch_events(door: Door, url: str, what: str, left: Callable[[], float]) -> Iterator[Any]:
    """The events of one watch stream through the proxy (see Door.watch)."""
    import http.client

    proxy = door.proxy()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def bound() -> bool:
        remaining = left()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        return True

    started = door.clock()
    status: Any = "error"
    try:
        if not bound():
            return
        sock.connect(proxy.path)
        conn = http.client.HTTPConnection("localhost")
        conn.sock = sock
        conn.request("GET", url, headers={"Accept": "application/json", "User-Agent": "kubectl-lbip"})
        resp = conn.getresponse()
        status = resp.status
        if resp.status >= 400:
            raise door.http_failure(what, resp.status, resp.read(1 << 20))
        while bound():
            line = resp.readline(MAX_EVENT_LINE + 1)
            if not line:
                return  # the server ended the stream
            if len(line) > MAX_EVENT_LINE:
                raise ResponseError(f"{what}: an event longer than {MAX_EVENT_LINE >> 20} MiB")
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except RecursionError:
                raise ResponseError(f"{what}: an event nested too deeply") from None
            except ValueError:
                raise ResponseError(f"{what}: an event that is not JSON: {line[:100]!r}") from None
    except (TimeoutError, socket.timeout):  # the attempt's time is up
        status = "deadline"
        return
    except OSError as exc:
        raise ClusterError(f"{what}: the stream broke: {exc}") from None
    except http.client.HTTPException as exc:
        raise ClusterError(f"{what}: the stream broke: {exc!r}") from None
    finally:
        sock.close()
        if log.isEnabledFor(logging.INFO):
            log.info("GET %s %s %.0fms", url, status, (door.clock() - started) * 1000)


def _retry_after(headers: Dict[str, str]) -> Optional[float]:
    try:
        return max(float(headers.get("retry-after") or ""), 0.0)
    except ValueError:
        return None


# "$@" is kubectl proxy's command line; the reader keeps stdin (as fd 3: a background
# job's stdin is /dev/null) and lets go of stdout and stderr, so that the proxy's end is
# seen at once. At that stdin's end it kills its whole process group (kill 0: the shell
# runs as the leader of its own), not the proxy alone: an exec credential plugin the
# proxy is running would otherwise be left behind, a child of init.
_WATCHMAN = 'exec 3<&0; "$@" & p=$!; (read -r _ <&3; kill -KILL 0) >/dev/null 2>&1 & wait "$p"'


def _spawn(
    door: Door, argv: List[str], what: str, stdout: Any, stdin: Any = subprocess.DEVNULL
) -> "subprocess.Popen[bytes]":
    if door.remaining() <= 0:
        raise ClusterError(f"{what}: the deadline of {door.timeout_text()} passed before it could start")
    try:
        return subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=door.env,
            start_new_session=True,  # its own process group, exec plugins included
        )
    except OSError as exc:
        raise ClusterError(f"cannot run kubectl ({argv[0]}): {exc.strerror or exc}") from None


def _stop(proc: "subprocess.Popen[bytes]") -> str:
    """Kill a process group; '; killed what still ran: ...' naming its members."""
    running = _group_members(proc.pid)
    _kill_group(proc)
    try:
        proc.wait(timeout=5)  # not communicate(): a thread may still read its stderr
    except subprocess.TimeoutExpired:
        pass
    return f"; killed what still ran: {'; '.join(running)}" if running else ""


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
    if text.startswith(
        ("The connection to the server", "Unable to connect to the server", "dial tcp", "proxyconnect")
    ) or ("x509:" in text or "tls:" in text):
        if not about["server"] and ("localhost:8080" in text or "127.0.0.1:8080" in text):
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


def _status_message(payload: bytes) -> Tuple[str, bool]:
    """(the message of a Status answer, True), or (the first line of a text, False)."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return str(doc.get("message") or doc.get("reason") or ""), True
    text = payload.decode("utf-8", "replace").strip()
    return (text.splitlines()[0][:300] if text else ""), False


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

"""kubectl_complete-lbip: `kubectl lbip <TAB>` through kubectl (1.26 and later).

kubectl runs ``kubectl_complete-lbip ARGS... TO_COMPLETE`` from PATH with the words
typed after ``kubectl lbip``; the answer is Cobra's ``__complete`` protocol: one
candidate per line (``value<TAB>description``), then ``:DIRECTIVE``.

A shell waits for this on every <TAB>, so the module imports neither typer nor the
kubernetes client: the command table is generated from the Typer app into
completion_table.py (commandtable.py; tests/cli/test_complete.py fails when it is
stale), the kubeconfig is read with PyYAML, and the cluster
is asked with one small HTTPS GET from the standard library, with a short deadline.
It never writes an error into the shell: any failure completes nothing."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .completion_table import COMMANDS, GLOBAL
from .flags import DRY_RUN

# ssl, http.client, base64 and tempfile are imported only when a cluster is asked

# Cobra's ShellCompDirective values
DEFAULT = 0  # the shell may complete file names
NO_SPACE = 2
NO_FILE = 4
DEADLINE = 1.0  # seconds for the whole answer from a cluster
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

NAMESPACE, SERVICE, POOL, CONTEXT, CLUSTER, USER, FILE = (
    "namespace",
    "service",
    "pool",
    "context",
    "cluster",
    "user",
    "file",
)

# The commands and their flags: generated from the Typer app (commandtable.py), each
# flag with the kind of its value (a kind above, a list of choices, or None for free text)
OPTIONAL_VALUE = (DRY_RUN,)  # bare, it is --dry-run=client: values only after "="


def flags_of(command: str) -> Tuple[Dict[str, Any], Sequence[str]]:
    """The flags that take a value (with its kind) and the boolean ones of a command."""
    entry = COMMANDS[command]
    if not entry["global"]:
        return entry["valued"], tuple(entry["booleans"])
    return {**GLOBAL["valued"], **entry["valued"]}, tuple(GLOBAL["booleans"] + entry["booleans"])


ANY_VALUED: Dict[str, Any] = {}


def complete(args: Sequence[str], env: Optional[Dict[str, str]] = None, fetch=None) -> Tuple[List[str], int]:
    """Candidates and Cobra directive for ``args`` (the last one is being typed)."""
    env = dict(os.environ if env is None else env)
    if not ANY_VALUED:
        for name in COMMANDS:
            ANY_VALUED.update(flags_of(name)[0])
    words, current = list(args[:-1]), (args[-1] if args else "")
    command: Optional[str] = None
    flags: Dict[str, str] = {}
    positionals: List[str] = []
    pending: Optional[str] = None  # a valued flag waiting for its value
    for word in words:
        if pending:
            flags[pending] = word
            pending = None
            continue
        if command is None:  # flags before the command (kubectl lbip -n shop annotate ...)
            if not word.startswith("-"):
                command = word if word in COMMANDS else ""
            elif word.startswith("--") and "=" in word:
                flags[word.partition("=")[0]] = word.partition("=")[2]
            elif word in ANY_VALUED and word not in OPTIONAL_VALUE and word not in ("-v", "--v"):
                pending = word
            continue
        if not command:
            return [], NO_FILE
        valued, _ = flags_of(command)
        if word.startswith("--") and "=" in word:
            name, _, value = word.partition("=")
            flags[name] = value
        elif word.startswith("-") and not word.startswith("--") and len(word) > 2 and word[:2] in valued:
            flags[word[:2]] = word[2:].lstrip("=")
        elif word in ("-v", "--v", "--verbose"):
            continue  # a level may follow; a bare number is never a positional here
        elif word in valued and word not in OPTIONAL_VALUE:
            pending = word
        elif word.startswith("-"):
            flags[word] = "true"
        elif not word.isdigit():
            positionals.append(word)
    if command is None and pending:  # a value of a flag typed before the command
        kind = ANY_VALUED[pending]
        if isinstance(kind, list):
            return [], NO_FILE  # -o's values depend on the command
        return _values(kind, current, flags, fetch or _Cluster(flags, env), "")
    if command is None:
        if current.startswith("-"):
            return _prefixed(["-h\tShow help", "--help\tShow help"], current), NO_FILE
        return _prefixed([f"{name}\t{COMMANDS[name]['help']}" for name in COMMANDS], current), NO_FILE
    if not command:
        return [], NO_FILE
    valued, bools = flags_of(command)
    fetch = fetch or _Cluster(flags, env)
    if pending:
        return _values(valued[pending], current, flags, fetch, "")
    if current.startswith("-") and "=" in current and current.partition("=")[0] in valued:
        name, _, typed = current.partition("=")
        return _values(valued[name], typed, flags, fetch, name + "=")
    if current.startswith("-"):
        names = sorted(set(valued) | set(bools), key=lambda n: (n.lstrip("-").lower(), n))
        if current.startswith("--"):
            names = [n for n in names if n.startswith("--")]
        return _prefixed(names, current), NO_FILE
    kinds = COMMANDS[command]["positionals"]
    if len(positionals) < len(kinds):
        return _values(kinds[len(positionals)], current, flags, fetch, "")
    return [], NO_FILE


def _prefixed(candidates: List[str], typed: str, prefix: str = "") -> List[str]:
    return [prefix + c for c in candidates if c.startswith(typed)]


def _values(kind: Any, typed: str, flags: Dict[str, str], fetch, prefix: str):
    if kind == FILE:
        return [], DEFAULT
    if isinstance(kind, list):
        return _prefixed(kind, typed, prefix), NO_FILE
    if kind is None:
        return [], NO_FILE
    try:
        found = fetch.names(kind, flags)
    except Exception:  # noqa: BLE001 - a shell gets no traceback, only no candidates
        found = []
    return _prefixed(sorted(found), typed, prefix), NO_FILE


class _Cluster:
    """What completion needs from the kubeconfig and the API server, read the way
    kubectl would with the flags typed so far."""

    def __init__(self, flags: Dict[str, str], env: Dict[str, str]):
        self.flags, self.env = flags, env

    def names(self, kind: str, flags: Dict[str, str]) -> List[str]:
        config = _kubeconfig(flags.get("--kubeconfig"), self.env)
        if kind in (CONTEXT, CLUSTER, USER):
            return [e["name"] for e in config.get(kind + "s", []) if e.get("name")]
        conn = _connection(config, flags)
        if kind == NAMESPACE:
            items = _get(conn, "/api/v1/namespaces")
            return [i["metadata"]["name"] for i in items]
        if kind == POOL:
            items = _get(conn, "/apis/metallb.io/v1beta1/ipaddresspools")
            return [i["metadata"]["name"] for i in items]
        if kind == SERVICE:
            ns = flags.get("-n") or flags.get("--namespace") or conn["namespace"]
            # as a Table (what `kubectl get` asks for): names and types, not whole objects
            table = _get(conn, f"/api/v1/namespaces/{ns}/services?includeObject=None", TABLE, whole=True)
            columns = [c.get("name") for c in table.get("columnDefinitions") or ()]
            if "Type" not in columns:
                return []
            at = columns.index("Type")
            return [r["cells"][0] for r in table.get("rows") or () if r["cells"][at] == "LoadBalancer"]
        return []


def _kubeconfig(path: Optional[str], env: Dict[str, str]) -> Dict[str, Any]:
    """The merged kubeconfig (first file wins per name), each entry remembering its file."""
    files = [path] if path else [p for p in (env.get("KUBECONFIG") or "").split(os.pathsep) if p]
    if not files:
        files = [os.path.join(env.get("HOME") or os.path.expanduser("~"), ".kube", "config")]
    merged: Dict[str, Any] = {"contexts": [], "clusters": [], "users": [], "current-context": ""}
    for f in files:
        f = os.path.expanduser(f)
        if not os.path.exists(f):
            continue
        with open(f) as fh:
            text = fh.read()
        try:
            doc = json.loads(text) if text.lstrip().startswith("{") else None
        except ValueError:
            doc = None
        if doc is None:
            import yaml

            doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        for kind in ("contexts", "clusters", "users"):
            seen = {e.get("name") for e in merged[kind]}
            for entry in doc.get(kind) or ():
                if isinstance(entry, dict) and entry.get("name") not in seen:
                    merged[kind].append({**entry, "_dir": os.path.dirname(os.path.abspath(f))})
        if not merged["current-context"] and doc.get("current-context"):
            merged["current-context"] = doc["current-context"]
    return merged


def _named(config: Dict[str, Any], kind: str, name: Optional[str]) -> Dict[str, Any]:
    for entry in config.get(kind + "s", []):
        if entry.get("name") == name:
            return {**(entry.get(kind) or {}), "_dir": entry["_dir"]}
    return {}


def _connection(config: Dict[str, Any], flags: Dict[str, str]) -> Dict[str, Any]:
    import base64
    import ssl

    context = _named(config, "context", flags.get("--context") or config["current-context"])
    cluster = _named(config, "cluster", flags.get("--cluster") or context.get("cluster"))
    user = _named(config, "user", flags.get("--user") or context.get("user"))
    server = flags.get("-s") or flags.get("--server") or cluster.get("server")
    if not server:
        raise LookupError("no server")
    # only the kubeconfig's CA when it names one: loading the system's store costs more
    # than the whole answer (and kubectl trusts only that CA too)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    temps: List[str] = []
    insecure = "--insecure-skip-tls-verify" in flags or cluster.get("insecure-skip-tls-verify")
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif flags.get("--certificate-authority"):
        ctx.load_verify_locations(cafile=flags["--certificate-authority"])
    elif cluster.get("certificate-authority-data"):
        ctx.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        ctx.load_verify_locations(cafile=os.path.join(cluster["_dir"], cluster["certificate-authority"]))
    else:
        ctx.load_default_certs()
    headers = {"Accept": "application/json"}
    token = flags.get("--token") or user.get("token")
    if not token and user.get("tokenFile"):
        with open(os.path.join(user["_dir"], user["tokenFile"])) as f:
            token = f.read().strip()
    if token:
        headers["Authorization"] = "Bearer " + token
    elif user.get("client-certificate-data") or user.get("client-certificate"):
        cert = _file(user, "client-certificate", temps)
        key = _file(user, "client-key", temps)
        try:
            ctx.load_cert_chain(cert, key)
        finally:
            for t in temps:
                os.unlink(t)
    return {"server": server, "ssl": ctx, "headers": headers, "namespace": context.get("namespace") or "default"}


def _file(entry: Dict[str, Any], key: str, temps: List[str]) -> str:
    import base64
    import tempfile

    if entry.get(key + "-data"):
        fd, path = tempfile.mkstemp(prefix="kubectl-lbip-complete-")
        temps.append(path)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(entry[key + "-data"]))
        return path
    return os.path.join(entry["_dir"], entry[key])


def _get(conn: Dict[str, Any], path: str, accept: str = "application/json", whole: bool = False) -> Any:
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(conn["server"])
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    kwargs = {"context": conn["ssl"]} if url.scheme == "https" else {}
    http_conn = cls(url.hostname, url.port, timeout=DEADLINE, **kwargs)
    try:
        http_conn.request("GET", url.path.rstrip("/") + path, headers={**conn["headers"], "Accept": accept})
        resp = http_conn.getresponse()
        if resp.status != 200:
            return {} if whole else []
        data = json.loads(resp.read())
        return data if whole else data.get("items") or []
    finally:
        http_conn.close()


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["__complete"]:  # as `kubectl-lbip __complete ...` is called too
        args = args[1:]
    try:
        candidates, directive = complete(args)
    except Exception:  # noqa: BLE001 - never an error into the shell
        candidates, directive = [], NO_FILE
    sys.stdout.write("".join(c + "\n" for c in candidates) + f":{directive}\n")


if __name__ == "__main__":
    main()

"""kubectl_complete-lbip: `kubectl lbip <TAB>` through kubectl (1.26 and later).

kubectl runs ``kubectl_complete-lbip ARGS... TO_COMPLETE`` from PATH with the words
typed after ``kubectl lbip``; the answer is Cobra's ``__complete`` protocol: one
candidate per line (``value<TAB>description``), then ``:DIRECTIVE``.

A shell waits for this on every <TAB>, so the module imports neither typer nor any
client: the command table is generated from the Typer app into completion_table.py
(commandtable.py; tests/cli/test_complete.py fails when it is stale), and the cluster
is asked through the door (kubectl itself, as every command asks it) within one
budget of DEADLINE seconds for the whole answer.
It never writes an error into the shell: any failure completes nothing."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .completion_table import COMMANDS, GLOBAL
from .flags import DRY_RUN

# the door (kubectl_lbip/door.py: subprocess) is imported only when a cluster is asked

# Cobra's ShellCompDirective values
DEFAULT = 0  # the shell may complete file names
NO_SPACE = 2
NO_FILE = 4
DEADLINE = 1.0  # seconds for the whole answer from a cluster

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


# kubectl's global flags as typed -> the door's keywords
_DOOR_FLAGS = {
    "--kubeconfig": "kubeconfig",
    "--context": "context",
    "--cluster": "cluster",
    "--user": "user",
    "-s": "server",
    "--server": "server",
    "--token": "token",
    "--certificate-authority": "certificate_authority",
    "--client-certificate": "client_certificate",
    "--client-key": "client_key",
    "--tls-server-name": "tls_server_name",
    "--as": "as_user",
    "--as-uid": "as_uid",
}


class _Cluster:
    """What completion needs from the kubeconfig and the API server, asked through
    the door (kubectl itself, with the flags typed so far), DEADLINE seconds in all."""

    def __init__(self, flags: Dict[str, str], env: Dict[str, str]):
        self.flags, self.env = flags, env
        self._door: Any = None

    def door(self, flags: Dict[str, str]) -> Any:
        from .door import Door

        if self._door is None:
            kwargs: Dict[str, Any] = {_DOOR_FLAGS[k]: v for k, v in flags.items() if k in _DOOR_FLAGS and v}
            if flags.get("--insecure-skip-tls-verify", "false") != "false":
                kwargs["insecure_skip_tls_verify"] = True
            if flags.get("--as-group"):
                kwargs["as_group"] = [flags["--as-group"]]
            self._door = Door(DEADLINE, env=self.env, **kwargs)
        return self._door

    def names(self, kind: str, flags: Dict[str, str]) -> List[str]:
        from .door import segment

        door = self.door(flags)
        if kind in (CONTEXT, CLUSTER, USER):
            return door.names(kind)
        if kind == NAMESPACE:
            return [_name(i) for i in _items(door.get("/api/v1/namespaces"))]
        if kind == POOL:
            return [_name(i) for i in _items(door.get("/apis/metallb.io/v1beta1/ipaddresspools"))]
        if kind == SERVICE:
            ns = flags.get("-n") or flags.get("--namespace") or door.about()["namespace"]
            services = _items(door.get(f"/api/v1/namespaces/{segment(ns)}/services"))
            return [_name(s) for s in services if (s.get("spec") or {}).get("type") == "LoadBalancer"]
        return []


def _items(payload: bytes) -> List[Dict[str, Any]]:
    """A list's items that are objects with a name (anything else is skipped)."""
    data = json.loads(payload)
    items = data.get("items") if isinstance(data, dict) else None
    return [i for i in items or () if isinstance(i, dict) and _name(i)] if isinstance(items, list) else []


def _name(obj: Dict[str, Any]) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else ""


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

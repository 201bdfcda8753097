"""kubectl's flag spellings (spf13/pflag) rewritten into the ones Click parses.

pflag accepts, and kubectl users type, spellings Click reads differently:

* ``-n=x`` is ``-n x`` to pflag; Click would read the namespace ``=x``.
* ``-An=x`` and ``-Anx`` are ``-A -n x`` (boolean shorthands may be grouped).
* ``--strict=false``, ``-A=true``: a boolean flag takes an explicit value.
* ``--dry-run`` alone is kubectl 1.32's deprecated spelling of ``--dry-run=client``.
* ``-v`` takes a level (``-v 6``, ``-v=6``, ``-v6``, ``--v=6``); ``-v`` alone is kept
  as before this module existed and means level 6 (each API request is logged).

``normalize`` knows only which options take a value and which are booleans, so the
command line is rewritten before Click sees it and Click's own errors still apply
to anything unknown. Pure: no Click import (the completion helper uses it too)."""

from __future__ import annotations

import re
import sys
from typing import Collection, Dict, List, Optional

TRUE = {"1", "t", "T", "true", "TRUE", "True"}
FALSE = {"0", "f", "F", "false", "FALSE", "False"}
VERBOSE = ("-v", "--v", "--verbose")
VERBOSE_ALONE = "6"  # `-v` without a level: log each request, as it always did
DRY_RUN = "--dry-run"
DRY_RUN_DEPRECATED = "warning: --dry-run is deprecated and can be replaced with --dry-run=client."

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def dns1123_label_problem(value: str) -> Optional[str]:
    """Why ``value`` is not a namespace name (a DNS-1123 label), or None."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _LABEL.match(value):
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric "
            "characters or '-', and must start and end with an alphanumeric character "
            "(e.g. 'my-name', or '123-abc')"
        )
    return None


class Spec:
    """The options of one command: those taking a value, and the booleans."""

    def __init__(self, valued: Collection[str], booleans: Collection[str]):
        self.valued = set(valued)
        self.booleans = set(booleans)


def normalize(args: List[str], spec: Spec, warn=None) -> List[str]:
    """Rewrite pflag spellings into Click's; anything not understood is left for Click."""
    warn = warn or (lambda text: sys.stderr.write(text + "\n"))
    out: List[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            out.extend(args[i - 1 :])
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name in VERBOSE and not eq:
                out.append(name)
                out.append(args[i] if _level_follows(args, i) else VERBOSE_ALONE)
                i += 1 if _level_follows(args, i) else 0
                continue
            if name == DRY_RUN and not eq and name in spec.valued:
                warn(DRY_RUN_DEPRECATED)
                out.append(f"{DRY_RUN}=client")
                continue
            if name in spec.booleans and eq:
                out.extend(_boolean(name, value))
                continue
            out.append(arg)
            if name in spec.valued and not eq and i < len(args):
                out.append(args[i])  # the value, whatever it looks like
                i += 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            consumed = _shorthands(arg, args, i, spec, out)
            if consumed is None:
                out.append(arg)
            else:
                i += consumed
            continue
        out.append(arg)
    return out


def _shorthands(arg: str, args: List[str], i: int, spec: Spec, out: List[str]) -> Optional[int]:
    """A group of shorthands (``-An=x``) as separate tokens; how many of the following
    arguments it consumed; None when a letter is unknown (Click reports it)."""
    tokens: List[str] = []
    rest = arg[1:]
    while rest:
        flag, rest = "-" + rest[0], rest[1:]
        if flag in VERBOSE:
            value = rest[1:] if rest.startswith("=") else rest
            if value:
                tokens += [flag, value]
                break
            if _level_follows(args, i):
                out.extend(tokens + [flag, args[i]])
                return 1
            tokens += [flag, VERBOSE_ALONE]
            break
        if flag in spec.valued:
            value = rest[1:] if rest.startswith("=") else rest
            if value or rest.startswith("="):
                tokens += [flag, value]
                break
            if i < len(args):
                out.extend(tokens + [flag, args[i]])
                return 1
            tokens.append(flag)  # Click says the value is missing
            break
        if flag in spec.booleans:
            if rest.startswith("="):
                tokens += _boolean(flag, rest[1:])
                break
            tokens.append(flag)
            continue
        return None
    out.extend(tokens)
    return 0


def _boolean(name: str, value: str) -> List[str]:
    if value in TRUE:
        return [name]
    if value in FALSE:
        return []  # every boolean flag here defaults to false
    return [f"{name}={value}"]  # Click refuses it with its own message


def _level_follows(args: List[str], i: int) -> bool:
    return i < len(args) and args[i].isdigit()


def spec_of(params) -> Spec:
    """The Spec of a Click command's parameters."""
    valued: Dict[str, None] = {}
    booleans: Dict[str, None] = {}
    for p in params:
        opts = list(getattr(p, "opts", ())) + list(getattr(p, "secondary_opts", ()))
        if getattr(p, "param_type_name", "") != "option":
            continue
        target = booleans if (getattr(p, "is_flag", False) or getattr(p, "count", False)) else valued
        for o in opts:
            target[o] = None
    return Spec(valued, booleans)


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_SCALE = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> Optional[float]:
    """kubectl's --request-timeout: a Go duration (1s, 2m, 1m30s, 500ms) or a bare
    number of seconds; seconds as a float, None when malformed."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _SCALE[u] for n, u in parts)


def hoist(args: List[str], commands: Dict[str, object]) -> List[str]:
    """``-n shop free --count 2`` -> ``free -n shop --count 2``: options typed before
    the command belong to it. Which options take a value is read from the commands'
    own declarations, so a value is never taken for the command (``-n free pools`` is
    pools in namespace free). Left as they are when no command follows, or when an
    option is unknown to the command (Click then says so)."""
    specs = {name: spec_of(getattr(command, "params", ())) for name, command in commands.items()}
    valued = set().union(*(s.valued for s in specs.values())) if specs else set()
    booleans = set().union(*(s.booleans for s in specs.values())) if specs else set()
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] not in ("-", "--"):
        i += 1 + _value_follows(args, i, Spec(valued, booleans))
    if i == 0 or i >= len(args) or args[i] not in commands:
        return args
    command = args[i]
    spec = specs[command]
    for word in args[:i]:  # each leading option must be the command's own
        if not word.startswith("-") or word in ("-", "--"):
            continue  # a value
        name = word.partition("=")[0] if word.startswith("--") else word[:2]
        if name in ("-h", "--help") or name not in spec.valued | spec.booleans:
            return args
    return [command] + args[:i] + args[i + 1 :]


def _value_follows(args: List[str], i: int, spec: Spec) -> int:
    """1 when the option ``args[i]`` takes the next argument as its value, as pflag reads it."""
    word = args[i]
    if word.startswith("--"):
        name, eq, _ = word.partition("=")
        if eq or name == DRY_RUN:
            return 0
        if name in VERBOSE:
            return int(_level_follows(args, i + 1))
        return int(name in spec.valued and i + 1 < len(args))
    rest = word[1:]
    while rest:  # a group of shorthands: -An x
        flag, rest = "-" + rest[0], rest[1:]
        if flag in VERBOSE:
            return int(not rest and _level_follows(args, i + 1))
        if flag in spec.valued:
            return int(not rest and i + 1 < len(args))
        if flag not in spec.booleans:
            return 0
    return 0

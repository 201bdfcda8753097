"""Every error the plugin raises on purpose, and the one table of exit codes.

The hierarchy:

    LbipError                 exit 2 unless a subclass says otherwise
      UsageError              bad options or input: a malformed file, an address that is not one
        InputError            an object of a file or stdin has the wrong shape (names file,
                              document, object and field)
        BackupError           a --restore file that is not a valid backup (nothing was written)
      ClusterError            exit 3: the cluster or its API failed us
        AccessError           401/403: the identity may not do this
        ConflictError         409: the object changed since it was read
        NotFound              404
        Expired               410: a list's continue token expired
        CredentialError       the kubeconfig's credentials could not be produced (exec plugin,
                              token file, certificate file)
        ResponseError         an API answer of the wrong shape (names the API path and field)
      Refused                 exit 1: a negative answer with its reasons (annotate's broken rules,
                              an --overwrite whose value changed meanwhile)
    InvalidValue(ValueError)  raised by the pure model (model/ imports nothing else); mapped to
                              exit 2 here, like a UsageError

`exit_code_for` maps an exception to its exit code; cli.py's last-resort handler
uses it for every command, and turns anything else into exit 4 (a bug)."""

from __future__ import annotations

from typing import Any, List

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2
EXIT_CLUSTER = 3
EXIT_INTERNAL = 4  # an unexpected exception: a bug in the plugin
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class LbipError(Exception):
    exit_code = EXIT_USAGE


class UsageError(LbipError):
    """Bad options or input: a malformed file, an address that is not one."""

    exit_code = EXIT_USAGE


class InputError(UsageError):
    """An object read from a file or stdin does not have the shape the model expects."""


class BackupError(UsageError):
    """A --restore file that is not a valid backup; nothing was written."""


class ClusterError(LbipError):
    """The cluster or its API failed us: unreachable, 401, 403, MetalLB absent."""

    exit_code = EXIT_CLUSTER


class AccessError(ClusterError):
    """401 or 403: the identity may not do this; retrying or going on will not help."""


class ConflictError(ClusterError):
    """A write lost a race: the object changed since it was read (HTTP 409)."""


class NotFound(ClusterError):
    """HTTP 404."""


class Expired(ClusterError):
    """HTTP 410: a list's continue token expired."""


class CredentialError(ClusterError):
    """The kubeconfig's credentials could not be produced: an exec plugin that failed
    or is missing, a token or certificate file that cannot be read."""


class ResponseError(ClusterError):
    """An API answer that does not have the shape of what was asked for."""


class Refused(LbipError):
    """A negative answer (exit 1) with its reasons, e.g. the rules a request breaks."""

    exit_code = EXIT_NEGATIVE

    def __init__(self, findings: List[Any], message: str = ""):
        super().__init__(message or "; ".join(getattr(f, "message", str(f)) for f in findings))
        self.findings = findings


class InvalidValue(ValueError):
    """A value the pure model cannot use (an address, a selector, a port, a backup entry)."""


def exit_code_for(exc: BaseException) -> int:
    """The one mapping of exceptions to exit codes."""
    if isinstance(exc, LbipError):
        return exc.exit_code
    if isinstance(exc, InvalidValue):
        return EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_INTERNAL

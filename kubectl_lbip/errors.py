"""The few error types the plugin raises; cli.py alone maps them to exit codes."""

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2
EXIT_CLUSTER = 3


class LbipError(Exception):
    exit_code = EXIT_USAGE


class UsageError(LbipError):
    """Bad options or input: a malformed file, an address that is not one."""

    exit_code = EXIT_USAGE


class ClusterError(LbipError):
    """The cluster or its API failed us: unreachable, 401, 403, MetalLB absent."""

    exit_code = EXIT_CLUSTER


class AccessError(ClusterError):
    """401 or 403: the identity may not do this; retrying or going on will not help."""


class ConflictError(ClusterError):
    """A write lost a race: the object changed since it was read (HTTP 409)."""

"""Which MetalLB release the model mirrors, and each rule that differs between releases.

The rest of the model asks the functions below (never compares versions itself);
each names the MetalLB change it mirrors. Releases measured by the e2e tier's
conformance matrix: MEASURED. A version is a tuple (major, minor, patch);
the newest is the default everywhere.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple, Type, TypeVar

from ..errors import InvalidValue

Version = Tuple[int, int, int]

MEASURED = ("v0.14.9", "v0.15.3", "v0.16.1")
NEWEST: Version = (0, 16, 1)

_VERSION = re.compile(r"^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?:[-+][0-9A-Za-z.+-]*)?$")


class VersionError(InvalidValue):
    """Not a MetalLB version."""


def parse(text: str) -> Version:
    """'v0.16.1', '0.16.1', 'v0.16' (patch 0), 'v0.16.1-rc.1' -> (0, 16, 1)."""
    m = _VERSION.match(str(text).strip())
    if not m:
        raise VersionError(f"{text!r} is not a MetalLB version (like v0.16.1)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def parse_or_none(text: str) -> Optional[Version]:
    try:
        return parse(text)
    except VersionError:
        return None


def text(version: Version) -> str:
    return "v{}.{}.{}".format(*version)


def behaves_as(version: Version) -> str:
    """The measured release whose rules the model applies for ``version``."""
    line = [m for m in MEASURED if parse(m)[:2] <= version[:2]]
    return line[-1] if line else MEASURED[0]


# --------------------------------------------------------------------------
# the differences


def priority_only_pool_serves_every_service(version: Version = NEWEST) -> bool:
    """A pool whose serviceAllocation sets only a priority (no namespaces,
    namespaceSelectors or serviceSelectors).

    v0.15: addressPoolServiceAllocationsFromCR (internal/config/config.go) gives
    such a pool a serviceSelector matching everything, so automatic allocation
    tries it, by priority, before the unrestricted pools. v0.14: it is in neither
    poolsByNamespace nor poolsByServiceSelector, and the unrestricted pools
    exclude pools with a serviceAllocation: automatic allocation never uses it
    (a request for its addresses, or its name in the address-pool annotation,
    still gets them: isPoolCompatibleWithService admits every service)."""
    return version >= (0, 15, 0)


def require_dual_stack_needs_two_cluster_ips(version: Version = NEWEST) -> bool:
    """ipFamilyPolicy RequireDualStack with fewer than two clusterIPs.

    v0.15: controller/service.go refuses it ("not enough clusterips") and
    allocates nothing. v0.14: the family comes from the clusterIPs alone, so the
    service is served as single-stack."""
    return version >= (0, 15, 0)


def reports_full_pool_by_name(version: Version = NEWEST) -> bool:
    """A service naming a pool (address-pool annotation) that has no free address
    of any family.

    v0.16: getFreeIPsFromPool (internal/allocator/allocator.go) returns an error,
    "no available IPs in pool NAME". Before, the empty choice went on (see
    full_pool_message). The allocator's choices are the same."""
    return version >= (0, 16, 0)


def single_stack_follows_cluster_ip(version: Version = NEWEST) -> bool:
    """Allocation.selectIPsForFamilyAndPolicy (internal/allocator/allocation.go).

    v0.15 returns the address of the service's own family for a single-stack
    service whatever its ipFamilyPolicy ("align the lb ip to the clusterip"), even
    when there is none, so a full pool reaches Assign: '["<nil>"] is not allowed in
    config'. v0.14 goes by the policy: SingleStack with no address says "no
    available IPs in pool NAME for ipv4 IPFamily", and PreferDualStack (or
    RequireDualStack) on a service with one clusterIP takes an address of each
    family when the pool has both."""
    return version >= (0, 15, 0)


def full_pool_message(version: Version, pool: str, family: str, other_family_free: bool = False) -> str:
    """What MetalLB says (after 'Failed to allocate IP for "ns/name": ') to a service
    whose address-pool annotation names ``pool`` when the pool has no free address of
    the service's ``family`` ("ipv4", "ipv6" or "dual"); ``other_family_free``: the
    pool still has a free address of some family."""
    if reports_full_pool_by_name(version) and not other_family_free:
        return f"no available IPs in pool {pool}"
    if family == "dual" or not single_stack_follows_cluster_ip(version):
        return f"no available IPs in pool {pool} for {family} IPFamily"
    return '["<nil>"] is not allowed in config'


NO_AVAILABLE_IPS = "no available IPs"  # automatic allocation finds nothing (every release)


# --------------------------------------------------------------------------
# which release runs (pure: the snapshot layer reads the objects)

# quay.io/metallb/controller:v0.16.1, registry.local/mirror/metallb/controller:v0.14.9@sha256:...
_IMAGE = re.compile(r"(?:^|/)metallb/controller(?::(?P<tag>[^@/]+))?(?:@.*)?$")


def version_from_image(image: str) -> Optional[Version]:
    """The release in a MetalLB controller image reference, or None (not MetalLB's
    controller image, no tag, or a tag that is not a version such as 'main')."""
    m = _IMAGE.search(str(image or "").strip())
    if not m or not m.group("tag"):
        return None
    return parse_or_none(m.group("tag"))


def is_controller_image(image: str) -> bool:
    return bool(_IMAGE.search(str(image or "").strip()))


# The metallb.io resources each release line serves first (its CRDs, read from
# config/crd/bases of each release): newest first.
_CRD_MARKERS = (
    ("configurationstates", ">=v0.15.3", NEWEST),
    ("servicebgpstatuses", "v0.15.0-v0.15.2", (0, 15, 2)),
    ("servicel2statuses", "v0.14", (0, 14, 9)),
    ("ipaddresspools", "v0.13", (0, 13, 0)),
)


def version_from_resources(resources) -> Optional[Tuple[str, Version]]:
    """From the metallb.io/v1beta1 resource names the API server serves: a label for
    the release range and the version whose rules apply (the newest of the range),
    or None when MetalLB's CRDs are not served."""
    names = set(resources)
    for marker, label, version in _CRD_MARKERS:
        if marker in names:
            return label, version
    return None


R = TypeVar("R", bound="Release")


class Release:
    """Which MetalLB the model mirrors for one command, and how that was decided.

    ``version``: the release whose rules apply; ``label``: what is known of the
    running release ("v0.16.1", or a range such as ">=v0.15.3" when only the CRDs
    served tell); ``source``: "deployment" (the controller Deployment's image tag),
    "crds", "flag" (--metallb-version) or "assumed" (manifests, or nothing to tell
    from); ``detail``: where, in words."""

    __slots__ = ("version", "label", "source", "detail")
    TITLE = "MetalLB"  # how describe() names the implementation
    NEWEST = NEWEST  # the newest release the rules know
    behaves_as = staticmethod(behaves_as)  # the release whose rules apply to a version

    def __init__(self, version: Version, label: str, source: str, detail: str):
        self.version, self.label, self.source, self.detail = version, label, source, detail

    @classmethod
    def newest_assumed(cls: Type[R], detail: str) -> R:
        newest = cls.newest()
        return cls(newest, text(newest), "assumed", detail)

    @classmethod
    def newest(cls) -> Version:
        return cls.NEWEST

    def rules(self) -> str:
        """The release whose rules the model applies."""
        return type(self).behaves_as(self.version)

    def to_dict(self) -> dict:
        return {"version": self.label, "source": self.source, "detail": self.detail, "rules": self.rules()}

    def describe(self) -> str:
        """One line for pools' header and check's summary."""
        rules = self.rules()
        extra = "" if self.label == rules else f"; rules of {rules}"
        if self.source == "assumed":
            return f"{self.TITLE} {self.label} assumed ({self.detail}{extra})"
        return f"{self.TITLE} {self.label} ({self.detail}{extra})"

    def __repr__(self) -> str:
        return f"Release({self.describe()})"

"""The check catalogue, as data: every code `kubectl lbip check` reports, with its
severity, a title, what it means and the fix.

One table feeds the README's "Check codes" table (a test compares them), the
`kubectl lbip check --list` page, the rules of `check -o sarif`, and the "Fix: ..."
at the end of each finding's message (``fixed``). Codes are a stable interface
(scripts read them from `-o json`): never rename or reuse one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Mapping, Tuple

ERROR = "error"
WARNING = "warning"

# The codes, as the rules spell them (model/rules.py, model/announce.py).
POOL_OVERLAP = "pool-overlap"
INVALID_POOL_ADDRESS = "invalid-pool-address"
INVALID_REQUEST = "invalid-request"
TOO_MANY = "too-many-addresses"
FAMILY_MISMATCH = "family-mismatch"
NOT_IN_POOL = "not-in-pool"
BUGGY_IP = "buggy-ip"
SPLIT_POOL = "split-pool-dual-stack"
POOL_INCOMPATIBLE = "pool-incompatible"
ADDRESS_CONFLICT = "address-conflict"
POOL_ANNOTATION_MISMATCH = "pool-annotation-mismatch"
BOTH_SPEC_AND_ANNOTATION = "both-spec-and-annotation"
NO_DUAL_STACK_POOL = "no-dual-stack-pool"
DEPRECATED_ANNOTATION = "deprecated-annotation"
DEPRECATED_LB_IP = "deprecated-loadbalancerip"
PENDING = "pending"
POOL_EXHAUSTED = "pool-exhausted"
POOL_USED_HIGH = "pool-used-high"
POOL_NOT_ADVERTISED = "pool-not-advertised"
ADV_UNKNOWN_POOL = "advertisement-unknown-pool"
ADV_SELECTS_NO_POOL = "advertisement-selects-no-pool"
ADV_NO_NODES = "advertisement-no-nodes"
LOCAL_NO_ANNOUNCER = "local-policy-no-announcer"
OVERLAPS_NODE = "pool-overlaps-node-address"
OVERLAPS_SERVICE_CIDR = "pool-overlaps-service-cidr"
OVERLAPS_POD_CIDR = "pool-overlaps-pod-cidr"
BGP_AGGREGATION = "bgp-aggregation-invalid"
CONFIG_INVALID = "metallb-config-invalid"
STATUS_DRIFT = "pool-status-drift"

# `migrate --to cilium`'s lossy points (model/tocilium.py).
TO_CILIUM_REFUSED = "to-cilium-refused"
TO_CILIUM_ACCEPTED = "to-cilium-accepted"
TO_CILIUM_PINNED_UNPROTECTED = "to-cilium-pinned-unprotected"
TO_CILIUM_OVERLAP = "to-cilium-pool-overlap"
TO_CILIUM_INVALID_POOL = "to-cilium-invalid-pool"
TO_CILIUM_AVOID_BUGGY = "to-cilium-avoid-buggy-ips"
TO_CILIUM_AUTO_ASSIGN = "to-cilium-auto-assign"
TO_CILIUM_SERVICE_SELECTORS = "to-cilium-service-selectors"
TO_CILIUM_NAMESPACE_SELECTORS = "to-cilium-namespace-selectors"
TO_CILIUM_PRIORITY = "to-cilium-priority"
TO_CILIUM_ADV_POOLS = "to-cilium-advertisement-pools"
TO_CILIUM_ADV_SELECTORS = "to-cilium-advertisement-selectors"
TO_CILIUM_BGP = "to-cilium-bgp"

# What a fix's placeholders read as where no finding fills them in (the README,
# `check --list`, SARIF's rule help).
GENERIC = {
    "pool": "POOL",
    "family": "IPv4 or IPv6 (from its clusterIPs)",
    "twin": "its metallb.io/ twin",
    "field": "aggregationLength",
    "prefix": "the pool's prefix length",
    "name": "NAME",
    "namespace": "NS",
}


@dataclass(frozen=True)
class Check:
    code: str
    severity: str  # ERROR or WARNING: the usual one (SARIF's default level)
    title: str  # a short phrase (SARIF's shortDescription)
    meaning: str  # when it is reported (the README's meaning column; Markdown)
    fix: str  # what to do, "{name}" where a finding names the specifics
    rules: str  # the checks that report it (model/rules.py, announce.*)
    severity_note: str = ""  # when the severity is not always ``severity``
    # Other fixes for particular cases of the same code, by a name the rule gives.
    variants: Mapping[str, str] = field(default_factory=dict)

    @property
    def severity_text(self) -> str:
        return self.severity_note or self.severity

    @property
    def generic_fix(self) -> str:
        return self.fix.format(**GENERIC)

    @property
    def name(self) -> str:
        """The code as an identifier (SARIF's rule name): pool-overlap -> PoolOverlap."""
        return "".join(part.capitalize() for part in self.code.split("-"))

    @property
    def plain_meaning(self) -> str:
        return re.sub(r"`([^`]*)`", r"\1", self.meaning)


CATALOGUE: Tuple[Check, ...] = (
    Check(
        POOL_OVERLAP,
        ERROR,
        "Pool ranges overlap",
        "two ranges (in one pool or two) share addresses: MetalLB rejects its whole configuration and keeps "
        "using the last valid one",
        "make the ranges disjoint",
        "`check_pools`",
    ),
    Check(
        INVALID_POOL_ADDRESS,
        ERROR,
        "Invalid pool address",
        "a pool address that does not parse, a range whose start is after its end, a pool with no addresses",
        "correct the value",
        "`check_pools`",
    ),
    Check(
        INVALID_REQUEST,
        ERROR,
        "Requested address does not parse",
        "an element of `loadBalancerIPs` (or `spec.loadBalancerIP`) that is not an address",
        "list IP addresses separated by commas",
        "`request_parses`",
    ),
    Check(
        TOO_MANY,
        ERROR,
        "Too many addresses requested",
        "more than two addresses, or two of one family",
        "request one address, or one IPv4 and one IPv6 address for a dual-stack service",
        "`request_has_a_family`",
    ),
    Check(
        FAMILY_MISMATCH,
        ERROR,
        "Request's IP family is not the service's",
        "the request's family differs from the service's (from its clusterIPs)",
        "request an address of the service's family: {family}",
        "`family_matches_service`",
        variants={
            "dual-service": "request one IPv4 and one IPv6 address from one pool",
            "dual-request": "request one address, or make the service dual-stack (ipFamilyPolicy: "
            "RequireDualStack or PreferDualStack with ipFamilies IPv4 and IPv6)",
        },
    ),
    Check(
        NOT_IN_POOL,
        ERROR,
        "Requested address in no pool",
        "a requested address in no pool",
        "pick a free address with 'kubectl lbip free'",
        "`pool_for`",
    ),
    Check(
        BUGGY_IP,
        ERROR,
        "Address MetalLB avoids",
        "a `.0`/`.255` address requested from an `avoidBuggyIPs` pool",
        "pick another address of the pool",
        "`pool_for`",
    ),
    Check(
        SPLIT_POOL,
        ERROR,
        "Dual-stack pair from two pools",
        "a pair whose addresses lie in different pools",
        "put both ranges in one IPAddressPool, or pick a pair from one pool with 'kubectl lbip free'",
        "`pool_for`",
    ),
    Check(
        POOL_INCOMPATIBLE,
        ERROR,
        "Pool does not serve the service",
        "the pool's `serviceAllocation` does not admit the service's namespace or labels",
        "pick addresses of a pool that serves this service, or extend the pool's serviceAllocation",
        "`pool_admits_service`",
    ),
    Check(
        ADDRESS_CONFLICT,
        ERROR,
        "Address used by another service",
        "a requested address another service holds (or, in manifests, also requests) and they may not share it "
        "(different or missing `allow-shared-ip` keys, different backends under `externalTrafficPolicy: Local`, "
        "or a common port); a warning where the other only requests it while Pending, or where two services "
        "hold one address",
        "pick a free address, or give both the same allow-shared-ip key and distinct ports",
        "`sharing_allowed`, `check_holdings`",
    ),
    Check(
        POOL_ANNOTATION_MISMATCH,
        ERROR,
        "Address-pool annotation names another pool",
        "the `address-pool` annotation names a missing pool, or another pool than the addresses'",
        "name an existing pool or remove the annotation",
        "`pool_annotation_matches`, `pool_annotation_exists`",
        variants={"other-pool": "pick addresses of {pool}, or change or remove the annotation"},
    ),
    Check(
        BOTH_SPEC_AND_ANNOTATION,
        ERROR,
        "Both spec.loadBalancerIP and the annotation",
        "`spec.loadBalancerIP` and the annotation both set: MetalLB allocates nothing",
        "keep one ('kubectl lbip migrate' or 'annotate --clear-spec-ip')",
        "`one_request_field`",
        variants={"annotate": "add --clear-spec-ip to remove it in the same patch"},
    ),
    Check(
        NO_DUAL_STACK_POOL,
        ERROR,
        "No dual-stack pool",
        "a dual-stack LoadBalancer service exists but no pool has both families",
        "one IPAddressPool with an IPv4 and an IPv6 range",
        "`check_dual_stack_pools`",
        severity_note="error (warning for `PreferDualStack` without a pair)",
    ),
    Check(
        DEPRECATED_ANNOTATION,
        WARNING,
        "Deprecated MetalLB annotation",
        "a `metallb.universe.tf/*` annotation",
        "use {twin} ('kubectl lbip migrate' moves it)",
        "`deprecated_keys`",
    ),
    Check(
        DEPRECATED_LB_IP,
        WARNING,
        "Deprecated spec.loadBalancerIP",
        "`spec.loadBalancerIP` on a LoadBalancer service",
        "use metallb.io/loadBalancerIPs ('kubectl lbip migrate' moves it)",
        "`deprecated_spec_ip`",
    ),
    Check(
        PENDING,
        WARNING,
        "Service has no address",
        "a LoadBalancer service without an address, live (with MetalLB's reason) or in a dump that carries status",
        "'kubectl lbip why {name} -n {namespace}' says what blocks it",
        "`pending`",
        severity_note="error with an `AllocationFailed` event, else warning",
    ),
    Check(
        POOL_EXHAUSTED,
        WARNING,
        "Pool (nearly) exhausted",
        "per pool and family",
        "add a range to the pool",
        "`check_capacity`",
        severity_note="warning under 10% free, error at zero",
        variants={"named": "add a range to the pool, free an address, or name another pool"},
    ),
    Check(
        POOL_USED_HIGH,
        WARNING,
        "Pool used past the threshold",
        "only with `check --warn-used N%`: per pool and family, the used share (as `pools` counts it) is N% or more",
        "add a range to the pool, or free addresses ('kubectl lbip who-has' lists the holders)",
        "`check_capacity`",
    ),
    Check(
        POOL_NOT_ADVERTISED,
        ERROR,
        "Pool not advertised",
        "no L2Advertisement or BGPAdvertisement selects the pool: MetalLB assigns its addresses and nothing "
        "announces them (an advertisement with neither `ipAddressPools` nor `ipAddressPoolSelectors` selects "
        "every pool)",
        "an L2Advertisement or BGPAdvertisement whose ipAddressPools lists {pool}",
        "`announce.check_network`",
        severity_note="error when a service holds an address of the pool, else warning",
    ),
    Check(
        ADV_UNKNOWN_POOL,
        ERROR,
        "Advertisement names a missing pool",
        "an advertisement's `ipAddressPools` names a pool that does not exist (MetalLB ignores it without a word)",
        "name an existing IPAddressPool (kubectl lbip pools)",
        "`announce.check_network`",
    ),
    Check(
        ADV_SELECTS_NO_POOL,
        WARNING,
        "Advertisement selects no pool",
        "an advertisement whose `ipAddressPoolSelectors` (with its `ipAddressPools`) select no existing pool: "
        "it announces nothing",
        "name a pool, or label the pool to match the selector",
        "`announce.check_network`",
    ),
    Check(
        ADV_NO_NODES,
        ERROR,
        "Advertisement selects no node",
        "an advertisement's `nodeSelectors` match no Node, or the cluster has no Node at all (said as such): "
        "no speaker announces through it",
        "correct the selector, or label the nodes that should announce",
        "`announce.check_network`",
        variants={"no-nodes": "join the nodes that should announce to the cluster (a speaker runs on each)"},
    ),
    Check(
        LOCAL_NO_ANNOUNCER,
        ERROR,
        "Local-policy service not announced",
        "an `externalTrafficPolicy: Local` service whose ready endpoints are on no node an advertisement of "
        "its pool selects (or that has none)",
        "run its pods on nodes the advertisement selects, widen the advertisement's nodeSelectors, or use "
        "externalTrafficPolicy: Cluster",
        "`announce.check_network`",
    ),
    Check(
        OVERLAPS_NODE,
        ERROR,
        "Pool holds a node's address",
        "a pool holds a Node's InternalIP or ExternalIP",
        "leave the nodes' addresses out of the pool's ranges",
        "`announce.check_network`",
    ),
    Check(
        OVERLAPS_SERVICE_CIDR,
        ERROR,
        "Pool overlaps a Service CIDR",
        "a pool overlaps a ServiceCIDR's `cidrs`",
        "take the pool's ranges outside the cluster's Service CIDRs",
        "`announce.check_network`",
    ),
    Check(
        OVERLAPS_POD_CIDR,
        ERROR,
        "Pool overlaps a Pod CIDR",
        "a pool overlaps a Node's `podCIDRs`",
        "take the pool's ranges outside the cluster's Pod CIDRs",
        "`announce.check_network`",
    ),
    Check(
        BGP_AGGREGATION,
        ERROR,
        "Invalid BGP aggregation length",
        "a BGPAdvertisement's `aggregationLength`/`aggregationLengthV6` is shorter than the prefix of a pool it "
        "selects (for a range, of the largest CIDR it splits into), longer than the family's, or set beside "
        "`serviceSelectors`: MetalLB rejects its whole configuration",
        "set {field} to {prefix} or longer, or stop selecting pool {pool}",
        "`announce.check_network`",
        variants={
            "too-long": "at most 32 for IPv4, 128 for IPv6",
            "selectors": "drop the aggregation length, or the serviceSelectors (a second advertisement can hold them)",
        },
    ),
    Check(
        CONFIG_INVALID,
        ERROR,
        "MetalLB reports its configuration invalid",
        "a ConfigurationState with `result: Invalid` (MetalLB v0.16 and later); its `errorSummary` is quoted. "
        "`annotate`, `pin` and `free` say it too, as a warning (an error with `--strict`) naming the pools "
        "MetalLB has not loaded",
        "correct the objects it names; until then MetalLB keeps its last valid configuration",
        "`announce.check_network`, `announce.rejected_config`",
    ),
    Check(
        STATUS_DRIFT,
        WARNING,
        "Pool status differs from the services",
        "the pool's status counters (`assignedIPv4`/`assignedIPv6`) differ from the addresses the services hold",
        "look at the controller's logs; 'kubectl lbip who-has' lists the holders",
        "`announce.check_network`",
    ),
)

# `migrate --to cilium`: what cannot be carried over faithfully, per object. An
# error makes the migration exit 1 unless `--accept CODE` names it.
_MIGRATE = "`migrate --to cilium`"
CATALOGUE += (
    Check(
        TO_CILIUM_REFUSED,
        ERROR,
        "Cilium would not keep what MetalLB gave",
        "moving to Cilium, a service would lose an address it holds, or a request MetalLB accepts would fail "
        "under Cilium's rules of the chosen release (the reason is Cilium's)",
        "change the service or the pools so that Cilium accepts it (the reason says what), or accept the move "
        "with --accept to-cilium-refused",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_ACCEPTED,
        WARNING,
        "Cilium would give what MetalLB refuses",
        "moving to Cilium, a service would get an address MetalLB does not give it (a request MetalLB refuses, "
        "such as a dual-stack pair from two pools, several addresses of one family, spec.loadBalancerIP beside "
        "the annotation; or another family)",
        "make sure the service should have it, or change its request before the move",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_PINNED_UNPROTECTED,
        WARNING,
        "Pinned address open to automatic allocation",
        "a service requests an address it does not hold yet, inside a range from which Cilium hands out "
        "addresses automatically to other services: whichever the operator handles first gets it",
        "let MetalLB assign it before the move, or keep the address out of the pools other services draw from",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_OVERLAP,
        ERROR,
        "Cilium pools would overlap",
        "two of the pools made overlap: Cilium marks the newer `cilium.io/PoolConflict` and allocates nothing from it",
        "make the IPAddressPools' ranges disjoint (MetalLB rejects overlapping pools too)",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_INVALID_POOL,
        ERROR,
        "IPAddressPool not carried",
        "an IPAddressPool MetalLB cannot use (an address that does not parse, no addresses): no Cilium pool is "
        "made for it",
        "correct the pool, or delete it",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_AVOID_BUGGY,
        ERROR,
        "avoidBuggyIPs not kept",
        "`avoidBuggyIPs: true` has no Cilium equivalent; the blocks are cut around every .0 and .255 address, "
        "except for a range that would need too many blocks: then Cilium may hand those addresses out",
        "split {pool} into smaller ranges, or accept it with --accept to-cilium-avoid-buggy-ips",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_AUTO_ASSIGN,
        WARNING,
        "autoAssign: false becomes a label",
        "`autoAssign: false` becomes a serviceSelector on the label `kubectl-lbip/pool`, which the services "
        "pinned to the pool get: a new service must carry the label to be served by it",
        "label the services meant for {pool} with kubectl-lbip/pool={pool}",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_SERVICE_SELECTORS,
        WARNING,
        "Several serviceSelectors become a label",
        "a pool's `serviceAllocation.serviceSelectors` lists several selectors (any of them matches), which one "
        "serviceSelector cannot say: the pool selects the label `kubectl-lbip/pool`, which the services it "
        "serves today get",
        "label the services meant for {pool} with kubectl-lbip/pool={pool}, or write one serviceSelector",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_NAMESPACE_SELECTORS,
        WARNING,
        "namespaceSelectors become today's namespaces",
        "`serviceAllocation.namespaceSelectors` become the namespaces they match now (Cilium selects services, "
        "not namespaces)",
        "add a namespace labelled later to the io.kubernetes.service.namespace values of {pool}",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_PRIORITY,
        WARNING,
        "Pool priority has no equivalent",
        "`serviceAllocation.priority` has no Cilium equivalent: where several pools serve a new service, Cilium "
        "tries them in an order the objects do not show",
        "make the pools' selectors disjoint, or pin the services that must come from {pool}",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_ADV_POOLS,
        WARNING,
        "Advertisement's pools become a label",
        "an L2Advertisement or BGPAdvertisement that selects some pools becomes a policy selecting the services "
        "labelled `kubectl-lbip/pool` with those pools: a new service is announced only with that label",
        "label new services with kubectl-lbip/pool=POOL",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_ADV_SELECTORS,
        ERROR,
        "Several selectors where Cilium takes one",
        "an advertisement's `nodeSelectors` or `serviceSelectors` list several selectors (any of them); "
        "Cilium's policy takes one: only the first is carried",
        "write one selector in the advertisement, or accept it with --accept to-cilium-advertisement-selectors",
        _MIGRATE,
    ),
    Check(
        TO_CILIUM_BGP,
        WARNING,
        "BGP carried in part",
        "a BGPAdvertisement becomes a CiliumBGPAdvertisement of the services' addresses (Cilium v1.16 and "
        "later); peers, aggregation lengths, communities and localPref are not carried, and BGP peering "
        "(CiliumBGPClusterConfig, CiliumBGPPeerConfig) is out of scope",
        "write Cilium's BGP peering by hand before MetalLB's speakers stop",
        _MIGRATE,
        severity_note="warning (an error with Cilium v1.15, which has no CiliumBGPAdvertisement)",
    ),
)

BY_CODE: Dict[str, Check] = {c.code: c for c in CATALOGUE}


def fix_text(code: str, variant: str = "", **specifics: object) -> str:
    """The fix of a code (or of one of its named cases), its placeholders filled in."""
    check = BY_CODE[code]
    template = check.variants[variant] if variant else check.fix
    return template.format(**specifics)


def fixed(code: str, detail: str, variant: str = "", **specifics: object) -> str:
    """A finding's message: what is wrong (ending in its own punctuation), then the
    catalogue's fix."""
    return f"{detail} Fix: {fix_text(code, variant, **specifics)}"

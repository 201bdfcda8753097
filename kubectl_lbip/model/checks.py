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
# Cilium LB-IPAM (model/cilium_checks.py): its condition reasons, then what it
# accepts but an operator should hear, then two implementations in one cluster.
CILIUM_NO_POOL = "cilium-no-pool"
CILIUM_SELECTOR_MISMATCH = "cilium-pool-selector-mismatch"
CILIUM_ALREADY_ALLOCATED = "cilium-already-allocated"
CILIUM_INCOMPATIBLE = "cilium-incompatible-service"
CILIUM_OUT_OF_IPS = "cilium-out-of-ips"
CILIUM_POOL_CONFLICT = "cilium-pool-conflict"
CILIUM_DISABLED_IN_USE = "cilium-disabled-pool-in-use"
CILIUM_PIN_IN_AUTO_RANGE = "cilium-pin-in-auto-range"
CILIUM_KEY_IGNORED = "cilium-annotation-ignored"
CILIUM_ADDRESS_STRIPPED = "cilium-address-stripped"
CLASS_UNSERVED = "load-balancer-class-unserved"
SERVED_BY_BOTH = "served-by-both"
MIXED_ANNOTATIONS = "mixed-implementation-annotations"
# What other commands refuse or warn about, outside `check` (``Check.commands``).
NOT_LOAD_BALANCER = "not-loadbalancer"
ANNOTATION_EXISTS = "annotation-exists"
NO_FREE_ADDRESS = "no-free-address"
VALUE_CHANGED = "value-changed"
ADDRESS_MOVES = "address-moves"
CILIUM_SPEC_AND_ANNOTATION = "cilium-spec-and-annotation"

CHECK = "check"

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
TO_CILIUM_EXISTING_POOLS = "to-cilium-existing-pools"

# `migrate --to metallb`'s lossy points (model/tometallb.py).
TO_METALLB_REFUSED = "to-metallb-refused"
TO_METALLB_ACCEPTED = "to-metallb-accepted"
TO_METALLB_CLASS = "to-metallb-class"
TO_METALLB_INVALID_POOL = "to-metallb-invalid-pool"
TO_METALLB_DISABLED = "to-metallb-disabled-pool"
TO_METALLB_SELECTOR = "to-metallb-service-selector"
TO_METALLB_ADVERTISEMENT = "to-metallb-announcement"
TO_METALLB_EXISTING_POOLS = "to-metallb-existing-pools"

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
    "current": "its lbipam.cilium.io/ twin",
    "alias": "its io.cilium/lb-ipam- twin",
    "ignored": "other implementation's",
    "held": "the address it holds",
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
    # The commands that report it: `check` (its --list, SARIF's rules), or others only.
    commands: Tuple[str, ...] = (CHECK,)

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
        "a pool address that does not parse, a range whose start is after its end, a pool with no addresses; "
        "for Cilium, a block or `serviceSelector` it cannot use: the operator keeps no part of that pool",
        "correct the value",
        "`check_pools`, `cilium_checks.check_pools`",
    ),
    Check(
        INVALID_REQUEST,
        ERROR,
        "Requested address does not parse",
        "an element of `loadBalancerIPs` (or `spec.loadBalancerIP`) that is not an address; Cilium drops such an "
        "element of `lbipam.cilium.io/ips` and uses the rest (none left: an automatic address)",
        "list IP addresses separated by commas",
        "`request_parses`, `cilium_checks.check_request`",
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
        "a `metallb.universe.tf/*` annotation; an `io.cilium/lb-ipam-*` key where the Cilium release reads "
        "`lbipam.cilium.io/*` (v1.16 and later: the old key is an alias read only when the new one is absent)",
        "use {twin} ('kubectl lbip migrate' moves it)",
        "`deprecated_keys`, `cilium_checks.deprecated_keys`",
        variants={"cilium": "use {current} instead"},
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
        "a LoadBalancer service without an address, live (with MetalLB's reason, or Cilium's "
        "`cilium.io/IPAMRequestSatisfied` condition) or in a dump that carries status",
        "'kubectl lbip why {name} -n {namespace}' says what blocks it",
        "`pending`, `cilium_checks.pending`",
        severity_note="error with an `AllocationFailed` event or a false `IPAMRequestSatisfied` condition, "
        "else warning",
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
        "only with `check --warn-used N%`: per pool and family, the used share (as `pools` counts it; for Cilium, as "
        "its `cilium.io/IPsUsed` does, reserved first/last addresses included) is N% or more",
        "add a range to the pool, or free addresses ('kubectl lbip who-has' lists the holders)",
        "`check_capacity`, `cilium_checks.used_high`",
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
        "the pool's status counters (`assignedIPv4`/`assignedIPv6`) differ from the addresses the services hold; "
        "for Cilium, the pool's `cilium.io/IPsTotal`, `IPsAvailable`, `IPsUsed` or `PoolConflict` condition differs "
        "from what its rules give for these objects",
        "look at the controller's logs; 'kubectl lbip who-has' lists the holders",
        "`announce.check_network`, `cilium_checks.status_drift`",
    ),
    Check(
        CILIUM_NO_POOL,
        ERROR,
        "Cilium: no pool for the request",
        "Cilium's `no_pool`: a requested address that no enabled pool holds (an address of a disabled pool, or of "
        "a pool marked `cilium.io/PoolConflict`, counts as none), or no enabled pool selects a service that "
        "requests no address",
        "pick a free address of a pool that selects the service ('kubectl lbip free'), or add a pool whose "
        "serviceSelector matches it",
        "`cilium_checks.check_request`",
    ),
    Check(
        CILIUM_SELECTOR_MISMATCH,
        ERROR,
        "Cilium: the address's pool does not select the service",
        "Cilium's `pool_selector_mismatch`: the requested address lies in an enabled pool whose `serviceSelector` "
        "does not match the service (its labels, `io.kubernetes.service.namespace` and `io.kubernetes.service.name`)",
        "label the service to match pool {pool}'s serviceSelector, or pick an address of a pool that selects it",
        "`cilium_checks.check_request`",
    ),
    Check(
        CILIUM_ALREADY_ALLOCATED,
        ERROR,
        "Cilium: address already allocated",
        "Cilium's `already_allocated`: another service holds the requested address and this one has no sharing "
        "key, or it is the reserved first or last address of a `cidr` block (`allowFirstLastIPs: No`; v1.15: "
        "unless `Yes`); in manifests, two services request one address they may not share (the first one Cilium "
        "handles gets it); a warning where Cilium's outcome cannot be predicted",
        "pick a free address ('kubectl lbip free'), or give both services the same lbipam.cilium.io/sharing-key",
        "`cilium_checks.check_request`, `cilium_checks.requested_twice`",
        variants={"reserved": "pick an address that is not the first or last of the cidr block"},
    ),
    Check(
        CILIUM_INCOMPATIBLE,
        ERROR,
        "Cilium: sharing refused",
        "Cilium's `already_allocated_incompatible_service` (up to v1.16 `already_allocated_different_sharing_key`): "
        "the services on the address have a sharing key but may not share it (another key, another namespace "
        "without `sharing-cross-namespace` consent on both sides, a common port, another `externalTrafficPolicy`, "
        "or `Local` with other pods)",
        "make the services compatible (the message names the reason), or pick a free address",
        "`cilium_checks.check_request`, `cilium_checks.requested_twice`",
    ),
    Check(
        CILIUM_OUT_OF_IPS,
        ERROR,
        "Cilium: matching pools are full",
        "Cilium's `out_of_ips`: every enabled pool that selects a service requesting no address is full",
        "add a block to a pool that selects the service, or free an address ('kubectl lbip who-has' lists the holders)",
        "`cilium_checks.check_request`",
    ),
    Check(
        CILIUM_POOL_CONFLICT,
        ERROR,
        "Cilium: pool disabled by an overlap",
        "a pool overlaps an older pool (or its own blocks overlap): Cilium marks the newer one "
        "`cilium.io/PoolConflict` and allocates nothing from any of its blocks, while the other pools work; a "
        "warning where the operator's map order decides which pool is marked",
        "make the pool's blocks disjoint from pool {pool}'s",
        "`cilium_checks.check_pools`",
    ),
    Check(
        CILIUM_DISABLED_IN_USE,
        WARNING,
        "Cilium: disabled pool still in use",
        "a pool with `spec.disabled: true` whose addresses services still hold: they keep them while the operator "
        "runs, and lose them (to a new address from another pool) when it restarts",
        "move the services to addresses of an enabled pool, or set disabled: false",
        "`cilium_checks.check_pools`",
    ),
    Check(
        CILIUM_PIN_IN_AUTO_RANGE,
        WARNING,
        "Cilium: pinned address in a pool that also hands out addresses",
        "a requested address lies in a pool that also gives automatic addresses to services that request none "
        "(or to any service: no `serviceSelector`); Cilium has no `autoAssign: false`, so another service may take "
        "it first (before the request is applied, or when the service is recreated)",
        "keep pinned addresses in a pool whose serviceSelector selects only the services that pin them (a label "
        "they carry, or io.kubernetes.service.name)",
        "`cilium_checks.pins_in_auto_ranges`",
    ),
    Check(
        CILIUM_KEY_IGNORED,
        ERROR,
        "Cilium: annotation key the release does not read",
        "an `lbipam.cilium.io/*` key on Cilium v1.15, which reads only `io.cilium/lb-ipam-*`: the request or "
        "sharing key is ignored",
        "use {alias} for this release",
        "`cilium_checks.deprecated_keys`",
        variants={"cross": "share within one namespace, or upgrade Cilium to v1.16 or later"},
    ),
    Check(
        CILIUM_ADDRESS_STRIPPED,
        WARNING,
        "Cilium: address the operator would remove",
        "the service's status shows an address Cilium did not allocate and would not adopt (not requested, of a "
        "family it does not ask for, in no enabled pool that selects it, or held by a service it may not share "
        "with): another controller wrote it, or the operator has not run since",
        "see which controller writes the service's status (served-by-both); 'kubectl lbip why {name} -n "
        "{namespace}' shows Cilium's view",
        "`cilium_checks.check_holdings`",
    ),
    Check(
        CLASS_UNSERVED,
        WARNING,
        "No installed implementation serves the service",
        "a LoadBalancer service whose `loadBalancerClass` (or lack of one) no installed implementation serves "
        "(MetalLB: none, or its `--lb-class`; Cilium: none unless `--default-lb-service-ipam` says otherwise, "
        "`io.cilium/l2-announcer` and `io.cilium/bgp-control-plane` with those features on): it stays Pending",
        "set spec.loadBalancerClass to a class an installed implementation serves, or remove it",
        "`cilium_checks.implementations`",
    ),
    Check(
        SERVED_BY_BOTH,
        ERROR,
        "Served by MetalLB and Cilium at once",
        "MetalLB and Cilium LB-IPAM both serve the service (both take services without `loadBalancerClass` by "
        "default): two controllers write one `status.loadBalancer`, and its address changes or never settles",
        "give the service a loadBalancerClass only one of them serves, or run MetalLB with --lb-class (Cilium "
        "v1.17 and later: --default-lb-service-ipam=none)",
        "`cilium_checks.implementations`",
    ),
    Check(
        MIXED_ANNOTATIONS,
        WARNING,
        "MetalLB and Cilium annotations on one service",
        "the service carries `metallb.io/*` (or `metallb.universe.tf/*`) and Cilium `lbipam.cilium.io/*` (or "
        "`io.cilium/lb-ipam-*`) keys: a half-done migration; the implementation that serves it ignores the other's",
        "remove the {ignored} keys: the implementation that serves it ignores them",
        "`cilium_checks.implementations`",
    ),
    Check(
        NOT_LOAD_BALANCER,
        ERROR,
        "Not a LoadBalancer service MetalLB serves",
        "`annotate` refuses (`why` and `probe` stop with exit 2): the service is not `type: LoadBalancer`, or its "
        "`loadBalancerClass` names another implementation",
        "set spec.type: LoadBalancer",
        "`not_load_balancer`",
        commands=("annotate", "why", "probe"),
    ),
    Check(
        ANNOTATION_EXISTS,
        ERROR,
        "Another request is already set",
        "`annotate` refuses: the service's `metallb.io/loadBalancerIPs` already holds another value",
        "add --overwrite to replace it",
        "`annotate.plan`",
        commands=("annotate",),
    ),
    Check(
        CILIUM_SPEC_AND_ANNOTATION,
        WARNING,
        "Cilium requests spec.loadBalancerIP too",
        "`annotate` warns (Cilium LB-IPAM): `spec.loadBalancerIP` is set, and Cilium merges it with the "
        "annotation's addresses, so the service requests both",
        "add --clear-spec-ip to request only the annotation's addresses",
        "`cilium_plans.plan`",
        commands=("annotate",),
    ),
    Check(
        NO_FREE_ADDRESS,
        ERROR,
        "No free address fits the service",
        "`annotate --auto` refuses: no pool that serves the service has a free address it may take",
        "'kubectl lbip free --for {name} -n {namespace}' says why",
        "`annotate.plan`",
        commands=("annotate",),
    ),
    Check(
        VALUE_CHANGED,
        ERROR,
        "The service changed while it was written",
        "`annotate --overwrite` stops: after a conflict, another writer had changed a value it would replace "
        "(nothing was written)",
        "run again to overwrite the new value",
        "annotate's write (`commands/annotate.py`)",
        commands=("annotate",),
    ),
    Check(
        ADDRESS_MOVES,
        WARNING,
        "The service will move to its request",
        "`migrate` warns: the service holds other addresses than it requests; once the request is under "
        "`metallb.io/loadBalancerIPs`, MetalLB moves the service to it when it next reconciles",
        "request {held} instead if the service must keep it",
        "`migrate.recheck`",
        commands=("migrate",),
    ),
)

# `migrate --to cilium`: what cannot be carried over faithfully, per object. An
# error makes the migration exit 1 unless `--accept CODE` names it.
_MIGRATE = "`migrate --to cilium`"
_MIGRATE_ONLY = ("migrate",)  # not check's: not in `check --list` nor SARIF's rules
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
        commands=_MIGRATE_ONLY,
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
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_PINNED_UNPROTECTED,
        WARNING,
        "Pinned address open to automatic allocation",
        "a service requests an address it does not hold yet, inside a range from which Cilium hands out "
        "addresses automatically to other services: whichever the operator handles first gets it",
        "let MetalLB assign it before the move, or keep the address out of the pools other services draw from",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_OVERLAP,
        ERROR,
        "Cilium pools would overlap",
        "two of the pools made overlap: Cilium marks the newer `cilium.io/PoolConflict` and allocates nothing from it",
        "make the IPAddressPools' ranges disjoint (MetalLB rejects overlapping pools too)",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_INVALID_POOL,
        ERROR,
        "IPAddressPool not carried",
        "an IPAddressPool MetalLB cannot use (an address that does not parse, no addresses): no Cilium pool is "
        "made for it",
        "correct the pool, or delete it",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_AVOID_BUGGY,
        ERROR,
        "avoidBuggyIPs not kept",
        "`avoidBuggyIPs: true` has no Cilium equivalent; the blocks are cut around every .0 and .255 address, "
        "except for a range that would need too many blocks: then Cilium may hand those addresses out",
        "split {pool} into smaller ranges, or accept it with --accept to-cilium-avoid-buggy-ips",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_AUTO_ASSIGN,
        WARNING,
        "autoAssign: false becomes a label",
        "`autoAssign: false` becomes a serviceSelector on the label `kubectl-lbip/pool`, which the services "
        "pinned to the pool get: a new service must carry the label to be served by it",
        "label the services meant for {pool} with kubectl-lbip/pool={pool}",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
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
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_NAMESPACE_SELECTORS,
        WARNING,
        "namespaceSelectors become today's namespaces",
        "`serviceAllocation.namespaceSelectors` become the namespaces they match now (Cilium selects services, "
        "not namespaces)",
        "add a namespace labelled later to the io.kubernetes.service.namespace values of {pool}",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_PRIORITY,
        WARNING,
        "Pool priority has no equivalent",
        "`serviceAllocation.priority` has no Cilium equivalent: where several pools serve a new service, Cilium "
        "tries them in an order the objects do not show",
        "make the pools' selectors disjoint, or pin the services that must come from {pool}",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_ADV_POOLS,
        WARNING,
        "Advertisement's pools become a label",
        "an L2Advertisement or BGPAdvertisement that selects some pools becomes a policy selecting the services "
        "labelled `kubectl-lbip/pool` with those pools: a new service is announced only with that label",
        "label new services with kubectl-lbip/pool=POOL",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_CILIUM_ADV_SELECTORS,
        ERROR,
        "Several selectors where Cilium takes one",
        "an advertisement's `nodeSelectors` or `serviceSelectors` list several selectors (any of them); "
        "Cilium's policy takes one: only the first is carried",
        "write one selector in the advertisement, or accept it with --accept to-cilium-advertisement-selectors",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
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
        commands=_MIGRATE_ONLY,
        severity_note="warning (an error with Cilium v1.15, whose BGP control plane reads no CiliumBGPAdvertisement)",
    ),
    Check(
        TO_CILIUM_EXISTING_POOLS,
        WARNING,
        "Cilium pools exist already",
        "CiliumLoadBalancerIPPools other than those the plan makes exist already: where Cilium's operator runs, its "
        "LB-IPAM is awake and serves services beside MetalLB (two controllers on one status); the proof counts "
        "them as older than the pools it makes",
        "delete them before the move, or make sure they select no service MetalLB serves",
        _MIGRATE,
        commands=_MIGRATE_ONLY,
    ),
)

# `migrate --to metallb`, the way back: what cannot be carried back faithfully.
_BACK = "`migrate --to metallb`"
CATALOGUE += (
    Check(
        TO_METALLB_REFUSED,
        ERROR,
        "MetalLB would not keep what Cilium gave",
        "moving back to MetalLB, a service would lose an address it holds: MetalLB's rules of the chosen release "
        "refuse what it holds (a dual-stack pair from two pools, several addresses of one family, a pool that "
        "does not admit it, a sharing MetalLB forbids), or it requests other addresses than it holds",
        "change the service or the pools so that MetalLB accepts it (the reason says what), or accept the move "
        "with --accept to-metallb-refused",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_METALLB_ACCEPTED,
        WARNING,
        "MetalLB would give what Cilium does not",
        "moving back to MetalLB, a service that holds nothing under Cilium would get an address (MetalLB accepts "
        "its request, or picks one for it)",
        "make sure the service should have it, or change its request before the move",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_METALLB_CLASS,
        ERROR,
        "a loadBalancerClass MetalLB does not serve",
        "a service Cilium serves through its loadBalancerClass (`io.cilium/l2-announcer`, "
        "`io.cilium/bgp-control-plane`): MetalLB, run without `--lb-class`, ignores it, and a service's class "
        "cannot change",
        "recreate the service without loadBalancerClass, pinned to its address with metallb.io/loadBalancerIPs, "
        "or accept it with --accept to-metallb-class",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_METALLB_INVALID_POOL,
        WARNING,
        "CiliumLoadBalancerIPPool not carried",
        "a pool Cilium cannot use (a block that does not parse, no blocks) or marks as conflicting (its range "
        "overlaps an older pool's): Cilium hands out none of it, and an overlap would make MetalLB reject its "
        "whole configuration, so no IPAddressPool is made for it",
        "correct the pool, or delete it",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_METALLB_DISABLED,
        WARNING,
        "disabled pool as autoAssign: false",
        "a CiliumLoadBalancerIPPool with `disabled: true` becomes an IPAddressPool with `autoAssign: false`: "
        "MetalLB still gives its addresses to a service that names them, where Cilium gives none",
        "delete the pool before the move if no service should get its addresses",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_METALLB_SELECTOR,
        WARNING,
        "serviceSelector carried in part",
        "a term of a pool's `serviceSelector` MetalLB's `serviceAllocation` cannot say (the "
        "`io.kubernetes.service.name` pseudo-label; `NotIn`, `Exists` or `DoesNotExist` on "
        "`io.kubernetes.service.namespace`) is left out: the pool serves more services",
        "label the services the pool should serve, and select that label",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_METALLB_ADVERTISEMENT,
        WARNING,
        "announcement policy carried in part",
        "a CiliumL2AnnouncementPolicy selects services and an L2Advertisement pools: it announces the pools its "
        "services' addresses lie in (other services of those pools too); interface patterns other than one "
        "anchored name, and a policy that announces no load-balancer address, are not carried",
        "review the L2Advertisement; give the services a policy announces a pool of their own",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
    Check(
        TO_METALLB_EXISTING_POOLS,
        WARNING,
        "MetalLB pools exist already",
        "IPAddressPools exist already: where MetalLB's controller runs, it serves services beside Cilium (two "
        "controllers on one status); the proof counts them",
        "delete them before the move, or make sure MetalLB's controller is not running",
        _BACK,
        commands=_MIGRATE_ONLY,
    ),
)

BY_CODE: Dict[str, Check] = {c.code: c for c in CATALOGUE}
# The codes `check` reports: its --list page and SARIF's rules.
CHECKED: Tuple[Check, ...] = tuple(c for c in CATALOGUE if CHECK in c.commands)


def fix_text(code: str, variant: str = "", **specifics: object) -> str:
    """The fix of a code (or of one of its named cases), its placeholders filled in."""
    check = BY_CODE[code]
    template = check.variants[variant] if variant else check.fix
    return template.format(**specifics)


def fixed(code: str, detail: str, variant: str = "", **specifics: object) -> str:
    """A finding's message: what is wrong (ending in its own punctuation), then the
    catalogue's fix."""
    return f"{detail} Fix: {fix_text(code, variant, **specifics)}"

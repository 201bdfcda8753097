"""Free addresses, suggestions MetalLB will accept, and MetalLB's own pick.

Nothing here enumerates a range: walks start at a range's first address and step
over the used addresses found by bisection in the usage index, so the cost grows
with the number of services and the number of answers, not with pool size."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from .addresses import DUAL, FAMILIES, IPV4, IPV6, is_buggy, to_text
from .cluster import Cluster
from .metallb import full_pool_message, single_stack_follows_cluster_ip
from .pools import Pool
from .rules import check_request, make_request, sharing_conflict
from .services import ASSIGNED, Service

FREE, SHARED, BLOCKED = "free", "shared", "blocked"


def address_state(cluster: Cluster, family: str, value: int, target: Optional[Service], held_only: bool = False) -> str:
    """Free, shareable with the target, or blocked, for one used-or-not address."""
    uses = cluster.index.uses(family, value)
    others = {
        u.service.key: u.service
        for u in uses
        if (u.how == ASSIGNED if held_only else u.claims) and (target is None or u.service.key != target.key)
    }
    if not others:
        return FREE
    if target is None or not target.sharing_key:
        return BLOCKED
    if all(sharing_conflict(target, other) is None for other in others.values()):
        return SHARED
    return BLOCKED


def _next_with_octet(value: int, octets: List[int]) -> int:
    low = value & 0xFF
    i = bisect.bisect_left(octets, low)
    if i < len(octets):
        return (value & ~0xFF) | octets[i]
    return (((value >> 8) + 1) << 8) | octets[0]


def walk_available(
    cluster: Cluster,
    pool: Pool,
    family: str,
    target: Optional[Service] = None,
    *,
    exclude: Iterable[int] = (),
    listed_order: bool = False,
    held_only: bool = False,
    include_shared: bool = False,
    octets: Optional[List[int]] = None,
) -> Iterator[Tuple[int, bool]]:
    """Addresses of a pool's family the target could take, lowest first (or range by
    range in listed order, as MetalLB walks), as (value, shared). ``octets`` (a
    sorted list the caller may shrink) limits IPv4 to those last octets."""
    exclude = set(exclude)
    intervals = pool.intervals_of(family)
    if not listed_order:
        intervals = sorted(intervals)
    # A target that shares with nobody and uses nothing of this family finds every
    # used address blocked: a run of consecutive used addresses is then skipped at
    # once, so a walk costs log(used) per run instead of one step per used address
    # (pin decides services one after another over a growing index).
    blocked_runs = target is None or (not target.sharing_key and not _uses_family(target, family))
    for iv in intervals:
        used = cluster.index.used_in(iv, held_only)
        j = 0
        value = iv.first
        while value <= iv.last:
            if octets is not None:
                if not octets:
                    return
                value = _next_with_octet(value, octets)
                if value > iv.last:
                    break
            j = bisect.bisect_left(used, value, j)
            shared = False
            if j < len(used) and used[j] == value:
                if blocked_runs:
                    value = _end_of_run(used, j) + 1
                    continue
                state = address_state(cluster, family, value, target, held_only)
                if state == BLOCKED or (state == SHARED and not include_shared):
                    value += 1
                    continue
                shared = state == SHARED
            if (pool.avoid_buggy_ips and is_buggy(family, value)) or value in exclude:
                value += 1
                continue
            yield value, shared
            value += 1


def _uses_family(target: Service, family: str) -> bool:
    addresses = list(target.held()) + [a for r in target.requests() for a in r.addresses]
    return any((IPV4 if a.version == 4 else IPV6) == family for a in addresses)


def _end_of_run(used: List[int], j: int) -> int:
    """The last value of the run of consecutive integers starting at used[j]
    (used is strictly increasing, so used[m] - used[j] == m - j exactly on the run)."""
    lo, hi = j, len(used) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if used[mid] - used[j] == mid - j:
            lo = mid
        else:
            hi = mid - 1
    return used[lo]


def first_available(cluster, pool, family, target, **kw) -> Optional[int]:
    for value, _ in walk_available(cluster, pool, family, target, **kw):
        return value
    return None


def take(iterator, n: int) -> list:
    out: list = []
    for item in iterator:
        if len(out) >= n:
            break
        out.append(item)
    return out


def shareable_addresses(cluster: Cluster, pool: Pool, family: str, target: Service) -> List[int]:
    """Used addresses of the pool that the target may share (same key, same backend
    key, no common port), ascending."""
    out = []
    for iv in sorted(pool.intervals_of(family)):
        for value in cluster.index.used_in(iv):
            if pool.avoid_buggy_ips and is_buggy(family, value):
                continue
            if address_state(cluster, family, value, target) == SHARED:
                out.append(value)
    return out


def matching_v6_low(octet: int) -> int:
    """fd00::150 'reads the same' as 192.168.1.150: the decimal octet read as hex."""
    return int(str(octet), 16)


def _first_match_v6(cluster, pool, target, low16: int, taken: set) -> Optional[int]:
    for iv in sorted(pool.intervals_of(IPV6)):
        candidate = (iv.first & ~0xFFFF) | low16
        if candidate < iv.first:
            candidate += 0x10000
        while candidate <= iv.last:
            if candidate not in taken and address_state(cluster, IPV6, candidate, target) == FREE:
                return candidate
            candidate += 0x10000
    return None


CURRENT_TIER, SHARED_TIER, MATCHED_TIER, LOWEST_TIER = 0, 1, 2, 3
TIER_WORDS = {CURRENT_TIER: "current", SHARED_TIER: "shared", MATCHED_TIER: "matching", LOWEST_TIER: "lowest"}


@dataclass(frozen=True)
class Suggestion:
    pool: str
    ipv4: Optional[str]
    ipv6: Optional[str]
    tier: int = LOWEST_TIER
    rank: Tuple[int, ...] = ()

    @property
    def addresses(self) -> List[str]:
        return [a for a in (self.ipv4, self.ipv6) if a]

    @property
    def why(self) -> str:
        return TIER_WORDS[self.tier]

    def to_dict(self) -> dict:
        return {"pool": self.pool, "ipv4": self.ipv4, "ipv6": self.ipv6, "why": self.why}


def _own_addresses(target: Optional[Service], pool: Pool, family: str) -> Dict[str, int]:
    """What the target already holds (else requests) in this pool: suggesting it
    first means pinning a service never moves it."""
    if target is None:
        return {}
    held = target.held() or [a for r in target.requests() for a in r.addresses]
    own: Dict[str, int] = {}
    for addr in held:
        fam = IPV4 if addr.version == 4 else IPV6
        if (family == DUAL or fam == family) and pool.allocatable(fam, int(addr)):
            own.setdefault(fam, int(addr))
    return own


def _suggest_in_pool(cluster, pool, family, target, count) -> List[Suggestion]:
    def make(v4, v6, tier, shared=0):
        return Suggestion(
            pool.name,
            to_text(IPV4, v4) if v4 is not None else None,
            to_text(IPV6, v6) if v6 is not None else None,
            tier,
            (tier, -shared, v4 if v4 is not None else -1, v6 if v6 is not None else -1),
        )

    def single(v, tier):
        return make(v, None, tier) if family == IPV4 else make(None, v, tier)

    sharing = target is not None and bool(target.sharing_key)
    out: List[Suggestion] = []
    own = _own_addresses(target, pool, family)
    if family in (IPV4, IPV6):
        if family in own:
            out.append(single(own[family], CURRENT_TIER))
        if sharing:
            out += [single(v, SHARED_TIER) for v in shareable_addresses(cluster, pool, family, target)[:count]]
        out += [single(v, LOWEST_TIER) for v, _ in take(walk_available(cluster, pool, family, target), count)]
        return out

    if len(own) == 2:
        out.append(make(own[IPV4], own[IPV6], CURRENT_TIER))
    free4 = [v for v, _ in take(walk_available(cluster, pool, IPV4, target), count)]
    free6 = [v for v, _ in take(walk_available(cluster, pool, IPV6, target), count)]
    if sharing:
        s4 = shareable_addresses(cluster, pool, IPV4, target)[:count]
        s6 = shareable_addresses(cluster, pool, IPV6, target)[:count]
        out += [
            make(a, b, SHARED_TIER, (a in s4) + (b in s6)) for a in s4 + free4 for b in s6 + free6 if a in s4 or b in s6
        ]

    # Matched pairs: walk free IPv4 addresses, only through last octets that still
    # have a free IPv6 twin, so a large pool with few twins costs no long walk.
    twins: Dict[int, int] = {}
    taken6: set = set()
    for octet in range(256):
        match = _first_match_v6(cluster, pool, target, matching_v6_low(octet), taken6)
        if match is not None:
            twins[octet] = match
    octets = sorted(o for o in twins if not (pool.avoid_buggy_ips and o in (0, 255)))
    matched: List[Tuple[int, int]] = []
    for v4, _ in walk_available(cluster, pool, IPV4, target, octets=octets):
        if len(matched) >= count:
            break
        octet = v4 & 0xFF
        v6 = twins[octet]
        matched.append((v4, v6))
        taken6.add(v6)
        nxt = _first_match_v6(cluster, pool, target, matching_v6_low(octet), taken6)
        if nxt is None:
            del twins[octet]
            octets.remove(octet)
        else:
            twins[octet] = nxt
    out += [make(a, b, MATCHED_TIER) for a, b in matched]

    used4 = {a for a, _ in matched}
    used6 = {b for _, b in matched}
    plain4 = [v for v, _ in take(walk_available(cluster, pool, IPV4, target, exclude=used4), count)]
    plain6 = [v for v, _ in take(walk_available(cluster, pool, IPV6, target, exclude=used6), count)]
    out += [make(a, b, LOWEST_TIER) for a, b in zip(plain4, plain6)]
    return out


@dataclass
class SuggestResult:
    suggestions: List[Suggestion]
    pools: List[Pool]  # the pools considered
    excluded: List[Tuple[Pool, str]] = field(default_factory=list)  # left out, and why
    notes: List[str] = field(default_factory=list)


def eligible_pools(cluster: Cluster, target: Optional[Service], pool_name: Optional[str] = None):
    pools, excluded = [], []
    for pool in cluster.pools:
        if pool_name and pool.name != pool_name:
            continue
        if not pool.valid:
            excluded.append((pool, "invalid: " + "; ".join(pool.errors)))
        elif target is not None and not pool.admits(target.namespace, target.labels):
            excluded.append((pool, pool.why_not_admitted(target.namespace, target.labels)))
        elif target is not None and target.pool_annotation and target.pool_annotation != pool.name:
            excluded.append((pool, f"the service's address-pool annotation names {target.pool_annotation}"))
        else:
            pools.append(pool)
    return pools, excluded


def suggest(
    cluster: Cluster, family: str, count: int, target: Optional[Service] = None, pool_name: Optional[str] = None
) -> SuggestResult:
    """Up to ``count`` suggestions, each checked by the rule engine as a request of
    the target (or of a service of that family that shares nothing)."""
    pools, excluded = eligible_pools(cluster, target, pool_name)
    result = SuggestResult([], pools, excluded)
    if family == DUAL:
        duals = [p for p in pools if len(p.families()) == 2]
        if not duals:
            v4 = [p.name for p in pools if IPV4 in p.families()]
            v6 = [p.name for p in pools if IPV6 in p.families()]
            result.notes.append(
                "no pool holds both IPv4 and IPv6 ranges, and MetalLB takes both addresses of a "
                f"dual-stack service from one pool (IPv4 pools: {', '.join(v4) or 'none'}; IPv6 "
                f"pools: {', '.join(v6) or 'none'}). Fix: put an IPv4 and an IPv6 range in one "
                "IPAddressPool"
            )
            return result
        pools = duals
    judge = target or Service(
        namespace="",
        name="",
        ip_family_policy=("RequireDualStack" if family == DUAL else "SingleStack"),
        ip_families=("IPv6",) if family == IPV6 else (),
    )
    candidates: List[Suggestion] = []
    for pool in pools:
        if family != DUAL and family not in pool.families():
            continue
        candidates += _suggest_in_pool(cluster, pool, family, target, count)
    # What the service holds first (pinning never moves it), then MetalLB's own order
    # of the pools for it (priority, namespace and service selectors), then the rest.
    order = preference(cluster, target)
    candidates.sort(key=lambda s: (s.tier != CURRENT_TIER, order.get(s.pool, len(cluster.pools)), s.rank, s.pool))
    seen: set = set()
    for cand in candidates:
        if len(result.suggestions) >= count:
            break
        if seen & set(cand.addresses):
            continue
        verdict = check_request(cluster, judge, make_request(cand.addresses), check_admission=target is not None)
        if not verdict.accepted:
            continue
        seen.update(cand.addresses)
        result.suggestions.append(cand)
    return result


@dataclass
class Pick:
    """What MetalLB's controller would give a service that requests nothing."""

    pools: List[str]
    ipv4: Optional[str] = None
    ipv6: Optional[str] = None
    note: str = ""
    candidates: List[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "pools": self.pools,
            "ipv4": self.ipv4,
            "ipv6": self.ipv6,
            "candidates": self.candidates,
            "note": self.note,
        }


def _offer(cluster, pool, target) -> Dict[str, Optional[int]]:
    # MetalLB's getFreeIPsFromPool: per family, the first usable address walking
    # the ranges as listed; only addresses MetalLB has assigned count as taken.
    return {
        f: first_available(cluster, pool, f, target, listed_order=True, held_only=True, include_shared=True)
        if f in pool.families()
        else None
        for f in FAMILIES
    }


def _select(offer, family: str, policy: str) -> Optional[Dict[str, Optional[int]]]:
    if family in (IPV4, IPV6):
        return {family: offer[family]} if offer[family] is not None else None
    if offer[IPV4] is not None and offer[IPV6] is not None:
        return dict(offer)
    if policy == "PreferDualStack":
        for fam in FAMILIES:
            if offer[fam] is not None:
                return {fam: offer[fam]}
    return None


def _priority_tiers(pools: List[Pool]) -> List[List[Pool]]:
    by_priority: Dict[int, List[Pool]] = {}
    for pool in pools:
        by_priority.setdefault(pool.allocation.priority if pool.allocation else 0, []).append(pool)
    ordered = sorted(k for k in by_priority if k > 0) + ([0] if 0 in by_priority else [])
    return [by_priority[k] for k in ordered]


def metallb_order(cluster: Cluster, target: Service) -> Tuple[List[List[Pool]], List[List[Pool]]]:
    """The pools MetalLB's automatic allocation tries for ``target``, in its order:
    the pools pinned to it (by namespace or service selector) in priority tiers,
    then, failing those, the unrestricted pools (one tier: MetalLB picks among a
    tier's pools in no fixed order). With an address-pool annotation, that pool."""
    if target.pool_annotation:
        pool = cluster.pool(target.pool_annotation)
        return ([[pool]] if pool is not None else []), []
    valid = [p for p in cluster.pools if p.valid]
    pinned = [
        p
        for p in valid
        if p.auto_assign
        and p.pinned_for(target.namespace, cluster.metallb)
        and p.admits(target.namespace, target.labels)
    ]
    return _priority_tiers(pinned), [[p for p in valid if p.auto_assign and p.allocation is None]]


def preference(cluster: Cluster, target: Optional[Service]) -> Dict[str, int]:
    """Each pool's place in MetalLB's order for ``target`` (0 first; pools MetalLB
    would not pick on its own are absent): suggestions follow it."""
    if target is None:
        return {}
    tiers, fallback = metallb_order(cluster, target)
    order: Dict[str, int] = {}
    for rank, tier in enumerate(tiers + fallback):
        for pool in tier:
            order.setdefault(pool.name, rank)
    return order


def metallb_pick(cluster: Cluster, target: Service) -> Pick:
    family, why = target.family(cluster.metallb)
    if family is None:
        return Pick([], note=f"MetalLB allocates nothing: {why}")
    policy = target.ip_family_policy or "SingleStack"
    primary = IPV6 if target.ip_families[:1] == ("IPv6",) else IPV4
    secondary = IPV6 if primary == IPV4 else IPV4

    if target.pool_annotation:
        pool = cluster.pool(target.pool_annotation)
        if pool is None:
            return Pick([], note=f"unknown pool {target.pool_annotation!r}: MetalLB allocates nothing")
        if not pool.admits(target.namespace, target.labels):
            return Pick([], note=pool.why_not_admitted(target.namespace, target.labels))
    tiers, fallback = metallb_order(cluster, target)

    for tier_list in (tiers, fallback):
        winners = _best_pools(cluster, tier_list, target, family, policy, primary, secondary)
        if (
            winners
            and family != DUAL
            and policy == "PreferDualStack"
            and not single_stack_follows_cluster_ip(cluster.metallb)
        ):
            # v0.14: a single-stack service with PreferDualStack (one clusterIP) takes
            # an address of each family from a pool that has both
            winners = [
                (pool, {**chosen, **{f: a for f, a in _offer(cluster, pool, target).items() if a is not None}})
                for pool, chosen in winners
            ]
        if winners:
            candidates = []
            for pool, chosen in winners:
                candidates.append(
                    {"pool": pool.name, "ipv4": _text(IPV4, chosen.get(IPV4)), "ipv6": _text(IPV6, chosen.get(IPV6))}
                )
            pick = Pick([c["pool"] for c in candidates], candidates=candidates)
            if len(candidates) == 1:
                pick.ipv4, pick.ipv6 = candidates[0]["ipv4"], candidates[0]["ipv6"]
            else:
                pick.note = "MetalLB picks among these pools in no fixed order"
            return pick
    return Pick([], note="no available IPs: MetalLB would leave the service Pending")


def full_pool_failure(cluster: Cluster, target: Service) -> Optional[Tuple[Pool, str]]:
    """A service without a request, holding nothing, whose address-pool annotation
    names a pool that has the service's families but no free address for it:
    (the pool, what the cluster's MetalLB release says to the service)."""
    if not target.pool_annotation or target.request is not None or target.ingress:
        return None
    pool = cluster.pool(target.pool_annotation)
    if pool is None or not pool.valid or not pool.admits(target.namespace, target.labels):
        return None
    family, _ = target.family(cluster.metallb)
    needed = FAMILIES if family == DUAL else (family,)
    if family is None or any(f not in pool.families() for f in needed):
        return None
    offer = _offer(cluster, pool, target)
    if _select(offer, family, target.ip_family_policy or "SingleStack"):
        return None
    other_free = any(v is not None for v in offer.values())
    return pool, full_pool_message(cluster.metallb, pool.name, family, other_free)


def _text(family, value):
    return to_text(family, value) if value is not None else None


def _best_pools(cluster, tiers, target, family, policy, primary, secondary):
    """MetalLB's findBestPoolForService over pools in priority tiers: the pools of the
    first tier that fully serve the family; failing any, for PreferDualStack, the
    first tier's pools offering the primary family, then the secondary."""
    offers = [[(pool, _offer(cluster, pool, target)) for pool in tier] for tier in tiers]
    full = [
        [(p, _select(o, family, "RequireDualStack" if family == DUAL else policy)) for p, o in tier] for tier in offers
    ]
    for tier in full:
        served = [(p, sel) for p, sel in tier if sel]
        if served:
            return served
    if family == DUAL and policy == "PreferDualStack":
        for fam in (primary, secondary):
            for tier in offers:
                served = [(p, {fam: o[fam]}) for p, o in tier if o[fam] is not None]
                if served:
                    return served
    return []

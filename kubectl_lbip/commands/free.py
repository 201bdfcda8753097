"""kubectl lbip free: free addresses per pool and suggestions MetalLB will accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import announce
from ..model.addresses import DUAL, IPV4, IPV6
from ..model.announce import CONFIG_KINDS
from ..model.cluster import Cluster
from ..model.services import CURRENT, LB_IPS, Service
from ..model.suggest import Pick, SuggestResult, metallb_pick, suggest
from ..model.usage import family_counts
from ..printer import Block, Note, Result, Table, Text, notes_kept
from .common import Inputs, empty_namespace_note, legacy_note, rejected_config_note, release_dict, release_line
from .target import check_family, described_service, find_service

MAX_COUNT = 10_000  # suggestions are built in memory: --count is capped (docs/performance.md: Limits)
WHY = {
    "current": "what the service holds now",
    "shared": "shared with like services",
    "matching": "IPv6 reads like the IPv4",
    "lowest": "lowest free",
}


@dataclass
class FreeQuery:
    family: Optional[str] = None
    count: int = 5
    for_service: Optional[str] = None
    selector: Optional[str] = None
    sharing_key: Optional[str] = None
    ports: Optional[str] = None
    pool: Optional[str] = None
    strict: bool = False  # a configuration MetalLB rejected makes the answer exit 1

    def validate(self) -> None:
        """Every combination of options free refuses, in one place."""
        check_family(self.family)
        if self.for_service and (self.selector or self.sharing_key or self.ports):
            raise UsageError(
                "--for takes the service's own labels, sharing key and ports; "
                "leave out --selector, --sharing-key and --ports"
            )
        if not 1 <= self.count <= MAX_COUNT:
            raise UsageError(f"--count must be between 1 and {MAX_COUNT:,}")


def resolve_target(cluster: Cluster, inputs: Inputs, query: FreeQuery):
    """The target service (or None) and the family to suggest for."""
    family = check_family(query.family)
    if query.for_service:
        target = find_service(cluster, inputs.default_namespace(), query.for_service)
        svc_family, why = target.family(cluster.metallb)
        if svc_family is None:
            raise UsageError(f"service {target.key}: cannot tell its IP family: {why}")
        if family and family != svc_family:
            raise UsageError(f"service {target.key} is {svc_family}; --family {family} does not fit it")
        return target, svc_family
    family = family or DUAL
    if query.selector or query.sharing_key or query.ports or inputs.namespace:
        return described_service(
            inputs.default_namespace(), family, query.selector, query.sharing_key, query.ports
        ), family
    return None, family


def compute(cluster: Cluster, target: Optional[Service], family: str, query: FreeQuery) -> SuggestResult:
    if query.pool and cluster.pool(query.pool) is None:
        raise UsageError(f"pool {query.pool!r} does not exist")
    return suggest(cluster, family, query.count, target, query.pool)


def pool_entry(cluster: Cluster, pool) -> dict:
    return {
        "name": pool.name,
        "namespace": pool.namespace,
        "autoAssign": pool.auto_assign,
        "avoidBuggyIPs": pool.avoid_buggy_ips,
        "restrictions": pool.restriction() or None,
        **family_counts(cluster, pool),
    }


def run(inputs: Inputs, query: FreeQuery) -> Result:
    query.validate()
    snapshot = inputs.snapshot(network=CONFIG_KINDS)
    cluster = snapshot.take_cluster()
    notes = [msg] if (msg := empty_namespace_note(cluster, inputs.namespace)) else []
    rejected = announce.rejected_config(cluster)
    notes += rejected_config_note(rejected, query.strict)
    with notes_kept(notes):
        target, family = resolve_target(cluster, inputs, query)
        result = compute(cluster, target, family, query)
    pick = metallb_pick(cluster, target) if query.for_service else None
    if msg := legacy_note(snapshot):
        notes.append(msg)

    pools = [pool_entry(cluster, p) for p in result.pools]
    origins = {}
    if snapshot.origins:  # --against-cluster: where each pool (and the --for service) came from
        from ..snapshot.overlay import origin_fields

        for entry in pools:
            entry.update(origin_fields(snapshot, "IPAddressPool", entry["namespace"] or "", entry["name"]))
        if query.for_service:
            origins["forSource"] = origin_fields(snapshot, "Service", target.namespace, target.name)
    data = {
        "family": family,
        "for": target.key if query.for_service else None,
        **origins,
        "pools": pools,
        "suggestions": [s.to_dict() for s in result.suggestions],
        "excludedPools": [{"name": p.name, "reason": why} for p, why in result.excluded],
        "notes": result.notes,
        "rejectedConfiguration": rejected.to_dict() if rejected else None,
    }
    if pick is not None:
        data["metallbPick"] = pick.to_dict()
        data["metallb"] = release_dict(snapshot)
    code = EXIT_OK if result.suggestions and not (rejected and query.strict) else EXIT_NEGATIVE
    answer = FreeAnswer(result, pick, release_line(snapshot))
    return Result(data, code, notes, views={"table": table, "wide": wide, "annotation": annotation}, answer=answer)


@dataclass
class FreeAnswer:
    """What free's views read beyond the data."""

    suggested: SuggestResult
    pick: Optional[Pick]  # --for: MetalLB's own pick
    release: str


def annotation(result: Result) -> List[Block]:
    """-o annotation: the first suggestion as the annotation's line."""
    suggested = result.answer.suggested
    blocks: List[Block] = []
    if suggested.suggestions:
        blocks.append(Text(f'{CURRENT}{LB_IPS}: "{",".join(suggested.suggestions[0].addresses)}"'))
    return blocks + [Note(text) for text in suggested.notes]


def wide(result: Result) -> List[Block]:
    return table(result, True)


def table(result: Result, wide: bool = False) -> List[Block]:
    data, suggested, pick = result.data, result.answer.suggested, result.answer.pick
    # the default fits a terminal (autoAssign=false is marked beside the name); -o wide adds the rest
    headers = ["pool", "ipv4 total", "ipv4 used", "ipv4 free", "ipv6 total", "ipv6 used", "ipv6 free"] + (
        ["auto", "restrictions"] if wide else []
    )
    rows = []
    for p in data["pools"]:
        marks = [] if p["autoAssign"] else ["autoAssign=false"]
        if p["restrictions"] and not wide:
            marks.append("restricted")
        if "source" in p:  # --against-cluster
            marks.append(f"from {p['file'] or p['source']}")
        row = [p["name"] + (f" ({', '.join(marks)})" if marks else "")]
        for family in (IPV4, IPV6):
            c = p[family]
            row += [str(c["total"]), str(c["used"]), str(c["free"])] if c["total"] else ["-"] * 3
        if wide:
            row += ["yes" if p["autoAssign"] else "no", p["restrictions"] or "-"]
        rows.append(row)
    blocks: List[Block] = [Table(rows, headers, fit=not wide)] if rows else []
    blocks += [
        Note(f"note: pool {excluded['name']} left out: {excluded['reason']}") for excluded in data["excludedPools"]
    ]
    blocks += [Note(text) for text in suggested.notes]
    if suggested.suggestions:
        blocks += [
            Text("", heading=True),
            Text("SUGGESTIONS (" + data["family"] + ")", heading=True),
        ]  # --no-headers: only rows
        srows = [[s.pool, s.ipv4 or "-", s.ipv6 or "-", WHY[s.why]] for s in suggested.suggestions]
        blocks.append(Table(srows, ["pool", "ipv4", "ipv6", "why"]))
    else:
        blocks.append(Note("no suggestion: no free address fits"))
    if pick is not None:
        blocks.append(Text("", heading=True))
        if pick.pools and len(pick.pools) == 1:
            addrs = ",".join(a for a in (pick.ipv4, pick.ipv6) if a)
            said = f"MetalLB's own pick if the service requested nothing: {addrs} from pool {pick.pools[0]}"
        elif pick.pools:
            said = (
                "MetalLB's own pick if the service requested nothing: one of pools "
                f"{', '.join(pick.pools)} ({pick.note})"
            )
        else:
            said = f"MetalLB's own pick if the service requested nothing: none ({pick.note})"
        blocks.append(Text(said, heading=True, wrap=True))
        blocks.append(Note(result.answer.release))  # the pick follows the release's rules: say which
    return blocks

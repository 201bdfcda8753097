"""kubectl lbip free: free addresses per pool and suggestions MetalLB will accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional

from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import announce
from ..model.addresses import DUAL, IPV4, IPV6
from ..model.announce import CONFIG_KINDS
from ..model.cluster import Cluster
from ..model.implementation import Implementation, Prediction
from ..model.services import CURRENT, LB_IPS, Service
from ..printer import Block, Note, Result, Table, Text, notes_kept
from .common import Inputs, empty_namespace_note, legacy_note, rejected_config_note
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


def resolve_target(impl: Implementation, cluster: Cluster, inputs: Inputs, query: FreeQuery):
    """The target service (or None) and the family to suggest for."""
    family = check_family(query.family)
    if query.for_service:
        target = find_service(cluster, inputs.default_namespace(), query.for_service)
        svc_family, why = impl.family(target)
        if svc_family is None:
            raise UsageError(f"service {target.key}: cannot tell its IP family: {why}")
        if family and family != svc_family:
            raise UsageError(f"service {target.key} is {svc_family}; --family {family} does not fit it")
        return target, svc_family
    family = family or DUAL
    if query.selector or query.sharing_key or query.ports or inputs.namespace:
        return described_service(
            inputs.default_namespace(), family, query.selector, query.sharing_key, query.ports, impl.sharing_annotation
        ), family
    return None, family


def compute(impl: Implementation, target: Optional[Service], family: str, query: FreeQuery):
    if query.pool and not impl.has_pool(query.pool):
        raise UsageError(f"pool {query.pool!r} does not exist")
    return impl.suggest(target, family, query.count, query.pool)


def run(inputs: Inputs, query: FreeQuery) -> Result:
    query.validate()
    snapshot = inputs.snapshot(network=CONFIG_KINDS, cilium=True)
    cluster = snapshot.take_cluster()
    impl = inputs.implementation_of(snapshot, cluster)
    notes = [msg] if (msg := empty_namespace_note(cluster, inputs.namespace)) else []
    rejected = announce.rejected_config(cluster)
    notes += rejected_config_note(rejected, query.strict)
    with notes_kept(notes):
        target, family = resolve_target(impl, cluster, inputs, query)
        result = compute(impl, target, family, query)
    pick = impl.pick_entry(target) if query.for_service else None
    if msg := legacy_note(snapshot):
        notes.append(msg)

    pools = impl.free_entries(result.pools)
    origins = {}
    if cluster.overlaid:  # --against-cluster: where each pool (and the --for service) came from
        for entry in pools:
            entry.update(cluster.origin_of(impl.pool_kind, entry["namespace"] or "", entry["name"]).to_dict())
        if query.for_service:
            origins["forSource"] = cluster.origin_of("Service", target.namespace, target.name).to_dict()
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
        pick_key, pick_data, _ = pick
        release_key, release = impl.release_entry()
        data[pick_key] = pick_data
        data[release_key] = release
    code = EXIT_OK if result.suggestions and not (rejected and query.strict) else EXIT_NEGATIVE
    answer = FreeAnswer(result, pick[2] if pick else None, impl.release.describe(), impl.title, impl.request_key())
    return Result(data, code, notes, views={"table": table, "wide": wide, "annotation": annotation}, answer=answer)


@dataclass
class FreeAnswer:
    """What free's views read beyond the data."""

    suggested: Any  # the implementation's suggest result (suggestions, pools, excluded, notes)
    pick: Optional[Prediction]  # --for: the implementation's own pick
    release: str
    title: str = "MetalLB"  # the implementation, as a sentence names it
    key: str = CURRENT + LB_IPS  # the annotation a request is written under


def annotation(result: Result) -> List[Block]:
    """-o annotation: the first suggestion as the annotation's line."""
    suggested = result.answer.suggested
    blocks: List[Block] = []
    if suggested.suggestions:
        blocks.append(Text(f'{result.answer.key}: "{",".join(suggested.suggestions[0].addresses)}"'))
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
        marks = [] if p.get("autoAssign", True) else ["autoAssign=false"]
        marks += [mark for mark in ("disabled", "conflict") if p.get(mark)]  # Cilium's pools
        if p["restrictions"] and not wide:
            marks.append("restricted")
        if "source" in p:  # --against-cluster
            marks.append(f"from {p['file'] or p['source']}")
        row = [p["name"] + (f" ({', '.join(marks)})" if marks else "")]
        for family in (IPV4, IPV6):
            c = p[family]
            row += [str(c["total"]), str(c["used"]), str(c["free"])] if c["total"] else ["-"] * 3
        if wide:
            auto = p.get("autoAssign")
            row += ["-" if auto is None else "yes" if auto else "no", p["restrictions"] or "-"]
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
        shown = [s.to_dict() for s in suggested.suggestions]
        srows = [[s["pool"], s["ipv4"] or "-", s["ipv6"] or "-", WHY[s["why"]]] for s in shown]
        blocks.append(Table(srows, ["pool", "ipv4", "ipv6", "why"]))
    else:
        blocks.append(Note("no suggestion: no free address fits"))
    if pick is not None:
        blocks.append(Text("", heading=True))
        own = f"{result.answer.title}'s own pick if the service requested nothing"
        if pick.pools and len(pick.pools) == 1:
            said = f"{own}: {','.join(pick.addresses)} from pool {pick.pools[0]}"
        elif pick.pools:
            said = f"{own}: one of pools {', '.join(pick.pools)} ({pick.note})"
        elif pick.candidates:
            said = f"{own}: one of {', '.join(pick.candidates)} ({pick.note})"
        else:
            said = f"{own}: none ({pick.note})"
        blocks.append(Text(said, heading=True, wrap=True))
        blocks.append(Note(result.answer.release))  # the pick follows the release's rules: say which
    return blocks

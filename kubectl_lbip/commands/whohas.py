"""kubectl lbip who-has IP|CIDR...: which services hold or request an address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .. import printer, render
from ..errors import EXIT_NEGATIVE, EXIT_OK, UsageError
from ..model import announce
from ..model.addresses import AddressError, Interval, parse_network
from ..model.cluster import Cluster
from ..model.implementation import Implementation
from ..printer import Block, Note, Result, Table
from ..snapshot import Snapshot
from .common import Inputs, empty_namespace_note


def parse_queries(texts: Sequence[str]) -> List[Interval]:
    queries = []
    for text in texts:
        try:
            queries.append(parse_network(text))
        except AddressError:
            raise UsageError(f"{text!r} is not an IP address or CIDR") from None
    return queries


def answer(impl: Implementation, queries: Sequence[Interval], namespace: Optional[str] = None) -> List[dict]:
    results = []
    for query in queries:
        if query.first == query.last:
            results.append(impl.describe_address(query.family, query.first, namespace))
        else:
            for value in impl.used_in(query):
                found = impl.describe_address(query.family, value, namespace)
                if found["holders"]:
                    results.append(found)
    return results


def load(inputs: Inputs, queries: Sequence[Interval], prefilter: bool = True) -> Tuple[Snapshot, Cluster]:
    """The snapshot and the model who-has answers from. From a large JSON list (-f
    alone) only the services whose text could name a queried address are modelled
    (snapshot/prefilter.py): the answer is the same as from the model of every
    service, which is what ``prefilter=False`` builds (the tests compare the two)."""
    from ..snapshot.prefilter import selecting

    network = (announce.L2ADV, announce.BGPADV)  # the advertisements: ANNOUNCED BY
    snapshot = inputs.snapshot(network=network, select=selecting(queries) if prefilter else None, cilium=True)
    return snapshot, snapshot.take_cluster()


def run(inputs: Inputs, texts: Sequence[str]) -> Result:
    queries = parse_queries(texts)  # bad input fails before any cluster access
    namespace = inputs.namespace_filter()
    # With -n, whether the namespace has a LoadBalancer service at all is asked of
    # every service (kubectl's "No resources found"): no text test then.
    snapshot, cluster = load(inputs, queries, prefilter=not namespace)
    impl = inputs.implementation_of(snapshot, cluster)
    notes = [msg] if (msg := empty_namespace_note(cluster, namespace)) else []
    results = answer(impl, queries, namespace)
    overlaid = cluster.overlaid  # --against-cluster: where each holder came from
    if overlaid:
        for r in results:
            for h in r["holders"]:
                h.update(cluster.origin_of("Service", h["namespace"], h["name"]).to_dict())
    code = EXIT_OK if any(r["holders"] for r in results) else EXIT_NEGATIVE
    found = WhoHasAnswer(list(texts), snapshot.network_notes, announce.unread_advertisement_kinds(cluster), overlaid)
    return Result(results, code, notes, views={"table": table, "wide": wide, "name": names}, answer=found)


@dataclass
class WhoHasAnswer:
    """What who-has's views read beyond the data."""

    texts: List[str]  # the addresses asked about
    network_notes: List[str]  # a kind the identity may not list (as check says)
    unread: List[str]  # advertisement kinds that could not be read
    overlaid: bool  # --against-cluster: a FROM column


def names(result: Result) -> List[Block]:
    keys = {f"{h['namespace']}/{h['name']}": None for r in result.data for h in r["holders"]}
    return printer.names("service", list(keys))


def wide(result: Result) -> List[Block]:
    return table(result, True)


def table(result: Result, wide: bool = False) -> List[Block]:
    """The default fits a terminal; -o wide adds ANNOUNCED BY."""
    a, results = result.answer, result.data
    blocks: List[Block] = [Note(msg) for msg in a.network_notes]
    rows = []
    for r in results:
        first = [r["ip"], r["pool"] or "(no pool)", "yes" if r["free"] else "no"]
        shown = render.advertisements(r["advertisements"], bool(a.unread) and r["pool"] is not None)
        last = [shown] if wide else []
        if not r["holders"]:
            how = "reserved" if r.get("reserved") else "-"  # Cilium's first/last address of a cidr block
            rows.append(first + ["-", how, "-", "-", ""] + (["-"] if a.overlaid else []) + last)
        for h in r["holders"]:  # each row whole: its first field is its own (awk, sort)
            rows.append(
                first
                + [
                    f"{h['namespace']}/{h['name']}",
                    ",".join(h["how"]),
                    h["sharingKey"] or "-",
                    ",".join(h["ports"]) or "-",
                    "CONFLICT" if r["conflict"] else "",
                ]
                + ([h["file"] or h["source"]] if a.overlaid else [])
                + last
            )
    if rows:
        headers = ["ip", "pool", "free", "service", "how", "sharing key", "ports", "conflict"]
        headers += (["from"] if a.overlaid else []) + (["announced by"] if wide else [])
        blocks.append(Table(rows, headers, fit=not wide))
        if wide and a.unread and any(r["pool"] is not None for r in results):
            blocks.append(Note(render.unread_note(a.unread, "ANNOUNCED BY")))
    else:
        blocks.append(Note("no held or requested address in " + ", ".join(a.texts)))
    return blocks + [Note(f"conflict on {r['ip']}: {reason}") for r in results for reason in r["conflictReasons"]]

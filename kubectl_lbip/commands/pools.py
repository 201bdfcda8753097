"""kubectl lbip pools: one row per pool with its ranges, flags and usage."""

from __future__ import annotations

from .. import render
from ..errors import EXIT_OK
from ..model import announce
from ..model.addresses import IPV4, IPV6
from ..model.usage import family_counts
from .common import Inputs, legacy_note, release_dict, release_line


def pool_rows(cluster, namespace=None):
    """Plain data for each pool (with a namespace, each pool living there), shared by
    the table and JSON outputs."""
    rows = []
    for pool in cluster.pools:
        if namespace and pool.namespace != namespace:
            continue
        entry = {
            "name": pool.name,
            "namespace": pool.namespace,
            "addresses": list(pool.addresses),
            "autoAssign": pool.auto_assign,
            "avoidBuggyIPs": pool.avoid_buggy_ips,
            "serviceAllocation": pool.restriction() or None,
            "valid": pool.valid,
            "errors": list(pool.errors),
            **family_counts(cluster, pool),
            "advertisements": announce.advertisement_names(cluster.network, pool),
            "metallbStatus": announce.status_counters(pool),
        }
        rows.append(entry)
    return rows


def status_text(status, family: str) -> str:
    """MetalLB's assigned/available for one family, from the pool's status."""
    if status is None:
        return "-"
    suffix = "IPv4" if family == IPV4 else "IPv6"
    return f"{status['assigned' + suffix]}/{status['available' + suffix]}"


def run(inputs: Inputs) -> int:
    # the advertisements selecting each pool: for -o wide, json and yaml
    snapshot = inputs.snapshot(
        network=(announce.L2ADV, announce.BGPADV) if inputs.output in ("wide", "json", "yaml") else False
    )
    cluster = snapshot.take_cluster()
    namespace = inputs.namespace_filter()
    rows = pool_rows(cluster, namespace)
    if msg := legacy_note(snapshot):
        render.note(msg)
    if inputs.output in ("json", "yaml"):
        render.emit(
            {"metallb": release_dict(snapshot), "pools": rows, "legacyConfigMap": snapshot.uses_legacy_config},
            inputs.output,
        )
        return EXIT_OK
    if inputs.output == "name":
        render.names("ipaddresspool.metallb.io", [r["name"] for r in rows])
        return EXIT_OK
    render.note(release_line(snapshot))
    if not rows:
        render.note(f"No resources found in {namespace} namespace." if namespace else "no IPAddressPool found")
        return EXIT_OK
    wide = inputs.output == "wide"
    # the default fits a terminal (render.WIDTH); -o wide adds the rest at the end
    headers = ["name", "addresses", "autoAssign", "restrictions", "ipv4 used/total", "ipv6 used/total"]
    if wide:
        headers += [
            "namespace",
            "avoidBuggyIPs",
            "ipv4 free",
            "ipv6 free",
            "metallb ipv4",
            "metallb ipv6",
            "advertisements",
            "valid",
        ]
    table = []
    for r in rows:
        line = [
            r["name"],
            ",".join(r["addresses"]) or "-",
            str(r["autoAssign"]).lower(),
            r["serviceAllocation"] or "-",
            render.ratio(r[IPV4]["used"], r[IPV4]["total"], True),
            render.ratio(r[IPV6]["used"], r[IPV6]["total"], True),
        ]
        if wide:
            line += [
                r["namespace"] or "-",
                str(r["avoidBuggyIPs"]).lower(),
                str(r[IPV4]["free"]),
                str(r[IPV6]["free"]),
                status_text(r["metallbStatus"], IPV4),
                status_text(r["metallbStatus"], IPV6),
                render.advertisements(r["advertisements"]),
                "yes" if r["valid"] else "no: " + "; ".join(r["errors"]),
            ]
        table.append(line)
    render.out(render.table(table, headers, fit=not wide))
    for r in rows:
        for err in r["errors"]:
            render.note(f"warning: {err} (MetalLB rejects its whole configuration)")
    return EXIT_OK

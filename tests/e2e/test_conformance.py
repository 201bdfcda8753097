"""Conformance with MetalLB: the plugin's verdict on every request, computed on the
live state just before the service is created, against what MetalLB's controller
then does with it (scenarios.py has the generator and the runner).

* a request (metallb.io/loadBalancerIPs, the deprecated annotation or
  spec.loadBalancerIP): ``annotate.plan`` / ``rules.check_request`` accept ->
  MetalLB must assign exactly the requested addresses; refuse -> MetalLB must
  emit AllocationFailed, and its message must name one of the plugin's codes;
* no request: ``suggest.metallb_pick`` -> MetalLB must assign that address (or
  pair), or, where its choice between pools is arbitrary, the first free
  address(es) of one of the listed pools; no pick -> MetalLB assigns nothing.

Seeds are fixed, so the scenarios are the same on every run; MetalLB's only
freedom (which of several equal pools) is part of the plugin's answer.

Every scenario runs against each MetalLB release of the matrix (``metallb_version``,
see conftest.py); the plugin finds the release that runs on its own (the controller
Deployment's image tag) and applies its rules. The agreement per release is printed
at the end of the session.

Set KUBECTL_LBIP_CONFORMANCE_SEEDS=1,2,3 to run other seeds (one scenario each,
at most six: one IPv4 slab each), KUBECTL_LBIP_CONFORMANCE_SERVICES=N for the
number of services per scenario. The releases before the newest run only seeds
102 and 105 (KUBECTL_LBIP_CONFORMANCE_OLDER_SEEDS, "all" for every seed).
"""

from __future__ import annotations

import collections
import os
import time
from typing import List

import pytest

from kubectl_lbip.snapshot.live import connect

from . import conftest, scenarios
from .controlplane import Cluster

pytestmark = pytest.mark.e2e

SEEDS = [int(s) for s in os.environ.get("KUBECTL_LBIP_CONFORMANCE_SEEDS",
                                        "101,102,103,104,105,106").split(",")]
SERVICES = int(os.environ.get("KUBECTL_LBIP_CONFORMANCE_SERVICES", "45"))
MIN_REQUESTS = 200
# The releases before the newest re-run only these seeds (to keep CI's time): the
# two scenarios with an autoAssign pool whose serviceAllocation holds only a
# priority, where v0.14 and v0.15+ differ. KUBECTL_LBIP_CONFORMANCE_OLDER_SEEDS=all
# runs every seed against every release.
OLDER_SEEDS = os.environ.get("KUBECTL_LBIP_CONFORMANCE_OLDER_SEEDS", "102,105")
TRIMMED = set()  # releases that ran fewer seeds than SEEDS


def seeds_for(cluster: Cluster, version: str):
    """(slot, seed) pairs to run against ``version``: every seed for the newest."""
    pairs = list(enumerate(SEEDS))
    if version == cluster.build.newest.version or OLDER_SEEDS == "all":
        return pairs
    keep = {int(s) for s in OLDER_SEEDS.split(",")}
    TRIMMED.add(version)
    return [(slot, seed) for slot, seed in pairs if seed in keep]


@pytest.fixture(scope="module")
def records(cluster: Cluster, metallb_version: str) -> List[scenarios.Record]:
    assert len(SEEDS) <= len(scenarios.V4_SLABS), "one IPv4 slab per scenario"
    client = connect(str(cluster.kubeconfig))
    release = client.snapshot().metallb
    assert (release.label, release.source) == (metallb_version, "deployment"), release
    run_id = f"{os.getpid()}-{metallb_version.replace('.', '-')}"
    out: List[scenarios.Record] = []
    t0 = time.monotonic()
    for slot, seed in seeds_for(cluster, metallb_version):
        sc = scenarios.generate(seed, slot, run_id, SERVICES)
        got = scenarios.run_scenario(client, sc)
        agree = sum(r.agree for r in got)
        print(f"\n[conformance] MetalLB {metallb_version} seed {seed}: {agree}/{len(got)} agree "
              f"({len(sc.pools)} pools)")
        out += got
    print(f"[conformance] MetalLB {metallb_version}: {len(out)} requests in "
          f"{time.monotonic() - t0:.1f}s")
    _summary(out)
    conftest.AGREEMENT.setdefault(metallb_version, []).append(
        (sum(r.agree for r in out), len(out)))
    return out


def _summary(recs: List[scenarios.Record]) -> None:
    kinds = collections.Counter()
    for r in recs:
        e = r.expectation
        if e.kind == "auto":
            kinds["auto: " + ("assigned" if r.outcome.assigned else "none")
                  + (" (several pools)" if len(e.candidates) > 1 else "")
                  + (" (shared)" if _shared(r, recs) else "")] += 1
        elif r.outcome.assigned:
            kinds["request: assigned" + (" (shared)" if _shared(r, recs) else "")] += 1
        else:
            code = scenarios.codes_for_message(r.outcome.failure) or {"?"}
            kinds["request: refused: " + "|".join(sorted(code))] += 1
    for k, n in sorted(kinds.items()):
        print(f"[conformance]   {n:4d}  {k}")
    agree = sum(r.agree for r in recs)
    print(f"[conformance] agreement {agree}/{len(recs)} = {100.0 * agree / len(recs):.1f}%")


def _shared(rec: scenarios.Record, recs: List[scenarios.Record]) -> bool:
    mine = set(rec.outcome.assigned)
    return any(r is not rec and r.seed == rec.seed and mine & set(r.outcome.assigned)
               for r in recs)


def _report(recs: List[scenarios.Record]) -> str:
    return "\n".join(f"seed={r.seed} {r.name}: {r.why}" for r in recs)


def test_enough_requests_and_every_rule_exercised(records: List[scenarios.Record],
                                                  metallb_version: str) -> None:
    if metallb_version in TRIMMED:
        pytest.skip(f"MetalLB {metallb_version} re-ran seeds {OLDER_SEEDS} only: the scenarios' "
                    "coverage is checked on the newest release's full run")
    assert len(records) >= MIN_REQUESTS or len(SEEDS) < 6
    refused = collections.Counter()
    for r in records:
        for code in scenarios.codes_for_message(r.outcome.failure) or ():
            refused[code] += 1
    accepted = sum(1 for r in records if r.expectation.kind == "request" and r.outcome.assigned)
    auto = sum(1 for r in records if r.expectation.kind == "auto" and r.outcome.assigned)
    shared = sum(1 for r in records if r.outcome.assigned and _shared(r, records))
    assert accepted >= 20 and auto >= 20 and shared >= 5, (accepted, auto, shared)
    for code in ("family-mismatch", "not-in-pool", "pool-incompatible", "address-conflict",
                 "too-many-addresses", "pool-annotation-mismatch"):
        assert refused[code] > 0, f"no request refused by MetalLB for {code}: {dict(refused)}"


def test_full_agreement_with_metallb(records: List[scenarios.Record]) -> None:
    """100% agreement: every disagreement found becomes a plain-data regression
    test in tests/model/test_conformance_regressions.py and is fixed."""
    bad = [r for r in records if not r.agree]
    assert not bad, (f"{len(bad)}/{len(records)} disagreements:\n" + _report(bad))

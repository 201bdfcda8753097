"""Conformance with MetalLB, through the CLI as users run it: on seeded random
scenarios (scenarios.py has the generator and the runner), every channel's
verdict against what MetalLB's controller does.

* ``check-live``: ``kubectl lbip check -n NS -o json`` on the live cluster;
* ``check-file``: the same with ``-f`` on ``kubectl get namespaces,ipaddresspools,
  services -A -o json`` (a file that carries status);
* ``annotate``: ``kubectl lbip annotate NAME ADDRS --overwrite --dry-run=client``;
  for each request: refused -> MetalLB refuses it too, for a reason one of the
  codes names; accepted (no request-rule finding at all) -> MetalLB holds exactly
  the requested addresses;
* ``pin``: a ``free --for`` suggestion written with ``annotate --wait``: MetalLB
  must assign exactly it;
* ``pick``: ``free --for``'s ``metallbPick`` for a service that requests nothing:
  MetalLB must assign that (or, where its choice between pools is arbitrary, the
  pick of one of the listed pools); no pick -> MetalLB assigns nothing.

Every channel must agree on 100%. Every scenario runs against each MetalLB
release of the matrix (``metallb_version``, see conftest.py); the plugin finds the
release that runs on its own (the controller Deployment's image tag) and applies
its rules. The agreement per release is printed at the end of the session.

KUBECTL_LBIP_CONFORMANCE_SEEDS=1,2,3 runs other seeds (one scenario each, at most
six: one IPv4 slab each); KUBECTL_LBIP_CONFORMANCE_SERVICES=N sets the number of
services per scenario. The releases before the newest run only seeds 102 and 105
(KUBECTL_LBIP_CONFORMANCE_OLDER_SEEDS, "all" for every seed).
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass
from typing import Dict, List

import pytest

from kubectl_lbip.snapshot.live import connect

from . import conftest, scenarios
from .controlplane import Cluster

pytestmark = pytest.mark.e2e

SEEDS = [int(s) for s in os.environ.get("KUBECTL_LBIP_CONFORMANCE_SEEDS", "101,102,103,104,105,106").split(",")]
SERVICES = int(os.environ.get("KUBECTL_LBIP_CONFORMANCE_SERVICES", "72"))
MIN_REQUESTS = 300  # over six scenarios
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


@dataclass
class Report:
    controller: str
    results: List[scenarios.ScenarioResult]

    @property
    def verdicts(self) -> List[scenarios.Verdict]:
        return [v for r in self.results for v in r.verdicts]

    @property
    def subjects(self) -> List[scenarios.Subject]:
        return [s for r in self.results for s in r.subjects]

    def channel(self, name: str) -> List[scenarios.Verdict]:
        return [v for v in self.verdicts if v.channel == name]


@pytest.fixture(scope="module")
def report(cluster: Cluster, metallb_version: str) -> Report:
    assert len(SEEDS) <= len(scenarios.V4_SLABS), "one IPv4 slab per scenario"
    # the runner's own client lives for the whole module: one deadline for all of it
    # (a command's deadline is --request-timeout, 30 s), longer than the tier runs
    client = connect(str(cluster.kubeconfig), request_timeout=3600)
    release = client.snapshot().metallb
    assert (release.label, release.source) == (metallb_version, "deployment"), release
    lbip = scenarios.Lbip(str(cluster.kubeconfig))
    run_id = f"{os.getpid()}-{metallb_version.replace('.', '-')}"
    t0 = time.monotonic()
    results = []
    for slot, seed in seeds_for(cluster, metallb_version):
        sc = scenarios.generate(seed, slot, run_id, SERVICES)
        res = scenarios.run_scenario(client, lbip, sc)
        results.append(res)
        print(
            f"\n[conformance] MetalLB {metallb_version} seed {seed}: {len(res.verdicts)} "
            f"verdicts, {sum(not v.agree for v in res.verdicts)} disagreements "
            f"({res.seconds:.0f}s)",
            flush=True,
        )
    rep = Report(metallb_version, results)
    _print(rep, time.monotonic() - t0, lbip)
    verdicts = rep.verdicts
    conftest.AGREEMENT.setdefault(metallb_version, []).append((sum(v.agree for v in verdicts), len(verdicts)))
    return rep


def _print(rep: Report, seconds: float, lbip: scenarios.Lbip) -> None:
    print(
        f"\n[conformance] controller {rep.controller}; {len(rep.results)} scenarios, "
        f"{len(rep.subjects)} services, {sum(1 for s in rep.subjects if s.how)} requests, "
        f"{seconds:.0f}s ({lbip.calls} kubectl lbip calls taking {lbip.seconds:.0f}s, some in parallel)"
    )
    header = "seed".ljust(6) + "".join(c.rjust(14) for c in scenarios.CHANNELS)
    print("[conformance] " + header)
    for res in rep.results:
        cells = []
        for ch in scenarios.CHANNELS:
            vs = [v for v in res.verdicts if v.channel == ch]
            cells.append(f"{sum(v.agree for v in vs)}/{len(vs)}".rjust(14))
        print("[conformance] " + str(res.seed).ljust(6) + "".join(cells) + f"   ({res.seconds:.0f}s)")
    for ch in scenarios.CHANNELS:
        vs = rep.channel(ch)
        agree = sum(v.agree for v in vs)
        pct = 100.0 * agree / len(vs) if vs else 0.0
        print(f"[conformance] agreement {ch:<11} {agree}/{len(vs)} = {pct:.1f}%")
    for line, n in sorted(_coverage(rep).items()):
        print(f"[conformance]   {n:4d}  {line}")


def _coverage(rep: Report) -> Dict[str, int]:
    kinds: Dict[str, int] = collections.Counter()
    for res in rep.results:
        for sub in res.subjects:
            if sub.how is None:
                kinds["auto: " + ("assigned" if sub.outcome.assigned else "none")] += 1
                continue
            accepted, _, codes = scenarios.metallb_verdict(sub)
            if accepted:
                kinds["request: assigned"] += 1
            elif accepted is False:
                kinds["request: refused: " + "|".join(sorted(codes))] += 1
        kinds["pin: no suggestion to pin"] += res.pins_without_suggestion
    kinds["request: assigned while a Pending service requests it too"] = _beside_pending(rep)
    kinds["request: assigned, shared with another"] = _shared(rep)
    return kinds


def _requested(sub: scenarios.Subject) -> set:
    return sub.requested or set()


def _beside_pending(rep: Report) -> int:
    """Accepted requests for an address another service requests while Pending:
    the case check used to call a conflict."""
    n = 0
    for res in rep.results:
        pending = [s for s in res.subjects if s.how and not s.final]
        for sub in res.subjects:
            if sub.how and sub.final and any(_requested(sub) & _requested(p) for p in pending):
                n += 1
    return n


def _shared(rep: Report) -> int:
    n = 0
    for res in rep.results:
        for sub in res.subjects:
            mine = set(sub.final)
            if mine and any(o is not sub and mine & set(o.final) for o in res.subjects):
                n += 1
    return n


def _report(vs: List[scenarios.Verdict]) -> str:
    return "\n".join(f"seed={v.seed} {v.service}: {v.why}" for v in vs)


def test_enough_requests_and_every_rule_exercised(report: Report, metallb_version: str) -> None:
    if metallb_version in TRIMMED:
        # An older release re-runs only the scenarios where the releases differ (the
        # rules' coverage is asserted on the newest release's full run): that it ran
        # exactly those, and that they gave verdicts, is what this run promises.
        ran = {v.seed for v in report.verdicts}
        assert ran == {int(s) for s in OLDER_SEEDS.split(",")} & set(SEEDS), ran
        assert all(report.channel(ch) for ch in scenarios.CHANNELS[:3]), "a channel gave no verdict"
        return
    requests = [s for s in report.subjects if s.how]
    assert len(requests) >= MIN_REQUESTS or len(SEEDS) < 6, len(requests)
    cov = _coverage(report)
    refused = collections.Counter()
    for key, n in cov.items():
        if key.startswith("request: refused: "):
            for code in key[len("request: refused: ") :].split("|"):
                refused[code] += n
    if len(SEEDS) < 6:
        return  # a short run (other seeds, fewer services) checks agreement, not coverage
    for code in (
        "family-mismatch",
        "not-in-pool",
        "pool-incompatible",
        "address-conflict",
        "too-many-addresses",
        "pool-annotation-mismatch",
    ):
        assert refused[code] > 0, f"no request refused by MetalLB for {code}: {dict(refused)}"
    assert cov["request: assigned"] >= 60, cov
    assert cov["auto: assigned"] >= 20 and cov["auto: none"] >= 3, cov
    assert cov["request: assigned while a Pending service requests it too"] >= 5, cov
    assert cov["request: assigned, shared with another"] >= 5, cov
    assert len(report.channel("pin")) >= 20, cov


@pytest.mark.parametrize("channel", scenarios.CHANNELS)
def test_channel_agrees_with_metallb(report: Report, channel: str) -> None:
    """100% per channel: every disagreement found becomes a plain-data regression
    test in tests/model/test_conformance_regressions.py and is fixed."""
    vs = report.channel(channel)
    assert vs, f"no verdict on channel {channel}"
    bad = [v for v in vs if not v.agree]
    assert not bad, f"{len(bad)}/{len(vs)} disagreements on {channel}:\n" + _report(bad)

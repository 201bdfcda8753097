"""Conformance with Cilium's operator, through the CLI as users run it: seeded
random scenarios (cilium_scenarios.py), each service created and answered by the
operator, then the operator paused (SIGSTOP) while the plugin is asked, and every
channel's verdict compared with the operator's:

* ``check-live``: ``kubectl lbip check -n NS -o json`` (the implementation and its
  release detected from the cluster);
* ``check-file``: ``check -f DUMP -n NS -o json --implementation cilium
  --cilium-version V`` on ``kubectl get namespaces,ciliumloadbalancerippools,services
  -A -o json`` with every ``cilium.io/IPAMRequestSatisfied`` condition removed (so
  the plugin judges from the rules, not from the operator's answer);
* ``annotate``: ``annotate NAME ADDRS --overwrite --dry-run=client``;
  for each request: refused -> the operator refused it too, for a reason one of the
  codes names (REASON_CODES); accepted (no request-rule finding) -> the operator
  satisfied it with exactly the requested addresses;
* ``pin``: a ``free --for`` suggestion written with ``annotate --wait`` (the operator
  running): the operator must satisfy it with exactly that;
* ``pick``: ``free --for``'s predicted pick for a service that requests nothing:
  the operator must have assigned it (or one of the candidates where its choice
  cannot be told); no pick -> the operator assigned nothing.

Every channel must agree on 100%. KUBECTL_LBIP_CILIUM_SEEDS and
KUBECTL_LBIP_CILIUM_SERVICES change the seeds and the services per scenario.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest

from kubectl_lbip.model import cilium as cilium_model
from kubectl_lbip.model import cilium_checks
from kubectl_lbip.snapshot.live import connect

from . import cilium_scenarios as cs
from . import conftest
from .controlplane import Cluster
from .scenarios import Lbip, Run, Verdict, annotate_codes, compare_request, pin_args, request_findings
from .scenarios import check_findings as findings

pytestmark = pytest.mark.e2e

SEEDS = [int(s) for s in os.environ.get("KUBECTL_LBIP_CILIUM_SEEDS", "201,202,203,204,205,206").split(",")]
SERVICES = int(os.environ.get("KUBECTL_LBIP_CILIUM_SERVICES", "68"))
MIN_REQUESTS = 300  # over six scenarios
# Each `kubectl lbip` call costs 1-3 s on 2 busy cores: check (live and -f) judges
# every request in two calls per namespace, while annotate, the pick and the pins
# cost a call each, so they take a sample per scenario, spread over the
# operator's answers (KUBECTL_LBIP_CILIUM_SAMPLE=all: every one).
_SAMPLE = os.environ.get("KUBECTL_LBIP_CILIUM_SAMPLE", "")
ANNOTATES = 10**6 if _SAMPLE == "all" else 14
PICKS = 10**6 if _SAMPLE == "all" else 6
PINS = 4
CHANNELS = ("check-live", "check-file", "annotate", "pin", "pick")

# Cilium's condition reasons -> the check code that names each (the catalogue's own table).
REASON_CODES: Dict[str, Set[str]] = {reason: {code} for reason, code in cilium_checks.REASON_CODES.items()}
REQUEST_CODES = frozenset(cilium_checks.REASON_CODES.values()) | {"invalid-request"}


def canonical(texts) -> Set[str]:
    return {str(ipaddress.ip_address(t.strip())) for t in texts if t.strip()}


def judge_verdict(sub: cs.Subject) -> Tuple[Optional[bool], str, Set[str]]:
    """(accepted, detail, codes naming its refusal); accepted None when the operator
    did something the comparison cannot judge."""
    final = sub.final
    if final is None:
        return None, "the service is gone", set()
    want = canonical(sub.requested)
    if final.satisfied:
        if canonical(final.ingress) == want:
            return True, f"Cilium satisfied it with {sorted(want)}", set()
        return None, f"Cilium holds {final.ingress}, not the request {sorted(want)}", set()
    codes = REASON_CODES.get(final.reason)
    if codes is None:
        return None, f"unmapped reason {final.reason}: {final.message}", set()
    return False, f"{final.reason}: {final.message}", codes


def compare(channel: str, seed: int, sub: cs.Subject, errors: Set[str], flagged: Set[str], detail: str) -> Verdict:
    return compare_request(channel, seed, sub.key, judge_verdict(sub), "Cilium", errors, flagged, detail)


def judge_check(channel: str, seed: int, sub: cs.Subject, found: List[Dict[str, Any]]) -> Verdict:
    errors, flagged, detail = request_findings(found, REQUEST_CODES)
    return compare(channel, seed, sub, errors, flagged, detail)


def spread(subjects: List[cs.Subject], n: int, seed: int) -> List[cs.Subject]:
    """Up to ``n`` of them, seeded, taking each outcome of the operator in turn (so
    a sample holds every reason the scenario produced)."""
    rng = random.Random(seed * 7919)
    groups: Dict[str, List[cs.Subject]] = collections.defaultdict(list)
    for sub in subjects:
        outcome = sub.final if sub.requested and sub.final else sub.at_creation
        groups[outcome.reason].append(sub)
    for members in groups.values():
        rng.shuffle(members)
    order = sorted(groups)
    chosen: List[cs.Subject] = []
    while len(chosen) < n and any(groups.values()):
        for reason in order:
            if groups[reason] and len(chosen) < n:
                chosen.append(groups[reason].pop())
    return chosen


def annotate_args(sub: cs.Subject) -> Tuple[str, ...]:
    """`annotate` for the same request on the same service; a spec.loadBalancerIP
    request moved to the annotation (--clear-spec-ip), as MetalLB's run does."""
    m = sub.manifest["metadata"]
    args = ["annotate", m["name"], ",".join(sub.requested), "-n", m["namespace"], "--overwrite", "--dry-run=client"]
    if sub.manifest["spec"].get("loadBalancerIP"):
        args.append("--clear-spec-ip")
    return tuple(args + ["-o", "json"])


def judge_annotate(seed: int, sub: cs.Subject, run: Run) -> Verdict:
    errors, warnings = annotate_codes(run, REQUEST_CODES)
    if run.code not in (0, 1):
        return Verdict("annotate", seed, sub.key, False, f"exit {run.code}: {run.stderr.strip()}")
    if run.code == 1 and not errors:
        errors = {"?"}
    return compare("annotate", seed, sub, errors, errors | warnings, run.stderr.strip())


def pick_of(run: Run) -> Optional[Dict[str, Any]]:
    try:
        return json.loads(run.stdout)["ciliumPick"]
    except (ValueError, KeyError, TypeError):
        return None


def judge_pick(seed: int, sub: cs.Subject, run: Run) -> Verdict:
    """The pick predicted on the state the service came into (``free --for`` on a
    file of it: ``ciliumPick``'s addresses, told, and candidates, where the
    operator's order decides) against what the operator assigned then: every
    address told, and for the rest of the families it assigned, one candidate."""
    pick = pick_of(run)
    if pick is None:
        return Verdict("pick", seed, sub.key, False, f"exit {run.code}: no ciliumPick: {run.stderr.strip()[:300]}")
    got = canonical(sub.at_creation.ingress)
    told = canonical(pick.get("addresses") or ())
    candidates = canonical(pick.get("candidates") or ())
    families = {ipaddress.ip_address(a).version for a in told | candidates}
    ok = (
        told <= got
        and all(a in told or a in candidates for a in got)
        and {ipaddress.ip_address(a).version for a in got} == families
    )
    said = f"plugin: {sorted(told)} + one of {sorted(candidates)} ({pick.get('note') or ''})"
    why = "" if ok else f"{said}; Cilium assigned {sorted(got)} ({sub.at_creation.reason})"
    return Verdict("pick", seed, sub.key, ok, why)


@dataclass
class Result:
    seed: int
    subjects: List[cs.Subject]
    verdicts: List[Verdict]
    seconds: float
    pools: List[Dict[str, Any]]


def _implementation(version: str) -> Tuple[str, ...]:
    """For a file: which implementation and release to judge by (live, detected)."""
    return ("--implementation", "cilium", "--cilium-version", version)


def _strip_conditions(dump: Dict[str, Any]) -> Dict[str, Any]:
    for item in dump.get("items") or ():
        if item.get("kind") == "Service":
            conds = (item.get("status") or {}).get("conditions")
            if conds:
                item["status"]["conditions"] = [c for c in conds if c.get("type") != cs.CONDITION]
    return dump


def run_seed(cluster: Cluster, api: cs.Api, lbip: Lbip, version: str, slot: int, seed: int) -> Result:
    t0 = time.monotonic()
    sc = cs.generate(seed, slot, f"{os.getpid()}", SERVICES, cilium_model.parse(version))
    verdicts: List[Verdict] = []
    cs.setup(api, sc)
    try:
        subjects = cs.run(api, sc)
        with cluster.paused():
            cs.read_final(api, sc, subjects)
            pools = cs.pools_now(api, sc)
            dump = json.loads(
                lbip.kubectl_get("namespaces,ciliumloadbalancerippools.cilium.io,services", "-A", "-o", "json")
            )
            requests = [s for s in subjects if s.requested]
            annotated = spread(requests, ANNOTATES, seed)
            autos = spread([s for s in subjects if not s.requested], PICKS, seed)
            with tempfile.TemporaryDirectory(prefix="lbip-cilium-") as tmp:
                path = os.path.join(tmp, "cluster.json")
                with open(path, "w") as fh:
                    json.dump(_strip_conditions(dump), fh)
                calls: List[Tuple[str, ...]] = []
                for ns in sc.ns_names:
                    calls.append(("check", "-n", ns, "-o", "json"))
                    calls.append(("check", "-f", path, "-n", ns, "-o", "json", *_implementation(version)))
                calls += [annotate_args(sub) for sub in annotated]
                runs = lbip.many(calls)
        # the pick: asked on a file of the state each service came into (the
        # pools, the services before it, and it, as the API server stored it)
        with tempfile.TemporaryDirectory(prefix="lbip-cilium-") as tmp:
            calls = []
            kept = [o for o in dump["items"] if o.get("kind") in ("Namespace", "CiliumLoadBalancerIPPool")]
            for i, sub in enumerate(autos):
                path = os.path.join(tmp, f"before-{i}.json")
                with open(path, "w") as fh:
                    json.dump({"apiVersion": "v1", "kind": "List", "items": kept + sub.before + [sub.created]}, fh)
                m = sub.manifest["metadata"]
                calls.append(
                    (
                        "free",
                        "--for",
                        m["name"],
                        "-n",
                        m["namespace"],
                        "-f",
                        path,
                        "-o",
                        "json",
                        *_implementation(version),
                    )
                )
            runs += lbip.many(calls)
        live: Dict[str, List[Dict[str, Any]]] = {}
        files: Dict[str, List[Dict[str, Any]]] = {}
        n = len(sc.ns_names)
        for i in range(n):
            live.update(findings(runs[2 * i]))
            files.update(findings(runs[2 * i + 1]))
        rest = runs[2 * n :]
        for sub in requests:
            verdicts.append(judge_check("check-live", seed, sub, live.get(sub.key, [])))
            verdicts.append(judge_check("check-file", seed, sub, files.get(sub.key, [])))
        for sub, run in zip(annotated, rest[: len(annotated)]):
            verdicts.append(judge_annotate(seed, sub, run))
        for sub, run in zip(autos, rest[len(annotated) :]):
            verdicts.append(judge_pick(seed, sub, run))
        verdicts += _pins(api, lbip, seed, subjects, PINS)
    finally:
        cs.cleanup(api, sc)
    return Result(seed, subjects, verdicts, time.monotonic() - t0, pools)


def _pins(api: cs.Api, lbip: Lbip, seed: int, subjects: List[cs.Subject], count: int = 6) -> List[Verdict]:
    """Pending services first: a suggestion of free --for pinned with annotate --wait."""
    out: List[Verdict] = []
    pending = [s for s in subjects if s.final is not None and not s.final.satisfied]
    held = [s for s in subjects if s.final is not None and s.final.satisfied]
    for sub in (pending + held)[: 3 * count]:
        if len(out) >= count:
            break
        m = sub.manifest["metadata"]
        free = lbip("free", "--for", m["name"], "-n", m["namespace"], "-o", "json", "--count", "3")
        try:
            suggestions = json.loads(free.stdout)["suggestions"]
        except (ValueError, KeyError):
            suggestions = []
        now = canonical(sub.final.ingress if sub.final else [])
        fresh = [s for s in suggestions if canonical(a for a in (s.get("ipv4"), s.get("ipv6")) if a) != now]
        if not fresh:
            continue
        want = [a for a in (fresh[0].get("ipv4"), fresh[0].get("ipv6")) if a]
        run = lbip(*pin_args(m["name"], m["namespace"], want))
        got = cs.outcome_of(api.get(f"/api/v1/namespaces/{m['namespace']}/services/{m['name']}"))
        ok = run.code == 0 and got is not None and got.satisfied and canonical(got.ingress) == set(want)
        why = (
            ""
            if ok
            else f"free suggested {want}; annotate --wait exit {run.code}: {(run.stdout + run.stderr).strip()}; "
            f"Cilium: {got}"
        )
        out.append(Verdict("pin", seed, sub.key, ok, why))
    return out


@pytest.fixture(scope="module")
def results(cluster: Cluster, cilium_version: str) -> List[Result]:
    assert len(SEEDS) <= len(cs.V4_SLABS), "one IPv4 slab per scenario"
    client = connect(str(cluster.kubeconfig), request_timeout=3600)
    api = cs.Api(client)
    lbip = Lbip(str(cluster.kubeconfig))
    t0 = time.monotonic()
    out = []
    for slot, seed in enumerate(SEEDS):
        res = run_seed(cluster, api, lbip, cilium_version, slot, seed)
        out.append(res)
        bad = [v for v in res.verdicts if not v.agree]
        print(
            f"\n[cilium-conformance] {cilium_version} seed {seed}: {len(res.verdicts)} verdicts, "
            f"{len(bad)} disagreements ({res.seconds:.0f}s)"
        )
        for v in bad:
            print(f"[cilium-conformance] DISAGREE [{v.channel}] seed={v.seed} {v.service}: {v.why}")
    verdicts = [v for r in out for v in r.verdicts]
    print(
        f"\n[cilium-conformance] operator {cilium_version}; {len(out)} scenarios, "
        f"{sum(len(r.subjects) for r in out)} services, "
        f"{sum(1 for r in out for s in r.subjects if s.requested)} requests, "
        f"{time.monotonic() - t0:.0f}s ({lbip.calls} kubectl lbip calls)"
    )
    for ch in CHANNELS:
        vs = [v for v in verdicts if v.channel == ch]
        agree = sum(v.agree for v in vs)
        print(f"[cilium-conformance] agreement {ch:<11} {agree}/{len(vs)} = {100.0 * agree / max(len(vs), 1):.1f}%")
    conftest.CILIUM_AGREEMENT.setdefault(cilium_version, []).append((sum(v.agree for v in verdicts), len(verdicts)))
    return out


def test_enough_requests_and_every_rule_exercised(results: List[Result]) -> None:
    subjects = [s for r in results for s in r.subjects]
    requests = [s for s in subjects if s.requested]
    assert len(requests) >= MIN_REQUESTS or len(SEEDS) < 6, len(requests)
    if len(SEEDS) < 6:
        return
    reasons = collections.Counter(s.final.reason for s in requests if s.final is not None)
    for reason in (
        cilium_model.SATISFIED,
        cilium_model.NO_POOL,
        cilium_model.POOL_SELECTOR_MISMATCH,
        cilium_model.ALREADY_ALLOCATED,
        cilium_model.INCOMPATIBLE_SERVICE,
    ):
        assert reasons[reason] > 0, f"no request ended {reason}: {dict(reasons)}"
    shared = collections.Counter(
        a for s in subjects if s.final and s.final.satisfied for a in canonical(s.final.ingress)
    )
    assert sum(1 for n in shared.values() if n > 1) >= 3, "too few shared addresses"
    autos = [s for s in subjects if not s.requested]
    assert sum(1 for s in autos if s.at_creation.satisfied) >= 20, "too few automatic allocations"
    pools = [p for r in results for p in r.pools]
    conflicting = [
        p
        for p in pools
        if any(
            c.get("type") == cilium_model.POOL_CONFLICT and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or ()
        )
    ]
    assert conflicting, "no pool marked cilium.io/PoolConflict"
    assert any(p["spec"].get("disabled") for p in pools), "no disabled pool"
    flips = {p["spec"].get("allowFirstLastIPs") for p in pools}
    assert {"Yes", "No"} <= flips, flips
    selectors = json.dumps([p["spec"].get("serviceSelector") for p in pools])
    assert cs.NS_LABEL in selectors and cs.NAME_LABEL in selectors, "no pseudo-label selector"
    namespaces: Dict[str, Set[str]] = collections.defaultdict(set)
    for sub in subjects:
        if sub.final and sub.final.satisfied:
            for addr in canonical(sub.final.ingress):
                namespaces[addr].add(sub.manifest["metadata"]["namespace"])
    assert any(len(n) > 1 for n in namespaces.values()), "no address shared across namespaces"


@pytest.mark.parametrize("channel", CHANNELS)
def test_channel_agrees_with_cilium(results: List[Result], channel: str) -> None:
    vs = [v for r in results for v in r.verdicts if v.channel == channel]
    assert vs, f"no verdict on channel {channel}"
    bad = [v for v in vs if not v.agree]
    assert not bad, f"{len(bad)}/{len(vs)} disagreements on {channel}:\n" + "\n".join(
        f"seed={v.seed} {v.service}: {v.why}" for v in bad
    )

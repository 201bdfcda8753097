"""Disagreements between the plugin and MetalLB's controller (v0.15.2) found by the
e2e conformance run (tests/e2e/test_conformance.py), each reduced to plain data.

Each disagreement is pinned by a test that failed before its fix, beside the near
misses the fix must keep.
"""

from builders import dual, lbips, live_cluster, pool, svc

from kubectl_lbip.errors import Refused
from kubectl_lbip.model import annotate, rules
from kubectl_lbip.model.findings import findings_for
from kubectl_lbip.model.services import Service

POOL = pool("p", "192.0.2.0/28", "2001:db8::/124")


def verdict(cluster, target, addresses):
    """What `kubectl lbip annotate` decides: None when accepted, else the codes."""
    try:
        annotate.plan(cluster, Service.from_object(target), addresses)
    except Refused as err:
        return sorted(f.code for f in err.findings)
    return None


# -- pending-request-blocks ---------------------------------------------------
#
# MetalLB's allocator only knows the addresses it has *assigned*
# (allocator.checkSharing looks at sharingKeyForIP / portsInUse, filled by
# assign()).  A service whose request MetalLB refused (here: an IPv4 address on
# a dual-stack service -> "does not match the ipFamily of the service") holds
# nothing, so the next service asking for that address gets it at once.  The
# plugin counted the pending service's request as a use, and refused with
# address-conflict.  Seen live in conformance seeds 102, 104 and 106 (6 of 270
# requests).  Now, on a live cluster, it is a warning naming the pending service;
# in manifests (no statuses to trust) it stays an error.

PENDING = dual("ns", "pending", annotations=lbips("192.0.2.5"))  # family mismatch, no ingress
FAILURE = {
    "ns/pending": 'Failed to allocate IP for "ns/pending": requested loadBalancer '
    'IP(s) ["192.0.2.5"] does not match the ipFamily of the service'
}


def test_request_of_a_pending_service_does_not_block_an_address():
    c = live_cluster(POOL, PENDING, failures=FAILURE)
    new = svc("ns", "new")  # no sharing key: it could share with nobody
    assert verdict(c, new, ["192.0.2.5"]) is None  # MetalLB assigns 192.0.2.5


def test_check_request_accepts_address_only_requested_by_a_pending_service():
    c = live_cluster(POOL, PENDING, failures=FAILURE)
    new = Service.from_object(svc("ns", "new"))
    v = rules.check_request(c, new, rules.make_request(["192.0.2.5"]))
    assert v.accepted, [f.message for f in v.findings]


def test_address_held_by_another_service_still_blocks():
    """The near miss the fix must keep: MetalLB assigned it, so it is taken."""
    holder = svc("ns", "holder", annotations=lbips("192.0.2.5"), ingress=["192.0.2.5"])
    c = live_cluster(POOL, holder)
    assert verdict(c, svc("ns", "new"), ["192.0.2.5"]) == ["address-conflict"]


def test_pending_service_is_still_reported_by_check():
    """check keeps reporting the pending service (error, with MetalLB's reason)."""
    c = live_cluster(POOL, PENDING, failures=FAILURE)
    codes = {(f.name, f.code, f.severity) for f in findings_for(c)}
    assert ("pending", "family-mismatch", "error") in codes
    assert ("pending", "pending", "error") in codes


def test_pending_requester_is_named_in_a_warning():
    c = live_cluster(POOL, PENDING, failures=FAILURE)
    v = rules.check_request(c, Service.from_object(svc("ns", "new")), rules.make_request(["192.0.2.5"]))
    (warning,) = v.findings
    assert warning.severity == rules.WARNING and warning.code == "address-conflict"
    assert "ns/pending" in warning.message


def test_in_manifests_a_request_still_blocks():
    from builders import cluster as offline_cluster

    c = offline_cluster(POOL, PENDING)
    assert verdict(c, svc("ns", "new"), ["192.0.2.5"]) == ["address-conflict"]


# -- check-pending-requester-is-a-conflict (issue 14) ------------------------
#
# Found with `check` through the CLI (live and with -f on a `kubectl get -o json`
# dump): 22 of 323 requests. Pool p holds 198.18.32.0/29 and fd5e:c0f:2:14::/125
# (autoAssign false). s025 (IPv4) requests "198.18.32.5,fd5e:c0f:2:14::5":
# MetalLB refuses it (family mismatch), it stays Pending. s026 (IPv4) requests
# 198.18.32.5: MetalLB assigns it. `check` reported address-conflict (error) on
# s026, naming s025, while `annotate` accepted the same request: check's
# cluster-wide conflict pass counted every request, annotate's rule only
# holdings. Now check runs each service's request through the rule annotate runs
# (rules.check_request), and a request whose status is MetalLB's record and that
# holds nothing claims nothing. The same happened with the Pending requester
# refused under Local policy for other pods, with a deprecated sharing key, with
# an IPv4-mapped address, with a current key differing from the deprecated one.

ISSUE_POOL = pool("p", "198.18.32.0/29", "fd5e:c0f:2:14::/125", auto_assign=False)


def dumped(obj, uid):
    """The object as `kubectl get -o json` prints it: with a uid and a status."""
    out = dict(obj, metadata=dict(obj["metadata"], uid=uid))
    out.setdefault("status", {"loadBalancer": {}})
    return out


def errors_of(cluster, name):
    return sorted(
        f.code for f in findings_for(cluster) if f.name == name and f.severity == rules.ERROR and f.kind == "Service"
    )


def codes_of(cluster, name):
    return sorted(f.code for f in findings_for(cluster) if f.name == name and f.kind == "Service")


S025 = svc("ns", "s025", annotations=lbips("198.18.32.5,fd5e:c0f:2:14::5"))
S026 = svc("ns", "s026", annotations=lbips("198.18.32.5"), ingress=["198.18.32.5"])
S025_FAILED = {
    "ns/s025": 'Failed to allocate IP for "ns/s025": requested loadBalancer IP(s) '
    '["198.18.32.5" "fd5e:c0f:2:14::5"] does not match the ipFamily of the service'
}


def test_check_live_does_not_call_a_pending_requester_a_conflict():
    c = live_cluster(ISSUE_POOL, S025, S026, failures=S025_FAILED)
    assert errors_of(c, "s026") == []  # MetalLB assigned it
    assert codes_of(c, "s026") == []  # not even a warning: nothing is wrong with it
    # the Pending one: refused for its family, and now 198.18.32.5 is taken
    assert errors_of(c, "s025") == ["address-conflict", "family-mismatch", "pending"]
    conflict = [f for f in findings_for(c) if f.name == "s025" and f.code == "address-conflict"]
    assert "198.18.32.5" in conflict[0].message and "ns/s026" in conflict[0].message


def test_check_on_a_dump_that_carries_status_says_the_same_as_live():
    c = builders_cluster(ISSUE_POOL, dumped(S025, "u-25"), dumped(S026, "u-26"))
    assert errors_of(c, "s026") == []
    assert errors_of(c, "s025") == ["address-conflict", "family-mismatch"]


def test_check_and_annotate_agree_on_the_request():
    c = live_cluster(ISSUE_POOL, S025, S026, failures=S025_FAILED)
    bare = svc("ns", "s026")  # annotate s026 198.18.32.5 before MetalLB saw it
    c2 = live_cluster(ISSUE_POOL, S025, bare, failures=S025_FAILED)
    assert verdict(c2, bare, ["198.18.32.5"]) is None
    assert verdict(c, S026, ["198.18.32.5"]) is None  # and on the state after


def test_in_gitops_manifests_two_requests_for_one_address_stay_an_error():
    a = svc("ns", "a", annotations=lbips("198.18.32.5"))
    b = svc("ns", "b", annotations=lbips("198.18.32.5"))
    c = builders_cluster(ISSUE_POOL, a, b)
    assert errors_of(c, "a") == ["address-conflict"] and errors_of(c, "b") == ["address-conflict"]


def test_a_manifest_beside_a_dump_claims_against_a_pending_one_only_as_a_warning():
    """`check -f dump.json -f new.yaml`: the new manifest would get the address (the
    dumped service is Pending); the Pending one is told it will never get it."""
    new = svc("ns", "new", annotations=lbips("198.18.32.5"))
    c = builders_cluster(ISSUE_POOL, dumped(S025, "u-25"), new)
    assert errors_of(c, "new") == []
    assert "address-conflict" in codes_of(c, "new")  # a warning naming ns/s025
    warning = [f for f in findings_for(c) if f.name == "s025" and f.code == "address-conflict"]
    assert warning and warning[0].severity == rules.WARNING


def local(name, selector, key="k1", deprecated=False, addr="198.18.32.5", port="TCP/80", ingress=()):
    ann = {
        "metallb.io/loadBalancerIPs": addr,
        ("metallb.universe.tf/" if deprecated else "metallb.io/") + "allow-shared-ip": key,
    }
    return svc("ns", name, annotations=ann, local=True, selector=selector, ports=[port], ingress=ingress)


def test_pending_refused_for_other_pods_under_local_policy():
    holder = local("holder", {"app": "a"}, ingress=["198.18.32.5"])
    other_pods = local("other", {"app": "b"}, port="UDP/53")
    sharer = local("sharer", {"app": "a"}, port="TCP/443", ingress=["198.18.32.5"])
    c = live_cluster(ISSUE_POOL, holder, other_pods, sharer)
    assert errors_of(c, "sharer") == [] and errors_of(c, "holder") == []
    assert "address-conflict" in errors_of(c, "other")


def test_pending_refused_for_a_deprecated_or_overridden_sharing_key():
    holder = svc(
        "ns",
        "holder",
        annotations={**lbips("198.18.32.5"), "metallb.io/allow-shared-ip": "k1"},
        ingress=["198.18.32.5"],
    )
    deprecated = svc(
        "ns", "dep", ports=["UDP/53"], annotations={**lbips("198.18.32.5"), "metallb.universe.tf/allow-shared-ip": "k2"}
    )
    overridden = svc(
        "ns",
        "over",
        ports=["UDP/54"],
        annotations={
            **lbips("198.18.32.5"),
            "metallb.io/allow-shared-ip": "k2",
            "metallb.universe.tf/allow-shared-ip": "k1",
        },
    )
    sharer = svc(
        "ns",
        "sharer",
        ports=["TCP/443"],
        ingress=["198.18.32.5"],
        annotations={**lbips("198.18.32.5"), "metallb.universe.tf/allow-shared-ip": "k1"},
    )
    c = live_cluster(ISSUE_POOL, holder, deprecated, overridden, sharer)
    assert errors_of(c, "sharer") == [] and errors_of(c, "holder") == []
    assert "address-conflict" in errors_of(c, "dep")
    assert "address-conflict" in errors_of(c, "over")


def test_pending_ipv4_mapped_request_and_a_holder_of_the_plain_address():
    mapped = svc(
        "ns", "mapped", cluster_ips=("fd00:96::10",), annotations=lbips("::ffff:198.18.32.5")
    )  # IPv4 on an IPv6 service
    taker = svc("ns", "taker", annotations=lbips("198.18.32.5"), ingress=["198.18.32.5"])
    c = live_cluster(ISSUE_POOL, mapped, taker)
    assert errors_of(c, "taker") == []
    assert "family-mismatch" in errors_of(c, "mapped")


def test_mapped_request_held_as_the_plain_address_is_held_exactly():
    holder = svc("ns", "h", annotations=lbips("::ffff:198.18.32.5"), ingress=["198.18.32.5"])
    c = live_cluster(ISSUE_POOL, holder)
    assert codes_of(c, "h") == []


# -- held-request-reported-as-error (issue 14 item 2) ------------------------
#
# A service whose status shows exactly its request has been accepted by MetalLB:
# `check` reports no error about that request, whatever the rules say now.


def test_a_service_holding_its_request_gets_no_error_about_it():
    # the pool's serviceAllocation was narrowed after MetalLB assigned the address
    narrowed = pool("p", "198.18.32.0/29", allocation={"namespaces": ["other"]})
    holder = svc("ns", "h", annotations=lbips("198.18.32.5"), ingress=["198.18.32.5"])
    c = live_cluster(narrowed, holder)
    assert errors_of(c, "h") == []
    (warning,) = [f for f in findings_for(c) if f.name == "h"]
    assert warning.code == "pool-incompatible" and warning.severity == rules.WARNING
    assert "MetalLB has assigned these addresses already" in warning.message
    # near miss: holding something else is no acceptance of the request
    moved = svc("ns", "h", annotations=lbips("198.18.32.5"), ingress=["198.18.32.6"])
    assert "pool-incompatible" in errors_of(live_cluster(narrowed, moved), "h")


# -- free gives the same verdict ----------------------------------------------


def test_free_suggests_what_a_pending_service_only_requests_as_metallb_would():
    from kubectl_lbip.model.suggest import suggest

    small = pool("small", "198.18.32.0/31")
    pending = svc("ns", "pending", cluster_ips=("fd00:96::10",), annotations=lbips("198.18.32.0"))
    c = live_cluster(small, pending)
    got = [s.ipv4 for s in suggest(c, "ipv4", 2).suggestions]
    assert got == ["198.18.32.0", "198.18.32.1"]
    # in manifests the request is an intention, and claims the address
    got = [s.ipv4 for s in suggest(builders_cluster(small, pending), "ipv4", 2).suggestions]
    assert got == ["198.18.32.1"]


def builders_cluster(*objects):
    from builders import cluster

    return cluster(*objects)


# -- one request, one verdict (issue 14 item 1), on random states -------------

REQUEST_CODES = rules.REQUEST_CODES


def _random_state(rng, live):
    pools = [
        pool("a", "198.18.0.0/29", "2001:db8:a::/125", avoid_buggy=rng.random() < 0.3),
        pool("b", "198.18.1.0/30", allocation={"namespaces": ["x"]}),
        pool("c", "2001:db8:c::/126"),
    ]
    v4 = [f"198.18.0.{i}" for i in range(8)] + [f"198.18.1.{i}" for i in range(4)]
    v6 = [f"2001:db8:a::{i}" for i in range(8)] + [f"2001:db8:c::{i}" for i in range(4)]
    services = []
    for i in range(rng.randint(2, 7)):
        fam = rng.choice(["v4", "v6", "dual"])
        ask = {"v4": [rng.choice(v4)], "v6": [rng.choice(v6)], "dual": [rng.choice(v4), rng.choice(v6)]}[
            rng.choice(["v4", "v6", "dual"])
        ]
        ann = {"metallb.io/loadBalancerIPs": ",".join(ask)}
        if rng.random() < 0.5:
            ann["metallb.io/allow-shared-ip"] = rng.choice(["k", "j"])
        if rng.random() < 0.1:
            ann["metallb.io/address-pool"] = rng.choice(["a", "b", "c"])
        ips = {"v4": ("10.96.0.1",), "v6": ("fd00:96::1",), "dual": ("10.96.0.1", "fd00:96::1")}[fam]
        holds = ask if rng.random() < 0.4 else ()
        services.append(
            svc(
                rng.choice(["x", "y"]),
                f"s{i}",
                cluster_ips=ips,
                annotations=ann,
                ports=[rng.choice(["TCP/80", "TCP/443", "UDP/53"])],
                local=rng.random() < 0.2,
                selector={"app": rng.choice("ab")},
                ingress=holds,
            )
        )
    objs = pools + services
    return (live_cluster(*objs) if live else builders_cluster(*objs)), services


def test_check_and_annotate_give_one_verdict_on_every_request_random_states():
    import random

    rng = random.Random(14)
    compared = 0
    for _ in range(300):
        live = rng.random() < 0.6
        c, services = _random_state(rng, live)
        by_name = {}
        for f in findings_for(c):
            if f.kind == "Service" and f.code in REQUEST_CODES and f.severity == rules.ERROR:
                by_name.setdefault((f.namespace, f.name), set()).add(f.code)
        for obj in services:
            target = Service.from_object(obj, observed=live or None)
            text = obj["metadata"]["annotations"]["metallb.io/loadBalancerIPs"]
            try:
                annotate.plan(c, c.service(target.namespace, target.name), [text], overwrite=True)
                refused = set()
            except Refused as err:
                refused = {f.code for f in err.findings}
            assert refused == by_name.get((target.namespace, target.name), set()), (live, obj)
            compared += 1
    assert compared > 800

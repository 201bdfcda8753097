"""Disagreements between the plugin and MetalLB's controller (v0.15.2) found by the
e2e conformance run (tests/e2e/test_conformance.py), each reduced to plain data.

Each disagreement is pinned by a test that failed before its fix, beside the near
misses the fix must keep.
"""

from builders import dual, lbips, live_cluster, pool, svc

from kubectl_lbip.model import annotate, rules
from kubectl_lbip.model.findings import findings_for
from kubectl_lbip.model.services import Service

POOL = pool("p", "192.0.2.0/28", "2001:db8::/124")


def verdict(cluster, target, addresses):
    """What `kubectl lbip annotate` decides: None when accepted, else the codes."""
    try:
        annotate.plan(cluster, Service.from_object(target), addresses)
    except annotate.Refused as err:
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
FAILURE = {"ns/pending": 'Failed to allocate IP for "ns/pending": requested loadBalancer '
           'IP(s) ["192.0.2.5"] does not match the ipFamily of the service'}


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

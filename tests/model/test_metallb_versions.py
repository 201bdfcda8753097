"""Where MetalLB releases differ, on plain data: each test names the MetalLB change
it mirrors (kubectl_lbip/model/metallb.py has one function per difference), and
checks both sides of it. The e2e tier's conformance matrix measures the same
rules against v0.14.9's, v0.15.3's and v0.16.1's controllers."""

import pytest
from builders import dual, pool, svc

from kubectl_lbip.model import metallb
from kubectl_lbip.model.findings import findings_for
from kubectl_lbip.model.services import Service
from kubectl_lbip.model.suggest import full_pool_failure, metallb_pick
from kubectl_lbip.snapshot import Snapshot
from kubectl_lbip.snapshot.trim import classify

V14, V15, V16 = (0, 14, 9), (0, 15, 3), (0, 16, 1)


def cluster(*objects, version=metallb.NEWEST, live=False):
    snap = classify(objects, Snapshot(source="test", live=live))
    snap.metallb = metallb.Release(version, metallb.text(version), "flag", "test")
    return snap.to_cluster()


def pick(c, target):
    p = metallb_pick(c, Service.from_object(target))
    return p.pools, p.ipv4


# -- v0.15: a priority-only serviceAllocation matches every service -----------
# internal/config/config.go addressPoolServiceAllocationsFromCR: from v0.15 a pool
# whose serviceAllocation has no namespaces, namespaceSelectors or serviceSelectors
# gets labels.Everything() as its service selector (poolsByServiceSelector), so it is
# tried by priority before the unrestricted pools. In v0.14 it is in no pinned list
# and the unrestricted list skips pools with a serviceAllocation: never automatic.

PRIORITY_ONLY = pool("prio", "192.0.2.0/29", allocation={"priority": 5})
OPEN = pool("open", "198.51.100.0/29")


def test_v15_and_v16_pick_the_priority_only_pool_first():
    for version in (V15, V16):
        assert pick(cluster(PRIORITY_ONLY, OPEN, version=version), svc("ns", "a")) == (["prio"], "192.0.2.0")


def test_v14_never_picks_the_priority_only_pool_automatically():
    assert pick(cluster(PRIORITY_ONLY, OPEN, version=V14), svc("ns", "a")) == (["open"], "198.51.100.0")


def test_v14_with_only_a_priority_only_pool_assigns_nothing():
    assert pick(cluster(PRIORITY_ONLY, version=V14), svc("ns", "a"))[0] == []
    assert pick(cluster(PRIORITY_ONLY, version=V16), svc("ns", "a"))[0] == ["prio"]


def test_v14_still_serves_the_priority_only_pool_by_name():
    """isPoolCompatibleWithService admits every service: the address-pool annotation works."""
    named = svc("ns", "a", annotations={"metallb.io/address-pool": "prio"})
    assert pick(cluster(PRIORITY_ONLY, OPEN, version=V14), named) == (["prio"], "192.0.2.0")


def test_a_namespace_restricted_pool_is_pinned_in_every_release():
    """The near miss: a serviceAllocation with namespaces is pinned in v0.14 too."""
    team = pool("team", "192.0.2.0/29", allocation={"priority": 5, "namespaces": ["ns"]})
    for version in (V14, V15, V16):
        assert pick(cluster(team, OPEN, version=version), svc("ns", "a"))[0] == ["team"]


# -- v0.15: RequireDualStack needs two clusterIPs ---------------------------------
# controller/service.go (v0.15): "not enough clusterips" and nothing allocated. v0.14
# takes the family from the clusterIPs alone: a single-stack service.

ONE_IP_REQUIRE_DUAL = svc("ns", "odd", policy="RequireDualStack")


def test_require_dual_stack_with_one_cluster_ip():
    s = Service.from_object(ONE_IP_REQUIRE_DUAL)
    assert s.family(V16)[0] is None and s.family(V15)[0] is None
    assert s.family(V14) == ("ipv4", "")
    assert pick(cluster(OPEN, version=V14), ONE_IP_REQUIRE_DUAL) == (["open"], "198.51.100.0")
    assert pick(cluster(OPEN, version=V16), ONE_IP_REQUIRE_DUAL)[0] == []


# -- v0.15: a single-stack service gets an address of its own family only ------
# internal/allocator/allocation.go selectIPsForFamilyAndPolicy (v0.15) aligns the
# addresses with the clusterIP ("if we don't have dual cluster ips"); v0.14 goes by
# the ipFamilyPolicy, so PreferDualStack with one clusterIP (a single-stack cluster)
# takes an IPv4 and an IPv6 address from a pool that has both. (A dual-stack API
# server gives such a service two clusterIPs: not measurable in the e2e tier.)


def test_v14_prefer_dual_stack_with_one_cluster_ip_takes_both_families():
    both = pool("both", "192.0.2.0/29", "2001:db8::/125")
    prefer = svc("ns", "pref", policy="PreferDualStack")  # clusterIPs: one IPv4
    p14 = metallb_pick(cluster(both, version=V14), Service.from_object(prefer))
    p15 = metallb_pick(cluster(both, version=V15), Service.from_object(prefer))
    assert (p14.ipv4, p14.ipv6) == ("192.0.2.0", "2001:db8::")
    assert (p15.ipv4, p15.ipv6) == ("192.0.2.0", None)
    # a pool with one family: the same in both
    v4 = metallb_pick(cluster(OPEN, version=V14), Service.from_object(prefer))
    assert (v4.ipv4, v4.ipv6) == ("198.51.100.0", None)


# -- v0.15 and v0.16: a full pool named by the address-pool annotation -----------
# internal/allocator/allocator.go getFreeIPsFromPool (v0.16) errors with "no available
# IPs in pool NAME". Before, the empty choice went to selectIPsForFamilyAndPolicy
# (internal/allocator/allocation.go): v0.15 returns the service's family's address
# for a single-stack service even when there is none, and Assign answers
# '["<nil>"] is not allowed in config'; v0.14 goes by the policy and says "no
# available IPs in pool NAME for ipv4 IPFamily" (as both say for a dual-stack one).
# Measured live: tests/e2e/test_versions.py::test_full_pool_named_by_annotation.

TINY = pool("tiny", "192.0.2.1/32")
HOLDER = svc("ns", "holder", ingress=["192.0.2.1"], annotations={"metallb.io/ip-allocated-from-pool": "tiny"})
WANTS = svc("ns", "wants", annotations={"metallb.io/address-pool": "tiny"})


@pytest.mark.parametrize(
    "version,said",
    [
        (V14, "no available IPs in pool tiny for ipv4 IPFamily"),
        (V15, '["<nil>"] is not allowed in config'),
        (V16, "no available IPs in pool tiny"),
    ],
)
def test_full_pool_message_follows_the_release(version, said):
    c = cluster(TINY, HOLDER, WANTS, version=version)
    found = full_pool_failure(c, c.service("ns", "wants"))
    assert found is not None and (found[0].name, found[1]) == ("tiny", said)
    exhausted = [f for f in findings_for(c) if f.code == "pool-exhausted" and f.kind == "Service"]
    assert [(f.name, f.severity) for f in exhausted] == [("wants", "error")]
    assert said in exhausted[0].message
    assert f"MetalLB {metallb.text(version)}" in exhausted[0].message


def test_dual_stack_service_on_a_pool_with_only_ipv6_left():
    """v0.16 too: one family still free, so getFreeIPsFromPool succeeds and
    selectIPsForFamilyAndPolicy refuses the RequireDualStack service."""
    p = pool("tiny", "192.0.2.1/32", "2001:db8::/126")
    wants = dual("ns", "wants", annotations={"metallb.io/address-pool": "tiny"})
    for version in (V14, V16):
        c = cluster(p, HOLDER, wants, version=version)
        assert full_pool_failure(c, c.service("ns", "wants"))[1] == ("no available IPs in pool tiny for dual IPFamily")


def test_a_pool_with_room_is_not_reported():
    c = cluster(pool("tiny", "192.0.2.0/30"), HOLDER, WANTS)
    assert full_pool_failure(c, c.service("ns", "wants")) is None
    assert not [f for f in findings_for(c) if f.kind == "Service" and f.code == "pool-exhausted"]


# -- parsing and telling the release ---------------------------------------------


def test_parse_versions():
    assert metallb.parse("v0.16.1") == (0, 16, 1)
    assert metallb.parse("0.14") == (0, 14, 0)
    assert metallb.parse("v0.15.3-rc.1") == (0, 15, 3)
    for bad in ("", "latest", "v1", "main", "0.x.1", "v0.16.1.2"):
        with pytest.raises(metallb.VersionError):
            metallb.parse(bad)


def test_behaves_as_maps_each_release_to_the_measured_one():
    assert [metallb.behaves_as(v) for v in ((0, 13, 10), V14, (0, 15, 0), V15, (0, 16, 0), (0, 17, 2))] == [
        "v0.14.9",
        "v0.14.9",
        "v0.15.3",
        "v0.15.3",
        "v0.16.1",
        "v0.16.1",
    ]


@pytest.mark.parametrize(
    "image,version",
    [
        ("quay.io/metallb/controller:v0.16.1", (0, 16, 1)),
        ("quay.io/metallb/controller:v0.14.9@sha256:0123abcd", (0, 14, 9)),
        ("registry.local:5000/mirror/metallb/controller:v0.15.3", (0, 15, 3)),
        ("quay.io/metallb/controller@sha256:0123abcd", None),
        ("quay.io/metallb/controller:main", None),
        ("quay.io/metallb/speaker:v0.16.1", None),
        ("registry.local:5000/controller:v0.16.1", None),
    ],
)
def test_version_from_image(image, version):
    assert metallb.version_from_image(image) == version


def test_version_from_the_resources_served():
    v16 = ["bfdprofiles", "configurationstates", "ipaddresspools", "servicebgpstatuses", "servicel2statuses"]
    assert metallb.version_from_resources(v16) == (">=v0.15.3", metallb.NEWEST)
    assert (
        metallb.version_from_resources(["ipaddresspools", "servicebgpstatuses", "servicel2statuses"])[0]
        == "v0.15.0-v0.15.2"
    )
    assert metallb.version_from_resources(["ipaddresspools", "servicel2statuses"]) == ("v0.14", (0, 14, 9))
    assert metallb.version_from_resources(["bgppeers"]) is None


# -- hostile text: any image reference or version string, never a traceback ------

ALPHABET = "v0123456789.:@/-+_abcdefghijklmnopqrstuvwxyzQUAY \t\n\x00é"


def _texts(n=3000, seed=16):
    import random

    rng = random.Random(seed)
    pieces = ["v0.16.1", "quay.io/", "metallb/controller", ":", "@sha256:", "0.", "v", "-rc.1"]
    for _ in range(n):
        parts = [
            rng.choice(pieces)
            if rng.random() < 0.5
            else "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(0, 5))
        ]
        yield "".join(parts)


def test_any_text_parses_or_is_a_version_error():
    for text in _texts():
        try:
            version = metallb.parse(text)
        except metallb.VersionError:
            continue
        assert len(version) == 3 and all(x >= 0 for x in version), text


def test_any_image_reference_gives_a_version_or_none():
    for image in _texts():
        version = metallb.version_from_image(image)
        assert version is None or metallb.parse(metallb.text(version)) == version, image

from builders import cluster, dual, lbips, namespace, pool, svc

from kubectl_lbip.model.addresses import DUAL, IPV4, IPV6, parse_ip
from kubectl_lbip.model.legacy import LegacyConfig
from kubectl_lbip.model.pools import pool_from_object, pools_from_legacy_config
from kubectl_lbip.model.services import ASSIGNED, REQUESTED, REQUESTED_DEPRECATED, SPEC_IP, Service


def make_pool(*addresses, **kw):
    return pool_from_object(pool("p", *addresses, **kw), {})


def test_pool_counts_exact_big_integers_per_family():
    p = make_pool("192.168.1.0/24", "fd00::/64", "10.0.0.1-10.0.0.10")
    assert p.families() == (IPV4, IPV6)
    assert p.total(IPV4) == 256 + 10
    assert p.total(IPV6) == 18446744073709551616


def test_avoid_buggy_ips_subtracts_dot_zero_and_dot_255():
    p = make_pool("192.168.0.0/16", "fd00::/120", avoid_buggy=True)
    assert p.total(IPV4) == 65536 - 512
    assert p.total(IPV6) == 256
    v = int(parse_ip("192.168.3.0"))
    assert p.contains(IPV4, v) and not p.allocatable(IPV4, v)
    assert p.allocatable(IPV4, v + 1)


def test_pool_keeps_listed_order_of_ranges():
    p = make_pool("192.168.2.0/24", "192.168.1.0/24")
    assert [str(iv) for iv in p.intervals] == ["192.168.2.0/24", "192.168.1.0/24"]


def test_bad_pool_address_names_pool_and_value():
    p = make_pool("192.168.1.0/24", "192.168.300.0/24")
    assert not p.valid
    assert "pool p" in p.errors[0] and "192.168.300.0/24" in p.errors[0]


def test_pool_without_addresses_is_invalid():
    assert not make_pool().valid


def test_auto_assign_defaults_true():
    assert make_pool("192.168.1.0/24").auto_assign
    assert not make_pool("192.168.1.0/24", auto_assign=False).auto_assign


def test_service_allocation_namespaces_and_selectors():
    p = pool_from_object(
        pool(
            "p",
            "192.168.1.0/24",
            allocation={"priority": 5, "namespaces": ["a"], "serviceSelectors": [{"matchLabels": {"tier": "web"}}]},
        ),
        {},
    )
    assert p.admits("a", {"tier": "web"})
    assert not p.admits("b", {"tier": "web"})
    assert not p.admits("a", {"tier": "db"})
    assert p.allocation.priority == 5


def test_namespace_selectors_resolve_against_namespace_labels():
    c = cluster(
        pool("p", "192.168.1.0/24", allocation={"namespaceSelectors": [{"matchLabels": {"team": "blue"}}]}),
        namespace("blue-app", team="blue"),
        namespace("red-app", team="red"),
    )
    p = c.pool("p")
    assert p.admits("blue-app", {})
    assert not p.admits("red-app", {})


def test_match_expressions():
    p = pool_from_object(
        pool(
            "p",
            "192.168.1.0/24",
            allocation={
                "serviceSelectors": [
                    {
                        "matchExpressions": [
                            {"key": "env", "operator": "In", "values": ["prod", "stage"]},
                            {"key": "legacy", "operator": "DoesNotExist"},
                        ]
                    }
                ]
            },
        ),
        {},
    )
    assert p.admits("x", {"env": "prod"})
    assert not p.admits("x", {"env": "dev"})
    assert not p.admits("x", {"env": "prod", "legacy": "1"})


def test_empty_service_allocation_admits_every_service_and_pins():
    p = pool_from_object(pool("p", "192.168.1.0/24", allocation={}), {})
    assert p.admits("any", {})
    assert p.pinned_for("any")


def test_legacy_configmap_pools():
    pools = pools_from_legacy_config(
        LegacyConfig.from_object(
            {
                "address-pools": [
                    {
                        "name": "l2",
                        "protocol": "layer2",
                        "addresses": ["192.168.1.0/24"],
                        "auto-assign": False,
                        "avoid-buggy-ips": True,
                    }
                ]
            }
        )
    )
    assert pools[0].legacy and not pools[0].auto_assign and pools[0].avoid_buggy_ips
    assert pools[0].total(IPV4) == 254


def service(**kw):
    return Service.from_object(svc("ns", "s", **kw))


def test_family_from_cluster_ips():
    assert service().family() == (IPV4, "")
    assert service(cluster_ips=("fd00::1",)).family() == (IPV6, "")
    assert Service.from_object(dual("ns", "s")).family() == (DUAL, "")


def test_require_dual_stack_with_one_cluster_ip_is_an_error():
    family, why = service(policy="RequireDualStack").family()
    assert family is None and "RequireDualStack" in why


def test_family_of_manifest_not_yet_applied():
    assert service(cluster_ips=(), policy="RequireDualStack").family()[0] == DUAL
    assert service(cluster_ips=(), ip_families=["IPv6"]).family()[0] == IPV6
    assert service(cluster_ips=()).family()[0] == IPV4


def test_current_annotation_wins_over_deprecated():
    s = service(
        annotations={"metallb.io/loadBalancerIPs": "192.0.2.1", "metallb.universe.tf/loadBalancerIPs": "192.0.2.2"}
    )
    assert s.request.how == REQUESTED and [str(a) for a in s.request.addresses] == ["192.0.2.1"]


def test_current_key_present_but_empty_still_wins():
    s = service(annotations={"metallb.io/address-pool": "", "metallb.universe.tf/address-pool": "old"})
    assert s.pool_annotation == ""


def test_deprecated_request_and_spec_ip():
    assert service(annotations={"metallb.universe.tf/loadBalancerIPs": "192.0.2.2"}).request.how == REQUESTED_DEPRECATED
    s = service(lb_ip="192.0.2.3")
    assert s.request.how == SPEC_IP and not s.has_both_requests
    both = service(lb_ip="192.0.2.3", annotations=lbips("192.0.2.3"))
    assert both.has_both_requests


def test_sharing_and_backend_keys():
    s = service(annotations={"metallb.universe.tf/allow-shared-ip": "k"}, local=True, selector={"app": "x", "b": "y"})
    assert s.sharing_key == "k"
    assert s.backend_key == "app=x,b=y"
    assert service().backend_key == ""


def test_usage_index_records_every_how():
    c = cluster(
        svc("a", "held", ingress=["192.0.2.1"]),
        svc("a", "req", annotations=lbips("192.0.2.1")),
        svc("a", "old", annotations={"metallb.universe.tf/loadBalancerIPs": "192.0.2.1"}),
        svc("a", "spec", lb_ip="::ffff:192.0.2.1"),
        svc("a", "notlb", type="ClusterIP", annotations=lbips("192.0.2.1")),
    )
    hows = sorted((u.service.name, u.how) for u in c.index.uses(IPV4, int(parse_ip("192.0.2.1"))))
    assert hows == [("held", ASSIGNED), ("old", REQUESTED_DEPRECATED), ("req", REQUESTED), ("spec", SPEC_IP)]


def test_usage_index_range_query_is_sorted():
    c = cluster(
        svc("a", "x", ingress=["192.0.2.9"]), svc("a", "y", ingress=["192.0.2.3"]), svc("a", "z", ingress=["192.0.3.1"])
    )
    from kubectl_lbip.model.addresses import parse_network

    got = c.index.used_in(parse_network("192.0.2.0/24"))
    assert got == [int(parse_ip("192.0.2.3")), int(parse_ip("192.0.2.9"))]


def test_pool_lookup_by_address():
    c = cluster(pool("a", "192.0.2.0/25"), pool("b", "192.0.2.128/25", "fd00::/64"))
    assert c.pool_containing(parse_ip("192.0.2.200")).name == "b"
    assert c.pool_containing(parse_ip("192.0.2.5")).name == "a"
    assert c.pool_containing(parse_ip("fd00::ffff")).name == "b"
    assert c.pool_containing(parse_ip("198.51.100.1")) is None


def test_overlaps_found_within_and_across_pools():
    c = cluster(
        pool("a", "192.0.2.0/24", "192.0.2.128/25"), pool("b", "192.0.2.10-192.0.2.20"), pool("c", "198.51.100.0/24")
    )
    pairs = {(pa.name, pb.name) for pa, _, pb, _ in c.overlaps}
    assert ("a", "a") in pairs
    assert any("b" in p for p in pairs)
    assert all("c" not in p for p in pairs)

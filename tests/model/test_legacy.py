"""The legacy ConfigMap to IPAddressPool and advertisements, as MetalLB's own
converter does it."""

from kubectl_lbip.model import legacy
from kubectl_lbip.model.legacy import LegacyConfig, kubernetes_name


def convert(config, *args):
    """legacy.convert of a data.config mapping (valid: built by its table, as
    snapshot.legacy_config does after the shape check)."""
    return legacy.convert(LegacyConfig.from_object(config), *args)


def by_kind(conversion, kind):
    return [o for o in conversion.objects if o["kind"] == kind]


def test_layer2_pool_becomes_a_pool_and_an_l2_advertisement():
    result = convert(
        {
            "address-pools": [
                {
                    "name": "production",
                    "protocol": "layer2",
                    "addresses": ["192.168.10.0/24", "fd00:10::/64"],
                    "auto-assign": False,
                    "avoid-buggy-ips": True,
                }
            ]
        },
        "metallb",
    )
    [pool] = by_kind(result, "IPAddressPool")
    assert pool == {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "production", "namespace": "metallb"},
        "spec": {"addresses": ["192.168.10.0/24", "fd00:10::/64"], "autoAssign": False, "avoidBuggyIPs": True},
    }
    [adv] = by_kind(result, "L2Advertisement")
    assert adv["spec"] == {"ipAddressPools": ["production"]}
    assert adv["metadata"]["namespace"] == "metallb"
    assert by_kind(result, "BGPAdvertisement") == [] and result.notes == []


def test_unset_flags_stay_unset():
    result = convert(
        {"address-pools": [{"name": "p", "protocol": "layer2", "addresses": ["10.0.0.0/28"], "avoid-buggy-ips": False}]}
    )
    assert by_kind(result, "IPAddressPool")[0]["spec"] == {"addresses": ["10.0.0.0/28"]}
    assert by_kind(result, "IPAddressPool")[0]["metadata"]["namespace"] == "metallb-system"


def test_bgp_pool_carries_its_advertisements_and_communities():
    result = convert(
        {
            "peers": [{"peer-address": "10.0.0.1", "peer-asn": 64501, "my-asn": 64500}],
            "bgp-communities": {"no-export": "65535:65281"},
            "address-pools": [
                {
                    "name": "bgp-space",
                    "protocol": "bgp",
                    "addresses": ["198.51.100.0/24"],
                    "bgp-advertisements": [
                        {
                            "aggregation-length": 32,
                            "aggregation-length-v6": 64,
                            "localpref": 100,
                            "communities": ["64512:1", "no-export"],
                        },
                        {"aggregation-length": 24},
                    ],
                }
            ],
        }
    )
    first, second = by_kind(result, "BGPAdvertisement")
    assert first["spec"] == {
        "aggregationLength": 32,
        "aggregationLengthV6": 64,
        "localPref": 100,
        "communities": ["64512:1", "no-export"],
        "ipAddressPools": ["bgp-space"],
    }
    assert second["spec"] == {"aggregationLength": 24, "ipAddressPools": ["bgp-space"]}
    assert first["metadata"]["name"] != second["metadata"]["name"]
    [community] = by_kind(result, "Community")
    assert community["spec"] == {"communities": [{"name": "no-export", "value": "65535:65281"}]}
    assert any("1 BGP peer(s) not converted" in n for n in result.notes)
    assert by_kind(result, "L2Advertisement") == []


def test_bgp_pool_without_advertisements_gets_a_plain_one():
    result = convert({"address-pools": [{"name": "b", "protocol": "bgp", "addresses": ["10.0.0.0/28"]}]})
    [adv] = by_kind(result, "BGPAdvertisement")
    assert adv["spec"] == {"ipAddressPools": ["b"]}


def test_unknown_community_alias_and_protocol_are_noted():
    result = convert(
        {
            "address-pools": [
                {
                    "name": "b",
                    "protocol": "bgp",
                    "addresses": ["10.0.0.0/28"],
                    "bgp-advertisements": [{"communities": ["missing"]}],
                },
                {"name": "c", "protocol": "l2", "addresses": ["10.0.1.0/28"]},
            ]
        }
    )
    assert any("'missing'" in n for n in result.notes)
    assert any("protocol 'l2'" in n for n in result.notes)
    assert [o["metadata"]["name"] for o in by_kind(result, "IPAddressPool")] == ["b", "c"]


def test_pool_names_become_kubernetes_names_and_the_rename_is_noted():
    assert kubernetes_name("My_Pool") == "my-pool"
    result = convert({"address-pools": [{"name": "My_Pool", "protocol": "layer2", "addresses": ["10.0.0.0/28"]}]})
    assert by_kind(result, "L2Advertisement")[0]["spec"]["ipAddressPools"] == ["my-pool"]
    assert any("'My_Pool'" in n and "address-pool annotation" in n for n in result.notes)

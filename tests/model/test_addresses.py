import ipaddress

import pytest

from kubectl_lbip.model.addresses import (
    IPV4,
    IPV6,
    AddressError,
    Interval,
    address_value,
    buggy_count,
    canonical,
    is_buggy,
    parse_ip,
    parse_network,
    parse_pool_address,
    sort_addresses,
    split_request,
)


def test_ipv4_mapped_ipv6_is_ipv4_as_in_go():
    assert parse_ip("::ffff:192.0.2.1") == ipaddress.IPv4Address("192.0.2.1")


def test_canonical_text_of_ipv6():
    assert canonical("fd00:0:0::150") == "fd00::150"
    assert canonical(" FD00::0150 ") == "fd00::150"


@pytest.mark.parametrize("text", ["", "192.0.2", "192.0.2.256", "fe80::1%eth0", "192.0.2.1/32", "abc", "192.168.01.1"])
def test_not_an_address(text):
    with pytest.raises(AddressError):
        parse_ip(text)


def test_cidr_becomes_one_interval_with_host_bits_masked_as_go_does():
    iv = parse_pool_address("192.168.1.5/24")
    assert iv == Interval(IPV4, int(ipaddress.IPv4Address("192.168.1.0")), int(ipaddress.IPv4Address("192.168.1.255")))
    assert str(iv) == "192.168.1.0/24"


def test_range_with_spaces_around_the_dash():
    iv = parse_pool_address("192.168.1.10 - 192.168.1.20")
    assert iv.size == 11
    assert str(iv) == "192.168.1.10-192.168.1.20"


def test_range_start_after_end_is_refused():
    with pytest.raises(AddressError, match="after the end"):
        parse_pool_address("192.168.1.20-192.168.1.10")


def test_range_of_mixed_families_is_refused():
    with pytest.raises(AddressError):
        parse_pool_address("192.168.1.1-fd00::1")


@pytest.mark.parametrize("text", ["192.168.1.0", "192.168.1.0/33", "nonsense", "fd00::/129"])
def test_invalid_pool_entries(text):
    with pytest.raises(AddressError):
        parse_pool_address(text)


def test_a_slash_64_has_exactly_two_to_the_64_addresses():
    assert parse_pool_address("fd00::/64").size == 2**64
    assert parse_pool_address("fd00::/48").size == 2**80


def test_buggy_addresses_are_counted_without_enumerating():
    assert buggy_count(parse_pool_address("10.0.0.0/8")) == 2 * 65536
    assert buggy_count(parse_pool_address("192.168.1.0/24")) == 2
    assert buggy_count(parse_pool_address("192.168.1.1-192.168.1.254")) == 0
    assert buggy_count(parse_pool_address("192.168.1.255-192.168.2.0")) == 2
    assert buggy_count(parse_pool_address("fd00::/120")) == 0
    # Cross-check a small range by brute force.
    iv = parse_pool_address("192.168.0.200-192.168.3.10")
    assert buggy_count(iv) == sum(is_buggy(IPV4, v) for v in range(iv.first, iv.last + 1))


def test_split_request_trims_and_reports_bad_elements():
    addrs, bad = split_request(" 192.0.2.1 , fd00::1")
    assert [str(a) for a in addrs] == ["192.0.2.1", "fd00::1"]
    assert bad == []
    addrs, bad = split_request("192.0.2.1,")
    assert bad == [""]
    _, bad = split_request("192.0.2.1,nope")
    assert bad == ["nope"]


def test_sort_puts_ipv4_first():
    addrs = [parse_ip("fd00::1"), parse_ip("192.0.2.9"), parse_ip("192.0.2.1")]
    assert [str(a) for a in sort_addresses(addrs)] == ["192.0.2.1", "192.0.2.9", "fd00::1"]
    texts = ["192.0.2.9", "192.0.2.1", "fd00::1", "fd00::0:1", "::ffff:192.0.2.1", "10.0.0.1"]
    for first in texts:  # every pair (the fast path), in both orders, equal ones kept in order
        for second in texts:
            pair = [parse_ip(first), parse_ip(second)]
            assert sort_addresses(iter(pair)) == sorted(pair, key=lambda a: (a.version, int(a))), (first, second)


def test_query_network_accepts_address_or_cidr():
    assert parse_network("fd00::1").size == 1
    assert parse_network("fd00::/120").family == IPV6
    assert parse_network("192.0.2.0/30").size == 4


def test_fast_ipv4_path_agrees_with_the_general_parser():
    import random

    rng = random.Random(3)
    samples = [
        "0.0.0.0",
        "255.255.255.255",
        "1.2.3.4",
        "01.2.3.4",
        "1.2.3.04",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1..2.3",
        "1.2.3.",
        "+1.2.3.4",
        "1.2.3.٣",
        "1.2.3.4 ",
        " 1.2.3.4",
        "1.2.3.4\x00",
        "1.2.3.4\n",
        "0x1.2.3.4",
        "1.2.3.4.",
        "١.2.3.4",
        "1e2.2.3.4",
        " ",
        "1.2.3.-4",
        "1.2.3.4/32",
        "1.2.3.4%0",
        "01.1.1.1",
        "1.1.1.00",
        "255.255.255.256",
        "1 .2.3.4",
        "\ud800.1.1.1",
    ]
    for _ in range(2000):
        samples.append(
            ".".join(
                str(rng.choice([rng.randint(0, 300), rng.randint(0, 9)])).zfill(rng.choice([1, 1, 1, 2, 3]))
                for _ in range(rng.choice([3, 4, 4, 4, 5]))
            )
        )
    for text in samples:
        try:
            expected = ipaddress.ip_address(text.strip())
        except ValueError:
            expected = None
        try:
            got = parse_ip(text)
        except AddressError:
            got = None
        assert got == expected, text
        assert _value_or_none(text) == (None if got is None else (IPV4 if got.version == 4 else IPV6, int(got))), text


def _general_parse(text):
    """parse_ip's meaning through the ipaddress module alone (the general path)."""
    text = text.strip()
    if not text or "%" in text or "/" in text:
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _value_or_none(text):
    try:
        return address_value(text)
    except AddressError:
        return None


def test_fast_ipv6_path_agrees_with_the_general_parser():
    import random

    rng = random.Random(5)
    samples = [
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1::2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        ":::",
        "1:::2",
        "1::2::3",
        ":1::",
        "1::2:",
        "12345::",
        "fd00:1b::2266",
        "FD00:001B:0000::2266",
        "::ffff:a00:2266",
        "::FFFF:0a00:2266",
        "0:0:0:0:0:ffff:a00:2266",
        "::ffff:10.0.34.102",
        "fe80::1%eth0",
        "g::1",
        "::1 ",
        " fd00::1",
        "fd00::١",
        "\u0066d00::1",
        "fd00::/64",
        "",
        ":",
        "1:",
        ":1",
        "1::2:",
        "::ffff:0:0",
        "::fffe:1:2",
        "0::0",
        "00000::",
        "0000::",
        "::0:",
        "a:b:c:d:e:f:a:b:",
        ":a:b:c:d:e:f:a:b",
        "1:2:3:4:5:6::7:8",
        "1:2:3:4:5:6:7::8",
    ]
    digits = "0123456789abcdefABCDEF"
    for _ in range(20000):
        groups = [
            "".join(rng.choice(digits) for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 4, 5])))
            for _ in range(rng.choice([1, 2, 3, 6, 7, 8, 8, 9]))
        ]
        text = ":".join(groups)
        if rng.random() < 0.5:
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice([":", "::", "::", ":::", ".", "ffff:"]) + text[at:]
        if rng.random() < 0.1:
            text = "::ffff:" + text
        samples.append(text)
    for text in samples:
        try:
            got = parse_ip(text)
        except AddressError:
            got = None
        assert got == _general_parse(text), text
        assert type(got) is type(_general_parse(text)), text
        # address_value (the usage index's integers) reads every text as parse_ip does
        assert _value_or_none(text) == (None if got is None else (IPV4 if got.version == 4 else IPV6, int(got))), text

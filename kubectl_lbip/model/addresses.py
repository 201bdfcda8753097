"""Addresses as integers: parsing the way MetalLB (Go's net package) does, and
inclusive integer intervals so that no range is ever enumerated."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple, Union

from ..errors import InvalidValue

IPV4 = "ipv4"
IPV6 = "ipv6"
DUAL = "dual"
FAMILIES = (IPV4, IPV6)

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class AddressError(InvalidValue):
    """Text that MetalLB would not accept as an address, CIDR or range."""


def parse_ip(text: str) -> Address:
    """Parse one address as Go's net.ParseIP does.

    IPv4-mapped IPv6 (``::ffff:192.0.2.1``) is IPv4, because Go's To4() says so and
    MetalLB files such an address under IPv4. Zones (``fe80::1%eth0``) are refused,
    as Go refuses them; Python would accept them.
    """
    text = text.strip() if isinstance(text, str) else text
    fast = _dotted_quad(text)
    if fast is not None:
        return fast
    if not isinstance(text, str) or not text or "%" in text or "/" in text:
        raise AddressError(f"{text!r} is not an IP address")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise AddressError(f"{text!r} is not an IP address") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _dotted_quad(text) -> Optional[ipaddress.IPv4Address]:
    """Plain IPv4 text, parsed without the ipaddress module's general parser: most
    addresses in a cluster are IPv4, and parsing them is most of loading a large
    snapshot. Anything unusual returns None and takes the general path."""
    if type(text) is not str:
        return None
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (0 < len(part) <= 3 and part.isascii() and part.isdigit()) or \
                (part[0] == "0" and len(part) > 1):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = (value << 8) | octet
    return ipaddress.IPv4Address(value)


def family_of(addr: Address) -> str:
    return IPV4 if addr.version == 4 else IPV6


def family_bits(family: str) -> int:
    return 32 if family == IPV4 else 128


def to_text(family: str, value: int) -> str:
    """Canonical text of an address given as an integer."""
    if family == IPV4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


def canonical(text: str) -> str:
    return str(parse_ip(text))


@dataclass(frozen=True, order=True)
class Interval:
    """An inclusive range of addresses of one family, as two integers."""

    family: str
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def contains(self, value: int) -> bool:
        return self.first <= value <= self.last

    def overlaps(self, other: "Interval") -> bool:
        return (self.family == other.family and self.first <= other.last
                and other.first <= self.last)

    def __str__(self) -> str:
        first, last = to_text(self.family, self.first), to_text(self.family, self.last)
        if self.first == self.last:
            return first
        prefix = _as_prefix(self)
        if prefix is not None:
            return f"{first}/{prefix}"
        return f"{first}-{last}"


def _as_prefix(iv: Interval) -> Optional[int]:
    size = iv.size
    if size & (size - 1):
        return None
    host_bits = size.bit_length() - 1
    if iv.first & (size - 1):
        return None
    return family_bits(iv.family) - host_bits


def parse_pool_address(text: str) -> Interval:
    """One entry of an IPAddressPool's ``addresses``: a CIDR or ``start-end``.

    MetalLB splits a range into CIDRs; one interval covers exactly the same set
    of addresses, so this keeps it whole. Like Go's net.ParseCIDR, host bits in a
    CIDR are allowed and masked off.
    """
    if not isinstance(text, str) or not text.strip():
        raise AddressError(f"invalid CIDR {text!r}")
    if "-" not in text:
        if "/" not in text or "%" in text:
            raise AddressError(f"invalid CIDR {text!r}")
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise AddressError(f"invalid CIDR {text!r}") from None
        family = IPV4 if net.version == 4 else IPV6
        return Interval(family, int(net.network_address), int(net.broadcast_address))
    start_text, end_text = text.split("-", 1)
    try:
        start, end = parse_ip(start_text), parse_ip(end_text)
    except AddressError:
        raise AddressError(f"invalid IP range {text!r}") from None
    if start.version != end.version:
        raise AddressError(f"invalid IP range {text!r}: start and end are of different families")
    if int(start) > int(end):
        raise AddressError(f"invalid IP range {text!r}: start IP {start} is after the end IP {end}")
    return Interval(family_of(start), int(start), int(end))


def parse_network(text: str) -> Interval:
    """A query: one address or a CIDR (``who-has 192.0.2.0/24``)."""
    if "/" in text:
        return parse_pool_address(text)
    addr = parse_ip(text)
    return Interval(family_of(addr), int(addr), int(addr))


def is_buggy(family: str, value: int) -> bool:
    """An IPv4 address ending in .0 or .255, which some firmwares mishandle."""
    return family == IPV4 and (value & 0xFF) in (0, 255)


def _buggy_upto(value: int) -> int:
    """How many addresses in [0, value] end in .0 or .255."""
    if value < 0:
        return 0
    return 2 * (value >> 8) + 1 + (1 if (value & 0xFF) == 255 else 0)


def buggy_count(iv: Interval) -> int:
    if iv.family != IPV4:
        return 0
    return _buggy_upto(iv.last) - _buggy_upto(iv.first - 1)


def split_request(text: str) -> Tuple[List[Address], List[str]]:
    """Split a loadBalancerIPs value the way MetalLB does (comma, spaces trimmed).

    Returns the parsed addresses and the elements that are not addresses; an empty
    element (``"192.0.2.1,"``) is not an address, for MetalLB too.
    """
    addresses: List[Address] = []
    invalid: List[str] = []
    for element in text.split(","):
        try:
            addresses.append(parse_ip(element))
        except AddressError:
            invalid.append(element.strip())
    return addresses, invalid


def sort_addresses(addresses: Iterable[Address]) -> List[Address]:
    """IPv4 first, then IPv6, each ascending: the order the plugin writes."""
    return sorted(addresses, key=lambda a: (a.version, int(a)))

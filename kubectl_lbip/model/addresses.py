"""Addresses as integers: parsing the way MetalLB (Go's net package) does, and
inclusive integer intervals so that no range is ever enumerated."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple, Union

from ..errors import InvalidValue

try:  # the C module: `socket` itself would add its enums to every start
    from _socket import AF_INET as _AF_INET
    from _socket import AF_INET6 as _AF_INET6
    from _socket import inet_pton as _inet_pton
except ImportError:  # pragma: no cover - an interpreter without _socket
    from socket import AF_INET as _AF_INET
    from socket import AF_INET6 as _AF_INET6
    from socket import inet_pton as _inet_pton

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
    if isinstance(text, str):
        text = text.strip()
        fast = _dotted_quad(text) if "." in text else _hextets(text)
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
    snapshot. inet_pton(AF_INET) takes exactly what Go and Python take: four
    decimal octets up to 255, no leading zero (glibc, musl and BSD alike; a test
    holds it to ipaddress's answers). Anything else returns None and takes the
    general path."""
    try:
        packed = _inet_pton(_AF_INET, text)
    except (OSError, ValueError, TypeError):
        return None
    return ipaddress.IPv4Address(int.from_bytes(packed, "big"))


_HEXTETS_ONLY = re.compile(r"[0-9a-fA-F:]{2,39}")


def address_value(text: str) -> Tuple[str, int]:
    """(family, integer) of an address, as parse_ip reads it (AddressError when it
    is not one), without an ipaddress object: the usage index of a large snapshot
    needs only the integers of every held address."""
    try:
        return IPV4, int.from_bytes(_inet_pton(_AF_INET, text), "big")
    except (OSError, ValueError, TypeError):
        pass
    value = _hextets_value(text)
    if value is not None:
        if value >> 32 == 0xFFFF:  # IPv4-mapped: IPv4, as Go's To4() says
            return IPV4, value & 0xFFFFFFFF
        return IPV6, value
    addr = parse_ip(text)
    return (IPV4 if addr.version == 4 else IPV6), int(addr)


def _hextets_value(text) -> Optional[int]:
    """The integer of IPv6 text made only of hex digits and colons (see _hextets);
    None for anything else."""
    if type(text) is not str or not _HEXTETS_ONLY.fullmatch(text):
        return None
    try:
        return int.from_bytes(_inet_pton(_AF_INET6, text), "big")
    except (OSError, ValueError):
        return None


def _hextets(text) -> Optional[Address]:
    """IPv6 text made only of hex digits and colons (every form kubectl prints, and
    most that people write), parsed by inet_pton(AF_INET6): on such text it takes
    what Go and Python take (groups of one to four digits, one "::" standing for at
    least one zero group; glibc, musl and BSD alike, and a test holds it to
    ipaddress's answers). Anything else (an IPv4 tail, a zone...) returns None and
    takes the general path."""
    value = _hextets_value(text)
    if value is None:
        return None
    if value >> 32 == 0xFFFF:  # IPv4-mapped: IPv4, as Go's To4() says
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return ipaddress.IPv6Address(value)


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
        return self.family == other.family and self.first <= other.last and other.first <= self.last

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
    items = list(addresses)
    if len(items) == 2:  # the usual dual-stack pair (every service of a large file): one comparison
        first, second = items
        return [second, first] if (second.version, int(second)) < (first.version, int(first)) else items
    return sorted(items, key=lambda a: (a.version, int(a)))

"""Which items of a large JSON list can name an address: a test on their text.

`who-has` reports on the few services that hold or request the addresses it is
asked about. Modelling every service of a 50k-service file to find them costs
more than decoding the file; instead, the services of an item are modelled only
when the item's JSON text could spell one of those addresses. The test never
misses one (every spelling Go's net.ParseIP and this plugin accept, IPv4-mapped
IPv6, leading zeros and upper case in IPv6, and any JSON escape); it may let
through more, which the exact parser then sorts out. Where no cheap test exists
(an IPv6 range without a fixed non-zero group, a wide IPv4 range, ``::``), there
is none, and every service is modelled."""

from __future__ import annotations

import re
from typing import Callable, List, Optional, Sequence, Tuple, Union

from ..model.addresses import IPV4, Interval

Pattern = re.Pattern
Test = Union[str, Pattern]
Select = Callable[[str, int, int], bool]

# A JSON string may spell any character as \uXXXX: an item with an escape is
# always let through (kubectl writes \u0026 for "&", rarely anything else).
ESCAPE = "\\u"
# An IPv4-mapped IPv6 address (::ffff:a00:1, ::FFFF:10.0.0.1, 0:0:0:0:0:ffff:...)
# always has an ffff group between two colons, in some case.
MAPPED = re.compile(r":[fF][fF][fF][fF]:")


def _hex_group(value: int, anchored: bool) -> Pattern:
    """One IPv6 group in any spelling: any case, up to three leading zeros."""
    digits = "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in f"{value:x}")
    if anchored:  # a group after the first always follows a colon
        return re.compile(f":0{{0,3}}{digits}(?![0-9a-fA-F])")
    return re.compile(f"(?<![0-9a-fA-F])0{{0,3}}{digits}(?![0-9a-fA-F])")


def _dotted(value: int) -> str:
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _groups(value: int) -> List[int]:
    return [(value >> (16 * (7 - i))) & 0xFFFF for i in range(8)]


def text_tests(query: Interval) -> Optional[List[Test]]:
    """Texts (str) or patterns one of which every spelling of every address of the
    query contains; None when there is no such cheap test."""
    if query.family == IPV4:
        first = [(query.first >> s) & 0xFF for s in (24, 16, 8, 0)]
        last = [(query.last >> s) & 0xFF for s in (24, 16, 8, 0)]
        fixed = 0
        while fixed < 4 and first[fixed] == last[fixed]:
            fixed += 1
        if fixed == 0:
            return None
        # Dotted text (also inside ::ffff:a.b.c.d): every octet without leading
        # zeros, which Go and Python refuse; else the mapped IPv6 hex form.
        text = ".".join(map(str, first[:fixed])) + ("" if fixed == 4 else ".")
        return [text, MAPPED]
    if query.first == query.last:
        groups = _groups(query.first)
        if not any(groups):
            return None
        if groups[7] or groups[6]:
            k = 7 if groups[7] else 6
            # groups 6 and 7 may be written as a dotted IPv4 tail instead
            return [_hex_group(groups[k], anchored=True), _dotted(query.first & 0xFFFFFFFF)]
        k = max(i for i in range(6) if groups[i])
        return [_hex_group(groups[k], anchored=k > 0)]
    # A range: a non-zero group that every address of it shares, before the last
    # two (those may be written as a dotted tail).
    first, last = _groups(query.first), _groups(query.last)
    shared = 0
    while shared < 6 and first[shared] == last[shared]:
        shared += 1
    nonzero = [i for i in range(shared) if first[i]]
    if not nonzero:
        return None
    k = nonzero[-1]
    return [_hex_group(first[k], anchored=k > 0)]


def selecting(queries: Sequence[Interval]) -> Optional[Select]:
    """``select(text, start, end)``: whether text[start:end] (one item's JSON) could
    name an address of the queries; None when every item must be modelled."""
    texts: List[str] = [ESCAPE]
    patterns: List[Pattern] = []
    for query in queries:
        tests = text_tests(query)
        if tests is None:
            return None
        for test in tests:
            if isinstance(test, str):
                if test not in texts:
                    texts.append(test)
            elif test not in patterns:
                patterns.append(test)
    plan: Tuple[Tuple[str, ...], Tuple[Pattern, ...]] = (tuple(texts), tuple(patterns))

    def select(text: str, start: int, end: int) -> bool:
        for needle in plan[0]:
            if text.find(needle, start, end) >= 0:
                return True
        for pattern in plan[1]:
            if pattern.search(text, start, end) is not None:
                return True
        return False

    return select

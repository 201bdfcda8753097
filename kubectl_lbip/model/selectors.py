"""Kubernetes label selectors (matchLabels and matchExpressions), evaluated on plain dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Tuple

from ..errors import InvalidValue


class SelectorError(InvalidValue):
    pass


@dataclass(frozen=True)
class Selector:
    match_labels: Tuple[Tuple[str, str], ...] = ()
    expressions: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = field(default=())

    @classmethod
    def from_object(cls, obj: Mapping) -> "Selector":
        if obj is None:
            obj = {}
        if not isinstance(obj, Mapping):
            raise SelectorError(f"label selector must be an object, got {obj!r}")
        labels = obj.get("matchLabels") or {}
        exprs = []
        for expr in obj.get("matchExpressions") or []:
            op = expr.get("operator")
            values = tuple(str(v) for v in expr.get("values") or ())
            if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
                raise SelectorError(f"unknown label selector operator {op!r}")
            if op in ("In", "NotIn") and not values:
                raise SelectorError(f"operator {op} needs values")
            exprs.append((str(expr.get("key")), op, values))
        return cls(tuple(sorted((str(k), str(v)) for k, v in labels.items())), tuple(exprs))

    @classmethod
    def parse(cls, text: str) -> "Selector":
        """``k=v,k2=v2`` as typed on the command line (equality only)."""
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep or not key:
                raise SelectorError(f"selector {text!r}: expected key=value, got {part!r}")
            pairs.append((key.strip(), value.lstrip("=").strip()))
        return cls(tuple(sorted(pairs)))

    def matches(self, labels: Mapping[str, str]) -> bool:
        labels = labels or {}
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        for key, op, values in self.expressions:
            present = key in labels
            if op == "In" and not (present and labels[key] in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.match_labels]
        for key, op, values in self.expressions:
            if op in ("In", "NotIn"):
                parts.append(f"{key} {op.lower()} ({','.join(values)})")
            else:
                parts.append(key if op == "Exists" else f"!{key}")
        return ",".join(parts) or "<all>"


def selector_list(items) -> List[Selector]:
    return [Selector.from_object(item) for item in items or []]


def selector_or_error(raw: Any) -> Tuple[Optional[Selector], str]:
    """A selector written in an object (None when absent), or None and why it cannot be used."""
    if raw is None:
        return None, ""
    try:
        return Selector.from_object(raw), ""
    except (SelectorError, AttributeError, TypeError) as exc:
        return None, str(exc)


def valid_selector(raw: Any) -> Optional[Selector]:
    """selector_or_error's selector (a table's conversion: the error is the constructor's)."""
    return selector_or_error(raw)[0]

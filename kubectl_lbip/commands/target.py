"""The service addresses are for: an existing one (--for NAME) or one described
by options (-n, --selector, --sharing-key, --ports)."""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

from ..errors import UsageError
from ..model.addresses import DUAL, IPV4, IPV6
from ..model.cluster import Cluster
from ..model.selectors import Selector, SelectorError
from ..model.services import CURRENT, SHARED_IP, Port, Service

FAMILY_CHOICES = (DUAL, IPV4, IPV6)


def find_service(cluster: Cluster, namespace: str, name: str) -> Service:
    svc = cluster.service(namespace, name)
    if svc is None:
        raise UsageError(f'service "{name}" not found in namespace "{namespace}"')
    return svc


def parse_ports(text: Optional[str]) -> List[Port]:
    if not text:
        return []
    try:
        return [Port.parse(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise UsageError(f"--ports: {exc}") from None


def described_service(
    namespace: str,
    family: str,
    selector: Optional[str],
    sharing_key: Optional[str],
    ports: Optional[str],
    sharing: Callable[[str], Dict[str, str]] = lambda key: {CURRENT + SHARED_IP: key},
) -> Service:
    """A service not yet written, as free's options describe it; ``sharing``: the
    annotation that gives it a sharing key (Implementation.sharing_annotation)."""
    labels = {}
    if selector:
        try:
            labels = dict(Selector.parse(selector).match_labels)
        except SelectorError as exc:
            raise UsageError(f"--selector: {exc}") from None
    annotations = sharing(sharing_key) if sharing_key else {}
    return Service(
        namespace=namespace,
        name="(new service)",
        labels=labels,
        annotations=annotations,
        ip_family_policy="RequireDualStack" if family == DUAL else "SingleStack",
        ip_families=("IPv6",) if family == IPV6 else (),
        ports=tuple(parse_ports(ports)),
    )


def check_family(family: Optional[str]) -> Optional[str]:
    if family is not None and family not in FAMILY_CHOICES:
        raise UsageError(f"--family {family!r}: use one of {', '.join(FAMILY_CHOICES)}")
    return family

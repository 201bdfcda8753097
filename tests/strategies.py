"""Hypothesis strategies for Kubernetes-like objects of any shape (issue 20): a
Service, an IPAddressPool, a Namespace, the legacy ConfigMap, Lists of them, whose
fields are drawn either with the right type or as any JSON value, so that the
checks at the boundary, not only the parsers, are exercised."""

from __future__ import annotations

import os

import yaml
from hypothesis import strategies as st


def examples(full: int) -> int:
    """How many examples a property draws: ``full`` where CI is set (CI runs every
    tier with CI=true, and .ci/run sets it), a quarter of it in the quick loop on a
    developer's machine, which stays under its CPU budget (CONTRIBUTING.md)."""
    return full if "CI" in os.environ else max(full // 4, 10)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        ["192.168.10.5", "10.0.0.0/24", "fd00::/120", "TCP", "LoadBalancer", "web", "shop", "http", "false", "80"]
    ),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def field(right):
    """The right type most of the time, anything at all otherwise."""
    return st.one_of(right, right, anything)


names = st.sampled_from(["web", "db", "shop", "a-b", ""])
text_map = field(
    st.dictionaries(
        st.sampled_from(
            [
                "app",
                "metallb.io/loadBalancerIPs",
                "metallb.universe.tf/loadBalancerIPs",
                "metallb.universe.tf/address-pool",
                "metallb.io/allow-shared-ip",
            ]
        ),
        field(st.sampled_from(["web", "192.168.10.5", "p", "k"])),
        max_size=3,
    )
)
metadata = field(
    st.fixed_dictionaries(
        {"name": field(names)},
        optional={
            "namespace": field(names),
            "labels": text_map,
            "annotations": text_map,
            "resourceVersion": field(st.just("7")),
        },
    )
)
ports = field(
    st.lists(
        field(
            st.fixed_dictionaries(
                {"port": field(st.integers(0, 70000))},
                optional={"protocol": field(st.sampled_from(["TCP", "UDP", "SCTP", "tcp"])), "name": field(names)},
            )
        ),
        max_size=2,
    )
)
ips = field(st.lists(field(st.sampled_from(["10.96.0.1", "fd00::1", "x"])), max_size=2))
service = st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Service"), "metadata": metadata},
    optional={
        "spec": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": field(st.sampled_from(["LoadBalancer", "ClusterIP"])),
                    "ports": ports,
                    "clusterIPs": ips,
                    "ipFamilies": ips,
                    "selector": text_map,
                    "loadBalancerIP": field(st.sampled_from(["192.168.10.9", "bad", ""])),
                    "ipFamilyPolicy": field(st.sampled_from(["SingleStack", "RequireDualStack"])),
                },
            )
        ),
        "status": field(
            st.fixed_dictionaries(
                {
                    "loadBalancer": field(
                        st.fixed_dictionaries(
                            {
                                "ingress": field(
                                    st.lists(
                                        field(
                                            st.fixed_dictionaries(
                                                {"ip": field(st.sampled_from(["192.168.10.7", "nope"]))}
                                            )
                                        ),
                                        max_size=2,
                                    )
                                )
                            }
                        )
                    )
                }
            )
        ),
    },
)
selector = field(
    st.fixed_dictionaries(
        {},
        optional={
            "matchLabels": text_map,
            "matchExpressions": field(
                st.lists(
                    field(
                        st.fixed_dictionaries(
                            {"key": field(names), "operator": field(st.sampled_from(["In", "Exists", "Bad"]))},
                            optional={"values": field(st.lists(field(names)))},
                        )
                    ),
                    max_size=2,
                )
            ),
        },
    )
)
pool = st.fixed_dictionaries(
    {"apiVersion": st.just("metallb.io/v1beta1"), "kind": st.just("IPAddressPool"), "metadata": metadata},
    optional={
        "spec": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "addresses": field(
                        st.lists(
                            field(st.sampled_from(["192.168.10.0/24", "fd00::/120", "10.0.0.1-10.0.0.0", "x"])),
                            max_size=3,
                        )
                    ),
                    "autoAssign": field(st.booleans()),
                    "avoidBuggyIPs": field(st.booleans()),
                    "serviceAllocation": field(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "priority": field(st.integers(-5, 5)),
                                "namespaces": field(st.lists(field(names))),
                                "serviceSelectors": field(st.lists(selector, max_size=2)),
                                "namespaceSelectors": field(st.lists(selector, max_size=2)),
                            },
                        )
                    ),
                },
            )
        )
    },
)
namespace = st.fixed_dictionaries({"apiVersion": st.just("v1"), "kind": st.just("Namespace"), "metadata": metadata})
legacy_config = st.fixed_dictionaries(
    {},
    optional={
        "address-pools": field(
            st.lists(
                field(
                    st.fixed_dictionaries(
                        {"name": field(names)},
                        optional={
                            "protocol": field(st.sampled_from(["layer2", "bgp"])),
                            "addresses": field(st.lists(field(st.just("192.168.10.0/24")), max_size=2)),
                            "auto-assign": field(st.booleans()),
                        },
                    )
                ),
                max_size=2,
            )
        )
    },
)
legacy = legacy_config.map(
    lambda config: {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config", "namespace": "metallb-system"},
        "data": {"config": "address-pools: []\n" if not config else yaml.safe_dump(config)},
    }
)
objects = st.one_of(service, service, pool, pool, namespace, legacy, anything)
lists = st.lists(objects, max_size=4).map(lambda items: {"apiVersion": "v1", "kind": "List", "items": items})
documents = st.lists(st.one_of(objects, lists), min_size=1, max_size=4)

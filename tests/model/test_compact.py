"""Service.compact (the model of a service read for free, check, who-has and pools
from files) keeps what the rules read: the same Service as from_object, except
that only MetalLB's annotations are kept and the selector only where it decides
sharing (externalTrafficPolicy Local)."""

import dataclasses
import random

from builders import dual, lbips, svc

from kubectl_lbip.model.services import LAST_APPLIED, Service


def objects(rng: random.Random):
    for i in range(300):
        annotations = {
            LAST_APPLIED: '{"kind":"Service"}',
            "meta.helm.sh/release-name": f"r{i % 3}",
            "metallb.io/ip-allocated-from-pool": "default",
        }
        if rng.random() < 0.5:
            annotations.update(lbips(f"10.0.0.{i % 250}"))
        if rng.random() < 0.3:
            annotations["metallb.universe.tf/allow-shared-ip"] = "k"
        if rng.random() < 0.1:
            annotations["metallb.io/odd"] = 5  # not a string: converted as from_object does
        build = dual if rng.random() < 0.5 else svc
        obj = build(
            f"ns{i % 4}",
            f"s{i}",
            annotations=annotations,
            ingress=[f"10.0.0.{i % 250}"],
            labels={"app": f"a{i % 5}", "tier": "web"},
            local=rng.random() < 0.3,
            ports=rng.choice([("TCP/80",), ("UDP/53", "TCP/53")]),
        )
        if rng.random() < 0.1:
            obj["spec"]["ports"][0]["port"] = "8080"  # a string number, as from_object reads it
        yield obj


def test_compact_is_from_object_minus_what_no_rule_reads():
    for obj in objects(random.Random(2)):
        full = Service.from_object(obj, keep_raw=False)
        compact = Service.compact(obj)
        metallb = {
            k: str(v) for k, v in full.annotations.items() if k.startswith(("metallb.io/", "metallb.universe.tf/"))
        }
        assert compact.annotations == metallb
        assert compact.selector == (full.selector if full.external_traffic_policy == "Local" else {})
        assert dataclasses.replace(compact, annotations=full.annotations, selector=full.selector) == full
        # and every rule input agrees
        assert (
            compact.sharing_key,
            compact.backend_key,
            compact.request,
            compact.held(),
            compact.family(),
            compact.deprecated_keys(),
            compact.ports,
        ) == (
            full.sharing_key,
            full.backend_key,
            full.request,
            full.held(),
            full.family(),
            full.deprecated_keys(),
            full.ports,
        )


def test_compact_shares_repeated_strings():
    a, b = (
        Service.compact(
            svc("shop", n, labels={"app.kubernetes.io/name": "web"}, local=True, annotations=lbips("10.0.0.1"))
        )
        for n in ("a", "b")
    )
    assert next(iter(a.labels)) is next(iter(b.labels))
    assert a.namespace is b.namespace and a.type is b.type

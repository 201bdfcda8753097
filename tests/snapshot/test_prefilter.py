"""who-has models only the services whose JSON text could name a queried address
(snapshot/prefilter.py). Its answer must be exactly the one the model of every
service gives: checked here on generated clusters, with every spelling of an
address the plugin accepts, against the full-model path."""

import ipaddress
import json
import random

import pytest
from builders import dual, lbips, pool, svc

from kubectl_lbip.commands import whohas
from kubectl_lbip.commands.common import Inputs
from kubectl_lbip.model.addresses import parse_ip, parse_network
from kubectl_lbip.model.implementation import MetalLB
from kubectl_lbip.snapshot import documents, files
from kubectl_lbip.snapshot.prefilter import selecting, text_tests

V4 = int(ipaddress.IPv4Address("10.0.0.0"))
V6 = int(ipaddress.IPv6Address("fd00:1b::"))


# --------------------------------------------------------------------------
# spellings


def _hextet(value: int, rng: random.Random) -> str:
    text = f"{value:x}".zfill(rng.choice([1, 1, 2, 4]))
    return "".join(c.upper() if rng.random() < 0.3 else c for c in text)


def spell6(value: int, rng: random.Random) -> str:
    """Any text Python's ipaddress (and Go's ParseIP) reads as this IPv6 address."""
    groups = [(value >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
    tail = None
    if rng.random() < 0.25:
        tail = str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
        groups = groups[:6]
    parts = [_hextet(g, rng) for g in groups]
    zero_runs = [
        (i, j) for i in range(len(groups)) for j in range(i + 1, len(groups) + 1) if all(g == 0 for g in groups[i:j])
    ]
    if zero_runs and rng.random() < 0.8:
        i, j = rng.choice(zero_runs)
        text = ":".join(parts[:i]) + "::" + ":".join(parts[j:])
        if tail:
            text += tail if text.endswith("::") else ":" + tail
    else:
        text = ":".join(parts + ([tail] if tail else []))
    assert parse_ip(text) == ipaddress.IPv6Address(value), text
    return text


def spell4(value: int, rng: random.Random) -> str:
    """Any text read as this IPv4 address: dotted, or IPv4-mapped IPv6."""
    dotted = str(ipaddress.IPv4Address(value))
    r = rng.random()
    if r < 0.6:
        text = dotted
    elif r < 0.75:
        text = rng.choice(["::ffff:", "::FFFF:", "0:0:0:0:0:ffff:", "0::fFfF:"]) + dotted
    else:
        text = (
            rng.choice(["::ffff:", "::FfFf:", "0:0:0:0:0:FFFF:"])
            + _hextet(value >> 16, rng)
            + ":"
            + _hextet(value & 0xFFFF, rng)
        )
    assert parse_ip(text) == ipaddress.IPv4Address(value), text
    return text


def spell(addr, rng: random.Random) -> str:
    text = spell4(int(addr), rng) if addr.version == 4 else spell6(int(addr), rng)
    return text if rng.random() < 0.9 else f" {text} "


# --------------------------------------------------------------------------
# generated clusters


def generated(rng: random.Random, count: int):
    """A List of pools and services: held, requested (current, deprecated and spec
    keys), shared with and without keys, conflicts, other types and classes."""
    pools = [
        pool("a", "10.0.0.0/26", "fd00:1b::/122", avoid_buggy=rng.random() < 0.5),
        pool("b", "10.0.0.64-10.0.0.200", "fd00:1b::100-fd00:1b::1ff"),
    ]
    if rng.random() < 0.3:
        pools.append(pool("overlap", "10.0.0.60/30"))
    pick4 = lambda: ipaddress.IPv4Address(V4 + rng.randrange(0, 260))  # noqa: E731
    pick6 = lambda: ipaddress.IPv6Address(V6 + rng.randrange(0, 0x220))  # noqa: E731
    objects = list(pools)
    for i in range(count):
        family = rng.choice(["ipv4", "ipv4", "dual", "ipv6"])
        addrs = {"ipv4": [pick4()], "ipv6": [pick6()], "dual": [pick4(), pick6()]}[family]
        annotations = {}
        how = rng.random()
        if how < 0.35:
            annotations.update(lbips(",".join(spell(a, rng) for a in addrs)))
        elif how < 0.5:
            annotations["metallb.universe.tf/loadBalancerIPs"] = ",".join(spell(a, rng) for a in addrs)
        if rng.random() < 0.3:
            annotations["metallb.io/allow-shared-ip"] = rng.choice(["k1", "k2"])
        if rng.random() < 0.05:
            annotations["metallb.io/loadBalancerIPs"] = ""
        if rng.random() < 0.3:
            annotations["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(
                {"metadata": {"annotations": {"metallb.io/loadBalancerIPs": str(pick4())}}}
            )
        ingress = [spell(a, rng) for a in addrs] if rng.random() < 0.7 else []
        kw = dict(
            annotations=annotations,
            ingress=ingress,
            ports=rng.choice([("TCP/80",), ("TCP/80", "UDP/53"), ("TCP/443",)]),
            local=rng.random() < 0.2,
            selector={"app": rng.choice(["x", "y"])},
            type=rng.choice(["LoadBalancer"] * 8 + ["ClusterIP", "NodePort"]),
        )
        if family == "ipv4" and how > 0.85:
            kw["lb_ip"] = spell(addrs[0], rng)
        if family == "dual":
            obj = dual(f"ns{i % 3}", f"s{i}", **kw)
        else:
            obj = svc(
                f"ns{i % 3}", f"s{i}", cluster_ips=(("10.96.0.9",) if family == "ipv4" else ("fd00:96::9",)), **kw
            )
        if rng.random() < 0.05:
            obj["spec"]["loadBalancerClass"] = "other.io/lb"
        objects.append(obj)
    return objects


def write(tmp_path, objects, rng: random.Random) -> str:
    text = json.dumps(
        {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}},
        indent=rng.choice([4, None]),
    )
    if rng.random() < 0.4:  # JSON escapes spelling characters of addresses
        spots = [
            i
            for i, char in enumerate(text)
            if char in ".:" and text[i - 1] in "0123456789abcdef:" and text[i + 1] in "0123456789abcdef:"
        ]
        for i in sorted(rng.sample(spots, min(len(spots), rng.choice([1, 3, 10]))), reverse=True):
            text = text[:i] + "\\u%04x" % ord(text[i]) + text[i + 1 :]
    path = tmp_path / f"c{rng.randrange(10**9)}.json"
    path.write_text(text)
    return str(path)


def queries(objects, rng: random.Random):
    """Held and requested addresses (spelled anyhow), free ones, and ranges."""
    used = []
    for obj in objects:
        for ing in (obj.get("status") or {}).get("loadBalancer", {}).get("ingress", []):
            used.append(parse_ip(ing["ip"]))
    out = [spell(a, rng).strip() for a in rng.sample(used, min(4, len(used)))]
    out += [
        str(ipaddress.IPv4Address(V4 + rng.randrange(0, 300))),
        str(ipaddress.IPv6Address(V6 + rng.randrange(0, 0x300))),
        rng.choice(
            [
                "10.0.0.0/30",
                "10.0.0.64/26",
                "10.0.0.0/24",
                "10.0.0.0/8",
                "0.0.0.0/0",
                "fd00:1b::/120",
                "fd00:1b::100/121",
                "fd00::/16",
                "::/0",
                "::ffff:10.0.0.5",
            ]
        ),
    ]
    return out


def answers(path, texts, prefilter):
    inputs = Inputs(filenames=[path])
    _, cluster = whohas.load(inputs, whohas.parse_queries(texts), prefilter=prefilter)
    return whohas.answer(MetalLB(cluster), whohas.parse_queries(texts)), len(cluster.services)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(documents, "CHUNK", 997)
    monkeypatch.setattr(documents, "MARGIN", 300)


@pytest.mark.parametrize("seed", range(40))
def test_prefiltered_answer_is_the_full_model_answer(tmp_path, seed, small_chunks):
    rng = random.Random(seed)
    objects = generated(rng, rng.choice([5, 30, 80]))
    path = write(tmp_path, objects, rng)
    for _ in range(6):
        texts = [rng.choice(queries(objects, rng)) for _ in range(rng.choice([1, 1, 2, 3]))]
        full, all_services = answers(path, texts, prefilter=False)
        fast, modelled = answers(path, texts, prefilter=True)
        assert fast == full, texts
        assert modelled <= all_services


def test_the_prefilter_prunes(tmp_path):
    """Not vacuous: for one address, few of many services are modelled."""
    objects = [pool("a", "10.0.0.0/16", "fd00:1b::/112")]
    for i in range(200):
        objects.append(dual("ns", f"s{i}", ingress=[f"10.0.{i // 250}.{i % 250 + 1}", f"fd00:1b::{i + 1:x}"]))
    path = write(tmp_path, objects, random.Random(1))  # no escape with this seed
    for text in ("10.0.0.7", "::ffff:a00:7", "fd00:1b::7", "FD00:001B:0:0:0:0:0:0007", "fd00:1b::0.0.0.7"):
        full, _ = answers(path, [text], prefilter=False)
        fast, modelled = answers(path, [text], prefilter=True)
        assert fast == full and [h["name"] for h in fast[0]["holders"]] == ["s6"], text
        assert modelled <= 11, text  # s6, and s69..s78 (10.0.0.70-79 contain "10.0.0.7")


def test_every_spelling_passes_the_text_test():
    rng = random.Random(11)
    for _ in range(3000):
        if rng.random() < 0.5:
            addr = ipaddress.IPv4Address(rng.choice([rng.getrandbits(32), V4 + rng.randrange(256), 0]))
        else:
            addr = ipaddress.IPv6Address(
                rng.choice([rng.getrandbits(128), V6 + rng.randrange(1 << 16), V6, rng.getrandbits(16) << 112, 1])
            )
        query = parse_network(str(addr))
        select = selecting([query])
        text = json.dumps({"ip": spell(addr, rng)})
        if select is not None:
            assert select(text, 0, len(text)), (addr, text)


def test_ranges_pass_every_address_inside():
    rng = random.Random(12)
    for cidr in (
        "10.0.34.0/24",
        "10.0.0.0/16",
        "10.0.34.100/30",
        "fd00:1b::/112",
        "fd00:1b::/120",
        "fd00:1b:0:5::/64",
        "2001:db8:1::/48",
    ):
        net = ipaddress.ip_network(cidr)
        select = selecting([parse_network(cidr)])
        assert select is not None, cidr
        for _ in range(300):
            addr = ipaddress.ip_address(int(net.network_address) + rng.randrange(net.num_addresses))
            text = json.dumps({"ip": spell(addr, rng)})
            assert select(text, 0, len(text)), (cidr, text)


def test_no_text_test_where_none_is_cheap():
    for text in ("0.0.0.0/0", "10.0.0.0/7", "::", "::/0", "fd00::/8", "::1:2/120"):
        assert text_tests(parse_network(text)) is None, text


def test_yaml_and_single_objects_model_every_service(tmp_path):
    """The text test needs one JSON list; other files are read whole, every service modelled."""
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(
        yaml.safe_dump_all(
            [pool("a", "10.0.0.0/24"), svc("n", "x", ingress=["10.0.0.1"]), svc("n", "y", ingress=["10.0.0.2"])]
        )
    )
    snap = files.load([str(path)], trimmed=True, select=selecting([parse_network("10.0.0.1")]))
    assert [s.name for s in snap.models] == ["x", "y"]


# --------------------------------------------------------------------------
# the quick shape test of the streamed path


from hypothesis import given, settings  # noqa: E402
from strategies import examples  # noqa: E402
from strategies import service as any_service  # noqa: E402

from kubectl_lbip.errors import InputError  # noqa: E402
from kubectl_lbip.snapshot import shape  # noqa: E402


@settings(max_examples=examples(800), deadline=None)
@given(any_service)
def test_plain_model_only_for_what_the_shape_check_passes_and_equal_to_compact(obj):
    from kubectl_lbip.model.services import Service

    model = Service.plain(obj)
    if model is not None:
        shape.check(obj, shape.schema_of(shape.SERVICE), "here")  # does not raise
        assert model == Service.compact(obj)
    else:
        try:
            shape.check(obj, shape.schema_of(shape.SERVICE), "here")
        except InputError:
            return  # refused by both
        Service.compact(obj)  # valid, just not plain: converted


def test_plain_model_takes_what_kubectl_prints():
    from kubectl_lbip.model.services import Service

    objects = generated(random.Random(3), 200)
    services = [o for o in objects if o["kind"] == "Service"]
    for obj in services:
        obj["metadata"]["uid"] = "0b6f"
        obj["spec"]["ports"][0]["name"] = "http"
        obj["status"]["loadBalancer"]["ingress"] = [
            dict(i, ipMode="VIP") for i in obj["status"]["loadBalancer"]["ingress"]
        ]
    assert all(Service.plain(o) == Service.compact(o) for o in services)
    bad = dict(services[0], spec=dict(services[0]["spec"], ports=[{"port": "80"}]))
    assert Service.plain(bad) is None
    with pytest.raises(InputError, match="spec.ports"):
        shape.check(bad, shape.schema_of(shape.SERVICE), "here")

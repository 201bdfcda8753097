"""annotate: every rule refused and accepted, --auto, --overwrite, --clear-spec-ip,
-f output, and the write path (dry runs, conflict and retry, 403) at unit level."""

import json
import os

import pytest
import yaml
from builders import dual, lbips, pool, svc
from clirunner import CliRunner

from kubectl_lbip.cli import app
from kubectl_lbip.commands.writes import write_with_retry
from kubectl_lbip.errors import ClusterError, ConflictError

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cluster.yaml")
runner = CliRunner()
DUALPOOL = pool("prod", "192.168.10.0/24", "fd00:10::/64", avoid_buggy=True)


def run(*args):
    return runner.invoke(app, list(args))


def write(tmp_path, *objects):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return str(path)


def annotated(result):
    assert result.exit_code == 0, result.stderr
    return yaml.safe_load(result.stdout)


def refused(result, code):
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert f"[{code}]" in result.stderr, result.stderr
    assert result.stdout == ""
    return result.stderr


def test_accepts_and_prints_annotated_service_canonical_ipv4_first(tmp_path):
    path = write(tmp_path, DUALPOOL, dual("shop", "web"))
    obj = annotated(run("annotate", "web", "-n", "shop", "fd00:10:0::7", "192.168.10.7", "-f", path))
    assert obj["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.7,fd00:10::7"
    assert obj["kind"] == "Service" and obj["metadata"]["name"] == "web"


def test_json_output_with_f(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web"))
    r = run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path, "-o", "json")
    assert json.loads(r.stdout)["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.7"


def test_refuses_not_loadbalancer(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web", type="ClusterIP"))
    refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path), "not-loadbalancer")


def test_element_not_an_address_is_exit_2(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web"))
    r = run("annotate", "web", "-n", "shop", "192.168.10.x", "-f", path)
    assert r.exit_code == 2 and "192.168.10.x" in r.stderr


def test_an_overlong_value_is_exit_2_and_not_echoed(tmp_path):
    """Spaces are trimmed around each address, so padding parses: the length is checked first."""
    path = write(tmp_path, DUALPOOL, svc("shop", "web"))
    r = run("annotate", "web", "-n", "shop", "192.168.10.7" + " " * 100_000, "-f", path)
    assert r.exit_code == 2 and "100,012 characters is too long" in r.stderr, r.stderr
    assert r.stdout == "" and len(r.stderr) < 500


def test_refuses_more_than_two_and_two_of_one_family(tmp_path):
    path = write(tmp_path, DUALPOOL, dual("shop", "web"))
    refused(
        run("annotate", "web", "-n", "shop", "192.168.10.7", "fd00:10::7", "192.168.10.8", "-f", path),
        "too-many-addresses",
    )
    refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "192.168.10.8", "-f", path), "too-many-addresses")


def test_refuses_two_addresses_on_single_stack_with_fix(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web"))
    err = refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "fd00:10::7", "-f", path), "family-mismatch")
    assert "RequireDualStack" in err and "PreferDualStack" in err


def test_refuses_one_address_on_dual_stack(tmp_path):
    path = write(tmp_path, DUALPOOL, dual("shop", "web"))
    refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path), "family-mismatch")


def test_refuses_address_in_no_pool_and_buggy(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web"))
    refused(run("annotate", "web", "-n", "shop", "10.0.0.1", "-f", path), "not-in-pool")
    refused(run("annotate", "web", "-n", "shop", "192.168.10.255", "-f", path), "buggy-ip")


def test_refuses_split_pools():
    refused(
        run("annotate", "gateway", "-n", "payments", "192.168.20.5", "fd00:20::5", "--overwrite", "-f", EXAMPLE),
        "split-pool-dual-stack",
    )


def test_refuses_pool_not_admitting_namespace_or_labels(tmp_path):
    team = pool(
        "team",
        "192.168.30.0/24",
        allocation={"namespaces": ["team-a"], "serviceSelectors": [{"matchLabels": {"tier": "web"}}]},
    )
    path = write(
        tmp_path,
        team,
        svc("team-b", "web", labels={"tier": "web"}),
        svc("team-a", "db", labels={"tier": "db"}),
        svc("team-a", "ok", labels={"tier": "web"}),
    )
    refused(run("annotate", "web", "-n", "team-b", "192.168.30.5", "-f", path), "pool-incompatible")
    refused(run("annotate", "db", "-n", "team-a", "192.168.30.5", "-f", path), "pool-incompatible")
    annotated(run("annotate", "ok", "-n", "team-a", "192.168.30.5", "-f", path))


def test_refuses_address_pool_annotation_naming_another_pool(tmp_path):
    path = write(
        tmp_path,
        DUALPOOL,
        pool("other", "192.168.40.0/24"),
        svc("shop", "web", annotations={"metallb.io/address-pool": "other"}),
    )
    refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path), "pool-annotation-mismatch")
    annotated(run("annotate", "web", "-n", "shop", "192.168.40.7", "-f", path))


def test_refuses_address_held_by_another_service_naming_it(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web"), svc("other", "db", ingress=["192.168.10.7"]))
    err = refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path), "address-conflict")
    assert "other/db" in err


def test_accepts_valid_sharing(tmp_path):
    share = {"metallb.io/allow-shared-ip": "k"}
    path = write(
        tmp_path,
        DUALPOOL,
        svc("shop", "web", annotations=share, ports=["UDP/53"]),
        svc("shop", "dns", ingress=["192.168.10.53"], annotations=share, ports=["TCP/53"]),
    )
    obj = annotated(run("annotate", "web", "-n", "shop", "192.168.10.53", "-f", path))
    assert obj["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.53"


def test_spec_ip_refused_unless_clear_spec_ip(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web", lb_ip="192.168.10.7"))
    refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path), "both-spec-and-annotation")
    obj = annotated(run("annotate", "web", "-n", "shop", "192.168.10.7", "--clear-spec-ip", "-f", path))
    assert "loadBalancerIP" not in obj["spec"]
    assert obj["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.7"


def test_existing_annotation_refused_unless_overwrite(tmp_path):
    path = write(tmp_path, DUALPOOL, svc("shop", "web", annotations=lbips("192.168.10.6")))
    refused(run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path), "annotation-exists")
    obj = annotated(run("annotate", "web", "-n", "shop", "192.168.10.7", "--overwrite", "-f", path))
    assert obj["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.7"


def test_deprecated_key_removed_in_same_change(tmp_path):
    path = write(
        tmp_path, DUALPOOL, svc("shop", "web", annotations={"metallb.universe.tf/loadBalancerIPs": "192.168.10.7"})
    )
    obj = annotated(run("annotate", "web", "-n", "shop", "192.168.10.7", "-f", path))
    assert obj["metadata"]["annotations"] == {"metallb.io/loadBalancerIPs": "192.168.10.7"}


def test_auto_takes_free_for_first_suggestion():
    free = json.loads(run("free", "--for", "gateway", "-n", "payments", "-f", EXAMPLE, "-o", "json").stdout)
    first = free["suggestions"][0]
    obj = annotated(run("annotate", "gateway", "-n", "payments", "--auto", "--overwrite", "-f", EXAMPLE))
    assert obj["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == f"{first['ipv4']},{first['ipv6']}"


def test_auto_on_service_holding_addresses_pins_them():
    obj = annotated(run("annotate", "api", "-n", "shop", "--auto", "-f", EXAMPLE))
    assert obj["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.1,fd00:10::"


def test_addresses_and_auto_together_is_usage_error():
    assert run("annotate", "api", "-n", "shop", "--auto", "192.168.10.9", "-f", EXAMPLE).exit_code == 2
    assert run("annotate", "api", "-n", "shop", "-f", EXAMPLE).exit_code == 2
    assert run("annotate", "api", "-n", "shop", "192.168.10.9", "--dry-run=maybe", "-f", EXAMPLE).exit_code == 2


# --- the live write path, at unit level (the fake API server and the real control
# plane test it end to end)
class FakeClient:
    namespace = "shop"

    def __init__(self, snapshots, patch_results):
        self.snapshots = list(snapshots)
        self.patch_results = list(patch_results)
        self.patches = []

    def snapshot(self, events=False, **reads):  # reads: what else LiveClient.snapshot may read
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]

    def patch_service(self, namespace, name, patch, dry_run=False):
        self.patches.append((namespace, name, patch, dry_run))
        result = self.patch_results.pop(0)
        if isinstance(result, Exception):
            raise result
        return {}


def snap(*objects):
    from builders import snapshot

    return snapshot(*objects)


@pytest.fixture
def live(monkeypatch):
    def install(client):
        monkeypatch.setattr("kubectl_lbip.snapshot.live.connect", lambda *a, **k: client)
        return client

    return install


def test_live_patch_carries_resource_version_and_removes_deprecated(live):
    client = live(
        FakeClient(
            [
                snap(
                    DUALPOOL,
                    svc("shop", "web", rv="42", annotations={"metallb.universe.tf/loadBalancerIPs": "192.168.10.3"}),
                )
            ],
            [None],
        )
    )
    r = run("annotate", "web", "192.168.10.7")
    assert r.exit_code == 0, r.stderr
    assert "service/web annotated" in r.stdout
    ns, name, patch, dry = client.patches[0]
    assert (ns, name, dry) == ("shop", "web", False)
    assert patch == {
        "metadata": {
            "resourceVersion": "42",
            "annotations": {"metallb.io/loadBalancerIPs": "192.168.10.7", "metallb.universe.tf/loadBalancerIPs": None},
        }
    }


def test_live_dry_run_client_writes_nothing(live):
    client = live(FakeClient([snap(DUALPOOL, svc("shop", "web"))], []))
    r = run("annotate", "web", "192.168.10.7", "--dry-run=client")
    assert r.exit_code == 0 and client.patches == []
    assert yaml.safe_load(r.stdout)["metadata"]["annotations"]["metallb.io/loadBalancerIPs"] == "192.168.10.7"
    assert "nothing was written" in r.stderr


def test_live_dry_run_server_sends_dry_run(live):
    client = live(FakeClient([snap(DUALPOOL, svc("shop", "web"))], [None]))
    r = run("annotate", "web", "192.168.10.7", "--dry-run=server")
    assert r.exit_code == 0 and client.patches[0][3] is True and "server dry run" in r.stdout


def test_live_conflict_rereads_rechecks_and_never_clobbers(live):
    before = snap(DUALPOOL, svc("shop", "web", rv="1"))
    # Meanwhile someone else took the address: the re-check must refuse.
    after = snap(DUALPOOL, svc("shop", "web", rv="1"), svc("x", "thief", rv="2", ingress=["192.168.10.7"]))
    client = live(FakeClient([before, after], [ConflictError("changed")]))
    r = run("annotate", "web", "192.168.10.7")
    assert r.exit_code == 1 and "[address-conflict]" in r.stderr and "x/thief" in r.stderr
    assert len(client.patches) == 1


def test_live_conflict_then_success_uses_new_resource_version(live):
    client = live(
        FakeClient(
            [snap(DUALPOOL, svc("shop", "web", rv="1")), snap(DUALPOOL, svc("shop", "web", rv="2"))],
            [ConflictError("x"), None],
        )
    )
    r = run("annotate", "web", "192.168.10.7")
    assert r.exit_code == 0, r.stderr
    assert [p[2]["metadata"]["resourceVersion"] for p in client.patches] == ["1", "2"]
    assert "changed since it was read" in r.stderr


def test_live_forbidden_is_exit_3_naming_permission(live):
    live(
        FakeClient(
            [snap(DUALPOOL, svc("shop", "web"))],
            [ClusterError('forbidden: cannot patch services in the namespace "shop": services "web" is forbidden')],
        )
    )
    r = run("annotate", "web", "192.168.10.7")
    assert r.exit_code == 3 and "cannot patch services" in r.stderr and "Traceback" not in r.stderr


def test_write_with_retry_gives_up_after_attempts():
    calls = []

    def send(patch):
        calls.append(patch)
        raise ConflictError("again")

    with pytest.raises(ClusterError, match="kept changing"):
        write_with_retry(lambda reread: {"n": len(calls)}, send, "service a/b", attempts=3)
    assert len(calls) == 3


def test_unchanged_when_already_set(live):
    client = live(FakeClient([snap(DUALPOOL, svc("shop", "web", annotations=lbips("192.168.10.7")))], []))
    r = run("annotate", "web", "192.168.10.7")
    assert r.exit_code == 0 and "unchanged" in r.stdout and client.patches == []

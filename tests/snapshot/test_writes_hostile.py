"""Issue 20, writes against the fake API server: a backup restores only what
migrate changed (validated whole first, names never leave their URL segment,
another cluster refused unless --force), annotate --overwrite replaces only what
the user saw, and Ctrl-C during migrate or restore finishes the current patch,
prints the summary and exits 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from clirunner import CliRunner
from fakeapi import pool, service

from kubectl_lbip.cli import app
from kubectl_lbip.snapshot import live

runner = CliRunner()
OLD, NEW = "metallb.universe.tf/", "metallb.io/"


def cli(*args, **kw):
    return runner.invoke(app, list(args), **kw)


def cluster(fake, n=1):
    fake.add_pool(pool("production", "192.168.10.0/24"))
    for i in range(n):
        fake.add_service(service("shop", f"web{i}", annotations={OLD + "loadBalancerIPs": f"192.168.10.{20 + i}"}))
    return fake


def backup_file(tmp_path, fake, entries, server=None, context="fake"):
    path = tmp_path / "backup.json"
    path.write_text(
        json.dumps(
            {
                "kind": "kubectl-lbip-migrate-backup",
                "version": 2,
                "cluster": {"server": server or fake.url, "context": context},
                "services": entries,
            }
        )
    )
    return str(path)


def entry(**over):
    base = {
        "kind": "Service",
        "namespace": "shop",
        "name": "web0",
        "resourceVersion": "1",
        "annotations": {OLD + "loadBalancerIPs": "192.168.10.20"},
        "loadBalancerIP": "",
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    "bad, words",
    [
        (entry(name="x/../../secrets/sec"), "name 'x/../../secrets/sec' is not a valid name"),
        (entry(namespace="../kube-system"), "namespace '../kube-system' is not a valid name"),
        (entry(annotations={"example.com/pwned": "yes"}), "'example.com/pwned' is not one migrate changes"),
        (entry(kind="Secret"), "a backup restores Services only"),
        (entry(spec={"type": "NodePort"}), "spec are not what migrate saves"),
        (entry(loadBalancerIP=["x"]), "loadBalancerIP must be a string"),
        ("web0", "not an object"),
        # values restore would write are checked as annotate checks them
        (
            entry(annotations={NEW + "loadBalancerIPs": "192.168.10.20" + " " * 5_000_000}),
            "'metallb.io/loadBalancerIPs': 5,000,013 characters is too long",
        ),
        (entry(annotations={OLD + "loadBalancerIPs": "192.168.10.20,evil"}), "'evil' is not an IP address"),
        (entry(annotations={OLD + "loadBalancerIPs": "192.168.10.20,192.168.10.21"}), "two addresses of the same"),
        (entry(annotations={OLD + "loadBalancerIPs": "192.168.10.20,fd00::1,fd00::2"}), "3 addresses (at most two"),
        (entry(loadBalancerIP="192.168.10.20,fd00::20"), "loadBalancerIP: holds one address"),
        (entry(loadBalancerIP="::ffff:"), "loadBalancerIP: '::ffff:' is not an IP address"),
        (entry(annotations={NEW + "allow-shared-ip": "k" * 254}), "254 characters is too long (at most 253)"),
    ],
)
def test_an_invalid_backup_is_refused_whole_and_nothing_is_written(fake, kubeconfig, tmp_path, bad, words):
    cluster(fake)
    path = backup_file(tmp_path, fake, [entry(), bad])
    r = cli("migrate", "--restore", path, "--yes", "--kubeconfig", kubeconfig)
    assert r.exit_code == 2, r.stderr
    assert "service entry 2" in r.stderr and words in r.stderr and "nothing was written" in r.stderr
    assert fake.calls("PATCH") == [] and fake.calls("GET") == []
    assert len(r.stderr) < 1000  # a hostile value is named, not echoed


def test_a_backup_of_another_cluster_is_refused_unless_forced(fake, kubeconfig, tmp_path):
    cluster(fake)
    fake.service("shop", "web0")["metadata"]["annotations"] = {NEW + "loadBalancerIPs": "192.168.10.20"}
    path = backup_file(tmp_path, fake, [entry()], server="https://prod.example:6443", context="prod")
    r = cli("migrate", "--restore", path, "--yes", "--kubeconfig", kubeconfig)
    assert r.exit_code == 2 and "made on the cluster at https://prod.example:6443" in r.stderr
    assert "--force" in r.stderr and fake.calls("PATCH") == []
    r = cli("migrate", "--restore", path, "--yes", "--force", "--kubeconfig", kubeconfig)
    assert r.exit_code == 0, r.stderr
    assert len(fake.calls("PATCH")) == 1


def test_backup_records_the_cluster_and_restore_on_it_works(fake, kubeconfig, tmp_path):
    cluster(fake)
    path = tmp_path / "b.json"
    assert cli("migrate", "--yes", "--backup", str(path), "--kubeconfig", kubeconfig).exit_code == 0
    saved = json.loads(path.read_text())
    assert saved["cluster"] == {"server": fake.url, "context": "fake"}
    assert saved["services"][0]["kind"] == "Service"
    r = cli("migrate", "--restore", str(path), "--yes", "--kubeconfig", kubeconfig)
    assert r.exit_code == 0, r.stderr
    assert fake.service("shop", "web0")["metadata"]["annotations"][OLD + "loadBalancerIPs"] == "192.168.10.20"


def test_only_migrate_keys_are_restored(fake, kubeconfig, tmp_path):
    cluster(fake)
    path = backup_file(tmp_path, fake, [entry(annotations={NEW + "address-pool": "production"})])
    assert cli("migrate", "--restore", path, "--yes", "--kubeconfig", kubeconfig).exit_code == 0
    [patch] = fake.calls("PATCH")
    assert set(patch.body["metadata"]["annotations"]) <= {NEW + "address-pool"}
    assert patch.path == "/api/v1/namespaces/shop/services/web0"


# --- a backup is written whole or not at all
# The child process may write no file larger than this: the backup's write fails in
# the kernel (EFBIG) as it would on a full disk, after part of it went out.
FULL_DISK = """
import resource, signal, sys
from kubectl_lbip.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
sys.argv[0] = "kubectl-lbip"
main()
"""


def test_a_backup_that_cannot_be_written_leaves_nothing_and_the_rerun_works(fake, kubeconfig, tmp_path):
    cluster(fake)
    folder = tmp_path / "backups"
    folder.mkdir()
    path = folder / "b.json"
    argv = ["migrate", "--yes", "--backup", str(path), "--kubeconfig", kubeconfig]
    r = subprocess.run(
        [sys.executable, "-c", FULL_DISK, *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 2, r.stderr
    assert f"cannot write the backup {path}" in r.stderr and "nothing was changed" in r.stderr
    assert "Traceback" not in r.stderr
    assert os.listdir(folder) == []  # no truncated backup, no temporary file
    assert fake.calls("PATCH") == []
    r = cli(*argv)  # the disk has room again: the same command works
    assert r.exit_code == 0, r.stderr
    assert json.loads(path.read_text())["services"][0]["name"] == "web0"
    assert os.listdir(folder) == ["b.json"] and len(fake.calls("PATCH")) == 1


def test_a_backup_made_meanwhile_is_never_overwritten(fake, kubeconfig, tmp_path, monkeypatch):
    """Another run writes the same backup between the existence check and the write:
    its backup stays, and nothing is changed."""
    from kubectl_lbip.commands import migrate_files

    cluster(fake)
    path = tmp_path / "b.json"
    real_temp = migrate_files._temp_beside

    def racing(real, data, mode):
        path.write_text("the other run's backup")
        return real_temp(real, data, mode)

    monkeypatch.setattr(migrate_files, "_temp_beside", racing)
    r = cli("migrate", "--yes", "--backup", str(path), "--kubeconfig", kubeconfig)
    assert r.exit_code == 2 and "already exists" in r.stderr, r.stderr
    assert path.read_text() == "the other run's backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".lbip-tmp")] == []
    assert fake.calls("PATCH") == []


# --- annotate --overwrite replaces only what the user saw
def test_overwrite_after_409_stops_when_the_value_changed(fake, kubeconfig):
    fake.add_pool(pool("production", "192.168.10.0/24"))
    fake.add_service(service("shop", "web", annotations={NEW + "loadBalancerIPs": "192.168.10.20"}))
    fake.concurrent_write("shop", "web", {NEW + "loadBalancerIPs": "192.168.10.99"})
    r = cli("annotate", "web", "192.168.10.30", "--overwrite", "--kubeconfig", kubeconfig)
    assert r.exit_code == 1, r.stderr
    assert "is now '192.168.10.99' (it was '192.168.10.20' when read)" in r.stderr
    assert [c.status for c in fake.calls("PATCH")] == [409]
    assert fake.service("shop", "web")["metadata"]["annotations"][NEW + "loadBalancerIPs"] == "192.168.10.99"


def test_overwrite_after_409_retries_when_the_value_is_unchanged(fake, kubeconfig):
    fake.add_pool(pool("production", "192.168.10.0/24"))
    fake.add_service(service("shop", "web", annotations={NEW + "loadBalancerIPs": "192.168.10.20"}))
    fake.concurrent_write("shop", "web", {"example.com/other": "x"})
    r = cli("annotate", "web", "192.168.10.30", "--overwrite", "--kubeconfig", kubeconfig)
    assert r.exit_code == 0, r.stderr
    assert [c.status for c in fake.calls("PATCH")] == [409, 200]
    assert fake.service("shop", "web")["metadata"]["annotations"][NEW + "loadBalancerIPs"] == "192.168.10.30"


# --- Ctrl-C finishes the current patch, prints the summary, exits 130
def _interrupt_during_second_patch(monkeypatch):
    real = live.LiveClient.patch_service
    count = [0]

    def patch(self, *args, **kwargs):
        count[0] += 1
        if count[0] == 2:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C while this patch is on its way
        return real(self, *args, **kwargs)

    monkeypatch.setattr(live.LiveClient, "patch_service", patch)


def test_ctrl_c_during_migrate_finishes_the_patch_and_reports(fake, kubeconfig, monkeypatch):
    cluster(fake, n=4)
    _interrupt_during_second_patch(monkeypatch)
    r = cli("migrate", "--yes", "--kubeconfig", kubeconfig)
    assert r.exit_code == 130, r.stderr
    assert [c.status for c in fake.calls("PATCH")] == [200, 200]
    assert "2 migrated, 0 skipped, 0 in conflict, 0 failed, 2 not done (interrupted)" in r.stderr


def test_ctrl_c_during_restore_finishes_the_patch_and_reports(fake, kubeconfig, monkeypatch, tmp_path):
    cluster(fake, n=3)
    path = tmp_path / "b.json"
    assert cli("migrate", "--yes", "--backup", str(path), "--kubeconfig", kubeconfig).exit_code == 0
    _interrupt_during_second_patch(monkeypatch)
    r = cli("migrate", "--restore", str(path), "--yes", "-o", "json", "--kubeconfig", kubeconfig)
    assert r.exit_code == 130, r.stderr
    assert json.loads(r.stdout)["summary"] == {"restored": 2, "skipped": 0, "failed": 0, "notDone": 1}
    assert "2 restored, 0 already as backed up, 0 failed, 1 not done (interrupted)" in r.stderr

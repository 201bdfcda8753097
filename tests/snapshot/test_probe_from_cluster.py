"""probe --from-cluster against the fake API server: the pod is created as the
probe's (restartPolicy Never, no credentials, restricted), waited for, its log read
as the probe's results, and deleted on every path: an answer, a pod that cannot
start, the deadline, a log that is not the probe's, an error, Ctrl-C. Nothing
connects anywhere: the fake's pod "runs" by answering its statuses and log."""

import errno
import json

import pytest
from clirunner import CliRunner
from fakeapi import pool, service, status_body

from kubectl_lbip import clusterprobe
from kubectl_lbip.cli import app
from kubectl_lbip.model import probe
from kubectl_lbip.snapshot.live import connect

PODS = "/api/v1/namespaces/shop/pods"


@pytest.fixture
def web(fake):
    fake.add_pool(pool("loop", "10.0.0.0/24"))
    svc = service("shop", "web", ingress=("10.0.0.5",), port=80)
    svc["spec"]["ports"].append({"name": "dns", "protocol": "UDP", "port": 53})
    svc["spec"]["ports"].append({"name": "https", "protocol": "TCP", "port": 443})
    fake.add_service(svc)
    return svc


def said(address, port, error=None, timed_out=False, seconds=0.003):
    return json.dumps({"address": address, "port": port, "errno": error, "timedOut": timed_out, "seconds": seconds})


def run(kubeconfig, *args):
    return CliRunner().invoke(app, ["probe", "web", "--from-cluster", "--kubeconfig", kubeconfig, *args])


def deleted(fake):
    return [r.path for r in fake.calls("DELETE")]


def test_the_pod_probes_and_is_deleted(fake, kubeconfig, web):
    fake.pod_statuses = [{"phase": "Pending"}, {"phase": "Running"}, {"phase": "Succeeded"}]
    fake.pod_log = said("10.0.0.5", 80) + "\n" + said("10.0.0.5", 443, errno.ECONNREFUSED) + "\n"
    result = run(kubeconfig, "-o", "json")
    assert result.exit_code == 1, result.output  # 443 refused
    got = json.loads(result.stdout)
    assert [(r["port"], r["protocol"], r["result"]) for r in got["results"]] == [
        (80, "TCP", "answered"),
        (53, "UDP", "not probed"),
        (443, "TCP", "refused"),
    ]
    (created,) = fake.calls("POST", PODS)
    spec = created.body["spec"]
    name = created.body["metadata"]["name"]
    assert name.startswith(probe.POD_PREFIX) and len(name) == len(probe.POD_PREFIX) + 6
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    (container,) = spec["containers"]
    assert container["image"] == probe.POD_IMAGE
    job = json.loads(container["command"][-1])
    assert job["targets"] == [["10.0.0.5", 80], ["10.0.0.5", 443]] and job["each"] == 2.0
    (log,) = fake.calls("GET", f"{PODS}/{name}/log")
    assert log.param("container") == probe.POD_CONTAINER
    assert log.param("limitBytes") == str(4 * clusterprobe.LOG_BYTES_PER_TARGET)  # a hostile image's log is bounded
    assert deleted(fake) == [f"{PODS}/{name}"] and fake.pods == {}
    assert fake.calls("DELETE")[0].param("gracePeriodSeconds") == "0"


def test_the_image_flag_names_the_pods_image(fake, kubeconfig, web):
    fake.pod_statuses = [{"phase": "Succeeded"}]
    fake.pod_log = said("10.0.0.5", 80) + "\n" + said("10.0.0.5", 443) + "\n"
    result = run(kubeconfig, "--image", "registry.local/python:3.12")
    assert result.exit_code == 0, result.output
    assert fake.calls("POST", PODS)[0].body["spec"]["containers"][0]["image"] == "registry.local/python:3.12"
    assert fake.pods == {}


def test_a_pod_that_never_starts_ends_at_the_deadline_named_and_is_deleted(fake, kubeconfig, web):
    waiting = {"state": {"waiting": {"reason": "ContainerCreating"}}}
    fake.pod_statuses = [{"phase": "Pending", "containerStatuses": [waiting]}]
    result = run(kubeconfig, "--timeout", "1s")
    assert result.exit_code == 3, result.output
    name = fake.calls("POST", PODS)[0].body["metadata"]["name"]
    assert f"pod shop/{name} did not finish within 1s (the --timeout): Pending, ContainerCreating; deleted" in (
        result.stderr
    )
    assert fake.pods == {} and len(deleted(fake)) == 1


def test_an_image_that_cannot_be_pulled_ends_at_once(fake, kubeconfig, web):
    stuck = {"state": {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nope"'}}}
    fake.pod_statuses = [{"phase": "Pending", "containerStatuses": [stuck]}]
    result = run(kubeconfig, "--timeout", "1m", "--image", "nope")
    assert result.exit_code == 3, result.output
    assert "probed nothing: Pending, ImagePullBackOff: Back-off pulling image" in result.stderr
    assert fake.pods == {}


def test_an_image_without_python3_fails_and_is_deleted(fake, kubeconfig, web):
    ended = {"state": {"terminated": {"reason": "StartError", "exitCode": 128, "message": "python3: not found"}}}
    fake.pod_statuses = [{"phase": "Failed", "containerStatuses": [ended]}]
    result = run(kubeconfig)
    assert result.exit_code == 3
    assert "probed nothing: Failed, StartError (exit 128): python3: not found" in result.stderr
    assert fake.pods == {}


@pytest.mark.parametrize(
    "log, why",
    [
        ("Traceback (most recent call last):\n", "line 1: not JSON"),
        (said("10.0.0.9", 80) + "\n", "line 1: names '10.0.0.9' port 80, not the next target"),
        (said("10.0.0.5", 80, error="EPERM") + "\n", "line 1: errno is not a number"),
        (said("10.0.0.5", 80, seconds=-1) + "\n", "line 1: seconds is not a duration"),
        ("[1]\n", "line 1: not a JSON object"),
        ((said("10.0.0.5", 80) + "\n") * 3, "the log has 3 lines for 2 target(s)"),
    ],
)
def test_a_log_that_is_not_the_probes_is_exit_3_and_the_pod_deleted(fake, kubeconfig, web, log, why):
    fake.pod_statuses = [{"phase": "Succeeded"}]
    fake.pod_log = log
    result = run(kubeconfig)
    assert result.exit_code == 3, result.output
    assert "its log is not the probe's: " + why in result.stderr
    assert fake.pods == {}


def test_a_deadline_inside_the_pod_leaves_the_rest_not_probed(fake, kubeconfig, web):
    fake.pod_statuses = [{"phase": "Succeeded"}]
    fake.pod_log = said("10.0.0.5", 80, timed_out=True, seconds=2.0) + "\n"
    result = run(kubeconfig, "-o", "json")
    got = json.loads(result.stdout)
    assert [r["result"] for r in got["results"]] == ["timed out", "not probed", "not probed"]


def test_ctrl_c_while_waiting_deletes_the_pod(fake, kubeconfig, web):
    client = connect(kubeconfig)
    targets = [probe.Target("10.0.0.5", "ipv4", 80, "TCP")]

    def interrupted(seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        clusterprobe.probe_from_pod(client, "shop", targets, "python:3", 10.0, 1.0, sleep=interrupted)
    client.door.close()
    assert len(fake.calls("POST", PODS)) == 1 and fake.pods == {}


def test_a_failed_delete_says_how_to_delete_it(fake, kubeconfig, web):
    fake.pod_statuses = [{"phase": "Succeeded"}]
    fake.pod_log = said("10.0.0.5", 80) + "\n" + said("10.0.0.5", 443) + "\n"
    fake.respond = lambda rec: (
        (500, status_body(500, "InternalError", "etcd is down")) if rec.method == "DELETE" else None
    )
    result = run(kubeconfig)
    assert result.exit_code == 0, result.output  # the probe's answer stands
    name = fake.calls("POST", PODS)[0].body["metadata"]["name"]
    assert f"warning: the probe's pod shop/{name} may remain" in result.stderr
    assert f"kubectl delete pod {name} -n shop" in result.stderr


def test_a_create_whose_answer_is_lost_is_deleted_by_its_name(fake, kubeconfig, web):
    def lost(rec):
        if rec.method != "POST":
            return None
        fake.pods[("shop", rec.body["metadata"]["name"])] = rec.body  # created, and then the answer fails
        return 500, status_body(500, "InternalError", "the connection broke")

    fake.respond = lost
    result = run(kubeconfig)
    assert result.exit_code == 3, result.output
    (created,) = fake.calls("POST", PODS)
    assert deleted(fake) == [f"{PODS}/{created.body['metadata']['name']}"] and fake.pods == {}


def test_no_right_to_create_pods_is_exit_3_and_nothing_to_delete(fake, kubeconfig, web):
    fake.forbidden = {("create", "pods")}
    result = run(kubeconfig)
    assert result.exit_code == 3 and 'cannot create resource "pods"' in result.stderr
    assert deleted(fake) == []


def test_an_answer_that_is_not_a_pod_is_exit_3(fake, kubeconfig, web):
    fake.respond = lambda rec: (201, [1, 2]) if rec.method == "POST" else None
    result = run(kubeconfig)
    assert result.exit_code == 3 and f"POST {PODS}: the answer is not a Pod" in result.stderr


def test_a_pod_status_of_the_wrong_shape_is_exit_3_and_deleted(fake, kubeconfig, web):
    fake.pod_statuses = [{"phase": ["Running"]}]
    result = run(kubeconfig)
    assert result.exit_code == 3 and "field status.phase: expected a string" in result.stderr
    assert fake.pods == {}


def test_image_needs_from_cluster_and_from_cluster_needs_the_cluster(tmp_path):
    lone = CliRunner().invoke(app, ["probe", "web", "--image", "python:3"])
    assert lone.exit_code == 2 and "give --from-cluster too" in lone.stderr
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(json.dumps(service("shop", "web", ingress=("10.0.0.5",))))
    offline = CliRunner().invoke(app, ["probe", "web", "-n", "shop", "--from-cluster", "-f", str(manifest)])
    assert offline.exit_code == 2 and "not with -f" in offline.stderr


def test_the_pods_script_run_here_on_loopback_is_read_back_as_the_probe(tmp_path):
    """The program the pod runs, run by this python on loopback: a listener answers,
    a closed port refuses, and its output is what attempts_from_log reads."""
    import socket
    import subprocess
    import sys

    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen(4)
        closed.bind(("127.0.0.1", 0))
        targets = [
            probe.Target("127.0.0.1", "ipv4", listening.getsockname()[1], "TCP"),
            probe.Target("127.0.0.1", "ipv4", 53, "UDP"),
            probe.Target("127.0.0.1", "ipv4", closed.getsockname()[1], "TCP"),
        ]
        pod = probe.probe_pod("shop", "lbip-probe-test", "python:3", targets, 5.0, 1.0)
        command = pod["spec"]["containers"][0]["command"]
        assert command[0] == "python3"
        out = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, timeout=30, check=True)
    attempts = probe.attempts_from_log(out.stdout, targets)
    assert [probe.outcome(a)[0] if t.probed else None for t, a in zip(targets, attempts)] == [
        probe.ANSWERED,
        None,
        probe.REFUSED,
    ]


def test_sigterm_while_waiting_deletes_the_pod_and_exits_143(fake, kubeconfig, web):
    """A CI job's timeout sends SIGTERM: the pod is deleted on the way out, as on Ctrl-C."""
    import os
    import signal
    import time

    client = connect(kubeconfig)
    targets = [probe.Target("10.0.0.5", "ipv4", 80, "TCP")]
    ignored = []  # the test's own handler: without the probe's, SIGTERM is only counted

    def count(*_):
        ignored.append(1)

    before = signal.signal(signal.SIGTERM, count)

    def terminated(seconds):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)  # the handler runs first

    try:
        with pytest.raises(SystemExit) as ended:
            clusterprobe.probe_from_pod(client, "shop", targets, "python:3", 2.0, 1.0, sleep=terminated)
        assert signal.getsignal(signal.SIGTERM) is count and not ignored  # put back as it was
    finally:
        signal.signal(signal.SIGTERM, before)
        client.door.close()
    assert ended.value.code == 143
    assert len(fake.calls("POST", PODS)) == 1 and fake.pods == {}

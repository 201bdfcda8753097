"""Issue 20 against the fake API server: answers of the wrong shape, lists that never
end, slow or silent servers, Retry-After, credentials that cannot be produced,
names that would escape their URL segment. Each case is the smallest input that
showed the problem."""

from __future__ import annotations

import sys
import textwrap
import time

import pytest
from clirunner import CliRunner
from fakeapi import SERVICES, allocation_failed, kubeconfig_dict, pool, service, write_yaml

from kubectl_lbip import door
from kubectl_lbip.cli import app
from kubectl_lbip.errors import ClusterError, CredentialError, ResponseError, UsageError
from kubectl_lbip.snapshot import live
from kubectl_lbip.snapshot.live import connect

runner = CliRunner()


def cluster(fake):
    fake.add_pool(pool("production", "192.168.10.0/24"))
    fake.add_service(service("shop", "web", ingress=("192.168.10.20",)))
    return fake


def cli(*args):
    return runner.invoke(app, list(args))


def one_line_error(r, code):
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


# --- answers of the wrong shape: exit 3 naming the API path, the item and the field
@pytest.mark.parametrize(
    "body, words",
    [
        ([{"kind": "Service"}], "the answer is a list"),
        ({"kind": "ServiceList", "items": "nope"}, "field items: expected a list"),
        ({"kind": "ServiceList", "items": [1]}, "item 1: expected an object"),
        (
            {
                "kind": "ServiceList",
                "items": [
                    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "b"}, "spec": "oops"}
                ],
            },
            "item 1: Service b/a: field spec: expected a mapping",
        ),
        (
            {
                "kind": "ServiceList",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": "a", "namespace": "b"},
                        "spec": {"clusterIPs": 7},
                    }
                ],
            },
            "field spec.clusterIPs: expected a list",
        ),
    ],
)
def test_api_answer_of_the_wrong_shape_is_exit_3_naming_path_and_field(fake, kubeconfig, body, words):
    cluster(fake)
    fake.respond = lambda rec: (200, body) if rec.path == SERVICES else None
    line = one_line_error(cli("check", "--kubeconfig", kubeconfig), 3)
    assert f"GET {SERVICES}" in line and words in line


def test_a_continue_token_that_repeats_stops_with_an_error(fake, kubeconfig):
    cluster(fake)
    page = {"kind": "ServiceList", "metadata": {"continue": "same"}, "items": []}
    fake.respond = lambda rec: (200, page) if rec.path == SERVICES else None
    line = one_line_error(cli("check", "--kubeconfig", kubeconfig), 3)
    assert "repeat a continue token" in line
    assert len(fake.calls("GET", SERVICES)) == 2


def test_paging_stops_after_max_pages(fake, kubeconfig, monkeypatch):
    cluster(fake)
    monkeypatch.setattr(live, "MAX_PAGES", 3)
    counter = iter(range(10**6))
    fake.respond = lambda rec: (
        (200, {"kind": "ServiceList", "items": [], "metadata": {"continue": f"t{next(counter)}"}})
        if rec.path == SERVICES
        else None
    )
    line = one_line_error(cli("check", "--kubeconfig", kubeconfig), 3)
    assert "more than 3 pages" in line and len(fake.calls("GET", SERVICES)) == 3


# --- one deadline per request
def test_a_server_trickling_one_byte_at_a_time_fails_at_the_deadline(start_fake, tmp_path):
    fake = cluster(start_fake(trickle=0.5))
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict({"c": fake.url}, {"u": {"token": "fake-token"}}, {"x": {"cluster": "c", "user": "u"}}, "x"),
    )
    client = connect(path, request_timeout=1.5)
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"no complete answer .* within 1.5s"):
        client.snapshot()
    assert time.monotonic() - started < 3


def test_a_server_that_never_answers_fails_at_the_deadline(start_fake, tmp_path):
    fake = cluster(start_fake(never_answer=True))
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict({"c": fake.url}, {"u": {"token": "fake-token"}}, {"x": {"cluster": "c", "user": "u"}}, "x"),
    )
    client = connect(path, request_timeout=1)
    started = time.monotonic()
    with pytest.raises(ClusterError, match="within 1s"):
        client.snapshot()
    assert time.monotonic() - started < 2.5


def test_default_request_timeout_is_documented_and_used(fake, kubeconfig):
    assert connect(kubeconfig).request_timeout == live.DEFAULT_REQUEST_TIMEOUT == 30.0


def test_retry_after_within_the_deadline_is_waited_for_with_a_note(fake, kubeconfig, capfd):
    cluster(fake)
    answers = [(429, {"kind": "Status", "code": 429, "message": "slow down"}, {"Retry-After": "1"})]
    fake.respond = lambda rec: answers.pop() if rec.path == SERVICES and answers else None
    client = connect(kubeconfig, request_timeout=10)
    assert len(client.snapshot().services) == 1
    assert [c.status for c in fake.calls("GET", SERVICES)] == [429, 200]
    assert "asked to retry after 1s (429); waiting" in capfd.readouterr().err


def test_retry_after_past_the_deadline_is_not_waited_for(fake, kubeconfig, capfd):
    cluster(fake)
    fake.respond = lambda rec: (
        (429, {"kind": "Status", "code": 429, "message": "slow down"}, {"Retry-After": "40"})
        if rec.path == SERVICES
        else None
    )
    client = connect(kubeconfig, request_timeout=3)
    with pytest.raises(ClusterError, match="429"):
        client.snapshot()
    assert "past the deadline" in capfd.readouterr().err
    assert len(fake.calls("GET", SERVICES)) == 1


# --- only names reach URLs
@pytest.mark.parametrize("name", ["x/../../secrets/sec", "x%2F..%2Fsecrets", "..", "a b", "-x"])
def test_a_name_that_is_not_one_never_reaches_a_url(fake, kubeconfig, name):
    cluster(fake)
    client = connect(kubeconfig)
    with pytest.raises(UsageError, match="not a valid Kubernetes name"):
        client.get_service("shop", name)
    with pytest.raises(UsageError, match="not a valid Kubernetes name"):
        client.patch_service("shop", name, {"metadata": {"resourceVersion": "1"}})
    assert fake.requests == []


def test_annotate_with_a_traversal_name_touches_nothing_else(fake, kubeconfig):
    cluster(fake)
    r = cli("annotate", "x/../../configmaps/c", "192.168.10.30", "--kubeconfig", kubeconfig)
    assert r.exit_code == 2 and "not found" in r.stderr  # not among the services read
    assert fake.calls("PATCH") == []


# --- credentials name their cause
def _exec_kubeconfig(tmp_path, fake, command, args=()):
    return write_yaml(
        tmp_path / "k",
        kubeconfig_dict(
            {"c": fake.url},
            {
                "sso": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": command,
                        "args": list(args),
                        "interactiveMode": "Never",
                    }
                }
            },
            {"sso": {"cluster": "c", "user": "sso"}},
            current="sso",
        ),
    )


def test_a_failing_exec_plugin_is_named_with_its_stderr(fake, tmp_path):
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        textwrap.dedent("""
        import sys
        sys.stderr.write("token expired: run sso login\\nsecond line\\n")
        sys.exit(3)
    """)
    )
    path = _exec_kubeconfig(tmp_path, fake, sys.executable, [str(plugin)])
    with pytest.raises(
        CredentialError, match="exec credential plugin .* failed with exit code 3: token expired: run sso"
    ):
        connect(path).snapshot()
    assert fake.requests == []


def test_a_missing_exec_plugin_is_named(fake, tmp_path):
    path = _exec_kubeconfig(tmp_path, fake, "kubectl-lbip-no-such-plugin")
    line = one_line_error(cli("pools", "--kubeconfig", path), 3)
    assert "'kubectl-lbip-no-such-plugin' is missing (not found on PATH)" in line


def test_a_missing_token_file_is_named(fake, tmp_path):
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict(
            {"c": fake.url},
            {"u": {"tokenFile": str(tmp_path / "gone.token")}},
            {"x": {"cluster": "c", "user": "u"}},
            "x",
        ),
    )
    line = one_line_error(cli("pools", "--kubeconfig", path), 3)
    assert "gone.token" in line


def test_a_missing_client_certificate_file_is_named(tmp_path, closed_port):
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict(
            {"c": f"https://127.0.0.1:{closed_port}"},
            {"u": {"client-certificate": str(tmp_path / "gone.crt"), "client-key": str(tmp_path / "gone.key")}},
            {"x": {"cluster": "c", "user": "u"}},
            "x",
        ),
    )
    line = one_line_error(cli("pools", "--kubeconfig", path), 3)
    assert "gone.crt" in line or "gone.key" in line


def test_a_kubeconfig_that_is_not_utf8_is_a_usage_error(tmp_path):
    path = tmp_path / "k"
    path.write_bytes(b"apiVersion: v1\ncurrent-context: \xff\xfe\n")
    line = one_line_error(cli("pools", "--kubeconfig", str(path)), 2)
    assert "kubeconfig" in line


def test_response_error_is_a_cluster_error():
    assert issubclass(ResponseError, ClusterError)


def test_an_event_of_the_wrong_shape_is_exit_3(fake, kubeconfig):
    cluster(fake)
    bad = {
        "kind": "EventList",
        "items": [{"kind": "Event", "involvedObject": "shop/web", "reason": "AllocationFailed"}],
    }
    fake.respond = lambda rec: (200, bad) if rec.path.endswith("/events") else None
    line = one_line_error(cli("check", "--kubeconfig", kubeconfig), 3)
    assert "events: item 1" in line and "field involvedObject: expected a mapping" in line


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"count": "x"}, "field count: expected an integer, got a string 'x'"),
        ({"involvedObject": []}, "field involvedObject: expected a mapping, got a list []"),
    ],
)
@pytest.mark.parametrize(
    "args, path",
    [
        (("check",), "/api/v1/events"),  # every AllocationFailed Event, page by page
        (("why", "pending", "-n", "shop"), "/api/v1/namespaces/shop/events"),  # one service's
        (("history", "pending", "-n", "shop"), "/api/v1/namespaces/shop/events"),
    ],
)
def test_a_malformed_event_is_one_error_naming_the_path_the_item_and_the_field(
    fake, kubeconfig, bad, words, args, path
):
    """An Event is checked against its table (model/events.py's Event), wherever it is
    read: exit 3, one line naming the API path, the item (the Event) and the field."""
    cluster(fake)
    fake.add_service(service("shop", "pending"))
    answer = {"kind": "EventList", "apiVersion": "v1", "items": [{**allocation_failed("shop", "pending", "x"), **bad}]}
    fake.respond = lambda rec: (200, answer) if rec.path.endswith("/events") else None  # past any fieldSelector
    line = one_line_error(cli(*args, "--kubeconfig", kubeconfig), 3)
    assert f"GET {path}: item 1: Event shop/pending.17f0a1b2c3d4e5f6: {words}" in line, line


# --- any shape from the API: exit 0, 1 or 3, never a traceback
def test_any_api_answer_shape_is_exit_0_1_or_3_without_traceback(tmp_path):
    from fakeapi import FakeAPI
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from strategies import examples, lists, objects  # the same Kubernetes-like shapes as the file fuzz

    fake = FakeAPI().start()
    path = write_yaml(
        tmp_path / "k",
        kubeconfig_dict({"c": fake.url}, {"u": {"token": "fake-token"}}, {"x": {"cluster": "c", "user": "u"}}, "x"),
    )
    answers = st.one_of(lists, objects, st.lists(objects, max_size=2))

    @settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        pools=answers,
        services=answers,
        command=st.sampled_from(
            [["check"], ["pools"], ["free"], ["who-has", "192.168.10.5"], ["migrate", "--dry-run=client"]]
        ),
    )
    def check(pools, services, command):
        fake.respond = lambda rec: (
            (200, pools) if rec.path.endswith("ipaddresspools") else (200, services) if rec.path == SERVICES else None
        )
        r = runner.invoke(app, [*command, "--kubeconfig", path])
        assert r.exit_code in (0, 1, 3), (command, r.exit_code, r.stderr, r.exception)
        assert "Traceback" not in r.stderr

    try:
        check()
    finally:
        fake.stop()


def test_request_timeout_zero_means_no_deadline_as_in_kubectl(fake, kubeconfig):
    cluster(fake)
    client = connect(kubeconfig, request_timeout=0)
    assert len(client.snapshot().services) == 1
    with pytest.raises(UsageError, match="0 \\(none\\) or a positive duration"):
        connect(kubeconfig, request_timeout=-1)


def test_retry_after_zero_forever_is_retried_a_bounded_number_of_times(fake, kubeconfig):
    cluster(fake)
    fake.respond = lambda rec: (
        (429, {"kind": "Status", "code": 429, "message": "slow down"}, {"Retry-After": "0"})
        if rec.path == SERVICES
        else None
    )
    client = connect(kubeconfig, request_timeout=0)  # no deadline: the count still ends it
    with pytest.raises(ClusterError, match="429"):
        client.snapshot()
    assert len(fake.calls("GET", SERVICES)) == door.MAX_RETRY_WAITS + 1


# --- one deadline for everything a command waits on (the door: kubectl in a process
# group of its own, killed with the group at the deadline)
def _user_kubeconfig(tmp_path, fake, user):
    return write_yaml(
        tmp_path / "k",
        kubeconfig_dict({"c": fake.url}, {"u": user}, {"x": {"cluster": "c", "user": "u"}}, "x"),
    )


def _no_process_left(marker: str) -> bool:
    """No process of this test (its command line holds ``marker``) still runs."""
    import os

    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    return False
        except OSError:
            continue
    return True


@pytest.mark.parametrize("leaves_a_child", [False, True])
def test_a_hanging_exec_plugin_is_killed_at_the_deadline_and_named(fake, tmp_path, leaves_a_child):
    """An exec credential plugin that never ends (or starts a child that keeps its
    stdout open, then exits) ends the command at --request-timeout: exit 3 naming
    what still ran, and nothing of it left running."""
    cluster(fake)
    marker = f"lbip-hanging-plugin-{leaves_a_child}"
    plugin = tmp_path / f"{marker}.sh"
    body = "sleep 300 &\nexit 0\n" if leaves_a_child else "exec sleep 300\n"
    plugin.write_text("#!/bin/sh\n# " + marker + "\n" + body)
    plugin.chmod(0o755)
    exec_user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(plugin),
            "interactiveMode": "Never",
        }
    }
    path = _user_kubeconfig(tmp_path, fake, exec_user)
    line = one_line_error(cli("pools", "--kubeconfig", path, "--request-timeout=2s"), 3)
    assert "no complete answer" in line and "within 2s" in line
    assert "killed what still ran" in line and "sleep" in line
    assert fake.requests == []
    assert _no_process_left(marker) or _no_process_left("sleep 300")


def test_a_fifo_as_token_file_is_named_not_waited_on(fake, tmp_path):
    import os

    cluster(fake)
    fifo = tmp_path / "token"
    os.mkfifo(fifo)
    path = _user_kubeconfig(tmp_path, fake, {"tokenFile": str(fifo)})
    line = one_line_error(cli("pools", "--kubeconfig", path, "--request-timeout=2s"), 3)
    assert f"the token file {fifo} is not a regular file" in line


def test_a_fifo_as_kubeconfig_ends_at_the_deadline(tmp_path):
    import os

    fifo = tmp_path / "config"
    os.mkfifo(fifo)
    line = one_line_error(cli("pools", "--kubeconfig", str(fifo), "--request-timeout=2s"), 3)
    assert "no complete answer" in line and "within 2s" in line


def test_a_token_file_that_is_not_utf8_is_exit_3_naming_it(fake, tmp_path):
    cluster(fake)
    token = tmp_path / "token"
    token.write_bytes(b"fake-token\xff\xfe")
    path = _user_kubeconfig(tmp_path, fake, {"tokenFile": str(token)})
    line = one_line_error(cli("pools", "--kubeconfig", path), 3)
    assert f"the token file {token} is not UTF-8 text" in line


def test_insecure_skip_tls_verify_in_the_kubeconfig_prints_no_library_warning(fake, tmp_path):
    cluster(fake)
    doc = kubeconfig_dict({"c": fake.url}, {"u": {"token": "fake-token"}}, {"x": {"cluster": "c", "user": "u"}}, "x")
    doc["clusters"][0]["cluster"] = {"server": fake.url, "insecure-skip-tls-verify": True}
    path = write_yaml(tmp_path / "k", doc)
    r = cli("pools", "--kubeconfig", path)
    assert r.exit_code == 0, r.stderr
    assert "Warning" not in r.stderr and "urllib3" not in r.stderr


def test_an_absurd_request_timeout_is_exit_2(tmp_path):
    line = one_line_error(cli("pools", "--request-timeout=99999999999999h", "-s", "https://127.0.0.1:1"), 2)
    assert "--request-timeout" in line


def _running_with(marker: str) -> bool:
    import os

    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv and b"proxy" in argv:
            return True
    return False


def _until(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_no_kubectl_proxy_outlives_the_plugin(fake, kubeconfig):
    """A plugin that ends without its exit handlers (SIGKILL, os._exit) while its
    proxy is idle: the proxy's watchman ends it when the plugin's end of its stdin
    closes."""
    import subprocess

    code = (
        "import os, sys; from kubectl_lbip.door import Door; "
        "d = Door(30, kubeconfig=sys.argv[1]); d.get('/api/v1/services'); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code, kubeconfig], check=True, timeout=60)
    assert _until(lambda: not _running_with(f"--kubeconfig={kubeconfig}"), 10), "a kubectl proxy outlived the plugin"

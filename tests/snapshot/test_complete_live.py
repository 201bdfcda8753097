"""`kubectl lbip <TAB>` against a fake API server: completion asks the cluster through
the door (kubectl with the flags typed so far), and the whole answer has one budget
(complete.DEADLINE): a server that trickles or never sends its headers completes
nothing, in about that time, and never freezes the shell."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from fakeapi import namespace, pool, service

from kubectl_lbip import complete

BIN = os.path.dirname(sys.executable)


def tab(*args, kubeconfig):
    started = time.monotonic()
    r = subprocess.run(
        [os.path.join(BIN, "kubectl_complete-lbip"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUBECONFIG": kubeconfig},
    )
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    return [line.split("\t")[0] for line in lines[:-1]], lines[-1], time.monotonic() - started


def test_names_come_from_the_cluster_as_kubectl_reaches_it(fake, kubeconfig):
    fake.namespaces = [namespace("shop"), namespace("ops")]
    fake.add_pool(pool("production", "192.168.10.0/24"))
    fake.add_service(service("shop", "web"))
    fake.add_service(service("shop", "db", lb_type="ClusterIP"))
    fake.add_service(service("ops", "other"))
    assert tab("free", "-n", "", kubeconfig=kubeconfig)[:2] == (["ops", "shop"], ":4")
    assert tab("free", "--pool", "pro", kubeconfig=kubeconfig)[:2] == (["production"], ":4")
    # services of the context's namespace (shop), LoadBalancers only
    assert tab("annotate", "", kubeconfig=kubeconfig)[:2] == (["web"], ":4")
    assert tab("annotate", "-n", "ops", "", kubeconfig=kubeconfig)[:2] == (["other"], ":4")
    assert tab("pools", "--context", "", kubeconfig=kubeconfig)[:2] == (["fake"], ":4")
    assert {r.user for r in fake.requests} == {"admin"}


def test_a_trickling_server_completes_nothing_within_the_budget(start_fake, kubeconfig_for):
    fake = start_fake(trickle=0.3)
    fake.namespaces = [namespace(f"ns{i}") for i in range(50)]
    names, directive, seconds = tab("free", "-n", "", kubeconfig=kubeconfig_for(fake))
    assert (names, directive) == ([], ":4")
    assert seconds < complete.DEADLINE + 1.5  # Python's and kubectl's start are the rest


def test_a_server_that_never_answers_completes_nothing_within_the_budget(start_fake, kubeconfig_for):
    fake = start_fake(never_answer=True)
    names, directive, seconds = tab("annotate", "-n", "shop", "", kubeconfig=kubeconfig_for(fake))
    assert (names, directive) == ([], ":4")
    assert seconds < complete.DEADLINE + 1.5

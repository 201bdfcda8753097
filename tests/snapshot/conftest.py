"""Fixtures for the live path: fake API servers and kubeconfigs pointing at them."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from typing import Callable, Iterator, List

import fakeapi
import pytest
from fakeapi import FakeAPI, kubeconfig_dict, write_yaml


@pytest.fixture(autouse=True)
def _fakes_speak_tls(tls_cert, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fake API server speaks TLS with the test certificate, and kubeconfigs
    trust it: kubectl sends a bearer token only over TLS."""
    monkeypatch.setattr(fakeapi, "DEFAULT_TLS", tls_cert)


@pytest.fixture(autouse=True)
def _no_ambient_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither the developer's kubeconfig nor a CI pod's service account may leak in."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture
def start_fake() -> Iterator[Callable[..., FakeAPI]]:
    started: List[FakeAPI] = []

    def start(**kwargs) -> FakeAPI:
        fake = FakeAPI(**kwargs).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def fake(start_fake) -> FakeAPI:
    return start_fake()


@pytest.fixture
def kubeconfig_for(tmp_path: Path) -> Callable[[FakeAPI], str]:
    """A kubeconfig for a fake: one context, `fake` (namespace shop), current, with the
    fake's token."""

    def write(fake: FakeAPI) -> str:
        return write_yaml(
            tmp_path / "kubeconfig",
            kubeconfig_dict(
                {"fake": fake.url},
                {"admin": {"token": "fake-token"}},
                {"fake": {"cluster": "fake", "user": "admin", "namespace": "shop"}},
                current="fake",
            ),
        )

    return write


@pytest.fixture
def kubeconfig(fake: FakeAPI, kubeconfig_for) -> str:
    """One context, `fake` (namespace shop), current, with the fake's token."""
    return kubeconfig_for(fake)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory) -> tuple:
    """A self-signed certificate for 127.0.0.1 (an in-cluster API server speaks TLS)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "ca.crt", d / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)

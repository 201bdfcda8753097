"""kubectl's global flags in connect(): what reaches the API server (headers as sent,
one Impersonate-Group line per group) and which kubeconfig entries they pick."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from kubectl_lbip.errors import CredentialError, UsageError
from kubectl_lbip.snapshot.live import connect


class _Recorder(BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.startswith("/version"):  # a kubectl dispatcher's question, not the plugin's
            self.send_error(404)
            return
        self.seen.append(
            {
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "user": self.headers.get_all("Impersonate-User"),
                "groups": self.headers.get_all("Impersonate-Group"),
                "uid": self.headers.get_all("Impersonate-Uid"),
            }
        )
        body = json.dumps({"kind": "List", "items": [], "metadata": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tls_cert):
    """A TLS server recording what reaches it (kubectl sends credentials only over TLS)."""
    _Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*tls_cert)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", _Recorder.seen
    httpd.shutdown()
    httpd.server_close()


def test_server_and_token_without_kubeconfig(server, tmp_path, monkeypatch, tls_cert):
    url, seen = server
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    client = connect(
        server=url,
        token="t0k",
        certificate_authority=tls_cert[0],
        as_user="jane",
        as_group=["g1", "g2"],
        as_uid="42",
    )
    assert client.namespace == "default"
    client.snapshot()
    assert seen and all(s["auth"] == "Bearer t0k" for s in seen)
    assert all(s["user"] == ["jane"] and s["groups"] == ["g1", "g2"] and s["uid"] == ["42"] for s in seen)


def test_as_group_needs_as(server, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(UsageError, match="need --as"):
        connect(server=server[0], as_group=["g1"])


def _kubeconfig(tmp_path, url, ca):
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "main",
        "clusters": [
            {"name": "dead", "cluster": {"server": "http://127.0.0.1:1"}},
            {"name": "live", "cluster": {"server": url, "certificate-authority": ca}},
        ],
        "users": [{"name": "alice", "user": {"token": "alice-token"}}, {"name": "bob", "user": {"token": "bob-token"}}],
        "contexts": [{"name": "main", "context": {"cluster": "dead", "user": "alice", "namespace": "shop"}}],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_cluster_and_user_pick_other_entries(server, tmp_path, tls_cert):
    url, seen = server
    client = connect(_kubeconfig(tmp_path, url, tls_cert[0]), cluster="live", user="bob")
    assert client.namespace == "shop"  # still the context's namespace
    client.snapshot()
    assert seen and all(s["auth"] == "Bearer bob-token" for s in seen)


def test_server_and_token_override_the_context(server, tmp_path, tls_cert):
    url, seen = server
    client = connect(
        _kubeconfig(tmp_path, url, tls_cert[0]), server=url, token="flag-token", certificate_authority=tls_cert[0]
    )
    client.snapshot()
    assert seen and all(s["auth"] == "Bearer flag-token" for s in seen)


@pytest.mark.parametrize(
    "flag,value,error,message",
    [
        ("cluster", "nosuch", UsageError, 'cluster "nosuch" does not exist'),
        ("user", "nosuch", UsageError, 'auth info "nosuch" does not exist'),  # kubectl's words
        ("certificate_authority", "/nonexistent/ca.crt", CredentialError, "certificate-authority /nonexistent/ca.crt"),
    ],
)
def test_bad_overrides_are_refused_as_kubectl_refuses_them(server, tmp_path, tls_cert, flag, value, error, message):
    with pytest.raises(error, match=message):
        connect(_kubeconfig(tmp_path, server[0], tls_cert[0]), **{flag: value}).snapshot()
    assert server[1] == []

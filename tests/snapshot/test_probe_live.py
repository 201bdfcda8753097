"""kubectl lbip probe on the live path: the service read from a fake API server, its
status pointing at loopback, where a local listener answers."""

import json
import socket

from clirunner import CliRunner
from fakeapi import SERVICES, pool, service

from kubectl_lbip.cli import app


def test_probe_live_reads_the_service_from_the_api_and_connects_to_its_status(fake, kubeconfig):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listening:
        listening.bind(("127.0.0.5", 0))
        listening.listen(8)
        port = listening.getsockname()[1]
        fake.add_pool(pool("loop", "127.0.0.0/29"))
        fake.add_service(service("shop", "web", ingress=("127.0.0.5",), port=port))
        result = CliRunner().invoke(app, ["probe", "web", "--kubeconfig", kubeconfig, "-o", "json"])
    assert result.exit_code == 0, result.output  # the context's namespace: shop
    got = json.loads(result.stdout)
    assert got["service"] == {"namespace": "shop", "name": "web"}
    assert [(r["address"], r["port"], r["result"]) for r in got["results"]] == [("127.0.0.5", port, "answered")]
    assert fake.calls("GET", SERVICES)  # read through the snapshot, as every command reads it

"""kubectl lbip history without a record: what the fake API server keeps (MetalLB's
Events about services, the services' status writes in managedFields, and their
status now), read through the door."""

import json

from clirunner import CliRunner
from fakeapi import EVENTS, SERVICES, allocation_failed, pool, service

from kubectl_lbip.cli import app


def assigned(ns, name, message, when):
    ev = allocation_failed(ns, name, message, when)
    ev.update(reason="IPAllocated", type="Normal", message=message, count=1)
    return ev


def test_history_from_the_events_and_managed_fields_the_api_server_keeps(fake, kubeconfig):
    fake.add_pool(pool("default", "192.168.10.0/24"))
    web = service("shop", "web", ingress=("192.168.10.5",))
    web["metadata"]["managedFields"].append(
        {"manager": "controller", "operation": "Update", "subresource": "status", "time": "2026-12-07T05:00:00Z"}
    )
    fake.add_service(web)
    fake.add_service(service("shop", "other", ingress=("192.168.10.9",)))
    fake.events += [
        assigned("shop", "web", 'Assigned IP ["192.168.10.5"]', "2026-12-07T05:00:00Z"),
        allocation_failed(
            "shop", "web", 'Failed to allocate IP for "shop/web": no available IPs', "2026-12-07T04:00:00Z"
        ),
        dict(
            assigned("shop", "web", 'Assigned IP ["192.168.10.5"]', "2026-12-07T03:00:00Z"),
            source={"component": "someone"},
        ),
    ]
    result = CliRunner().invoke(app, ["history", "192.168.10.5", "--kubeconfig", kubeconfig, "-o", "json"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)["changes"]
    assert [(c["time"][:19], c["change"], c["source"]) for c in changes[:2]] == [
        ("2026-12-07T05:00:00", "assigned", "managedFields (status, controller)"),
        ("2026-12-07T05:00:00", "assigned", "event IPAllocated (metallb-controller)"),
    ]
    assert changes[-1]["change"] == "listed" and changes[-1]["source"] == "the service now"
    assert all(c["name"] == "web" for c in changes)  # the refusal names no address; the other service none of its
    assert "--event-ttl, 1h by default" in result.stderr and "who-has -w -o json >> FILE" in result.stderr
    (events,) = fake.calls("GET", EVENTS)
    assert events.param("fieldSelector") == "involvedObject.kind=Service"
    assert fake.calls("GET", SERVICES)

    refusals = CliRunner().invoke(app, ["history", "web", "--kubeconfig", kubeconfig, "-o", "json"])
    got = [c["change"] for c in json.loads(refusals.stdout)["changes"]]
    assert got[0] == "refused"  # by name (in the context's namespace, shop): MetalLB's refusal too


def test_a_malformed_event_from_the_api_is_exit_3_naming_it(fake, kubeconfig):
    fake.add_pool(pool("default", "192.168.10.0/24"))
    fake.add_service(service("shop", "web", ingress=("192.168.10.5",)))
    fake.events.append(dict(allocation_failed("shop", "web", "x"), source={"component": ["metallb-controller"]}))
    result = CliRunner().invoke(app, ["history", "--kubeconfig", kubeconfig])
    assert result.exit_code == 3, result.output
    assert "GET /api/v1/events: item 1" in result.stderr and "source.component" in result.stderr


def test_an_address_needs_no_context_namespace_a_name_does(fake, kubeconfig, monkeypatch):
    """kubectl config view (a kubectl run of its own) only when a service name needs the
    context's namespace."""
    from kubectl_lbip.door import Door

    asked = []
    real = Door.ask_context
    monkeypatch.setattr(Door, "ask_context", lambda self: asked.append(1) or real(self))
    fake.add_pool(pool("default", "192.168.10.0/24"))
    fake.add_service(service("shop", "web", ingress=("192.168.10.5",)))
    by_address = CliRunner().invoke(app, ["history", "192.168.10.5", "--kubeconfig", kubeconfig])
    assert by_address.exit_code == 0 and asked == []
    by_name = CliRunner().invoke(app, ["history", "web", "--kubeconfig", kubeconfig])
    assert by_name.exit_code == 0 and asked


def test_a_service_of_the_wrong_shape_is_exit_3_naming_the_field(fake, kubeconfig):
    """The shape check derives from history's table (model.history.ServicePast)."""
    fake.add_pool(pool("default", "192.168.10.0/24"))
    web = service("shop", "web", ingress=("192.168.10.5",))
    web["metadata"]["managedFields"].append({"manager": "controller", "subresource": "status", "time": 1765000000})
    fake.add_service(web)
    result = CliRunner().invoke(app, ["history", "--kubeconfig", kubeconfig])
    assert result.exit_code == 3, result.output
    assert "GET /api/v1/services: item 1" in result.stderr and "metadata.managedFields[1].time" in result.stderr

"""The kinds read past allocation are checked for shape at the door: one line naming
the file, the document, the object and the field; never a traceback."""

import pytest
from clirunner import CliRunner
from netbuilders import l2adv, node, slice_

from kubectl_lbip.cli import app

POOL = """apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: prod, namespace: metallb-system}
spec: {addresses: [192.168.10.0/24]}
"""


def run(tmp_path, text):
    path = tmp_path / "in.yaml"
    path.write_text(POOL + "---\n" + text)
    return CliRunner().invoke(app, ["check", "-f", str(path)]), str(path)


@pytest.mark.parametrize(
    "text,field",
    [
        (
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2}\n"
            "spec: {ipAddressPools: prod}\n",
            "spec.ipAddressPools",
        ),
        (
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2}\n"
            "spec: {nodeSelectors: [{matchExpressions: [{key: a, operator: Near}]}]}\n",
            "spec.nodeSelectors[0]",
        ),
        (
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: b}\n"
            "spec: {aggregationLength: '24'}\n",
            "spec.aggregationLength",
        ),
        (
            "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP}]}\n",
            "status.addresses[0]",
        ),
        (
            "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDRs: 10.0.0.0/8}\n",
            "spec.podCIDRs",
        ),
        (
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: a}\n"
            "endpoints: [{nodeName: 3}]\n",
            "endpoints[0].nodeName",
        ),
        (
            "apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: {name: k}\nspec: {cidrs: [1, 2]}\n",
            "spec.cidrs",
        ),
        (
            "apiVersion: metallb.io/v1beta1\nkind: ConfigurationState\nmetadata: {name: c}\n"
            "status: {result: [Invalid]}\n",
            "status.result",
        ),
        (
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {labels: {a: b}}\n",
            "metadata.name",
        ),
    ],
)
def test_bad_field_is_one_line_naming_file_document_object_and_field(tmp_path, text, field):
    result, path = run(tmp_path, text)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {path}: document 2")
    assert field in lines[0]


def test_the_object_is_named(tmp_path):
    result, _ = run(
        tmp_path,
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
        "metadata: {name: l2, namespace: metallb-system}\n"
        "spec: {interfaces: eth0}\n",
    )
    assert "L2Advertisement metallb-system/l2: field spec.interfaces" in result.stderr


def test_list_items_are_named_by_position(tmp_path):
    import yaml

    text = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "List", "items": [node("n1"), dict(node("n2"), spec={"podCIDRs": "x"})]}
    )
    result, path = run(tmp_path, text)
    assert "document 2 item 2: Node n2: field spec.podCIDRs" in result.stderr


def test_well_formed_objects_pass(tmp_path):
    import yaml

    text = yaml.safe_dump_all([l2adv("l2", ["prod"]), node("n1", "10.0.0.1"), slice_("a", "s", ("n1", True))])
    result, _ = run(tmp_path, text)
    assert result.exit_code == 0, result.output

"""After a large model from files, the process ends without freeing it object by
object (cli._leave_quickly): the output must still be whole, the exit code kept."""

import json
import subprocess
import sys

from builders import lbips, pool, svc


def test_large_file_output_is_whole_and_exit_code_kept(tmp_path):
    objects = [pool("p", "10.0.0.0/16", "fd00::/112")]
    objects += [svc("ns", f"s{i}", ingress=[f"10.0.{i // 250}.{i % 250 + 1}"]) for i in range(1500)]
    objects.append(svc("ns", "clash", annotations=lbips("10.0.0.1")))  # a conflict: exit 1
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    out = subprocess.run(
        [sys.executable, "-m", "kubectl_lbip", "check", "-f", str(path), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    findings = json.loads(out.stdout)["findings"]
    assert any(f["code"] == "address-conflict" for f in findings)
    table = subprocess.run(
        [sys.executable, "-m", "kubectl_lbip", "free", "-f", str(path)], capture_output=True, text=True, timeout=120
    )
    assert table.returncode == 0 and table.stdout.rstrip().splitlines()[-1].startswith("p ")

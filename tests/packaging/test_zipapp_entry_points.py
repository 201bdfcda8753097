"""One archive, several programs: the zipapp runs the [project.scripts] entry
named by the name it is run by (kubectl's completion hook, kubectl_complete-lbip,
is a symlink to the same file), and kubectl-lbip under any other name."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from .conftest import ROOT, clean_env

pytestmark = pytest.mark.packaging


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _project_scripts() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_archive_carries_every_project_script(build):
    with zipfile.ZipFile(build.zipapp) as zf:
        main = zf.read("__main__.py").decode()
    table = json.loads(re.search(r"(?m)^ENTRY_POINTS = (\{.*?\})(  #.*)?$", main).group(1))
    assert table == _project_scripts()
    assert re.search(r'(?m)^BUILD_ID = "[0-9a-f]{20}"(  #.*)?$', main)


def test_program_name_picks_the_entry_point(monkeypatch):
    boot = _load(ROOT / "packaging" / "zipapp_main.py", "zipapp_main_under_test")
    monkeypatch.setattr(
        boot, "ENTRY_POINTS", {"kubectl-lbip": "kubectl_lbip.cli:main", "kubectl_complete-lbip": "os.path:basename"}
    )
    from kubectl_lbip.cli import main

    assert boot._entry_point("/home/u/.krew/bin/kubectl_complete-lbip") is os.path.basename
    assert boot._entry_point("/home/u/.krew/bin/kubectl-lbip") is main
    assert boot._entry_point("/tmp/lbip.pyz") is main  # any other name
    assert boot._entry_point("") is main
    # `kubectl-lbip __complete ...` (the helper 'kubectl lbip completion' writes) answers without typer
    assert boot._entry_point("/home/u/.krew/bin/kubectl-lbip", "__complete") is os.path.basename
    assert boot._entry_point("/home/u/.krew/bin/kubectl-lbip", "pools") is main


def test_a_symlink_runs_the_same_archive(build, tmp_path):
    link = tmp_path / "bin" / "kubectl-lbip-renamed"
    link.parent.mkdir()
    link.symlink_to(build.zipapp)
    env = clean_env(tmp_path, path=f"{link.parent}:{os.path.dirname(sys.executable)}:/usr/bin:/bin")
    out = subprocess.run([str(link), "version"], env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
    assert out.startswith("kubectl-lbip ")

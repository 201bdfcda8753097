# kubectl-lbip: development and packaging targets.  PYTHON is the venv's python
# when there is one (python3 -m venv .venv && .venv/bin/pip install -e ".[dev]").
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: completion-table test lint fmt e2e packaging test-all krew release krew-lock krew-tools e2e-tools bench-startup

# The quick loop: everything but the live and packaging tiers. Measured 2026-12-07 18:26 UTC on
# the 2-core machine: 1851 tests, 179 s wall, 68.8 s CPU; the tree of 15:19 took 74.5 s right after
# it, 54.4 s at 15:19 (the machine's speed varies: CONTRIBUTING.md, Run each tier).
test:
	$(PYTHON) -m pytest -m "not e2e and not packaging"

# Completion's table of commands and flags, derived from the Typer app (after changing
# a command or an option in cli.py; tests/cli/test_complete.py fails while it is stale).
completion-table:
	$(PYTHON) -m kubectl_lbip.commandtable

# What .ci/run and pre-commit check: lint, formatting, types.  Zero findings.
lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

# Apply ruff's safe fixes (import order, ...) and its formatter; `make lint` then
# shows what is left to fix by hand.
fmt:
	$(PYTHON) -m ruff check --fix --exit-zero --quiet .
	$(PYTHON) -m ruff format .

# The live tier: a real etcd, kube-apiserver and MetalLB controller (make e2e-tools once).
e2e:
	$(PYTHON) -m pytest -m e2e tests/e2e

# The packaging tier: builds the archive, installs it with krew (make krew-tools once).
packaging:
	$(PYTHON) -m pytest -m packaging tests/packaging

# Every tier, as CI runs it.
test-all:
	$(PYTHON) -m pytest

# dist/: kubectl-lbip.tar.gz (LICENSE + the kubectl-lbip zipapp), its .sha256, and
# plugin.yaml filled in for it (version, uri, sha256).  The repository's plugin.yaml
# is the template and is never rewritten.  Reproducible: same tree, same sha256.
krew:
	$(PYTHON) packaging/build_zipapp.py

# The release: as `make krew`, refusing a VERSION other than kubectl_lbip.__version__.
# Publish dist/kubectl-lbip.tar.gz, its .sha256 and dist/plugin.yaml as the assets of tag vVERSION.
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z" >&2; exit 2; }
	$(PYTHON) packaging/build_zipapp.py --version "$(VERSION)"

# Re-pin the dependencies the zipapp bundles (packaging/zipapp-requirements.txt).
krew-lock:
	$(PYTHON) packaging/build_zipapp.py --lock

# krew and validate-krew-manifest for tests/packaging (cached in ~/.cache).
krew-tools:
	bash packaging/build_krew.sh

# etcd, kube-apiserver and MetalLB's controllers v0.14.9, v0.15.3, v0.16.1 for tests/e2e
# (cached in ~/.cache; built once, its time in CONTRIBUTING.md, Run each tier).
e2e-tools:
	bash tests/e2e/controlplane.sh build

bench-startup:
	$(PYTHON) benchmarks/startup.py

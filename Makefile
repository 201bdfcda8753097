# kubectl-lbip: packaging targets.  PYTHON is any python3 with pip (the venv's by default).
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: krew release krew-lock krew-tools bench-startup

# dist/: kubectl-lbip.tar.gz (LICENSE + the kubectl-lbip zipapp), its .sha256, and
# plugin.yaml filled in for it (version, uri, sha256).  The repository's plugin.yaml
# is the template and is never rewritten.  Reproducible: same tree, same sha256.
krew:
	$(PYTHON) packaging/build_zipapp.py

# The release: as `make krew`, refusing a VERSION other than kubectl_lbip.__version__.
# Publish dist/kubectl-lbip.tar.gz and dist/plugin.yaml as the assets of tag vVERSION.
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z" >&2; exit 2; }
	$(PYTHON) packaging/build_zipapp.py --version "$(VERSION)"

# Re-pin the dependencies the zipapp bundles (packaging/zipapp-requirements.txt).
krew-lock:
	$(PYTHON) packaging/build_zipapp.py --lock

# krew and validate-krew-manifest for tests/packaging (cached in ~/.cache).
krew-tools:
	bash packaging/build_krew.sh

bench-startup:
	$(PYTHON) benchmarks/startup.py

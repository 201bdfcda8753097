# kubectl-lbip: packaging targets.  PYTHON is any python3 with pip (the venv's by default).
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: krew krew-lock krew-tools bench-startup

# dist/kubectl-lbip.tar.gz (LICENSE + the kubectl-lbip zipapp); writes its sha256
# and the package version into plugin.yaml.  Reproducible: same tree, same sha256.
krew:
	$(PYTHON) packaging/build_zipapp.py

# Re-pin the dependencies the zipapp bundles (packaging/zipapp-requirements.txt).
krew-lock:
	$(PYTHON) packaging/build_zipapp.py --lock

# krew and validate-krew-manifest for tests/packaging (cached in ~/.cache).
krew-tools:
	bash packaging/build_krew.sh

bench-startup:
	$(PYTHON) benchmarks/startup.py

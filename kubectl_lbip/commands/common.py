"""What every command shares: the kubectl-style inputs and where the snapshot comes from."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..errors import UsageError
from ..model import metallb
from ..model.metallb import Release
from ..snapshot import Snapshot


@dataclass
class Inputs:
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: Optional[str] = None
    all_namespaces: bool = False
    output: str = "table"
    filenames: List[str] = field(default_factory=list)
    no_headers: bool = False
    overrides: Dict[str, Any] = field(default_factory=dict)  # kubectl's global flags
    request_timeout: Optional[float] = None  # seconds; 0: none; None: live.py's default
    stdin: object = None
    metallb_version: Optional[str] = None  # --metallb-version
    _client: object = None

    @property
    def offline(self) -> bool:
        return bool(self.filenames)

    def client(self):
        if self.offline:  # a guard: with -f nothing may talk to a cluster
            raise AssertionError("no cluster access with -f")
        if self._client is None:
            from ..snapshot.live import connect

            timeout = {} if self.request_timeout is None else {"request_timeout": self.request_timeout}
            self._client = connect(self.kubeconfig, self.context, **timeout, **self.overrides)
        return self._client

    def snapshot(self, events: bool = False, whole_objects: bool = False) -> Snapshot:
        """The objects a command reads. From files, only the fields the model reads
        are kept, unless the command prints objects back (``whole_objects``)."""
        flagged = self.flagged_release()
        if self.offline:
            from ..snapshot import files

            snap = files.load(self.filenames, stdin=self.stdin or sys.stdin,
                              trimmed=not whole_objects)
            snap.metallb = flagged or Release.newest_assumed(
                "reading manifests; --metallb-version to choose")
            return snap
        if flagged is None:
            return self.client().snapshot(events=events)
        # the flag decides: no need to look for the release
        snap = self.client().snapshot(events=events, metallb_release=False)
        snap.metallb = flagged
        return snap

    def flagged_release(self) -> Optional[Release]:
        """--metallb-version as a Release (it overrides what the cluster says)."""
        if self.metallb_version is None:
            return None
        try:
            version = metallb.parse(self.metallb_version)
        except metallb.VersionError as exc:
            raise UsageError(f"--metallb-version: {exc}") from None
        label = "v" + self.metallb_version.strip().lstrip("v")
        return Release(version, label, "flag", "--metallb-version")

    def default_namespace(self) -> str:
        """-n, else the context's namespace (kubectl's rule), else default."""
        if self.namespace:
            return self.namespace
        if self.offline:
            return "default"
        return self.client().namespace

    def namespace_filter(self) -> Optional[str]:
        """For commands that default to all namespaces: -n narrows, -A is all."""
        if self.all_namespaces:
            return None
        return self.namespace or None


def release_line(snapshot: Snapshot) -> str:
    """Which MetalLB the answer is for, as pools' header and check's summary say it."""
    return (snapshot.metallb or Release.newest_assumed("nothing to tell from")).describe()


def release_dict(snapshot: Snapshot) -> dict:
    return (snapshot.metallb or Release.newest_assumed("nothing to tell from")).to_dict()


def legacy_note(snapshot: Snapshot) -> Optional[str]:
    if snapshot.uses_legacy_config:
        return ("note: no IPAddressPool found; read the pools of MetalLB's legacy ConfigMap "
                "(before v0.13). 'kubectl lbip migrate --configmap' converts it")
    return None


def note_empty_namespace(cluster, namespace: Optional[str]) -> bool:
    """-n naming a namespace without a LoadBalancer service (or that does not exist)
    is never silent: kubectl's own line on stderr. True when it was printed."""
    from .. import render

    if namespace and not any(s.namespace == namespace and s.is_load_balancer
                             for s in cluster.services):
        render.note(f"No resources found in {namespace} namespace.")
        return True
    return False

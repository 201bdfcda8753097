"""What every command shares: the kubectl-style inputs and where the snapshot comes from."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Tuple, Union

from ..errors import UsageError
from ..model import announce, metallb
from ..model.metallb import Release
from ..printer import Say
from ..snapshot import Snapshot


@dataclass
class Inputs:
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: Optional[str] = None
    all_namespaces: bool = False
    needs: FrozenSet[str] = frozenset()  # what -o's printer needs read beyond the rest (printer.NEEDS)
    filenames: List[str] = field(default_factory=list)
    overrides: Dict[str, Any] = field(default_factory=dict)  # kubectl's global flags
    request_timeout: Optional[float] = None  # seconds; 0: none; None: live.py's default
    stdin: object = None
    metallb_version: Optional[str] = None  # --metallb-version
    # --against-cluster: the live cluster read as the base, the -f objects laid over it.
    against_cluster: bool = False
    say: Say = field(default_factory=Say)  # talk while working, where a command must (printer.Say)
    _client: object = None

    @property
    def offline(self) -> bool:
        """-f without --against-cluster: nothing may talk to a cluster."""
        return bool(self.filenames) and not self.against_cluster

    def check_against_cluster(self) -> None:
        if self.against_cluster and not self.filenames:
            raise UsageError("--against-cluster lays the manifests of -f over the live cluster: give -f FILE|DIR|-")

    def client(self):
        if self.offline:  # a guard: with -f nothing may talk to a cluster
            raise AssertionError("no cluster access with -f")
        if self._client is None:
            from ..snapshot.live import connect

            timeout = {} if self.request_timeout is None else {"request_timeout": self.request_timeout}
            self._client = connect(self.kubeconfig, self.context, **timeout, **self.overrides)
        return self._client

    def snapshot(
        self,
        events: bool = False,
        whole_objects: bool = False,
        network: Union[bool, Tuple[str, ...]] = False,
        statuses_of: Optional[Tuple[str, str]] = None,
        select=None,
        locate: bool = False,
    ) -> Snapshot:
        """The objects a command reads. From files, only the fields the model reads
        are kept, unless the command prints objects back (``whole_objects``);
        ``select`` (see files.load) lets a command model only the services whose
        JSON text passes it. Live, ``network`` also reads the kinds past allocation
        (advertisements, nodes, ...; from files they are whatever the files hold),
        ``statuses_of`` (namespace, name) the speakers' statuses of one service;
        ``locate`` records where each object of the files starts (Snapshot.location)."""
        flagged = self.flagged_release()
        if self.offline:
            from ..snapshot import files

            snap = files.load(
                self.filenames,
                stdin=self.stdin or sys.stdin,
                trimmed=not whole_objects,
                select=None if whole_objects else select,
                locate=locate,
            )
            snap.metallb = flagged or Release.newest_assumed("reading manifests; --metallb-version to choose")
            return snap
        # past allocation: the kinds asked for, and the speakers' statuses of one service
        extra = {"network": network or True, "statuses_of": statuses_of} if network or statuses_of else {}
        if self.against_cluster:
            return self.overlaid_snapshot(events=events, whole_objects=whole_objects, locate=locate, **extra)
        return self.live_snapshot(events=events, **extra)

    def live_snapshot(self, events: bool = False, **extra: Any) -> Snapshot:
        """The live cluster's objects, with the MetalLB release --metallb-version
        names, else the one the cluster runs."""
        flagged = self.flagged_release()
        if flagged is None:
            return self.client().snapshot(events=events, **extra)
        # the flag decides: no need to look for the release
        snap = self.client().snapshot(events=events, metallb_release=False, **extra)
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

    def file_objects(self, whole_objects: bool = False, locations: Optional[Dict[Any, Any]] = None):
        """(file name, object) for every object of -f the model reads, file by file
        (in a file: pools, services, namespaces, the legacy ConfigMap); where each
        starts is added to ``locations`` when it is given."""
        from ..snapshot import files

        out = []
        for path in files.expand_paths(self.filenames):
            snap = files.load(
                [path],
                stdin=self.stdin or sys.stdin,
                trimmed=not whole_objects,
                models=False,
                locate=locations is not None,
            )
            if locations is not None:
                locations.update(snap.locations)
            name = "<stdin>" if path == "-" else path
            objects = snap.pools + snap.services + snap.namespaces
            if snap.legacy_configmap is not None:
                objects.append(snap.legacy_configmap)
            out += [(name, obj) for obj in objects]
        return out

    def overlaid_snapshot(
        self, events: bool = False, whole_objects: bool = False, locate: bool = False, **extra: Any
    ) -> Snapshot:
        """--against-cluster: the live cluster with the files' objects laid over it.
        The files are read first, so a bad file fails before any request."""
        from ..snapshot.overlay import overlay_snapshot

        self.check_against_cluster()
        locations: Optional[Dict[Any, Any]] = {} if locate else None
        objects = self.file_objects(whole_objects, locations)
        live = self.live_snapshot(events=events, **extra)
        snap = overlay_snapshot(live, objects, self.default_namespace(), keep_objects=whole_objects)
        snap.locations = locations or {}
        return snap

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
        return (
            "note: no IPAddressPool found; read the pools of MetalLB's legacy ConfigMap "
            "(before v0.13). 'kubectl lbip migrate --configmap' converts it"
        )
    return None


def empty_namespace_note(cluster, namespace: Optional[str]) -> Optional[str]:
    """-n naming a namespace without a LoadBalancer service (or that does not exist)
    is never silent: kubectl's own line on stderr (the result's first note)."""
    if namespace and not any(s.namespace == namespace and s.is_load_balancer for s in cluster.services):
        return f"No resources found in {namespace} namespace."
    return None


def rejected_config_note(rejected: Optional[announce.RejectedConfig], strict: bool) -> List[str]:
    """While MetalLB has rejected the configuration in the cluster (model.announce.
    rejected_config), free and pin say so on stderr: a warning, with --strict an error."""
    if rejected is None:
        return []
    finding = rejected.finding(strict)
    return [f"{finding.severity}: [{finding.code}] {finding.message}"]

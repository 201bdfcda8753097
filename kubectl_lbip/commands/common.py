"""What every command shares: the kubectl-style inputs and where the snapshot comes from."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple, Type, TypeVar, Union

from ..errors import InvalidValue, UsageError
from ..model import announce, cilium, cilium_explain, metallb
from ..model import implementation as impl
from ..model.cluster import Cluster
from ..model.metallb import Release
from ..printer import Say
from ..snapshot import Snapshot
from ..snapshot.shape import CILIUM_L2_POLICY, CILIUM_POOL


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
    implementation: Optional[str] = None  # --implementation metallb|cilium
    cilium_version: Optional[str] = None  # --cilium-version
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
        cilium: bool = False,
    ) -> Snapshot:
        """The objects a command reads. From files, only the fields the model reads
        are kept, unless the command prints objects back (``whole_objects``);
        ``select`` (see files.load) lets a command model only the services whose
        JSON text passes it. Live, ``network`` also reads the kinds past allocation
        (advertisements, nodes, ...; from files they are whatever the files hold),
        ``statuses_of`` (namespace, name) the speakers' statuses of one service;
        ``locate`` records where each object of the files starts (Snapshot.location);
        ``cilium``: live, Cilium's objects too (a command that asks implementation_of)."""
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
        extra: Dict[str, Any] = (
            {"network": network or True, "statuses_of": statuses_of} if network or statuses_of else {}
        )
        if cilium:
            extra["cilium"] = True
        if self.against_cluster:
            return self.overlaid_snapshot(events=events, whole_objects=whole_objects, locate=locate, **extra)
        return self.live_snapshot(events=events, **extra)

    def live_snapshot(self, events: bool = False, **extra: Any) -> Snapshot:
        """The live cluster's objects, with the MetalLB release --metallb-version
        names, else the one the cluster runs; Cilium's objects too, unless
        --implementation metallb says they do not matter."""
        flagged = self.flagged_release()
        if extra.get("cilium") and not impl.reads_cilium(self.flagged_implementation()):
            del extra["cilium"]  # --implementation metallb: Cilium's objects do not matter
        if flagged is None:
            return self.client().snapshot(events=events, **extra)
        # the flag decides: no need to look for the release
        snap = self.client().snapshot(events=events, metallb_release=False, **extra)
        snap.metallb = flagged
        return snap

    def implementation_of(self, snapshot: Snapshot, cluster: Cluster) -> impl.Implementation:
        """The implementation whose rules answer, and its release: --implementation,
        else the one the cluster (or the files) runs (impl.Detected.choose:
        both installed with pools is a usage error naming the flag). Call it on the
        snapshot the cluster was taken from (take_cluster keeps Cilium's objects)."""
        pools = snapshot.cilium_models(CILIUM_POOL)
        found = self.detected(snapshot, cluster, len(pools))
        try:
            name, release = found.choose(self.flagged_implementation(), self.flagged_cilium_release())
        except InvalidValue as exc:
            raise UsageError(str(exc)) from None
        if impl.answers_for_cilium(name):  # a Cilium kind the identity may not list matters then only
            snapshot.network_notes += snapshot.cilium_notes
        context = impl.Context(
            metallb_class="" if found.metallb is not None else None,
            cilium_operator=cilium.operator_from_config(snapshot.cilium_config, found.cilium.version)
            if found.cilium
            else None,
            conditions=conditions_of(cluster),
            announcers=announcers_of(snapshot),
            live=cluster.live,
        )
        return impl.build(name, release, cluster, pools, snapshot.cilium_config, context)

    def detected(self, snapshot: Snapshot, cluster: Cluster, cilium_pools: int) -> impl.Detected:
        """What the input shows installed. Files: the implementations whose pools
        they hold. Live: MetalLB when its pools, controller or CRDs are there;
        Cilium when its pool CRD is served or its operator runs."""
        metallb_found: Optional[Release] = snapshot.metallb
        if not self.offline or self.against_cluster:
            installed = bool(cluster.pools) or (metallb_found is not None and metallb_found.source != "assumed")
        else:
            installed = bool(cluster.pools)
        operator = snapshot.cilium_operator  # (namespace/name, image)
        facts = impl.Facts(
            cilium_images=((f"deployment {operator[0]}", operator[1]),) if operator else (),
            # live, the version the pools were served at (v2 from v1.18), as the objects read say
            cilium_pool_versions=tuple(
                str(p.get("apiVersion") or "").rpartition("/")[2]
                for p in snapshot.cilium_objects.get(CILIUM_POOL, ())
                if snapshot.cilium_present is not None
            ),
        )
        cilium_found = impl.cilium_release(facts)
        if cilium_found is None and (cilium_pools or CILIUM_POOL in (snapshot.cilium_present or ())):
            cilium_found = cilium.Release.newest_assumed(
                "reading manifests; --cilium-version to choose"
                if self.offline
                else "CiliumLoadBalancerIPPool is served; no cilium-operator image read"
            )
        return impl.Detected(
            (metallb_found or Release.newest_assumed("nothing to tell from")) if installed else None,
            cilium_found,
            len(cluster.pools),
            cilium_pools,
        )

    def flagged_release(self) -> Optional[Release]:
        """--metallb-version as a Release (it overrides what the cluster says)."""
        return flagged_version(self.metallb_version, "--metallb-version", metallb.parse, Release)

    def flagged_implementation(self) -> Optional[str]:
        """--implementation, checked (it overrides what the cluster or files say)."""
        if self.implementation is None:
            return None
        try:
            return impl.flagged(self.implementation.strip())
        except InvalidValue as exc:
            raise UsageError(str(exc)) from None

    def flagged_cilium_release(self) -> Optional[cilium.Release]:
        """--cilium-version as a Cilium release (it overrides what the cluster says)."""
        return flagged_version(self.cilium_version, "--cilium-version", cilium.parse, cilium.Release)

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


R = TypeVar("R", bound=Release)


def flagged_version(text: Optional[str], flag: str, parse: Callable[[str], Any], release: Type[R]) -> Optional[R]:
    """A release flag (--metallb-version, --cilium-version) as the release it names."""
    if text is None:
        return None
    try:
        version = parse(text)
    except InvalidValue as exc:
        raise UsageError(f"{flag}: {exc}") from None
    return release(version, "v" + text.strip().lstrip("v"), "flag", flag)


def conditions_of(cluster: Cluster) -> Dict[str, Dict[str, str]]:
    """Each service's cilium.io/IPAMRequestSatisfied condition, where its status has one."""
    return {
        svc.key: dict(zip(("status", "reason", "message"), svc.ipam_condition))
        for svc in cluster.services
        if svc.ipam_condition
    }


def announcers_of(snapshot: Snapshot) -> cilium_explain.Announcers:
    """Cilium's L2 announcement policies in the input (None: the kind was not read)."""
    objects = snapshot.cilium_objects.get(CILIUM_L2_POLICY)
    read = objects is not None or (snapshot.cilium_present is not None and CILIUM_L2_POLICY in snapshot.cilium_present)
    if not read:
        return cilium_explain.NOT_READ
    return cilium_explain.Announcers(l2=tuple(snapshot.cilium_models(CILIUM_L2_POLICY)))


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

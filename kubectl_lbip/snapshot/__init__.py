"""Where the objects come from: a live cluster (live.py) or manifests (files.py).

Both give a Snapshot of plain dicts; `to_cluster` turns it into the pure model."""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple, Type

from ..errors import LbipError, UsageError
from ..model.cluster import Cluster
from ..model.legacy import LegacyConfig
from ..model.metallb import NEWEST, Release
from ..model.pools import Pool, pools_from_legacy_config
from ..model.schema import build
from ..model.services import Service
from . import documents, shape
from .shape import LEGACY, LEGACY_DATA, MODELS, NAMESPACE, POOL, SERVICE

LEGACY_CONFIGMAP = ("metallb-system", "config")
# Kinds whose model objects carry their own ``origin`` (--against-cluster)
OWN_ORIGIN = ("Service", "IPAddressPool", "ConfigMap")


# A snapshot this big is frozen out of the garbage collector (see paused_gc).
FREEZE_OBJECTS = 1000

# Models of large snapshots, held until the process ends: the command-line entry
# point (cli.main) then leaves without freeing them object by object, which took a
# tenth of a second at 50k services.
LARGE_MODELS: List[Any] = []


@contextlib.contextmanager
def paused_gc(freeze: Callable[[], bool] = lambda: False):
    """No cyclic garbage collection while a snapshot is parsed or modelled.

    Parsing and modelling allocate millions of objects that all stay alive, and
    each burst of allocations triggered a collection walking every object made so
    far: with 50k services that was half the run time, growing faster than
    linearly. When ``freeze()`` says the result is big, what is alive at the end
    moves to the collector's permanent generation (gc.freeze), so later
    collections (during check's rules, or any import) do not walk the whole
    snapshot again either; reference counting still frees all of it. Small
    snapshots (the tests') leave the collector as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze():
            gc.freeze()
        if was_enabled:
            gc.enable()


@dataclass
class Snapshot:
    pools: List[Dict[str, Any]] = field(default_factory=list)
    services: List[Dict[str, Any]] = field(default_factory=list)
    # Services already modelled as they were read (a trimmed file load builds each
    # Service from its decoded object at once, with no trimmed copy in between).
    models: List[Service] = field(default_factory=list)
    namespaces: List[Dict[str, Any]] = field(default_factory=list)
    legacy_configmap: Optional[Dict[str, Any]] = None
    # where a file's legacy ConfigMap was (its inner YAML is read with the model)
    legacy_where: Optional[str] = None
    # Live, when Cilium's objects are read too: why MetalLB is not there (no pool
    # CRD, no legacy ConfigMap), "" when it is. Neither there is an error.
    metallb_absent: str = ""
    allocation_failures: Dict[str, str] = field(default_factory=dict)
    # Where the objects come from, for messages: text, or (live) an object whose
    # str() asks which cluster only when a message needs it (snapshot/live.py).
    source: Any = ""
    live: bool = False
    # Whether the model's services keep their object (to print it back changed).
    keep_objects: bool = True
    # --against-cluster (overlay.py): where each object came from, by (kind,
    # namespace, name), set on its model object (``origin``) by to_cluster, and the
    # services that come from the files (not applied yet).
    origins: Dict[Tuple[str, str, str], Any] = field(default_factory=dict)
    planned: Set[str] = field(default_factory=set)
    # ... and each file object as written (no live status, no namespace filled in).
    manifests: Dict[Tuple[str, str, str], Dict[str, Any]] = field(default_factory=dict)

    # Where each object of the files starts, by (kind, namespace as written, name):
    # (file, line, column); recorded when the files are read with locate (check's reports).
    locations: Dict[Tuple[str, str, str], Tuple[str, int, int]] = field(default_factory=dict)

    def location(self, kind: str, namespace: str, name: str) -> Optional[Tuple[str, int, int]]:
        """(file, line, column) where an object starts, if the files were read with
        locate: by its namespace, or as written without one (it landed in the default)."""
        return self.locations.get((kind, namespace, name)) or self.locations.get((kind, "", name))

    # Past allocation (snapshot/network.py): objects by kind; the kinds that were read
    # (None: from files, where a kind is known when it has an object); notes for stderr.
    network_objects: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    network_present: Optional[FrozenSet[str]] = None
    network_notes: List[str] = field(default_factory=list)
    # Which MetalLB runs (live: found by LiveClient; otherwise set by the command).
    metallb: Optional[Release] = None
    # Cilium's LB-IPAM objects by kind (CILIUM_POOL, CILIUM_L2_POLICY), shape-checked and
    # trimmed; the kinds the API serves (None: from files, or not asked for; live, a
    # kind the cluster does not serve is absent, not an error); the cilium-operator
    # Deployment's (namespace/name, image) when it was read.
    cilium_objects: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    cilium_present: Optional[FrozenSet[str]] = None
    cilium_operator: Optional[Tuple[str, str]] = None
    # a Cilium kind the identity may not list: said only when Cilium's rules answer
    cilium_notes: List[str] = field(default_factory=list)
    # the operator's settings (live: the cilium-config ConfigMap's keys the model reads)
    cilium_config: Dict[str, str] = field(default_factory=dict)

    @property
    def pools_namespace(self) -> str:
        """Where MetalLB's objects live: the namespace most pools are in."""
        counts: Dict[str, int] = {}
        for p in self.pools:
            ns = (p.get("metadata") or {}).get("namespace") or ""
            if ns:
                counts[ns] = counts.get(ns, 0) + 1
        return max(sorted(counts), key=counts.__getitem__) if counts else LEGACY_CONFIGMAP[0]

    @property
    def uses_legacy_config(self) -> bool:
        return not self.pools and self.legacy_configmap is not None

    def to_cluster(self, freeze: bool = True) -> Cluster:
        """The model (``freeze``: a large one leaves the garbage collector's view, see
        paused_gc; a watch, which builds one model after another, says False)."""
        with paused_gc(lambda: freeze and len(self.services) + len(self.models) >= FREEZE_OBJECTS):
            return self._to_cluster(release=False)

    def take_cluster(self) -> Cluster:
        """The model, releasing the snapshot's objects as it is built: for commands
        that need only the model, so that a large cluster is never held twice."""
        big = len(self.services) + len(self.models) >= FREEZE_OBJECTS
        with paused_gc(lambda: big):
            cluster = self._to_cluster(release=True)
        self.pools, self.namespaces, self.models = [], [], []
        if big:
            LARGE_MODELS.append(cluster)
        return cluster

    def _to_cluster(self, release: bool) -> Cluster:
        ns_labels: Dict[str, Dict[str, str]] = {}
        for model in self.models:
            ns_labels.setdefault(model.namespace, {})
        for svc in self.services:
            ns = (svc.get("metadata") or {}).get("namespace") or "default"
            ns_labels.setdefault(ns, {})
        for obj in self.namespaces:
            namespace = MODELS[NAMESPACE].from_object(obj)
            if namespace.name:
                ns_labels[namespace.name] = dict(namespace.labels)
        for name, labels in ns_labels.items():
            labels.setdefault("kubernetes.io/metadata.name", name)
        legacy = self.legacy_configmap if self.uses_legacy_config else None
        if legacy is not None:
            pools = pools_from_legacy_config(legacy_config(legacy, self.legacy_where or self.source))
        else:
            pools = [MODELS[POOL].from_object(p, ns_labels) for p in self.pools]
        objects: List[Any] = self.services
        if release:
            self.services = []
        services = list(self.models)
        model = MODELS[SERVICE]
        for i, obj in enumerate(objects):
            services.append(model.from_object(obj, self.keep_objects, True if self.live else None))
            if release:
                objects[i] = None  # freed now, not after the whole list is built
        if self.origins:  # --against-cluster: each model object says where it came from
            self._set_origins(pools, services)
        network = self.network(services)
        if release:
            self.network_objects = {}
        return Cluster(
            pools,
            services,
            ns_labels,
            dict(self.allocation_failures),
            legacy_config=self.uses_legacy_config,
            live=self.live,
            planned=frozenset(self.planned),
            metallb=self.metallb.version if self.metallb else NEWEST,
            network=network,
            overlaid=bool(self.origins),
            other_origins={k: o for k, o in self.origins.items() if k[0] not in OWN_ORIGIN},
        )

    def _set_origins(self, pools: List[Pool], services: List[Service]) -> None:
        origins = self.origins
        legacy = next((o for k, o in origins.items() if k[0] == "ConfigMap"), None)
        for pool in pools:
            pool.origin = legacy if pool.legacy else origins.get(("IPAddressPool", pool.namespace, pool.name))
        for svc in services:
            svc.origin = origins.get(("Service", svc.namespace, svc.name))

    def cilium_models(self, kind: str) -> List[Any]:
        """The model of each of Cilium's objects of a kind (CILIUM_POOL, CILIUM_L2_POLICY),
        through its model class (MODELS)."""
        model = MODELS[kind]
        return [model.from_object(obj) for obj in self.cilium_objects.get(kind, ())]

    def network(self, services):
        """What the rules past allocation read (model.announce.Network)."""
        from . import network

        present = self.network_present
        if present is None:
            present = network.present_in(self.network_objects)
        return network.build(self.network_objects, present, self.pools, services, self.source)


def legacy_config(configmap: Dict[str, Any], source: Any = "", error: Type[LbipError] = UsageError) -> LegacyConfig:
    """The model of the YAML inside a pre-0.13 MetalLB ConfigMap's ``data.config``
    (model.legacy.LegacyConfig, the table shape.MODELS has): the text read as -f's
    texts are (documents.py), checked against the table's shape (shape.py), then
    built by it; ``configmap``: the ConfigMap, checked for shape; ``source``: where it
    was read, made text only for an error."""
    outer = build(MODELS[LEGACY], configmap)
    name = f"ConfigMap {outer.namespace}/{outer.name}"
    try:
        if not outer.config:
            raise error(f"{name} has no data.config")
        docs = documents.parse_text(outer.config, f"{name}: data.config")
        config = docs[0].obj if len(docs) == 1 else None
        if not isinstance(config, dict):
            raise error(f"{name}: data.config is not one YAML mapping")
        shape.check_depth(config, f"{name}: data.config", error)
        model = MODELS[LEGACY_DATA]
        shape.check(config, shape.schema_of(LEGACY_DATA), name, error, what="data.config")
        return build(model, config)
    except LbipError as exc:
        raise error(f"{source}: {exc}" if source else str(exc)) from None

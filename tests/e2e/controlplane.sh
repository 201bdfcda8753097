#!/usr/bin/env bash
# Build (once) the pinned binaries used by the e2e tier: etcd, kube-apiserver
# and MetalLB's controller, one per MetalLB release of the conformance matrix.
# They are compiled from Go modules fetched through the Go module proxy into a
# cache OUTSIDE the repository:
#
#   ${KUBECTL_LBIP_E2E_CACHE:-~/.cache/kubectl-lbip-e2e}/k8s-<v>_etcd-<v>_r<n>/bin/   etcd, kube-apiserver
#   ${KUBECTL_LBIP_E2E_CACHE:-~/.cache/kubectl-lbip-e2e}/metallb-<v>_r<n>/bin/        metallb-controller
#
# Usage:
#   tests/e2e/controlplane.sh build   # build whatever is missing (no-op when cached)
#   tests/e2e/controlplane.sh path    # print the bin directory of etcd and kube-apiserver
#   tests/e2e/controlplane.sh layout  # one line per binary set: "controlplane DIR",
#                                     # "metallb VERSION BINDIR CRDDIR" (oldest first)
#   tests/e2e/controlplane.sh env     # print shell assignments for the tier
#   tests/e2e/controlplane.sh crds [VERSION]  # MetalLB's CRD directory (default: the newest)
#
# KUBECTL_LBIP_E2E_METALLB_VERSIONS="v0.14.9 v0.15.3 v0.16.1" (oldest first) picks
# the MetalLB releases; the last one is the default the rest of the tier runs.
#
# Nothing from Kubernetes, etcd or MetalLB is copied into this repository:
# MetalLB's CRDs are read at test time from the Go module cache.
set -euo pipefail

K8S_VERSION="v1.32.13"        # k8s.io/kubernetes (kubectl 1.32 client: same minor)
ETCD_VERSION="v3.5.21"        # go.etcd.io/etcd/server/v3 (k8s 1.32 uses the 3.5 client)
# go.universe.tf/metallb, oldest first.  v0.16.2 is not here: its dependency
# github.com/metallb/frr-k8s v0.0.27 is refused by the Go module proxy.
# v0.15.2 (the tier's only release before) gave way to v0.15.3, its patch release.
read -r -a METALLB_VERSIONS <<<"${KUBECTL_LBIP_E2E_METALLB_VERSIONS:-v0.14.9 v0.15.3 v0.16.1}"
NEWEST_METALLB="${METALLB_VERSIONS[${#METALLB_VERSIONS[@]}-1]}"
# github.com/cilium/cilium, oldest first: its operator (cilium-operator-generic) is
# the judge of the Cilium LB-IPAM tests.  v1.19.0 is the newest release whose
# operator builds from the Go module proxy: v1.20.2 needs sigs.k8s.io/mcs-api/controllers
# v0.5.2 and a github.com/osrg/gobgp/v4 pseudo-version, both refused (403).  For
# v1.20.2 only its LB-IPAM cell is built (tests/e2e/cilium-judge/main.go, which
# imports neither): "v1.19.0 v1.20.2" adds it (not in CI's default: its build time).
read -r -a CILIUM_VERSIONS <<<"${KUBECTL_LBIP_E2E_CILIUM_VERSIONS-v1.19.0}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

GO="${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}"
CACHE_ROOT="${KUBECTL_LBIP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-lbip-e2e}"
# Bump RECIPE when the way binaries are built changes: it invalidates caches.
RECIPE=2
TAG="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_r${RECIPE}"
BIN_DIR="${CACHE_ROOT}/${TAG}/bin"
metallb_bin_dir() { printf '%s/metallb-%s_r%s/bin\n' "$CACHE_ROOT" "$1" "$RECIPE"; }
cilium_bin_dir() { printf '%s/cilium-%s_r%s/bin\n' "$CACHE_ROOT" "$1" "$RECIPE"; }
# What judges a Cilium release: its whole operator, or (the operator cannot be built)
# only its LB-IPAM cell.
cilium_judge() { # cilium_judge VERSION
    case "$1" in
    v1.20.*) echo cilium-lbipam ;;
    *) echo cilium-operator-generic ;;
    esac
}

# Never switch toolchains behind our back, build static, strip, and keep the
# binaries independent of this machine's paths.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
LDFLAGS="-s -w"

log() { printf '[controlplane] %s\n' "$*" >&2; }

timed() { # timed <label> <command...>
    local label=$1 start end
    shift
    start=$(date +%s)
    # called from `a || b` lists, where set -e is off: check the status here
    "$@" || { log "FAILED to build ${label}"; return 1; }
    end=$(date +%s)
    log "built ${label} in $((end - start))s"
}

gomodcache() { "$GO" env GOMODCACHE; }

module_dir() { # module_dir MODULE@VERSION SUBDIR: a directory of a module (downloaded when needed)
    local dir
    dir="$(gomodcache)/$1/$2"
    if [[ ! -d $dir ]]; then
        GOFLAGS=-mod=mod "$GO" mod download "$1" >/dev/null
    fi
    printf '%s\n' "$dir"
}

metallb_crd_dir() { module_dir "go.universe.tf/metallb@$1" config/crd/bases; }

# The cache's previous layout kept all three binaries in one directory named
# after the MetalLB release too (k8s-..._etcd-..._metallb-<v>_r2/bin).  The
# recipe is the same: reuse (hard-link) what it built instead of rebuilding.
adopt() { # adopt <binary> <destination>
    local old
    for old in "${CACHE_ROOT}"/k8s-"${K8S_VERSION}"_etcd-"${ETCD_VERSION}"_metallb-*_r"${RECIPE}"/bin/"$1"; do
        [[ -x $old ]] || continue
        ln -f "$old" "$2" 2>/dev/null || cp -p "$old" "$2" || return 1
        log "reused $old"
        return 0
    done
    return 1
}

adopt_controller() { # adopt_controller <version> <destination>
    local old="${CACHE_ROOT}/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_metallb-$1_r${RECIPE}/bin/metallb-controller"
    [[ -x $old ]] || return 1
    ln -f "$old" "$2" 2>/dev/null || cp -p "$old" "$2" || return 1
    log "reused $old"
}

# Print the go.mod path of a module version (downloads it when needed).
gomod_of() {
    "$GO" mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

build_apiserver() {
    local out=$1 tmp gomod staging minor
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    gomod=$(gomod_of "k8s.io/kubernetes@${K8S_VERSION}")
    # Staging modules are "k8s.io/X => ./staging/src/k8s.io/X" in its go.mod;
    # they are published as k8s.io/X v0.<minor>.<patch>.
    minor="v0.${K8S_VERSION#v1.}"
    staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "$gomod")
    [[ -n $staging ]] || { log "no staging modules found in $gomod"; return 1; }
    (
        cd "$tmp"
        "$GO" mod init kubectl-lbip-e2e/apiserver >/dev/null 2>&1
        local args=(-require "k8s.io/kubernetes@${K8S_VERSION}")
        local m
        for m in $staging; do
            args+=(-replace "${m}=${m}@${minor}")
        done
        "$GO" mod edit "${args[@]}"
        printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
        "$GO" mod tidy >/dev/null 2>&1 || "$GO" mod tidy
        # Stamp the version like Kubernetes' own build does (hack/lib/version.sh);
        # otherwise /version says "v0.0.0-master+$Format:%H$", which kubectl
        # refuses to parse (`kubectl version` fails).
        local major=${K8S_VERSION#v} minor_n v x
        minor_n=${major#*.}
        minor_n=${minor_n%%.*}
        major=${major%%.*}
        v="$LDFLAGS"
        for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            v+=" -X ${x}.gitVersion=${K8S_VERSION} -X ${x}.gitMajor=${major}"
            v+=" -X ${x}.gitMinor=${minor_n} -X ${x}.gitTreeState=clean"
        done
        "$GO" build -ldflags="$v" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    )
    mv "$out.tmp" "$out"
}

build_etcd() {
    local out=$1 tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    # go.etcd.io/etcd/server/v3 holds the etcd main package (main.go at its
    # root) but replaces its sibling modules with ../paths, so `go install
    # module@version` refuses it.  As a main module's dependency those
    # replacements are ignored and its own requirements (same version) win.
    (
        cd "$tmp"
        "$GO" mod init kubectl-lbip-e2e/etcd >/dev/null 2>&1
        # A main package can't be imported by a tools.go; `go get` records the
        # requirement and the go.sum lines the build needs.
        "$GO" get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >/dev/null 2>&1 ||
            "$GO" get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
        "$GO" build -mod=mod -ldflags="$LDFLAGS" -o "$out.tmp" go.etcd.io/etcd/server/v3
    )
    mv "$out.tmp" "$out"
}

build_metallb_controller() { # build_metallb_controller <version> <out>
    local version=$1 out=$2 tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    GOBIN="$tmp" "$GO" install -ldflags="$LDFLAGS" "go.universe.tf/metallb/controller@${version}"
    mv "$tmp/controller" "$out"
}

cilium_crd_dir() { module_dir "github.com/cilium/cilium@$1" pkg/k8s/apis/cilium.io/client/crds; }

# Cilium's go.mod replaces github.com/osrg/gobgp/v3 with its own fork; a
# dependency's replace directives are ignored, so a main module built on Cilium
# repeats every one that points at another module (not at a local path):
# printed as go mod edit's OLD=NEW@VERSION.
cilium_replaces() { # cilium_replaces VERSION
    sed -n 's#^replace \([^ ]*\) => \([^ .][^ ]*\) \(v[^ ]*\)$#\1=\2@\3#p' \
        "$(gomod_of "github.com/cilium/cilium@$1")"
}

# A main module here requiring Cilium VERSION, with Cilium's replacements and the
# given ones (OLD=NEW[@VERSION]).
cilium_module() { # cilium_module NAME VERSION [REPLACEMENT...]
    local args=(-require "github.com/cilium/cilium@$2") rep
    "$GO" mod init "kubectl-lbip-e2e/$1" >/dev/null 2>&1
    while read -r rep; do
        args+=(-replace "$rep")
    done < <(cilium_replaces "$2")
    for rep in "${@:3}"; do
        args+=(-replace "$rep")
    done
    "$GO" mod edit "${args[@]}"
}

build_cilium_operator() { # build_cilium_operator <version> <out>
    local version=$1 out=$2 tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    (
        cd "$tmp"
        cilium_module cilium-operator "$version"
        # The operator is a main package: a tools.go (never compiled) makes
        # `go mod tidy` record what it needs.
        printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/cilium/cilium/operator"\n' >tools.go
        "$GO" mod tidy >/dev/null 2>&1 || "$GO" mod tidy
        # cilium-operator-generic: Cilium's operator/Makefile builds it with this tag.
        "$GO" build -tags ipam_provider_operator -o "$out.tmp" \
            -ldflags="$LDFLAGS -X github.com/cilium/cilium/pkg/version.ciliumVersion=${version#v}" \
            github.com/cilium/cilium/operator
    )
    mv "$out.tmp" "$out"
}

build_cilium_lbipam() { # build_cilium_lbipam <version> <out>
    local version=$1 out=$2 tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    mkdir "$tmp/judge" "$tmp/empty"
    cp "$HERE/cilium-judge/main.go" "$tmp/judge/"
    # Required by modules lbipam never imports, and refused by the proxy (403):
    # an empty module stands in for sigs.k8s.io/mcs-api/controllers, and gobgp/v4's
    # pinned pseudo-version gives way to a served release.
    printf 'module sigs.k8s.io/mcs-api/controllers\n\ngo 1.22\n' >"$tmp/empty/go.mod"
    (
        cd "$tmp/judge"
        cilium_module cilium-lbipam "$version" "sigs.k8s.io/mcs-api/controllers=../empty" \
            "github.com/osrg/gobgp/v4=github.com/osrg/gobgp/v4@v4.7.0"
        # -e: the tests of lbipam's dependencies import the stand-in's missing
        # package; the judge itself never does
        "$GO" mod tidy -e >/dev/null 2>&1
        "$GO" build -o "$out.tmp" -ldflags="$LDFLAGS" .
    )
    mv "$out.tmp" "$out"
}

cmd_build() {
    local v dir
    mkdir -p "$BIN_DIR"
    [[ -x $BIN_DIR/etcd ]] || adopt etcd "$BIN_DIR/etcd" ||
        timed "etcd ${ETCD_VERSION}" build_etcd "$BIN_DIR/etcd"
    [[ -x $BIN_DIR/kube-apiserver ]] || adopt kube-apiserver "$BIN_DIR/kube-apiserver" ||
        timed "kube-apiserver ${K8S_VERSION}" build_apiserver "$BIN_DIR/kube-apiserver"
    log "control plane binaries ready in $BIN_DIR"
    for v in "${METALLB_VERSIONS[@]}"; do
        dir=$(metallb_bin_dir "$v")
        mkdir -p "$dir"
        [[ -x $dir/metallb-controller ]] || adopt_controller "$v" "$dir/metallb-controller" ||
            timed "metallb controller ${v}" build_metallb_controller "$v" "$dir/metallb-controller"
        metallb_crd_dir "$v" >/dev/null
        log "metallb controller ${v} ready in $dir"
    done
    for v in "${CILIUM_VERSIONS[@]}"; do
        dir=$(cilium_bin_dir "$v")
        mkdir -p "$dir"
        if [[ $(cilium_judge "$v") == cilium-lbipam ]]; then
            [[ -x $dir/cilium-lbipam ]] ||
                timed "cilium LB-IPAM ${v}" build_cilium_lbipam "$v" "$dir/cilium-lbipam"
        else
            [[ -x $dir/cilium-operator-generic ]] ||
                timed "cilium operator ${v}" build_cilium_operator "$v" "$dir/cilium-operator-generic"
        fi
        cilium_crd_dir "$v" >/dev/null
        log "cilium judge ${v} ($(cilium_judge "$v")) ready in $dir"
    done
}

cmd_layout() {
    local v
    printf 'controlplane %s\n' "$BIN_DIR"
    for v in "${METALLB_VERSIONS[@]}"; do
        printf 'metallb %s %s %s\n' "$v" "$(metallb_bin_dir "$v")" "$(metallb_crd_dir "$v")"
    done
    for v in "${CILIUM_VERSIONS[@]}"; do
        printf 'cilium %s %s %s\n' "$v" "$(cilium_bin_dir "$v")/$(cilium_judge "$v")" "$(cilium_crd_dir "$v")"
    done
}

case "${1:-}" in
build) cmd_build ;;
path) printf '%s\n' "$BIN_DIR" ;;
layout) cmd_layout ;;
crds) metallb_crd_dir "${2:-$NEWEST_METALLB}" ;;
env)
    printf 'KUBECTL_LBIP_E2E_BIN=%q\n' "$BIN_DIR"
    printf 'KUBECTL_LBIP_E2E_CRDS=%q\n' "$(metallb_crd_dir "$NEWEST_METALLB")"
    printf 'KUBECTL_LBIP_E2E_METALLB_VERSIONS=%q\n' "${METALLB_VERSIONS[*]}"
    printf 'KUBECTL_LBIP_E2E_VERSIONS=%q\n' "${TAG} metallb-${METALLB_VERSIONS[*]}"
    ;;
*)
    echo "usage: $0 {build|path|layout|env|crds [VERSION]}" >&2
    exit 2
    ;;
esac

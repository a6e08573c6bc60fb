#!/usr/bin/env bash
# deploy/check.sh: the deployment checks that need no cluster and no Docker,
# only Go (everything else comes through the Go module proxy).
#
#   1. builds helm from source (Go's build cache keeps the binary between runs);
#   2. helm lint --strict the chart with default values and with every values
#      file under deploy/helm/regapi/ci/;
#   3. runs the Go tests in deploy/check: helm template for each scenario,
#      every object decoded strictly into the k8s.io/api types, the security
#      settings, values.yaml documented line by line, the Dockerfile parsed
#      with BuildKit's parser, .dockerignore against go list ./cmd/server,
#      the Dockerfile's go build line run outside Docker (static, trimmed,
#      stamped), and that binary run with each rendered pod's args, env and
#      config (ready, probes, /metrics, clean exit on SIGTERM).
#
# Works from any directory: deploy/check.sh, bash /path/to/deploy/check.sh.
set -euo pipefail

# Pinned, so that a helm release cannot change the checks' outcome;
# go list -m -versions helm.sh/helm/v3 lists the versions to move to.
HELM_VERSION=v3.22.0

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chart="$deploy_dir/helm/regapi"

work=$(mktemp -d "${TMPDIR:-/tmp}/regapi-deploy-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Keep helm away from the user's own config, cache and repositories.
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"
# Outside any module and workspace: go install pkg@version resolves helm's own go.mod.
export GOWORK=off

step() { printf '==> [%3ds] %s\n' "$SECONDS" "$*"; }

# go run caches the executables it links in the build cache (Go 1.24+) and,
# with -exec echo, prints the binary's path instead of running it. The first
# build's path is a temporary copy gone when go run exits; ask again and get
# the cached one. Warm, this takes seconds instead of relinking helm.
helm_path() { (cd "$work" && go run -exec echo "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"); }
step "build helm $HELM_VERSION"
mkdir -p "$work/bin"
helm="$work/bin/helm"
cached=$(helm_path)
if [ ! -x "$cached" ]; then
	cached=$(helm_path)
fi
if [ -x "$cached" ]; then
	cp "$cached" "$helm"
else
	# A Go without go run's executable cache: link helm into the temp dir.
	(cd "$work" && GOBIN="$work/bin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
fi
"$helm" version --short

step "helm lint (defaults)"
"$helm" lint --strict "$chart"
for values in "$chart"/ci/*-values.yaml; do
	step "helm lint (${values#"$chart"/})"
	"$helm" lint --strict "$chart" --values "$values"
done

step "go vet and go test (deploy/check)"
cd "$deploy_dir/check"
go vet ./...
REGAPI_HELM="$helm" go test -count=1 ./...
step "deploy checks passed"

// Package check holds the deployment checks that need no cluster: the Helm
// chart in deploy/helm/regapi renders into objects that decode strictly into
// the Kubernetes API types and keep the security settings, and the
// Dockerfile and .dockerignore build ./cmd/server the way the project ships
// it. deploy/check.sh builds helm and runs these tests with REGAPI_HELM set.
//
// It is its own Go module so that the Kubernetes, Helm and BuildKit
// dependencies stay out of the service's go.mod.
package check

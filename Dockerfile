# regapi container image: a static Go binary on distroless, nothing else.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#                --build-arg REVISION=$(git rev-parse HEAD) -t regapi .
#
# deploy/check (run by deploy/check.sh) parses this file and asserts what
# matters: it builds ./cmd/server, bases are pinned, the final stage is
# non-root and holds only the binary.

# The builder's Go matches the go directive in go.mod (deploy/check asserts
# the minor version). It runs on the build host's platform and cross-compiles,
# so multi-arch builds need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build

WORKDIR /src

# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .

ARG TARGETOS
ARG TARGETARCH
# Stamped into main.version and main.revision of cmd/server.
ARG VERSION=dev
ARG REVISION=unknown

# CGO_ENABLED=0: a static binary, since the final image has no libc.
# -trimpath: no build-machine paths in the binary or its panics.
# -buildvcs=false: .git is not in the build context (.dockerignore); the
# revision comes from REVISION instead.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/regapi ./cmd/server

# distroless/static: CA certificates, tzdata and /etc/passwd with the nonroot
# user (uid 65532); no shell, no package manager. Pinned by tag and digest
# (gcr.io/distroless/static-debian12:nonroot as of 2026-08-26). To update:
#   crane digest gcr.io/distroless/static-debian12:nonroot
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab

COPY --from=build /out/regapi /regapi

# Numeric, not "nonroot": the kubelet can only verify runAsNonRoot against a
# numeric user. 65532 is distroless's nonroot.
USER 65532:65532

EXPOSE 8080

ENTRYPOINT ["/regapi"]

#!/usr/bin/env bash
# Compiles the apps for Linux on the host and builds one image per app from
# the repository's Dockerfile (see the comment there for why no multi-stage
# build). The same steps as `make binaries` and `make images`.
#
# Usage: scripts/images.sh [--dry-run] [binaries|images|tag]     (default: images)
#
# `tag` prints the tag the images get (and scripts/deploy.sh deploys).
#
# Environment:
#   BASE          base image (default gcr.io/distroless/static-debian12:nonroot;
#                 CI, which cannot pull, uses BASE=scratch)
#   IMAGE_PREFIX  registry prefix with its trailing slash, e.g. localhost:5005/
#   TAG           image tag (default: the commit, `git describe --always
#                 --dirty`, plus a hash of the uncommitted changes when the
#                 tree is dirty; so every build of different code gets a new
#                 tag, and deploying it rolls the pods)
#   PUSH=1        push the images after building them
#   GOARCH        target architecture (default: this machine's, which is what
#                 a local k3d cluster runs)
#
# --dry-run prints the commands instead of running them; the k8s package's
# tests read it to check that every image the manifests use is built here.
set -euo pipefail
cd "$(dirname "$0")/.."

APPS=(api gateway web)
BASE="${BASE:-gcr.io/distroless/static-debian12:nonroot}"
IMAGE_PREFIX="${IMAGE_PREFIX:-}"

# The tag follows the code: the commit, and for a dirty tree a hash of what
# differs from it (tracked changes and untracked files), so two builds of
# different uncommitted code never share a tag.
commit_tag() {
  local described
  described="$(git describe --always --dirty 2>/dev/null || echo unknown)"
  if [[ "$described" == *-dirty ]]; then
    local sum
    sum="$({ git diff HEAD --binary; git ls-files --others --exclude-standard -z | xargs -0 -r sha256sum; } | sha256sum | cut -c1-8)"
    described="$described-$sum"
  fi
  echo "$described"
}
TAG="${TAG:-$(commit_tag)}"
PUSH="${PUSH:-}"

dry_run=""
if [[ "${1:-}" == "--dry-run" ]]; then
  dry_run=1
  shift
fi
what="${1:-images}"

# Debian's plain client builds with the classic builder, which is all a
# one-COPY Dockerfile needs; some docker CLIs on PATH insist on buildx.
docker_cli="${DOCKER:-docker}"
if [[ -z "${DOCKER:-}" && -x /usr/bin/docker ]]; then
  docker_cli=/usr/bin/docker
fi

run() {
  if [[ -n "$dry_run" ]]; then
    echo "$*"
  else
    echo "+ $*" >&2
    "$@"
  fi
}

binaries() {
  for app in "${APPS[@]}"; do
    run env GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH="${GOARCH:-$(go env GOARCH)}" \
      go build -trimpath -o "bin/linux/$app" "./apps/$app"
  done
}

images() {
  binaries
  for app in "${APPS[@]}"; do
    ref="${IMAGE_PREFIX}pixel-${app}:${TAG}"
    run "$docker_cli" build --build-arg "APP=$app" --build-arg "BASE=$BASE" -t "$ref" -f Dockerfile .
    if [[ -n "$PUSH" ]]; then
      run "$docker_cli" push "$ref"
    fi
  done
}

case "$what" in
  binaries) binaries ;;
  images) images ;;
  tag) echo "$TAG" ;;
  *) echo "usage: $0 [--dry-run] [binaries|images|tag]" >&2; exit 2 ;;
esac

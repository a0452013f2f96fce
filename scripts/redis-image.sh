#!/usr/bin/env bash
# Builds a minimal Redis image from Debian's redis-server binary, FROM scratch.
#
# Why: CI machines cannot pull from any container registry, so the Redis that
# testcontainers starts must be built locally. Copying the binary and exactly
# the shared libraries ldd reports gives a working image in about a second.
#
# Usage: scripts/redis-image.sh [tag]     (default tag: pixel-redis:local)
# Then:  PIXEL_REDIS_IMAGE=pixel-redis:local go test ./adapters/redis/...
set -euo pipefail

tag="${1:-pixel-redis:local}"
server=/usr/bin/redis-server

# /usr/local/bin/docker may be a CLI that insists on buildx; Debian's plain
# client builds with the classic builder, which is all a FROM scratch needs.
docker_cli=docker
if [[ -x /usr/bin/docker ]]; then
  docker_cli=/usr/bin/docker
fi

if [[ ! -x "$server" ]]; then
  echo "redis-image: $server missing, installing Debian's redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends redis-server
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs"

cp -L --parents "$server" "$ctx/rootfs/"
# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the
# loader; take every absolute path it names.
ldd "$server" | grep -o '/[^ ]*' | while read -r lib; do
  cp -L --parents "$lib" "$ctx/rootfs/"
done
# redis-server writes its AOF and RDB into the working directory, and the
# image has no shell to create one at start, so ship it.
mkdir -p "$ctx/rootfs/data" "$ctx/rootfs/tmp"
chmod 1777 "$ctx/rootfs/tmp"

cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/bin/redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
DOCKERFILE

echo "redis-image: building $tag from $server ($("$server" --version | awk '{print $3}'))"
"$docker_cli" build -q -t "$tag" "$ctx"
echo "redis-image: built $tag"

#!/usr/bin/env bash
# The development loop: a local k3d cluster with a registry (ctlptl.yaml),
# then Tilt, which compiles, builds, deploys and live-updates on every save.
# The app is at http://localhost once the resources are green.
# Extra arguments go to `tilt up` (e.g. --port 10351).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in ctlptl k3d tilt kubectl docker; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "dev: $tool is not installed; see docs/kubernetes.md" >&2
    exit 1
  fi
done

ctlptl apply -f ctlptl.yaml
exec tilt up "$@"

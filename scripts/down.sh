#!/usr/bin/env bash
# Undoes scripts/dev.sh: removes what Tilt deployed, then the k3d cluster and
# its registry. The canvas (Redis' volume) goes with the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

# The cluster may already be gone; deleting it is what matters.
tilt down || echo "down: tilt down failed; deleting the cluster anyway" >&2
ctlptl delete -f ctlptl.yaml

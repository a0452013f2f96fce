#!/usr/bin/env bash
# Production-style rollout of k8s/overlays/prod to the current kubectl
# context, then waits for every workload to finish rolling out.
#
# Environment:
#   IMAGE_PREFIX  registry prefix the cluster pulls from, with its trailing
#                 slash (default: none, i.e. images already on the nodes)
#   TAG           image tag (default: the overlay's own, 0.1.0)
#   TIMEOUT       how long each rollout may take (default 5m)
set -euo pipefail
cd "$(dirname "$0")/.."

namespace=pixel-playground
overlay=k8s/overlays/prod
timeout="${TIMEOUT:-5m}"

if [[ -n "${IMAGE_PREFIX:-}" || -n "${TAG:-}" ]]; then
  # A throwaway overlay on top of prod that only renames the images. It
  # lives inside the repository because kustomize wants relative paths.
  mkdir -p .tmp
  tmp="$(mktemp -d .tmp/deploy.XXXXXX)"
  trap 'rm -rf "$tmp"; rmdir .tmp 2>/dev/null || true' EXIT
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources:"
    echo "  - ../../$overlay"
    echo "images:"
    for app in api gateway web; do
      echo "  - name: pixel-$app"
      echo "    newName: ${IMAGE_PREFIX:-}pixel-$app"
      if [[ -n "${TAG:-}" ]]; then
        echo "    newTag: \"$TAG\""
      fi
    done
  } >"$tmp/kustomization.yaml"
  overlay="$tmp"
fi

kubectl apply -k "$overlay"
for workload in statefulset/redis deployment/api deployment/gateway deployment/web; do
  kubectl rollout status -n "$namespace" "$workload" --timeout="$timeout"
done

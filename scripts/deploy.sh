#!/usr/bin/env bash
# Production-style rollout of k8s/overlays/prod to the current kubectl
# context, then waits for every workload to finish rolling out.
#
# The overlay is applied through a throwaway overlay on top of it that:
#   - pins each app image by digest when the image was pushed to a registry
#     (its RepoDigest is known to docker), else by the tag (images built
#     for `k3d image import` have no registry digest);
#   - generates Secret redis-auth (and pixel-operator) with a hash of the
#     content in the name, so a new password rolls every pod that uses it;
#   - sets TRUSTED_PROXIES, if given;
#   - adds the PodMonitor when the cluster runs the Prometheus Operator.
#
# Environment:
#   IMAGE_PREFIX        registry prefix the cluster pulls from, with its
#                       trailing slash (default: none, i.e. images already on
#                       the nodes)
#   TAG                 image tag (default: scripts/images.sh tag, the commit)
#   REQUIRE_DIGEST=1    fail instead of deploying an image by tag
#   REDIS_PASSWORD_FILE file holding the Redis password. Without it the
#                       Secret redis-auth must already exist in the namespace
#                       (created by hand or by a secrets operator); without
#                       either the deploy stops: Redis never runs open.
#   OPERATOR_TOKEN_FILE file holding the token of POST /api/canvas/reset
#                       (optional: without it, reset stays disabled unless
#                       Secret pixel-operator exists)
#   TRUSTED_PROXIES     the CIDRs of the ingress controller's pods, normally
#                       the cluster's pod CIDR (default: the base's, k3s'
#                       10.42.0.0/16)
#   PODMONITOR          1 to add the PodMonitor, 0 not to (default: when the
#                       cluster has the monitoring.coreos.com CRD)
#   TIMEOUT             how long each rollout may take (default 5m)
set -euo pipefail
cd "$(dirname "$0")/.."

namespace=pixel-playground
timeout="${TIMEOUT:-5m}"
prefix="${IMAGE_PREFIX:-}"
tag="${TAG:-$(scripts/images.sh tag)}"
docker_cli="${DOCKER:-docker}"

# The overlay lives inside the repository because kustomize wants relative
# paths.
mkdir -p .tmp
tmp="$(mktemp -d .tmp/deploy.XXXXXX)"
trap 'rm -rf "$tmp"; rmdir .tmp 2>/dev/null || true' EXIT

# digest_of prints repository@sha256:... for an image pushed to (or pulled
# from) a registry, nothing otherwise.
digest_of() {
  local ref="$1" repo="${1%:*}"
  "$docker_cli" image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" 2>/dev/null |
    grep -m1 "^${repo}@sha256:" || true
}

podmonitor="${PODMONITOR:-}"
if [[ -z "$podmonitor" ]]; then
  podmonitor=0
  if kubectl get crd podmonitors.monitoring.coreos.com >/dev/null 2>&1; then
    podmonitor=1
  fi
fi

if [[ -z "${REDIS_PASSWORD_FILE:-}" ]] && ! kubectl -n "$namespace" get secret redis-auth >/dev/null 2>&1; then
  echo "deploy: no Redis password: set REDIS_PASSWORD_FILE, or create Secret redis-auth in $namespace (docs/kubernetes.md)" >&2
  exit 1
fi

{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "namespace: $namespace"
  echo "resources:"
  echo "  - ../../k8s/overlays/prod"
  if [[ "$podmonitor" == 1 ]]; then
    echo "components:"
    echo "  - ../../k8s/components/prometheus-operator"
  fi
  echo "images:"
  for app in api gateway web; do
    ref="${prefix}pixel-$app:$tag"
    pinned="$(digest_of "$ref")"
    echo "  - name: pixel-$app"
    echo "    newName: ${prefix}pixel-$app"
    if [[ -n "$pinned" ]]; then
      echo "    digest: ${pinned#*@}"
    elif [[ "${REQUIRE_DIGEST:-}" == 1 ]]; then
      echo "deploy: $ref has no registry digest (push it first: make images PUSH=1)" >&2
      exit 1
    else
      echo "deploy: $ref has no registry digest; deploying it by tag" >&2
      echo "    newTag: \"$tag\""
    fi
  done
  if [[ -n "${REDIS_PASSWORD_FILE:-}" || -n "${OPERATOR_TOKEN_FILE:-}" ]]; then
    echo "secretGenerator:"
    if [[ -n "${REDIS_PASSWORD_FILE:-}" ]]; then
      install -m 600 "$REDIS_PASSWORD_FILE" "$tmp/redis-password"
      echo "  - name: redis-auth"
      echo "    files: [password=redis-password]"
    fi
    if [[ -n "${OPERATOR_TOKEN_FILE:-}" ]]; then
      install -m 600 "$OPERATOR_TOKEN_FILE" "$tmp/operator-token"
      echo "  - name: pixel-operator"
      echo "    files: [token=operator-token]"
    fi
  fi
  if [[ -n "${TRUSTED_PROXIES:-}" ]]; then
    echo "configMapGenerator:"
    echo "  - name: pixel-config"
    echo "    behavior: merge"
    echo "    literals: [\"TRUSTED_PROXIES=$TRUSTED_PROXIES\"]"
  fi
  echo "generatorOptions:"
  echo "  labels:"
  echo "    app.kubernetes.io/name: pixel-playground"
} >"$tmp/kustomization.yaml"

kubectl apply -k "$tmp"
for workload in statefulset/redis statefulset/redis-sentinel deployment/api deployment/gateway deployment/web; do
  kubectl rollout status -n "$namespace" "$workload" --timeout="$timeout"
done

# Shortcuts for the container and Kubernetes workflow; each target runs the
# script of the same purpose under scripts/, so people without make can run
# those directly. Tests and the all-in-one app need none of this: see
# README.md. Details: docs/kubernetes.md.
#
#   make check      everything CI checks: vet, gofmt, golangci-lint, tsc and
#                   every test (scripts/check.sh; needs Docker and Chromium
#                   for the full run, as the README says)
#   make binaries   compile bin/linux/{api,gateway,web} (static, for Linux)
#   make images     binaries, then pixel-{api,gateway,web}:$(TAG) images
#   make dev        k3d cluster + registry (ctlptl.yaml), then tilt up
#   make down       tilt down, then delete the cluster and registry
#   make deploy     kubectl apply -k k8s/overlays/prod and wait for rollouts
#
# Variables (also read from the environment):
#   BASE=scratch               base image (CI cannot pull distroless)
#   IMAGE_PREFIX=localhost:5005/   registry prefix, trailing slash included
#   TAG=...                    image tag (default: the commit, scripts/images.sh tag)
#   PUSH=1                     push after building (make images)

BASE ?= gcr.io/distroless/static-debian12:nonroot
IMAGE_PREFIX ?=
TAG ?=
PUSH ?=
export BASE IMAGE_PREFIX TAG PUSH

.PHONY: check binaries images dev down deploy

check:
	scripts/check.sh

binaries:
	scripts/images.sh binaries

images:
	scripts/images.sh images

dev:
	scripts/dev.sh

down:
	scripts/down.sh

deploy:
	scripts/deploy.sh

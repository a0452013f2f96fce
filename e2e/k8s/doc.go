// Package k8s holds no code to import: its tests check the Kubernetes
// manifests under k8s/, the Tiltfile, ctlptl.yaml, the Dockerfile and the
// Makefile with its scripts, statically and offline. They render both
// overlays with `kubectl kustomize`, decode every document strictly into
// the k8s.io/api types, assert the invariants production relies on
// (probes, limits, hardening, selectors, routes, disruption budgets, the
// Redis network policy, graceful shutdown), and evaluate the Tiltfile with
// go.starlark.net against stub Tilt builtins to check the development loop
// against the rendered dev overlay.
//
// Nothing here talks to a cluster; see docs/kubernetes.md for what that
// leaves unchecked.
package k8s

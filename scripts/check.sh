#!/usr/bin/env bash
# Everything CI checks, in one place: `make check` on a developer's machine,
# and .ci/run after it has installed and started what the tests need.
#
#   go vet and gofmt         both modules (the services' and e2e/)
#   golangci-lint            .golangci.yml, both modules
#   go test -race            the README's test command: every suite, the
#                            browser client's type check (tsc over its JSDoc,
#                            ui/typecheck_test.go) and node suites included
#
# Every check runs even when an earlier one failed, so one run reports all
# that is wrong; the script fails at the end if any did. Tools it needs:
# golangci-lint v2.15.0 on PATH (or in $(go env GOPATH)/bin) and ui/'s npm
# packages (npm ci --prefix ui); .ci/run installs both.
set -uo pipefail

cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
failed=()

lint="$(command -v golangci-lint || true)"
[[ -z "$lint" && -x "$(go env GOPATH)/bin/golangci-lint" ]] && lint="$(go env GOPATH)/bin/golangci-lint"

step "go vet ./... ./e2e/..."
go vet ./... ./e2e/... || failed+=("go vet")

step "gofmt -l ."
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  echo "these files are not gofmt-formatted:" >&2
  echo "$unformatted" >&2
  failed+=("gofmt")
fi

step "golangci-lint run (services module, then e2e/)"
if [[ -z "$lint" ]]; then
  echo "golangci-lint is not installed: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0" >&2
  failed+=("golangci-lint missing")
else
  "$lint" run ./... || failed+=("golangci-lint")
  (cd e2e && "$lint" run --config ../.golangci.yml ./...) || failed+=("golangci-lint e2e")
fi

step "go test -race -count=1 -timeout 15m ./... ./e2e/..."
go test -race -count=1 -timeout 15m ./... ./e2e/... || failed+=("go test")

if ((${#failed[@]} > 0)); then
  step "FAILED: ${failed[*]}"
  exit 1
fi
step "all checks passed"

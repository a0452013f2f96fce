// Package archtest holds the architecture test: the import rules that keep
// the hexagon's shape, checked against `go list` so that a wrong import
// fails `go test ./...` with the edge that broke the rule.
//
// The rules, for the non-test code of this module:
//
//   - domain imports only the standard library, and ports only the
//     standard library and domain (their contract suites under ports/ are
//     test kits and may import more);
//   - inbound adapters (adapters/inbound/...) never reach a backend
//     (adapters/embedded/..., adapters/redis/..., go-redis), and backends
//     never reach an inbound adapter;
//   - only the composition roots (apps/...) reach go.uber.org/fx;
//   - only the composition roots pick a concrete backend: nothing else
//     imports adapters/embedded/... or adapters/redis/..., except a backend
//     its own siblings (redisstore uses redisconn) and the Redis test kit
//     internal/redistest the connection package it configures.
//
// Test files may break the last two rules: tests choose backends too.
package archtest

// Package provingground holds the proving-ground suites: end-to-end runs of
// the split deployment (real gateway and api OS processes, a real Redis
// container, real WebSocket clients over loopback) that check what the
// system promises under load balancing, connection churn, chaos (gateways
// SIGKILLed, Redis restarted) and concurrent writes to the same pixels.
//
// The suites are Go tests, so `go test ./e2e/provingground/` runs them
// with short defaults fit for CI; the environment variables of the old
// Node.js test scripts (NUM_CLIENTS, TEST_DURATION, CHAOS_INTERVAL, ...)
// make them longer or heavier. Each prints a table of its figures (shown
// by `go test -v`, and on failure). docs/provingground.md describes them.
//
// The only non-test code is LoadBalancer, a round-robin TCP proxy that puts
// several gateways behind one address, as a cloud load balancer would.
package provingground

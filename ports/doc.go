// Package ports declares what the core needs from the outside world (a
// durable canvas store, a Pub/Sub bus, a presence registry, a clock and an id
// source) as interfaces in terms of domain types. Adapters implement them; the
// apps pick which implementation runs. Each port has one contract test suite
// next to it (storetest, bustest, presencetest) that every implementation
// must pass.
package ports

// Package ws is the real-time side of a gateway: the WebSocket transport
// (upgraded inside fasthttp, one reader goroutine per connection and a
// writer only while something is queued, a bounded write queue, a deadline
// on every write) and the hub
// behind it (one sequencer per process that delivers canvas events to every
// connection in seq order, repairs gaps from the store's history, resumes
// reconnecting clients, and keeps presence and cursors in step with the other
// gateways through the bus).
//
// Wire messages are encoded once per event, and each flush of events is
// framed once per protocol and written as the same bytes to every
// connection keeping up (shared.go); only the sender's echo (which carries
// its write id) and a connection catching up get frames of their own.
package ws

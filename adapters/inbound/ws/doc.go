// Package ws is the real-time side of a gateway: the WebSocket transport
// (upgraded inside fasthttp, one reader and one writer goroutine per
// connection, a bounded write queue, a deadline on every write) and the hub
// behind it (one sequencer per process that delivers canvas events to every
// connection in seq order, repairs gaps from the store's history, resumes
// reconnecting clients, and keeps presence and cursors in step with the other
// gateways through the bus).
//
// Wire messages are encoded once per event and shared by every connection;
// only the sender's echo (which carries its write id) is encoded separately.
package ws

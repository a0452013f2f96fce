// Package place is the one path for placing pixels, shared by every inbound
// adapter (the WebSocket gateway and the REST API): one reading of a write
// as clients send it (Parse), so the two can never disagree on what a valid
// write is, and one use case that hands validated writes to the store
// (Service.Place: the store-call deadline, the mapping of failures, the
// counters), so both answer a slow or broken store the same way.
//
// What stays with each adapter is only its wire: how a Problem or an error
// is worded to its clients, and the per-connection or per-IP rate limits
// that decide whether a write is looked at at all.
package place

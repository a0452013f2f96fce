// Package wsclient is a Go client of the Pixel Playground WebSocket protocol
// (v1 plus our extensions: seq, write ids, error codes, resume, cursors,
// canvas_reset and pixel.v2 batches). It is what the load tool and the test
// suites speak, so it favours predictability over convenience:
//
//   - Dial returns only once the server's `connected` message arrived, so a
//     caller knows the seq after which it will see every event.
//   - One reader goroutine per client decodes every frame into a typed
//     Message and hands it to a callback or to a bounded channel. A channel
//     consumer that falls behind never stalls the socket: messages that do not
//     fit are counted in Dropped and discarded, and the final Closed message
//     always fits.
//   - Writes are serialized by a mutex and every one has a deadline.
//   - Resilient redials after a drop, resumes with ?since=, keeps a
//     domain.Canvas in step with the server and records how each recovery
//     went, for chaos tests.
package wsclient

// Package groupcommit gathers the pixel writes of many concurrent callers
// (every WebSocket connection and REST request of one process) into one
// call of the canvas store, so that one Redis script carries dozens of
// writes instead of one. It is a decorator of ports.CanvasStore: callers
// see the same port, with the same promises, and only Place changes.
//
// Why: a canvas's writes all run on one Redis node, one script at a time,
// and most of a script's cost is fixed (the round trip, the epoch check,
// the clock, the history trim), not per write. One script per write
// capped a canvas at about 11,000 writes/s; one script per batch does not.
//
// How a batch forms (gather.go):
//
//   - A write that finds the store idle (no call of this decorator in
//     flight, nothing gathering) goes at once, alone: a lone write costs
//     what it cost without group commit.
//   - Otherwise it joins the batch being gathered. The batch leaves when
//     it holds Max writes, when Window has passed since its first write
//     joined, or as soon as no call is in flight any more, whichever comes
//     first. So under load a batch is what arrived during the previous
//     round trip, and no write waits more than Window before it is sent.
//   - A caller's writes stay together and in its order, and it gets
//     exactly its own events back (or the call's error). Batches of
//     different callers have no order between them, as concurrent calls
//     never had.
//
// Deadlines (the rule of deadline.go): the store call of a batch carries
// the earliest deadline of the callers in it and no caller's cancellation,
// so one caller giving up never fails the others' writes. A caller whose
// context ends while its batch is still gathering takes its writes out and
// is told ports.ErrUnavailable: they are never sent. Once the batch has
// been sent, the caller waits for its outcome whatever its context says:
// telling it `unavailable` then could be a lie, since the store may still
// apply the writes; and since the call's deadline is no later than the
// caller's own, the wait never outlasts it (redisstore refuses, in Redis,
// a script that runs past its deadline). A caller with little time left
// (less than MinShare) is not gathered at all, so that it cannot shorten
// everyone else's deadline: it goes alone.
//
// Invalid writes: callers validate writes before Place (internal/place),
// and the decorator checks each caller's writes against the canvas size
// again before gathering them, so a write off the canvas fails its own
// caller only, never the batch it would have joined.
package groupcommit

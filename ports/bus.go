package ports

import "context"

// ChannelUserEvents carries presence changes between gateways, so that every
// gateway re-reads presence at once instead of at its next refresh.
const ChannelUserEvents = "user-events"

// ChannelCursors carries each gateway's coalesced cursor movements.
const ChannelCursors = "cursor-events"

// Message is one payload received on a channel.
type Message struct {
	Channel string
	Payload []byte
}

// Bus is a Pub/Sub fan-out between processes. Delivery is at most once and in
// publication order per channel; a subscriber that falls behind or loses its
// connection misses messages, so consumers of pixel events repair gaps from
// CanvasStore.Since (seqs have no gaps).
type Bus interface {
	// Publish sends payload to every current subscriber of channel.
	Publish(ctx context.Context, channel string, payload []byte) error

	// Subscribe delivers every message on the given channels to handle, from
	// one goroutine, in order, until ctx is cancelled; after that handle gets
	// nothing more. Every subscription gets every message, also when several
	// subscribe to one channel, and a slow handler holds up only its own
	// subscription: messages wait in a bounded queue of its own, and those
	// beyond the bound are dropped. It keeps the subscription alive across
	// backend outages (resubscribing forever). resubscribed, if not nil,
	// means "you may have missed messages; resync": it is called each time
	// the subscription is in place again after an interruption, and once a
	// subscription whose messages were dropped has handled what was queued
	// before the drops. handle and resubscribed never run concurrently. It
	// returns once the subscription is in place (or ctx ends), so no message
	// published after it returns is missed.
	Subscribe(ctx context.Context, channels []string, handle func(Message), resubscribed func()) error
}

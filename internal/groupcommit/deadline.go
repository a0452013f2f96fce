package groupcommit

import (
	"context"
	"fmt"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// The deadline rule (see the package doc): a write is never applied after
// its caller was told it failed. A caller is told so only while its batch
// is gathering (its writes are then taken out, never sent); once sent, the
// caller waits for the store's answer, which arrives by the batch's
// deadline, the earliest of its callers'. redisstore turns that deadline
// into a time in Redis's clock after which the script refuses to write.

// newRequest records the caller's writes and deadline.
func newRequest(ctx context.Context, writes []domain.Write) *request {
	r := &request{writes: writes}
	r.deadline, r.hasDeadline = ctx.Deadline()
	return r
}

// roomToShare reports whether a caller has time enough (MinShare) to be
// gathered with others without cutting their deadline short.
func roomToShare(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return !ok || time.Until(d) >= MinShare
}

// context is the store call's: no caller's cancellation (one caller giving
// up must not fail the others' writes), and the earliest of the callers'
// deadlines, so that every caller hears the outcome before its own
// deadline.
func (b *batch) context() (context.Context, context.CancelFunc) {
	var earliest time.Time
	for _, r := range b.requests {
		if r.hasDeadline && (earliest.IsZero() || r.deadline.Before(earliest)) {
			earliest = r.deadline
		}
	}
	if earliest.IsZero() {
		return context.WithCancel(context.Background())
	}
	return context.WithDeadline(context.Background(), earliest)
}

// await waits for r's outcome in b. If ctx ends first and b is still
// gathering, r leaves it and the caller hears ports.ErrUnavailable (its
// writes were not applied; it may send them again). If b has already been
// sent, the caller waits for its outcome (see the rule above).
func (s *Store) await(ctx context.Context, b *batch, r *request) ([]domain.Event, error) {
	select {
	case <-b.done:
		return r.events, r.err
	case <-ctx.Done():
	}
	if s.withdraw(b, r) {
		return nil, gaveUp(ctx.Err())
	}
	<-b.done
	return r.events, r.err
}

// gaveUp is the error of a caller whose context ended before its writes
// were sent.
func gaveUp(err error) error {
	return fmt.Errorf("%w: groupcommit: the caller gave up before its writes were sent (%w); nothing was applied", ports.ErrUnavailable, err)
}

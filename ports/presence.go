package ports

import (
	"context"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// Presence is the registry of which gateways are alive and who is connected
// to each. Entries expire on their own, so a gateway that dies without a
// goodbye stops being counted.
type Presence interface {
	// Announce replaces this gateway's entry; it lives for ttl unless
	// announced again.
	Announce(ctx context.Context, p domain.GatewayPresence, ttl time.Duration) error

	// Withdraw removes a gateway's entry at once (graceful shutdown).
	Withdraw(ctx context.Context, gatewayID string) error

	// List returns the live entries, in gateway id order.
	List(ctx context.Context) ([]domain.GatewayPresence, error)
}

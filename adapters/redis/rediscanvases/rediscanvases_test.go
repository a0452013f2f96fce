package rediscanvases_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/redis/rediscanvases"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/canvasestest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestContract(t *testing.T) {
	canvasestest.Run(t, func(t *testing.T, clock ports.Clock) ports.Canvases {
		r := redistest.Shared(t)
		r.Flush(t)
		return rediscanvases.New(r.Client(t), clock)
	})
}

// TestContractOnCluster: every key is in the slot of {dir}, so each
// script's keys are in one slot.
func TestContractOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	canvasestest.Run(t, func(t *testing.T, clock ports.Clock) ports.Canvases {
		c.Flush(t)
		return rediscanvases.New(c.Client(t), clock)
	})
}

// Redis holds hashes of the tokens, never the tokens.
func TestTokensAreStoredHashed(t *testing.T) {
	ctx := context.Background()
	r := redistest.Shared(t)
	r.Flush(t)
	client := r.Client(t)
	d := rediscanvases.New(client, canvasestest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
	_, keys, err := d.Create(ctx, domain.CanvasSpec{Name: "Secret", Size: domain.Size{Width: 8, Height: 8}, Private: true}, ports.CanvasLimits{})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := d.RotateInvite(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, k := range client.Keys(ctx, "*").Val() {
		all.WriteString(client.Dump(ctx, k).Val())
		for _, v := range client.HGetAll(ctx, k).Val() {
			all.WriteString(v + "\n")
		}
	}
	for _, token := range []string{keys.CreatorKey, keys.Invite, rotated} {
		if strings.Contains(all.String(), token) {
			t.Errorf("token %s stored in clear", token)
		}
	}
	for _, token := range []string{keys.CreatorKey, rotated} {
		if !strings.Contains(all.String(), domain.HashCanvasToken(token).String()) {
			t.Errorf("the hash of %s is not stored", token)
		}
	}
}

package redisbudget_test

import (
	"testing"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbudget"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/budgettest"
)

func TestContract(t *testing.T) {
	budgettest.Run(t, func(t *testing.T, rule domain.RateRule) ports.Budget {
		r := redistest.Shared(t)
		r.Flush(t)
		return redisbudget.New(r.Client(t), rule)
	})
}

// TestContractOnCluster: each client key is its own hash tag, so buckets
// spread over the shards and the script's one key is always in one slot.
func TestContractOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	budgettest.Run(t, func(t *testing.T, rule domain.RateRule) ports.Budget {
		c.Flush(t)
		return redisbudget.New(c.Client(t), rule)
	})
}

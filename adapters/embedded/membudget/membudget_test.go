package membudget

import (
	"testing"

	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/budgettest"
)

func TestContract(t *testing.T) {
	budgettest.Run(t, func(t *testing.T, rule domain.RateRule) ports.Budget {
		return New(rule, system.NewClock())
	})
}

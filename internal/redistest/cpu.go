package redistest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// CPU is the CPU time, user and system, in seconds, that the Redis process
// behind c has used (INFO cpu): measurements report Redis's cost per write
// from it, which the machine's noise barely touches.
func CPU(t testing.TB, c goredis.UniversalClient) float64 {
	t.Helper()
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, line := range strings.Split(info, "\n") {
		for _, field := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), field); ok {
				v, err := strconv.ParseFloat(rest, 64)
				if err != nil {
					t.Fatalf("%s%q: %v", field, rest, err)
				}
				total += v
			}
		}
	}
	return total
}

package redistest

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

// InternalAddr is where other containers reach this Redis (its address on
// Docker's network and the port it listens on inside), for REPLICAOF
// between containers: the host port is bound to the host's loopback,
// which another container cannot reach.
func (r *Redis) InternalAddr(t testing.TB) (host string, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ip, err := r.container.ContainerIP(ctx)
	if err != nil || net.ParseIP(ip) == nil {
		t.Fatalf("redistest: container address %q: %v", ip, err)
	}
	return ip, r.innerPort
}

// InternalHostPort is InternalAddr as host:port.
func (r *Redis) InternalHostPort(t testing.TB) string {
	t.Helper()
	host, port := r.InternalAddr(t)
	return net.JoinHostPort(host, strconv.Itoa(port))
}

package redistest

import (
	"context"
	"testing"

	"github.com/moby/moby/api/types/container"
	dockerclient "github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// PinCPUs confines the container to the given CPUs ("1", "0-1"), as
// docker's --cpuset-cpus does, so that a measurement can keep Redis and
// the load it serves off each other's cores.
func (r *Redis) PinCPUs(t testing.TB, cpus string) {
	t.Helper()
	r.dockerCall(t, "pin to CPUs "+cpus, func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerUpdate(ctx, id, dockerclient.ContainerUpdateOptions{Resources: &container.Resources{CpusetCpus: cpus}})
		return err
	})
}

// StartOnHostNetwork runs a Redis container on the host's network (no
// bridge, no userland proxy between client and server: what a
// measurement of Redis itself wants), persisting as Start's does, with
// extra redis-server flags, and terminates it when the test ends.
func StartOnHostNetwork(t testing.TB, args ...string) *Redis {
	t.Helper()
	requireDocker(t)
	return startHostNode(t, append([]string{"--appendonly", "yes", "--save", ""}, args...), nil)
}

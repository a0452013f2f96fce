package ws

// A benchmark of the gateway's own work per delivery, without sockets: the
// registry fanning a step of events out to 1,000 connections and each
// connection's writer assembling what it would write. The kernel's share
// (one write(2) per connection per flush) is left out on purpose: it is the
// same in every version of this code, and it is what makes figures over
// real sockets noisy on a shared machine. Instruction counts of it are
// repeatable:
//
//	go test -c -o /tmp/ws.test ./adapters/inbound/ws
//	perf stat -e instructions /tmp/ws.test -test.run '^$' -test.bench FanoutStep -test.benchtime 200x

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

func BenchmarkFanoutStep(b *testing.B) {
	for _, v2 := range []bool{false, true} {
		for _, per := range []int{1, 20, 500} {
			b.Run(fmt.Sprintf("v2=%v/events=%d", v2, per), func(b *testing.B) { benchFanoutStep(b, 1000, per, v2) })
		}
	}
}

func benchFanoutStep(b *testing.B, clients, per int, v2 bool) {
	r := newRegistry()
	conns := make([]*Conn, clients)
	for i := range conns {
		c := &Conn{id: "c" + strconv.Itoa(i), v2: v2, out: newSendQueue(maxQueuedFrames, maxQueuedBytes), done: make(chan struct{})}
		conns[i] = c
		r.members[c] = &member{conn: c}
		r.byID[c.id] = c
	}
	events := make([]domain.Event, per)
	var seq domain.Seq
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range events {
			seq++
			events[i] = domain.Event{Kind: domain.PixelPlaced, Seq: seq, Time: 1795316057524123 + domain.Timestamp(seq),
				Pixel: domain.Pixel{X: int(seq % 50), Y: int(seq / 50 % 50), Color: domain.Color(seq)}, Username: "Anonymous",
				Origin: domain.Origin{GatewayID: "gw_test", ClientID: conns[int(seq)%clients].id, WriteID: "w" + strconv.Itoa(int(seq))}}
		}
		fanOutStep(r, events)
		for _, c := range conns {
			buf = writeAssembly(buf[:0], c)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*clients*per), "ns/delivery")
}

// fanOutStep is what the delivery goroutine does with one flush.
func fanOutStep(r *registry, events []domain.Event) {
	r.deliverEvents(events, "gw_test")
}

// writeAssembly is what a connection's writer builds for one write.
func writeAssembly(buf []byte, c *Conn) []byte {
	buf, _ = appendFrames(buf, c.out.take(), c.v2)
	return buf
}

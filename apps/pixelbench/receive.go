package main

import (
	"strings"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// handle accounts for one message a connection received; it runs on that
// connection's reader goroutine, so it must stay cheap.
func (b *bench) handle(cn *benchConn, m wsclient.Message) {
	switch m := m.(type) {
	case wsclient.PixelUpdated:
		var now time.Time
		if cn.sampled {
			now = time.Now() // first: decoding done, nothing else counted
		}
		cn.delivered.Add(1)
		if m.Seq == 0 {
			cn.noSeq.Add(1)
		} else if last := cn.lastSeq.Load(); m.Seq > last {
			if m.Seq > last+1 {
				cn.missing.Add(m.Seq - last - 1)
			}
			cn.inOrder.Add(1)
			cn.lastSeq.Store(m.Seq)
		} else {
			cn.outOfOrder.Add(1)
		}
		if m.ID != "" && strings.HasPrefix(m.ID, cn.idPrefix) {
			cn.acked.Add(1)
			if !b.ackSeen.Load() {
				b.ackSeen.Store(true)
			}
		}
		if cn.sampled {
			b.measure(cn, m, now)
		}
	case wsclient.Connected:
		cn.lastSeq.Store(m.Seq) // the connection receives every event after it
	case wsclient.Error:
		key := m.Code
		if key == "" {
			key = m.Message
		}
		b.errorsBy.add(key)
		if m.ID != "" && strings.HasPrefix(m.ID, cn.idPrefix) {
			cn.refused.Add(1)
		}
	}
}

// measure records the two latencies of one delivery to a sampled client.
func (b *bench) measure(cn *benchConn, m wsclient.PixelUpdated, now time.Time) {
	if d, ok := b.writes.sinceSent(m, now); ok {
		b.e2e.Record(cn.no, d)
	}
	if m.Timestamp > 0 {
		b.fanOut.Record(cn.no, time.Duration((float64(now.UnixMicro())/1000-m.Timestamp)*float64(time.Millisecond)))
	}
}

package ws

import (
	"sync"
	"sync/atomic"

	"github.com/pixelplayground/pixelplayground/domain"
)

// This file is the hub's set of connections and, for each, where it stands
// in the stream of canvas events. Everything a delivery touches sits under
// one lock, so a delivery and a registration never interleave: the seq a
// connection is told in `connected` is exactly the point after which it
// receives every event.

// registry owns the connections of one hub.
type registry struct {
	mu        sync.Mutex
	members   map[*Conn]*member
	byID      map[string]*Conn
	delivered domain.Seq   // the last event fanned out (or jumped to)
	epoch     domain.Epoch // the timeline delivered is on (domain.Epoch)
	// draining is set under mu, so a connection is either registered before
	// Shutdown lists the ones to close or refused; it is read without mu by
	// whoever only needs to know.
	draining atomic.Bool
	// members' length, for whoever needs it without the lock
	conns atomic.Int64
	// pres is what v2 connections were last told of presence
	// (presencewire.go).
	pres presenceSent
}

// member is one connection's place in the event stream and its name for
// presence. Only the registry touches it, under registry.mu.
type member struct {
	conn     *Conn
	username string     // as presence lists it
	lastSeq  domain.Seq // events at or below it are duplicates for this connection
	// catchingUp is set while the connection's history is read for a
	// resume; what is delivered meanwhile waits in backlog.
	catchingUp bool
	backlog    []queued
}

// queued is a frame waiting in a backlog, with the seq of the event it
// carries (0 for anything that is not a canvas event).
type queued struct {
	frame []byte
	seq   domain.Seq
}

func newRegistry() *registry {
	return &registry{members: map[*Conn]*member{}, byID: map[string]*Conn{}}
}

// deliver queues a frame for the member's connection and reports whether
// it did (or kept it in the backlog). Events at or below its seq are
// duplicates and dropped; while it catches up from history, frames wait in
// its backlog.
func (m *member) deliver(frame []byte, seq domain.Seq) bool {
	if m.catchingUp {
		if len(m.backlog) >= maxBacklog {
			go m.conn.closeSlow()
			return false
		}
		m.backlog = append(m.backlog, queued{frame: frame, seq: seq})
		return true
	}
	if seq > 0 {
		if seq <= m.lastSeq {
			return false
		}
		m.lastSeq = seq
	}
	m.conn.send(frame)
	return true
}

// add registers c and queues its `connected` message, which carries the
// later of the store's latest seq and what this gateway has delivered, and
// the timeline: the connection then receives exactly the events after it.
// A store on another timeline than the gateway's (the gateway has not
// noticed the change yet) says nothing about this gateway's position: the
// connection is told the gateway's, and reloads when the gateway moves to
// the new timeline. A resuming connection starts catching up. It reports
// false, registering nothing, once draining has begun.
func (r *registry) add(c *Conn, store domain.Head, info connectedInfo, resuming bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining.Load() {
		return false
	}
	told := r.delivered
	if store.Epoch == r.epoch {
		told = max(store.Seq, r.delivered)
	}
	c.send(encodeConnected(c.id, told, r.epoch, info))
	// What lies at or below told is in the snapshot the client loads.
	m := &member{conn: c, lastSeq: told, catchingUp: resuming}
	r.members[c] = m
	r.conns.Store(int64(len(r.members)))
	if c.v2 {
		m.deliver(r.presenceResetLocked(), 0) // the whole list; changes follow (presencewire.go)
	}
	r.byID[c.id] = c
	return true
}

// remove unregisters c and reports whether it was registered.
func (r *registry) remove(c *Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, was := r.members[c]
	delete(r.members, c)
	r.conns.Store(int64(len(r.members)))
	if r.byID[c.id] == c {
		delete(r.byID, c.id)
	}
	return was
}

// drain starts draining and returns the connections to close; first is
// false if draining had already begun.
func (r *registry) drain() (conns []*Conn, first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining.Swap(true) {
		return nil, false
	}
	conns = make([]*Conn, 0, len(r.members))
	for c := range r.members {
		conns = append(conns, c)
	}
	return conns, true
}

// setDelivered sets the starting position, before any event is delivered.
func (r *registry) setDelivered(seq domain.Seq, epoch domain.Epoch) {
	r.mu.Lock()
	r.delivered, r.epoch = seq, epoch
	r.mu.Unlock()
}

// timeline is the epoch the gateway delivers on.
func (r *registry) timeline() domain.Epoch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

// setName records c's name for presence and reports whether it changed.
func (r *registry) setName(c *Conn, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[c]
	if m == nil || m.username == name {
		return false
	}
	m.username = name
	return true
}

// jump moves every connection to seq on the timeline epoch without the
// events between and sends it `resumed` with recovered=false and the
// epoch, after which each receives exactly the events above seq. The move
// may be backwards or onto a new timeline (newTimeline: the store lost
// data and reuses seqs), so every connection's position moves with it;
// one still catching up from history is closed with 1012 instead, since
// its replay was read from the store as it was before.
func (r *registry) jump(seq domain.Seq, epoch domain.Epoch, newTimeline bool) {
	frame := encodeResumed(seq, false, epoch)
	r.mu.Lock()
	defer r.mu.Unlock()
	back := seq < r.delivered || newTimeline
	r.delivered, r.epoch = seq, epoch
	for c, m := range r.members {
		switch {
		case m.catchingUp && back:
			go c.closeWith(closeServiceRestart, "canvas store restarted")
		case m.catchingUp:
			m.deliver(frame, 0) // after its replay, whose resumed it overrides
		default:
			m.lastSeq = seq
			c.send(frame)
		}
	}
}

// broadcastDroppable queues a frame that the next one supersedes (cursor
// positions) for every connection that is keeping up.
func (r *registry) broadcastDroppable(frame []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.members {
		c.sendDroppable(frame)
	}
}

// startCatchUp marks a registered connection as catching up for a resume
// and reports whether it may: not if it is gone or already catching up.
func (r *registry) startCatchUp(c *Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[c]
	if m == nil || m.catchingUp {
		return false
	}
	m.catchingUp = true
	return true
}

// finishCatchUp ends c's resume from since: with the replayed events if the
// replay is whole (recovered) and was read on the timeline this gateway
// delivers on (storeEpoch, the epoch the history was read on), else with
// `resumed` recovered=false at the point after which its backlog starts.
// Then the backlog follows; the seq filter drops whatever the replay
// already covered, so there are no gaps and no duplicates. It reports
// whether c is still registered and whether it was replayed to.
func (r *registry) finishCatchUp(c *Conn, since domain.Seq, replay []domain.Event, recovered bool, storeEpoch domain.Epoch) (registered, replayed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[c]
	if m == nil {
		return false, false
	}
	backlog := m.backlog
	m.backlog, m.catchingUp = nil, false
	// The backlog holds this gateway's events: on another timeline than
	// the replay's, they would follow it as if they were its sequel.
	recovered = recovered && storeEpoch == r.epoch
	if recovered {
		m.lastSeq = since
		for _, e := range replay {
			m.deliver(encodeEvent(e, ""), e.Seq)
		}
		m.deliver(encodeResumed(m.lastSeq, true, r.epoch), 0)
	} else {
		// The client reloads its snapshot and keeps what comes after
		// `resumed`, which starts right after the seq it is told here.
		upTo := r.delivered
		for _, f := range backlog {
			if f.seq > 0 {
				upTo = f.seq - 1
				break
			}
		}
		m.lastSeq = upTo
		m.deliver(encodeResumed(upTo, false, r.epoch), 0)
	}
	for _, f := range backlog {
		m.deliver(f.frame, f.seq)
	}
	return true, recovered
}

// size is the number of registered connections, without the lock.
func (r *registry) size() int { return int(r.conns.Load()) }

// count is the number of registered connections.
func (r *registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// names lists every connection's display name, Anonymous when unnamed.
func (r *registry) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	users := make([]string, 0, len(r.members))
	for _, m := range r.members {
		users = append(users, domain.DisplayName(m.username))
	}
	return users
}

// presence is this gateway's entry for the presence registry.
func (r *registry) presence(gatewayID string) domain.GatewayPresence {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := domain.GatewayPresence{GatewayID: gatewayID, Connections: len(r.members), Users: []string{}}
	for _, m := range r.members {
		if m.username != "" {
			p.Users = append(p.Users, m.username)
		}
	}
	return p
}

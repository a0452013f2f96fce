package ws

// This file is presence on the wire, in its two forms. A pixel.v2 client
// gets `presence` messages: the whole list of names once when it connects,
// then only what changed, so what a rename costs it does not grow with the
// number of users. A v1 client gets the old `stats` + `user_list` pair,
// bounded: at most v1UserListCap names, and a large list no more often than
// every v1SlowInterval. See docs/protocol.md.

import (
	"strconv"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

const (
	// v1UserListCap is the most names a v1 `user_list` carries: the first
	// in sort order. `stats` still counts every connection.
	v1UserListCap = 200
	// v1SmallList is the size up to which a v1 client hears of every
	// change (at most four a second, as before); a longer list goes out at
	// most every v1SlowInterval (and every presenceRebroadcast regardless).
	v1SmallList    = 50
	v1SlowInterval = 3 * time.Second
)

type statsMsg struct {
	Type        string `json:"type"`
	ActiveUsers int    `json:"activeUsers"`
	Timestamp   int64  `json:"timestamp"`
}

type userListMsg struct {
	Type      string   `json:"type"`
	Users     []string `json:"users"`
	Timestamp int64    `json:"timestamp"`
}

// v1View is what a v1 client is told of v: every connection counted, the
// names cut to v1UserListCap.
func v1View(v domain.PresenceView) domain.PresenceView {
	if len(v.Users) > v1UserListCap {
		v.Users = v.Users[:v1UserListCap:v1UserListCap]
	}
	return v
}

// encodePresence is the v1 stats and user_list pair, always sent together
// and in that order.
func encodePresence(v domain.PresenceView, nowMillis int64) (stats, users []byte) {
	names := v.Users
	if names == nil {
		names = []string{}
	}
	return mustJSON(statsMsg{Type: "stats", ActiveUsers: v.ActiveUsers, Timestamp: nowMillis}),
		mustJSON(userListMsg{Type: "user_list", Users: names, Timestamp: nowMillis})
}

// encodePresenceChange is a pixel.v2 `presence` message: the names that
// joined and left since the previous one, as [name, connections] pairs,
// and the totals after it. With reset the client first forgets every name
// (the whole list follows in joined).
func encodePresenceChange(reset bool, v domain.PresenceView, d domain.PresenceDiff) []byte {
	n := 80
	for _, l := range [][]domain.NameCount{d.Joined, d.Left} {
		for _, e := range l {
			n += len(e.Name) + 12
		}
	}
	b := make([]byte, 0, n)
	b = append(b, `{"type":"presence",`...)
	if reset {
		b = append(b, `"reset":true,`...)
	}
	b = append(b, `"activeUsers":`...)
	b = strconv.AppendInt(b, int64(v.ActiveUsers), 10)
	b = append(b, `,"named":`...)
	b = strconv.AppendInt(b, int64(len(v.Users)), 10)
	b = append(b, `,"joined":`...)
	b = appendNameCounts(b, d.Joined)
	b = append(b, `,"left":`...)
	b = appendNameCounts(b, d.Left)
	return append(b, '}')
}

func appendNameCounts(b []byte, l []domain.NameCount) []byte {
	b = append(b, '[')
	for i, e := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = jsonx.AppendString(b, e.Name)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(e.Count), 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// presenceSent is what the v2 clients of a registry were told last, under
// registry.mu: a connection registered (under the same lock) is sent this
// whole list, and every later change reaches it as a diff from it.
type presenceSent struct {
	view  domain.PresenceView
	reset []byte // the encoded whole list of view, made when first needed
}

// presenceResetLocked is the `presence` message with the whole list the
// next change builds on. r.mu is held.
func (r *registry) presenceResetLocked() []byte {
	if r.pres.reset == nil {
		r.pres.reset = encodePresenceChange(true, r.pres.view, domain.PresenceDiff{Joined: domain.CountNames(r.pres.view.Users)})
	}
	return r.pres.reset
}

// publishPresence tells every v2 connection what changed since the view
// they were told last (if anything did), and every v1 connection the
// frames v1 (the stats and user_list pair; nil: nothing for v1 now).
// Frames go through a catching-up connection's backlog, so they keep their
// place among events.
func (r *registry) publishPresence(v domain.PresenceView, v1 [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var change []byte
	if !v.Equal(r.pres.view) {
		change = encodePresenceChange(false, v, domain.DiffNames(r.pres.view.Users, v.Users))
		r.pres = presenceSent{view: v}
	}
	if change == nil && v1 == nil {
		return
	}
	for c, m := range r.members {
		switch {
		case c.v2 && change != nil:
			m.deliver(change, 0)
		case !c.v2:
			for _, f := range v1 {
				m.deliver(f, 0)
			}
		}
	}
}

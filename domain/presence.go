package domain

import (
	"sort"
	"time"
)

// Presence timing. A gateway re-announces itself every PresenceRefresh and
// its entry lives PresenceTTL, so a gateway that dies (no goodbye) stops being
// counted within PresenceTTL: three missed refreshes, well inside the 15 s
// the product promises, while one slow refresh never makes users flicker.
const (
	PresenceRefresh = 3 * time.Second
	PresenceTTL     = 9 * time.Second
)

// GatewayPresence is one gateway's live connections.
type GatewayPresence struct {
	GatewayID   string
	Connections int      // every live connection, named or not
	Users       []string // the registered names, one per named connection
}

// PresenceView is what every client is told: connections on all gateways and
// the names of the registered ones.
type PresenceView struct {
	ActiveUsers int
	Users       []string
}

// MergePresence combines every live gateway's entry. Names are sorted so that
// all gateways tell their clients the same list; a name used by two
// connections appears twice, as it did in the old system.
func MergePresence(gateways []GatewayPresence) PresenceView {
	v := PresenceView{Users: []string{}}
	for _, g := range gateways {
		v.ActiveUsers += g.Connections
		v.Users = append(v.Users, g.Users...)
	}
	sort.Strings(v.Users)
	return v
}

// Equal reports whether two views would show the same thing.
func (v PresenceView) Equal(o PresenceView) bool {
	if v.ActiveUsers != o.ActiveUsers || len(v.Users) != len(o.Users) {
		return false
	}
	for i := range v.Users {
		if v.Users[i] != o.Users[i] {
			return false
		}
	}
	return true
}

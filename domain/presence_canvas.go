package domain

import "strings"

// Presence per canvas. A gateway serves several canvases, and each canvas's
// hub keeps its own entry in the presence registry, keyed by
// PresenceEntryID: the gateway's id for the main canvas (exactly the entry
// a gateway had before there were canvases, so gateways of both
// generations count each other during a rolling update) and
// "<gateway>@<slug>" for any other.
//
// Why one entry per gateway and canvas rather than a canvas field in one
// entry per gateway: each canvas's hub announces, refreshes and withdraws
// its own entry on its own schedule (a hub stops when its last client
// leaves, independently of the others), so no hub ever rewrites another's
// part, and the registry's backends store the entry exactly as before (the
// canvas travels in the key, which every backend keeps as it is given).
// "@" is in neither a gateway id nor a slug, so the key parses back.

// presenceCanvasSep separates the gateway from the canvas in an entry id.
const presenceCanvasSep = "@"

// PresenceEntryID is the registry key of a gateway's entry for a canvas:
// the gateway's id itself for the main canvas ("" counts as main).
func PresenceEntryID(gatewayID string, slug Slug) string {
	if slug == "" || slug == MainSlug {
		return gatewayID
	}
	return gatewayID + presenceCanvasSep + string(slug)
}

// Canvas is the canvas an entry counts for: the part of its id after the
// last "@", or the main canvas for an id without one (every entry written
// before canvases existed).
func (g GatewayPresence) Canvas() Slug {
	if i := strings.LastIndex(g.GatewayID, presenceCanvasSep); i >= 0 {
		return Slug(g.GatewayID[i+len(presenceCanvasSep):])
	}
	return MainSlug
}

// Gateway is the gateway an entry belongs to.
func (g GatewayPresence) Gateway() string {
	if i := strings.LastIndex(g.GatewayID, presenceCanvasSep); i >= 0 {
		return g.GatewayID[:i]
	}
	return g.GatewayID
}

// PresenceOf keeps the entries of one canvas.
func PresenceOf(entries []GatewayPresence, slug Slug) []GatewayPresence {
	if slug == "" {
		slug = MainSlug
	}
	var out []GatewayPresence
	for _, e := range entries {
		if e.Canvas() == slug {
			out = append(out, e)
		}
	}
	return out
}

// OnlineByCanvas sums the registry's entries per canvas: how many
// connections each canvas has on all gateways together (what the lobby
// shows as "online"), read from one List of the registry without opening
// any canvas. Canvases nobody is on are absent.
func OnlineByCanvas(entries []GatewayPresence) map[Slug]int {
	out := map[Slug]int{}
	for _, e := range entries {
		if e.Connections > 0 {
			out[e.Canvas()] += e.Connections
		}
	}
	return out
}

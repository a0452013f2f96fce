package domain

import (
	"reflect"
	"testing"
)

func TestPresenceEntryIDRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		gw   string
		slug Slug
		id   string
		want Slug
	}{
		{"gw_1", "", "gw_1", MainSlug},
		{"gw_1", MainSlug, "gw_1", MainSlug},
		{"gw_1", "pixel-art", "gw_1@pixel-art", "pixel-art"},
	} {
		id := PresenceEntryID(tc.gw, tc.slug)
		if id != tc.id {
			t.Errorf("PresenceEntryID(%q, %q) = %q, want %q", tc.gw, tc.slug, id, tc.id)
		}
		e := GatewayPresence{GatewayID: id}
		if e.Canvas() != tc.want || e.Gateway() != tc.gw {
			t.Errorf("%q: canvas %q gateway %q, want %q %q", id, e.Canvas(), e.Gateway(), tc.want, tc.gw)
		}
	}
}

func TestOnlineByCanvasSumsPerCanvas(t *testing.T) {
	entries := []GatewayPresence{
		{GatewayID: "gw_1", Connections: 3},
		{GatewayID: "gw_1@a", Connections: 2},
		{GatewayID: "gw_2@a", Connections: 5},
		{GatewayID: "gw_2@b", Connections: 1},
		{GatewayID: "gw_2@c", Connections: 0},
		{GatewayID: "gw_3", Connections: 4},
	}
	want := map[Slug]int{MainSlug: 7, "a": 7, "b": 1}
	if got := OnlineByCanvas(entries); !reflect.DeepEqual(got, want) {
		t.Errorf("OnlineByCanvas = %v, want %v", got, want)
	}
	if got := PresenceOf(entries, "a"); len(got) != 2 || got[0].GatewayID != "gw_1@a" || got[1].GatewayID != "gw_2@a" {
		t.Errorf("PresenceOf(a) = %v", got)
	}
	if got := PresenceOf(entries, ""); len(got) != 2 {
		t.Errorf("PresenceOf(main) = %v", got)
	}
}

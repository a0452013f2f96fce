package rest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

// The list's online counts come from the Online hook (presence summed per
// canvas); a failing hook leaves them at 0 and the list still answers.
func TestListCanvasesTakesOnlineFromTheHook(t *testing.T) {
	fail := false
	h := newCanvasHarness(t, func(o *Options) {
		o.Online = func(context.Context) (map[domain.Slug]int, error) {
			if fail {
				return nil, errors.New("presence down")
			}
			return map[domain.Slug]int{"busy": 7, domain.MainSlug: 3}, nil
		}
	})
	h.create(`{"name":"Busy"}`)
	h.create(`{"name":"Quiet"}`)
	for _, tc := range []struct {
		fail bool
		want map[string]int
	}{{false, map[string]int{"busy": 7, "quiet": 0}}, {true, map[string]int{"busy": 0, "quiet": 0}}} {
		fail = tc.fail
		resp := h.do("GET", "/api/canvases", "")
		wantStatus(t, resp, 200)
		var out struct{ Canvases []canvasJSON }
		if err := json.Unmarshal(resp.Body(), &out); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range out.Canvases {
			got[c.Slug] = c.Online
		}
		if len(got) != 2 || got["busy"] != tc.want["busy"] || got["quiet"] != tc.want["quiet"] {
			t.Errorf("hook failing %v: online %v, want %v", tc.fail, got, tc.want)
		}
	}
}

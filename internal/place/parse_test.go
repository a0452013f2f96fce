package place

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

func TestParse(t *testing.T) {
	size := domain.Size{Width: 50, Height: 40}
	long := `"` + strings.Repeat("a", domain.MaxWriteIDBytes+1) + `"`
	for _, tc := range []struct {
		name           string
		x, y, c, id    string
		want           Problem
		wantX, wantY   int
		wantColor, id2 string
	}{
		{name: "valid", x: `3`, y: `4`, c: `"#ff0000"`, want: OK, wantX: 3, wantY: 4, wantColor: "#FF0000"},
		{name: "lower-case colour and an id", x: `0`, y: `39`, c: `"#00ff00"`, id: `"w1"`, want: OK, wantY: 39, wantColor: "#00FF00", id2: "w1"},
		{name: "whole number written as a float", x: `2.0`, y: `1e1`, c: `"#000000"`, want: OK, wantX: 2, wantY: 10, wantColor: "#000000"},
		{name: "null id is no id", x: `1`, y: `1`, c: `"#000000"`, id: `null`, want: OK, wantX: 1, wantY: 1, wantColor: "#000000"},
		{name: "fraction", x: `2.5`, y: `1`, c: `"#000000"`, want: BadFormat},
		{name: "string coordinate", x: `"5"`, y: `1`, c: `"#000000"`, want: BadFormat},
		{name: "missing coordinate", y: `1`, c: `"#000000"`, want: BadFormat},
		{name: "null coordinate", x: `null`, y: `1`, c: `"#000000"`, want: BadFormat},
		{name: "overflow", x: `1e400`, y: `1`, c: `"#000000"`, want: BadFormat},
		{name: "underflow is not zero", x: `1e-400`, y: `1`, c: `"#000000"`, want: BadFormat},
		{name: "negative", x: `-1`, y: `1`, c: `"#000000"`, want: OutOfBounds},
		{name: "past the edge", x: `50`, y: `1`, c: `"#000000"`, want: OutOfBounds},
		{name: "beyond int32", x: `1e12`, y: `1`, c: `"#000000"`, want: OutOfBounds},
		{name: "missing colour", x: `1`, y: `1`, want: BadColor},
		{name: "colour not a string", x: `1`, y: `1`, c: `16711680`, want: BadColor},
		{name: "colour by name", x: `1`, y: `1`, c: `"red"`, want: BadColor},
		{name: "id not a string", x: `1`, y: `1`, c: `"#000000"`, id: `7`, want: BadIDType},
		{name: "id too long", x: `1`, y: `1`, c: `"#000000"`, id: long, want: IDTooLong},
		{name: "a bad id is told before a bad pixel", x: `2.5`, c: `"nope"`, id: `7`, want: BadIDType},
		{name: "a bad pixel still carries its id", x: `2.5`, y: `1`, c: `"#000000"`, id: `"w9"`, want: BadFormat, id2: "w9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := func(s string) json.RawMessage {
				if s == "" {
					return nil
				}
				return json.RawMessage(s)
			}
			p, id, got := Parse(Fields{X: raw(tc.x), Y: raw(tc.y), Color: raw(tc.c), ID: raw(tc.id)}, size)
			if got != tc.want {
				t.Fatalf("problem %v, want %v", got, tc.want)
			}
			if id != tc.id2 {
				t.Fatalf("id %q, want %q", id, tc.id2)
			}
			if got != OK {
				return
			}
			if p.X != tc.wantX || p.Y != tc.wantY || p.Color.String() != tc.wantColor || id != tc.id2 {
				t.Fatalf("got %+v %q id %q, want (%d,%d) %s id %q", p, p.Color.String(), id, tc.wantX, tc.wantY, tc.wantColor, tc.id2)
			}
		})
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		raw           string
		want          string
		present, fail bool
	}{
		{raw: ``},
		{raw: `null`},
		{raw: `"ab"`, want: "ab", present: true},
		{raw: `"\u00e9"`, want: "é", present: true},
		{raw: `5`, present: true, fail: true},
		{raw: `true`, present: true, fail: true},
		{raw: `"unterminated`, present: true, fail: true},
	} {
		s, present, err := String(json.RawMessage(tc.raw))
		if s != tc.want || present != tc.present || (err != nil) != tc.fail {
			t.Errorf("String(%s) = %q, %v, %v", tc.raw, s, present, err)
		}
	}
}

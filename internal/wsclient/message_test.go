package wsclient

import (
	"reflect"
	"testing"
)

func decodeAll(frame string) []Message {
	var out []Message
	DecodeFrame([]byte(frame), func(m Message) { out = append(out, m) })
	return out
}

func TestDecodeEveryType(t *testing.T) {
	cases := []struct {
		frame string
		want  Message
	}{
		{`{"type":"connected","message":"Connected to Cloud Pixel Playground","clientId":"c_1a2b3c"}`,
			Connected{Message: "Connected to Cloud Pixel Playground", ClientID: "c_1a2b3c"}},
		{`{"type":"connected","message":"hi","clientId":"c_1","seq":42,"width":64,"height":32}`,
			Connected{Message: "hi", ClientID: "c_1", Seq: 42, Width: 64, Height: 32}},
		{`{"type":"pixel_updated","x":1,"y":2,"color":"#ABCDEF","username":"Alice","timestamp":1795316057524}`,
			PixelUpdated{X: 1, Y: 2, Color: "#ABCDEF", Username: "Alice", Timestamp: 1795316057524}},
		{`{"type":"pixel_updated","x":1,"y":2,"color":"#ABCDEF","username":"Zoë","timestamp":1795316057524.125,"seq":7,"id":"w1"}`,
			PixelUpdated{X: 1, Y: 2, Color: "#ABCDEF", Username: "Zoë", Timestamp: 1795316057524.125, Seq: 7, ID: "w1"}},
		// An escaped name takes the encoding/json path and must decode the same.
		{`{"type":"pixel_updated","x":0,"y":0,"color":"#000000","username":"\u003cb\u003e \"q\"","timestamp":1,"seq":1}`,
			PixelUpdated{Color: "#000000", Username: `<b> "q"`, Timestamp: 1, Seq: 1}},
		{`{"type":"error","message":"Invalid pixel data"}`, Error{Message: "Invalid pixel data"}},
		{`{"type":"error","message":"Rate limit exceeded","code":"rate_limited","id":"w9"}`,
			Error{Message: "Rate limit exceeded", Code: "rate_limited", ID: "w9"}},
		{`{"type":"stats","activeUsers":2,"timestamp":1795316057229}`, Stats{ActiveUsers: 2, Timestamp: 1795316057229}},
		{`{"type":"user_list","users":["Alice","Bob"],"timestamp":1795316057229}`,
			UserList{Users: []string{"Alice", "Bob"}, Timestamp: 1795316057229}},
		{`{"type":"user_list","users":[],"timestamp":1}`, UserList{Users: []string{}, Timestamp: 1}},
		{`{"type":"resumed","seq":12,"recovered":true}`, Resumed{Seq: 12, Recovered: true}},
		{`{"type":"resumed","seq":12,"recovered":false}`, Resumed{Seq: 12}},
		{`{"type":"resumed","seq":12,"recovered":false,"epoch":"e1f2"}`, Resumed{Seq: 12, Epoch: "e1f2"}},
		{`{"type":"canvas_reset","seq":99,"timestamp":5.5}`, CanvasReset{Seq: 99, Timestamp: 5.5}},
		{`{"type":"cursors","cursors":[{"clientId":"c_1","username":"Bob","x":12.5,"y":3}],"gone":["c_2"]}`,
			Cursors{Cursors: []CursorPos{{ClientID: "c_1", Username: "Bob", X: 12.5, Y: 3}}, Gone: []string{"c_2"}}},
		{`{"type":"pong","timestamp":1795316057524}`, Pong{Timestamp: 1795316057524}},
		// Unknown fields are ignored, whitespace is fine, null leaves a field unset.
		{" {\"type\" : \"pong\" , \"timestamp\":7, \"extra\":[1,{\"a\":2}], \"n\":null }\n", Pong{Timestamp: 7}},
		{`{"type":"pong","timestamp":null,"later":true}`, Pong{}},
	}
	for _, c := range cases {
		got := decodeAll(c.frame)
		if len(got) != 1 || !reflect.DeepEqual(got[0], c.want) {
			t.Errorf("%s\n got %#v\nwant %#v", c.frame, got, c.want)
		}
		if len(got) == 1 && got[0].Type() != c.want.Type() {
			t.Errorf("%s: Type() = %q", c.frame, got[0].Type())
		}
	}
}

func TestDecodeKeepsTheUnknownRaw(t *testing.T) {
	cases := []struct{ frame, name string }{
		{`{"type":"shiny_new","x":1}`, "shiny_new"},
		{`not json`, ""},
		{`{"type":"pixel_updated","x":"5","y":2}`, "pixel_updated"}, // wrong JSON type
		{`{"type":"pixel_updated","x":2.5,"y":2}`, "pixel_updated"}, // not an integer
		{`{"type":"resumed","seq":-1}`, "resumed"},
		{`{"type":"pong","timestamp":Infinity}`, ""},
		{`{"type":"pong"} trailing`, ""},
		{`[1,2]`, ""},
		{`{"type":7}`, ""},
		{``, ""},
	}
	for _, c := range cases {
		got := decodeAll(c.frame)
		if len(got) != 1 {
			t.Fatalf("%q: %d messages", c.frame, len(got))
		}
		u, ok := got[0].(Unknown)
		if !ok || u.Name != c.name || string(u.Raw) != c.frame {
			t.Errorf("%q: got %#v, want Unknown{Name: %q}", c.frame, got[0], c.name)
		}
	}
}

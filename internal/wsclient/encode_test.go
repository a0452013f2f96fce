package wsclient

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEncodersProduceValidJSON(t *testing.T) {
	cases := []struct {
		got  []byte
		want map[string]any
	}{
		{encodePixel(3, 4, "#ABCDEF", "w\"1"), map[string]any{"type": "pixel_update", "x": 3.0, "y": 4.0, "color": "#ABCDEF", "id": "w\"1"}},
		{encodePixel(0, 0, "#000000", ""), map[string]any{"type": "pixel_update", "x": 0.0, "y": 0.0, "color": "#000000"}},
		{encodeCursor(12.5, 3), map[string]any{"type": "cursor", "x": 12.5, "y": 3.0}},
		{encodeUsername("<Zoë>\n"), map[string]any{"type": "set_username", "username": "<Zoë>\n"}},
		// Control characters, a JavaScript line terminator and invalid UTF-8.
		{encodeUsername("a\bb\u2028\xff"), map[string]any{"type": "set_username", "username": "a\bb\u2028\ufffd"}},
		{encodeResume(18446744073709551615, ""), map[string]any{"type": "resume", "since": 1.8446744073709552e19}},
		{encodeResume(7, "ab\"c"), map[string]any{"type": "resume", "since": 7.0, "epoch": "ab\"c"}},
		{msgPing, map[string]any{"type": "ping"}},
		{msgCursorLeave, map[string]any{"type": "cursor"}},
	}
	for _, c := range cases {
		var got map[string]any
		if err := json.Unmarshal(c.got, &got); err != nil {
			t.Fatalf("%s: %v", c.got, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v want %v", c.got, got, c.want)
		}
	}
}

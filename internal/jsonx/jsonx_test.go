package jsonx

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `"</script><script>alert(1)</script>`, "a&b", "line\nbreak\ttab\r\x00\x1f",
		"back\\slash", "日本語", "bad\xffutf8\xc3", "\u2028\u2029", "é\u0301"} {
		got := AppendString(nil, s)
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, encoding/json says %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("<b>&</b>\u2028")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json says %s", s, got, want)
		}
	})
}

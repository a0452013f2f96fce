package jsonx

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzNumberGrammar holds IsNumber to encoding/json's idea of a number
// literal, and IsInt to a number without fraction or exponent: the
// decoders' fast paths trust them to fall back on everything else.
func FuzzNumberGrammar(f *testing.F) {
	for _, s := range []string{"0", "-0", "12", "012", "1.5", "1.", ".5", "-", "1e3", "1E+3", "1e", "+1", "Inf", "0x1p3", " 1", "1 ", "9223372036854775808", "--1", "1.5e-7"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		literal := len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && v[len(v)-1] >= '0' && v[len(v)-1] <= '9'
		if want := literal && json.Valid(v); IsNumber(v) != want {
			t.Fatalf("IsNumber(%q) = %v, want %v", v, !want, want)
		}
		if want := IsNumber(v) && !bytes.ContainsAny(v, ".eE"); IsInt(v) != want {
			t.Fatalf("IsInt(%q) = %v, want %v", v, !want, want)
		}
	})
}

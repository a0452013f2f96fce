package busmsg

import (
	"encoding/json"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

// scanCases are payloads the fast path must take or leave exactly as
// encoding/json reads them.
var scanCases = []string{
	string(EncodeEvent(domain.Event{Kind: domain.PixelPlaced, Seq: 42, Time: 1795316057524123, Pixel: domain.Pixel{X: 3, Y: 4, Color: 0xABCDEF},
		Username: "Ünïcode", Origin: domain.Origin{GatewayID: "gw", ClientID: "c", WriteID: "w"}}, "0a1b2c3d4e5f6071")),
	string(EncodeEvent(domain.Event{Kind: domain.CanvasReset, Seq: 1, Origin: domain.Origin{WriteID: `q"uote`}}, "")),
	`{"k":"p","seq":18446744073709551615,"x":-0,"y":9223372036854775807}`,
	`{"k":"p","seq":18446744073709551616}`, // overflows: json fails
	`{"k":"p","seq":-0}`,
	`{"k":"p","seq":1.0}`,
	`{"k":"p","seq":1e3}`,
	`{"k":"p","x":9223372036854775808}`,
	`{"k":"p","x":-9223372036854775808}`,
	`{"k":"p","seq":1,"later":"unknown field"}`,
	`{"k":"p","seq":1,"u":null}`,
	`{"k":"p","seq":1,"u":"\u00e9"}`,
	`{"k":"p","seq":"1"}`,
	`{"k":1}`,
	` { "k" : "r" , "seq" : 7 } `,
	`{"k":"p","seq":1}x`,
	`{"k":"p","seq":01}`,
	`{"k":"p","u":"bad utf8 ` + "\xff" + `"}`,
	`{"k":"p","seq":1,"seq":2}`,
	`{}`,
	`{`,
	``,
}

func TestScanEventAgreesWithEncodingJSON(t *testing.T) {
	accepted := 0
	for _, c := range scanCases {
		if checkScanAgainstJSON(t, []byte(c)) {
			accepted++
		}
	}
	if accepted < 5 {
		t.Errorf("the fast path took only %d of the cases: it is not being exercised", accepted)
	}
}

func FuzzScanEvent(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkScanAgainstJSON(t, data) })
}

// checkScanAgainstJSON fails t if scanEvent accepts data and encoding/json
// either refuses it or reads it otherwise; it reports whether scanEvent
// accepted it.
func checkScanAgainstJSON(t *testing.T, data []byte) bool {
	t.Helper()
	var fast event
	if !scanEvent(data, &fast) {
		return false
	}
	var ref event
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Errorf("scanEvent took %q, encoding/json refuses it: %v", data, err)
		return true
	}
	if fast != ref {
		t.Errorf("scanEvent read %q as %+v, encoding/json as %+v", data, fast, ref)
	}
	return true
}

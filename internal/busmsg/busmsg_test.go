package busmsg

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

func TestEventRoundTripAndSpliceForm(t *testing.T) {
	origin := domain.Origin{GatewayID: "gw_1", ClientID: "c_2", WriteID: `we"ird\id`}
	pixel := domain.Event{Kind: domain.PixelPlaced, Seq: 42, Time: 1795316057524123,
		Pixel: domain.Pixel{X: 3, Y: 4, Color: 0xABCDEF}, Username: "Ünïcode </script>", Origin: origin}
	reset := domain.Event{Kind: domain.CanvasReset, Seq: 43, Time: 1795316057524124, Origin: origin}
	for _, e := range []domain.Event{pixel, reset} {
		got, err := DecodeEvent(EncodeEvent(e))
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Errorf("round trip of %+v = %+v, %v", e, got, err)
		}
	}
	// The Redis script builds events from PixelBody / ResetBody; both forms
	// must be byte-identical.
	w := domain.Write{Pixel: pixel.Pixel, Username: pixel.Username, Origin: origin}
	spliced := `{"k":"p","seq":42,"ts":` + strconv.FormatInt(int64(pixel.Time), 10) + `,` + string(PixelBody(w)) + `}`
	if spliced != string(EncodeEvent(pixel)) {
		t.Errorf("splice form\n%s\n!= EncodeEvent\n%s", spliced, EncodeEvent(pixel))
	}
	splicedReset := `{"k":"r","seq":43,"ts":1795316057524124,` + string(ResetBody(origin)) + `}`
	if splicedReset != string(EncodeEvent(reset)) {
		t.Errorf("reset splice form\n%s\n!= EncodeEvent\n%s", splicedReset, EncodeEvent(reset))
	}
}

func TestDecodeEventRejects(t *testing.T) {
	for _, s := range []string{``, `{}`, `{"k":"p","seq":0}`, `{"k":"x","seq":1}`, `{"k":"p","seq":1,"c":"red"}`, `[`} {
		if _, err := DecodeEvent([]byte(s)); err == nil {
			t.Errorf("DecodeEvent(%q) accepted", s)
		}
	}
}

func TestCursorsRoundTrip(t *testing.T) {
	c := Cursors{GatewayID: "gw", Moved: []domain.Cursor{{ClientID: "c1", Username: "A", X: 1.5, Y: 2}}, Gone: []string{"c2"}}
	got, err := DecodeCursors(EncodeCursors(c))
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("round trip = %+v, %v", got, err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(EncodeEvent(domain.Event{Kind: domain.PixelPlaced, Seq: 1, Pixel: domain.Pixel{Color: 1}}))
	f.Add([]byte(`{"k":"r","seq":9}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEvent(data)
		if err != nil {
			return
		}
		again, err := DecodeEvent(EncodeEvent(e))
		if err != nil || again.Seq != e.Seq || again.Kind != e.Kind || again.Pixel != e.Pixel {
			t.Fatalf("re-encoding %+v gave %+v, %v", e, again, err)
		}
	})
}

// BenchmarkEncodeEvent is the cost every store write pays before Redis or
// the log sees it: go test -bench EncodeEvent -benchmem ./internal/busmsg
func BenchmarkEncodeEvent(b *testing.B) {
	e := domain.Event{Kind: domain.PixelPlaced, Seq: 123456, Time: 1795316057524123,
		Pixel:    domain.Pixel{X: 12, Y: 34, Color: 0xFF8800},
		Username: "Ada Lovelace", Origin: domain.Origin{GatewayID: "gw_0123abcd", ClientID: "c_42", WriteID: "w-17"}}
	b.ReportAllocs()
	for b.Loop() {
		EncodeEvent(e)
	}
}

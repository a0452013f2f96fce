package busmsg

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

func TestEventRoundTripAndSpliceForm(t *testing.T) {
	origin := domain.Origin{GatewayID: "gw_1", ClientID: "c_2", WriteID: `we"ird\id`}
	pixel := domain.Event{Kind: domain.PixelPlaced, Seq: 42, Time: 1795316057524123,
		Pixel: domain.Pixel{X: 3, Y: 4, Color: 0xABCDEF}, Username: "Ünïcode </script>", Origin: origin}
	reset := domain.Event{Kind: domain.CanvasReset, Seq: 43, Time: 1795316057524124, Origin: origin}
	for _, e := range []domain.Event{pixel, reset} {
		for _, epoch := range []domain.Epoch{"0a1b2c3d4e5f6071", ""} {
			got, gotEpoch, err := DecodeEvent(EncodeEvent(e, epoch))
			if err != nil || !reflect.DeepEqual(got, e) || gotEpoch != epoch {
				t.Errorf("round trip of %+v on epoch %q = %+v on %q, %v", e, epoch, got, gotEpoch, err)
			}
		}
	}
	// The Redis script builds events from PixelBody / ResetBody; both forms
	// must be byte-identical.
	w := domain.Write{Pixel: pixel.Pixel, Username: pixel.Username, Origin: origin}
	spliced := `{"k":"p","e":"ab12","seq":42,"ts":` + strconv.FormatInt(int64(pixel.Time), 10) + `,` + string(PixelBody(w)) + `}`
	if spliced != string(EncodeEvent(pixel, "ab12")) {
		t.Errorf("splice form\n%s\n!= EncodeEvent\n%s", spliced, EncodeEvent(pixel, "ab12"))
	}
	splicedReset := `{"k":"r","e":"ab12","seq":43,"ts":1795316057524124,` + string(ResetBody(origin)) + `}`
	if splicedReset != string(EncodeEvent(reset, "ab12")) {
		t.Errorf("reset splice form\n%s\n!= EncodeEvent\n%s", splicedReset, EncodeEvent(reset, "ab12"))
	}
}

func TestDecodeEventRejects(t *testing.T) {
	for _, s := range []string{``, `{}`, `{"k":"p","seq":0}`, `{"k":"x","seq":1}`, `{"k":"p","seq":1,"c":"red"}`, `[`,
		`{"k":"r","e":"` + strings.Repeat("x", domain.MaxEpochLen+1) + `","seq":1}`} {
		if _, _, err := DecodeEvent([]byte(s)); err == nil {
			t.Errorf("DecodeEvent(%q) accepted", s)
		}
	}
}

func TestEventsBatchRoundTrip(t *testing.T) {
	origin := domain.Origin{GatewayID: "gw_1", ClientID: "c_2", WriteID: "w\nith a newline"}
	events := []domain.Event{
		{Kind: domain.PixelPlaced, Seq: 7, Time: 1795316057524123, Pixel: domain.Pixel{X: 1, Y: 2, Color: 0x123456}, Username: "line\nbreak", Origin: origin},
		{Kind: domain.CanvasReset, Seq: 8, Time: 1795316057524124, Origin: origin},
		{Kind: domain.PixelPlaced, Seq: 9, Time: 1795316057524125, Pixel: domain.Pixel{X: 0, Y: 0, Color: 0xFFFFFF}},
	}
	for _, epoch := range []domain.Epoch{"0a1b2c3d4e5f6071", ""} {
		payload := EncodeEvents(events, epoch)
		if n := strings.Count(string(payload), "\n"); n != len(events)-1 {
			t.Errorf("a batch of %d events has %d line breaks (a newline inside a string must stay escaped)", len(events), n)
		}
		got, gotEpoch, err := DecodeEvents(payload)
		if err != nil || !reflect.DeepEqual(got, events) || gotEpoch != epoch {
			t.Errorf("round trip on %q = %+v on %q, %v", epoch, got, gotEpoch, err)
		}
	}
	// A batch of one is EncodeEvent's bytes: what gateways from before
	// batches decode.
	if one := EncodeEvents(events[:1], "e1"); string(one) != string(EncodeEvent(events[0], "e1")) {
		t.Errorf("a batch of one is %s, not EncodeEvent's %s", one, EncodeEvent(events[0], "e1"))
	}
}

func TestDecodeEventsRejects(t *testing.T) {
	a := string(EncodeEvent(domain.Event{Kind: domain.PixelPlaced, Seq: 1}, "e1"))
	b := string(EncodeEvent(domain.Event{Kind: domain.PixelPlaced, Seq: 2}, "e1"))
	otherEpoch := string(EncodeEvent(domain.Event{Kind: domain.PixelPlaced, Seq: 2}, "e2"))
	for name, s := range map[string]string{
		"empty":            ``,
		"trailing newline": a + "\n",
		"a bad line":       a + "\n{}",
		"two epochs":       a + "\n" + otherEpoch,
		"seq not rising":   b + "\n" + a,
		"seq repeated":     a + "\n" + a,
	} {
		if got, _, err := DecodeEvents([]byte(s)); err == nil {
			t.Errorf("%s: DecodeEvents(%q) accepted: %+v", name, s, got)
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
	f.Add(EncodeEvent(domain.Event{Kind: domain.PixelPlaced, Seq: 1, Pixel: domain.Pixel{Color: 1}}, "e1"))
	f.Add([]byte(`{"k":"r","seq":9}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, epoch, err := DecodeEvent(data)
		if err != nil {
			return
		}
		again, againEpoch, err := DecodeEvent(EncodeEvent(e, epoch))
		if err != nil || again.Seq != e.Seq || again.Kind != e.Kind || again.Pixel != e.Pixel || againEpoch != epoch {
			t.Fatalf("re-encoding %+v gave %+v, %v", e, again, err)
		}
	})
}

func FuzzDecodeEvents(f *testing.F) {
	f.Add(EncodeEvents([]domain.Event{{Kind: domain.PixelPlaced, Seq: 1}, {Kind: domain.CanvasReset, Seq: 2}}, "e1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		events, epoch, err := DecodeEvents(data)
		if err != nil {
			return
		}
		again, againEpoch, err := DecodeEvents(EncodeEvents(events, epoch))
		if err != nil || len(again) != len(events) || againEpoch != epoch {
			t.Fatalf("re-encoding %d events gave %d, %v", len(events), len(again), err)
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
		EncodeEvent(e, "0a1b2c3d4e5f6071")
	}
}

// BenchmarkDecodeEvents is what a gateway pays per bus message of 30
// events (a group-commit batch) before it can deliver them:
// go test -bench DecodeEvents -benchmem ./internal/busmsg
func BenchmarkDecodeEvents(b *testing.B) {
	events := make([]domain.Event, 30)
	for i := range events {
		events[i] = domain.Event{Kind: domain.PixelPlaced, Seq: 123456 + domain.Seq(i), Time: 1795316057524123 + domain.Timestamp(i),
			Pixel:    domain.Pixel{X: 12 + i, Y: 34, Color: 0xFF8800},
			Username: "Ada Lovelace", Origin: domain.Origin{GatewayID: "gw_0123abcd", ClientID: "c_42", WriteID: "w-17"}}
	}
	payload := EncodeEvents(events, "0a1b2c3d4e5f6071")
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, _, err := DecodeEvents(payload); err != nil {
			b.Fatal(err)
		}
	}
}

package domain

import (
	"strconv"
	"testing"
	"time"
)

// The domain's hot paths: every pixel write parses a colour, passes a token
// bucket and is applied to a canvas; every presence change merges lists.
//
//	go test ./domain -run XXX -bench . -benchmem

func BenchmarkParseColor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseColor("#aBcDeF"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeUsername(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NormalizeUsername("  Alice the Artist  ")
	}
}

func BenchmarkTokenBucketAllow(b *testing.B) {
	now := time.Unix(0, 0)
	tb := NewTokenBucket(RateRule{PerSecond: 1e9, Burst: 1 << 30}, now)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		tb.Allow(now)
	}
}

func BenchmarkCanvasApply1000x1000(b *testing.B) {
	c := NewCanvas(Size{Width: 1000, Height: 1000})
	var seq Seq
	b.ReportAllocs()
	for b.Loop() {
		seq++
		i := int(seq)
		c.Apply(Event{Kind: PixelPlaced, Seq: seq, Pixel: Pixel{X: i % 1000, Y: i / 1000 % 1000, Color: Color(i)}})
	}
}

func BenchmarkMergePresence1000(b *testing.B) {
	gws := make([]GatewayPresence, 4)
	for g := range gws {
		gws[g].GatewayID = "gw" + strconv.Itoa(g)
		gws[g].Connections = 250
		for u := 0; u < 250; u++ {
			gws[g].Users = append(gws[g].Users, "user"+strconv.Itoa(g*250+u))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = MergePresence(gws)
	}
}

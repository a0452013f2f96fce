// Package redisstore is the canvas store kept in Redis, shared by every API
// and gateway process: the single authority that orders writes.
//
// The layout is the one in docs/architecture.md: all keys of a canvas carry
// its own hash tag, {canvas} for the main canvas (the old keys, so existing
// data is the main canvas) and {canvas:<slug>} for every other, so that a
// Redis Cluster spreads canvases over its shards (see Keys); pixels are one string of 3 bytes per pixel, each byte XORed with
// 0xFF so that bytes Redis never wrote (it pads with zeros) read as white;
// per-pixel metadata is a hash; history is a sorted set scored by seq whose
// members are the busmsg encoding of each event, which is also exactly what
// is published on the canvas's channel (ports.PixelChannel). Every change is one Lua script, so it is one
// round trip and atomic. Each canvas also has an epoch (epoch.go), which
// every script checks and renews when the Redis serving it may have lost
// history.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
	"github.com/pixelplayground/pixelplayground/ports"
)

// The main canvas's Redis keys; see docs/architecture.md and Keys.
const (
	KeySize    = "{canvas}:size"
	KeySeq     = "{canvas}:seq"
	KeyTS      = "{canvas}:ts"
	KeyPixels  = "{canvas}:pixels"
	KeyMeta    = "{canvas}:meta"
	KeyHistory = "{canvas}:history"
	KeyEpoch   = "{canvas}:epoch"
)

// Keys are one canvas's Redis keys, all in the slot of its hash tag.
type Keys struct {
	Size, Seq, TS, Pixels, Meta, History, Epoch string
}

// KeysOf is the keys of the canvas slug: the constants above for the main
// canvas, "{canvas:<slug>}:seq" and so on for every other.
func KeysOf(slug domain.Slug) Keys {
	if slug == domain.MainSlug || slug == "" {
		return Keys{Size: KeySize, Seq: KeySeq, TS: KeyTS, Pixels: KeyPixels, Meta: KeyMeta, History: KeyHistory, Epoch: KeyEpoch}
	}
	tag := "{canvas:" + string(slug) + "}:"
	return Keys{Size: tag + "size", Seq: tag + "seq", TS: tag + "ts", Pixels: tag + "pixels", Meta: tag + "meta", History: tag + "history", Epoch: tag + "epoch"}
}

// script is the order every script expects its keys in.
func (k Keys) script() []string { return []string{k.Seq, k.TS, k.Pixels, k.Meta, k.History, k.Epoch} }

// DefaultHistorySize is used when Options.HistorySize is 0 (HISTORY_SIZE's
// default).
const DefaultHistorySize = 10000

// maxWritesPerScript bounds one script run. Redis serves nobody else while a
// script runs, so a huge batch is split; each event stays atomic and in
// order, only the batch as a whole is not.
const maxWritesPerScript = 1000

// ErrSizeMismatch reports a Redis that already holds the canvas with
// another size. It wraps ports.ErrSizeMismatch.
var ErrSizeMismatch = fmt.Errorf("redisstore: the canvas in Redis has another size (%w)", ports.ErrSizeMismatch)

// Options configures a store.
type Options struct {
	// Slug is the canvas; "" is the main canvas.
	Slug        domain.Slug
	Size        domain.Size
	HistorySize int // events kept for Since; 0 means DefaultHistorySize
	// Wait asks for replica confirmations of every write (replicas.go).
	Wait WaitOptions
}

// Store implements ports.CanvasStore on Redis. It is safe for concurrent use;
// all coordination happens in Redis, so any number of processes may share one
// canvas.
type Store struct {
	client     redis.UniversalClient
	slug       domain.Slug
	keys       Keys
	scriptKeys []string
	channel    string // ports.PixelChannel(slug)
	size       domain.Size
	history    int
	clock      clock // Redis's clock against ours, for write deadlines
	wait       WaitOptions
}

var _ ports.CanvasStore = (*Store)(nil)

// Open checks the options and the canvas already in Redis. The first store
// to open a canvas records its size there; opening it later with another
// size fails with ErrSizeMismatch rather than reading pixels at wrong
// offsets.
func Open(ctx context.Context, client redis.UniversalClient, opts Options) (*Store, error) {
	size, err := domain.NewSize(opts.Size.Width, opts.Size.Height)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	slug := opts.Slug
	if slug == "" {
		slug = domain.MainSlug
	}
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	history := opts.HistorySize
	if history == 0 {
		history = DefaultHistorySize
	}
	if history < 0 {
		return nil, fmt.Errorf("redisstore: history size %d is negative", opts.HistorySize)
	}
	if err := opts.Wait.check(client); err != nil {
		return nil, err
	}
	keys := KeysOf(slug)
	want := size.String()
	created, err := client.SetNX(ctx, keys.Size, want, 0).Result()
	if err != nil {
		return nil, redisconn.WrapUnavailable("redisstore: record canvas size", err)
	}
	if !created {
		have, err := client.Get(ctx, keys.Size).Result()
		if err != nil && !errors.Is(err, redis.Nil) { // Nil: deleted meanwhile; nothing to contradict
			return nil, redisconn.WrapUnavailable("redisstore: read canvas size", err)
		}
		if err == nil && have != want {
			if slug == domain.MainSlug {
				return nil, fmt.Errorf("%w: Redis holds a %s canvas but CANVAS_WIDTH x CANVAS_HEIGHT is %s; "+
					"use the same size or reset the canvas in Redis", ErrSizeMismatch, have, want)
			}
			return nil, fmt.Errorf("%w: canvas %s is %s in Redis, %s was asked for", ErrSizeMismatch, slug, have, want)
		}
	}
	s := &Store{client: client, slug: slug, keys: keys, scriptKeys: keys.script(), channel: ports.PixelChannel(slug), size: size, history: history, wait: opts.Wait}
	s.clock.reserve = opts.Wait.Timeout
	if err := s.clock.measure(ctx, client, keys.Seq); err != nil {
		return nil, redisconn.WrapUnavailable("redisstore: read Redis's clock", err)
	}
	return s, nil
}

// Size is the canvas size.
func (s *Store) Size() domain.Size { return s.size }

// Place assigns seqs and timestamps and stores, records and publishes the
// writes; see ports.CanvasStore. Writes off the canvas are refused before
// anything is stored.
func (s *Store) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	for _, w := range writes {
		if err := s.size.Check(w.Pixel); err != nil {
			return nil, fmt.Errorf("redisstore: place (%d,%d): %w", w.X, w.Y, err)
		}
	}
	events := make([]domain.Event, 0, len(writes))
	for start := 0; start < len(writes); start += maxWritesPerScript {
		batch := writes[start:min(start+maxWritesPerScript, len(writes))]
		placed, err := s.placeBatch(ctx, batch)
		events = append(events, placed...)
		if err != nil {
			return events, err
		}
	}
	return events, nil
}

func (s *Store) placeBatch(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	args := make([]any, 0, 4+4*len(writes))
	args = append(args, s.history, s.channel, formatMicros(s.clock.deadline(ctx, time.Now())), newEpoch())
	for _, w := range writes {
		args = append(args,
			s.size.Index(w.X, w.Y),
			uint32(w.Color)^0xFFFFFF, // the stored bytes, as BITFIELD's u24

			w.Username,
			busmsg.PixelBody(w))
	}
	cmd, unconfirmed := s.write(ctx, placeScript, args...)
	reply, err := cmd.StringSlice()
	if late := lateError(err); late != nil {
		return nil, late
	}
	if err != nil {
		return nil, redisconn.WrapUnavailable("redisstore: place", err)
	}
	if unconfirmed != nil {
		return nil, unconfirmed
	}
	if len(reply) != 3 {
		return nil, fmt.Errorf("redisstore: place: script returned %d values", len(reply))
	}
	// reply[0] is the epoch, which the published events carry; the
	// writes after the first have the next seqs and timestamps in turn
	// (see placeScript).
	seq, ts, err := parseStamp(reply[1], reply[2])
	if err != nil {
		return nil, fmt.Errorf("redisstore: place: %w", err)
	}
	events := make([]domain.Event, len(writes))
	for i, w := range writes {
		events[i] = domain.Event{Kind: domain.PixelPlaced, Seq: seq + domain.Seq(i), Time: ts + domain.Timestamp(i), Pixel: w.Pixel, Username: w.Username, Origin: w.Origin}
	}
	return events, nil
}

// Reset turns every pixel white as one event; see ports.CanvasStore.
func (s *Store) Reset(ctx context.Context, origin domain.Origin) (domain.Event, error) {
	cmd, unconfirmed := s.write(ctx, resetScript, s.history, s.channel, busmsg.ResetBody(origin), newEpoch())
	reply, err := cmd.StringSlice()
	if err != nil {
		return domain.Event{}, redisconn.WrapUnavailable("redisstore: reset", err)
	}
	if unconfirmed != nil {
		return domain.Event{}, unconfirmed
	}
	if len(reply) != 3 {
		return domain.Event{}, fmt.Errorf("redisstore: reset: script returned %d values", len(reply))
	}
	seq, ts, err := parseStamp(reply[1], reply[2])
	if err != nil {
		return domain.Event{}, fmt.Errorf("redisstore: reset: %w", err)
	}
	return domain.Event{Kind: domain.CanvasReset, Seq: seq, Time: ts, Origin: origin}, nil
}

// Snapshot reads the pixels and the head in one transaction, so the seq is
// exactly the last change the pixels include and the epoch its timeline.
// The head comes from headScript, which renews the epoch if it must, in
// the same MULTI (the pixels stay out of Lua: a large canvas would be
// copied twice through the script's memory).
func (s *Store) Snapshot(ctx context.Context) (domain.Snapshot, error) {
	var pixels *redis.StringCmd
	var head *redis.Cmd
	read := func() error {
		_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			head = p.EvalSha(ctx, headScript.Hash(), s.scriptKeys, newEpoch())
			pixels = p.Get(ctx, s.keys.Pixels)
			return nil
		})
		return err
	}
	err := read()
	if err != nil && redis.HasErrorPrefix(head.Err(), "NOSCRIPT") {
		// Redis restarted (or failed over) and forgot the script.
		if lerr := headScript.Load(ctx, s.client).Err(); lerr != nil {
			return domain.Snapshot{}, redisconn.WrapUnavailable("redisstore: snapshot: load script", lerr)
		}
		err = read()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return domain.Snapshot{}, redisconn.WrapUnavailable("redisstore: snapshot", err)
	}
	reply, err := head.StringSlice()
	if err != nil {
		return domain.Snapshot{}, redisconn.WrapUnavailable("redisstore: snapshot", err)
	}
	h, err := parseHead(reply)
	if err != nil {
		return domain.Snapshot{}, fmt.Errorf("redisstore: snapshot: %w", err)
	}
	raw, err := pixels.Bytes()
	if err != nil && !errors.Is(err, redis.Nil) {
		return domain.Snapshot{}, redisconn.WrapUnavailable("redisstore: snapshot", err)
	}
	return domain.Snapshot{Size: s.size, Seq: h.Seq, Epoch: h.Epoch, RGB: decodePixels(raw, s.size)}, nil
}

// decodePixels undoes the XOR. The stored string is as long as the furthest
// pixel ever painted (or absent after a reset); what is missing is white.
func decodePixels(raw []byte, size domain.Size) []byte {
	rgb := make([]byte, 3*size.Pixels())
	copy(rgb, raw)
	for i := range rgb {
		rgb[i] ^= 0xFF
	}
	return rgb
}

// Pixel reads one pixel's colour and metadata in one transaction.
func (s *Store) Pixel(ctx context.Context, x, y int) (domain.PixelInfo, error) {
	if !s.size.Contains(x, y) {
		return domain.PixelInfo{}, fmt.Errorf("redisstore: pixel (%d,%d): %w", x, y, domain.ErrOutOfBounds)
	}
	index := s.size.Index(x, y)
	var colour, meta *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		colour = p.GetRange(ctx, s.keys.Pixels, int64(3*index), int64(3*index+2))
		meta = p.HGet(ctx, s.keys.Meta, strconv.Itoa(index))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return domain.PixelInfo{}, redisconn.WrapUnavailable("redisstore: pixel", err)
	}
	if err := colour.Err(); err != nil {
		return domain.PixelInfo{}, redisconn.WrapUnavailable("redisstore: pixel", err)
	}
	rgb := make([]byte, 3) // short or empty when never painted: white
	copy(rgb, colour.Val())
	info := domain.PixelInfo{Pixel: domain.Pixel{X: x, Y: y, Color: domain.ColorFromRGB(rgb[0]^0xFF, rgb[1]^0xFF, rgb[2]^0xFF)}}
	m, err := meta.Result()
	switch {
	case errors.Is(err, redis.Nil): // never painted since the last reset
		return info, nil
	case err != nil:
		return domain.PixelInfo{}, redisconn.WrapUnavailable("redisstore: pixel", err)
	}
	if info.Seq, info.Time, info.Username, err = parseMeta(m); err != nil {
		return domain.PixelInfo{}, fmt.Errorf("redisstore: pixel (%d,%d): %w", x, y, err)
	}
	return info, nil
}

// Since reads the head, the oldest seq history keeps and the events after
// a seq in one script, so that completeness is judged against the same
// state the events come from, on the epoch that script saw (or started).
func (s *Store) Since(ctx context.Context, after domain.Seq, epoch domain.Epoch, limit int) (ports.History, error) {
	reply, err := sinceScript.Run(ctx, s.client, s.scriptKeys, newEpoch(), strconv.FormatUint(after, 10), max(limit, 0)).StringSlice()
	if err != nil {
		return ports.History{}, redisconn.WrapUnavailable("redisstore: since", err)
	}
	if len(reply) < 4 {
		return ports.History{}, fmt.Errorf("redisstore: since: script returned %d values", len(reply))
	}
	head, err := parseHead(reply[:3])
	if err != nil {
		return ports.History{}, fmt.Errorf("redisstore: since: %w", err)
	}
	events := make([]domain.Event, 0, len(reply)-4)
	for _, m := range reply[4:] {
		e, _, err := busmsg.DecodeEvent([]byte(m))
		if err != nil {
			return ports.History{}, fmt.Errorf("redisstore: since: history entry: %w", err)
		}
		events = append(events, e)
	}
	complete := head.Continues(after, epoch)
	if complete && after < head.Seq {
		oldest, err := strconv.ParseFloat(reply[3], 64)
		complete = err == nil && domain.Seq(oldest) <= after+1
	}
	return ports.History{Events: events, Complete: complete, Head: head}, nil
}

// Head is the last assigned seq and its timeline; see ports.CanvasStore.
func (s *Store) Head(ctx context.Context) (domain.Head, error) {
	reply, err := headScript.Run(ctx, s.client, s.scriptKeys, newEpoch()).StringSlice()
	if err != nil {
		return domain.Head{}, redisconn.WrapUnavailable("redisstore: head", err)
	}
	h, err := parseHead(reply)
	if err != nil {
		return domain.Head{}, fmt.Errorf("redisstore: head: %w", err)
	}
	return h, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return redisconn.WrapUnavailable("redisstore: ping", s.clock.measure(ctx, s.client, s.keys.Seq))
}

func parseStamp(seqText, tsText string) (domain.Seq, domain.Timestamp, error) {
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("script returned seq %q", seqText)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("script returned timestamp %q", tsText)
	}
	return seq, domain.Timestamp(ts), nil
}

// parseMeta splits `seq:ts:username`; the username may itself hold colons.
func parseMeta(m string) (domain.Seq, domain.Timestamp, string, error) {
	parts := strings.SplitN(m, ":", 3)
	if len(parts) != 3 {
		return 0, 0, "", fmt.Errorf("pixel metadata %q is not seq:ts:username", m)
	}
	seq, ts, err := parseStamp(parts[0], parts[1])
	if err != nil {
		return 0, 0, "", fmt.Errorf("pixel metadata %q: %w", m, err)
	}
	return seq, ts, parts[2], nil
}

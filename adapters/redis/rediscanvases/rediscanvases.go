// Package rediscanvases is the ports.Canvases of the split deployment: the
// directory of canvases in Redis, shared by every api and gateway.
//
// Every key carries the hash tag {dir}, so on a Redis Cluster they sit in
// one slot and each change is one script over keys it declares:
//
//	canvases:{dir}:canvas:<slug>  hash: name, w, h, private, rps, burst,
//	                              created, active (µs), archived, creator,
//	                              invite (SHA-256 of the tokens, hex)
//	canvases:{dir}:all            sorted set: every canvas, score = active
//	                              (its size is the total the limit counts)
//	canvases:{dir}:public         sorted set: public canvases not archived,
//	                              score = active (List reads it)
//
// Creation checks the total limit and the slug's freedom, writes the hash
// and indexes it in one script. The slug is picked in Go (the script
// cannot build key names it was not given): the taken variants of the
// name's slug are read from the index first, and a candidate that a
// concurrent creation took meanwhile is refused by the script and the next
// one tried.
//
// Touch coalesces per process: it writes a canvas's activity only when the
// last one this process wrote is TouchWindow old, and the script never
// moves it back.
package rediscanvases

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

const (
	prefix    = "canvases:{dir}:"
	allKey    = prefix + "all"
	publicKey = prefix + "public"
)

func canvasKey(slug domain.Slug) string { return prefix + "canvas:" + string(slug) }

// create: KEYS all, public, canvas; ARGV slug, max, private (1/0),
// active, then the hash's fields and values.
var create = redis.NewScript(`
local max = tonumber(ARGV[2])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 'full' end
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'taken' end
redis.call('HSET', KEYS[3], unpack(ARGV, 5))
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
if ARGV[3] ~= '1' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) end
return 'ok'
`)

// update: KEYS canvas, public; ARGV slug, then flag and value(s) for the
// name, the rate (rps, burst) and privacy. Returns the hash as it is now.
var update = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'none' end
if redis.call('HGET', KEYS[1], 'archived') == '1' then return 'archived' end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'name', ARGV[3]) end
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'rps', ARGV[5], 'burst', ARGV[6]) end
if ARGV[7] == '1' then
  redis.call('HSET', KEYS[1], 'private', ARGV[8])
  if ARGV[8] == '1' then
    redis.call('ZREM', KEYS[2], ARGV[1])
  else
    redis.call('HSET', KEYS[1], 'invite', '')
    redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[1], 'active'), ARGV[1])
  end
end
return redis.call('HGETALL', KEYS[1])
`)

// archive: KEYS canvas, public; ARGV slug.
var archive = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'none' end
redis.call('HSET', KEYS[1], 'archived', '1')
redis.call('ZREM', KEYS[2], ARGV[1])
return 'ok'
`)

// rotate: KEYS canvas; ARGV the new invite's hash.
var rotate = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'none' end
redis.call('HSET', KEYS[1], 'invite', ARGV[1])
return 'ok'
`)

// touch: KEYS canvas, public, all; ARGV slug, at (µs). Returns 1 when the
// canvas exists and is not archived, 0 otherwise.
var touch = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'active', 'archived', 'private')
if not v[1] or v[2] == '1' then return 0 end
if tonumber(ARGV[2]) <= tonumber(v[1]) then return 1 end
redis.call('HSET', KEYS[1], 'active', ARGV[2])
redis.call('ZADD', KEYS[3], 'XX', ARGV[2], ARGV[1])
if v[3] ~= '1' then redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1]) end
return 1
`)

// Directory is the Redis directory of canvases.
type Directory struct {
	client redis.UniversalClient
	clock  ports.Clock

	mu      sync.Mutex
	touched map[domain.Slug]time.Time // the last activity this process wrote
}

var _ ports.Canvases = (*Directory)(nil)

// New builds the directory on client; clock dates new canvases.
func New(client redis.UniversalClient, clock ports.Clock) *Directory {
	return &Directory{client: client, clock: clock, touched: map[domain.Slug]time.Time{}}
}

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func newToken() (string, domain.TokenHash) {
	var b [domain.CanvasTokenBytes]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	t := domain.NewCanvasToken(b)
	return t, domain.HashCanvasToken(t)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func checkName(name string) error {
	if n, err := domain.NormalizeCanvasName(name); err != nil || n != name {
		return fmt.Errorf("%w: %q is not normalised", domain.ErrBadCanvasName, name)
	}
	return nil
}

// checkRate refuses a rule no server allows (the server's own bound is the
// caller's to check).
func checkRate(r domain.RateRule) error {
	return domain.CheckCanvasPixelRate(r, domain.RateRule{PerSecond: math.MaxFloat64, Burst: math.MaxInt})
}

func formatRate(r domain.RateRule) (string, string) {
	return strconv.FormatFloat(r.PerSecond, 'g', -1, 64), strconv.Itoa(r.Burst)
}

// Create implements ports.Canvases.
func (d *Directory) Create(ctx context.Context, spec domain.CanvasSpec, limits ports.CanvasLimits) (domain.CanvasInfo, ports.CanvasSecrets, error) {
	if err := checkName(spec.Name); err != nil {
		return domain.CanvasInfo{}, ports.CanvasSecrets{}, err
	}
	if _, err := domain.NewSize(spec.Size.Width, spec.Size.Height); err != nil {
		return domain.CanvasInfo{}, ports.CanvasSecrets{}, err
	}
	if err := checkRate(spec.PixelRate); err != nil {
		return domain.CanvasInfo{}, ports.CanvasSecrets{}, err
	}
	now := d.clock.Now().UTC().Truncate(time.Microsecond)
	info := domain.CanvasInfo{Name: spec.Name, Size: spec.Size, Private: spec.Private, PixelRate: spec.PixelRate, Created: now, LastActive: now}
	var secrets ports.CanvasSecrets
	var creator, invite domain.TokenHash
	secrets.CreatorKey, creator = newToken()
	if spec.Private {
		secrets.Invite, invite = newToken()
	}
	rps, burst := formatRate(spec.PixelRate)
	fields := []any{"name", spec.Name, "w", spec.Size.Width, "h", spec.Size.Height, "private", flag(spec.Private),
		"rps", rps, "burst", burst, "created", micros(now), "active", micros(now), "archived", "0",
		"creator", creator.String(), "invite", invite.String()}

	base := domain.SlugFromName(spec.Name)
	taken, err := d.variants(ctx, base)
	if err != nil {
		return domain.CanvasInfo{}, ports.CanvasSecrets{}, err
	}
	for n := 1; n <= ports.MaxSlugSuffix; n++ {
		slug := base
		if n > 1 {
			slug = base.WithSuffix(n)
		}
		if slug.Reserved() || taken[slug] {
			continue
		}
		args := append([]any{string(slug), limits.MaxCanvases, flag(spec.Private), micros(now)}, fields...)
		res, err := create.Run(ctx, d.client, []string{allKey, publicKey, canvasKey(slug)}, args...).Text()
		if err != nil {
			return domain.CanvasInfo{}, ports.CanvasSecrets{}, redisconn.WrapUnavailable("create canvas", err)
		}
		switch res {
		case "ok":
			info.Slug = slug
			return info, secrets, nil
		case "full":
			return domain.CanvasInfo{}, ports.CanvasSecrets{}, fmt.Errorf("%w: %d", ports.ErrTooManyCanvases, limits.MaxCanvases)
		case "taken":
			taken[slug] = true
		default:
			return domain.CanvasInfo{}, ports.CanvasSecrets{}, fmt.Errorf("create canvas: unexpected reply %q", res)
		}
	}
	return domain.CanvasInfo{}, ports.CanvasSecrets{}, fmt.Errorf("%w: %s to %s", ports.ErrCanvasExists, base, base.WithSuffix(ports.MaxSlugSuffix))
}

// variants reads the slugs taken among base and base-*, the ones Create
// will try (slug characters sort after '-', so the range holds nothing
// else; variants cut shorter for their suffix are found by the script).
func (d *Directory) variants(ctx context.Context, base domain.Slug) (map[domain.Slug]bool, error) {
	found, err := d.client.ZRangeByLex(ctx, allKey, &redis.ZRangeBy{Min: "[" + string(base), Max: "[" + string(base) + "-\xff"}).Result()
	if err != nil {
		return nil, redisconn.WrapUnavailable("create canvas", err)
	}
	taken := make(map[domain.Slug]bool, len(found))
	for _, s := range found {
		taken[domain.Slug(s)] = true
	}
	return taken, nil
}

// Get implements ports.Canvases.
func (d *Directory) Get(ctx context.Context, slug domain.Slug) (domain.CanvasInfo, error) {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return domain.CanvasInfo{}, fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	h, err := d.client.HGetAll(ctx, canvasKey(slug)).Result()
	if err != nil {
		return domain.CanvasInfo{}, redisconn.WrapUnavailable("get canvas", err)
	}
	if len(h) == 0 {
		return domain.CanvasInfo{}, fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	return parse(slug, h)
}

// parse reads a canvas's hash.
func parse(slug domain.Slug, h map[string]string) (domain.CanvasInfo, error) {
	var errs []error
	num := func(field string) int64 {
		n, err := strconv.ParseInt(h[field], 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
		return n
	}
	rps, err := strconv.ParseFloat(h["rps"], 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("rps: %w", err))
	}
	info := domain.CanvasInfo{Slug: slug, Name: h["name"], Private: h["private"] == "1", Archived: h["archived"] == "1",
		Size:      domain.Size{Width: int(num("w")), Height: int(num("h"))},
		PixelRate: domain.RateRule{PerSecond: rps, Burst: int(num("burst"))},
		Created:   time.UnixMicro(num("created")).UTC(), LastActive: time.UnixMicro(num("active")).UTC()}
	if err := errors.Join(errs...); err != nil {
		return domain.CanvasInfo{}, fmt.Errorf("canvas %s: damaged entry: %w", slug, err)
	}
	return info, nil
}

// List implements ports.Canvases.
func (d *Directory) List(ctx context.Context, q ports.ListQuery) ([]domain.CanvasInfo, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = ports.DefaultListLimit
	}
	limit = min(limit, ports.MaxListLimit)
	search := strings.ToLower(strings.TrimSpace(q.Search))
	page := int64(limit)
	if search != "" {
		page = 500
	}
	var out []domain.CanvasInfo
	for from := int64(0); len(out) < limit; from += page {
		slugs, err := d.client.ZRevRange(ctx, publicKey, from, from+page-1).Result()
		if err != nil {
			return nil, redisconn.WrapUnavailable("list canvases", err)
		}
		cmds, err := d.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, s := range slugs {
				p.HGetAll(ctx, canvasKey(domain.Slug(s)))
			}
			return nil
		})
		if err != nil {
			return nil, redisconn.WrapUnavailable("list canvases", err)
		}
		for i, c := range cmds {
			h := c.(*redis.MapStringStringCmd).Val()
			if len(h) == 0 {
				continue // gone meanwhile
			}
			info, err := parse(domain.Slug(slugs[i]), h)
			if err != nil {
				return nil, err
			}
			if info.Private || info.Archived || !matches(info, search) {
				continue // changed meanwhile, or not searched for
			}
			if out = append(out, info); len(out) == limit {
				break
			}
		}
		if int64(len(slugs)) < page {
			break
		}
	}
	return out, nil
}

// idlePage is how many entries of the index Idle reads at once.
const idlePage = 500

// Idle implements ports.Canvases: the index of every canvas by activity,
// read oldest first, skipping the archived ones (the index keeps them:
// they count towards the total limit).
func (d *Directory) Idle(ctx context.Context, before time.Time, limit int) ([]domain.Slug, error) {
	if limit <= 0 || limit > ports.MaxListLimit {
		limit = ports.MaxListLimit
	}
	out := []domain.Slug{}
	for offset := int64(0); len(out) < limit; offset += idlePage {
		slugs, err := d.client.ZRangeByScore(ctx, allKey, &redis.ZRangeBy{Min: "-inf", Max: "(" + micros(before),
			Offset: offset, Count: idlePage}).Result()
		if err != nil {
			return nil, redisconn.WrapUnavailable("idle canvases", err)
		}
		cmds, err := d.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, s := range slugs {
				p.HGet(ctx, canvasKey(domain.Slug(s)), "archived")
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, redisconn.WrapUnavailable("idle canvases", err)
		}
		for i, c := range cmds {
			if v, err := c.(*redis.StringCmd).Result(); err != nil || v == "1" {
				continue // archived, or gone meanwhile
			}
			if out = append(out, domain.Slug(slugs[i])); len(out) == limit {
				break
			}
		}
		if len(slugs) < idlePage {
			break
		}
	}
	return out, nil
}

// matches is List's search: lowered is the lower-cased search.
func matches(c domain.CanvasInfo, lowered string) bool {
	return lowered == "" || strings.Contains(strings.ToLower(c.Name), lowered) || strings.Contains(string(c.Slug), lowered)
}

// status turns a script's status reply into an error.
func status(slug domain.Slug, res any) error {
	switch res {
	case "none":
		return fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	case "archived":
		return fmt.Errorf("%w: %s", ports.ErrArchived, slug)
	case "ok":
		return nil
	}
	return fmt.Errorf("canvas %s: unexpected reply %v", slug, res)
}

// Update implements ports.Canvases.
func (d *Directory) Update(ctx context.Context, slug domain.Slug, p ports.CanvasPatch) (domain.CanvasInfo, error) {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return domain.CanvasInfo{}, fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	args := []any{string(slug), "0", "", "0", "", "", "0", ""}
	if p.Name != nil {
		if err := checkName(*p.Name); err != nil {
			return domain.CanvasInfo{}, err
		}
		args[1], args[2] = "1", *p.Name
	}
	if p.PixelRate != nil {
		if err := checkRate(*p.PixelRate); err != nil {
			return domain.CanvasInfo{}, err
		}
		args[3] = "1"
		args[4], args[5] = formatRate(*p.PixelRate)
	}
	if p.Private != nil {
		args[6], args[7] = "1", flag(*p.Private)
	}
	res, err := update.Run(ctx, d.client, []string{canvasKey(slug), publicKey}, args...).Result()
	if err != nil {
		return domain.CanvasInfo{}, redisconn.WrapUnavailable("update canvas", err)
	}
	pairs, ok := res.([]any)
	if !ok {
		return domain.CanvasInfo{}, status(slug, res)
	}
	h := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		k, _ := pairs[i].(string)
		v, _ := pairs[i+1].(string)
		h[k] = v
	}
	return parse(slug, h)
}

// Archive implements ports.Canvases.
func (d *Directory) Archive(ctx context.Context, slug domain.Slug) error {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	res, err := archive.Run(ctx, d.client, []string{canvasKey(slug), publicKey}, string(slug)).Text()
	if err != nil {
		return redisconn.WrapUnavailable("archive canvas", err)
	}
	return status(slug, res)
}

// RotateInvite implements ports.Canvases.
func (d *Directory) RotateInvite(ctx context.Context, slug domain.Slug) (string, error) {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return "", fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	token, hash := newToken()
	res, err := rotate.Run(ctx, d.client, []string{canvasKey(slug)}, hash.String()).Text()
	if err != nil {
		return "", redisconn.WrapUnavailable("rotate invite", err)
	}
	if err := status(slug, res); err != nil {
		return "", err
	}
	return token, nil
}

// Touch implements ports.Canvases.
func (d *Directory) Touch(ctx context.Context, slug domain.Slug, at time.Time) error {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	d.mu.Lock()
	last, ok := d.touched[slug]
	d.mu.Unlock()
	if ok && at.Sub(last) < ports.TouchWindow {
		return nil
	}
	live, err := touch.Run(ctx, d.client, []string{canvasKey(slug), publicKey, allKey}, string(slug), micros(at)).Int()
	if err != nil {
		return redisconn.WrapUnavailable("touch canvas", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if live == 1 && at.After(d.touched[slug]) {
		d.touched[slug] = at
	}
	return nil
}

// secrets reads what the checks need; ErrNoCanvas if there is no canvas.
func (d *Directory) secrets(ctx context.Context, slug domain.Slug) (creator, invite domain.TokenHash, private bool, err error) {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return creator, invite, false, fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	v, err := d.client.HMGet(ctx, canvasKey(slug), "creator", "invite", "private").Result()
	if err != nil {
		return creator, invite, false, redisconn.WrapUnavailable("check canvas", err)
	}
	c, _ := v[0].(string)
	i, _ := v[1].(string)
	p, _ := v[2].(string)
	if v[0] == nil {
		return creator, invite, false, fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	if creator, err = domain.ParseTokenHash(c); err != nil {
		return creator, invite, false, fmt.Errorf("canvas %s: %w", slug, err)
	}
	if invite, err = domain.ParseTokenHash(i); err != nil {
		return creator, invite, false, fmt.Errorf("canvas %s: %w", slug, err)
	}
	return creator, invite, p == "1", nil
}

// CheckCreator implements ports.Canvases.
func (d *Directory) CheckCreator(ctx context.Context, slug domain.Slug, key string) error {
	creator, _, private, err := d.secrets(ctx, slug)
	switch {
	case err != nil:
		return err
	case creator.Matches(key):
		return nil
	case private:
		return fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	return fmt.Errorf("%w: %s", ports.ErrForbidden, slug)
}

// CheckInvite implements ports.Canvases.
func (d *Directory) CheckInvite(ctx context.Context, slug domain.Slug, token string) error {
	_, invite, private, err := d.secrets(ctx, slug)
	switch {
	case err != nil:
		return err
	case !private || invite.Matches(token):
		return nil
	}
	return fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
}

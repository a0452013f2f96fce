// Package canvasestest is the contract every ports.Canvases implementation
// passes: run it from the implementation's tests with a factory.
//
// What the suite cannot see, each backend's own tests check: that tokens
// are stored only as hashes, and that the directory survives a restart.
package canvasestest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Factory builds a fresh, empty directory on the given clock (Created and
// LastActive of new canvases are its time).
type Factory func(t *testing.T, clock ports.Clock) ports.Canvases

// Clock is a clock the suite sets; safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now implements ports.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// start is a whole second, so that every backend's precision keeps it.
var start = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

var noLimit = ports.CanvasLimits{}

// Run runs every case against directories from newDir.
func Run(t *testing.T, newDir Factory) {
	fresh := func(t *testing.T) (ports.Canvases, *Clock) {
		clock := NewClock(start)
		return newDir(t, clock), clock
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, fresh) })
	}
}

// cases are the suite's cases, in order.
var cases = []struct {
	name string
	run  func(*testing.T, func(*testing.T) (ports.Canvases, *Clock))
}{
	{"a public canvas", publicCanvas},
	{"a private canvas", privateCanvas},
	{"every secret is new", secretsAreNew},
	{"slugs are derived, unique and never reserved", derivedSlugs},
	{"concurrent creations of one name get distinct slugs", concurrentSlugs},
	{"a spec that was not checked is refused", uncheckedSpec},
	{"the total limit, archived canvases included", totalLimit},
	{"the total limit holds under concurrency", totalLimitConcurrent},
	{"list: public, not archived, most recently active first", listByActivity},
	{"list: the limit's default and bound", listLimit},
	{"list: search is a case-insensitive substring of name or slug", listSearch},
	{"update", update},
	{"going private and public", privatePublic},
	{"rotating the invite refuses the old one at once", rotateInvite},
	{"archived canvases are readable, reported archived, frozen", archived},
	{"touch never moves back and coalesces within its window only", touchCoalesces},
	{"idle: not archived, private included, least recently active first", idleCanvases},
	{"unknown canvases and the main canvas are not in the directory", notInDirectory},
}

var ctx = context.Background()

func create(t *testing.T, d ports.Canvases, spec domain.CanvasSpec) (domain.CanvasInfo, ports.CanvasSecrets) {
	t.Helper()
	if spec.Size == (domain.Size{}) {
		spec.Size = domain.Size{Width: 16, Height: 8}
	}
	info, secrets, err := d.Create(ctx, spec, noLimit)
	if err != nil {
		t.Fatalf("create %+v: %v", spec, err)
	}
	return info, secrets
}
func get(t *testing.T, d ports.Canvases, slug domain.Slug) domain.CanvasInfo {
	t.Helper()
	info, err := d.Get(ctx, slug)
	if err != nil {
		t.Fatalf("get %s: %v", slug, err)
	}
	return info
}
func list(t *testing.T, d ports.Canvases, q ports.ListQuery) []domain.Slug {
	t.Helper()
	infos, err := d.List(ctx, q)
	if err != nil {
		t.Fatalf("list %+v: %v", q, err)
	}
	slugs := make([]domain.Slug, len(infos))
	for i, c := range infos {
		slugs[i] = c.Slug
	}
	return slugs
}
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func publicCanvas(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, clock := fresh(t)
	spec := domain.CanvasSpec{Name: "Pixel Art", Size: domain.Size{Width: 300, Height: 200}, PixelRate: domain.RateRule{PerSecond: 2.5, Burst: 7}}
	info, secrets := create(t, d, spec)
	want := domain.CanvasInfo{Slug: "pixel-art", Name: "Pixel Art", Size: spec.Size, PixelRate: spec.PixelRate, Created: start, LastActive: start}
	if !sameInfo(info, want) {
		t.Fatalf("created %+v, want %+v", info, want)
	}
	if len(secrets.CreatorKey) != 22 || secrets.Invite != "" {
		t.Fatalf("secrets %+v: want a 22-character creator key and no invite", secrets)
	}
	clock.Advance(time.Hour) // Get reports what was stored, not the time now
	if got := get(t, d, "pixel-art"); !sameInfo(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := list(t, d, ports.ListQuery{}); len(got) != 1 || got[0] != "pixel-art" {
		t.Fatalf("listed %v", got)
	}
	if err := d.CheckCreator(ctx, "pixel-art", secrets.CreatorKey); err != nil {
		t.Fatalf("the creator key: %v", err)
	}
	wantErr(t, "a wrong creator key", d.CheckCreator(ctx, "pixel-art", secrets.CreatorKey[1:]+"A"), ports.ErrForbidden)
	wantErr(t, "no creator key", d.CheckCreator(ctx, "pixel-art", ""), ports.ErrForbidden)
	for _, token := range []string{"", "anything", secrets.CreatorKey} {
		if err := d.CheckInvite(ctx, "pixel-art", token); err != nil {
			t.Fatalf("invite %q to a public canvas: %v", token, err)
		}
	}
}

func privateCanvas(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	info, secrets := create(t, d, domain.CanvasSpec{Name: "Secret", Private: true})
	if !info.Private || info.Slug != "secret" {
		t.Fatalf("created %+v", info)
	}
	if len(secrets.Invite) != 22 || len(secrets.CreatorKey) != 22 || secrets.Invite == secrets.CreatorKey {
		t.Fatalf("secrets %+v: want two distinct 22-character tokens", secrets)
	}
	if got := get(t, d, "secret"); !got.Private {
		t.Fatalf("got %+v", got)
	}
	if got := list(t, d, ports.ListQuery{}); len(got) != 0 {
		t.Fatalf("a private canvas listed: %v", got)
	}
	if got := list(t, d, ports.ListQuery{Search: "secret"}); len(got) != 0 {
		t.Fatalf("a private canvas found: %v", got)
	}
	if err := d.CheckInvite(ctx, "secret", secrets.Invite); err != nil {
		t.Fatalf("the invite: %v", err)
	}
	for _, token := range []string{"", secrets.CreatorKey, secrets.Invite[:21], strings.ToUpper(secrets.Invite)} {
		wantErr(t, fmt.Sprintf("invite %q", token), d.CheckInvite(ctx, "secret", token), ports.ErrNoCanvas)
	}
	if err := d.CheckCreator(ctx, "secret", secrets.CreatorKey); err != nil {
		t.Fatalf("the creator key: %v", err)
	}
	wantErr(t, "a wrong creator key on a private canvas", d.CheckCreator(ctx, "secret", secrets.Invite), ports.ErrNoCanvas)
}

func secretsAreNew(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	seen := map[string]bool{}
	for range 5 {
		_, s := create(t, d, domain.CanvasSpec{Name: "x", Private: true})
		for _, token := range []string{s.CreatorKey, s.Invite} {
			if seen[token] {
				t.Fatalf("token %q handed out twice", token)
			}
			seen[token] = true
		}
	}
}

func derivedSlugs(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	for _, tc := range []struct{ name, want string }{
		{"Pixel Art", "pixel-art"}, {"pixel  art!", "pixel-art-2"}, {"Pixel-Art", "pixel-art-3"},
		{"日本", "canvas"}, {"絵", "canvas-2"},
		{"Main", "main-2"}, {"API", "api-2"}, {"new", "new-2"}, {"c", "c-2"}, {"Canvases", "canvases-2"},
		{"ws", "ws-2"}, {"Static", "static-2"}, {"admin", "admin-2"},
	} {
		info, _ := create(t, d, domain.CanvasSpec{Name: tc.name})
		if string(info.Slug) != tc.want {
			t.Errorf("%q: slug %q, want %q", tc.name, info.Slug, tc.want)
		}
	}
	long := strings.TrimSpace(strings.Repeat("long ", 8)) // 39 runes, the longest slugs a name gives
	a, _ := create(t, d, domain.CanvasSpec{Name: long})
	b, _ := create(t, d, domain.CanvasSpec{Name: long})
	if a.Slug == b.Slug || len(b.Slug) > domain.MaxSlugBytes {
		t.Fatalf("long names: %q and %q", a.Slug, b.Slug)
	}
	for _, s := range []domain.Slug{a.Slug, b.Slug} {
		if _, err := domain.ParseSlug(string(s)); err != nil {
			t.Fatal(err)
		}
	}
}

func concurrentSlugs(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	const n = 20
	slugs := make([]domain.Slug, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var info domain.CanvasInfo
			info, _, errs[i] = d.Create(ctx, domain.CanvasSpec{Name: "Same Name", Size: domain.Size{Width: 4, Height: 4}}, noLimit)
			slugs[i] = info.Slug
		})
	}
	wg.Wait()
	seen := map[domain.Slug]bool{}
	for i, s := range slugs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[s] || s.Reserved() {
			t.Fatalf("slug %q twice or reserved: %v", s, slugs)
		}
		seen[s] = true
		if got := get(t, d, s); got.Name != "Same Name" {
			t.Fatalf("%s: %+v", s, got)
		}
	}
	for i := 2; i <= n; i++ {
		if !seen["same-name"] || !seen[domain.Slug("same-name").WithSuffix(i)] {
			t.Fatalf("slugs %v, want same-name and same-name-2..%d", slugs, n)
		}
	}
	if got := list(t, d, ports.ListQuery{Limit: 100}); len(got) != n {
		t.Fatalf("listed %d, want %d", len(got), n)
	}
}

func uncheckedSpec(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	for _, tc := range []struct {
		spec domain.CanvasSpec
		want error
	}{
		{domain.CanvasSpec{Name: "", Size: domain.Size{Width: 4, Height: 4}}, domain.ErrBadCanvasName},
		{domain.CanvasSpec{Name: " padded ", Size: domain.Size{Width: 4, Height: 4}}, domain.ErrBadCanvasName},
		{domain.CanvasSpec{Name: "ok"}, domain.ErrBadSize},
		{domain.CanvasSpec{Name: "ok", Size: domain.Size{Width: domain.MaxSide + 1, Height: 4}}, domain.ErrBadSize},
	} {
		_, _, err := d.Create(ctx, tc.spec, noLimit)
		wantErr(t, fmt.Sprintf("create %+v", tc.spec), err, tc.want)
	}
	if got := list(t, d, ports.ListQuery{}); len(got) != 0 {
		t.Fatalf("refused specs left canvases: %v", got)
	}
}

func totalLimit(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	limits := ports.CanvasLimits{MaxCanvases: 3}
	var first domain.Slug
	for i := range 3 {
		info, _, err := d.Create(ctx, domain.CanvasSpec{Name: "n", Size: domain.Size{Width: 1, Height: 1}, Private: i == 1}, limits)
		if err != nil {
			t.Fatalf("canvas %d of 3: %v", i+1, err)
		}
		if i == 0 {
			first = info.Slug
		}
	}
	if err := d.Archive(ctx, first); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.Create(ctx, domain.CanvasSpec{Name: "n", Size: domain.Size{Width: 1, Height: 1}}, limits)
	wantErr(t, "a fourth canvas", err, ports.ErrTooManyCanvases)
	if _, _, err := d.Create(ctx, domain.CanvasSpec{Name: "n", Size: domain.Size{Width: 1, Height: 1}}, ports.CanvasLimits{MaxCanvases: 4}); err != nil {
		t.Fatalf("with a higher limit: %v", err)
	}
}

func totalLimitConcurrent(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	var mu sync.Mutex
	created, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			_, _, err := d.Create(ctx, domain.CanvasSpec{Name: fmt.Sprintf("c%d", i%3), Size: domain.Size{Width: 1, Height: 1}}, ports.CanvasLimits{MaxCanvases: 5})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, ports.ErrTooManyCanvases):
				refused++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created != 5 || refused != 7 {
		t.Fatalf("%d created, %d refused; want 5 and 7", created, refused)
	}
}

func listByActivity(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, clock := fresh(t)
	for _, name := range []string{"alpha", "bravo", "charlie", "delta", "echo"} {
		create(t, d, domain.CanvasSpec{Name: name, Private: name == "delta"})
		clock.Advance(time.Second)
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{})); got != "[echo charlie bravo alpha]" {
		t.Fatalf("by creation: %s", got)
	}
	touch := func(slug domain.Slug, at time.Duration) {
		t.Helper()
		if err := d.Touch(ctx, slug, start.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	touch("alpha", 3*time.Hour)
	touch("bravo", 1*time.Hour)
	touch("delta", 4*time.Hour)
	touch("charlie", 2*time.Hour)
	if err := d.Archive(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{})); got != "[alpha charlie bravo]" {
		t.Fatalf("by activity: %s", got)
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{Limit: 2})); got != "[alpha charlie]" {
		t.Fatalf("limit 2: %s", got)
	}
	infos, err := d.List(ctx, ports.ListQuery{Limit: 1})
	if err != nil || len(infos) != 1 || !infos[0].LastActive.Equal(start.Add(3*time.Hour)) || infos[0].Name != "alpha" {
		t.Fatalf("list's entry: %+v, %v", infos, err)
	}
}

func listLimit(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	for range ports.MaxListLimit + 5 {
		create(t, d, domain.CanvasSpec{Name: "many", Size: domain.Size{Width: 1, Height: 1}})
	}
	if got := len(list(t, d, ports.ListQuery{})); got != ports.DefaultListLimit {
		t.Fatalf("no limit: %d, want %d", got, ports.DefaultListLimit)
	}
	if got := len(list(t, d, ports.ListQuery{Limit: 10_000})); got != ports.MaxListLimit {
		t.Fatalf("limit 10000: %d, want %d", got, ports.MaxListLimit)
	}
}

func listSearch(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, clock := fresh(t)
	for _, name := range []string{"Sunset Over Sea", "Café Crème", "seaside", "Mountains", "日本の海", "Hidden sea"} {
		create(t, d, domain.CanvasSpec{Name: name, Private: name == "Hidden sea"})
		clock.Advance(time.Second)
	}
	for _, tc := range []struct{ search, want string }{
		{"sea", "[seaside sunset-over-sea]"},
		{"SEA", "[seaside sunset-over-sea]"},
		{"  over sea ", "[sunset-over-sea]"}, // the name
		{"over-sea", "[sunset-over-sea]"},    // the slug
		{"CRÈME", "[caf-cr-me]"},
		{"caf-cr", "[caf-cr-me]"},
		{"の海", "[canvas]"},
		{"hidden", "[]"},
		{"nothing like it", "[]"},
		{"", "[canvas mountains seaside caf-cr-me sunset-over-sea]"},
	} {
		if got := fmt.Sprint(list(t, d, ports.ListQuery{Search: tc.search})); got != tc.want {
			t.Errorf("search %q: %s, want %s", tc.search, got, tc.want)
		}
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{Search: "a", Limit: 2})); got != "[canvas mountains]" {
		t.Errorf("search with a limit: %s", got)
	}
}

func update(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	_, secrets := create(t, d, domain.CanvasSpec{Name: "Before"})
	name, rate := "After", domain.RateRule{PerSecond: 1, Burst: 3}
	info, err := d.Update(ctx, "before", ports.CanvasPatch{Name: &name, PixelRate: &rate})
	if err != nil {
		t.Fatal(err)
	}
	if info.Slug != "before" || info.Name != "After" || info.PixelRate != rate || info.Private {
		t.Fatalf("updated %+v: the slug stays, the name and rate change", info)
	}
	if got := get(t, d, "before"); !sameInfo(got, info) {
		t.Fatalf("got %+v, want %+v", got, info)
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{Search: "after"})); got != "[before]" {
		t.Fatalf("search by the new name: %s", got)
	}
	zero := domain.RateRule{}
	if info, err := d.Update(ctx, "before", ports.CanvasPatch{PixelRate: &zero}); err != nil || info.PixelRate != zero || info.Name != "After" {
		t.Fatalf("back to the server's rate: %+v, %v", info, err)
	}
	bad := " After"
	_, err = d.Update(ctx, "before", ports.CanvasPatch{Name: &bad})
	wantErr(t, "a name not normalised", err, domain.ErrBadCanvasName)
	_, err = d.Update(ctx, "nope", ports.CanvasPatch{Name: &name})
	wantErr(t, "update a canvas that does not exist", err, ports.ErrNoCanvas)
	if err := d.CheckCreator(ctx, "before", secrets.CreatorKey); err != nil {
		t.Fatalf("the creator key after an update: %v", err)
	}
}

func privatePublic(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	create(t, d, domain.CanvasSpec{Name: "Flip"})
	yes, no := true, false
	if info, err := d.Update(ctx, "flip", ports.CanvasPatch{Private: &yes}); err != nil || !info.Private {
		t.Fatalf("made private: %+v, %v", info, err)
	}
	if got := list(t, d, ports.ListQuery{}); len(got) != 0 {
		t.Fatalf("listed once private: %v", got)
	}
	wantErr(t, "a canvas made private has no invite yet", d.CheckInvite(ctx, "flip", ""), ports.ErrNoCanvas)
	invite, err := d.RotateInvite(ctx, "flip")
	if err != nil || len(invite) != 22 {
		t.Fatalf("invite %q, %v", invite, err)
	}
	if err := d.CheckInvite(ctx, "flip", invite); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Update(ctx, "flip", ports.CanvasPatch{Private: &no}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{})); got != "[flip]" {
		t.Fatalf("listed once public: %s", got)
	}
	if _, err := d.Update(ctx, "flip", ports.CanvasPatch{Private: &yes}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "an invite from before the canvas went public", d.CheckInvite(ctx, "flip", invite), ports.ErrNoCanvas)
}

func rotateInvite(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	_, secrets := create(t, d, domain.CanvasSpec{Name: "Club", Private: true})
	old := secrets.Invite
	for range 3 {
		fresh, err := d.RotateInvite(ctx, "club")
		if err != nil {
			t.Fatal(err)
		}
		if fresh == old || len(fresh) != 22 {
			t.Fatalf("rotated %q from %q", fresh, old)
		}
		wantErr(t, "the old invite", d.CheckInvite(ctx, "club", old), ports.ErrNoCanvas)
		if err := d.CheckInvite(ctx, "club", fresh); err != nil {
			t.Fatalf("the new invite: %v", err)
		}
		old = fresh
	}
	if err := d.CheckCreator(ctx, "club", secrets.CreatorKey); err != nil {
		t.Fatalf("the creator key after rotations: %v", err)
	}
	_, err := d.RotateInvite(ctx, "nope")
	wantErr(t, "rotate on a canvas that does not exist", err, ports.ErrNoCanvas)
}

func archived(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	_, secrets := create(t, d, domain.CanvasSpec{Name: "Old", Private: true})
	create(t, d, domain.CanvasSpec{Name: "Old public"})
	for range 2 { // archiving twice is not an error
		for _, s := range []domain.Slug{"old", "old-public"} {
			if err := d.Archive(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := get(t, d, "old"); !got.Archived || got.Name != "Old" {
		t.Fatalf("got %+v", got)
	}
	if got := list(t, d, ports.ListQuery{}); len(got) != 0 {
		t.Fatalf("archived canvases listed: %v", got)
	}
	name := "New"
	_, err := d.Update(ctx, "old-public", ports.CanvasPatch{Name: &name})
	wantErr(t, "update an archived canvas", err, ports.ErrArchived)
	if err := d.CheckInvite(ctx, "old", secrets.Invite); err != nil {
		t.Fatalf("the invite of an archived canvas: %v", err)
	}
	if err := d.CheckCreator(ctx, "old", secrets.CreatorKey); err != nil {
		t.Fatalf("the creator key of an archived canvas: %v", err)
	}
	invite, err := d.RotateInvite(ctx, "old")
	if err != nil {
		t.Fatalf("rotating an archived canvas's invite: %v", err)
	}
	wantErr(t, "the revoked invite", d.CheckInvite(ctx, "old", secrets.Invite), ports.ErrNoCanvas)
	if err := d.CheckInvite(ctx, "old", invite); err != nil {
		t.Fatal(err)
	}
	if err := d.Touch(ctx, "old-public", start.Add(time.Hour)); err != nil {
		t.Fatalf("touching an archived canvas: %v", err)
	}
	if got := list(t, d, ports.ListQuery{}); len(got) != 0 {
		t.Fatalf("a touch brought an archived canvas back: %v", got)
	}
	wantErr(t, "archive a canvas that does not exist", d.Archive(ctx, "nope"), ports.ErrNoCanvas)
}

func touchCoalesces(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	for _, name := range []string{"aa", "bb", "cc"} {
		create(t, d, domain.CanvasSpec{Name: name})
	}
	touch := func(slug domain.Slug, at time.Time) {
		t.Helper()
		if err := d.Touch(ctx, slug, at); err != nil {
			t.Fatal(err)
		}
	}
	h := func(n float64) time.Time { return start.Add(time.Duration(n * float64(time.Hour))) }
	touch("aa", h(1))
	touch("bb", h(2))
	touch("cc", h(3))
	touch("bb", h(0.5)) // earlier: changes nothing
	if got := fmt.Sprint(list(t, d, ports.ListQuery{})); got != "[cc bb aa]" {
		t.Fatalf("after touches: %s", got)
	}
	if got := get(t, d, "bb"); !got.LastActive.Equal(h(2)) || !got.Created.Equal(start) {
		t.Fatalf("bb: %+v, want active at %v, created at %v", got, h(2), start)
	}
	// Past the window of a's last recorded activity: recorded.
	touch("aa", h(3).Add(ports.TouchWindow+time.Second))
	if got := fmt.Sprint(list(t, d, ports.ListQuery{})); got != "[aa cc bb]" {
		t.Fatalf("a touched past its window: %s", got)
	}
	// Many touches within the window may be coalesced, but never lag
	// by more than the window.
	for i := 1; i <= 10; i++ {
		last := h(2).Add(time.Duration(i) * ports.TouchWindow / 4)
		touch("bb", last)
		got := get(t, d, "bb").LastActive
		if got.After(last) || last.Sub(got) > ports.TouchWindow {
			t.Fatalf("touched at %v, LastActive %v: more than the window behind", last, got)
		}
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{})); got != "[aa cc bb]" {
		t.Fatalf("b is still behind c: %s", got)
	}
	if err := d.Touch(ctx, "nope", h(9)); err != nil {
		t.Fatalf("touching a canvas that does not exist: %v", err)
	}
	if _, err := d.Get(ctx, "nope"); !errors.Is(err, ports.ErrNoCanvas) {
		t.Fatalf("a touch created a canvas: %v", err)
	}
}

func idleCanvases(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, clock := fresh(t)
	idle := func(before time.Duration, limit int) string {
		t.Helper()
		slugs, err := d.Idle(ctx, start.Add(before), limit)
		if err != nil {
			t.Fatalf("idle before %v: %v", before, err)
		}
		return fmt.Sprint(slugs)
	}
	create(t, d, domain.CanvasSpec{Name: "Main"}) // main-2, created at start
	clock.Advance(time.Second)
	create(t, d, domain.CanvasSpec{Name: "secret", Private: true}) // start+1s
	clock.Advance(time.Second)
	create(t, d, domain.CanvasSpec{Name: "busy"}) // start+2s
	clock.Advance(time.Second)
	create(t, d, domain.CanvasSpec{Name: "gone"}) // start+3s
	clock.Advance(2 * time.Hour)
	create(t, d, domain.CanvasSpec{Name: "fresh"}) // start+2h+3s
	if err := d.Touch(ctx, "busy", start.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := d.Archive(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if got := idle(0, 0); got != "[]" {
		t.Fatalf("idle before the first creation: %s", got)
	}
	if got := idle(time.Second, 0); got != "[main-2]" {
		t.Fatalf("idle before start+1s (strictly before): %s", got)
	}
	if got := idle(time.Hour, 0); got != "[main-2 secret]" {
		t.Fatalf("idle for an hour: %s", got)
	}
	if got := idle(time.Hour, 1); got != "[main-2]" {
		t.Fatalf("idle for an hour, limit 1: %s", got)
	}
	if got := idle(10*time.Hour, 0); got != "[main-2 secret fresh busy]" {
		t.Fatalf("idle before start+10h: %s", got)
	}
	if err := d.Archive(ctx, "main-2"); err != nil {
		t.Fatal(err)
	}
	if got := idle(10*time.Hour, 2); got != "[secret fresh]" {
		t.Fatalf("after archiving main-2, limit 2: %s", got)
	}
}

func notInDirectory(t *testing.T, fresh func(*testing.T) (ports.Canvases, *Clock)) {
	d, _ := fresh(t)
	create(t, d, domain.CanvasSpec{Name: "Main"}) // main-2
	name, yes := "x", true
	for _, s := range []domain.Slug{domain.MainSlug, "nope", "main-3", "Not A Slug", ""} {
		_, err := d.Get(ctx, s)
		wantErr(t, fmt.Sprintf("get %q", s), err, ports.ErrNoCanvas)
		_, err = d.Update(ctx, s, ports.CanvasPatch{Name: &name, Private: &yes})
		wantErr(t, fmt.Sprintf("update %q", s), err, ports.ErrNoCanvas)
		wantErr(t, fmt.Sprintf("archive %q", s), d.Archive(ctx, s), ports.ErrNoCanvas)
		_, err = d.RotateInvite(ctx, s)
		wantErr(t, fmt.Sprintf("rotate %q", s), err, ports.ErrNoCanvas)
		wantErr(t, fmt.Sprintf("check creator %q", s), d.CheckCreator(ctx, s, "k"), ports.ErrNoCanvas)
		wantErr(t, fmt.Sprintf("check invite %q", s), d.CheckInvite(ctx, s, "k"), ports.ErrNoCanvas)
		if err := d.Touch(ctx, s, start); err != nil {
			t.Fatalf("touch %q: %v", s, err)
		}
	}
	if got := fmt.Sprint(list(t, d, ports.ListQuery{})); got != "[main-2]" {
		t.Fatalf("listed %s", got)
	}
}

// sameInfo compares entries, times by instant.
func sameInfo(a, b domain.CanvasInfo) bool {
	ta, tb := a, b
	ta.Created, ta.LastActive, tb.Created, tb.LastActive = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return ta == tb && a.Created.Equal(b.Created) && a.LastActive.Equal(b.LastActive)
}

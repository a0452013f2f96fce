package canvasdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/dirlock"

	"github.com/pixelplayground/pixelplayground/domain"
)

// recordVersion is the version of meta.json's format.
const recordVersion = 1

// record is meta.json. Tokens appear only as their SHA-256, in hex.
type record struct {
	Version         int       `json:"version"`
	Slug            string    `json:"slug"`
	Name            string    `json:"name"`
	Width           int       `json:"width"`
	Height          int       `json:"height"`
	Private         bool      `json:"private"`
	PixelsPerSecond float64   `json:"pixelsPerSecond,omitempty"`
	PixelBurst      int       `json:"pixelBurst,omitempty"`
	Created         time.Time `json:"created"`
	LastActive      time.Time `json:"lastActive"`
	Archived        bool      `json:"archived"`
	CreatorSHA256   string    `json:"creatorKeySHA256"`
	InviteSHA256    string    `json:"inviteSHA256,omitempty"`
}

// newRecord is the file for e. Called with Directory.mu held.
func newRecord(e *entry) record {
	c := e.info
	return record{Version: recordVersion, Slug: string(c.Slug), Name: c.Name, Width: c.Size.Width, Height: c.Size.Height,
		Private: c.Private, PixelsPerSecond: c.PixelRate.PerSecond, PixelBurst: c.PixelRate.Burst,
		Created: c.Created, LastActive: c.LastActive, Archived: c.Archived,
		CreatorSHA256: e.creator.String(), InviteSHA256: e.invite.String()}
}

// entry checks a record read from slug's directory.
func (r record) entry(slug domain.Slug) (*entry, error) {
	if r.Version != recordVersion {
		return nil, fmt.Errorf("format version %d, want %d", r.Version, recordVersion)
	}
	if r.Slug != string(slug) {
		return nil, fmt.Errorf("slug %q in the directory of %q", r.Slug, slug)
	}
	if err := checkName(r.Name); err != nil {
		return nil, err
	}
	size, err := domain.NewSize(r.Width, r.Height)
	if err != nil {
		return nil, err
	}
	rate := domain.RateRule{PerSecond: r.PixelsPerSecond, Burst: r.PixelBurst}
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	creator, err := domain.ParseTokenHash(r.CreatorSHA256)
	if err == nil && creator.IsZero() {
		err = errors.New("no creator key")
	}
	if err != nil {
		return nil, fmt.Errorf("creator key: %w", err)
	}
	invite, err := domain.ParseTokenHash(r.InviteSHA256)
	if err != nil {
		return nil, fmt.Errorf("invite: %w", err)
	}
	if r.Created.IsZero() || r.LastActive.IsZero() {
		return nil, errors.New("no creation or activity time")
	}
	info := domain.CanvasInfo{Slug: slug, Name: r.Name, Size: size, Private: r.Private, PixelRate: rate,
		Created: r.Created.UTC(), LastActive: r.LastActive.UTC(), Archived: r.Archived}
	return &entry{ready: true, info: info, creator: creator, invite: invite, savedActive: info.LastActive}, nil
}

// writeRecord replaces dir's meta.json atomically: a temp file written
// and fsynced, renamed over it, and the directory fsynced.
func writeRecord(dir string, r record) (err error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, MetaName)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or a new entry in dir durable.
var syncDir = dirlock.Sync

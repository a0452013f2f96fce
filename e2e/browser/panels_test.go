package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// developerWords are texts only a developer reads: a sequence number, a
// zoom in thousands of percent.
var developerWords = regexp.MustCompile(`\bseq \d+|\d{3,}%`)

// TestPanelsTellTheTruthAboutMe: after drawing alone and without a name,
// the activity panel lists my pixels (not "Nobody has drawn since you
// arrived"), the artists panel does not count me as "1 without a name" as
// if someone else were there, and nothing on screen is in developer words
// ("seq 40", "1500%").
func TestPanelsTellTheTruthAboutMe(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=50", "CANVAS_HEIGHT=50")
	pg := openPage(t, browser, srv.URL("/"), "alone")
	pg.waitState("counted online", 15*time.Second, func(s uiState) bool { return s.ActiveUsers == 1 })

	pg.dragPixels([2]int{5, 5}, [2]int{14, 5})
	pg.waitSettled(15 * time.Second)
	// The panel refreshes a few times a second: give it a moment, then
	// check everything (not stopping at the first complaint).
	var activity string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if activity = mustEval[string](pg, `document.getElementById('activity').innerText`); strings.Contains(activity, "10 pixels") {
			break
		}
	}
	if !strings.Contains(activity, "You") || !strings.Contains(activity, "10 pixels") {
		t.Errorf("the activity panel lists %q, want my 10 pixels as mine", activity)
	}
	if mustEval[bool](pg, `!document.getElementById('activity-empty').hidden`) {
		t.Errorf("the activity panel still says %q after I drew", mustEval[string](pg, `document.getElementById('activity-empty').textContent`))
	}

	extra := mustEval[string](pg, `document.getElementById('artists-extra').textContent`)
	if strings.Contains(extra, "1 without a name") || !strings.Contains(extra, "You") {
		t.Errorf("alone and without a name, the artists panel says %q; want it to say the one online is me", extra)
	}

	// The hover card over a pixel of mine, confirmed: mine, not "Anonymous".
	pg.hover(7, 5)
	pg.waitTrue("the card names who painted (7,5)", 10*time.Second,
		`!document.getElementById('hover-card').hidden && !/Looking up/.test(document.getElementById('hc-who').textContent)`)
	if who := mustEval[string](pg, `document.getElementById('hc-who').textContent`); !strings.Contains(who, "You") || strings.Contains(who, "Anonymous") {
		t.Errorf("the hover card over my own confirmed pixel says %q, want it to say it is mine", who)
	}

	shown := mustEval[string](pg, `document.body.innerText`)
	if found := developerWords.FindAllString(shown, -1); len(found) > 0 {
		t.Errorf("developer words on screen: %q", found)
	}
	pg.screenshot("panels")
}

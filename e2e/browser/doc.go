// Package e2e holds the browser end-to-end tests of the Pixel Playground:
// the real playground binary, started as a process, and the real page in
// headless Chromium driven through chromedp with real mouse and keyboard
// (and touch) input. The tests read the page's state through its test hook
// (window.__pixelPlayground) and what is on screen (texts, element boxes,
// the visible canvas's own pixels, the minimap's and the overlay's data
// attributes, axe-core's verdict), and the server's only through the REST
// API, so they check what a person at the page would see against what the
// server holds.
//
// Without a Chromium on PATH the tests skip; with CI=true they fail instead.
// Each test saves screenshots into t.ArtifactDir(); run with
// `go test -artifacts ./e2e/browser/` to keep them. The feature tests
// (features_test.go) also keep named screenshots of each layout in
// $ARTIFACTS_DIR/screenshots, or e2e/browser/testdata/screenshots.
package e2e

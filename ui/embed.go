// Package ui is the browser client: vanilla ES modules and an HTML5 canvas,
// with no build step. The files under static/ are embedded in every binary
// that serves the page, so a deployment is one file.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:static
var files embed.FS

// FS is the UI's files, rooted at static/ (index.html at the top).
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // static/ is embedded at build time; a missing one cannot build
	}
	return sub
}

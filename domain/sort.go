package domain

import (
	"slices"
	"strings"
)

func sortCursors(cs []Cursor) {
	slices.SortFunc(cs, func(a, b Cursor) int { return strings.Compare(a.ClientID, b.ClientID) })
}

func sortStrings(s []string) { slices.Sort(s) }

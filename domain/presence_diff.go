package domain

// Presence as changes. The merged list of names (PresenceView.Users) is a
// multiset: two connections may use the same name. Sending it whole on every
// change costs every client the whole list, so clients that can (pixel.v2)
// are sent the difference between the list they have and the new one: the
// names that joined and left, with how many connections each.

// NameCount is a name and a number of connections using it.
type NameCount struct {
	Name  string
	Count int
}

// PresenceDiff is the change from one list of names to another, as
// multisets: Joined holds the names with more connections than before (by
// how many more), Left those with fewer (by how many fewer). Both are
// sorted by name, every Count is positive, and a name is in at most one of
// them.
type PresenceDiff struct {
	Joined []NameCount
	Left   []NameCount
}

// Empty reports whether the two lists held the same names.
func (d PresenceDiff) Empty() bool { return len(d.Joined) == 0 && len(d.Left) == 0 }

// DiffNames is the change from before to after. Both must be sorted (as
// MergePresence sorts them); the walk is linear in their lengths and
// allocates only for what changed.
func DiffNames(before, after []string) PresenceDiff {
	var d PresenceDiff
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		var name string
		switch {
		case j == len(after) || (i < len(before) && before[i] < after[j]):
			name = before[i]
		default:
			name = after[j]
		}
		was := 0
		for i < len(before) && before[i] == name {
			was++
			i++
		}
		now := 0
		for j < len(after) && after[j] == name {
			now++
			j++
		}
		switch {
		case now > was:
			d.Joined = append(d.Joined, NameCount{Name: name, Count: now - was})
		case now < was:
			d.Left = append(d.Left, NameCount{Name: name, Count: was - now})
		}
	}
	return d
}

// CountNames groups a sorted list of names: the whole list as the change
// from nobody.
func CountNames(sorted []string) []NameCount {
	return DiffNames(nil, sorted).Joined
}

// ApplyTo applies the change to counts (name -> connections), removing a
// name whose count reaches zero. A name leaving more often than it was
// there is clamped at zero: a client that applies changes to a list it
// does not have yet must not go negative.
func (d PresenceDiff) ApplyTo(counts map[string]int) {
	for _, l := range d.Left {
		if n := counts[l.Name] - l.Count; n > 0 {
			counts[l.Name] = n
		} else {
			delete(counts, l.Name)
		}
	}
	for _, j := range d.Joined {
		counts[j.Name] += j.Count
	}
}

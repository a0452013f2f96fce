package domain

import (
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
)

func TestDiffNames(t *testing.T) {
	nc := func(pairs ...any) []NameCount {
		var out []NameCount
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, NameCount{Name: pairs[i].(string), Count: pairs[i+1].(int)})
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		before, after []string
		joined, left  []NameCount
	}{
		{name: "both empty"},
		{name: "same list", before: []string{"Al", "Bo", "Bo"}, after: []string{"Al", "Bo", "Bo"}},
		{name: "first join", after: []string{"Al"}, joined: nc("Al", 1)},
		{name: "everybody leaves", before: []string{"Al", "Al", "Bo"}, left: nc("Al", 2, "Bo", 1)},
		{name: "a second connection with a name", before: []string{"Al"}, after: []string{"Al", "Al"}, joined: nc("Al", 1)},
		{name: "one of two with a name leaves", before: []string{"Al", "Al", "Bo"}, after: []string{"Al", "Bo"}, left: nc("Al", 1)},
		{name: "rename", before: []string{"Al", "Bo", "Cy"}, after: []string{"Al", "Bz", "Cy"}, joined: nc("Bz", 1), left: nc("Bo", 1)},
		{name: "rename to a name in use", before: []string{"Al", "Bo"}, after: []string{"Bo", "Bo"}, joined: nc("Bo", 1), left: nc("Al", 1)},
		{name: "rename at both ends", before: []string{"Aa", "Mm", "Zz"}, after: []string{"Mm", "Zy", "Zz", "Zzz"}, joined: nc("Zy", 1, "Zzz", 1), left: nc("Aa", 1)},
		{name: "many changes", before: []string{"A", "A", "A", "B", "C", "C"}, after: []string{"A", "B", "B", "B", "D"},
			joined: nc("B", 2, "D", 1), left: nc("A", 2, "C", 2)},
		{name: "names that differ only in case or by a space", before: []string{"Bob"}, after: []string{"Bob ", "bob"}, joined: nc("Bob ", 1, "bob", 1), left: nc("Bob", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := DiffNames(tc.before, tc.after)
			if !reflect.DeepEqual(d.Joined, tc.joined) || !reflect.DeepEqual(d.Left, tc.left) {
				t.Errorf("DiffNames(%q, %q) = joined %v left %v, want joined %v left %v", tc.before, tc.after, d.Joined, d.Left, tc.joined, tc.left)
			}
			if d.Empty() != (len(tc.joined) == 0 && len(tc.left) == 0) {
				t.Errorf("Empty() = %v", d.Empty())
			}
			// Applied to the counts of before, it gives the counts of after.
			counts := counted(tc.before)
			d.ApplyTo(counts)
			if !reflect.DeepEqual(counts, counted(tc.after)) {
				t.Errorf("applied: %v, want %v", counts, counted(tc.after))
			}
		})
	}
}

func counted(names []string) map[string]int {
	m := map[string]int{}
	for _, n := range names {
		m[n]++
	}
	return m
}

func TestCountNames(t *testing.T) {
	got := CountNames([]string{"Al", "Al", "Bo", "Cy", "Cy", "Cy"})
	want := []NameCount{{"Al", 2}, {"Bo", 1}, {"Cy", 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountNames = %v, want %v", got, want)
	}
	if got := CountNames(nil); len(got) != 0 {
		t.Errorf("CountNames(nil) = %v", got)
	}
}

func TestApplyToClampsAtZero(t *testing.T) {
	counts := map[string]int{"Al": 1}
	PresenceDiff{Left: []NameCount{{"Al", 2}, {"Bo", 1}}}.ApplyTo(counts)
	if len(counts) != 0 {
		t.Errorf("counts = %v, want empty", counts)
	}
}

// A chain of diffs keeps a client's counts exact through random joins,
// leaves and renames, and a diff is never larger than what changed.
func TestDiffNamesChainStaysExact(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var conns []string // one name per named connection
	counts := map[string]int{}
	var sent []string
	for step := 0; step < 2000; step++ {
		changes := 1 + r.Intn(3)
		for k := 0; k < changes; k++ {
			name := "u" + strconv.Itoa(r.Intn(40))
			switch op := r.Intn(3); {
			case op == 0 || len(conns) == 0:
				conns = append(conns, name)
			case op == 1:
				i := r.Intn(len(conns))
				conns = append(conns[:i], conns[i+1:]...)
			default:
				conns[r.Intn(len(conns))] = name
			}
		}
		now := slices.Clone(conns)
		sort.Strings(now)
		d := DiffNames(sent, now)
		if len(d.Joined)+len(d.Left) > 2*changes {
			t.Fatalf("step %d: %d changes gave a diff of %d entries", step, changes, len(d.Joined)+len(d.Left))
		}
		d.ApplyTo(counts)
		if !reflect.DeepEqual(counts, counted(now)) {
			t.Fatalf("step %d: counts %v, want %v", step, counts, counted(now))
		}
		sent = now
	}
}

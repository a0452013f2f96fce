package main

import "sync"

// tallyCap is how many distinct keys a tally keeps before it counts new
// ones as "other".
const tallyCap = 32

// tally counts occurrences by key (error codes, dial failures, close
// codes), folding new keys into "other" once there are many, so a stream of
// distinct error texts cannot grow it unbounded. Its zero value is empty
// and ready; it is safe for concurrent use, as reader goroutines of many
// connections add to it.
type tally struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (t *tally) add(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]uint64{}
	}
	if _, ok := t.m[key]; !ok && len(t.m) >= tallyCap {
		key = "other"
	}
	t.m[key]++
}

// total is the sum over every key.
func (t *tally) total() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n uint64
	for _, c := range t.m {
		n += c
	}
	return n
}

// counts is a copy of the counts, never nil, so an empty tally reports as
// {} rather than null.
func (t *tally) counts() map[string]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]uint64, len(t.m))
	for k, c := range t.m {
		out[k] = c
	}
	return out
}

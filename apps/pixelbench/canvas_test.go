package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// A fake REST API: it knows the canvases in known, and creates others with
// the slug taken (so the answer's slug differs from the name).
func fakeCanvasAPI(t *testing.T, known map[string]bool) (*httptest.Server, *[]map[string]any) {
	var mu sync.Mutex
	var posts []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && known[r.URL.Path[len("/api/canvases/"):]]:
			_ = json.NewEncoder(w).Encode(map[string]any{"slug": r.URL.Path[len("/api/canvases/"):], "width": 16, "height": 16})
		case r.Method == http.MethodGet:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"Canvas not found"}`))
		case r.Method == http.MethodPost && r.URL.Path == "/api/canvases":
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("POST body: %v", err)
			}
			posts = append(posts, body)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"slug": body["name"].(string) + "-2", "width": body["width"], "height": body["height"]})
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &posts
}

func TestEnsureCanvasFindsOrCreates(t *testing.T) {
	srv, posts := fakeCanvasAPI(t, map[string]bool{"there": true})
	slug, created, err := ensureCanvas(context.Background(), srv.URL, "there", 32, 8)
	if err != nil || slug != "there" || created {
		t.Fatalf("existing canvas: %q %v %v", slug, created, err)
	}
	slug, created, err = ensureCanvas(context.Background(), srv.URL, "bench", 32, 8)
	if err != nil || slug != "bench-2" || !created {
		t.Fatalf("new canvas: %q %v %v", slug, created, err)
	}
	if len(*posts) != 1 || (*posts)[0]["name"] != "bench" || (*posts)[0]["width"] != 32.0 || (*posts)[0]["height"] != 8.0 {
		t.Fatalf("created with %v", *posts)
	}
	if _, _, err := ensureCanvas(context.Background(), srv.URL+"/nothing-here", "x", 1, 1); err == nil {
		t.Fatal("an API answering 418 was accepted")
	}
}

func TestCanvasURLs(t *testing.T) {
	got, err := withCanvas([]string{"ws://a:1/ws", "ws://b:2/ws?since=3"}, "night-sky")
	if err != nil || !slices.Equal(got, []string{"ws://a:1/ws?canvas=night-sky", "ws://b:2/ws?canvas=night-sky&since=3"}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, tc := range []struct{ api, url, want string }{
		{"", "ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"},
		{"", "wss://pixel.example/ws", "https://pixel.example"},
		{"http://api:3001/", "ws://gw:3002/ws", "http://api:3001"},
	} {
		if got, err := canvasAPI(tc.api, []string{tc.url}); err != nil || got != tc.want {
			t.Errorf("canvasAPI(%q, %q) = %q %v, want %q", tc.api, tc.url, got, err, tc.want)
		}
	}
	if _, err := parseFlags([]string{"-baseline", "-canvas", "x"}, &bytes.Buffer{}); err == nil {
		t.Error("-canvas with -baseline accepted")
	}
}

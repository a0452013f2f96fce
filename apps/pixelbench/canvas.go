package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file is -canvas: the bench loads one named canvas (the per-canvas
// design: /ws?canvas=slug), which it first looks up through the REST API
// and creates if it does not exist, sized -width × -height.

// canvasAPI is the REST base for -canvas: -api, else the first -url's
// host over http(s).
func canvasAPI(api string, urls []string) (string, error) {
	if api != "" {
		return strings.TrimSuffix(api, "/"), nil
	}
	u, err := url.Parse(urls[0])
	if err != nil {
		return "", fmt.Errorf("-url %q: %w", urls[0], err)
	}
	scheme := "http"
	if u.Scheme == "wss" {
		scheme = "https"
	}
	return scheme + "://" + u.Host, nil
}

// ensureCanvas returns the slug of canvas name: the canvas if the API
// knows it, else a new public one created with that name and size (its
// slug is derived from the name, so it may differ: night-sky-2).
func ensureCanvas(ctx context.Context, api, name string, width, height int) (slug string, created bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var got struct {
		Slug   string `json:"slug"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
	}
	status, err := callJSON(ctx, http.MethodGet, api+"/api/canvases/"+url.PathEscape(name), nil, &got)
	if err != nil {
		return "", false, err
	}
	if status == http.StatusOK {
		return got.Slug, false, nil
	}
	if status != http.StatusNotFound {
		return "", false, fmt.Errorf("GET %s/api/canvases/%s: HTTP %d", api, name, status)
	}
	body := map[string]any{"name": name, "width": width, "height": height}
	status, err = callJSON(ctx, http.MethodPost, api+"/api/canvases", body, &got)
	if err != nil {
		return "", false, err
	}
	if status != http.StatusCreated || got.Slug == "" {
		return "", false, fmt.Errorf("POST %s/api/canvases: HTTP %d", api, status)
	}
	return got.Slug, true, nil
}

// callJSON sends body (if any) as JSON and decodes a 2xx answer into out.
func callJSON(ctx context.Context, method, u string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, u, err)
		}
	}
	return resp.StatusCode, nil
}

// withCanvas adds canvas=slug to every WebSocket URL.
func withCanvas(urls []string, slug string) ([]string, error) {
	out := make([]string, len(urls))
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("-url %q: %w", raw, err)
		}
		q := u.Query()
		q.Set("canvas", slug)
		u.RawQuery = q.Encode()
		out[i] = u.String()
	}
	return out, nil
}

package testbin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// CallJSON makes one HTTP request to a process under test (headers as
// name, value pairs) and returns the status and the JSON object answered;
// an answer that is not a JSON object fails the test, since every answer
// of our apps' APIs is one.
func CallJSON(t testing.TB, method, url, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %s: not JSON: %.200q", method, url, resp.Status, b)
	}
	return resp.StatusCode, m
}

// ExpectJSON is CallJSON that fails the test unless the status is want.
func ExpectJSON(t testing.TB, want int, method, url, body string, headers ...string) map[string]any {
	t.Helper()
	code, m := CallJSON(t, method, url, body, headers...)
	if code != want {
		t.Fatalf("%s %s: %d %v, want %d", method, url, code, m, want)
	}
	return m
}

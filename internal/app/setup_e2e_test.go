package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
)

// runLogged runs the app on dir with auth on and its log in a buffer.
func runLogged(t *testing.T, dir string) (*App, *syncBuffer, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = dir, "127.0.0.1:0", ""
	cfg.Store.DuckDB.MemoryLimit = "256MB"
	cfg.Auth = config.Auth{Enabled: true, AdminToken: "admin-token-canary-0123456789", SessionTTL: config.Duration(time.Hour)}
	log := &syncBuffer{}
	a, stop := runAppLogged(t, cfg, log)
	return a, log, stop
}

var setupURL = regexp.MustCompile(`setup_url=(\S+)`)

// TestSetupLinkAtStartup: with auth on and nobody's account, genscope
// logs a one-time setup link to its own address; the link's token creates
// the first administrator, who is then signed in; a restart with a user
// prints no link.
func TestSetupLinkAtStartup(t *testing.T) {
	dir := t.TempDir()
	a, log, stop := runLogged(t, dir)
	base := "http://" + a.HTTPAddr()
	var link string
	for deadline := time.Now().Add(5 * time.Second); link == ""; time.Sleep(20 * time.Millisecond) {
		if m := setupURL.FindStringSubmatch(log.String()); m != nil {
			link = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no setup link in the log:\n%s", log.String())
		}
	}
	page, tok, ok := strings.Cut(link, "#")
	if !ok || page != base+"/setup" || !strings.HasPrefix(tok, "gss_") {
		t.Fatalf("setup link %q, want %s/setup#gss_…", link, base)
	}
	// The link opens the dashboard's setup page.
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<html") {
		t.Fatalf("GET %s: %s", page, resp.Status)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post := func(body map[string]string) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := c.Post(base+"/api/v1/setup", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := post(map[string]string{"token": tok, "name": "owner", "password": "short"}); code != 400 {
		t.Fatalf("a short password: %d %v", code, out)
	}
	if code, out := post(map[string]string{"token": tok, "name": "owner", "password": "owner-pass-5521"}); code != 200 || out["user"] != "owner" || out["admin"] != true {
		t.Fatalf("setup: %d %v", code, out)
	}
	// Signed in: the session reads what an administrator may.
	resp, err = c.Get(base + "/api/v1/users")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"owner"`) {
		t.Fatalf("users after setup: %s %s", resp.Status, body)
	}
	if code, _ := post(map[string]string{"token": tok, "name": "other", "password": "other-pass-5521"}); code != http.StatusGone {
		t.Fatalf("the link used again: %d", code)
	}
	if strings.Contains(log.String(), "owner-pass") {
		t.Error("the log holds the password")
	}
	stop()
	// Restarted with a user: no link.
	_, log2, _ := runLogged(t, dir)
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(log2.String(), "setup_url") {
		t.Errorf("a setup link with a user already:\n%s", log2.String())
	}
}

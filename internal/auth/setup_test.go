package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// TestSetupLink: the one-time setup token creates the first administrator
// and signs them in; a wrong token, a bad name or password, a second use
// and a genscope that has users are refused, each with its own status,
// and bad input does not use the token up.
func TestSetupLink(t *testing.T) {
	s, h := newHandler(t)
	tok := s.SetupToken()
	if !wellFormed(tok, setupPrefix) {
		t.Fatalf("setup token %q", tok)
	}
	if u := SetupURL("http://127.0.0.1:4318", tok); u != "http://127.0.0.1:4318/setup#"+tok {
		t.Errorf("setup URL %q", u)
	}
	anon := &client{t: t, h: h}
	f := func(body map[string]any, want int, says string) {
		t.Helper()
		code, _, out := anon.do("POST", "/api/v1/setup", body)
		if code != want || !strings.Contains(out, says) {
			t.Errorf("setup %v: %d %s, want %d saying %q", body["name"], code, out, want, says)
		}
		if strings.Contains(out, tok) || strings.Contains(out, "pass-canary") {
			t.Errorf("the answer repeats a secret: %s", out)
		}
	}
	f(map[string]any{"token": "gss_" + strings.Repeat("A", 43), "name": "owner", "password": "pass-canary-1"}, 401, "not this genscope's setup link")
	f(map[string]any{"token": adminToken, "name": "owner", "password": "pass-canary-1"}, 401, "setup link")
	f(map[string]any{"token": tok, "name": "bad name!", "password": "pass-canary-1"}, 400, "name")
	f(map[string]any{"token": tok, "name": "owner", "password": "short"}, 400, "password")
	f(map[string]any{"token": tok, "name": "owner", "password": "pass-canary-1", "admin": false}, 400, "unknown field")
	if len(s.Users()) != 0 {
		t.Fatalf("bad input created users: %+v", s.Users())
	}
	// The token still works after the bad attempts: the administrator is
	// created and signed in (a session cookie and a CSRF token).
	code, me, out := anon.do("POST", "/api/v1/setup", map[string]any{"token": tok, "name": "owner", "password": "pass-canary-1"})
	if code != 200 || me["user"] != "owner" || me["admin"] != true || me["csrf_token"] == "" {
		t.Fatalf("setup: %d %s", code, out)
	}
	if code, me, _ := anon.do("GET", "/api/v1/me", nil); code != 200 || me["user"] != "owner" {
		t.Fatalf("me after setup: %d %v", code, me)
	}
	if us := s.Users(); len(us) != 1 || !us[0].Admin {
		t.Fatalf("users after setup: %+v", us)
	}
	// Used up.
	f(map[string]any{"token": tok, "name": "second", "password": "pass-canary-2"}, 410, "used up")
	if s.SetupToken() != "" {
		t.Error("a setup token was issued on a genscope with users")
	}
}

// TestSetupLinkAfterUsers: a user created another way (the admin token)
// uses the link up; a new token replaces the old; concurrent attempts
// create one administrator.
func TestSetupLinkAfterUsers(t *testing.T) {
	ctx := context.Background()
	s := newService(t, &MemStore{})
	old := s.SetupToken()
	tok := s.SetupToken()
	if _, err := s.Setup(ctx, old, "owner", "pass-canary-1"); err != ErrUnauthorized {
		t.Errorf("a replaced token: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Setup(ctx, tok, "owner"+string(rune('a'+i)), "pass-canary-1") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch err {
		case nil:
			ok++
		case ErrSetupDone:
		default:
			t.Errorf("concurrent setup: %v", err)
		}
	}
	if ok != 1 || len(s.Users()) != 1 {
		t.Errorf("%d setups succeeded, %d users", ok, len(s.Users()))
	}

	s2 := newService(t, &MemStore{})
	tok2 := s2.SetupToken()
	if _, err := s2.CreateUser(ctx, "ann", "pass-canary-3", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Setup(ctx, tok2, "owner", "pass-canary-1"); err != ErrSetupDone {
		t.Errorf("setup after a user was created: %v", err)
	}
}

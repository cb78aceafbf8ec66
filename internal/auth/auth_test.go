package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/tenancy"
	"golang.org/x/crypto/bcrypt"

	"github.com/genscope/genscope/internal/store"
)

const adminToken = "admin-token-canary-0123456789"

func newService(t *testing.T, st store.DocStore) *Service {
	t.Helper()
	s, err := New(context.Background(), st, Options{AdminToken: adminToken, BcryptCost: bcrypt.MinCost,
		Projects: newRegistry(t, st)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newRegistry is the projects of a service on st, with a config project
// "cfg".
func newRegistry(t *testing.T, st tenancy.Docs) *tenancy.Registry {
	t.Helper()
	reg, err := tenancy.NewRegistry(context.Background(), st, []tenancy.Project{{Name: "cfg", Capture: privacy.Metadata}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	st := &MemStore{}
	s := newService(t, st)
	if _, err := s.projects.Create(ctx, tenancy.Project{Name: "team-a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.projects.Create(ctx, tenancy.Project{Name: "team-a"}); err == nil {
		t.Fatal("created twice")
	}
	if _, err := s.projects.Create(ctx, tenancy.Project{Name: "Bad Name"}); err == nil {
		t.Fatal("bad name accepted")
	}
	info, key, err := s.CreateKey(ctx, Key{Project: "team-a", Scope: ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	if !wellFormed(key, KeyPrefix) || !strings.HasPrefix(info.Prefix, key[:8]) {
		t.Fatalf("key %q info %+v", key, info)
	}
	if p, err := s.KeyProject(key, ScopeIngest); err != nil || p != "team-a" {
		t.Fatalf("KeyProject = %q, %v", p, err)
	}
	if _, err := s.KeyProject(key, ScopeRead); err == nil {
		t.Fatal("an ingest key read")
	}
	if _, err := s.KeyProject(key[:len(key)-1]+"x", ScopeIngest); err == nil {
		t.Fatal("a changed key worked")
	}
	_, ikey, err := s.CreateKey(ctx, Key{Project: "team-a", Scope: ScopeAppInsights})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.IKeyProject(strings.ToUpper(ikey)); err != nil || p != "team-a" {
		t.Fatalf("IKeyProject = %q, %v", p, err)
	}
	// Nothing stored holds a key.
	for _, kind := range []string{kindKey, "auth.project"} {
		_ = st.ListDocs(ctx, kind, func(id string, doc []byte) error {
			if bytes.Contains(doc, []byte(key)) || bytes.Contains(doc, []byte(ikey)) || strings.Contains(id, key) {
				t.Errorf("stored %s %s holds a key: %s", kind, id, doc)
			}
			return nil
		})
	}
	// A restart keeps them.
	s2 := newService(t, st)
	if p, err := s2.KeyProject(key, ScopeIngest); err != nil || p != "team-a" {
		t.Fatalf("after reload: %q, %v", p, err)
	}
	if err := s2.RevokeKey(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.KeyProject(key, ScopeIngest); err == nil {
		t.Fatal("revoked key works")
	}
	if s3 := newService(t, st); len(s3.Keys("team-a", "")) != 1 {
		t.Fatal("revocation not stored")
	}
	if _, ok := s2.projects.Project("cfg"); !ok {
		t.Fatal("config project missing")
	}
	if _, err := s2.projects.Update(ctx, tenancy.Project{Name: "cfg"}); err == nil {
		t.Fatal("config project updated")
	}
}

func TestPrincipals(t *testing.T) {
	ctx := context.Background()
	s := newService(t, &MemStore{})
	for _, n := range []string{"a", "b"} {
		if _, err := s.projects.Create(ctx, tenancy.Project{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	_, readA, _ := s.CreateKey(ctx, Key{Project: "a", Scope: ScopeRead})
	_, readAC, _ := s.CreateKey(ctx, Key{Project: "a", Scope: ScopeRead, Content: true})
	_, ingestA, _ := s.CreateKey(ctx, Key{Project: "a", Scope: ScopeIngest, Content: true})
	if _, err := s.CreateUser(ctx, "vic", "password-canary-1", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGrant(ctx, "vic", "b", Grant{Role: RoleViewer}); err != nil {
		t.Fatal(err)
	}
	_, userTok, err := s.CreateKey(ctx, Key{User: "vic", Scope: ScopeUser})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(tok, project string) (*Principal, string, error) {
		r := httptest.NewRequest("GET", "/api/v1/overview?project="+project, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		p, err := s.Authenticate(r)
		if err != nil {
			return nil, "", err
		}
		pr, err := s.ReadProject(r, p)
		return p, pr, err
	}
	f := func(tok, project, want string, content bool) {
		t.Helper()
		p, got, err := auth(tok, project)
		switch {
		case want == "" && err == nil:
			t.Errorf("%q: read %q, want refused", project, got)
		case want != "" && (err != nil || got != want):
			t.Errorf("%q: %q, %v; want %q", project, got, err, want)
		case want != "" && p.CanSeeContent(got) != content:
			t.Errorf("%q: content %v, want %v", project, !content, content)
		}
	}
	f(readA, "", "a", false)
	f(readA, "a", "a", false)
	f(readA, "b", "", false)
	f(readAC, "", "a", true)
	f(ingestA, "", "", false)
	f(ingestA, "a", "", false)
	f(adminToken, "", "default", true)
	f(adminToken, "b", "b", true)
	f(userTok, "", "b", false)
	f(userTok, "a", "", false)
	if err := s.SetGrant(ctx, "vic", "b", Grant{Role: RoleViewer, Content: true}); err != nil {
		t.Fatal(err)
	}
	f(userTok, "b", "b", true)
	if _, _, err := auth("gsk_"+strings.Repeat("A", 43), ""); err == nil {
		t.Error("unknown key accepted")
	}
	if _, _, err := auth(adminToken+"x", ""); err == nil {
		t.Error("wrong admin token accepted")
	}
}

// client drives the handler like a browser: it keeps cookies.
type client struct {
	t       *testing.T
	h       http.Handler
	cookies []*http.Cookie
	csrf    string
	bearer  string
	origin  string
}

func (c *client) do(method, path string, body any) (int, map[string]any, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	r := httptest.NewRequest(method, path, rd)
	for _, ck := range c.cookies {
		r.AddCookie(ck)
	}
	if c.csrf != "" {
		r.Header.Set(CSRFHeader, c.csrf)
	}
	if c.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.origin != "" {
		r.Header.Set("Origin", c.origin)
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge < 0 {
			continue
		}
		c.cookies = append(c.cookies, ck)
	}
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out, w.Body.String()
}

func newHandler(t *testing.T) (*Service, http.Handler) {
	s := newService(t, &MemStore{})
	h := NewHandler(s, HandlerOptions{})
	mux := http.NewServeMux()
	h.Register(mux)
	mux.HandleFunc("POST /api/v1/change", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /api/v1/read", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return s, h.Middleware(mux)
}

func TestLoginSessionCSRF(t *testing.T) {
	_, h := newHandler(t)
	admin := &client{t: t, h: h, bearer: adminToken}
	if code, _, body := admin.do("POST", "/api/v1/projects", map[string]any{"name": "team-a"}); code != 201 {
		t.Fatalf("create project: %d %s", code, body)
	}
	if code, _, body := admin.do("POST", "/api/v1/users", map[string]any{"name": "ann", "password": "password-canary-2",
		"grants": map[string]any{"team-a": map[string]any{"role": "admin", "content": true}}}); code != 201 {
		t.Fatalf("create user: %d %s", code, body)
	}
	anon := &client{t: t, h: h}
	if code, _, _ := anon.do("GET", "/api/v1/me", nil); code != 401 {
		t.Fatalf("me without login: %d", code)
	}
	code, _, body := anon.do("POST", "/api/v1/login", map[string]any{"username": "ann", "password": "wrong-password"})
	if code != 401 || strings.Contains(body, "wrong-password") {
		t.Fatalf("bad login: %d %s", code, body)
	}
	if code, _, _ := anon.do("POST", "/api/v1/login", map[string]any{"username": "nobody", "password": "wrong-password"}); code != 401 {
		t.Fatalf("unknown user: %d", code)
	}
	ann := &client{t: t, h: h}
	code, me, body := ann.do("POST", "/api/v1/login", map[string]any{"username": "ann", "password": "password-canary-2"})
	if code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	var sess *http.Cookie
	for _, ck := range ann.cookies {
		if ck.Name == SessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", sess)
	}
	csrf, _ := me["csrf_token"].(string)
	if csrf == "" || strings.Contains(body, sess.Value) {
		t.Fatalf("login body %s", body)
	}
	if code, me, _ := ann.do("GET", "/api/v1/me", nil); code != 200 || me["user"] != "ann" {
		t.Fatalf("me: %d %v", code, me)
	}
	// State changes need the CSRF token.
	if code, _, _ := ann.do("POST", "/api/v1/change", nil); code != 403 {
		t.Fatalf("change without CSRF token: %d", code)
	}
	ann.csrf = "wrong"
	if code, _, _ := ann.do("POST", "/api/v1/change", nil); code != 403 {
		t.Fatalf("change with a wrong CSRF token: %d", code)
	}
	ann.csrf = csrf
	if code, _, _ := ann.do("POST", "/api/v1/change", nil); code != 204 {
		t.Fatalf("change with the CSRF token: %d", code)
	}
	ann.origin = "https://evil.example"
	if code, _, _ := ann.do("POST", "/api/v1/change", nil); code != 403 {
		t.Fatalf("cross-origin change: %d", code)
	}
	ann.origin = "http://example.com" // httptest's host
	if code, _, _ := ann.do("POST", "/api/v1/change", nil); code != 204 {
		t.Fatalf("same-origin change: %d", code)
	}
	// A project admin makes keys for their project only.
	code, k, body := ann.do("POST", "/api/v1/projects/team-a/keys", map[string]any{"scope": "read"})
	if code != 201 || !strings.HasPrefix(k["key"].(string), KeyPrefix) {
		t.Fatalf("create key: %d %s", code, body)
	}
	if code, _, _ := ann.do("POST", "/api/v1/projects/default/keys", map[string]any{"scope": "read"}); code != 403 {
		t.Fatalf("key for another project: %d", code)
	}
	code, _, body = ann.do("GET", "/api/v1/projects/team-a/keys", nil)
	if code != 200 || strings.Contains(body, k["key"].(string)) || strings.Contains(body, "hash") {
		t.Fatalf("list keys: %d %s", code, body)
	}
	if code, _, body := admin.do("POST", "/api/v1/users", map[string]any{"name": "pat", "password": "password-canary-3",
		"grants": map[string]any{"team-a": map[string]any{"role": "admin"}}}); code != 201 {
		t.Fatalf("create user: %d %s", code, body)
	}
	pat := &client{t: t, h: h}
	_, pme, _ := pat.do("POST", "/api/v1/login", map[string]any{"username": "pat", "password": "password-canary-3"})
	pat.csrf, _ = pme["csrf_token"].(string)
	if code, _, _ := pat.do("POST", "/api/v1/projects/team-a/keys", map[string]any{"scope": "read", "content": true}); code != 403 {
		t.Fatalf("an admin without content made a key with content: %d", code)
	}
	if code, _, _ := pat.do("PUT", "/api/v1/projects/team-a/members/pat", map[string]any{"role": "admin", "content": true}); code != 403 {
		t.Fatalf("an admin without content granted it: %d", code)
	}
	if code, _, _ := ann.do("PUT", "/api/v1/projects/team-a/members/pat", map[string]any{"role": "viewer", "content": true}); code != 200 {
		t.Fatalf("an admin with content grants it: %d", code)
	}
	if code, _, _ := ann.do("POST", "/api/v1/projects", map[string]any{"name": "mine"}); code != 403 {
		t.Fatalf("non-admin created a project: %d", code)
	}
	// Logout needs the token and ends the session.
	ann.csrf = ""
	if code, _, _ := ann.do("POST", "/api/v1/logout", nil); code != 403 {
		t.Fatalf("logout without CSRF token: %d", code)
	}
	ann.csrf = csrf
	if code, _, _ := ann.do("POST", "/api/v1/logout", nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	stale := &client{t: t, h: h, cookies: []*http.Cookie{sess}}
	if code, _, _ := stale.do("GET", "/api/v1/me", nil); code != 401 {
		t.Fatalf("session after logout: %d", code)
	}
	// A key used on the API is not a login.
	rd := &client{t: t, h: h, bearer: k["key"].(string)}
	if code, _, _ := rd.do("GET", "/api/v1/read", nil); code != 204 {
		t.Fatalf("read key: %d", code)
	}
	if code, _, _ := rd.do("POST", "/api/v1/projects/team-a/keys", map[string]any{"scope": "read"}); code != 403 {
		t.Fatalf("read key made a key: %d", code)
	}
}

func TestSessionExpiry(t *testing.T) {
	now := time.Now()
	s, err := New(context.Background(), &MemStore{}, Options{BcryptCost: bcrypt.MinCost, SessionTTL: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), "u", "password-123", false); err != nil {
		t.Fatal(err)
	}
	sid, _, err := s.Login(context.Background(), "u", "password-123", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.sessionUser(sid); !ok {
		t.Fatal("fresh session refused")
	}
	now = now.Add(2 * time.Hour)
	if _, ok := s.sessionUser(sid); ok {
		t.Fatal("expired session accepted")
	}
	s.ExpireSessions(context.Background())
	if len(s.sessions) != 0 {
		t.Fatal("expired session kept")
	}
}

func FuzzToken(f *testing.F) {
	for _, s := range []string{"", "Bearer gsk_" + strings.Repeat("a", 43), "bearer  x", "gsk_", "gsu_" + strings.Repeat("-", 43), "Basic abc", "Bearer \x00"} {
		f.Add(s)
	}
	s, err := New(context.Background(), &MemStore{}, Options{AdminToken: adminToken, BcryptCost: bcrypt.MinCost})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Authorization", v)
		tok := BearerToken(h)
		if wellFormed(tok, KeyPrefix) && len(tok) != len(KeyPrefix)+tokenLen {
			t.Fatalf("wellFormed(%q)", tok)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header = h
		if p, err := s.Authenticate(r); err == nil && !p.Admin {
			t.Fatalf("%q authenticated as %+v", v, p)
		}
		_, _ = s.IKeyProject(v)
		_ = display(v)
	})
}

func TestLoginThrottle(t *testing.T) {
	now := time.Now()
	s, err := New(context.Background(), &MemStore{}, Options{BcryptCost: bcrypt.MinCost, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), "u", "password-123", false); err != nil {
		t.Fatal(err)
	}
	for range maxFailures {
		if _, _, err := s.Login(context.Background(), "u", "wrong-password", ""); err != ErrUnauthorized {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Login(context.Background(), "u", "password-123", ""); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after %d failures: %v", maxFailures, err)
	}
	now = now.Add(failureWindow)
	if _, _, err := s.Login(context.Background(), "u", "password-123", ""); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// failingDeletes is a MemStore whose deletes of one kind fail while
// failKind is set.
type failingDeletes struct {
	MemStore
	failKind string
}

func (f *failingDeletes) DeleteDoc(ctx context.Context, kind, id string) error {
	if kind == f.failKind {
		return errors.New("store is down")
	}
	return f.MemStore.DeleteDoc(ctx, kind, id)
}

// TestDeleteUserStoreFails: when the store cannot delete a user's token
// or session, DeleteUser says so and keeps the user; neither credential
// ever authenticates a later user of the same name, also after a
// restart (which reads what the store kept).
func TestDeleteUserStoreFails(t *testing.T) {
	for _, kind := range []string{kindKey, kindSession} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			st := &failingDeletes{}
			s := newService(t, st)
			if _, err := s.CreateUser(ctx, "bob", "password-canary-1", true); err != nil {
				t.Fatal(err)
			}
			_, tok, err := s.CreateKey(ctx, Key{User: "bob", Scope: ScopeUser})
			if err != nil {
				t.Fatal(err)
			}
			sid, _, err := s.Login(ctx, "bob", "password-canary-1", "")
			if err != nil {
				t.Fatal(err)
			}
			st.failKind = kind
			if err := s.DeleteUser(ctx, "bob"); err == nil {
				t.Fatal("DeleteUser reported success while the store could not delete a credential")
			}
			st.failKind = ""
			// A restart: the user is still there (the delete failed), so
			// no later bob exists to inherit anything.
			s2 := newService(t, st)
			if _, err := s2.CreateUser(ctx, "bob", "password-canary-2", false); !errors.Is(err, ErrExists) {
				t.Fatalf("a new bob after a failed delete: %v", err)
			}
			// Deleting again, with the store back, removes everything.
			if err := s2.DeleteUser(ctx, "bob"); err != nil {
				t.Fatal(err)
			}
			s3 := newService(t, st)
			if _, err := s3.CreateUser(ctx, "bob", "password-canary-2", false); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/api/v1/me", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			if p, err := s3.Authenticate(r); err == nil {
				t.Fatalf("the deleted bob's token authenticated the new bob: %+v", p)
			}
			r = httptest.NewRequest("GET", "/api/v1/me", nil)
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: sid})
			if p, err := s3.Authenticate(r); err == nil {
				t.Fatalf("the deleted bob's session authenticated the new bob: %+v", p)
			}
		})
	}
}

package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/genscope/genscope/internal/tenancy"
)

// Principal is who made a request and what they may do.
type Principal struct {
	// Admin is the admin token or an admin user: every project, every
	// permission.
	Admin bool
	// User is the user (by session or user token), "" for keys.
	User string
	// KeyID is the key or token the request carried, "" for sessions and
	// the admin token.
	KeyID string
	// Scope and Project are a project key's.
	Scope   Scope
	Project string
	// Cookie is set when the session cookie authenticated the request
	// (then state-changing requests need the CSRF token).
	Cookie bool
	// CSRFToken is the session's CSRF token (cookie sessions only).
	CSRFToken string

	content bool // a read key's content permission
	grants  map[string]Grant
}

// CanRead reports whether p may read the project's telemetry.
func (p *Principal) CanRead(project string) bool {
	switch {
	case p == nil:
		return false
	case p.Admin:
		return true
	case p.User != "":
		_, ok := p.grants[project]
		return ok
	}
	return p.Scope == ScopeRead && p.Project == project
}

// CanScrapeMetrics reports whether p may read /metrics, which covers
// every project: the admin token, an admin user, or a metrics key.
func (p *Principal) CanScrapeMetrics() bool {
	return p != nil && (p.Admin || p.Scope == ScopeMetrics)
}

// CanSeeContent reports whether p may see the project's message content
// (system instructions, inputs, outputs).
func (p *Principal) CanSeeContent(project string) bool {
	switch {
	case !p.CanRead(project):
		return false
	case p.Admin:
		return true
	case p.User != "":
		return p.grants[project].Content
	}
	return p.content
}

// HasRole reports whether p has at least the role in the project.
func (p *Principal) HasRole(project string, r Role) bool {
	switch {
	case p == nil:
		return false
	case p.Admin:
		return true
	case p.User != "":
		g, ok := p.grants[project]
		return ok && g.Role.rank() >= r.rank()
	}
	return false
}

// Readable returns the projects p may read, by name, out of all.
func (p *Principal) Readable(all []tenancy.Project) []string {
	var out []string
	for _, pr := range all {
		if p.CanRead(pr.Name) {
			out = append(out, pr.Name)
		}
	}
	sort.Strings(out)
	return out
}

// ReadProject resolves the project a read request is about: the one the
// "project" query parameter names (ErrForbidden when p may not read it),
// else the key's project, else the default project when p may read it,
// else the first p may read.
func (s *Service) ReadProject(r *http.Request, p *Principal) (string, error) {
	if p == nil {
		return "", ErrUnauthorized
	}
	want := r.URL.Query().Get("project")
	switch {
	case want != "":
	case p.Project != "":
		want = p.Project
	case p.CanRead(tenancy.DefaultProject):
		want = tenancy.DefaultProject
	default:
		if names := p.Readable(s.projects.Projects()); len(names) > 0 {
			want = names[0]
		}
	}
	if want == "" || !p.CanRead(want) {
		return "", ErrForbidden
	}
	return want, nil
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the request's principal, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// Cookie names.
const (
	SessionCookie = "genscope_session"
	CSRFCookie    = "genscope_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// csrfToken derives a session's CSRF token from its secret: whoever
// cannot read the session cookie cannot compute it.
func csrfToken(sid string) string {
	h := sha256.Sum256([]byte("genscope csrf\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Authenticate returns the principal of a request: the admin token, a
// key or user token as a bearer token (or x-genscope-key), or the
// session cookie. It returns ErrUnauthorized when none is valid.
func (s *Service) Authenticate(r *http.Request) (*Principal, error) {
	if tok := BearerToken(r.Header); tok != "" {
		return s.authToken(tok)
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		u, ok := s.sessionUser(c.Value)
		if !ok {
			return nil, ErrUnauthorized
		}
		p := s.userPrincipal(u)
		p.Cookie, p.CSRFToken = true, csrfToken(c.Value)
		return p, nil
	}
	return nil, ErrUnauthorized
}

func (s *Service) authToken(tok string) (*Principal, error) {
	if s.opts.AdminToken != "" && equal(tok, s.opts.AdminToken) {
		return &Principal{Admin: true}, nil
	}
	var prefix string
	switch {
	case strings.HasPrefix(tok, KeyPrefix):
		prefix = KeyPrefix
	case strings.HasPrefix(tok, UserTokenPrefix):
		prefix = UserTokenPrefix
	default:
		return nil, ErrUnauthorized
	}
	if !wellFormed(tok, prefix) {
		return nil, ErrUnauthorized
	}
	k, ok := s.lookupKey(tok)
	if !ok {
		return nil, ErrUnauthorized
	}
	if k.Scope == ScopeUser {
		u, ok := s.user(k.User)
		if !ok {
			return nil, ErrUnauthorized
		}
		p := s.userPrincipal(u)
		p.KeyID = k.ID
		return p, nil
	}
	return &Principal{KeyID: k.ID, Scope: k.Scope, Project: k.Project, content: k.Content}, nil
}

func (s *Service) userPrincipal(u User) *Principal {
	return &Principal{Admin: u.Admin, User: u.Name, grants: u.Grants}
}

// CheckCSRF refuses (with ErrForbidden) a state-changing request
// authenticated by the session cookie that lacks the session's CSRF token
// in the X-CSRF-Token header, or whose Origin is another host.
func CheckCSRF(r *http.Request, p *Principal) error {
	if p == nil || !p.Cookie {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return ErrForbidden
		}
	}
	if got := r.Header.Get(CSRFHeader); got == "" || !equal(got, p.CSRFToken) {
		return ErrForbidden
	}
	return nil
}

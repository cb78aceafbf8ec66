package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/tenancy"
	"github.com/genscope/genscope/internal/timeutil"
)

// HandlerOptions configure the HTTP endpoints.
type HandlerOptions struct {
	// Secure sets the Secure attribute on cookies (serving over TLS).
	Secure bool
	// Usage, when set, adds storage figures to GET /api/v1/projects.
	Usage func(ctx context.Context) map[string]any
	Log   *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client a login is throttled by; none: the connection's address.
	TrustedProxies []netip.Prefix
}

// Handler serves login, projects, keys, users and tokens, and guards the
// API (Middleware).
type Handler struct {
	s    *Service
	opts HandlerOptions
}

// NewHandler returns the endpoints over s.
func NewHandler(s *Service, opts HandlerOptions) *Handler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{s: s, opts: opts}
}

// Register adds the endpoints to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/login", h.login)
	mux.HandleFunc("POST /api/v1/logout", h.logout)
	mux.HandleFunc("POST /api/v1/setup", h.setup)
	mux.HandleFunc("GET /api/v1/me", h.wrap(h.me))
	mux.HandleFunc("GET /api/v1/projects", h.wrap(h.listProjects))
	mux.HandleFunc("POST /api/v1/projects", h.wrap(h.createProject))
	mux.HandleFunc("GET /api/v1/projects/{name}", h.wrap(h.getProject))
	mux.HandleFunc("PUT /api/v1/projects/{name}", h.wrap(h.updateProject))
	mux.HandleFunc("GET /api/v1/projects/{name}/keys", h.wrap(h.listKeys))
	mux.HandleFunc("POST /api/v1/projects/{name}/keys", h.wrap(h.createKey))
	mux.HandleFunc("DELETE /api/v1/projects/{name}/keys/{id}", h.wrap(h.revokeKey))
	mux.HandleFunc("PUT /api/v1/projects/{name}/members/{user}", h.wrap(h.setMember))
	mux.HandleFunc("DELETE /api/v1/projects/{name}/members/{user}", h.wrap(h.removeMember))
	mux.HandleFunc("GET /api/v1/users", h.wrap(h.listUsers))
	mux.HandleFunc("POST /api/v1/users", h.wrap(h.createUser))
	mux.HandleFunc("PUT /api/v1/users/{user}/password", h.wrap(h.setPassword))
	mux.HandleFunc("DELETE /api/v1/users/{user}", h.wrap(h.deleteUser))
	mux.HandleFunc("GET /api/v1/tokens", h.wrap(h.listTokens))
	mux.HandleFunc("POST /api/v1/tokens", h.wrap(h.createToken))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", h.wrap(h.revokeToken))
}

// public are the API paths served without a principal.
func public(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/api/v1/login" || r.URL.Path == "/api/v1/logout" || r.URL.Path == "/api/v1/setup")
}

// Middleware authenticates every request under /api/ (but login and
// logout), refusing it with 401 when no credential is valid and 403 when
// a cookie-authenticated change lacks its CSRF token, and puts the
// principal in the request's context for the handlers behind it.
func (h *Handler) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") || public(r) {
			next.ServeHTTP(w, r)
			return
		}
		p, err := h.s.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="genscope"`)
			jsonhttp.Write(w, http.StatusUnauthorized, jsonhttp.ErrorBody{Error: "authentication required: a key, token or login session"})
			return
		}
		if err := CheckCSRF(r, p); err != nil {
			jsonhttp.Write(w, http.StatusForbidden, jsonhttp.ErrorBody{Error: "missing or wrong " + CSRFHeader + " header (or cross-origin request)"})
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *Principal) (int, any, error)

// wrap runs a handler with the request's principal and maps its error to
// a status; error bodies never carry a secret.
func (h *Handler) wrap(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := FromContext(r.Context())
		if p == nil {
			jsonhttp.Write(w, http.StatusUnauthorized, jsonhttp.ErrorBody{Error: "authentication required"})
			return
		}
		code, out, err := fn(w, r, p)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		jsonhttp.Write(w, code, out)
	}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrInvalid):
		jsonhttp.Write(w, http.StatusBadRequest, jsonhttp.ErrorBody{Error: err.Error()})
	case errors.Is(err, ErrNotFound):
		jsonhttp.Write(w, http.StatusNotFound, jsonhttp.ErrorBody{Error: err.Error()})
	case errors.Is(err, ErrExists), errors.Is(err, ErrReadOnly):
		jsonhttp.Write(w, http.StatusConflict, jsonhttp.ErrorBody{Error: err.Error()})
	case errors.Is(err, ErrUnauthorized):
		jsonhttp.Write(w, http.StatusUnauthorized, jsonhttp.ErrorBody{Error: "unauthorized"})
	case errors.Is(err, ErrForbidden):
		jsonhttp.Write(w, http.StatusForbidden, jsonhttp.ErrorBody{Error: "forbidden"})
	default:
		h.opts.Log.Error("auth request failed", "path", r.URL.Path, "err", err)
		jsonhttp.Write(w, http.StatusInternalServerError, jsonhttp.ErrorBody{Error: "internal error; see the server log"})
	}
}

// decode reads a small JSON body strictly.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.Join(ErrInvalid, errors.New("body: "+clip(err.Error())))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		h.writeError(w, r, err)
		return
	}
	sid, exp, err := h.s.Login(r.Context(), in.Username, in.Password, ClientAddr(r, h.opts.TrustedProxies))
	if err != nil {
		if errors.Is(err, ErrUnauthorized) {
			jsonhttp.Write(w, http.StatusUnauthorized, jsonhttp.ErrorBody{Error: "wrong user name or password"})
			return
		}
		if errors.Is(err, ErrThrottled) {
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(err)))
			jsonhttp.Write(w, http.StatusTooManyRequests, jsonhttp.ErrorBody{Error: err.Error()})
			return
		}
		h.writeError(w, r, err)
		return
	}
	h.startSession(w, in.Username, sid, exp)
}

// startSession sets the cookies of a new session of the user and answers
// what GET /api/v1/me would, with the CSRF token.
func (h *Handler) startSession(w http.ResponseWriter, name, sid string, exp time.Time) {
	csrf := csrfToken(sid)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sid, Path: "/", Expires: exp, HttpOnly: true, Secure: h.opts.Secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: csrf, Path: "/", Expires: exp, Secure: h.opts.Secure, SameSite: http.SameSiteStrictMode})
	u, _ := h.s.user(name)
	p := h.s.userPrincipal(u)
	jsonhttp.Write(w, http.StatusOK, h.meBody(p, csrf, exp))
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		// Logging out needs the CSRF token too, so another site cannot
		// end a session.
		if _, ok := h.s.sessionUser(c.Value); ok {
			if got := r.Header.Get(CSRFHeader); got == "" || !equal(got, csrfToken(c.Value)) {
				jsonhttp.Write(w, http.StatusForbidden, jsonhttp.ErrorBody{Error: "missing or wrong " + CSRFHeader + " header"})
				return
			}
		}
		h.s.Logout(r.Context(), c.Value)
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == SessionCookie, Secure: h.opts.Secure, SameSite: http.SameSiteLaxMode})
	}
	w.WriteHeader(http.StatusNoContent)
}

type projectAccess struct {
	Name    string `json:"name"`
	Role    Role   `json:"role,omitempty"`
	Content bool   `json:"content"`
}

func (h *Handler) meBody(p *Principal, csrf string, exp time.Time) any {
	out := struct {
		User      string          `json:"user,omitempty"`
		Admin     bool            `json:"admin"`
		KeyID     string          `json:"key_id,omitempty"`
		Scope     Scope           `json:"scope,omitempty"`
		Projects  []projectAccess `json:"projects"`
		CSRFToken string          `json:"csrf_token,omitempty"`
		Expires   *time.Time      `json:"expires,omitempty"`
	}{User: p.User, Admin: p.Admin, KeyID: p.KeyID, Scope: p.Scope, Projects: []projectAccess{}, CSRFToken: csrf}
	if !exp.IsZero() {
		out.Expires = &exp
	}
	for _, name := range p.Readable(h.s.projects.Projects()) {
		a := projectAccess{Name: name, Content: p.CanSeeContent(name)}
		switch {
		case p.Admin:
			a.Role = RoleAdmin
		case p.User != "":
			a.Role = p.grants[name].Role
		}
		out.Projects = append(out.Projects, a)
	}
	return out
}

func (h *Handler) me(_ http.ResponseWriter, _ *http.Request, p *Principal) (int, any, error) {
	return http.StatusOK, h.meBody(p, p.CSRFToken, time.Time{}), nil
}

// projectBody is a project as the API shows it.
type projectBody struct {
	Name           string    `json:"name"`
	Created        time.Time `json:"created"`
	Capture        string    `json:"capture"`
	RedactPatterns []string  `json:"redact_patterns"`
	Retention      struct {
		Spans   timeutil.Duration `json:"spans"`
		Content timeutil.Duration `json:"content"`
	} `json:"retention"`
	Config bool `json:"config"`
}

func toBody(p tenancy.Project) projectBody {
	b := projectBody{Name: p.Name, Created: p.Created, Capture: p.Capture, RedactPatterns: p.RedactPatterns, Config: p.Config}
	if b.Capture == "" {
		b.Capture = privacy.Full
	}
	if b.RedactPatterns == nil {
		b.RedactPatterns = []string{}
	}
	b.Retention.Spans, b.Retention.Content = p.SpanRetention, p.ContentRetention
	return b
}

func fromBody(b projectBody) tenancy.Project {
	return tenancy.Project{Name: b.Name, Capture: b.Capture, RedactPatterns: b.RedactPatterns,
		SpanRetention: b.Retention.Spans, ContentRetention: b.Retention.Content}
}

func (h *Handler) listProjects(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	out := struct {
		Projects []projectBody  `json:"projects"`
		Usage    map[string]any `json:"usage,omitempty"`
	}{Projects: []projectBody{}}
	for _, pr := range h.s.projects.Projects() {
		if p.CanRead(pr.Name) {
			out.Projects = append(out.Projects, toBody(pr))
		}
	}
	if h.opts.Usage != nil && (p.Admin || p.User != "") {
		out.Usage = h.opts.Usage(r.Context())
	}
	return http.StatusOK, out, nil
}

func (h *Handler) createProject(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	if !p.Admin {
		return 0, nil, ErrForbidden
	}
	var in projectBody
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	pr, err := h.s.projects.Create(r.Context(), fromBody(in))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toBody(pr), nil
}

func (h *Handler) getProject(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name := r.PathValue("name")
	if !p.CanRead(name) {
		return 0, nil, ErrForbidden
	}
	pr, ok := h.s.projects.Project(name)
	if !ok {
		return 0, nil, ErrNotFound
	}
	return http.StatusOK, toBody(pr), nil
}

func (h *Handler) updateProject(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name := r.PathValue("name")
	if !p.HasRole(name, RoleAdmin) {
		return 0, nil, ErrForbidden
	}
	var in projectBody
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	in.Name = name
	pr, err := h.s.projects.Update(r.Context(), fromBody(in))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toBody(pr), nil
}

// projectAdmin checks that the project exists and p administers it.
func (h *Handler) projectAdmin(r *http.Request, p *Principal) (string, error) {
	name := r.PathValue("name")
	if !p.HasRole(name, RoleAdmin) {
		return "", ErrForbidden
	}
	if !h.s.projects.Exists(name) {
		return "", ErrNotFound
	}
	return name, nil
}

func (h *Handler) listKeys(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name, err := h.projectAdmin(r, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Keys []KeyInfo `json:"keys"`
	}{h.s.Keys(name, "")}, nil
}

type createdKey struct {
	KeyInfo
	Key              string `json:"key"`
	ConnectionString string `json:"connection_string,omitempty"`
}

func (h *Handler) createKey(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name, err := h.projectAdmin(r, p)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Scope   Scope         `json:"scope"`
		Name    string        `json:"name"`
		Content bool          `json:"content"`
		Limits  *quota.Limits `json:"limits"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Scope == ScopeUser {
		return 0, nil, errors.Join(ErrInvalid, errors.New("scope: user tokens are made at POST /api/v1/tokens"))
	}
	if in.Scope == ScopeMetrics && !p.Admin {
		return 0, nil, ErrForbidden // /metrics covers every project: only server admins hand it out
	}
	if in.Content && !p.CanSeeContent(name) {
		return 0, nil, ErrForbidden // nobody hands out more than they have
	}
	info, key, err := h.s.CreateKey(r.Context(), Key{Project: name, Scope: in.Scope, Name: in.Name, Content: in.Content, Limits: in.Limits})
	if err != nil {
		return 0, nil, err
	}
	out := createdKey{KeyInfo: info, Key: key}
	if in.Scope == ScopeAppInsights {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base := scheme + "://" + r.Host + "/"
		out.ConnectionString = "InstrumentationKey=" + key + ";IngestionEndpoint=" + base + ";LiveEndpoint=" + base
	}
	return http.StatusCreated, out, nil
}

func (h *Handler) revokeKey(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name, err := h.projectAdmin(r, p)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	if k, ok := h.s.KeyByID(id); !ok || k.Project != name || k.Scope == ScopeUser {
		return 0, nil, ErrNotFound
	}
	if err := h.s.RevokeKey(r.Context(), id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Revoked string `json:"revoked"`
	}{id}, nil
}

func (h *Handler) setMember(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name, err := h.projectAdmin(r, p)
	if err != nil {
		return 0, nil, err
	}
	var in Grant
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Role == "" {
		return 0, nil, errors.Join(ErrInvalid, errors.New("role: required (admin, editor or viewer)"))
	}
	if in.Content && !p.CanSeeContent(name) {
		return 0, nil, ErrForbidden
	}
	if err := h.s.SetGrant(r.Context(), r.PathValue("user"), name, in); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, in, nil
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name, err := h.projectAdmin(r, p)
	if err != nil {
		return 0, nil, err
	}
	if err := h.s.SetGrant(r.Context(), r.PathValue("user"), name, Grant{}); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

func (h *Handler) listUsers(_ http.ResponseWriter, _ *http.Request, p *Principal) (int, any, error) {
	if !p.Admin {
		return 0, nil, ErrForbidden
	}
	return http.StatusOK, struct {
		Users []UserInfo `json:"users"`
	}{h.s.Users()}, nil
}

func (h *Handler) createUser(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	if !p.Admin {
		return 0, nil, ErrForbidden
	}
	var in struct {
		Name     string           `json:"name"`
		Password string           `json:"password"`
		Admin    bool             `json:"admin"`
		Grants   map[string]Grant `json:"grants"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	for pr, g := range in.Grants {
		if !h.s.projects.Exists(pr) {
			return 0, nil, errors.Join(ErrInvalid, errors.New("grants: no project "+clip(pr)))
		}
		if g.Role.rank() == 0 {
			return 0, nil, errors.Join(ErrInvalid, errors.New("grants."+pr+".role: admin, editor or viewer"))
		}
	}
	u, err := h.s.CreateUser(r.Context(), in.Name, in.Password, in.Admin)
	if err != nil {
		return 0, nil, err
	}
	for pr, g := range in.Grants {
		if err := h.s.SetGrant(r.Context(), u.Name, pr, g); err != nil {
			return 0, nil, err
		}
		u.Grants[pr] = g
	}
	return http.StatusCreated, u, nil
}

func (h *Handler) setPassword(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	name := r.PathValue("user")
	if !p.Admin && p.User != name {
		return 0, nil, ErrForbidden
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	if err := h.s.SetPassword(r.Context(), name, in.Password); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

func (h *Handler) deleteUser(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	if !p.Admin {
		return 0, nil, ErrForbidden
	}
	if err := h.s.DeleteUser(r.Context(), r.PathValue("user")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

func (h *Handler) listTokens(_ http.ResponseWriter, _ *http.Request, p *Principal) (int, any, error) {
	if p.User == "" {
		return 0, nil, ErrForbidden
	}
	return http.StatusOK, struct {
		Tokens []KeyInfo `json:"tokens"`
	}{h.s.Keys("", p.User)}, nil
}

func (h *Handler) createToken(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	if p.User == "" {
		return 0, nil, ErrForbidden
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	info, key, err := h.s.CreateKey(r.Context(), Key{User: p.User, Scope: ScopeUser, Name: in.Name})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, createdKey{KeyInfo: info, Key: key}, nil
}

func (h *Handler) revokeToken(_ http.ResponseWriter, r *http.Request, p *Principal) (int, any, error) {
	id := r.PathValue("id")
	k, ok := h.s.KeyByID(id)
	if !ok || k.Scope != ScopeUser || (k.User != p.User && !p.Admin) {
		return 0, nil, ErrNotFound
	}
	if err := h.s.RevokeKey(r.Context(), id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Revoked string `json:"revoked"`
	}{id}, nil
}

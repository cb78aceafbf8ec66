package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/genscope/genscope/internal/jsonhttp"
)

// The first run with auth on: nobody has an account yet. Besides the
// admin token (which signs in from the login page), genscope prints a
// one-time setup link at start-up; whoever opens it creates the first
// administrator. The link's token is 256 random bits, kept in memory as
// its SHA-256 only, valid once and only while no user exists: creating
// any user (through the link, the admin token or another node) uses it
// up. A restart with still no users prints a new one.

// setupPrefix marks setup tokens (gss_…), so secret scanners and the
// redactor spot them.
const setupPrefix = "gss_"

// SetupPath is the dashboard page a setup link opens; the token follows
// in the fragment, which browsers never send to a server or in a Referer.
const SetupPath = "/setup"

// ErrSetupDone is a setup attempt on a genscope that has users.
var ErrSetupDone = errors.New("genscope has users already: the setup link is used up; sign in instead")

// SetupToken returns a new one-time setup token when no user exists, and
// "" when one does. A new token replaces the previous one.
func (s *Service) SetupToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.users) > 0 {
		s.setupHash = ""
		return ""
	}
	tok := newToken(setupPrefix)
	s.setupHash = hashToken(tok)
	return tok
}

// SetupURL is the link that opens the setup page of the genscope at base
// (scheme://host:port) with the token.
func SetupURL(base, token string) string {
	return base + SetupPath + "#" + url.QueryEscape(token)
}

// Setup creates the first administrator with a setup token and uses the
// token up. Not the token (or none issued): ErrUnauthorized. A user
// exists already: ErrSetupDone. A bad name or password: ErrInvalid, and
// the token stays valid.
func (s *Service) Setup(ctx context.Context, token, name, password string) (UserInfo, error) {
	if !wellFormed(token, setupPrefix) {
		return UserInfo{}, ErrUnauthorized
	}
	// Another node sharing the store may have created a user.
	if s.opts.ReloadOnMiss > 0 {
		if err := s.Reload(ctx); err != nil {
			return UserInfo{}, err
		}
	}
	if err := s.checkSetup(token); err != nil {
		return UserInfo{}, err
	}
	if !validUserName(name) {
		return UserInfo{}, fmt.Errorf("%w: name: 1-64 of letters, digits, . _ @ -", ErrInvalid)
	}
	hash, err := s.hashPassword(password) // slow: outside the lock, after the token is known good
	if err != nil {
		return UserInfo{}, err
	}
	u := &User{Name: name, PasswordHash: string(hash), Admin: true, Grants: map[string]Grant{}, Created: s.opts.Now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked again: a concurrent Setup or CreateUser may have won.
	if err := s.checkSetupLocked(token); err != nil {
		return UserInfo{}, err
	}
	if err := s.put(ctx, kindUser, name, u); err != nil {
		return UserInfo{}, fmt.Errorf("create user: %w", err)
	}
	s.users[name] = u
	s.setupHash = ""
	return u.info(), nil
}

func (s *Service) checkSetup(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkSetupLocked(token)
}

// checkSetupLocked, with s.mu held, says whether token is the setup
// token and no user exists (then forgetting the token).
func (s *Service) checkSetupLocked(token string) error {
	if len(s.users) > 0 {
		s.setupHash = ""
		return ErrSetupDone
	}
	if s.setupHash == "" || !equal(hashToken(token), s.setupHash) {
		return ErrUnauthorized
	}
	return nil
}

// setup serves POST /api/v1/setup: {token, name, password} creates the
// first administrator and signs them in, answering like login.
func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token    string `json:"token"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		h.writeError(w, r, err)
		return
	}
	if _, err := h.s.Setup(r.Context(), in.Token, in.Name, in.Password); err != nil {
		switch {
		case errors.Is(err, ErrUnauthorized):
			jsonhttp.Write(w, http.StatusUnauthorized, jsonhttp.ErrorBody{Error: "not this genscope's setup link: use the newest one it printed at start-up, or sign in with the admin token"})
		case errors.Is(err, ErrSetupDone):
			jsonhttp.Write(w, http.StatusGone, jsonhttp.ErrorBody{Error: ErrSetupDone.Error()})
		default:
			h.writeError(w, r, err)
		}
		return
	}
	h.opts.Log.Info("first administrator created with the setup link", "user", in.Name)
	sid, exp, err := h.s.Login(r.Context(), in.Name, in.Password, ClientAddr(r, h.opts.TrustedProxies))
	if err != nil {
		if errors.Is(err, ErrThrottled) {
			// The user exists; signing in can wait.
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(err)))
			jsonhttp.Write(w, http.StatusTooManyRequests, jsonhttp.ErrorBody{Error: "the administrator was created; sign in: " + err.Error()})
			return
		}
		h.writeError(w, r, err)
		return
	}
	h.startSession(w, in.Name, sid, exp)
}

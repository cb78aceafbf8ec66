package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/tenancy"

	"github.com/genscope/genscope/internal/store"
)

// Document kinds in the store.DocStore.
const (
	kindKey     = "auth.key"
	kindUser    = "auth.user"
	kindSession = "auth.session"
)

// Scope is what a key may do.
type Scope string

// The key scopes. ScopeUser is a user's own API token (gsu_), acting as
// the user.
const (
	ScopeIngest      Scope = "ingest"      // write telemetry (OTLP, App Insights) into its project
	ScopeRead        Scope = "read"        // read its project through the API
	ScopeGateway     Scope = "gateway"     // call models through the gateway, recorded in its project
	ScopeAppInsights Scope = "appinsights" // an instrumentation key
	ScopeMetrics     Scope = "metrics"     // scrape /metrics (every project's; made by server admins only)
	ScopeUser        Scope = "user"
)

// Role is a user's role in a project.
type Role string

// The roles, each including the ones below it: viewers read, editors also
// manage alert rules, admins also manage the project's keys and members.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Errors the service returns; the HTTP layer maps them to statuses.
var (
	ErrNotFound     = tenancy.ErrNotFound
	ErrExists       = tenancy.ErrExists
	ErrInvalid      = tenancy.ErrInvalid
	ErrReadOnly     = tenancy.ErrReadOnly
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	// ErrThrottled refuses a login after too many failures for the user.
	ErrThrottled = errors.New("too many failed logins; try again later")
)

// Key is a stored key: its hash, never the key.
type Key struct {
	ID      string    `json:"id"`
	Project string    `json:"project,omitempty"` // "" for user tokens
	User    string    `json:"user,omitempty"`    // user tokens
	Scope   Scope     `json:"scope"`
	Name    string    `json:"name,omitempty"`
	Prefix  string    `json:"prefix"` // the first characters, for people to recognise it
	Content bool      `json:"content"`
	Created time.Time `json:"created"`
	Hash    string    `json:"hash"`
	// Limits are a gateway key's own rate limits and budgets.
	Limits *quota.Limits `json:"limits,omitempty"`
}

// KeyInfo is a key as listed: no hash.
type KeyInfo struct {
	ID      string    `json:"id"`
	Project string    `json:"project,omitempty"`
	User    string    `json:"user,omitempty"`
	Scope   Scope     `json:"scope"`
	Name    string    `json:"name,omitempty"`
	Prefix  string    `json:"prefix"`
	Content bool      `json:"content"`
	Created time.Time `json:"created"`
	// Limits are a gateway key's own rate limits and budgets.
	Limits *quota.Limits `json:"limits,omitempty"`
}

func (k *Key) info() KeyInfo {
	return KeyInfo{ID: k.ID, Project: k.Project, User: k.User, Scope: k.Scope, Name: k.Name, Prefix: k.Prefix, Content: k.Content, Created: k.Created, Limits: k.Limits}
}

// Grant is a user's access to a project.
type Grant struct {
	Role    Role `json:"role"`
	Content bool `json:"content"` // may see message content
}

// User is a local user.
type User struct {
	Name         string           `json:"name"`
	PasswordHash string           `json:"password_hash"`
	Admin        bool             `json:"admin,omitempty"` // every project, every permission, user management
	Grants       map[string]Grant `json:"grants,omitempty"`
	Created      time.Time        `json:"created"`
}

// UserInfo is a user as listed: no password hash.
type UserInfo struct {
	Name    string           `json:"name"`
	Admin   bool             `json:"admin"`
	Grants  map[string]Grant `json:"grants"`
	Created time.Time        `json:"created"`
}

func (u *User) info() UserInfo {
	g := make(map[string]Grant, len(u.Grants))
	for k, v := range u.Grants {
		g[k] = v
	}
	return UserInfo{Name: u.Name, Admin: u.Admin, Grants: g, Created: u.Created}
}

type session struct {
	Hash    string    `json:"hash"`
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// Options configure a Service.
type Options struct {
	// AdminToken, when set, is accepted as a bearer token with every
	// permission.
	AdminToken string
	// SessionTTL is how long a login lasts; default 12h.
	SessionTTL time.Duration
	// BcryptCost is the password hash's cost; default 12 (tests use less).
	BcryptCost int
	// Projects are the projects keys and grants belong to; nil means a
	// registry over the same store with no projects from the config file.
	Projects *tenancy.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ReloadOnMiss, when positive, makes an unknown key, token or session
	// reread the state from the store before it is refused (another
	// genscope node sharing the store may have just created it), at most
	// once per ReloadOnMiss: unknown credentials cannot make the service
	// query the store more often than that. Requests that arrive while
	// such a reload runs wait for it. Zero (a store no other node writes)
	// never rereads on a miss.
	ReloadOnMiss time.Duration
	// MaxConcurrentLogins bounds the password checks (bcrypt) running at
	// once; more are refused with ErrThrottled. Default: the CPU count,
	// at least 2.
	MaxConcurrentLogins int
}

// Service holds keys, users and sessions in memory, written
// through to a store.DocStore. Its methods are safe for concurrent use.
type Service struct {
	st   store.DocStore
	opts Options

	// dummyHash is compared against when a login names no user.
	dummyHash []byte

	projects *tenancy.Registry

	mu       sync.RWMutex
	keys     map[string]*Key // by hash
	keyIDs   map[string]*Key // by id
	users    map[string]*User
	sessions map[string]*session // by hash
	logins   *loginGuard         // login throttling (throttle.go)
	// setupHash is the SHA-256 of the one-time setup token (setup.go);
	// "" when none is valid.
	setupHash string

	// writes counts this service's writes to the store, each counted
	// after the store has it: a Reload that read the store while one
	// happened may have missed it, so it reads again (see Reload).
	writes atomic.Uint64

	missMu   sync.Mutex
	lastMiss time.Time     // when the last reload on a miss started
	missDone chan struct{} // closed when the running one ends; nil when none runs
}

// snapshot is the state as stored.
type snapshot struct {
	keys     map[string]*Key
	keyIDs   map[string]*Key
	users    map[string]*User
	sessions map[string]*session
}

// New loads the state from st.
func New(ctx context.Context, st store.DocStore, opts Options) (*Service, error) {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = 12
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{st: st, opts: opts, projects: opts.Projects, logins: newLoginGuard(opts.MaxConcurrentLogins)}
	var err error
	if s.projects == nil {
		if s.projects, err = tenancy.NewRegistry(ctx, st, nil, opts.Now); err != nil {
			return nil, err
		}
	}
	if s.dummyHash, err = bcrypt.GenerateFromPassword([]byte(newToken("")), opts.BcryptCost); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	snap, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	s.install(snap)
	return s, nil
}

// read loads the stored state.
func (s *Service) read(ctx context.Context) (*snapshot, error) {
	s2 := &snapshot{keys: map[string]*Key{}, keyIDs: map[string]*Key{},
		users: map[string]*User{}, sessions: map[string]*session{}}
	load := func(kind string, fn func(doc []byte) error) error {
		return s.st.ListDocs(ctx, kind, func(id string, doc []byte) error {
			if err := fn(doc); err != nil {
				return fmt.Errorf("auth: load %s %s: %w", kind, id, err)
			}
			return nil
		})
	}
	err := errors.Join(
		load(kindKey, func(doc []byte) error {
			var k Key
			if err := json.Unmarshal(doc, &k); err != nil {
				return err
			}
			s2.keys[k.Hash], s2.keyIDs[k.ID] = &k, &k
			return nil
		}),
		load(kindUser, func(doc []byte) error {
			var u User
			if err := json.Unmarshal(doc, &u); err != nil {
				return err
			}
			s2.users[u.Name] = &u
			return nil
		}),
		load(kindSession, func(doc []byte) error {
			var se session
			if err := json.Unmarshal(doc, &se); err != nil {
				return err
			}
			s2.sessions[se.Hash] = &se
			return nil
		}),
	)
	if err != nil {
		return nil, err
	}
	return s2, nil
}

// install makes a snapshot the service's state. Callers hold s.mu, or
// are New.
func (s *Service) install(snap *snapshot) {
	s.keys, s.keyIDs, s.users, s.sessions = snap.keys, snap.keyIDs, snap.users, snap.sessions
}

// Reload rereads keys, users and sessions from the store, so
// that what other genscope nodes sharing the store changed takes effect
// here: keys they created work, keys they revoked stop working. The
// service's own changes are never lost: a reload that overlapped one of
// them reads again.
func (s *Service) Reload(ctx context.Context) error {
	for range 5 {
		before := s.writes.Load()
		// Not under s.mu: requests go on while the store is read.
		snap, err := s.read(ctx)
		if err != nil {
			return fmt.Errorf("auth: reload: %w", err)
		}
		s.mu.Lock()
		if s.writes.Load() == before {
			s.install(snap)
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
	}
	return errors.New("auth: reload: the state kept changing while it was read; retrying at the next reload")
}

// reloadOnMiss rereads the state after an unknown credential, throttled
// as Options.ReloadOnMiss says; it reports whether it reloaded (or waited
// for a reload that ran).
func (s *Service) reloadOnMiss() bool {
	if s.opts.ReloadOnMiss <= 0 {
		return false
	}
	s.missMu.Lock()
	if done := s.missDone; done != nil {
		s.missMu.Unlock()
		<-done
		return true
	}
	now := s.opts.Now()
	if !s.lastMiss.IsZero() && now.Sub(s.lastMiss) < s.opts.ReloadOnMiss && now.Sub(s.lastMiss) >= 0 {
		s.missMu.Unlock()
		return false
	}
	done := make(chan struct{})
	s.lastMiss, s.missDone = now, done
	s.missMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), missReloadTimeout)
	err := s.Reload(ctx)
	cancel()
	s.missMu.Lock()
	s.missDone = nil
	s.missMu.Unlock()
	close(done)
	return err == nil
}

// missReloadTimeout bounds a reload a request waits for.
const missReloadTimeout = 5 * time.Second

func (s *Service) put(ctx context.Context, kind, id string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = s.st.PutDoc(ctx, kind, id, doc)
	s.writes.Add(1)
	return err
}

func (s *Service) del(ctx context.Context, kind, id string) error {
	err := s.st.DeleteDoc(ctx, kind, id)
	s.writes.Add(1)
	return err
}

// CreateKey makes a key for a project (or, with ScopeUser, a token for a
// user) and returns it with the key itself, which is not kept.
func (s *Service) CreateKey(ctx context.Context, k Key) (KeyInfo, string, error) {
	var tok string
	switch k.Scope {
	case ScopeIngest, ScopeRead, ScopeGateway, ScopeMetrics:
		tok = newToken(KeyPrefix)
		k.User = ""
	case ScopeAppInsights:
		tok = newIKey()
		k.User = ""
	case ScopeUser:
		tok = newToken(UserTokenPrefix)
		k.Project = ""
	default:
		return KeyInfo{}, "", fmt.Errorf("%w: scope: %q is not ingest, read, gateway, appinsights or metrics", ErrInvalid, k.Scope)
	}
	if len(k.Name) > 200 {
		return KeyInfo{}, "", fmt.Errorf("%w: name: longer than 200 bytes", ErrInvalid)
	}
	if k.Scope != ScopeRead && k.Scope != ScopeUser {
		k.Content = false // only readers read
	}
	if k.Limits != nil {
		if k.Scope != ScopeGateway {
			return KeyInfo{}, "", fmt.Errorf("%w: limits: only gateway keys have limits", ErrInvalid)
		}
		if err := k.Limits.Validate("limits."); err != nil {
			return KeyInfo{}, "", fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if k.Limits.IsZero() {
			k.Limits = nil
		}
	}
	k.ID, k.Hash, k.Created = newID(), hashToken(tok), s.opts.Now().UTC()
	k.Prefix = display(tok)
	if k.Scope == ScopeAppInsights {
		k.Prefix = tok[:8] + "…"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.Scope == ScopeUser {
		if _, ok := s.users[k.User]; !ok {
			return KeyInfo{}, "", fmt.Errorf("user %q: %w", k.User, ErrNotFound)
		}
	} else if !s.projects.Exists(k.Project) {
		return KeyInfo{}, "", fmt.Errorf("project %q: %w", k.Project, ErrNotFound)
	}
	if err := s.put(ctx, kindKey, k.ID, k); err != nil {
		return KeyInfo{}, "", fmt.Errorf("create key: %w", err)
	}
	s.keys[k.Hash], s.keyIDs[k.ID] = &k, &k
	return k.info(), tok, nil
}

// Keys lists the keys of a project (or, with user set, a user's tokens).
func (s *Service) Keys(project, user string) []KeyInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []KeyInfo{}
	for _, k := range s.keyIDs {
		if (user == "" && k.Project == project && k.Scope != ScopeUser) || (user != "" && k.User == user && k.Scope == ScopeUser) {
			out = append(out, k.info())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Created.Before(out[j].Created) || out[i].Created.Equal(out[j].Created) && out[i].ID < out[j].ID
	})
	return out
}

// KeyByID returns a key's listing.
func (s *Service) KeyByID(id string) (KeyInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keyIDs[id]
	if !ok {
		return KeyInfo{}, false
	}
	return k.info(), true
}

// RevokeKey deletes a key; it stops working at once.
func (s *Service) RevokeKey(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keyIDs[id]
	if !ok {
		return fmt.Errorf("key %q: %w", id, ErrNotFound)
	}
	if err := s.del(ctx, kindKey, id); err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	delete(s.keyIDs, id)
	delete(s.keys, k.Hash)
	return nil
}

// lookupKey finds the key tok is, by its hash (the hash of a random
// token is not secret, so a map lookup leaks nothing; the stored hash is
// compared in constant time all the same).
func (s *Service) lookupKey(tok string) (*Key, bool) {
	h := hashToken(tok)
	find := func() (*Key, bool) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		k, ok := s.keys[h]
		if !ok || !equal(k.Hash, h) {
			return nil, false
		}
		c := *k
		return &c, true
	}
	k, ok := find()
	if !ok && s.reloadOnMiss() {
		k, ok = find()
	}
	return k, ok
}

// KeyProject returns the project of a key with the scope, or
// ErrUnauthorized.
func (s *Service) KeyProject(tok string, scope Scope) (string, error) {
	if !wellFormed(tok, KeyPrefix) {
		return "", ErrUnauthorized
	}
	k, ok := s.lookupKey(tok)
	if !ok || k.Scope != scope {
		return "", ErrUnauthorized
	}
	return k.Project, nil
}

// GatewayKey returns the project, id and limits of a gateway key, or
// ErrUnauthorized.
func (s *Service) GatewayKey(tok string) (project, id string, limits quota.Limits, err error) {
	if !wellFormed(tok, KeyPrefix) {
		return "", "", quota.Limits{}, ErrUnauthorized
	}
	k, ok := s.lookupKey(tok)
	if !ok || k.Scope != ScopeGateway {
		return "", "", quota.Limits{}, ErrUnauthorized
	}
	if k.Limits != nil {
		limits = *k.Limits
	}
	return k.Project, k.ID, limits, nil
}

// IKeyProject returns the project of an instrumentation key.
func (s *Service) IKeyProject(ikey string) (string, error) {
	n := normIKey(ikey)
	if n == "" {
		return "", ErrUnauthorized
	}
	k, ok := s.lookupKey(n)
	if !ok || k.Scope != ScopeAppInsights {
		return "", ErrUnauthorized
	}
	return k.Project, nil
}

// CreateUser adds a local user.
func (s *Service) CreateUser(ctx context.Context, name, password string, admin bool) (UserInfo, error) {
	if !validUserName(name) {
		return UserInfo{}, fmt.Errorf("%w: name: 1-64 of letters, digits, . _ @ -", ErrInvalid)
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return UserInfo{}, err
	}
	u := &User{Name: name, PasswordHash: string(hash), Admin: admin, Grants: map[string]Grant{}, Created: s.opts.Now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; ok {
		return UserInfo{}, fmt.Errorf("user %q: %w", name, ErrExists)
	}
	if err := s.put(ctx, kindUser, name, u); err != nil {
		return UserInfo{}, fmt.Errorf("create user: %w", err)
	}
	s.users[name] = u
	return u.info(), nil
}

var userName = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

func validUserName(s string) bool { return userName.MatchString(s) }

func (s *Service) hashPassword(pw string) ([]byte, error) {
	if len(pw) < 8 || len(pw) > 72 { // bcrypt reads 72 bytes
		return nil, fmt.Errorf("%w: password: 8 to 72 bytes", ErrInvalid)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.opts.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, name, func(u *User) { u.PasswordHash = string(hash) }, true)
}

// SetGrant gives a user a role in a project (an empty role removes it).
func (s *Service) SetGrant(ctx context.Context, name, project string, g Grant) error {
	if g.Role != "" && g.Role.rank() == 0 {
		return fmt.Errorf("%w: role: %q is not admin, editor or viewer", ErrInvalid, g.Role)
	}
	if !s.projects.Exists(project) {
		return fmt.Errorf("project %q: %w", project, ErrNotFound)
	}
	return s.updateUser(ctx, name, func(u *User) {
		if g.Role == "" {
			delete(u.Grants, project)
			return
		}
		u.Grants[project] = g
	}, false)
}

func (s *Service) updateUser(ctx context.Context, name string, fn func(*User), endSessions bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[name]
	if !ok {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	u := *old
	u.Grants = make(map[string]Grant, len(old.Grants))
	for k, v := range old.Grants {
		u.Grants[k] = v
	}
	fn(&u)
	if err := s.put(ctx, kindUser, name, &u); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	s.users[name] = &u
	if endSessions {
		if err := s.endSessionsLocked(ctx, name); err != nil {
			return fmt.Errorf("update user %q: end its sessions: %w", name, err)
		}
	}
	return nil
}

// DeleteUser removes a user, their tokens and sessions. The tokens and
// sessions go first and the user last: when the store fails midway the
// user is still there, with what is left of their credentials, and the
// error says so, so a later user of the same name never inherits a
// token or session that outlived the delete.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; !ok {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	var errs []error
	for id, k := range s.keyIDs {
		if k.Scope == ScopeUser && k.User == name {
			if err := s.del(ctx, kindKey, id); err != nil {
				errs = append(errs, err)
				continue
			}
			delete(s.keyIDs, id)
			delete(s.keys, k.Hash)
		}
	}
	errs = append(errs, s.endSessionsLocked(ctx, name))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete user %q: its tokens and sessions: %w", name, err)
	}
	if err := s.del(ctx, kindUser, name); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	delete(s.users, name)
	return nil
}

// endSessionsLocked ends a user's sessions; a session the store could not
// delete stays (it would come back at the next reload) and its error is
// returned. The caller holds s.mu.
func (s *Service) endSessionsLocked(ctx context.Context, user string) error {
	var errs []error
	for h, se := range s.sessions {
		if se.User == user {
			if err := s.del(ctx, kindSession, h); err != nil {
				errs = append(errs, err)
				continue
			}
			delete(s.sessions, h)
		}
	}
	return errors.Join(errs...)
}

// Users lists the users.
func (s *Service) Users() []UserInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]UserInfo, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Login checks a password from the client address addr ("" when
// unknown) and starts a session, returning its secret (for the cookie).
// Unknown users and wrong passwords are the same ErrUnauthorized, after
// the same work. Attempts are throttled (throttle.go): a refusal is a
// *ThrottledError, which wraps ErrThrottled.
func (s *Service) Login(ctx context.Context, name, password, addr string) (string, time.Time, error) {
	done, err := s.logins.reserve(s.opts.Now(), name, addr)
	if err != nil {
		return "", time.Time{}, err
	}
	s.mu.RLock()
	u, ok := s.users[name]
	hash := s.dummyHash
	if ok {
		hash = []byte(u.PasswordHash)
	}
	s.mu.RUnlock()
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !ok {
		done(false)
		return "", time.Time{}, ErrUnauthorized
	}
	done(true)
	sid := newToken("")
	se := &session{Hash: hashToken(sid), User: name, Expires: s.opts.Now().Add(s.opts.SessionTTL).UTC()}
	if err := s.put(ctx, kindSession, se.Hash, se); err != nil {
		return "", time.Time{}, fmt.Errorf("start session: %w", err)
	}
	s.mu.Lock()
	s.sessions[se.Hash] = se
	s.mu.Unlock()
	return sid, se.Expires, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, sid string) {
	h := hashToken(sid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[h]; ok {
		_ = s.del(ctx, kindSession, h)
		delete(s.sessions, h)
	}
}

// sessionUser returns the user of a live session.
func (s *Service) sessionUser(sid string) (User, bool) {
	if len(sid) != tokenLen {
		return User{}, false
	}
	h := hashToken(sid)
	find := func() (User, bool, bool) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		se, ok := s.sessions[h]
		if !ok || !equal(se.Hash, h) {
			return User{}, false, false
		}
		if !s.opts.Now().Before(se.Expires) {
			return User{}, false, true
		}
		u, ok := s.users[se.User]
		if !ok {
			return User{}, false, true
		}
		return *u, true, true
	}
	u, ok, known := find()
	if !known && s.reloadOnMiss() {
		u, ok, _ = find()
	}
	return u, ok
}

// ExpireSessions deletes expired sessions; run it now and then.
func (s *Service) ExpireSessions(ctx context.Context) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, se := range s.sessions {
		if !now.Before(se.Expires) {
			_ = s.del(ctx, kindSession, h)
			delete(s.sessions, h)
		}
	}
}

// user returns a user by name.
func (s *Service) user(name string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[name]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// MemStore is a store.DocStore in memory, for tests and stores that keep no
// state.
type MemStore struct {
	mu   sync.Mutex
	docs map[string]map[string][]byte
}

// PutDoc implements store.DocStore.
func (m *MemStore) PutDoc(_ context.Context, kind, id string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string]map[string][]byte{}
	}
	if m.docs[kind] == nil {
		m.docs[kind] = map[string][]byte{}
	}
	m.docs[kind][id] = append([]byte(nil), doc...)
	return nil
}

// DeleteDoc implements store.DocStore.
func (m *MemStore) DeleteDoc(_ context.Context, kind, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs[kind], id)
	return nil
}

// ListDocs implements store.DocStore.
func (m *MemStore) ListDocs(_ context.Context, kind string, fn func(id string, doc []byte) error) error {
	m.mu.Lock()
	ids := make([]string, 0, len(m.docs[kind]))
	for id := range m.docs[kind] {
		ids = append(ids, id)
	}
	docs := m.docs[kind]
	m.mu.Unlock()
	sort.Strings(ids)
	for _, id := range ids {
		m.mu.Lock()
		d := docs[id]
		m.mu.Unlock()
		if err := fn(id, d); err != nil {
			return err
		}
	}
	return nil
}

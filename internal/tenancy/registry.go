package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// docKind is the kind projects are stored under (their name since before
// this package existed).
const docKind = "auth.project"

// Docs keeps JSON documents by (kind, id): the store's document store.
// Put and Delete are durable when they return.
type Docs interface {
	PutDoc(ctx context.Context, kind, id string, doc []byte) error
	ListDocs(ctx context.Context, kind string, fn func(id string, doc []byte) error) error
}

// Errors the registry returns (package auth's errors are the same values,
// so its HTTP layer maps them to statuses).
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
	ErrReadOnly = errors.New("defined in the config file")
)

// Registry holds the projects in memory, written through to a document
// store, with the config file's projects over the stored ones. Its
// methods are safe for concurrent use.
type Registry struct {
	st     Docs
	config []Project
	now    func() time.Time

	mu       sync.RWMutex
	projects map[string]*Project
	// version counts the registry's own writes: a Reload that read the
	// store while one happened may have missed it, so it reads again.
	version uint64
}

// NewRegistry loads the projects from st, with config's (read-only) over
// them and DefaultProject added when neither has it. now is the clock;
// nil means time.Now.
func NewRegistry(ctx context.Context, st Docs, config []Project, now func() time.Time) (*Registry, error) {
	if now == nil {
		now = time.Now
	}
	r := &Registry{st: st, config: config, now: now}
	ps, err := r.read(ctx, nil)
	if err != nil {
		return nil, err
	}
	r.projects = ps
	return r, nil
}

// read loads the stored projects, with the config's over them; created
// holds the creation times the config's projects had so far.
func (r *Registry) read(ctx context.Context, created map[string]time.Time) (map[string]*Project, error) {
	ps := map[string]*Project{}
	err := r.st.ListDocs(ctx, docKind, func(id string, doc []byte) error {
		var p Project
		if err := json.Unmarshal(doc, &p); err != nil {
			return fmt.Errorf("tenancy: load project %s: %w", id, err)
		}
		ps[p.Name] = &p
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range r.config {
		p.Config = true
		if p.Created.IsZero() {
			p.Created = created[p.Name] // a reload keeps the creation time
		}
		if p.Created.IsZero() {
			p.Created = r.now()
		}
		ps[p.Name] = &p
	}
	if _, ok := ps[DefaultProject]; !ok {
		p := &Project{Name: DefaultProject, Created: created[DefaultProject], Config: true}
		if p.Created.IsZero() {
			p.Created = r.now()
		}
		ps[DefaultProject] = p
	}
	return ps, nil
}

// Reload rereads the projects from the store, so that projects other
// genscope nodes sharing it created or changed take effect here. The
// registry's own changes are never lost: a reload that overlapped one of
// them reads again.
func (r *Registry) Reload(ctx context.Context) error {
	for range 5 {
		created := map[string]time.Time{}
		r.mu.RLock()
		before := r.version
		for name, p := range r.projects {
			if p.Config {
				created[name] = p.Created
			}
		}
		r.mu.RUnlock()
		// Not under r.mu: lookups go on while the store is read.
		ps, err := r.read(ctx, created)
		if err != nil {
			return fmt.Errorf("tenancy: reload: %w", err)
		}
		r.mu.Lock()
		if r.version == before {
			r.projects = ps
			r.mu.Unlock()
			return nil
		}
		r.mu.Unlock()
	}
	return errors.New("tenancy: reload: the projects kept changing while they were read; retrying at the next reload")
}

// Project returns a project.
func (r *Registry) Project(name string) (Project, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.projects[name]
	if !ok {
		return Project{}, false
	}
	return *p, true
}

// Exists reports whether there is a project of that name.
func (r *Registry) Exists(name string) bool {
	_, ok := r.Project(name)
	return ok
}

// Projects returns every project, by name.
func (r *Registry) Projects() []Project {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Project, 0, len(r.projects))
	for _, p := range r.projects {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Create adds a project.
func (r *Registry) Create(ctx context.Context, p Project) (Project, error) {
	p.Config = false
	if errs := Validate(p); len(errs) > 0 {
		return Project{}, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	p.Created = r.now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.projects[p.Name]; ok {
		return Project{}, fmt.Errorf("project %q: %w", p.Name, ErrExists)
	}
	if err := r.put(ctx, p); err != nil {
		return Project{}, fmt.Errorf("create project: %w", err)
	}
	r.projects[p.Name] = &p
	return p, nil
}

// Update replaces a project's policy and retention.
func (r *Registry) Update(ctx context.Context, p Project) (Project, error) {
	if errs := Validate(p); len(errs) > 0 {
		return Project{}, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.projects[p.Name]
	switch {
	case !ok:
		return Project{}, fmt.Errorf("project %q: %w", p.Name, ErrNotFound)
	case old.Config:
		return Project{}, fmt.Errorf("project %q: %w", p.Name, ErrReadOnly)
	}
	p.Created, p.Config = old.Created, false
	if err := r.put(ctx, p); err != nil {
		return Project{}, fmt.Errorf("update project: %w", err)
	}
	r.projects[p.Name] = &p
	return p, nil
}

// put writes a project through to the store; the caller holds r.mu.
func (r *Registry) put(ctx context.Context, p Project) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	err = r.st.PutDoc(ctx, docKind, p.Name, doc)
	r.version++
	return err
}

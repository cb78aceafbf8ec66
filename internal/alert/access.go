package alert

import (
	"cmp"
	"errors"
	"net/http"
)

// ErrForbidden refuses a request its Access does not allow.
var ErrForbidden = errors.New("forbidden: not permitted in this project")

// Access is what one API request may do with alert rules, project by
// project. A rule belongs to the project its filters name (none: the
// default project); its alerts and history are that project's.
type Access interface {
	// CanRead: see the project's rules, their previews, alerts and
	// history, and preview a new rule on it.
	CanRead(project string) bool
	// CanEdit: create, change, delete and evaluate the project's rules.
	CanEdit(project string) bool
	// CanReadAll: see everything, also the history of rules that no
	// longer exist (and so belong to no project).
	CanReadAll() bool
}

// allowAll is the Access of every request when Options.AccessFor is nil.
type allowAll struct{}

func (allowAll) CanRead(string) bool { return true }
func (allowAll) CanEdit(string) bool { return true }
func (allowAll) CanReadAll() bool    { return true }

// access is what r may do.
func (e *Engine) access(r *http.Request) Access {
	if e.opts.AccessFor == nil {
		return allowAll{}
	}
	return e.opts.AccessFor(r)
}

// project is the project a rule belongs to.
func (e *Engine) project(r Rule) string {
	return cmp.Or(r.Filters.Project, e.opts.DefaultProject)
}

// canRead reports whether a may see what belongs to the rule of that id
// (its alerts, its history): the rule's project's readers, or, for a rule
// that no longer exists, whoever may read everything.
func (e *Engine) canRead(a Access, ruleID string) bool {
	rule, err := e.Rule(ruleID)
	if err != nil {
		return a.CanReadAll()
	}
	return a.CanRead(e.project(rule))
}

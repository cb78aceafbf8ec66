package notify

import (
	"errors"
	"net/http"
)

// ErrForbidden refuses a request its Access does not allow.
var ErrForbidden = errors.New("forbidden: not permitted in this project")

// Access is what one API request may do with action groups and the
// notification log. Action groups hold receivers' addresses: users list
// them to pick one for a rule, administrators change them; the log is for
// administrators. Project keys do neither.
type Access interface {
	// CanListGroups: list and read action groups (secrets are never shown).
	CanListGroups() bool
	// CanManage: create, change, delete and test action groups, and read
	// the notification log.
	CanManage() bool
}

// permission is what an endpoint needs; Register names one per route.
type permission int

const (
	listGroups permission = iota + 1
	manage
)

// allowed returns ErrForbidden unless r's Access has the permission; with
// no Options.AccessFor (authentication off) every request has all.
func (n *Notifier) allowed(r *http.Request, need permission) error {
	if n.opts.AccessFor == nil {
		return nil
	}
	a := n.opts.AccessFor(r)
	ok := false
	switch need {
	case listGroups:
		ok = a.CanListGroups() || a.CanManage()
	case manage:
		ok = a.CanManage()
	}
	if !ok {
		return ErrForbidden
	}
	return nil
}

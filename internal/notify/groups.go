package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/secret"
)

// check validates a group: a name, receivers, each valid, webhook URLs
// allowed, email only with an SMTP server.
func (n *Notifier) check(g *Group) error {
	var errs []error
	if strings.TrimSpace(g.Name) == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if len(g.Receivers) == 0 {
		errs = append(errs, errors.New("receivers: at least one"))
	}
	if len(g.Receivers) > 50 {
		errs = append(errs, errors.New("receivers: at most 50"))
	}
	for i, r := range g.Receivers {
		f := fmt.Sprintf("receivers[%d]", i)
		if err := r.Validate(f); err != nil {
			errs = append(errs, err)
			continue
		}
		if r.URL.IsSet() {
			if err := CheckURL(r.URL.Reveal(), n.opts.AllowPrivateTargets); err != nil {
				errs = append(errs, fmt.Errorf("%s.url: %w", f, err))
			}
		}
		if r.Type == ReceiverEmail && n.opts.SMTP.Host == "" {
			errs = append(errs, fmt.Errorf("%s: email needs notify.smtp.host in the config", f))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return &ValidationError{Err: err}
	}
	return nil
}

// Exists reports whether an action group exists.
func (n *Notifier) Exists(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.groups[id]
	return ok
}

// Group returns one action group.
func (n *Notifier) Group(id string) (Group, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, ok := n.groups[id]
	if !ok {
		return Group{}, ErrNotFound
	}
	return g.clone(), nil
}

// Groups returns every action group, by name then id.
func (n *Notifier) Groups() []Group {
	n.mu.Lock()
	out := make([]Group, 0, len(n.groups))
	for _, g := range n.groups {
		out = append(out, g.clone())
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b Group) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

func (n *Notifier) saveGroup(ctx context.Context, g Group) error {
	doc, err := json.Marshal(toStored(g))
	if err != nil {
		return err
	}
	err = n.opts.State.PutDoc(ctx, KindGroup, g.ID, doc)
	n.writes.Add(1)
	if err != nil {
		return fmt.Errorf("save action group %s: %w", g.ID, err)
	}
	return nil
}

// Create validates and stores a new group with a new id.
func (n *Notifier) Create(ctx context.Context, g Group) (Group, error) {
	if err := n.check(&g); err != nil {
		return Group{}, err
	}
	g.ID, g.ReadOnly = newID(), false
	g.CreatedAt = time.Now().UTC()
	g.UpdatedAt = g.CreatedAt
	if err := n.saveGroup(ctx, g); err != nil {
		return Group{}, err
	}
	n.mu.Lock()
	n.groups[g.ID] = g.clone()
	n.mu.Unlock()
	return g, nil
}

// redactedValue is what a secret reads as through the API; sent back
// unchanged in an update, it keeps the stored secret.
const redactedValue = "[redacted]"

// Update replaces a group. A secret sent back as "[redacted]" keeps the
// value of the receiver at the same position (of the same type).
func (n *Notifier) Update(ctx context.Context, id string, g Group) (Group, error) {
	old, err := n.Group(id)
	if err != nil {
		return Group{}, err
	}
	if old.ReadOnly {
		return Group{}, ErrReadOnly
	}
	for i := range g.Receivers {
		r := &g.Receivers[i]
		var o Receiver
		if i < len(old.Receivers) && old.Receivers[i].Type == r.Type {
			o = old.Receivers[i]
		}
		for _, p := range []struct{ new, old *secret.Secret }{{&r.URL, &o.URL}, {&r.HMACSecret, &o.HMACSecret}, {&r.RoutingKey, &o.RoutingKey}} {
			if p.new.Reveal() == redactedValue {
				*p.new = *p.old
			}
		}
	}
	if err := n.check(&g); err != nil {
		return Group{}, err
	}
	g.ID, g.ReadOnly, g.CreatedAt, g.UpdatedAt = id, false, old.CreatedAt, time.Now().UTC()
	if err := n.saveGroup(ctx, g); err != nil {
		return Group{}, err
	}
	n.mu.Lock()
	n.groups[id] = g.clone()
	n.mu.Unlock()
	return g, nil
}

// Delete removes a group. Rules that name it notify nobody through it.
func (n *Notifier) Delete(ctx context.Context, id string) error {
	g, err := n.Group(id)
	if err != nil {
		return err
	}
	if g.ReadOnly {
		return ErrReadOnly
	}
	err = n.opts.State.DeleteDoc(ctx, KindGroup, id)
	n.writes.Add(1)
	if err != nil {
		return fmt.Errorf("delete action group %s: %w", id, err)
	}
	n.mu.Lock()
	delete(n.groups, id)
	n.mu.Unlock()
	return nil
}

// clone copies the receivers, so that callers cannot change a stored group.
func (g Group) clone() Group {
	g.Receivers = slices.Clone(g.Receivers)
	for i := range g.Receivers {
		g.Receivers[i].To = slices.Clone(g.Receivers[i].To)
	}
	return g
}

// Reload rereads the action groups from the store, so that groups
// created, changed or deleted through another genscope node sharing it
// take effect here; the config file's groups stay as they are. A
// notifier that is not running (one that does not deliver: another node
// does) also rereads the notification log, to show that node's. This
// notifier's own changes are never undone: a Reload that overlapped one
// reads again.
func (n *Notifier) Reload(ctx context.Context) error {
	for range 5 {
		before := n.writes.Load()
		groups := map[string]Group{}
		err := n.opts.State.ListDocs(ctx, KindGroup, func(id string, doc []byte) error {
			var s storedGroup
			if err := json.Unmarshal(doc, &s); err != nil {
				return fmt.Errorf("action group %s: %w", id, err)
			}
			groups[s.ID] = fromStored(s)
			return nil
		})
		if err != nil {
			return fmt.Errorf("reload action groups: %w", err)
		}
		n.mu.Lock()
		running := n.runCtx != nil
		n.mu.Unlock()
		var deliveries map[string]*Delivery
		if !running {
			deliveries = map[string]*Delivery{}
			err := n.opts.State.ListDocs(ctx, KindDelivery, func(id string, doc []byte) error {
				var d Delivery
				if err := json.Unmarshal(doc, &d); err != nil {
					return fmt.Errorf("notification %s: %w", id, err)
				}
				deliveries[d.ID] = &d
				return nil
			})
			if err != nil {
				return fmt.Errorf("reload notification log: %w", err)
			}
		}
		n.mu.Lock()
		if n.writes.Load() != before {
			n.mu.Unlock()
			continue
		}
		for id, g := range n.groups {
			if g.ReadOnly {
				groups[id] = g // the config file's group wins, as in New
			}
		}
		n.groups = groups
		if deliveries != nil && n.runCtx == nil {
			n.deliveries = deliveries
		}
		n.mu.Unlock()
		return nil
	}
	return errors.New("reload action groups: they kept changing while they were read; retrying at the next reload")
}

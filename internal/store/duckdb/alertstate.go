package duckdb

import (
	"context"
	"fmt"
	"time"

	"github.com/genscope/genscope/internal/store"
)

var _ store.StateStore = (*DB)(nil)

// The methods below keep alert rules, action groups, alert state and
// notification logs (store.StateStore: alerting, the notifier's log, auth)
// as JSON documents in the same file as the spans. They do not go
// through the span writer: each is its own small transaction on the
// read pool, durable when it returns.

// PutDoc creates or replaces the document (kind, id).
func (s *DB) PutDoc(ctx context.Context, kind, id string, doc []byte) error {
	_, err := s.sqlDB().ExecContext(ctx, `INSERT INTO state_docs (kind, id, doc, updated_ns) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc, updated_ns = excluded.updated_ns`,
		kind, id, string(doc), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("put %s %s: %w", kind, id, err)
	}
	return nil
}

// DeleteDoc removes the document (kind, id), if any.
func (s *DB) DeleteDoc(ctx context.Context, kind, id string) error {
	if _, err := s.sqlDB().ExecContext(ctx, `DELETE FROM state_docs WHERE kind = $1 AND id = $2`, kind, id); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	return nil
}

// ListDocs calls fn for every document of a kind, in id order.
func (s *DB) ListDocs(ctx context.Context, kind string, fn func(id string, doc []byte) error) error {
	rows, err := s.sqlDB().QueryContext(ctx, `SELECT id, doc FROM state_docs WHERE kind = $1 ORDER BY id`, kind)
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		if err := fn(id, []byte(doc)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AppendEvent adds an event of a kind under key.
func (s *DB) AppendEvent(ctx context.Context, kind, key string, t time.Time, doc []byte) error {
	if _, err := s.sqlDB().ExecContext(ctx, `INSERT INTO state_events (kind, key, time_ns, doc) VALUES ($1, $2, $3, $4)`,
		kind, key, t.UnixNano(), string(doc)); err != nil {
		return fmt.Errorf("append %s: %w", kind, err)
	}
	return nil
}

// ListEvents calls fn for the newest limit events of a kind (of one key,
// or all when key is ""), newest first.
func (s *DB) ListEvents(ctx context.Context, kind, key string, limit int, fn func(doc []byte) error) error {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.sqlDB().QueryContext(ctx, `SELECT doc FROM state_events WHERE kind = $1 AND ($2 = '' OR key = $2)
		ORDER BY time_ns DESC, seq DESC LIMIT $3`, kind, key, limit)
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		if err := fn([]byte(doc)); err != nil {
			return err
		}
	}
	return rows.Err()
}

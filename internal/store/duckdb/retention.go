package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/genscope/genscope/internal/store"
)

var (
	_ store.Retainer = (*DB)(nil)
	_ store.DiskUser = (*DB)(nil)
)

// The methods below enforce retention. Each deletes at most limit rows in
// one short transaction on the writer's connection, between batch writes
// (so ingest waits for one small delete, never for a whole sweep, and
// deletes never conflict with appends); callers loop until a call
// returns less than limit.

// DeleteSpansBefore deletes up to limit spans of the project that started
// before t, with the message records, trace index, trace context rows,
// metric rows (store.MetricStore) and scores (store.ScoreStore, by their
// target's time) of that time. It returns the number of spans deleted.
func (s *DB) DeleteSpansBefore(ctx context.Context, project string, t time.Time, limit int) (int64, error) {
	ns := t.UnixNano()
	return s.retain(ctx, "delete expired spans", func(c *sql.Conn) (int64, error) {
		res, err := c.ExecContext(ctx, `DELETE FROM spans WHERE rowid IN
			(SELECT rowid FROM spans WHERE project = $1 AND start_ns < $2 LIMIT $3)`, project, ns, limit)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		for _, q := range []string{
			`DELETE FROM message_records WHERE rowid IN (SELECT rowid FROM message_records WHERE project = $1 AND time_ns < $2 LIMIT $3)`,
			`DELETE FROM trace_index WHERE rowid IN (SELECT rowid FROM trace_index WHERE project = $1 AND max_start < $2 LIMIT $3)`,
			`DELETE FROM trace_ctx WHERE rowid IN (SELECT rowid FROM trace_ctx WHERE project = $1 AND start_ns < $2 LIMIT $3)`,
			`DELETE FROM metric_points WHERE rowid IN (SELECT rowid FROM metric_points WHERE project = $1 AND time_ns < $2 LIMIT $3)`,
			`DELETE FROM scores WHERE rowid IN (SELECT rowid FROM scores WHERE project = $1 AND target_ns < $2 LIMIT $3)`,
		} {
			res, err := c.ExecContext(ctx, q, project, ns, limit)
			if err != nil {
				return 0, err
			}
			m, _ := res.RowsAffected()
			n = max(n, m) // keep the caller looping while any table has more
		}
		return n, nil
	})
}

// DropContentBefore removes the message content (system instructions,
// inputs, outputs: the content text, the messages in the detail, and the
// message records) of up to limit spans of the project that started
// before t. The spans, their usage, cost and timing stay. It returns the
// number of spans and records changed.
func (s *DB) DropContentBefore(ctx context.Context, project string, t time.Time, limit int) (int64, error) {
	ns := t.UnixNano()
	return s.retain(ctx, "drop expired content", func(c *sql.Conn) (int64, error) {
		res, err := c.ExecContext(ctx, `UPDATE spans SET content_text = '', content_mask = 0,
			detail = json_merge_patch(detail, '{"system_instructions":null,"input_messages":null,"output_messages":null}')::VARCHAR
			WHERE rowid IN (SELECT rowid FROM spans WHERE project = $1 AND start_ns < $2 AND content_mask <> 0 LIMIT $3)`,
			project, ns, limit)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		res, err = c.ExecContext(ctx, `DELETE FROM message_records WHERE rowid IN
			(SELECT rowid FROM message_records WHERE project = $1 AND time_ns < $2 LIMIT $3)`, project, ns, limit)
		if err != nil {
			return 0, err
		}
		m, _ := res.RowsAffected()
		return max(n, m), nil
	})
}

// retain runs f in a transaction on the writer's connection.
func (s *DB) retain(ctx context.Context, what string, f func(*sql.Conn) (int64, error)) (n int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New(what + ": store closed")
	}
	if s.wconn == nil {
		return 0, errors.New(what + ": database unavailable")
	}
	c := s.wconn
	if _, err := c.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return 0, fmt.Errorf("%s: begin: %w", what, err)
	}
	n, err = f(c)
	if err != nil {
		_, _ = c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return 0, fmt.Errorf("%s: commit: %w", what, err)
	}
	return n, nil
}

// DiskBytes is the size of the database file and its write-ahead log.
func (s *DB) DiskBytes() (int64, error) {
	var total int64
	for _, p := range []string{s.path, s.path + ".wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("disk usage: %w", err)
		}
		total += fi.Size()
	}
	return total, nil
}

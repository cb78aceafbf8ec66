package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/store"
)

var _ store.ScoreStore = (*DB)(nil)

// The methods below keep scores (store.ScoreStore) in the scores table
// (migrations/0009_scores.sql). Like the state documents they do not go
// through the span writer: each write is its own small transaction on the
// read pool, durable when it returns.

const scoreCols = `id, project, trace_id, span_id, session_id, name, value, label, comment, source, author, time_ns, updated_ns, target_ns`

// PutScore creates or replaces the score (project, id).
func (s *DB) PutScore(ctx context.Context, sc store.Score) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	_, err := s.sqlDB().ExecContext(ctx, `INSERT INTO scores (`+scoreCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (project, id) DO UPDATE SET trace_id = excluded.trace_id, span_id = excluded.span_id,
		session_id = excluded.session_id, name = excluded.name, value = excluded.value, label = excluded.label,
		comment = excluded.comment, source = excluded.source, author = excluded.author, time_ns = excluded.time_ns,
		updated_ns = excluded.updated_ns, target_ns = excluded.target_ns`,
		sc.ID, sc.Project, sc.TraceID, sc.SpanID, sc.SessionID, sc.Name, sc.Value, sc.Label, sc.Comment, sc.Source, sc.Author,
		sc.Time.UnixNano(), sc.Updated.UnixNano(), sc.TargetTime.UnixNano())
	if err != nil {
		return fmt.Errorf("put score %s: %w", sc.ID, err)
	}
	return nil
}

// DeleteScore removes the score (project, id), if any.
func (s *DB) DeleteScore(ctx context.Context, project, id string) error {
	if _, err := s.sqlDB().ExecContext(ctx, `DELETE FROM scores WHERE project = $1 AND id = $2`, project, id); err != nil {
		return fmt.Errorf("delete score %s: %w", id, err)
	}
	return nil
}

// GetScore returns the score (project, id).
func (s *DB) GetScore(ctx context.Context, project, id string) (store.Score, error) {
	rows, err := s.sqlDB().QueryContext(ctx, `SELECT `+scoreCols+` FROM scores WHERE project = $1 AND id = $2`, project, id)
	if err != nil {
		return store.Score{}, fmt.Errorf("get score %s: %w", id, err)
	}
	out, err := scanScores(rows)
	if err != nil {
		return store.Score{}, fmt.Errorf("get score %s: %w", id, err)
	}
	if len(out) == 0 {
		return store.Score{}, fmt.Errorf("score %s: %w", id, store.ErrNotFound)
	}
	return out[0], nil
}

// scoreWhere is the WHERE clause of a score query and its arguments.
func scoreWhere(q store.ScoreQuery) (string, []any) {
	where := []string{"project = $1"}
	args := []any{q.Project}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if len(q.TraceIDs) > 0 {
		ph := make([]string, len(q.TraceIDs))
		for i, t := range q.TraceIDs {
			args = append(args, t)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		where = append(where, "trace_id IN ("+strings.Join(ph, ", ")+")")
	}
	for _, f := range []struct{ col, v string }{{"span_id", q.SpanID}, {"session_id", q.SessionID}, {"name", q.Name}, {"source", q.Source}} {
		if f.v != "" {
			add(f.col+" = ?", f.v)
		}
	}
	if !q.From.IsZero() {
		add("time_ns >= ?", q.From.UnixNano())
	}
	if !q.To.IsZero() {
		add("time_ns < ?", q.To.UnixNano())
	}
	return strings.Join(where, " AND "), args
}

// Scores lists the selected scores, newest first.
func (s *DB) Scores(ctx context.Context, q store.ScoreQuery) ([]store.Score, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	where, args := scoreWhere(q)
	rows, err := s.sqlDB().QueryContext(ctx, `SELECT `+scoreCols+` FROM scores WHERE `+where+
		fmt.Sprintf(` ORDER BY time_ns DESC, id LIMIT %d`, q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list scores: %w", err)
	}
	out, err := scanScores(rows)
	if err != nil {
		return nil, fmt.Errorf("list scores: %w", err)
	}
	return out, nil
}

func scanScores(rows *sql.Rows) ([]store.Score, error) {
	defer rows.Close()
	out := []store.Score{}
	for rows.Next() {
		var sc store.Score
		var v sql.NullFloat64
		var t, u, target int64
		if err := rows.Scan(&sc.ID, &sc.Project, &sc.TraceID, &sc.SpanID, &sc.SessionID, &sc.Name, &v, &sc.Label, &sc.Comment,
			&sc.Source, &sc.Author, &t, &u, &target); err != nil {
			return nil, err
		}
		if v.Valid {
			sc.Value = &v.Float64
		}
		sc.Time, sc.Updated, sc.TargetTime = time.Unix(0, t).UTC(), time.Unix(0, u).UTC(), time.Unix(0, target).UTC()
		out = append(out, sc)
	}
	return out, rows.Err()
}

// ScoreStats aggregates the selected scores per name.
func (s *DB) ScoreStats(ctx context.Context, q store.ScoreQuery) ([]store.ScoreStat, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	where, args := scoreWhere(q)
	rows, err := s.sqlDB().QueryContext(ctx, `SELECT name, label, count(*), count(value), coalesce(sum(value), 0),
		coalesce(min(value), 0), coalesce(max(value), 0) FROM scores WHERE `+where+` GROUP BY name, label ORDER BY name, label`, args...)
	if err != nil {
		return nil, fmt.Errorf("score stats: %w", err)
	}
	defer rows.Close()
	var groups []store.ScoreGroup
	for rows.Next() {
		var g store.ScoreGroup
		if err := rows.Scan(&g.Name, &g.Label, &g.Count, &g.Values, &g.Sum, &g.Min, &g.Max); err != nil {
			return nil, fmt.Errorf("score stats: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("score stats: %w", err)
	}
	return store.FoldScoreGroups(groups), nil
}

var _ store.ResponseFinder = (*DB)(nil)

// FindResponse returns the newest span of the project started in [from,
// to) whose response id is id.
func (s *DB) FindResponse(ctx context.Context, project, id string, from, to time.Time) (store.SpanRef, error) {
	var hi, lo, span uint64
	var start int64
	err := s.sqlDB().QueryRowContext(ctx, `SELECT trace_hi, trace_lo, span_id, start_ns FROM spans
		WHERE project = $1 AND start_ns >= $2 AND start_ns < $3 AND contains(detail, $4) AND json_extract_string(detail, '$.response_id') = $5
		ORDER BY start_ns DESC LIMIT 1`, project, from.UnixNano(), to.UnixNano(), store.ResponseNeedle(id, true), id).Scan(&hi, &lo, &span, &start)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SpanRef{}, fmt.Errorf("response %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.SpanRef{}, fmt.Errorf("find response %s: %w", id, err)
	}
	return store.SpanRef{TraceID: store.TraceFromHiLo(hi, lo).String(), SpanID: store.SpanFromU64(span).String(), Start: time.Unix(0, start).UTC()}, nil
}

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/store"
)

var _ store.ScoreStore = (*DB)(nil)

// The methods below keep scores (store.ScoreStore) in the scores table
// (sql/0006_scores.sql; the Distributed one over scores_local in a
// cluster). Like the shared state (state.go) a score is never changed in
// place: PutScore and DeleteScore insert a row with a new version
// (stateClock), synchronously, and reads take each score's row of the
// largest version, so the answer does not depend on when the
// ReplacingMergeTree merges. Scores are not in the span writer's batches:
// each write is one INSERT, durable when it returns.

func (s *DB) insertScore(ctx context.Context, sc *store.Score, deleted bool) error {
	var r rowBinary
	r.buf = make([]byte, 0, 256+len(sc.Comment))
	r.day(sc.TargetTime.UnixNano())
	r.str(sc.Project)
	r.str(sc.ID)
	r.u64(stateClock.next())
	r.b(deleted)
	r.str(sc.TraceID)
	r.str(sc.SpanID)
	r.str(sc.SessionID)
	r.str(sc.Name)
	r.b(sc.Value != nil)
	if sc.Value != nil {
		r.f64(*sc.Value)
	} else {
		r.f64(0)
	}
	r.str(sc.Label)
	r.str(sc.Comment)
	r.str(sc.Source)
	r.str(sc.Author)
	r.i64(sc.Time.UnixNano())
	r.i64(sc.Updated.UnixNano())
	r.i64(sc.TargetTime.UnixNano())
	return s.ins.insert(ctx, s.db+".scores", r.buf)
}

// PutScore creates or replaces the score (project, id), durably.
func (s *DB) PutScore(ctx context.Context, sc store.Score) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if err := s.insertScore(ctx, &sc, false); err != nil {
		return fmt.Errorf("put score %s: %w", sc.ID, err)
	}
	return nil
}

// DeleteScore removes the score (project, id), if any, durably: it writes
// a tombstone in the partition of the score's target, so retention drops
// both together.
func (s *DB) DeleteScore(ctx context.Context, project, id string) error {
	sc, err := s.GetScore(ctx, project, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete score %s: %w", id, err)
	}
	if err := s.insertScore(ctx, &sc, true); err != nil {
		return fmt.Errorf("delete score %s: %w", id, err)
	}
	return nil
}

// latestScores is the query of every live score of a project (the
// latest version of each), in columns named a_*.
func (s *DB) latestScores(project string) string {
	return `SELECT id AS a_id, argMax(trace_id, version) AS a_trace, argMax(span_id, version) AS a_span,
		argMax(session_id, version) AS a_session, argMax(name, version) AS a_name, argMax(has_value, version) AS a_has,
		argMax(value, version) AS a_value, argMax(label, version) AS a_label, argMax(comment, version) AS a_comment,
		argMax(source, version) AS a_source, argMax(author, version) AS a_author, argMax(time_ns, version) AS a_time,
		argMax(updated_ns, version) AS a_updated, argMax(target_ns, version) AS a_target
		FROM ` + s.db + `.scores WHERE project = ` + lit(project) + ` GROUP BY id HAVING argMax(deleted, version) = 0`
}

// scoreWhere is the condition of a score query over latestScores.
func scoreWhere(q store.ScoreQuery) string {
	where := []string{"1"}
	if len(q.TraceIDs) > 0 {
		in := make([]string, len(q.TraceIDs))
		for i, t := range q.TraceIDs {
			in[i] = lit(t)
		}
		where = append(where, "a_trace IN ("+strings.Join(in, ", ")+")")
	}
	for _, f := range []struct{ col, v string }{{"a_span", q.SpanID}, {"a_session", q.SessionID}, {"a_name", q.Name}, {"a_source", q.Source}} {
		if f.v != "" {
			where = append(where, f.col+" = "+lit(f.v))
		}
	}
	if !q.From.IsZero() {
		where = append(where, "a_time >= "+i64(q.From.UnixNano()))
	}
	if !q.To.IsZero() {
		where = append(where, "a_time < "+i64(q.To.UnixNano()))
	}
	return strings.Join(where, " AND ")
}

// GetScore returns the score (project, id).
func (s *DB) GetScore(ctx context.Context, project, id string) (store.Score, error) {
	out, err := s.scores(ctx, project, `SELECT * FROM (`+s.latestScores(project)+`) WHERE a_id = `+lit(id))
	if err != nil {
		return store.Score{}, fmt.Errorf("get score %s: %w", id, err)
	}
	if len(out) == 0 {
		return store.Score{}, fmt.Errorf("score %s: %w", id, store.ErrNotFound)
	}
	return out[0], nil
}

// Scores lists the selected scores, newest first.
func (s *DB) Scores(ctx context.Context, q store.ScoreQuery) ([]store.Score, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	out, err := s.scores(ctx, q.Project, `SELECT * FROM (`+s.latestScores(q.Project)+`) WHERE `+scoreWhere(q)+
		` ORDER BY a_time DESC, a_id LIMIT `+strconv.Itoa(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("list scores: %w", err)
	}
	return out, nil
}

func (s *DB) scores(ctx context.Context, project, query string) ([]store.Score, error) {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Score{}
	for rows.Next() {
		sc := store.Score{Project: project}
		var has uint8
		var v float64
		var t, u, target int64
		if err := rows.Scan(&sc.ID, &sc.TraceID, &sc.SpanID, &sc.SessionID, &sc.Name, &has, &v, &sc.Label, &sc.Comment,
			&sc.Source, &sc.Author, &t, &u, &target); err != nil {
			return nil, err
		}
		if has == 1 {
			sc.Value = &v
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
	rows, err := s.conn.Query(ctx, `SELECT a_name, a_label, count(), sum(a_has), sumIf(a_value, a_has = 1),
		minIf(a_value, a_has = 1), maxIf(a_value, a_has = 1)
		FROM (`+s.latestScores(q.Project)+`) WHERE `+scoreWhere(q)+` GROUP BY a_name, a_label ORDER BY a_name, a_label`)
	if err != nil {
		return nil, fmt.Errorf("score stats: %w", err)
	}
	defer rows.Close()
	var groups []store.ScoreGroup
	for rows.Next() {
		var g store.ScoreGroup
		var n, values uint64
		if err := rows.Scan(&g.Name, &g.Label, &n, &values, &g.Sum, &g.Min, &g.Max); err != nil {
			return nil, fmt.Errorf("score stats: %w", err)
		}
		g.Count, g.Values = int64(n), int64(values)
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
	rows, err := s.conn.Query(ctx, `SELECT trace_hi, trace_lo, span_id, start_ns FROM `+s.db+`.spans
		WHERE project = `+lit(project)+` AND start_ns >= `+i64(from.UnixNano())+` AND start_ns < `+i64(to.UnixNano())+
		` AND position(detail, `+lit(store.ResponseNeedle(id, false))+`) > 0 AND visitParamExtractString(detail, 'response_id') = `+lit(id)+
		` ORDER BY start_ns DESC LIMIT 1`)
	if err != nil {
		return store.SpanRef{}, fmt.Errorf("find response %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return store.SpanRef{}, fmt.Errorf("find response %s: %w", id, err)
		}
		return store.SpanRef{}, fmt.Errorf("response %s: %w", id, store.ErrNotFound)
	}
	var hi, lo, span uint64
	var start int64
	if err := rows.Scan(&hi, &lo, &span, &start); err != nil {
		return store.SpanRef{}, fmt.Errorf("find response %s: %w", id, err)
	}
	return store.SpanRef{TraceID: store.TraceFromHiLo(hi, lo).String(), SpanID: store.SpanFromU64(span).String(), Start: time.Unix(0, start).UTC()}, nil
}

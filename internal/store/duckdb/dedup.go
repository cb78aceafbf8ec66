package duckdb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// recentGeneration is how many span keys one generation of the recent set
// holds; the set keeps two (about 16 MB each at most).
const recentGeneration = 1 << 20

// recentSpans remembers the keys (a 64-bit hash of project, trace id, span
// id and start time) of the spans written lately, so the writer recognises
// OTLP retries without reading the table. It holds two generations; when
// the current one is full the older is dropped. Every stored span that
// starts after floor is in the set; a span starting at or before floor is
// checked against the table instead (late spans, retries of old batches).
// Only the writer uses it (under DB.mu).
type recentSpans struct {
	seed      maphash.Seed
	genSize   int
	cur, prev map[uint64]struct{}
	curMax    int64 // the latest start in cur
	prevMax   int64
	floor     int64
	h         maphash.Hash
}

func newRecentSpans(genSize int) *recentSpans {
	r := &recentSpans{seed: maphash.MakeSeed(), genSize: genSize, floor: math.MinInt64,
		curMax: math.MinInt64, prevMax: math.MinInt64}
	r.cur = make(map[uint64]struct{})
	r.h.SetSeed(r.seed)
	return r
}

func (r *recentSpans) key(project string, hi, lo, span uint64, start int64) uint64 {
	r.h.Reset()
	var buf [32]byte
	binary.LittleEndian.PutUint64(buf[0:], hi)
	binary.LittleEndian.PutUint64(buf[8:], lo)
	binary.LittleEndian.PutUint64(buf[16:], span)
	binary.LittleEndian.PutUint64(buf[24:], uint64(start))
	r.h.Write(buf[:])
	r.h.WriteString(project)
	return r.h.Sum64()
}

func (r *recentSpans) has(k uint64) bool {
	if _, ok := r.cur[k]; ok {
		return true
	}
	_, ok := r.prev[k]
	return ok
}

func (r *recentSpans) add(k uint64, start int64) {
	if len(r.cur) >= r.genSize {
		r.floor = max(r.floor, r.prevMax)
		r.prev, r.prevMax = r.cur, r.curMax
		r.cur, r.curMax = make(map[uint64]struct{}, r.genSize), math.MinInt64
	}
	r.cur[k] = struct{}{}
	r.curMax = max(r.curMax, start)
}

// load fills the set from the newest stored spans: those within
// CorrelationWindow of the latest start, at most two generations' worth.
func (r *recentSpans) load(ctx context.Context, db *sql.DB) error {
	var latest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(start_ns) FROM spans`).Scan(&latest); err != nil {
		return fmt.Errorf("load recent span keys: %w", err)
	}
	if !latest.Valid {
		return nil // empty: the set is complete
	}
	limit := 2 * r.genSize
	from := latest.Int64 - window
	rows, err := db.QueryContext(ctx, `SELECT project, trace_hi, trace_lo, span_id, start_ns FROM spans
		WHERE start_ns >= $1 ORDER BY start_ns DESC LIMIT `+strconv.Itoa(limit), from)
	if err != nil {
		return fmt.Errorf("load recent span keys: %w", err)
	}
	defer rows.Close()
	n := 0
	oldest := latest.Int64
	for rows.Next() {
		var p string
		var hi, lo, span uint64
		var start int64
		if err := rows.Scan(&p, &hi, &lo, &span, &start); err != nil {
			return fmt.Errorf("load recent span keys: %w", err)
		}
		r.cur[r.key(p, hi, lo, span, start)] = struct{}{}
		r.curMax = max(r.curMax, start)
		oldest = min(oldest, start)
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load recent span keys: %w", err)
	}
	if n == limit {
		// Spans starting at oldest may be partly loaded.
		r.floor = oldest
	} else {
		r.floor = from - 1
	}
	return nil
}

// storedKeys returns which of spans are stored, read from the table.
func (r *recentSpans) storedKeys(ctx context.Context, q queryer, spans []*genai.Span) (map[spanrows.FullKey]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT project, trace_hi, trace_lo, span_id, start_ns FROM spans WHERE `+spanrows.StoredWhere(spans))
	if err != nil {
		return nil, fmt.Errorf("read stored span keys: %w", err)
	}
	return spanrows.ScanStored(rows)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

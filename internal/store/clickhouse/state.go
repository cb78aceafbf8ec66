package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/genscope/genscope/internal/store"
)

var _ store.StateStore = (*DB)(nil)

// The methods below keep the state every genscope node shares: alert
// rules, action groups, alert state and the notification log
// (alerting and the notifier's log) and projects, keys, users and
// sessions (auth): store.StateStore, as JSON documents in state_docs, and their
// append-only events in state_events (sql/0003_state.sql). They do not go
// through the span writer: each is one synchronous INSERT, durable (on
// its shard, in a cluster) when it returns, or one query.
//
// A document is never changed in place. PutDoc and DeleteDoc insert a
// row with a new version, DeleteDoc one with deleted = 1, and ListDocs
// takes each id's row of the largest version (argMax), so the answer does
// not depend on when the ReplacingMergeTree merges: the last writer, by
// version, wins.
//
// In a cluster the state goes through Distributed tables over the hosts'
// local ones, sharded by key, rather than living on one designated shard:
// every node and shard is alike (nothing to configure, no shard that
// ingest depends on more than the others), any node reads all of it, and
// a synchronous insert (insert_distributed_sync) is on its shard when it
// returns, so every node's next read sees it. The cost is that reading
// the state needs every shard to answer, as span queries already do.

// stateClock hands out document versions and event sequence numbers: the
// wall clock in nanoseconds, but always more than the last one it gave,
// so the writes of this process are ordered even when two fall on the
// same nanosecond or the clock steps back. It is one per process rather
// than per DB on purpose: it is a clock, and two stores open on the same
// database in one process (two nodes in a test) must not reuse a version.
// Versions of different nodes are ordered by their clocks: keep them
// synchronized (NTP).
var stateClock monotonicNanos

type monotonicNanos struct{ last atomic.Uint64 }

func (c *monotonicNanos) next() uint64 {
	for {
		last := c.last.Load()
		v := max(uint64(max(time.Now().UnixNano(), 0)), last+1)
		if c.last.CompareAndSwap(last, v) {
			return v
		}
	}
}

// stateTable is the table state goes through: the Distributed one in a
// cluster.
func (s *DB) stateTable(name string) string {
	if s.cluster != "" {
		return s.db + "." + name + "_dist"
	}
	return s.db + "." + name
}

// bytesCol appends b as a RowBinary String.
func bytesCol(r *rowBinary, b []byte) {
	r.buf = binary.AppendUvarint(r.buf, uint64(len(b)))
	r.buf = append(r.buf, b...)
}

func (s *DB) putDoc(ctx context.Context, kind, id string, deleted bool, doc []byte) error {
	var r rowBinary
	r.buf = make([]byte, 0, len(kind)+len(id)+len(doc)+32)
	r.str(kind)
	r.str(id)
	r.u64(stateClock.next())
	r.b(deleted)
	bytesCol(&r, doc)
	return s.ins.insert(ctx, s.stateTable("state_docs"), r.buf)
}

// PutDoc creates or replaces the document (kind, id), durably.
func (s *DB) PutDoc(ctx context.Context, kind, id string, doc []byte) error {
	if err := s.putDoc(ctx, kind, id, false, doc); err != nil {
		return fmt.Errorf("put %s %s: %w", kind, id, err)
	}
	return nil
}

// DeleteDoc removes the document (kind, id), if any, durably: it writes a
// tombstone, a newer version that ListDocs skips.
func (s *DB) DeleteDoc(ctx context.Context, kind, id string) error {
	if err := s.putDoc(ctx, kind, id, true, nil); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	return nil
}

// ListDocs calls fn for the latest version of every document of a kind
// that is not deleted, in id order. It reads them all before the first
// call, so fn may use the store.
func (s *DB) ListDocs(ctx context.Context, kind string, fn func(id string, doc []byte) error) error {
	rows, err := s.conn.Query(ctx, `SELECT id, argMax(doc, version) FROM `+s.stateTable("state_docs")+
		` WHERE kind = `+lit(kind)+` GROUP BY id HAVING argMax(deleted, version) = 0 ORDER BY id`)
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	type entry struct{ id, doc string }
	var all []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.id, &e.doc); err != nil {
			rows.Close()
			return fmt.Errorf("list %s: %w", kind, err)
		}
		all = append(all, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	for _, e := range all {
		if err := fn(e.id, []byte(e.doc)); err != nil {
			return err
		}
	}
	return nil
}

// AppendEvent adds an event of a kind under key at time t, durably.
// Events of the same time keep the order this process appended them in.
func (s *DB) AppendEvent(ctx context.Context, kind, key string, t time.Time, doc []byte) error {
	var r rowBinary
	r.buf = make([]byte, 0, len(kind)+len(key)+len(doc)+32)
	r.str(kind)
	r.str(key)
	r.i64(t.UnixNano())
	r.u64(stateClock.next())
	bytesCol(&r, doc)
	if err := s.ins.insert(ctx, s.stateTable("state_events"), r.buf); err != nil {
		return fmt.Errorf("append %s: %w", kind, err)
	}
	return nil
}

// ListEvents calls fn for the newest limit events of a kind (of one key,
// or all when key is ""), newest first; limit <= 0 means 100. It reads
// them all before the first call.
func (s *DB) ListEvents(ctx context.Context, kind, key string, limit int, fn func(doc []byte) error) error {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT doc FROM ` + s.stateTable("state_events") + ` WHERE kind = ` + lit(kind)
	if key != "" {
		q += ` AND key = ` + lit(key)
	}
	q += ` ORDER BY time_ns DESC, seq DESC LIMIT ` + strconv.Itoa(limit)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	var docs []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return fmt.Errorf("list %s: %w", kind, err)
		}
		docs = append(docs, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	for _, d := range docs {
		if err := fn([]byte(d)); err != nil {
			return err
		}
	}
	return nil
}

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/genscope/genscope/internal/store"
)

var _ store.Retainer = (*DB)(nil)

// Retention (the app's retention loop calls DeleteSpansBefore and
// DropContentBefore once per project and sweep, see internal/app) works on
// whole UTC days, the partitions of every table partitioned by day:
//
//   - A day every project in it is past its span retention is dropped
//     (ALTER TABLE ... DROP PARTITION) from every table partitioned by
//     day: spans, message_records, trace_ctx, the rollups, and any table
//     added later with PARTITION BY day. A table that must outlive the
//     spans' retention must not be partitioned by day.
//   - Where a day also holds projects that keep it, the expired project's
//     rows are deleted by a mutation (ALTER TABLE ... DELETE WHERE project
//     = ... AND day < ...), which rewrites only the parts holding such rows.
//   - Content retention is a mutation too: ALTER TABLE spans UPDATE
//     content_text = '', content_mask = 0, detail without its messages,
//     and a DELETE of the project's message records.
//
// So rows are kept until the end of the UTC day their retention ends in
// (up to a day longer than on the embedded store). Mutations run in the
// background on the server: a call returns when they are scheduled, and
// counts the rows they will change. A table with a mutation still running
// gets no new one (the next sweep looks again), and the same mutation
// (table, project, day) is not issued again for an hour, so a sweep every
// minute does not pile them up. In cluster mode every host's local tables
// are worked on, host by host, over its own connection.
//
// A day is dropped only when every project found in it has a known span
// retention that covers it: a project is known when its retention was
// passed in a call since this project's previous sweep, so the first call
// for a project after the store opens only records its cutoff (the next
// sweep, a minute later, acts), and a project whose retention is removed
// stops counting after one sweep. Projects with no retention (never passed
// in) keep their days. Several genscope nodes may run retention at once:
// dropping a day twice is harmless, and a node does not issue a mutation
// while another one's runs on the table.

// contentMark is written in the detail JSON after the other fields and
// before the span's messages (write.go), so content retention can cut the
// messages off with string functions (18.16 has no JSON editing). It is
// the key "c" in an escape no JSON encoder writes, so it appears nowhere
// else in a detail.
const contentMark = `,"\u0063":0`

// reissueAfter is how long a mutation issued for a table, project and day
// is not issued again (unless the day moves on).
const reissueAfter = time.Hour

// sweepRepeat: calls for the same project closer together than this are
// one sweep (the app's loop calls again while a call returns a full
// batch).
const sweepRepeat = 10 * time.Second

type cutoff struct {
	day int64     // days before this are expired
	at  time.Time // when it was passed in
}

type issueKey struct {
	host, table, project, what string
}

type issued struct {
	day int64
	at  time.Time
}

// retention is the DB's retention state. Its calls are serialized.
type retention struct {
	mu     sync.Mutex
	cut    map[string]cutoff    // project -> span retention cutoff
	last   map[string]time.Time // project -> its latest call
	prev   map[string]time.Time // project -> its call in the previous sweep
	done   map[issueKey]issued
	hosts  []retHost // cluster mode: one per host, connected lazily
	now    func() time.Time
	closed bool
}

type retHost struct {
	addr string
	conn driver.Conn
}

func (r *retention) init() {
	if r.cut == nil {
		r.cut, r.last, r.prev, r.done = map[string]cutoff{}, map[string]time.Time{}, map[string]time.Time{}, map[issueKey]issued{}
	}
	if r.now == nil {
		r.now = time.Now
	}
}

// close closes the connections to the cluster's hosts.
func (r *retention) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, h := range r.hosts {
		if h.conn != nil {
			_ = h.conn.Close()
		}
	}
	r.hosts = nil
}

// hostConns returns a connection per host whose local tables hold data:
// the store's own in single-server mode.
func (s *DB) hostConns(ctx context.Context) ([]retHost, error) {
	r := &s.ret
	if r.closed {
		return nil, errors.New("store closed")
	}
	if s.cluster == "" {
		return []retHost{{addr: "", conn: s.conn}}, nil
	}
	if r.hosts == nil {
		hs, err := s.clusterHosts(ctx, s.cluster)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			r.hosts = append(r.hosts, retHost{addr: h[0]})
		}
	}
	o := Options{Addrs: []string{"x:0"}, Username: s.ins.user, Password: s.ins.password, ReadTimeout: s.ins.client.Timeout, MaxOpenConns: 2}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	for i := range r.hosts {
		h := &r.hosts[i]
		if h.conn != nil {
			continue
		}
		c, err := connect(ctx, o, []string{h.addr}, s.dbName)
		if err != nil {
			return nil, fmt.Errorf("connect to cluster host %s: %w", h.addr, err)
		}
		h.conn = c
	}
	return r.hosts, nil
}

// DeleteSpansBefore enforces a project's span retention: the whole days
// before t's day go, as partitions where every project in them is past its
// retention, else as a mutation deleting the project's rows. It returns
// the spans dropped and the spans the mutations it issued will delete
// (limit is not used: one call does everything, and the next returns 0).
func (s *DB) DeleteSpansBefore(ctx context.Context, project string, t time.Time, _ int) (int64, error) {
	r := &s.ret
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	now := r.now()
	cut := dayOf(t.UnixNano())
	r.cut[project] = cutoff{day: cut, at: now}
	last, seen := r.last[project]
	if seen && now.Sub(last) >= sweepRepeat {
		r.prev[project] = last
	}
	r.last[project] = now
	prev, ok := r.prev[project]
	if !ok {
		// The first sweep only learns every project's cutoff.
		return 0, nil
	}
	known := map[string]int64{}
	for p, c := range r.cut {
		if !c.at.Before(prev) {
			known[p] = c.day
		}
	}
	hosts, err := s.hostConns(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired spans: %w", err)
	}
	var n int64
	for _, h := range hosts {
		m, err := s.expireSpans(ctx, h, project, cut, known, now)
		n += m
		if err != nil {
			return n, fmt.Errorf("delete expired spans of %s%s: %w", project, onHost(h), err)
		}
	}
	return n, nil
}

func onHost(h retHost) string {
	if h.addr == "" {
		return ""
	}
	return " on " + h.addr
}

// dayTable is a table partitioned by day.
type dayTable struct {
	name       string
	hasProject bool
	// parts: rows per day (partition) in the table's active parts.
	parts map[int64]uint64
}

// dayTables lists the database's tables partitioned by day, with their
// partitions, on one host.
func (s *DB) dayTables(ctx context.Context, c driver.Conn) ([]*dayTable, error) {
	rows, err := c.Query(ctx, `SELECT name, toUInt8(name IN (SELECT table FROM system.columns WHERE database = `+lit(s.dbName)+` AND name = 'project'))
		FROM system.tables WHERE database = `+lit(s.dbName)+` AND partition_key = 'day' AND engine LIKE '%MergeTree' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var out []*dayTable
	byName := map[string]*dayTable{}
	for rows.Next() {
		t := &dayTable{parts: map[int64]uint64{}}
		var hp uint8
		if err := rows.Scan(&t.name, &hp); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list tables: %w", err)
		}
		t.hasProject = hp == 1
		out = append(out, t)
		byName[t.name] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	rows, err = c.Query(ctx, `SELECT table, partition_id, sum(rows) FROM system.parts WHERE database = `+lit(s.dbName)+` AND active GROUP BY table, partition_id`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, id string
		var n uint64
		if err := rows.Scan(&table, &id, &n); err != nil {
			return nil, fmt.Errorf("list partitions: %w", err)
		}
		t := byName[table]
		if t == nil {
			continue
		}
		d, ok := partitionDay(id)
		if !ok {
			return nil, fmt.Errorf("table %s: partition %q is not a day", table, id)
		}
		t.parts[d] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	return out, nil
}

// partitionDay parses the id of a Date partition (YYYYMMDD).
func partitionDay(id string) (int64, bool) {
	t, err := time.Parse("20060102", id)
	if err != nil {
		return 0, false
	}
	return dayOf(t.UnixNano()), true
}

func dayID(d int64) string {
	return time.Unix(d*86400, 0).UTC().Format("20060102")
}

func dayLit(d int64) string {
	return "'" + time.Unix(d*86400, 0).UTC().Format("2006-01-02") + "'"
}

func (s *DB) expireSpans(ctx context.Context, h retHost, project string, cut int64, known map[string]int64, now time.Time) (int64, error) {
	tables, err := s.dayTables(ctx, h.conn)
	if err != nil {
		return 0, err
	}
	spansTable := s.local("spans")
	// Which projects each expired day holds, over every table.
	inDay := map[int64]map[string]bool{}
	mine := map[string]map[int64]uint64{} // table -> day -> rows of the project
	for _, t := range tables {
		expired := false
		for d := range t.parts {
			if d < cut {
				expired = true
				if inDay[d] == nil {
					inDay[d] = map[string]bool{}
				}
			}
		}
		if !expired || !t.hasProject {
			continue
		}
		rows, err := h.conn.Query(ctx, `SELECT toInt64(day), project, count() FROM `+s.db+`.`+quoteIdent(t.name)+
			` WHERE day < `+dayLit(cut)+` GROUP BY day, project`)
		if err != nil {
			return 0, fmt.Errorf("projects of %s: %w", t.name, err)
		}
		for rows.Next() {
			var d int64
			var p string
			var n uint64
			if err := rows.Scan(&d, &p, &n); err != nil {
				rows.Close()
				return 0, fmt.Errorf("projects of %s: %w", t.name, err)
			}
			if inDay[d] == nil {
				inDay[d] = map[string]bool{}
			}
			inDay[d][p] = true
			if p == project {
				if mine[t.name] == nil {
					mine[t.name] = map[int64]uint64{}
				}
				mine[t.name][d] = n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("projects of %s: %w", t.name, err)
		}
	}
	var n int64
	for d, ps := range inDay {
		drop := true
		for p := range ps {
			if c, ok := known[p]; !ok || c <= d {
				drop = false
				break
			}
		}
		if !drop {
			continue
		}
		for _, t := range tables {
			rows, ok := t.parts[d]
			if !ok {
				continue
			}
			if err := h.conn.Exec(ctx, `ALTER TABLE `+s.db+`.`+quoteIdent(t.name)+` DROP PARTITION ID '`+dayID(d)+`'`); err != nil {
				return n, fmt.Errorf("drop day %s of %s: %w", dayID(d), t.name, err)
			}
			if t.name == spansTable {
				n += int64(rows)
			}
		}
		for _, m := range mine {
			delete(m, d)
		}
		s.log.Info("clickhouse retention: day dropped", "day", dayID(d), "host", h.addr)
	}
	// The project's rows left in expired days: a mutation per table.
	for _, t := range tables {
		var left uint64
		for _, c := range mine[t.name] {
			left += c
		}
		if left == 0 {
			continue
		}
		did, err := s.mutate(ctx, h, t.name, project, "delete", cut, now,
			`ALTER TABLE `+s.db+`.`+quoteIdent(t.name)+` DELETE WHERE project = `+lit(project)+` AND day < `+dayLit(cut))
		if err != nil {
			return n, err
		}
		if did && t.name == spansTable {
			n += int64(left)
		}
	}
	return n, nil
}

// mutate issues a mutation on a table unless one is running there, or the
// same one was issued less than reissueAfter ago. It reports whether it
// issued it.
func (s *DB) mutate(ctx context.Context, h retHost, table, project, what string, day int64, now time.Time, stmt string) (bool, error) {
	r := &s.ret
	k := issueKey{h.addr, table, project, what}
	if d, ok := r.done[k]; ok && d.day >= day && now.Sub(d.at) < reissueAfter {
		return false, nil
	}
	var running uint64
	if err := h.conn.QueryRow(ctx, `SELECT count() FROM system.mutations WHERE database = `+lit(s.dbName)+
		` AND table = `+lit(table)+` AND is_done = 0`).Scan(&running); err != nil {
		return false, fmt.Errorf("mutations of %s: %w", table, err)
	}
	if running > 0 {
		return false, nil
	}
	if err := h.conn.Exec(ctx, stmt); err != nil {
		return false, fmt.Errorf("%s %s: %w", what, table, err)
	}
	r.done[k] = issued{day: day, at: now}
	s.log.Info("clickhouse retention: mutation issued", "table", table, "project", project, "what", what, "before", dayLit(day), "host", h.addr)
	return true, nil
}

// DropContentBefore enforces a project's content retention on the whole
// days before t's day: a mutation clears the content of its spans (text,
// mask, the messages in the detail; usage, cost and timing stay) and one
// deletes its message records. It returns the spans and records the
// mutations it issued will change (limit is not used).
func (s *DB) DropContentBefore(ctx context.Context, project string, t time.Time, _ int) (int64, error) {
	r := &s.ret
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	now := r.now()
	cut := dayOf(t.UnixNano())
	hosts, err := s.hostConns(ctx)
	if err != nil {
		return 0, fmt.Errorf("drop expired content: %w", err)
	}
	var n int64
	for _, h := range hosts {
		m, err := s.expireContent(ctx, h, project, cut, now)
		n += m
		if err != nil {
			return n, fmt.Errorf("drop expired content of %s%s: %w", project, onHost(h), err)
		}
	}
	return n, nil
}

func (s *DB) expireContent(ctx context.Context, h retHost, project string, cut int64, now time.Time) (int64, error) {
	where := ` WHERE project = ` + lit(project) + ` AND day < ` + dayLit(cut)
	mark := lit(contentMark)
	var n int64
	for _, x := range []struct{ table, cond, stmt string }{
		{s.local("spans"), ` AND content_mask != 0`, `UPDATE content_text = '', content_mask = 0,
			detail = if(position(detail, ` + mark + `) > 0, concat(substring(detail, 1, position(detail, ` + mark + `) - 1), '}'), detail)`},
		{s.local("message_records"), ``, `DELETE`},
	} {
		var c uint64
		if err := h.conn.QueryRow(ctx, `SELECT count() FROM `+s.db+`.`+x.table+where+x.cond).Scan(&c); err != nil {
			return n, fmt.Errorf("count expired content in %s: %w", x.table, err)
		}
		if c == 0 {
			continue
		}
		did, err := s.mutate(ctx, h, x.table, project, "content", cut, now, `ALTER TABLE `+s.db+`.`+x.table+` `+x.stmt+where+x.cond)
		if err != nil {
			return n, err
		}
		if did {
			n += int64(c)
		}
	}
	return n, nil
}

// local is the name of a table's local table (the table itself outside
// cluster mode).
func (s *DB) local(table string) string {
	if s.cluster != "" {
		return table + "_local"
	}
	return table
}

// quoteIdent quotes a table name read from system.tables.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(name, `\`, `\\`), "`", "\\`") + "`"
}

package clickhouse

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// The store contract; each optional capability (store.Aggregator ...) is
// guarded next to its methods. There is no store.DiskUser: the disk is
// the server's.
var _ store.Store = (*DB)(nil)

//go:embed sql/*.sql
var sqlFiles embed.FS

// Options say where the ClickHouse server (or cluster) is and how to talk
// to it. Zero durations and counts take the defaults noted.
type Options struct {
	// Addrs are host:port addresses of the native protocol (9000 by
	// default); the client uses the first that answers.
	Addrs []string
	// HTTPAddr is the host:port of the HTTP interface inserts go to;
	// default the first address's host, port 8123.
	HTTPAddr string
	Database string // created if missing; default "genscope"
	Username string // default "default"
	Password string // never logged
	// Cluster, when set, names a cluster of the servers' remote_servers:
	// the tables are created on every host of it (local tables plus
	// Distributed tables over them), and reads and writes go through the
	// Distributed tables.
	Cluster      string
	DialTimeout  time.Duration // default 5s
	ReadTimeout  time.Duration // default 60s: the longest a query or insert may wait for the server
	MaxOpenConns int           // default 8
	Logger       *slog.Logger  // default: discard
	// ExactPercentiles is the most calls of the project a query's time
	// range may hold for exact percentiles (from the spans); beyond it
	// they are t-digest estimates from the rollups. Default 100,000;
	// negative: always estimates where the rollups can answer.
	ExactPercentiles int64
	// NoRollup answers every aggregate from the spans (for comparisons).
	NoRollup bool
	// TLS, when set, is used on both protocols (HTTPS for inserts); the
	// default ports are then ClickHouse's secure ones.
	TLS *tls.Config
}

// DB is the ClickHouse store. Its methods are safe for concurrent use;
// Write calls are serialized.
type DB struct {
	conn    driver.Conn
	ins     *inserter
	db      string // quoted database name
	dbName  string
	cluster string
	global  string // "GLOBAL " in cluster mode: subqueries over Distributed tables run once
	pct     pctFunc
	// inclusive: the server has quantilesExactInclusive (20.x and later).
	inclusive bool
	log       *slog.Logger

	mu     sync.Mutex // serializes Write and Close
	closed bool
	recent *recentSpans
	gate   spanrows.PairGate // where the gateway's call records are (pair.go)
	// noPairing turns the one-call rule off (the benchmark's baseline).
	noPairing bool

	ret retention // retention state and per-host connections (retention.go)

	metricsMu sync.Mutex // serializes metric writes (metrics.go)

	noRollup   bool
	exactLimit int64 // Options.ExactPercentiles; negative: none exact
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (o *Options) defaults() error {
	if len(o.Addrs) == 0 {
		return errors.New("no address")
	}
	if o.Database == "" {
		o.Database = "genscope"
	}
	if !identRE.MatchString(o.Database) {
		return fmt.Errorf("database name %q: letters, digits and _ only", o.Database)
	}
	if o.Cluster != "" && !identRE.MatchString(o.Cluster) {
		return fmt.Errorf("cluster name %q: letters, digits and _ only", o.Cluster)
	}
	if o.HTTPAddr == "" {
		host, _, err := net.SplitHostPort(o.Addrs[0])
		if err != nil {
			return fmt.Errorf("address %q: %w", o.Addrs[0], err)
		}
		port := "8123"
		if o.TLS != nil {
			port = "8443"
		}
		o.HTTPAddr = net.JoinHostPort(host, port)
	}
	if o.Username == "" {
		o.Username = "default"
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = time.Minute
	}
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ExactPercentiles == 0 {
		o.ExactPercentiles = 100_000
	}
	return nil
}

func connect(ctx context.Context, o Options, addrs []string, database string) (driver.Conn, error) {
	conn, err := ch.Open(&ch.Options{
		Addr:             addrs,
		Auth:             ch.Auth{Database: database, Username: o.Username, Password: o.Password},
		DialTimeout:      o.DialTimeout,
		ReadTimeout:      o.ReadTimeout,
		MaxOpenConns:     o.MaxOpenConns,
		MaxIdleConns:     o.MaxOpenConns,
		ConnMaxLifetime:  time.Hour,
		Compression:      &ch.Compression{Method: ch.CompressionLZ4},
		ConnOpenStrategy: ch.ConnOpenInOrder,
		TLS:              o.TLS,
	})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, o.DialTimeout+o.ReadTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// Open connects to ClickHouse, creates the database if needed and migrates
// its schema (on every host of the cluster in cluster mode).
func Open(ctx context.Context, o Options) (*DB, error) {
	if err := o.defaults(); err != nil {
		return nil, fmt.Errorf("open clickhouse store: %w", err)
	}
	where := strings.Join(o.Addrs, ",")
	// Connect to the server's default database first: ours may not exist.
	conn, err := connect(ctx, o, o.Addrs, "default")
	if err != nil {
		return nil, fmt.Errorf("open clickhouse store %s: %w", where, err)
	}
	s := &DB{conn: conn, db: "`" + o.Database + "`", dbName: o.Database, cluster: o.Cluster, log: o.Logger,
		noRollup: o.NoRollup, exactLimit: o.ExactPercentiles}
	if o.Cluster != "" {
		s.global = "GLOBAL "
	}
	settings := url.Values{"database": {o.Database}}
	if o.Cluster != "" {
		// Synchronous through the Distributed table: a Write that
		// returned is on the shards.
		settings.Set("insert_distributed_sync", "1")
	}
	s.ins = newInserter(o.HTTPAddr, o.Username, o.Password, o.ReadTimeout, settings, o.TLS)
	if err := s.init(ctx, o); err != nil {
		_ = conn.Close()
		s.ins.close()
		return nil, fmt.Errorf("open clickhouse store %s database %s: %w", where, o.Database, err)
	}
	return s, nil
}

func (s *DB) init(ctx context.Context, o Options) error {
	hosts := [][]string{o.Addrs}
	if o.Cluster != "" {
		hs, err := s.clusterHosts(ctx, o.Cluster)
		if err != nil {
			return err
		}
		hosts = hs
	}
	for _, h := range hosts {
		c := s.conn
		if o.Cluster != "" {
			var err error
			if c, err = connect(ctx, o, h, "default"); err != nil {
				return fmt.Errorf("connect to cluster host %s: %w", h[0], err)
			}
		}
		err := migrate(ctx, c, o.Database, o.Cluster, s.log)
		if c != s.conn {
			_ = c.Close()
		}
		if err != nil {
			return fmt.Errorf("migrate %s: %w", strings.Join(h, ","), err)
		}
	}
	pct, inclusive, err := detectPct(ctx, s.conn)
	if err != nil {
		return err
	}
	s.pct, s.inclusive = pct, inclusive
	var latest int64
	if err := s.conn.QueryRow(ctx, `SELECT toInt64(max(start_ns)) FROM `+s.db+`.spans`).Scan(&latest); err != nil {
		return fmt.Errorf("latest span: %w", err)
	}
	s.recent = newRecentSpans(recentGeneration)
	if latest != 0 {
		// Spans starting at or before the latest stored one are checked
		// against the table; later ones against what this node wrote.
		s.recent.floor = latest
	}
	return s.loadGate(ctx)
}

// clusterHosts lists the native addresses of the cluster's hosts, one
// entry (its replicas) per shard.
func (s *DB) clusterHosts(ctx context.Context, cluster string) ([][]string, error) {
	rows, err := s.conn.Query(ctx, `SELECT toUInt32(shard_num), host_address, toUInt16(port) FROM system.clusters WHERE cluster = `+lit(cluster)+` ORDER BY shard_num, replica_num`)
	if err != nil {
		return nil, fmt.Errorf("cluster %s hosts: %w", cluster, err)
	}
	defer rows.Close()
	byShard := map[uint32][]string{}
	var shards []uint32
	for rows.Next() {
		var shard uint32
		var host string
		var port uint16
		if err := rows.Scan(&shard, &host, &port); err != nil {
			return nil, fmt.Errorf("cluster %s hosts: %w", cluster, err)
		}
		if _, ok := byShard[shard]; !ok {
			shards = append(shards, shard)
		}
		byShard[shard] = append(byShard[shard], net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cluster %s hosts: %w", cluster, err)
	}
	if len(shards) == 0 {
		return nil, fmt.Errorf("cluster %s: not in system.clusters of the server", cluster)
	}
	var out [][]string
	for _, sh := range shards {
		// Each replica has its own local tables (no ZooKeeper needed).
		for _, h := range byShard[sh] {
			out = append(out, []string{h})
		}
	}
	return out, nil
}

// migration is one embedded SQL file.
type migration struct {
	version int
	name    string
	stmts   []string
}

func loadMigrations() ([]migration, []string, error) {
	ents, err := fs.ReadDir(sqlFiles, "sql")
	if err != nil {
		return nil, nil, err
	}
	var ms []migration
	var dist []string
	for _, e := range ents {
		raw, err := sqlFiles.ReadFile("sql/" + e.Name())
		if err != nil {
			return nil, nil, err
		}
		stmts := splitSQL(string(raw))
		if e.Name() == "distributed.sql" {
			dist = stmts
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, nil, fmt.Errorf("migration %s: name must start with its version", e.Name())
		}
		ms = append(ms, migration{version: v, name: e.Name(), stmts: stmts})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, dist, nil
}

// splitSQL splits a file into statements at lines ending with ";",
// dropping comment lines.
func splitSQL(text string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

// migrate brings one server's schema up to date. Every step is idempotent
// (IF NOT EXISTS, or a check first), so nodes starting together may run
// the same migration concurrently; schema_migrations records what was
// applied, and a version recorded twice is harmless.
func migrate(ctx context.Context, c driver.Conn, database, cluster string, log *slog.Logger) error {
	ms, dist, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	db := "`" + database + "`"
	if err := c.Exec(ctx, `CREATE DATABASE IF NOT EXISTS `+db); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+db+`.schema_migrations (version UInt32, name String, applied DateTime)
		ENGINE = MergeTree() ORDER BY version`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	have, unlock, err := lockMigrations(ctx, c, db, ms[len(ms)-1].version, log)
	if err != nil {
		return err
	}
	defer unlock()
	suffix := ""
	if cluster != "" {
		suffix = "_local"
	}
	repl := strings.NewReplacer("{db}", db, "{spans}", "spans"+suffix,
		"{message_records}", "message_records"+suffix, "{trace_ctx}", "trace_ctx"+suffix, "{cluster}", lit(cluster),
		"{metric_points}", "metric_points"+suffix, "{scores}", "scores"+suffix,
		"{rollup}", "rollup_hourly"+suffix, "{rollup_mv}", "rollup_hourly_mv"+suffix,
		"{rollup_keys}", rollupKeys, "{uncounted}", "uncounted"+suffix,
		"{rollup_dim}", "rollup_dim"+suffix, "{rollup_dim_mv}", "rollup_dim_mv"+suffix,
		"{rollup_dim_keys}", rollupDimKeys, "{rollup_dim_values}", rollupDimValues,
		"{rollup_day}", "rollup_dim_day"+suffix, "{rollup_day_mv}", "rollup_dim_day_mv"+suffix,
		// Migrations before 0007 wrote the states without n.
		"{rollup_select}", rollupHour+rollupDims+",\n\t"+rollupStatesV1, "{rollup_dim_select}", rollupDimHead+rollupStatesV1,
		"{rollup_day_select}", rollupDayHead+rollupStatesV1,
		"{rollup_select_n}", rollupSelect, "{rollup_dim_select_n}", rollupDimSelect, "{rollup_day_select_n}", rollupDaySelect,
		"{rollup_retract_mv}", "rollup_hourly_retract_mv"+suffix, "{rollup_dim_retract_mv}", "rollup_dim_retract_mv"+suffix,
		"{rollup_day_retract_mv}", "rollup_dim_day_retract_mv"+suffix,
		"{rollup_retract}", rollupHour+rollupDims+",\n\t"+rollupRetract, "{rollup_dim_retract}", rollupDimHead+rollupRetract,
		"{rollup_day_retract}", rollupDayHead+rollupRetract)
	for _, m := range ms {
		if uint32(m.version) <= have {
			continue
		}
		for _, st := range m.stmts {
			st = repl.Replace(st)
			if done, err := columnExists(ctx, c, st); err != nil || done {
				if err != nil {
					return fmt.Errorf("migration %s: %w", m.name, err)
				}
				continue
			}
			if err := c.Exec(ctx, st); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if err := c.Exec(ctx, `INSERT INTO `+db+`.schema_migrations SELECT `+strconv.Itoa(m.version)+`, `+lit(m.name)+`, now()`); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
		log.Info("clickhouse migration applied", "database", database, "migration", m.name)
	}
	if cluster != "" {
		for _, st := range dist {
			if err := c.Exec(ctx, repl.Replace(st)); err != nil {
				return fmt.Errorf("distributed tables: %w", err)
			}
		}
		if err := syncDistributed(ctx, c, database); err != nil {
			return fmt.Errorf("distributed tables: %w", err)
		}
	}
	return nil
}

// addColumn matches a migration's ALTER TABLE db.table ADD COLUMN name.
var addColumn = regexp.MustCompile("^ALTER TABLE `([^`]+)`\\.(\\w+) ADD COLUMN (\\w+) ")

// columnExists reports whether st adds a column that exists already (a
// migration interrupted after it ran): 18.16 has no ADD COLUMN IF NOT
// EXISTS.
func columnExists(ctx context.Context, c driver.Conn, st string) (bool, error) {
	m := addColumn.FindStringSubmatch(st)
	if m == nil {
		return false, nil
	}
	var n uint64
	err := c.QueryRow(ctx, `SELECT count() FROM system.columns WHERE database = `+lit(m[1])+` AND table = `+lit(m[2])+` AND name = `+lit(m[3])).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read columns of %s: %w", m[2], err)
	}
	return n > 0, nil
}

// syncDistributed adds to each Distributed table (made AS its local table
// when the cluster was first set up) the columns migrations added to the
// local table since, in the local table's order (system.columns lists a
// table's columns in order; 18.16 has no position column).
func syncDistributed(ctx context.Context, c driver.Conn, database string) error {
	rows, err := c.Query(ctx, `SELECT l.table, l.name, l.type FROM system.columns AS l
		WHERE l.database = `+lit(database)+` AND endsWith(l.table, '_local')
		AND concat(substring(l.table, 1, length(l.table) - 6), '.', l.name) NOT IN
			(SELECT concat(table, '.', name) FROM system.columns WHERE database = `+lit(database)+`)
		AND substring(l.table, 1, length(l.table) - 6) IN
			(SELECT name FROM system.tables WHERE database = `+lit(database)+` AND engine = 'Distributed')`)
	if err != nil {
		return fmt.Errorf("compare columns: %w", err)
	}
	var alters []string
	for rows.Next() {
		var table, name, typ string
		if err := rows.Scan(&table, &name, &typ); err != nil {
			rows.Close()
			return fmt.Errorf("compare columns: %w", err)
		}
		alters = append(alters, "ALTER TABLE `"+database+"`."+strings.TrimSuffix(table, "_local")+" ADD COLUMN "+name+" "+typ)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compare columns: %w", err)
	}
	for _, a := range alters {
		if err := c.Exec(ctx, a); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}

// migrationLockWait is how long a node waits for another one's migration.
var migrationLockWait = 10 * time.Minute

// lockMigrations returns the applied schema version and, when migrations
// are pending, holds the database's migration lock: a table that only one
// CREATE TABLE succeeds in making, so one node at a time migrates (a
// backfill must not run twice). Nodes that find the lock taken wait for
// it to go and read the version again.
func lockMigrations(ctx context.Context, c driver.Conn, db string, latest int, log *slog.Logger) (uint32, func(), error) {
	deadline := time.Now().Add(migrationLockWait)
	for {
		var have uint32
		if err := c.QueryRow(ctx, `SELECT toUInt32(max(version)) FROM `+db+`.schema_migrations`).Scan(&have); err != nil {
			return 0, nil, fmt.Errorf("read schema version: %w", err)
		}
		if int(have) >= latest {
			return have, func() {}, nil
		}
		err := c.Exec(ctx, `CREATE TABLE `+db+`.migration_lock (since DateTime) ENGINE = Log`)
		if err == nil {
			unlock := func() {
				if err := c.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+db+`.migration_lock`); err != nil {
					log.Error("clickhouse migration lock not released: drop the table migration_lock", "database", db, "err", err)
				}
			}
			// The holder before us may have finished in between.
			if err := c.QueryRow(ctx, `SELECT toUInt32(max(version)) FROM `+db+`.schema_migrations`).Scan(&have); err != nil {
				unlock()
				return 0, nil, fmt.Errorf("read schema version: %w", err)
			}
			return have, unlock, nil
		}
		var exc *ch.Exception
		if !errors.As(err, &exc) || exc.Code != 57 { // 57: TABLE_ALREADY_EXISTS
			return 0, nil, fmt.Errorf("take the migration lock: %w", err)
		}
		if time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("another node has held the migration lock (table %s.migration_lock) for %s: if no genscope node is migrating, one died doing it; drop that table and start again", db, migrationLockWait)
		}
		log.Info("clickhouse: another node is migrating; waiting", "database", db)
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Close closes the connections.
func (s *DB) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.ins.close()
	s.ret.close()
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("close clickhouse store: %w", err)
	}
	return nil
}

// lit is s as a ClickHouse string literal.
func lit(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func i64(v int64) string  { return strconv.FormatInt(v, 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// DropDatabase drops the database o names, for benchmarks and tests that
// start from nothing.
func DropDatabase(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return fmt.Errorf("drop clickhouse database: %w", err)
	}
	c, err := connect(ctx, o, o.Addrs, "default")
	if err != nil {
		return fmt.Errorf("drop clickhouse database %s: %w", o.Database, err)
	}
	defer c.Close()
	if err := c.Exec(ctx, "DROP DATABASE IF EXISTS `"+o.Database+"`"); err != nil {
		return fmt.Errorf("drop clickhouse database %s: %w", o.Database, err)
	}
	return nil
}

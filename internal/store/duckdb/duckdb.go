package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/genscope/genscope/internal/store"
)

// The store contract; each optional capability (store.Aggregator ...) is
// guarded next to its methods.
var _ store.Store = (*DB)(nil)

// Options tune the embedded database. Zero values leave DuckDB's defaults.
type Options struct {
	// MemoryLimit caps DuckDB's memory, in DuckDB's syntax ("256MB", "1GB").
	MemoryLimit string
	// Threads caps the threads one query uses; 0 means DuckDB's default
	// (the number of cores).
	Threads int
	// CheckpointThreshold is the write-ahead log size at which DuckDB
	// folds the log into the database file ("256MB"). Checkpoints compress
	// every column, so larger, rarer ones cost less per span; the log is
	// replayed at start after a crash.
	CheckpointThreshold string
	// MaxReaders caps concurrent read connections; 0 means 4.
	MaxReaders int

	// recentGeneration overrides recentGeneration, for tests.
	recentGeneration int
}

// DB is the DuckDB store. Its methods are safe for concurrent use; Write
// calls are serialized.
type DB struct {
	path string
	opts Options
	dbp  atomic.Pointer[sql.DB] // swapped when the database is reopened after a fatal error

	mu        sync.Mutex // serializes Write and Close
	wconn     *sql.Conn  // the writer's own connection
	closed    bool
	recentGen int
	recent    *recentSpans  // keys of the spans written lately, for dedup
	resources resourceSet   // resources stored, by hash
	gate      pairGate      // where the gateway's records are (pair.go)
	traces    *recentTraces // the traces written lately (pair.go)
	noPairing bool          // benchmarks only: the store without the one-call rule
}

// Open opens (creating if needed) the DuckDB file at path and migrates its
// schema to the latest version.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	return open(ctx, path, opts, 0)
}

// open opens path migrating up to version upTo (0: all), for tests of
// migrations.
func open(ctx context.Context, path string, opts Options, upTo int) (*DB, error) {
	if path == "" {
		return nil, errors.New("open duckdb store: empty path")
	}
	db, err := openSQL(path, opts)
	if err != nil {
		return nil, err
	}
	s := &DB{path: path, opts: opts, recentGen: recentGeneration}
	s.dbp.Store(db)
	if opts.recentGeneration > 0 {
		s.recentGen = opts.recentGeneration
	}
	if err := s.init(ctx, upTo); err != nil {
		_ = s.sqlDB().Close()
		return nil, fmt.Errorf("open duckdb store %s: %w", path, err)
	}
	return s, nil
}

// openSQL opens the database file with the options as DuckDB settings.
func openSQL(path string, opts Options) (*sql.DB, error) {
	q := url.Values{}
	if opts.MemoryLimit != "" {
		q.Set("memory_limit", opts.MemoryLimit)
	}
	if opts.Threads > 0 {
		q.Set("threads", strconv.Itoa(opts.Threads))
	}
	if opts.CheckpointThreshold != "" {
		q.Set("checkpoint_threshold", opts.CheckpointThreshold)
	}
	dsn := path
	if len(q) > 0 {
		dsn += "?" + q.Encode()
	}
	conn, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb store %s: %w", path, err)
	}
	db := sql.OpenDB(conn)
	readers := opts.MaxReaders
	if readers <= 0 {
		readers = 4
	}
	db.SetMaxOpenConns(readers + 1)
	db.SetMaxIdleConns(readers + 1)
	return db, nil
}

// sqlDB is the database handle in use.
func (s *DB) sqlDB() *sql.DB { return s.dbp.Load() }

// isFatal reports whether err left DuckDB unusable until restarted (as a
// full disk during a checkpoint does).
func isFatal(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "FATAL Error") || strings.Contains(msg, "database has been invalidated")
}

// reopen restarts the database in-process after a fatal error: the
// write-ahead log is replayed, so every committed batch is back, and the
// writer's in-memory state is reloaded from the file. Callers hold s.mu.
func (s *DB) reopen(ctx context.Context) error {
	if s.wconn != nil {
		_ = s.wconn.Close()
		s.wconn = nil
	}
	_ = s.sqlDB().Close()
	db, err := openSQL(s.path, s.opts)
	if err != nil {
		return err
	}
	s.dbp.Store(db)
	if err := s.init(ctx, 0); err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	return nil
}

func (s *DB) init(ctx context.Context, upTo int) error {
	if err := migrate(ctx, s.sqlDB(), upTo); err != nil {
		return err
	}
	if upTo != 0 {
		return nil // an old schema, for migration tests: no writer
	}
	c, err := s.sqlDB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	for _, stmt := range []string{
		`CREATE TEMP TABLE stage_messages AS SELECT * FROM message_records LIMIT 0`,
		stagePairsSQL,
	} {
		if _, err := c.ExecContext(ctx, stmt); err != nil {
			_ = c.Close()
			return fmt.Errorf("create staging tables: %w", err)
		}
	}
	s.wconn = c
	s.resources.stored = map[uint64]bool{}
	rows, err := c.QueryContext(ctx, `SELECT hash FROM resources`)
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("load resources: %w", err)
	}
	for rows.Next() {
		var h uint64
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			_ = c.Close()
			return fmt.Errorf("load resources: %w", err)
		}
		s.resources.stored[h] = true
	}
	rows.Close()
	s.recent = newRecentSpans(s.recentGen)
	if err := s.recent.load(ctx, s.sqlDB()); err != nil {
		_ = c.Close()
		return err
	}
	if err := loadGate(ctx, &s.gate, s.sqlDB()); err != nil {
		_ = c.Close()
		return err
	}
	var latest sql.NullInt64
	if err := s.sqlDB().QueryRowContext(ctx, `SELECT max(start_ns) FROM spans`).Scan(&latest); err != nil {
		_ = c.Close()
		return fmt.Errorf("latest span: %w", err)
	}
	floor := int64(math.MinInt64)
	if latest.Valid {
		floor = latest.Int64 // spans up to the latest stored: look them up in the table
	}
	s.traces = newRecentTraces(recentGeneration, floor)
	return nil
}

// Close checkpoints the database (folding the write-ahead log into the
// file) and closes it. Queries still running fail.
func (s *DB) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.wconn != nil {
		if _, err := s.wconn.ExecContext(context.Background(), "CHECKPOINT"); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
		errs = append(errs, s.wconn.Close())
	}
	errs = append(errs, s.sqlDB().Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close duckdb store %s: %w", s.path, err)
	}
	return nil
}

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations by version. A file is named
// NNNN_what.sql; versions start at 1 and have no gaps.
func migrations() ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", f)
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", f, err)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations newer than the database's version, up to
// upTo (0: all), each in its own transaction.
func migrate(ctx context.Context, db *sql.DB, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var cur int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if cur > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this binary's %d", cur, len(ms))
	}
	for _, m := range ms {
		if m.version <= cur || (upTo > 0 && m.version > upTo) {
			continue
		}
		if err := applyMigration(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
		return err
	}
	return tx.Commit()
}

// withDriverConn runs f with the writer connection's driver connection.
func (s *DB) withDriverConn(f func(driver.Conn) error) error {
	return s.wconn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return f(c)
	})
}

package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/clickhouse"
	"github.com/genscope/genscope/internal/store/duckdb"
)

// openStore opens the store cfg.Store selects: the DuckDB file in the data
// directory (the default) or ClickHouse.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	switch cfg.Store.Driver {
	case "clickhouse":
		c := cfg.Store.ClickHouse
		o, err := ClickHouseOptions(c, log)
		if err != nil {
			return nil, err
		}
		db, err := clickhouse.Open(ctx, o)
		if err != nil {
			return nil, err // names the addresses and database, never the password
		}
		log.Info("store: clickhouse", "addrs", strings.Join(c.Addrs, ","), "database", c.Database, "cluster", c.Cluster)
		return db, nil
	case "duckdb", "":
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		db, err := OpenDuckDB(ctx, cfg, filepath.Join(cfg.Data, DBFile))
		if err != nil {
			return nil, err // not a nil *duckdb.DB in a non-nil store.Store, which closeAll would call
		}
		return db, nil
	}
	return nil, fmt.Errorf("open store: unknown driver %q", cfg.Store.Driver)
}

// OpenDuckDB opens the DuckDB file at path with cfg's DuckDB settings.
// A file it cannot use fails with one line saying why: "cannot read
// PATH: permission denied", "not a genscope database: PATH", "PATH is in
// use by another process (…, pid N)".
func OpenDuckDB(ctx context.Context, cfg config.Config, path string) (*duckdb.DB, error) {
	if err := checkDBFile(path); err != nil {
		return nil, err
	}
	db, err := duckdb.Open(ctx, path, duckdb.Options{
		MemoryLimit:         cfg.Store.DuckDB.MemoryLimit,
		Threads:             cfg.Store.DuckDB.Threads,
		CheckpointThreshold: cfg.Store.DuckDB.CheckpointThreshold,
	})
	if err != nil {
		if m := lockHolder.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s is in use by another process (%s, pid %s)", path, m[1], m[2])
		}
		if strings.Contains(err.Error(), "not a valid DuckDB database file") {
			return nil, fmt.Errorf("not a genscope database: %s", path)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// lockHolder finds the process DuckDB names when its file lock is held.
var lockHolder = regexp.MustCompile(`Conflicting lock is held in (.*) \(PID (\d+)\)`)

// checkDBFile says, before DuckDB tries, why an existing database file
// cannot be used: DuckDB's own errors for these are long and, for a
// directory, misleading.
func checkDBFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a new database
	}
	if err == nil && fi.IsDir() {
		return fmt.Errorf("cannot read %s: is a directory", path)
	}
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read %s: %s", path, strings.ToLower(err.Error()[:1])+err.Error()[1:])
	}
	defer f.Close()
	// A DuckDB file starts with a checksum and the magic "DUCK".
	var h [12]byte
	if n, _ := io.ReadFull(f, h[:]); fi.Size() > 0 && (n < len(h) || string(h[8:]) != "DUCK") {
		return fmt.Errorf("not a genscope database: %s", path)
	}
	return nil
}

// dataLockFile is the file in the data directory that a running genscope
// holds locked, with its pid in it.
const dataLockFile = "genscope.lock"

// lockData locks the data directory for the DuckDB store, so that a
// second genscope on it (another process, or another App in this one)
// fails at once with "another genscope (pid N) is using DATA". Nothing to
// lock for ClickHouse, which many nodes share.
func lockData(cfg config.Config) (io.Closer, error) {
	if cfg.Store.Driver != "duckdb" && cfg.Store.Driver != "" {
		return nil, nil
	}
	path := filepath.Join(cfg.Data, dataLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot lock %s: %w", cfg.Data, err)
	}
	if err := lockFile(f); err != nil {
		pid, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		if errors.Is(err, errLocked) {
			if p := strings.TrimSpace(string(pid)); p != "" {
				return nil, fmt.Errorf("another genscope (pid %s) is using %s", p, cfg.Data)
			}
			return nil, fmt.Errorf("another genscope is using %s", cfg.Data)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", cfg.Data, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// ClickHouseOptions are the ClickHouse store's options from its config.
// It fails only on a CA file it cannot use.
func ClickHouseOptions(c config.ClickHouse, log *slog.Logger) (clickhouse.Options, error) {
	o := clickhouse.Options{
		Addrs:            c.Addrs,
		HTTPAddr:         c.HTTPAddr,
		Database:         c.Database,
		Username:         c.Username,
		Password:         c.Password.Reveal(),
		Cluster:          c.Cluster,
		DialTimeout:      c.DialTimeout.D(),
		ReadTimeout:      c.ReadTimeout.D(),
		MaxOpenConns:     c.MaxOpenConns,
		ExactPercentiles: c.ExactPercentiles,
		Logger:           log.With("component", "clickhouse"),
	}
	if c.Secure {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return o, fmt.Errorf("clickhouse ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("clickhouse ca_file %s: no PEM certificate in it", c.CAFile)
			}
			o.TLS.RootCAs = pool
		}
	}
	return o, nil
}

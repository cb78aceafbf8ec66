package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
		return OpenDuckDB(ctx, cfg, filepath.Join(cfg.Data, DBFile))
	}
	return nil, fmt.Errorf("open store: unknown driver %q", cfg.Store.Driver)
}

// OpenDuckDB opens the DuckDB file at path with cfg's DuckDB settings.
func OpenDuckDB(ctx context.Context, cfg config.Config, path string) (*duckdb.DB, error) {
	db, err := duckdb.Open(ctx, path, duckdb.Options{
		MemoryLimit:         cfg.Store.DuckDB.MemoryLimit,
		Threads:             cfg.Store.DuckDB.Threads,
		CheckpointThreshold: cfg.Store.DuckDB.CheckpointThreshold,
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
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

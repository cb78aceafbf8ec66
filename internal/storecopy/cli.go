package storecopy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/clickhouse"
)

// Main runs `genscope copy --from STORE --to STORE`.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source store: duckdb:PATH or clickhouse://[USER:PASSWORD@]HOST:PORT/DATABASE[?http_addr=HOST:PORT&cluster=NAME]")
	to := fs.String("to", "", "target store, in the same form")
	cp := fs.String("checkpoint", "genscope-copy.checkpoint", "file recording progress; a copy started again resumes after it (empty: none)")
	batch := fs.Int("batch", 5000, "spans or message records per write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("copy: --from and --to are required")
	}
	src, err := Open(ctx, *from)
	if err != nil {
		return fmt.Errorf("copy: source: %w", err)
	}
	defer src.Close()
	dst, err := Open(ctx, *to)
	if err != nil {
		return fmt.Errorf("copy: target: %w", err)
	}
	defer dst.Close()
	began := time.Now()
	res, err := Copy(ctx, src, dst, redact(*from), redact(*to), Options{Checkpoint: *cp, BatchSize: *batch, Progress: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d spans and %d message records in %s (resumed: %v); counts verified; %d metric rows read\n",
		res.Spans, res.Messages, time.Since(began).Round(time.Millisecond), res.Resumed, res.MetricRows)
	return nil
}

// Open opens a store named as the copy flags name it.
func Open(ctx context.Context, loc string) (store.Store, error) {
	st, path, err := config.ParseStoreURL(config.Default().Store, loc)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Store = st
	if st.Driver == "duckdb" {
		return app.OpenDuckDB(ctx, cfg, path)
	}
	o, err := app.ClickHouseOptions(st.ClickHouse, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return clickhouse.Open(ctx, o)
}

// redact drops the password from a store location.
func redact(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.User == nil {
		return loc
	}
	u.User = url.User(u.User.Username())
	return u.String()
}

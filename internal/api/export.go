package api

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" driver writes Parquet

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/store"
)

// ExportMaxRows bounds one export of the spans table or a session.
const ExportMaxRows = 1_000_000

// exportPage is how many spans one store query of an export reads.
const exportPage = 1000

// exportFormats are the formats of the export endpoints.
var exportFormats = []string{"csv", "jsonl", "parquet"}

// registerExport adds the export endpoints: the spans table (with the
// filters, sort and all of GET /api/v1/spans), a session's calls and a
// trace's spans, as CSV, JSON Lines or Parquet, streamed (Parquet, a
// columnar file with its index at the end, is written to a temporary file
// by an in-memory DuckDB first).
func (a *API) registerExport(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/export/spans", a.export(a.exportSpans))
	mux.HandleFunc("GET /api/v1/export/sessions/{session_id}", a.export(a.exportSession))
	mux.HandleFunc("GET /api/v1/export/traces/{trace_id}", a.export(a.exportTrace))
}

// rowSink receives an export's rows; full, when given, is a trace span
// whole (JSON Lines of a trace write it instead of the row).
type rowSink func(row store.SpanSummary, full *store.TraceNode) error

// exporter checks an export's parameters, naming the file it makes, and
// returns the function that produces its rows into a sink.
type exporter func(r request) (name string, rows func(ctx context.Context, content bool, sink rowSink) error, err error)

func (a *API) export(ex exporter) http.HandlerFunc {
	return func(w http.ResponseWriter, hr *http.Request) {
		r, content, cancel, ok := a.begin(w, hr)
		if !ok {
			return
		}
		cancel() // each store query gets its own timeout: an export may take longer than one query
		r.ctx = hr.Context()
		format := hr.URL.Query().Get("format")
		if format == "" {
			format = "csv"
		}
		if err := oneOf("format", format, exportFormats); err != nil {
			a.writeError(w, hr, err)
			return
		}
		name, rows, err := ex(r)
		if err != nil {
			a.writeError(w, hr, err)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
		h.Set("X-Content-Type-Options", "nosniff")
		switch format {
		case "parquet":
			a.writeParquet(w, hr, content, rows)
		case "jsonl":
			h.Set("Content-Type", "application/x-ndjson; charset=utf-8")
			a.stream(w, hr, content, rows, newJSONLWriter(w))
		default:
			h.Set("Content-Type", "text/csv; charset=utf-8")
			a.stream(w, hr, content, rows, newCSVWriter(w))
		}
	}
}

// rowWriter writes rows in one format; flush ends a batch.
type rowWriter interface {
	row(s store.SpanSummary, full *store.TraceNode) error
	flush() error
}

// stream writes the rows as they come, flushing each batch to the client.
// The first query runs before the status is sent, so that a bad cursor or
// an unknown trace still gets its error status; an error later can only
// cut the body short (and is logged).
func (a *API) stream(w http.ResponseWriter, r *http.Request, content bool, rows func(context.Context, bool, rowSink) error, out rowWriter) {
	started := false
	n := 0
	fl, _ := w.(http.Flusher)
	err := rows(r.Context(), content, func(s store.SpanSummary, full *store.TraceNode) error {
		if !started {
			started = true
			w.WriteHeader(http.StatusOK)
		}
		if err := out.row(s, full); err != nil {
			return err
		}
		if n++; n%exportPage == 0 {
			if err := out.flush(); err != nil {
				return err
			}
			if fl != nil {
				fl.Flush()
			}
		}
		return nil
	})
	if err != nil && !started {
		w.Header().Del("Content-Disposition")
		a.writeError(w, r, err)
		return
	}
	if !started {
		w.WriteHeader(http.StatusOK)
	}
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		a.log.Warn("export cut short", "path", r.URL.Path, "rows", n, "err", err)
	}
}

// csvColumns are the columns of a CSV or Parquet export.
var csvColumns = []string{"trace_id", "span_id", "parent_span_id", "start_time", "name", "service", "status", "error_type",
	"duration_ms", "ttft_ms", "operation", "provider", "model", "response_model", "input_tokens", "output_tokens",
	"cost_usd", "session", "user", "system", "input", "output"}

type csvWriter struct {
	w      *csv.Writer
	header bool
}

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{w: csv.NewWriter(w)} }

func (c *csvWriter) row(s store.SpanSummary, _ *store.TraceNode) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(csvColumns); err != nil {
			return err
		}
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v)
	}
	return c.w.Write([]string{s.TraceID, s.SpanID, s.ParentSpanID, s.StartTime.UTC().Format(time.RFC3339Nano), s.Name, s.Service,
		string(s.Status), s.ErrorType, f(s.DurationMS), opt(s.TTFTMS), s.Operation, s.Provider, s.Model, s.ResponseModel,
		strconv.FormatInt(s.InputTokens, 10), strconv.FormatInt(s.OutputTokens, 10), opt(s.CostUSD), s.Session, s.User,
		csvSafe(s.System), csvSafe(s.Input), csvSafe(s.Output)})
}

func (c *csvWriter) flush() error {
	if !c.header { // an empty export still has its header
		c.header = true
		if err := c.w.Write(csvColumns); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// csvSafe keeps a spreadsheet from running message text as a formula
// (CSV injection): text starting with = + - @ (or a tab or CR) gets a
// leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type jsonlWriter struct {
	b   *bufio.Writer
	enc *json.Encoder
}

func newJSONLWriter(w io.Writer) *jsonlWriter {
	b := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	return &jsonlWriter{b: b, enc: enc}
}

// traceLine is one span of a trace in JSON Lines: the node without its
// children (each child is a line of its own, naming its parent).
type traceLine struct {
	TraceID      string     `json:"trace_id"`
	SpanID       string     `json:"span_id"`
	ParentSpanID string     `json:"parent_span_id,omitempty"`
	StartTime    time.Time  `json:"start_time"`
	DurationMS   float64    `json:"duration_ms"`
	Session      string     `json:"session"`
	User         string     `json:"user"`
	Span         genai.Span `json:"span"`
}

func (j *jsonlWriter) row(s store.SpanSummary, full *store.TraceNode) error {
	if full != nil {
		return j.enc.Encode(traceLine{TraceID: full.TraceID, SpanID: full.SpanID, ParentSpanID: full.ParentSpanID, StartTime: full.StartTime,
			DurationMS: full.DurationMS, Session: full.Session, User: full.User, Span: full.Span})
	}
	return j.enc.Encode(s)
}

func (j *jsonlWriter) flush() error { return j.b.Flush() }

// writeParquet has DuckDB turn the rows (as JSON Lines in a temporary
// file) into a Parquet file, then sends that.
func (a *API) writeParquet(w http.ResponseWriter, r *http.Request, content bool, rows func(context.Context, bool, rowSink) error) {
	dir, err := os.MkdirTemp("", "genscope-export-")
	if err != nil {
		a.writeError(w, r, fmt.Errorf("export: %w", err))
		return
	}
	defer os.RemoveAll(dir)
	src, dst := filepath.Join(dir, "rows.jsonl"), filepath.Join(dir, "rows.parquet")
	f, err := os.Create(src)
	if err != nil {
		a.writeError(w, r, fmt.Errorf("export: %w", err))
		return
	}
	jw := newJSONLWriter(f)
	err = rows(r.Context(), content, func(s store.SpanSummary, _ *store.TraceNode) error { return jw.row(s, nil) })
	if err == nil {
		err = jw.flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = toParquet(r.Context(), src, dst)
	}
	if err != nil {
		w.Header().Del("Content-Disposition")
		a.writeError(w, r, err)
		return
	}
	out, err := os.Open(dst)
	if err != nil {
		a.writeError(w, r, fmt.Errorf("export: %w", err))
		return
	}
	defer out.Close()
	w.Header().Set("Content-Type", "application/vnd.apache.parquet")
	http.ServeContent(w, r, "", time.Time{}, out)
}

// parquetColumns are the JSON rows' columns with their DuckDB types.
const parquetColumns = `{trace_id: 'VARCHAR', span_id: 'VARCHAR', parent_span_id: 'VARCHAR', name: 'VARCHAR', service: 'VARCHAR',
	start_time: 'TIMESTAMPTZ', status: 'VARCHAR', error_type: 'VARCHAR', duration_ms: 'DOUBLE', ttft_ms: 'DOUBLE', operation: 'VARCHAR',
	provider: 'VARCHAR', model: 'VARCHAR', response_model: 'VARCHAR', input_tokens: 'BIGINT', output_tokens: 'BIGINT', cost_usd: 'DOUBLE',
	session: 'VARCHAR', user: 'VARCHAR', system: 'VARCHAR', input: 'VARCHAR', output: 'VARCHAR'}`

func toParquet(ctx context.Context, src, dst string) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	defer db.Close()
	q := fmt.Sprintf(`COPY (SELECT %s FROM read_json(%s, format = 'newline_delimited', columns = %s)) TO %s (FORMAT parquet, COMPRESSION zstd)`,
		strings.Join(quoteAll(csvColumns), ", "), sqlString(src), parquetColumns, sqlString(dst))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = `"` + n + `"`
	}
	return out
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// exportSpans is the spans table with GET /api/v1/spans's parameters
// (but limit and cursor: every row, up to ExportMaxRows).
func (a *API) exportSpans(r request) (string, func(context.Context, bool, rowSink) error, error) {
	q, err := a.spansQuery(r)
	if err != nil {
		return "", nil, err
	}
	q.Limit, q.Cursor = exportPage, ""
	return "genscope-spans", a.pages(q), nil
}

// exportSession is a session's calls, newest first.
func (a *API) exportSession(r request) (string, func(context.Context, bool, rowSink) error, error) {
	f, err := a.filter(r)
	if err != nil {
		return "", nil, err
	}
	id := r.PathValue("session_id")
	if id == "" || len(id) > 1000 {
		return "", nil, badParam("session_id", "must be 1 to 1000 bytes")
	}
	f.Session = id
	return "genscope-session", a.pages(store.SpansQuery{Filter: f, Limit: exportPage}), nil
}

// pages reads q page by page into the sink.
func (a *API) pages(q store.SpansQuery) func(context.Context, bool, rowSink) error {
	return func(ctx context.Context, content bool, sink rowSink) error {
		n := 0
		for {
			qctx, cancel := context.WithTimeout(ctx, a.timeout)
			page, err := a.st.Spans(qctx, q)
			cancel()
			if err != nil {
				return err
			}
			for _, s := range page.Spans {
				if !content {
					privacy.StripSummary(&s)
				}
				if err := sink(s, nil); err != nil {
					return err
				}
				if n++; n >= ExportMaxRows {
					return nil
				}
			}
			if page.NextCursor == "" {
				return nil
			}
			q.Cursor = page.NextCursor
		}
	}
}

// exportTrace is a trace's spans, parents before children. CSV and Parquet
// rows carry the whole text of the messages (not the table's previews);
// JSON Lines the whole span.
func (a *API) exportTrace(r request) (string, func(context.Context, bool, rowSink) error, error) {
	id, err := genai.ParseTraceID(r.PathValue("trace_id"))
	if err != nil {
		return "", nil, badParam("trace_id", "%q is not 32 hex characters", r.PathValue("trace_id"))
	}
	return "genscope-trace-" + r.PathValue("trace_id"), func(ctx context.Context, content bool, sink rowSink) error {
		qctx, cancel := context.WithTimeout(ctx, a.timeout)
		t, err := a.st.Trace(qctx, r.project, id)
		cancel()
		if err != nil {
			return err
		}
		if !content {
			privacy.StripTrace(&t)
		}
		var walk func(ns []*store.TraceNode) error
		walk = func(ns []*store.TraceNode) error {
			for _, n := range ns {
				if err := sink(traceRow(n), n); err != nil {
					return err
				}
				if err := walk(n.Children); err != nil {
					return err
				}
			}
			return nil
		}
		return walk(t.Roots)
	}, nil
}

// traceRow is a trace span as a row of the spans table, with the whole
// text of its messages.
func traceRow(n *store.TraceNode) store.SpanSummary {
	s := &n.Span
	row := store.SpanSummary{TraceID: n.TraceID, SpanID: n.SpanID, ParentSpanID: n.ParentSpanID, Name: s.Name, Service: s.Service,
		StartTime: n.StartTime, Status: s.Status, ErrorType: s.ErrorType, DurationMS: n.DurationMS, Operation: s.Operation,
		Provider: s.Provider, Model: s.Model(), ResponseModel: s.ResponseModel, InputTokens: s.Usage.InputTokens,
		OutputTokens: s.Usage.OutputTokens, Session: n.Session, User: n.User,
		System: store.PartsText(s.SystemInstructions), Input: store.MessagesText(s.InputMessages), Output: store.MessagesText(s.OutputMessages)}
	if s.TTFTNano > 0 {
		v := float64(s.TTFTNano) / 1e6
		row.TTFTMS = &v
	}
	if s.CostKnown {
		v := s.CostUSD
		row.CostUSD = &v
	}
	return row
}

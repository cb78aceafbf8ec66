// Package duckdb is genscope's embedded store backend: one DuckDB file
// under the data directory, written in batches through the driver's
// Appender and queried with DuckDB SQL. It implements store.Store.
//
// Layout. Table spans holds one row per span: ids as fixed-width integers
// (trace id as trace_hi/trace_lo UBIGINT, span ids as UBIGINT), the
// precomputed model (request model else response model), the GenAI fields
// as plain columns, the text of the span's own content once
// (content_text: system, input and output text joined by NUL, for
// previews and text filters, which lower-case it at read time) and the
// whole span as JSON (detail) for trace views. Being columnar, aggregate
// scans never read the content or detail columns. Rows arrive roughly in
// start-time order, so DuckDB's zone maps on start_ns prune every
// time-bounded scan. Table trace_index has one row per trace and batch
// with the range of its start times, so a trace lookup scans a small table
// and then only the matching row groups of spans. Table trace_ctx holds
// the spans that carry a session or user (usually one per trace); the
// session and user a span inherits from its trace are resolved at read
// time with a time-bounded aggregation over it, only when a query filters
// or groups by them. Table message_records holds content that arrived
// apart from its span; it is joined by (project, trace, span) only for the
// spans of a page or trace, or for a text filter, and always bounded by
// time.
//
// Durability. Each Write is one transaction on a dedicated connection:
// spans are appended straight into their tables with the Appender
// (message records go through a staging table). DuckDB writes the commit
// to its write-ahead log and fsyncs it before COMMIT returns, so a batch
// survives kill -9 once Write returned (TestKill9 checks it).
//
// Dedup. The writer drops retries before appending: it keeps the 64-bit
// hashes of the keys (project, trace, span id, start) of the last one to
// two million spans written in memory (about 30 MB), loaded at Open from
// the newest stored spans, so it survives restarts. A span that starts
// before everything the set covers (a late span, a retry of an old batch)
// is looked up in the table by its start time and span id instead, and so
// is a span whose hash is in the set (a retry, or a collision: a hash
// never drops a span on its own).
// Duplicate message records are anti-joined with the stored ones at write
// time. Reads never have to deduplicate.
//
// One call, one count. The writer pairs the app's and the gateway's
// records of a model call at write time (pair.go says how), so reads
// never join or filter for it: the record written last holds the call's
// values, the other is no longer a counted call (is_genai = false).
//
// Schema changes are embedded SQL files in migrations/, applied in order,
// each in a transaction, and recorded in schema_migrations.
//
// What is the same on every backend is not here: queries are checked by
// the Normalize/Validate methods of package store before any SQL runs,
// and package store/internal/spanrows turns the rows this package's SQL
// reads into answers (summaries, pages and cursors, sessions, traces,
// aggregates) and holds the write path's duplicate-check helpers. This
// package keeps the DuckDB SQL and its schema.
package duckdb

// Package clickhouse is the scale-out store: the store.Store contract over
// a ClickHouse server or cluster, through clickhouse-go's native protocol.
//
// What is the same on every backend is not here: queries are checked by
// the Normalize/Validate methods of package store before any SQL runs,
// and package store/internal/spanrows turns the rows this package's SQL
// reads into answers (summaries, pages and cursors, sessions, traces,
// aggregates) and holds the write path's duplicate-check helpers. This
// package keeps the ClickHouse SQL, its schema, rollups and retention.
//
// # Schema
//
// The SQL in sql/ runs on the ClickHouse Debian ships (18.16) and on
// current releases: ReplacingMergeTree tables partitioned by day (UTC),
// so retention drops whole partitions (18.16 has no TTL); nanosecond times
// as Int64 beside a Date for the partition; no LowCardinality, DateTime64,
// Map or Nullable. spans is sorted by (project, start_ns, span_id, trace),
// which the dashboard's range queries prune by. Migrations are numbered
// files, recorded in schema_migrations; every statement is idempotent, so
// several nodes may migrate at once.
//
// In cluster mode (Options.Cluster) each host of the cluster gets local
// tables (spans_local, ...) and Distributed tables of the plain names over
// them, sharded by cityHash64(trace id), so a trace and its retries live on
// one shard. The DDL is run on every host by the node itself (no ON
// CLUSTER, so no ZooKeeper is needed). Reads and writes go through the
// Distributed tables; inserts are synchronous (insert_distributed_sync).
//
// # Protocols
//
// Queries use clickhouse-go's native protocol. Inserts go to the HTTP
// interface (Options.HTTPAddr, port 8123 by default) as RowBinary, one
// POST per INSERT block: clickhouse-go/v2's batch insert cannot read the
// table header 18.16 sends, and its HTTP mode sends settings 18.16
// rejects. The password goes as HTTP basic auth in clear text: keep the
// HTTP port on a trusted network (there is no TLS option yet).
//
// ClickHouse makes one part per INSERT (and merges them later), so large
// batches ingest much faster than small ones: the store asks the recorder
// (DB.BatchHint) for batches of 10,000 to 20,000 items, waiting up to a
// second to fill one, so a quiet system still writes within a second.
//
// # What Write guarantees
//
// Write sends one INSERT block per table: message records and the trace
// context rows (both at once), then spans, sorted by the table's key so
// the server need not sort them. When it returns nil, the server has
// written every row to its data parts (in a cluster, on the shards), so it
// survives a crash of genscope or of the ClickHouse process, and queries
// started afterwards see it. ClickHouse does not fsync parts by default,
// so an operating-system crash may lose the last seconds; there is no
// insert_quorum without replication.
//
// Atomicity is what ClickHouse gives: one INSERT block into one partition
// is atomic. A batch whose spans fall on two UTC days is split into two
// parts and may be half written when Write fails; message records and
// trace context may be written while the spans' insert fails. Readers
// join records to spans, so records alone are invisible, and a retry of
// the batch does not double anything: the writer checks the table for the
// keys of every span a failed Write may have stored.
//
// # Retries
//
// A retried span (same project, trace, span and start) is dropped by the
// writer: it remembers the keys it wrote and looks up in the table the
// spans starting no later than the newest span stored when it opened.
// Two nodes receiving the same retry at once may both store it; the
// ReplacingMergeTree merges the copies away (same shard, same sorting
// key) in the background, and until then aggregates count both. Readers
// of content drop copied message records.
//
// # One call, one count
//
// The writer pairs the app's and the gateway's records of a call
// (store.Store) as DuckDB's does, with the matching both share
// (spanrows.MatchPairs), when the second record (or the HTTP span linking
// them) is written; pair.go. The record being written holds the call's
// merged values and its partner (and its own values in column own, which
// the trace and export restore). A stored record of the pair cannot be
// updated in place (mutations are asynchronous), so the writer inserts a
// new copy of it (same sorting key, so the ReplacingMergeTree merges the
// old copy away) with its partner, not counting (is_genai = 0) or holding
// the call (when an HTTP span linked two stored records), and copies the
// old copy's counted values into the uncounted table: read before the new
// copy goes in (a merge may replace the old copy by it any time after),
// written after it. Readers of the spans count a model call unless it has no partner and is in uncounted
// (DB.counted: one NOT IN over the project's uncounted keys in the
// range); the rollups count calls with a signed sum (signed_calls) and materialized
// views over uncounted add each uncounted record with its sums negated
// and signed_calls = -1 (UInt64 sums wrap back exactly). What cannot be retracted:
// min and max take the same value again (harmless), and the t-digests
// keep the retracted value, so percentiles estimated from the rollups
// (ranges beyond Options.ExactPercentiles) may hold it; exact percentiles
// read the spans and do not.
//
// The lookup of stored partners runs only when the batch holds a gateway
// call record or one was written or stored near the batch's starts (the
// gate, loaded at Open and grown by this node's writes): a node does not
// know the gateway records other nodes write after it started. Two nodes
// completing the same pair at once may both retract it. A failure between
// the new copy and the uncounted insert leaves the call counted twice.
//
// # Text search
//
// Text filters use positionCaseInsensitiveUTF8, which folds case for
// letters whose upper and lower case have the same length in UTF-8 (ASCII,
// Latin, Greek, Cyrillic ...); the few others (such as 'İ') may match
// differently from the contract's Unicode lower-casing.
//
// # Percentiles
//
// Percentiles are exact (type 7): quantilesExactInclusive where the server
// has it (20.x and later; that path is not tested here, only 18.16 is),
// else, on 18.16, Overview counts first and then selects the two ranks
// each level interpolates between with quantilesExact (no sort), while
// Timeseries and Breakdown sort each group's values (arraySort of
// groupArray) and interpolate in SQL. All hold every value of a group in
// memory.
//
// # Retention
//
// The app's retention loop works through DeleteSpansBefore and
// DropContentBefore (retention.go says how): whole UTC days are dropped
// as partitions from every table partitioned by day where every project
// in them is past its retention, a project with a shorter retention loses
// its rows by a mutation, and content retention is a mutation too.
//
// # Rollups
//
// Three AggregatingMergeTree tables hold aggregate states of the GenAI
// spans, filled by materialized views at every insert (sql/0002_rollups.sql,
// rollup.go): rollup_hourly, one row per hour and combination of service,
// provider, operation, status and models; rollup_dim, one row per hour and
// value of one dimension at a time; rollup_dim_day, the same per day.
// Overview, Breakdown and Timeseries take the whole hours (and days) of a
// range from them and the partial hours at its ends from the spans, merged
// in one query. Sums, counts and averages equal the spans'. Percentiles
// are exact (from the spans) while the range holds at most
// Options.ExactPercentiles of the project's calls, t-digest estimates from
// the rollups beyond. Session, user and text filters and the session and
// user dimensions always read the spans. Every table is partitioned by the
// UTC day of its time column and every query bounds the day as well as the
// time, so it reads only its days' partitions. The rollups cost the
// server work at every insert (three more aggregations of each block).
//
// # Shared state and its consistency model
//
// The state genscope
// nodes share lives here too (state.go, sql/0003_state.sql): projects,
// keys (hashed), users, sessions, alert rules, action groups, alert
// state, the notification log as documents in state_docs, and alert
// history and delivery attempts as events in state_events; in a cluster
// through Distributed tables sharded by key. A put or delete is one
// synchronous INSERT of a new version (nanoseconds, monotonic per
// process): when it returns, the next read through any node sees it.
// Readers take each document's highest version, so the last writer by
// version wins: writes through two nodes to one document within their
// clocks' skew may land in either order (keep clocks synchronized); there
// are no transactions and no compare-and-set. A deleted document leaves
// a tombstone row.
//
// Each genscope node keeps auth and alerting state in memory and rereads
// it every state_reload_interval (5s by default), so a change made
// through one node (a key created or revoked, a rule or group edited)
// takes effect on the others within that interval; an unknown key,
// token or session makes a node reread at once (at most once a second),
// so new keys work everywhere immediately, while a revoked one keeps
// working on other nodes until their next reread. A node's own changes
// take effect on it at once.
//
// Exactly one node should run the alerts component (genscope serve
// --components): it evaluates the rules and owns the alert state and the
// notification log; nodes without it serve the rules through the API
// (edits go to the store and reach the evaluator at its next reread),
// refuse to evaluate, and show the evaluator's alerts and log as last
// stored. If two nodes run alerts, both evaluate every rule and both
// notify: receivers get each notification twice (normally with the same
// delivery id, which webhook receivers see in X-Genscope-Delivery and may
// deduplicate by), and alert state and history are written by both. The
// notification log deduplicates only within a node. A node that takes
// over alerts (after the previous one stopped) resumes from the shared
// state: changes already notified are not sent again and pending
// deliveries are retried.
package clickhouse

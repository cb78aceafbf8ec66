// Package clickhouse is the scale-out store: the store.Store contract over
// a ClickHouse server or cluster, through clickhouse-go's native protocol.
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
// batches ingest much faster than small ones: give the recorder a large
// max_batch_items (10,000 or more) with this store.
//
// # What Write guarantees
//
// Write sends one INSERT block per table: message records, then the
// trace context rows, then spans. When it returns nil, the server has
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
// # Not yet
//
// Alert state (rules, instances, history) is not kept in ClickHouse (the
// store implements store.Aggregator but not the alert state store), so the
// app runs without alerting on this backend; retention (dropping old
// partitions) is not automated.
package clickhouse

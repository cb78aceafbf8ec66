// Package duckdb is genscope's embedded store backend: one DuckDB file
// under the data directory, written in batches through the driver's
// Appender and queried with DuckDB SQL. It implements store.Store.
//
// Layout. Table spans holds one row per span: ids as fixed-width integers
// (trace id as trace_hi/trace_lo UBIGINT, span ids as UBIGINT), the
// precomputed model (request model else response model), the GenAI fields
// as plain columns, the text of the span's own content (system, input,
// output and a lower-case search column) and the whole span as JSON
// (detail) for trace views. Being columnar, aggregate scans never read the
// content or detail columns. Rows arrive roughly in start-time order, so
// DuckDB's zone maps on start_ns prune every time-bounded scan. Table
// message_records holds content that arrived apart from its span; it is
// joined by (project, trace, span) only for the spans of a page or trace,
// or for a text filter, and always bounded by time. The session and user a
// span inherits from its trace are resolved at read time with a
// time-bounded aggregation over the spans that carry one, and only when a
// query filters or groups by them.
//
// Durability. Each Write is one transaction on a dedicated connection:
// the batch is appended to temporary staging tables with the Appender,
// then moved into the tables with INSERT ... SELECT. DuckDB writes the
// commit to its write-ahead log and fsyncs it before COMMIT returns, so a
// batch survives kill -9 once Write returned (TestKill9 checks it).
//
// Dedup. Duplicates are removed at write time: the staged rows are
// anti-joined with the stored rows of the same project, trace and span id
// whose start time lies in the batch's time ranges (zone maps make this a
// scan of the newest row groups only), and duplicates within a batch are
// dropped with QUALIFY. Reads never have to deduplicate.
//
// Schema changes are embedded SQL files in migrations/, applied in order,
// each in a transaction, and recorded in schema_migrations.
package duckdb

-- Cluster mode only, after the migrations: one Distributed table over each
-- local table, sharded by trace so a trace (and its retries) lives on one
-- shard. Reads and writes go through these.
CREATE TABLE IF NOT EXISTS {db}.spans AS {db}.spans_local
    ENGINE = Distributed({cluster}, {db}, spans_local, cityHash64(trace_hi, trace_lo));
CREATE TABLE IF NOT EXISTS {db}.message_records AS {db}.message_records_local
    ENGINE = Distributed({cluster}, {db}, message_records_local, cityHash64(trace_hi, trace_lo));
CREATE TABLE IF NOT EXISTS {db}.trace_ctx AS {db}.trace_ctx_local
    ENGINE = Distributed({cluster}, {db}, trace_ctx_local, cityHash64(trace_hi, trace_lo));
CREATE TABLE IF NOT EXISTS {db}.rollup_hourly AS {db}.rollup_hourly_local
    ENGINE = Distributed({cluster}, {db}, rollup_hourly_local, cityHash64(project, hour));
-- Shared state (0003_state.sql; state.go says why it is sharded rather
-- than kept on one shard): by key, so every version of a document and
-- every event of a key live on one shard.
CREATE TABLE IF NOT EXISTS {db}.state_docs_dist AS {db}.state_docs
    ENGINE = Distributed({cluster}, {db}, state_docs, cityHash64(kind, id));
CREATE TABLE IF NOT EXISTS {db}.state_events_dist AS {db}.state_events
    ENGINE = Distributed({cluster}, {db}, state_events, cityHash64(kind, key));
CREATE TABLE IF NOT EXISTS {db}.rollup_dim AS {db}.rollup_dim_local
    ENGINE = Distributed({cluster}, {db}, rollup_dim_local, cityHash64(project, hour));
CREATE TABLE IF NOT EXISTS {db}.rollup_dim_day AS {db}.rollup_dim_day_local
    ENGINE = Distributed({cluster}, {db}, rollup_dim_day_local, cityHash64(project, hour));
-- GenAI metrics (0004_metric_points.sql): by series, so a series' rows,
-- which its next point's delta is computed against, live on one shard.
CREATE TABLE IF NOT EXISTS {db}.metric_points AS {db}.metric_points_local
    ENGINE = Distributed({cluster}, {db}, metric_points_local, cityHash64(project, series));
-- Scores (0006_scores.sql): by score, so every version of a score lives on
-- one shard.
CREATE TABLE IF NOT EXISTS {db}.scores AS {db}.scores_local
    ENGINE = Distributed({cluster}, {db}, scores_local, cityHash64(project, id));
-- The one-call rule's uncounted copies (0007_one_call.sql): by trace, like
-- the spans they name.
CREATE TABLE IF NOT EXISTS {db}.uncounted AS {db}.uncounted_local
    ENGINE = Distributed({cluster}, {db}, uncounted_local, cityHash64(trace_hi, trace_lo));

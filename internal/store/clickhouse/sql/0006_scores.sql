-- Scores (store.ScoreStore, scores.go): judgements of a span, a trace or a
-- session. A score is never changed in place: every put or delete inserts
-- a row with a larger version, and readers take each (project, id)'s row
-- of the largest version with argMax, a delete being a row with deleted =
-- 1 (as state_docs, 0003_state.sql). day (of target_ns, the start of the
-- scored span or trace) is the partition, so retention drops and deletes
-- a score with the spans of its target's day. value is meaningful only
-- when has_value = 1 (no Nullable: argMax would skip a NULL).
CREATE TABLE IF NOT EXISTS {db}.{scores} (
    day        Date,
    project    String,
    id         String,
    version    UInt64,
    deleted    UInt8,
    trace_id   String,
    span_id    String,
    session_id String,
    name       String,
    has_value  UInt8,
    value      Float64,
    label      String,
    comment    String,
    source     String,
    author     String,
    time_ns    Int64,
    updated_ns Int64,
    target_ns  Int64
) ENGINE = ReplacingMergeTree(version) PARTITION BY day ORDER BY (project, id);

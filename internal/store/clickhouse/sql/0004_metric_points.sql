-- GenAI metrics sent over OTLP (store.MetricStore, metrics.go): one row
-- per stored delta histogram point of a series; a series sent
-- cumulatively keeps the cumulative point each row was computed from
-- (cum_*). day (of time_ns) is the partition, so retention drops and
-- deletes these rows with the spans of the same days. A row written twice
-- by two nodes racing (same series and time) is merged away.
CREATE TABLE IF NOT EXISTS {db}.{metric_points} (
    day            Date,
    project        String,
    series         UInt64,
    name           String,
    service        String,
    provider       String,
    operation      String,
    model          String,
    response_model String,
    token_type     String,
    error_type     String,
    start_ns       Int64,
    time_ns        Int64,
    cnt            Int64,
    total          Float64,
    bounds         Array(Float64),
    buckets        Array(Int64),
    cum_start      Int64,
    cum_count      Int64,
    cum_sum        Float64,
    cum_buckets    Array(Int64)
) ENGINE = ReplacingMergeTree() PARTITION BY day ORDER BY (project, series, time_ns);

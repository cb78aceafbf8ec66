-- One row per span. Ids are fixed-width integers; the trace id is
-- (trace_hi, trace_lo), the big-endian halves of its 16 bytes. Times are
-- nanoseconds since the Unix epoch; day (UTC) is the partition, so
-- retention drops whole days (18.16 has no TTL). A retried span (same
-- sorting key) is dropped by the writer, and by merges where two writers
-- raced. {spans} is the local table (spans, or spans_local in a cluster).
CREATE TABLE IF NOT EXISTS {db}.{spans} (
    day              Date,
    project          String,
    start_ns         Int64,
    span_id          UInt64,
    trace_hi         UInt64,
    trace_lo         UInt64,
    parent_id        UInt64,
    duration_ns      Int64,
    ttft_ns          Int64,
    name             String,
    service          String,
    status           String,
    error_type       String,
    is_genai         UInt8,
    operation        String,
    provider         String,
    model            String,
    request_model    String,
    response_model   String,
    input_tokens     Int64,
    output_tokens    Int64,
    cached_tokens    Int64,
    reasoning_tokens Int64,
    cost_known       UInt8,
    cost_usd         Float64,
    session_id       String,
    user_id          String,
    eff_session      String,
    eff_user         String,
    content_mask     UInt8,
    content_text     String,
    detail           String
) ENGINE = ReplacingMergeTree() PARTITION BY day ORDER BY (project, start_ns, span_id, trace_hi, trace_lo);

-- Content that arrived apart from its span (log records, App Insights
-- MessageData), joined to the span at read time. Retries are merged away
-- and ignored by readers.
CREATE TABLE IF NOT EXISTS {db}.{message_records} (
    day        Date,
    project    String,
    trace_hi   UInt64,
    trace_lo   UInt64,
    span_id    UInt64,
    kind       String,
    time_ns    Int64,
    seq        Int32,
    truncated  UInt8,
    message    String,
    text       String
) ENGINE = ReplacingMergeTree() PARTITION BY day ORDER BY (project, trace_hi, trace_lo, span_id, kind, time_ns, seq);

-- The spans that carry a session or user, so a span inherits from its
-- trace by reading this small table instead of every span.
CREATE TABLE IF NOT EXISTS {db}.{trace_ctx} (
    day        Date,
    project    String,
    trace_hi   UInt64,
    trace_lo   UInt64,
    start_ns   Int64,
    span_id    UInt64,
    session_id String,
    user_id    String
) ENGINE = ReplacingMergeTree() PARTITION BY day ORDER BY (project, trace_hi, trace_lo, start_ns, span_id);

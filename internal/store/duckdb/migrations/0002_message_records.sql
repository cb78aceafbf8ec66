-- Content that arrived apart from its span (log records, App Insights
-- MessageData), joined to the span by (project, trace, span) at read time.
CREATE TABLE message_records (
    project    VARCHAR  NOT NULL,
    trace_hi   UBIGINT  NOT NULL,
    trace_lo   UBIGINT  NOT NULL,
    span_id    UBIGINT  NOT NULL,
    time_ns    BIGINT   NOT NULL,
    seq        INTEGER  NOT NULL,
    kind       VARCHAR  NOT NULL, -- system, input or output
    truncated  BOOLEAN  NOT NULL,
    message    VARCHAR  NOT NULL, -- genai.Message as JSON
    text       VARCHAR  NOT NULL, -- store.PartsText of the message
    text_lower VARCHAR  NOT NULL
);

-- Content is stored once besides detail: content_text is the span's own
-- system, input and output text joined by NUL (previews and text filters
-- read it; text filters lower-case it at read time), replacing the three
-- text columns and their lower-case copy.
ALTER TABLE spans ADD COLUMN content_text VARCHAR DEFAULT '';
UPDATE spans SET content_text = CASE WHEN content_mask = 0 THEN ''
    ELSE system_text || chr(0) || input_text || chr(0) || output_text END;
ALTER TABLE spans DROP COLUMN system_text;
ALTER TABLE spans DROP COLUMN input_text;
ALTER TABLE spans DROP COLUMN output_text;
ALTER TABLE spans DROP COLUMN search_text;

-- One row per trace and written batch: the range of its spans' start
-- times, so a trace lookup scans only those row groups of spans.
CREATE TABLE trace_index (
    project   VARCHAR NOT NULL,
    trace_hi  UBIGINT NOT NULL,
    trace_lo  UBIGINT NOT NULL,
    min_start BIGINT  NOT NULL,
    max_start BIGINT  NOT NULL
);
INSERT INTO trace_index SELECT project, trace_hi, trace_lo, min(start_ns), max(start_ns)
    FROM spans GROUP BY ALL;

-- The spans that carry a session or user (usually one per trace), so the
-- session and user a span inherits from its trace are resolved from this
-- small table instead of every span.
CREATE TABLE trace_ctx (
    project    VARCHAR NOT NULL,
    trace_hi   UBIGINT NOT NULL,
    trace_lo   UBIGINT NOT NULL,
    start_ns   BIGINT  NOT NULL,
    span_id    UBIGINT NOT NULL,
    session_id VARCHAR NOT NULL,
    user_id    VARCHAR NOT NULL
);
INSERT INTO trace_ctx SELECT project, trace_hi, trace_lo, start_ns, span_id, session_id, user_id
    FROM spans WHERE session_id <> '' OR user_id <> '';

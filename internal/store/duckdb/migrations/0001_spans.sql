-- One row per span. Ids are fixed-width integers; the trace id is
-- (trace_hi, trace_lo), big-endian halves of its 16 bytes.
CREATE TABLE spans (
    project          VARCHAR  NOT NULL,
    trace_hi         UBIGINT  NOT NULL,
    trace_lo         UBIGINT  NOT NULL,
    span_id          UBIGINT  NOT NULL,
    parent_id        UBIGINT  NOT NULL, -- 0 for a root span
    start_ns         BIGINT   NOT NULL,
    duration_ns      BIGINT   NOT NULL,
    ttft_ns          BIGINT   NOT NULL, -- 0 when unknown
    name             VARCHAR  NOT NULL,
    service          VARCHAR  NOT NULL,
    status           VARCHAR  NOT NULL,
    error_type       VARCHAR  NOT NULL,
    is_genai         BOOLEAN  NOT NULL,
    operation        VARCHAR  NOT NULL,
    provider         VARCHAR  NOT NULL,
    model            VARCHAR  NOT NULL, -- request model, else response model
    request_model    VARCHAR  NOT NULL,
    response_model   VARCHAR  NOT NULL,
    input_tokens     BIGINT   NOT NULL,
    output_tokens    BIGINT   NOT NULL,
    cached_tokens    BIGINT   NOT NULL,
    reasoning_tokens BIGINT   NOT NULL,
    cost_usd         DOUBLE,            -- NULL when unknown
    session_id       VARCHAR  NOT NULL, -- the span's own
    user_id          VARCHAR  NOT NULL, -- the span's own
    content_mask     UTINYINT NOT NULL, -- kinds carried by the span: 1 system, 2 input, 4 output
    system_text      VARCHAR  NOT NULL,
    input_text       VARCHAR  NOT NULL,
    output_text      VARCHAR  NOT NULL,
    search_text      VARCHAR  NOT NULL, -- lower(system_text, input_text, output_text) joined by NUL
    detail           VARCHAR  NOT NULL  -- the whole genai.Span as JSON
);

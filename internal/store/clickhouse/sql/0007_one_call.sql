-- One call, one count (store.Store; doc.go says how). source and
-- response_id let the writer find a record's partner; partner is the
-- span id of the record's partner (0: none); own keeps, as JSON, the
-- values of the record written last that the call's merged values
-- replaced (the trace and export show it as recorded). The DEFAULTs fill
-- the rows written before from their detail; the writer sends every
-- column.
ALTER TABLE {db}.{spans} ADD COLUMN source String DEFAULT visitParamExtractString(detail, 'source');
ALTER TABLE {db}.{spans} ADD COLUMN response_id String DEFAULT visitParamExtractString(detail, 'response_id');
ALTER TABLE {db}.{spans} ADD COLUMN partner UInt64 DEFAULT 0;
ALTER TABLE {db}.{spans} ADD COLUMN own String DEFAULT '';

-- The stored copies (partner = 0) of call records that stopped counting
-- when their pair completed, with the values they were counted with:
-- readers of the spans skip those copies, and the retraction views below
-- take them out of the rollups.
CREATE TABLE IF NOT EXISTS {db}.{uncounted} (
    day              Date,
    project          String,
    start_ns         Int64,
    span_id          UInt64,
    trace_hi         UInt64,
    trace_lo         UInt64,
    duration_ns      Int64,
    ttft_ns          Int64,
    service          String,
    status           String,
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
    cost_usd         Float64
) ENGINE = ReplacingMergeTree() PARTITION BY day ORDER BY (project, start_ns, span_id, trace_hi, trace_lo);

-- The rollups count calls with a signed sum (signed_calls), so a retraction row
-- takes a call back (count states cannot); calls is no longer read.
ALTER TABLE {db}.{rollup} ADD COLUMN signed_calls AggregateFunction(sum, Int64);
ALTER TABLE {db}.{rollup_dim} ADD COLUMN signed_calls AggregateFunction(sum, Int64);
ALTER TABLE {db}.{rollup_day} ADD COLUMN signed_calls AggregateFunction(sum, Int64);
DROP TABLE IF EXISTS {db}.{rollup_mv};
DROP TABLE IF EXISTS {db}.{rollup_dim_mv};
DROP TABLE IF EXISTS {db}.{rollup_day_mv};
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_mv} TO {db}.{rollup} AS
SELECT {rollup_select_n}
FROM {db}.{spans} WHERE is_genai = 1
GROUP BY {rollup_keys};
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_dim_mv} TO {db}.{rollup_dim} AS
SELECT {rollup_dim_select_n}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE is_genai = 1
GROUP BY {rollup_dim_keys};
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_day_mv} TO {db}.{rollup_day} AS
SELECT {rollup_day_select_n}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE is_genai = 1
GROUP BY {rollup_dim_keys};

-- Retraction: a record that stops counting adds its values negated (and
-- signed_calls = -1); min, max and the t-digests cannot take a value back (doc.go).
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_retract_mv} TO {db}.{rollup} AS
SELECT {rollup_retract}
FROM {db}.{uncounted}
GROUP BY {rollup_keys};
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_dim_retract_mv} TO {db}.{rollup_dim} AS
SELECT {rollup_dim_retract}
FROM {db}.{uncounted} ARRAY JOIN {rollup_dim_values} AS dv
GROUP BY {rollup_dim_keys};
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_day_retract_mv} TO {db}.{rollup_day} AS
SELECT {rollup_day_retract}
FROM {db}.{uncounted} ARRAY JOIN {rollup_dim_values} AS dv
GROUP BY {rollup_dim_keys};

-- Rebuilt with signed_calls (no record is uncounted yet).
TRUNCATE TABLE {db}.{rollup};
INSERT INTO {db}.{rollup} SELECT {rollup_select_n}
FROM {db}.{spans} WHERE class = 'call'
GROUP BY {rollup_keys};
TRUNCATE TABLE {db}.{rollup_dim};
INSERT INTO {db}.{rollup_dim} SELECT {rollup_dim_select_n}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE class = 'call'
GROUP BY {rollup_dim_keys};
TRUNCATE TABLE {db}.{rollup_day};
INSERT INTO {db}.{rollup_day} SELECT {rollup_day_select_n}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE class = 'call'
GROUP BY {rollup_dim_keys};

-- Hourly rollups of the GenAI spans, so the dashboard's aggregates over
-- days and weeks read thousands of rows instead of millions. One row per
-- hour and dimension values, holding aggregate states: sums and counts
-- merge exactly; the percentiles are t-digests (estimates, used only when
-- a query selects more calls than the store's exact-percentile limit).
-- Filled by the materialized view at every insert into the spans table,
-- and once from the spans already stored. Partitioned by day like the
-- spans, so retention drops the same days. {rollup} is the local table.
CREATE TABLE IF NOT EXISTS {db}.{rollup} (
    day              Date,
    hour             Int64,
    project          String,
    service          String,
    provider         String,
    operation        String,
    status           String,
    model            String,
    request_model    String,
    response_model   String,
    calls            AggregateFunction(count),
    errors           AggregateFunction(sum, UInt64),
    in_tok           AggregateFunction(sum, Int64),
    out_tok          AggregateFunction(sum, Int64),
    cached_tok       AggregateFunction(sum, Int64),
    reason_tok       AggregateFunction(sum, Int64),
    cost_all         AggregateFunction(sum, Float64),
    cost_priced      AggregateFunction(sumIf, Float64, UInt8),
    cost_unpriced    AggregateFunction(sum, UInt64),
    dur_sum          AggregateFunction(sum, Int64),
    dur_min          AggregateFunction(min, Int64),
    dur_max          AggregateFunction(max, Int64),
    dur_q            AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64),
    ttft_n           AggregateFunction(sum, UInt64),
    ttft_sum         AggregateFunction(sumIf, Int64, UInt8),
    ttft_min         AggregateFunction(minIf, Int64, UInt8),
    ttft_max         AggregateFunction(maxIf, Int64, UInt8),
    ttft_q           AggregateFunction(quantilesTDigestIf(0.5, 0.9, 0.95, 0.99), Float64, UInt8)
) ENGINE = AggregatingMergeTree() PARTITION BY day
  ORDER BY (project, hour, service, provider, model, operation, status, request_model, response_model);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_mv} TO {db}.{rollup} AS
SELECT {rollup_select}
FROM {db}.{spans} WHERE is_genai = 1
GROUP BY {rollup_keys};

-- Once, for spans stored before this migration (under the migration lock,
-- so one node does it).
INSERT INTO {db}.{rollup} SELECT {rollup_select}
FROM {db}.{spans} WHERE is_genai = 1
GROUP BY {rollup_keys};

-- The same states with one dimension at a time: a row per hour and value
-- of each dimension ('' for all calls; model_any indexes a call under its
-- request and its response model, as the model filter matches). The
-- dashboard's common questions (everything, one filter, a breakdown by
-- one dimension) read a few thousand of these rows.
CREATE TABLE IF NOT EXISTS {db}.{rollup_dim} (
    day              Date,
    hour             Int64,
    project          String,
    dim              String,
    value            String,
    calls            AggregateFunction(count),
    errors           AggregateFunction(sum, UInt64),
    in_tok           AggregateFunction(sum, Int64),
    out_tok          AggregateFunction(sum, Int64),
    cached_tok       AggregateFunction(sum, Int64),
    reason_tok       AggregateFunction(sum, Int64),
    cost_all         AggregateFunction(sum, Float64),
    cost_priced      AggregateFunction(sumIf, Float64, UInt8),
    cost_unpriced    AggregateFunction(sum, UInt64),
    dur_sum          AggregateFunction(sum, Int64),
    dur_min          AggregateFunction(min, Int64),
    dur_max          AggregateFunction(max, Int64),
    dur_q            AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64),
    ttft_n           AggregateFunction(sum, UInt64),
    ttft_sum         AggregateFunction(sumIf, Int64, UInt8),
    ttft_min         AggregateFunction(minIf, Int64, UInt8),
    ttft_max         AggregateFunction(maxIf, Int64, UInt8),
    ttft_q           AggregateFunction(quantilesTDigestIf(0.5, 0.9, 0.95, 0.99), Float64, UInt8)
) ENGINE = AggregatingMergeTree() PARTITION BY day ORDER BY (project, dim, value, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_dim_mv} TO {db}.{rollup_dim} AS
SELECT {rollup_dim_select}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE is_genai = 1
GROUP BY {rollup_dim_keys};

INSERT INTO {db}.{rollup_dim} SELECT {rollup_dim_select}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE is_genai = 1
GROUP BY {rollup_dim_keys};

-- rollup_dim by day (its hour column holds the start of the day), so a
-- month is 30 rows of states per value instead of 720.
CREATE TABLE IF NOT EXISTS {db}.{rollup_day} AS {db}.{rollup_dim};

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{rollup_day_mv} TO {db}.{rollup_day} AS
SELECT {rollup_day_select}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE is_genai = 1
GROUP BY {rollup_dim_keys};

INSERT INTO {db}.{rollup_day} SELECT {rollup_day_select}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE is_genai = 1
GROUP BY {rollup_dim_keys};

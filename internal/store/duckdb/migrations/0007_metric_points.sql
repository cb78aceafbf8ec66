-- GenAI metrics sent over OTLP (store.MetricStore, metrics.go): one row
-- per stored delta histogram point of a series. A series sent
-- cumulatively keeps the cumulative point each row was computed from
-- (cum_*), so the next point's delta is computed against it.
CREATE TABLE metric_points (
    project        VARCHAR  NOT NULL,
    series         UBIGINT  NOT NULL,
    name           VARCHAR  NOT NULL,
    service        VARCHAR  NOT NULL,
    provider       VARCHAR  NOT NULL,
    operation      VARCHAR  NOT NULL,
    model          VARCHAR  NOT NULL, -- request model, else response model
    response_model VARCHAR  NOT NULL,
    token_type     VARCHAR  NOT NULL,
    error_type     VARCHAR  NOT NULL,
    start_ns       BIGINT   NOT NULL, -- the row's interval: [start_ns, time_ns)
    time_ns        BIGINT   NOT NULL,
    cnt            BIGINT   NOT NULL,
    total          DOUBLE   NOT NULL,
    bounds         DOUBLE[] NOT NULL,
    buckets        BIGINT[] NOT NULL,
    cum_start      BIGINT   NOT NULL,
    cum_count      BIGINT   NOT NULL,
    cum_sum        DOUBLE   NOT NULL,
    cum_buckets    BIGINT[] NOT NULL
);

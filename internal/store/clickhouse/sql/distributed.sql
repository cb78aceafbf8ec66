-- Cluster mode only, after the migrations: one Distributed table over each
-- local table, sharded by trace so a trace (and its retries) lives on one
-- shard. Reads and writes go through these.
CREATE TABLE IF NOT EXISTS {db}.spans AS {db}.spans_local
    ENGINE = Distributed({cluster}, {db}, spans_local, cityHash64(trace_hi, trace_lo));
CREATE TABLE IF NOT EXISTS {db}.message_records AS {db}.message_records_local
    ENGINE = Distributed({cluster}, {db}, message_records_local, cityHash64(trace_hi, trace_lo));
CREATE TABLE IF NOT EXISTS {db}.trace_ctx AS {db}.trace_ctx_local
    ENGINE = Distributed({cluster}, {db}, trace_ctx_local, cityHash64(trace_hi, trace_lo));

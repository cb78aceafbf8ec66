-- Shared state (state.go): alert rules, action groups, alert state, the
-- notification log, projects, keys (hashed), users and sessions as JSON
-- documents, and their append-only events (alert history, delivery
-- attempts). Small tables, not partitioned.
--
-- A document is never updated in place: every put or delete inserts a row
-- with a larger version (nanoseconds, monotonic per node); readers take
-- the row of the largest version of each (kind, id) with argMax, and a
-- delete is a row with deleted = 1. The ReplacingMergeTree merges old
-- versions away in the background; correctness does not depend on when.
-- In a cluster these are the local tables of each host (their plain names:
-- the migration has no placeholder for them), and distributed.sql adds the
-- Distributed tables state_docs_dist and state_events_dist over them.
CREATE TABLE IF NOT EXISTS {db}.state_docs (
    kind    String,
    id      String,
    version UInt64,
    deleted UInt8,
    doc     String
) ENGINE = ReplacingMergeTree(version) ORDER BY (kind, id);

CREATE TABLE IF NOT EXISTS {db}.state_events (
    kind    String,
    key     String,
    time_ns Int64,
    seq     UInt64,
    doc     String
) ENGINE = MergeTree() ORDER BY (kind, key, time_ns, seq);

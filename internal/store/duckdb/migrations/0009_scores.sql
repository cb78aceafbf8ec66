-- Scores (store.ScoreStore, scores.go): judgements of a span, a trace or a
-- session. target_ns is the start of the scored span or trace (the score's
-- time for a session): retention deletes a score with its target.
CREATE TABLE scores (
    project    VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    trace_id   VARCHAR NOT NULL, -- hex, '' for a session score
    span_id    VARCHAR NOT NULL, -- hex, '' for a trace or session score
    session_id VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    value      DOUBLE,           -- NULL: no numeric value
    label      VARCHAR NOT NULL,
    comment    VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    author     VARCHAR NOT NULL,
    time_ns    BIGINT  NOT NULL,
    updated_ns BIGINT  NOT NULL,
    target_ns  BIGINT  NOT NULL,
    PRIMARY KEY (project, id)
);
CREATE INDEX scores_trace ON scores (project, trace_id);

-- Alert rules, action groups, alert state and the notification log, as
-- JSON documents (internal/alert and internal/notify define them), and
-- their append-only history (state changes, delivery attempts).
CREATE TABLE state_docs (
    kind       VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    doc        VARCHAR NOT NULL,
    updated_ns BIGINT  NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE SEQUENCE state_events_seq;
CREATE TABLE state_events (
    seq     BIGINT  NOT NULL DEFAULT nextval('state_events_seq'),
    kind    VARCHAR NOT NULL,
    key     VARCHAR NOT NULL,
    time_ns BIGINT  NOT NULL,
    doc     VARCHAR NOT NULL
);

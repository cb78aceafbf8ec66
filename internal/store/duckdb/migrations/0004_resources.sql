-- Resource attributes (service.name, host, SDK, ...) are the same for
-- every span a process sends: store each distinct set once and refer to
-- it from spans, instead of repeating it in every span's detail.
ALTER TABLE spans ADD COLUMN resource_hash UBIGINT DEFAULT 0;
CREATE TABLE resources (
    hash  UBIGINT NOT NULL,
    attrs VARCHAR NOT NULL -- JSON object
);

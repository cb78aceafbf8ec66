-- One call, one count (store.Store): a model call recorded by the
-- application and by the gateway is paired at write time. source and
-- response_id let the writer find a record's partner; partner is the
-- span id of the record's partner (0: none); the paired app record holds
-- the call's values (the gateway's duration, tokens, cost ...) in its
-- columns, and own keeps, as JSON, its own values those replaced (so the
-- trace and export show it as recorded). The gateway record of a pair is
-- no longer a counted call (is_genai = false).
ALTER TABLE spans ADD COLUMN source VARCHAR DEFAULT '';
ALTER TABLE spans ADD COLUMN response_id VARCHAR DEFAULT '';
ALTER TABLE spans ADD COLUMN partner UBIGINT DEFAULT 0;
ALTER TABLE spans ADD COLUMN own VARCHAR DEFAULT '';
UPDATE spans SET source = coalesce(json_extract_string(detail, '$.source'), ''),
    response_id = coalesce(json_extract_string(detail, '$.response_id'), '');

-- The session and user a span without its own inherits, resolved when it
-- is written: that of the earliest span of the same trace in the same
-- batch carrying one (an SDK exports a trace's spans together). Empty
-- when unresolved, as for rows written before this migration: reads then
-- look in trace_ctx, for those spans' traces only, instead of joining
-- every span.
ALTER TABLE spans ADD COLUMN eff_session VARCHAR DEFAULT '';
ALTER TABLE spans ADD COLUMN eff_user VARCHAR DEFAULT '';

-- What recorded a drift baseline: `rescore: <cause>` (the end of a full re-score of the
-- version: `model v2` after its activation, `schedule`, `manual`) or `drift request` (the
-- first drift call, for a version never re-scored). A baseline recorded before any won/lost
-- outcome existed is empty; it is recorded again at the end of the next full re-score once
-- outcomes exist. Rows from before this migration read as `unknown`. The sqlite/ twin is
-- the same.
ALTER TABLE drift_baselines ADD COLUMN source TEXT NOT NULL DEFAULT 'unknown';

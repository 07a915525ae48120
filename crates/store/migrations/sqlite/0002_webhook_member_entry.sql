-- Hysteresis state of webhook triggers needs more than in/out: the score a lead entered a
-- crossing with (a lead leaves only a margin below it) and when it was last announced (for the
-- cool-down). Both stay NULL for triggers that do not use them. The postgres/ twin is the same.
ALTER TABLE webhook_members ADD COLUMN entry_score REAL;
ALTER TABLE webhook_members ADD COLUMN announced_at BIGINT;

-- Outbox claims: with several nodes on one database, each node's delivery worker claims the
-- due items it is about to send (claimed_until, ms) in one UPDATE, so no other node sends
-- them meanwhile. Recording an attempt, or handing an unsent item back, clears the claim; the
-- claim of a node that died lapses and another node sends the item. NULL: not claimed. The
-- other twin is the same.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;

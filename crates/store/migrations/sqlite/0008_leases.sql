-- Leases: a named duty taken by one process until a time (ms), so that with several nodes on
-- one database a duty runs on one of them at a time. The periodic re-score and retrain of a
-- workspace take `re-score:<workspace>` / `retrain:<workspace>` for most of their period:
-- whichever node's timer fires first runs it, the others skip that period. owner is the
-- process that holds it (for inspection). The other twin is the same.
CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);

-- Champion/challenger and drift (issue 4). A workspace's challenger is a stored model version
-- the writer scores every touched contact with, in the same transaction as the champion's
-- score; its latest score per contact is kept in challenger_scores (one row per contact, the
-- version that scored it). drift_baselines holds, per model version, the conversion rate per
-- tier over the contacts with a won/lost outcome when it was recorded (JSON: tier -> n, won).
-- The postgres/ twin is the same.
CREATE TABLE challengers (
    workspace_id TEXT PRIMARY KEY,
    version      BIGINT NOT NULL,
    set_at       BIGINT NOT NULL
);
CREATE TABLE challenger_scores (
    workspace_id TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    version      BIGINT NOT NULL,
    score        REAL NOT NULL,
    tier         TEXT NOT NULL,
    status       TEXT NOT NULL,
    scored_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
);
CREATE TABLE drift_baselines (
    workspace_id TEXT NOT NULL,
    version      BIGINT NOT NULL,
    tiers        TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

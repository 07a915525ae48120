-- Predictive scoring in the service (SPEC P3). learned_models keeps every model trained from a
-- workspace's store (`serve --retrain-every`), versioned per workspace: the model file as
-- `leadscore train` writes it (JSON), its target, learner and training counts. predictions
-- holds each contact's calibrated probability and top factors (JSON) by the latest learned
-- model, one row per contact. A retrain is a background job (kind `retrain`) whose note says
-- what it did, or why it did not train (too few outcomes). The sqlite/ twin is the same.
CREATE TABLE learned_models (
    workspace_id TEXT NOT NULL,
    version      BIGINT NOT NULL,
    target       TEXT NOT NULL,
    algo         TEXT NOT NULL,
    rows_used    BIGINT NOT NULL,
    positives    BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    model        TEXT NOT NULL,
    trained_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);
CREATE TABLE predictions (
    workspace_id    TEXT NOT NULL,
    contact_id      TEXT NOT NULL,
    learned_version BIGINT NOT NULL,
    probability     DOUBLE PRECISION NOT NULL,
    factors         TEXT NOT NULL,
    predicted_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
);
ALTER TABLE rescore_jobs ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- Outcomes for closed-loop learning (SPEC D4): stage changes, opportunities, deals won or lost,
-- with stage, amount and reason. Recorded through `POST /api/v1/outcomes`, an outcomes import,
-- or mapped from Segment track events (`Deal Won`, …) in the ingestion transaction. The id a
-- sender gave (or the track's messageId) is unique per workspace, so a retry is stored once.
-- The sqlite/ twin is the same.
CREATE TABLE outcomes (
    seq          BIGSERIAL PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    stage        TEXT,
    amount       DOUBLE PRECISION,
    reason       TEXT,
    at           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX outcomes_message ON outcomes (workspace_id, message_id);
CREATE INDEX outcomes_contact ON outcomes (workspace_id, contact_id, at);

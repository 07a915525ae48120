-- leadscore schema, SQLite dialect. Every table is keyed by workspace. Times are Unix
-- milliseconds. The postgres/ directory holds the same migration in PostgreSQL's dialect.
CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash     TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE models (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    version       BIGINT NOT NULL,
    name          TEXT NOT NULL,
    model_version TEXT NOT NULL,
    hash          TEXT NOT NULL,
    source        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    author        TEXT NOT NULL,
    note          TEXT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE model_activations (
    seq          INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    version      BIGINT NOT NULL,
    activated_at BIGINT NOT NULL,
    author       TEXT NOT NULL,
    note         TEXT NOT NULL
);
CREATE INDEX model_activations_ws ON model_activations (workspace_id, activated_at);

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    event        TEXT,
    user_id      TEXT,
    anonymous_id TEXT,
    group_id     TEXT,
    ts           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    props        TEXT NOT NULL
);
CREATE UNIQUE INDEX events_message ON events (workspace_id, message_id);
CREATE INDEX events_user ON events (workspace_id, user_id);
-- Only messages sent without a user id are ever looked up by anonymous id (to merge them
-- into a contact); most messages carry both ids and stay out of this index.
CREATE INDEX events_anonymous ON events (workspace_id, anonymous_id) WHERE user_id IS NULL;
CREATE INDEX events_group ON events (workspace_id, group_id) WHERE group_id IS NOT NULL;

CREATE TABLE aliases (
    workspace_id TEXT NOT NULL,
    anonymous_id TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    linked_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, anonymous_id)
);
CREATE INDEX aliases_contact ON aliases (workspace_id, contact_id);

CREATE TABLE contacts (
    workspace_id  TEXT NOT NULL,
    id            TEXT NOT NULL,
    account_id    TEXT,
    traits        TEXT NOT NULL,
    version       BIGINT NOT NULL,
    events        BIGINT NOT NULL,
    first_seen    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    score         REAL NOT NULL,
    tier          TEXT NOT NULL,
    grade         TEXT,
    priority      TEXT,
    status        TEXT NOT NULL,
    segment       TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    moment        TEXT,
    model_version BIGINT NOT NULL,
    scored_at     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX contacts_score ON contacts (workspace_id, score, id);
CREATE INDEX contacts_account ON contacts (workspace_id, account_id);

CREATE TABLE accounts (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    traits       TEXT NOT NULL,
    score        REAL,
    tier         TEXT,
    contacts     BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE score_history (
    seq           INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    contact_id    TEXT NOT NULL,
    at            BIGINT NOT NULL,
    old_score     REAL,
    new_score     REAL NOT NULL,
    old_tier      TEXT,
    new_tier      TEXT NOT NULL,
    old_status    TEXT,
    new_status    TEXT NOT NULL,
    cause         TEXT NOT NULL,
    model_version BIGINT NOT NULL
);
CREATE INDEX score_history_contact ON score_history (workspace_id, contact_id, seq);

CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    triggers     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    active       BIGINT NOT NULL
);

CREATE TABLE webhook_members (
    workspace_id TEXT NOT NULL,
    webhook_id   TEXT NOT NULL,
    trigger_key  TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    inside       BIGINT NOT NULL,
    changed_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, webhook_id, trigger_key, contact_id)
);

CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    webhook_id   TEXT NOT NULL,
    idem_key     TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    state        TEXT NOT NULL,
    last_status  BIGINT,
    last_error   TEXT,
    delivered_at BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_at);

CREATE TABLE deliveries (
    seq          INTEGER PRIMARY KEY,
    outbox_seq   BIGINT NOT NULL,
    workspace_id TEXT NOT NULL,
    webhook_id   TEXT NOT NULL,
    at           BIGINT NOT NULL,
    status       BIGINT,
    error        TEXT,
    millis       BIGINT NOT NULL
);
CREATE INDEX deliveries_ws ON deliveries (workspace_id, seq);

CREATE TABLE rescore_jobs (
    seq           INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    model_version BIGINT NOT NULL,
    cause         TEXT NOT NULL,
    total         BIGINT NOT NULL,
    done          BIGINT NOT NULL,
    state         TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT
);

//! The store's row types: plain data in and out of SQL, no behaviour.

use serde::{Deserialize, Serialize};

/// JSON object of traits (contact or account attributes) as received, merged over time.
pub type Traits = serde_json::Map<String, serde_json::Value>;

/// A workspace: one tenant with its own keys, model, contacts and events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workspace {
    /// Stable id (used in every table).
    pub id: String,
    /// Unique, human-chosen name (`default` for demos).
    pub name: String,
    /// Creation time (ms).
    pub created_at: i64,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Send events (`/v1/*`, import).
    Write,
    /// Read scores and manage models (`/api/v1/*`).
    Read,
}

impl KeyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Write => "write",
            KeyKind::Read => "read",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<KeyKind> {
        match s {
            "write" => Some(KeyKind::Write),
            "read" => Some(KeyKind::Read),
            _ => None,
        }
    }
}

/// A model file to store as a new version.
#[derive(Debug, Clone, Copy)]
pub struct NewModel<'a> {
    /// `[model] name`.
    pub name: &'a str,
    /// `[model] version` as written in the file.
    pub model_version: &'a str,
    /// SHA-256 of the file.
    pub hash: &'a str,
    /// The TOML text.
    pub source: &'a str,
    /// Who uploaded it.
    pub author: &'a str,
    /// Why (the changelog line).
    pub note: &'a str,
}

/// A stored model version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRecord {
    /// The workspace's version number (1, 2, …).
    pub version: i64,
    /// `[model] name`.
    pub name: String,
    /// `[model] version` as written in the file.
    pub model_version: String,
    /// SHA-256 of the file.
    pub hash: String,
    /// The TOML text.
    #[serde(skip)]
    pub source: String,
    /// Upload time (ms).
    pub created_at: i64,
    /// Who uploaded it.
    pub author: String,
    /// Why.
    pub note: String,
}

/// One activation of a model version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activation {
    /// The version made active.
    pub version: i64,
    /// When (ms).
    pub activated_at: i64,
    /// Who.
    pub author: String,
    /// Why.
    pub note: String,
}

/// Row counts of a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Identified contacts.
    pub contacts: i64,
    /// Accounts (from `group` calls).
    pub accounts: i64,
    /// Raw messages kept in the event log.
    pub events: i64,
}

/// Orders for listing leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadSort {
    /// Best first (the default).
    #[default]
    ScoreDesc,
    /// Worst first.
    ScoreAsc,
    /// Most recently changed first.
    UpdatedDesc,
    /// By id.
    Id,
    /// Highest predicted probability first (leads without one last).
    ProbabilityDesc,
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    /// After (score, id), or (probability, id) with -1 for none.
    Score(f64, String),
    /// After (updated_at, id).
    Int(i64, String),
    /// After id.
    Id(String),
}

/// Filters for listing leads.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Tier name.
    pub tier: Option<String>,
    /// Grade cell such as `A1`.
    pub grade: Option<String>,
    /// Segment id.
    pub segment: Option<String>,
    /// `qualified`, `pool` or `disqualified`.
    pub status: Option<String>,
    /// Only contacts of this account.
    pub account_id: Option<String>,
    /// Score at least.
    pub min_score: Option<f64>,
    /// Score at most.
    pub max_score: Option<f64>,
    /// Changed at or after (ms).
    pub updated_since: Option<i64>,
    /// Order.
    pub sort: LeadSort,
    /// Cursor from the previous page.
    pub after: Option<Cursor>,
    /// Page size (1–1000).
    pub limit: i64,
}

/// One of the top reasons stored with a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Rule id.
    pub rule: String,
    /// Rule label.
    pub label: String,
    /// Points it added (after decay and caps).
    pub points: f64,
}

/// The score columns of a contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreColumns {
    /// The score.
    pub score: f64,
    /// Tier name.
    pub tier: String,
    /// Grade cell.
    pub grade: Option<String>,
    /// Priority label of the grade cell.
    pub priority: Option<String>,
    /// `qualified`, `pool` or `disqualified`.
    pub status: String,
    /// Segment id.
    pub segment: String,
    /// The top reasons (biggest contributions first).
    pub reasons: Vec<Reason>,
    /// The last interesting moment, as the core renders it.
    pub moment: Option<serde_json::Value>,
    /// Model version (the workspace's number) that scored it.
    pub model_version: i64,
    /// The `as_of` of the score (ms).
    pub scored_at: i64,
}

/// A contact with its current score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactRecord {
    /// The contact id (Segment `userId`).
    pub id: String,
    /// The account (Segment `groupId`).
    pub account_id: Option<String>,
    /// Traits merged from every identify.
    pub traits: Traits,
    /// Messages applied to this contact so far: lets a node see another node's writes.
    pub version: i64,
    /// Behaviour events (track, page, screen) of this contact.
    pub events: i64,
    /// First message (ms).
    pub first_seen: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// The score now stored.
    #[serde(flatten)]
    pub score: ScoreColumns,
}

/// A score change, kept forever.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRecord {
    /// The contact.
    #[serde(skip)]
    pub contact_id: String,
    /// When (ms).
    pub at: i64,
    /// Score before (none for a new contact).
    pub old_score: Option<f64>,
    /// Score after.
    pub new_score: f64,
    /// Tier before.
    pub old_tier: Option<String>,
    /// Tier after.
    pub new_tier: String,
    /// Status before.
    pub old_status: Option<String>,
    /// Status after.
    pub new_status: String,
    /// What caused it: `event <type>`, `identify`, `group`, `merge`, `schedule`, `model vN`.
    pub cause: String,
    /// Model version that scored it.
    pub model_version: i64,
}

/// A message to append to the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Segment `messageId` (unique per workspace).
    pub message_id: String,
    /// `identify`, `track`, `page`, `screen`, `group` or `alias`.
    pub kind: String,
    /// The event type scored (track `event`, `page_view`, `screen_view`).
    pub event: Option<String>,
    /// `userId`.
    pub user_id: Option<String>,
    /// `anonymousId` (or an alias's `previousId`).
    pub anonymous_id: Option<String>,
    /// `groupId`.
    pub group_id: Option<String>,
    /// Event time (ms).
    pub ts: i64,
    /// Received (ms).
    pub received_at: i64,
    /// Properties or traits, as a JSON object.
    pub props: String,
}

/// A message read back from the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Position in the log.
    pub seq: i64,
    /// The message as stored.
    pub event: NewEvent,
}

/// An account with its rolled-up score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRecord {
    /// Segment `groupId`.
    pub id: String,
    /// Group traits merged.
    pub traits: Traits,
    /// Rolled-up score (none without contacts or roll-up).
    pub score: Option<f64>,
    /// Account tier.
    pub tier: Option<String>,
    /// Scored contacts in it.
    pub contacts: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// An anonymous id linked to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// The `anonymousId`.
    pub anonymous_id: String,
    /// The contact it belongs to.
    pub contact_id: String,
    /// When the link was received (ms).
    pub linked_at: i64,
}

/// A background re-score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// Job id.
    pub id: i64,
    /// `rescore` (every contact by the active model), `backfill` (every contact scored in
    /// shadow by the challenger) or `retrain` (a predictive model trained from the store).
    pub kind: String,
    /// Model version scoring (the challenger's for a back-fill).
    pub model_version: i64,
    /// `model v2` (activation), `schedule`, `manual`, `challenger v3` (back-fill), …
    pub cause: String,
    /// Contacts to score.
    pub total: i64,
    /// Contacts scored so far.
    pub done: i64,
    /// `running`, `done`, `failed`, `interrupted`, `cancelled` (a back-fill whose challenger
    /// was changed or removed), `skipped` (a retrain with too few outcomes).
    pub state: String,
    /// Start (ms).
    pub started_at: i64,
    /// End (ms).
    pub finished_at: Option<i64>,
    /// The last contact id done (ids are taken in order; empty before the first chunk).
    #[serde(skip)]
    pub resume_after: String,
    /// What the job did, or why it did nothing (a retrain with too few outcomes).
    pub note: String,
}

/// An outcome of a contact (SPEC D4): what sales saw happen, for closed-loop learning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The sender's id (or the Segment `messageId` it came from): unique per workspace.
    pub message_id: String,
    /// The contact.
    pub contact_id: String,
    /// `stage_changed`, `opportunity_created`, `won` or `lost`.
    pub kind: String,
    /// The stage reached (CRM pipeline stage), if given.
    pub stage: Option<String>,
    /// The deal's amount, if given.
    pub amount: Option<f64>,
    /// Why (a lost reason, say), if given.
    pub reason: Option<String>,
    /// When it happened (ms).
    pub at: i64,
    /// When it was received (ms).
    pub received_at: i64,
}

/// A contact as the training table reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingContact {
    /// The contact id.
    pub id: String,
    /// Its account.
    pub account_id: Option<String>,
    /// Its merged traits.
    pub traits: Traits,
}

/// A behaviour event as the training table reads it: whose, which type, when.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingEvent {
    /// Position in the log (the cursor of the next page).
    pub seq: i64,
    /// The contact (its user id, or the contact its anonymous id is linked to).
    pub contact_id: String,
    /// The event type.
    pub event: String,
    /// Event time (ms).
    pub ts: i64,
}

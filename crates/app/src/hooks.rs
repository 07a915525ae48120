//! Webhooks: which score changes a subscription hears about (with hysteresis, so a lead
//! hovering at a threshold is not announced again and again), the signed payload, and the
//! delivery worker that drains the durable outbox with retries and exponential backoff.
//!
//! Deliveries are enqueued in the same transaction as the score change that causes them, so a
//! change that was committed is never lost; the worker records every attempt before it moves
//! on, so a restart delivers an item again only when it stopped between the request and the
//! record (at-least-once, with the same `Idempotency-Key`).

use crate::Space;
use hmac::{Hmac, Mac};
use leadscore_store::hooks::{Delivery, Member, NewOutbox, OutboxItem, Webhook};
use leadscore_store::{ContactRecord, Result as StoreResult, ScoreColumns, Store, Tx};
use rustc_hash::FxHashMap;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
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

const QUALIFIED: &str = "qualified";
const DISQUALIFIED: &str = "disqualified";
const DAY_MS: f64 = 86_400_000.0;
const HOUR_MS: f64 = 3_600_000.0;
/// The longest wait between two attempts of one item.
const MAX_BACKOFF_MS: i64 = 3_600_000;

impl Trigger {
    /// The kind, as sent in `Leadscore-Event` and the payload's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::TierChanged => "tier_changed",
            Trigger::SalesReady { .. } => "sales_ready",
            Trigger::Disqualified => "disqualified",
            Trigger::Velocity { .. } => "velocity",
        }
    }

    /// The name its state is kept under: the kind and its parameters, so two triggers of one
    /// subscription that differ only in parameters keep apart, and changing a trigger's
    /// parameters starts its hysteresis afresh.
    fn key(&self) -> String {
        match self {
            Trigger::TierChanged | Trigger::Disqualified => self.kind().to_owned(),
            Trigger::SalesReady {
                margin,
                cooldown_hours,
            } => format!("sales_ready-{margin}-{cooldown_hours}"),
            Trigger::Velocity { percent, days } => format!("velocity-{percent}-{days}"),
        }
    }
}

/// A trigger's state for one contact: `None` when nothing was kept yet.
type State<'a> = Option<&'a Member>;

/// What one trigger makes of one change: whether it fires, and the state to keep (`None`:
/// leave the stored state as it is).
#[derive(Debug, PartialEq)]
struct Decision {
    fire: bool,
    keep: Option<Kept>,
}

/// The state a decision keeps, without the ids.
#[derive(Debug, PartialEq)]
struct Kept {
    inside: bool,
    entry_score: Option<f64>,
    announced_at: Option<i64>,
}

const NOTHING: Decision = Decision {
    fire: false,
    keep: None,
};

/// Sales-ready with hysteresis. A lead enters when its status becomes `qualified`; once in, it
/// is out only when it is no longer qualified *and* its score fell `margin` below the score it
/// entered with. Entering announces, unless the last announcement of this lead was less than
/// the cool-down ago. A lead that was qualified before the subscription had state for it counts
/// as in since before (it is not news).
fn sales_ready(
    prev: State<'_>,
    old: Option<&ScoreColumns>,
    new: &ScoreColumns,
    margin: f64,
    cooldown_ms: f64,
    now: i64,
) -> Decision {
    let qualified = new.status == QUALIFIED;
    let (inside, entry, announced, implicit) = match prev {
        Some(m) => (m.inside, m.entry_score, m.announced_at, false),
        None => match old {
            Some(o) if o.status == QUALIFIED => (true, Some(o.score), None, true),
            _ => (false, None, None, false),
        },
    };
    if inside {
        let entry = entry.unwrap_or(new.score);
        if !qualified && entry - new.score >= margin {
            return Decision {
                fire: false,
                keep: Some(Kept {
                    inside: false,
                    entry_score: Some(entry),
                    announced_at: announced,
                }),
            };
        }
        return Decision {
            fire: false,
            keep: implicit.then_some(Kept {
                inside: true,
                entry_score: Some(entry),
                announced_at: None,
            }),
        };
    }
    if !qualified {
        return NOTHING;
    }
    let fire = announced.is_none_or(|at| (now - at) as f64 >= cooldown_ms);
    Decision {
        fire,
        keep: Some(Kept {
            inside: true,
            entry_score: Some(new.score),
            announced_at: if fire { Some(now) } else { announced },
        }),
    }
}

/// Velocity with hysteresis: fires when the score is at least `percent` % above `base` (the
/// score `days` ago) and was not so at the contact's previous change; re-arms when the rise no
/// longer holds. A rise announced more than the window ago re-arms too: the score it was
/// measured against has left the window, so a new rise is a new event even when no change in
/// between saw the condition stop.
fn velocity(
    prev: State<'_>,
    base: Option<f64>,
    new: f64,
    percent: f64,
    window_ms: i64,
    now: i64,
) -> Decision {
    let Some(base) = base.filter(|b| *b > 0.0) else {
        return NOTHING;
    };
    let holds = (new - base) / base * 100.0 >= percent - 1e-9;
    let was_inside = prev.is_some_and(|m| m.inside);
    let armed = !prev.is_some_and(|m| m.inside && now - m.changed_at < window_ms);
    let kept = |inside| {
        Some(Kept {
            inside,
            entry_score: Some(base),
            announced_at: None,
        })
    };
    match (holds, armed) {
        (true, true) => Decision {
            fire: true,
            keep: kept(true),
        },
        (false, _) if was_inside => Decision {
            fire: false,
            keep: kept(false),
        },
        _ => NOTHING,
    }
}

/// Enqueues the deliveries these changes trigger, in the same transaction as the changes.
pub(crate) async fn on_changes(
    tx: &mut Tx,
    space: &Space,
    changes: &[Change<'_>],
    now: i64,
) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let all = space.webhooks();
    let hooks: Vec<(&Webhook, Vec<Trigger>)> = all
        .iter()
        .filter(|h| h.active)
        .filter_map(
            |h| match serde_json::from_value::<Vec<Trigger>>(h.triggers.clone()) {
                Ok(t) => Some((h, t)),
                Err(e) => {
                    tracing::warn!("webhook {}: stored triggers: {e}", h.id);
                    None
                }
            },
        )
        .collect();
    if hooks.is_empty() {
        return Ok(());
    }
    let ws = space.id.as_str();
    let ids: Vec<String> = changes.iter().map(|c| c.contact.id.clone()).collect();
    let stateful = hooks.iter().any(|(_, ts)| {
        ts.iter()
            .any(|t| matches!(t, Trigger::SalesReady { .. } | Trigger::Velocity { .. }))
    });
    let mut state: FxHashMap<(String, String, String), Member> = FxHashMap::default();
    if stateful {
        for m in tx.members(ws, &ids).await? {
            state.insert(
                (
                    m.webhook_id.clone(),
                    m.trigger_key.clone(),
                    m.contact_id.clone(),
                ),
                m,
            );
        }
    }
    // The score `days` ago, per window: one query per distinct window.
    let mut bases: FxHashMap<i64, FxHashMap<String, f64>> = FxHashMap::default();
    for (_, triggers) in &hooks {
        for t in triggers {
            if let Trigger::Velocity { days, .. } = t {
                let window = (days * DAY_MS).round() as i64;
                if let std::collections::hash_map::Entry::Vacant(e) = bases.entry(window) {
                    let found = tx.scores_before(ws, &ids, now - window).await?;
                    e.insert(found.into_iter().collect());
                }
            }
        }
    }

    let occurred_at = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let mut items = Vec::new();
    let mut kept = Vec::new();
    for (hook, triggers) in &hooks {
        for t in triggers {
            let key = t.key();
            for c in changes {
                let new = &c.contact.score;
                let prev = state.get(&(hook.id.clone(), key.clone(), c.contact.id.clone()));
                let d = match t {
                    Trigger::TierChanged => Decision {
                        fire: c.old.is_some_and(|o| o.tier != new.tier),
                        keep: None,
                    },
                    Trigger::Disqualified => Decision {
                        fire: new.status == DISQUALIFIED
                            && c.old.is_some_and(|o| o.status != DISQUALIFIED),
                        keep: None,
                    },
                    Trigger::SalesReady {
                        margin,
                        cooldown_hours,
                    } => sales_ready(prev, c.old, new, *margin, cooldown_hours * HOUR_MS, now),
                    Trigger::Velocity { percent, days } => {
                        let window = (days * DAY_MS).round() as i64;
                        let base = bases
                            .get(&window)
                            .and_then(|b| b.get(&c.contact.id))
                            .copied();
                        velocity(prev, base, new.score, *percent, window, now)
                    }
                };
                if let Some(k) = d.keep {
                    kept.push(Member {
                        webhook_id: hook.id.clone(),
                        trigger_key: key.clone(),
                        contact_id: c.contact.id.clone(),
                        inside: k.inside,
                        changed_at: now,
                        entry_score: k.entry_score,
                        announced_at: k.announced_at,
                    });
                }
                if d.fire {
                    // The contact's version grows with every stored change, so the key names
                    // this crossing exactly and is the same however often it is computed.
                    let idem = format!("{}:{key}:{}:{}", hook.id, c.contact.id, c.contact.version);
                    let body = payload(&idem, t, &space.name, &occurred_at, c);
                    items.push(NewOutbox {
                        webhook_id: hook.id.clone(),
                        idem_key: idem,
                        kind: t.kind().to_owned(),
                        contact_id: c.contact.id.clone(),
                        payload: body.to_string(),
                        created_at: now,
                    });
                }
            }
        }
    }
    tx.set_members(ws, &kept).await?;
    tx.enqueue(ws, &items).await?;
    Ok(())
}

/// The JSON body of a delivery.
fn payload(
    id: &str,
    trigger: &Trigger,
    workspace: &str,
    occurred_at: &str,
    c: &Change<'_>,
) -> serde_json::Value {
    let s = &c.contact.score;
    serde_json::json!({
        "id": id,
        "type": trigger.kind(),
        "workspace": workspace,
        "occurred_at": occurred_at,
        "cause": c.cause,
        "trigger": trigger,
        "lead": {
            "id": c.contact.id,
            "account_id": c.contact.account_id,
            "score": s.score,
            "tier": s.tier,
            "grade": s.grade,
            "priority": s.priority,
            "status": s.status,
            "segment": s.segment,
            "reasons": s.reasons,
        },
        "old": c.old.map(|o| serde_json::json!({
            "score": o.score,
            "tier": o.tier,
            "status": o.status,
        })),
        "new": {
            "score": s.score,
            "tier": s.tier,
            "status": s.status,
        },
    })
}

// ---- signatures ------------------------------------------------------------------------------

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The `Leadscore-Signature` header value for `body` sent at `t` (Unix seconds):
/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

/// Checks a `Leadscore-Signature` header value against `body`, as a receiver does: one of its
/// `v1` signatures must match (compared in constant time) and its `t` must be within
/// `tolerance_secs` of `now_secs` (so a captured request cannot be replayed later).
pub fn verify(
    secret: &str,
    header_value: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header_value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if now_secs.abs_diff(t) > tolerance_secs.unsigned_abs() {
        return false;
    }
    let m = mac(secret, t, body);
    sigs.iter().any(|s| m.clone().verify_slice(s).is_ok())
}

// ---- delivery --------------------------------------------------------------------------------

/// The wait before attempt `attempts + 1` after a failed attempt `attempts` (0-based):
/// `backoff · 2^attempts`, at most an hour.
fn retry_delay(backoff: Duration, attempts: i64) -> i64 {
    let base = i64::try_from(backoff.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let factor = if (0..40).contains(&attempts) {
        1i64 << attempts
    } else {
        i64::MAX
    };
    base.saturating_mul(factor).min(MAX_BACKOFF_MS)
}

/// The whole chain of an error, for the delivery log (`reqwest` puts the cause in `source`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Everything a delivery task needs, cheap to clone.
#[derive(Clone)]
struct Deliverer {
    store: Store,
    clock: Arc<dyn crate::Clock>,
    client: reqwest::Client,
    settings: DeliverySettings,
}

impl Deliverer {
    /// Delivers one subscription's due items in order. Stops at the first failure: the
    /// receiver is likely down, and the items left are tried in the next round. Returns false
    /// when an attempt could not be recorded (the caller then waits before the next round, so
    /// an item whose attempt is not recorded is not sent in a tight loop).
    async fn deliver_hook(self, ws: String, webhook_id: String, items: Vec<OutboxItem>) -> bool {
        let target = match self.store.webhook_secret(&ws, &webhook_id).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("webhook {webhook_id}: reading its secret: {e}");
                self.release(&items).await;
                return false;
            }
        };
        let mut recorded = true;
        for (k, item) in items.iter().enumerate() {
            let Some((url, secret)) = &target else {
                // The subscription was deleted: nobody is waiting for these any more.
                let d = Delivery {
                    outbox_seq: item.seq,
                    webhook_id: webhook_id.clone(),
                    at: self.clock.now_ms(),
                    status: None,
                    error: Some("webhook deleted".into()),
                    millis: 0,
                };
                recorded &= self.record(item, &d, false, None).await;
                continue;
            };
            let (d, ok) = self.attempt(item, url, secret).await;
            let next = if ok || item.attempts + 1 >= self.settings.max_attempts {
                None
            } else {
                Some(d.at + retry_delay(self.settings.backoff, item.attempts))
            };
            if ok {
                metrics::counter!("leadscore_webhook_deliveries_total").increment(1);
            } else {
                metrics::counter!("leadscore_webhook_failures_total").increment(1);
            }
            recorded &= self.record(item, &d, ok, next).await;
            if !ok {
                // The ones not tried go back, due at once for the next round on any node.
                self.release(&items[k + 1..]).await;
                break;
            }
        }
        recorded
    }

    /// Hands claimed items back unsent (a failure to is logged: their claim then lapses).
    async fn release(&self, items: &[OutboxItem]) {
        let seqs: Vec<i64> = items.iter().map(|i| i.seq).collect();
        if let Err(e) = self.store.release_outbox(&seqs).await {
            tracing::warn!("handing back {} outbox items: {e}", seqs.len());
        }
    }

    async fn record(&self, item: &OutboxItem, d: &Delivery, ok: bool, next: Option<i64>) -> bool {
        match self.store.record_attempt(item, d, ok, next).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("outbox item {}: recording an attempt: {e}", item.seq);
                false
            }
        }
    }

    /// One signed POST; the attempt as logged and whether it succeeded (2xx).
    async fn attempt(&self, item: &OutboxItem, url: &str, secret: &str) -> (Delivery, bool) {
        let at = self.clock.now_ms();
        let signature = sign(secret, at.div_euclid(1000), item.payload.as_bytes());
        let started = std::time::Instant::now();
        let res = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Leadscore-Event", &item.kind)
            .header("Idempotency-Key", &item.idem_key)
            .header("Leadscore-Signature", signature)
            .body(item.payload.clone())
            .send()
            .await;
        let millis = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, error) = match res {
            Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
            Ok(r) => (
                Some(i64::from(r.status().as_u16())),
                Some(format!("HTTP {}", r.status())),
            ),
            Err(e) => (None, Some(chain(&e))),
        };
        if let Some(e) = &error {
            tracing::warn!(
                "webhook {} item {} attempt {}: {e}",
                item.webhook_id,
                item.seq,
                item.attempts + 1
            );
        }
        let ok = error.is_none();
        (
            Delivery {
                outbox_seq: item.seq,
                webhook_id: item.webhook_id.clone(),
                at,
                status,
                error,
                millis,
            },
            ok,
        )
    }

    /// One round: every due item, subscriptions side by side. False when something could not
    /// be read or recorded.
    async fn round(&self) -> bool {
        let now = self.clock.now_ms();
        let until = now.saturating_add(claim_ms(&self.settings));
        let items = match self.store.claim_due_outbox(now, until, CLAIM_ITEMS).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!("reading the outbox: {e}");
                return false;
            }
        };
        let mut groups: Vec<((String, String), Vec<OutboxItem>)> = Vec::new();
        for item in items {
            let key = (item.workspace_id.clone(), item.webhook_id.clone());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(item),
                None => groups.push((key, vec![item])),
            }
        }
        let mut set = tokio::task::JoinSet::new();
        for ((ws, hook), items) in groups {
            set.spawn(self.clone().deliver_hook(ws, hook, items));
        }
        let mut clean = true;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(ok) => clean &= ok,
                Err(e) => {
                    tracing::warn!("a webhook delivery task failed: {e}");
                    clean = false;
                }
            }
        }
        clean
    }
}

/// Outbox items one round claims at most.
const CLAIM_ITEMS: i64 = 100;

/// How long a round's claim lasts: long enough for one subscription to be sent every item
/// of the round, each taking its whole timeout, so a claim lapses only when its node died
/// (or its database went away) before recording the attempts.
fn claim_ms(s: &DeliverySettings) -> i64 {
    let attempt = i64::try_from(s.timeout.as_millis()).unwrap_or(i64::MAX);
    attempt.saturating_mul(CLAIM_ITEMS).saturating_add(30_000)
}

/// Delivers due outbox items until `stop`'s sender is dropped (the service is gone). Between
/// rounds it waits for a commit (`wake`), the next item's due time, or a second, whichever
/// comes first.
pub(crate) async fn deliver_forever(
    store: Store,
    clock: Arc<dyn crate::Clock>,
    wake: Arc<Notify>,
    settings: DeliverySettings,
    mut stop: watch::Receiver<()>,
) {
    let client = loop {
        match reqwest::Client::builder()
            .timeout(settings.timeout)
            // A receiver that moved answers 3xx: that is a failed attempt, not a reason to
            // post the signed body somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!("webhook HTTP client: {}", chain(&e));
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    };
    let d = Deliverer {
        store,
        clock,
        client,
        settings,
    };
    loop {
        if stop.has_changed().is_err() {
            return;
        }
        let clean = d.round().await;
        let wait_ms = if clean {
            match d.store.next_due().await {
                Ok(Some(at)) => (at - d.clock.now_ms()).clamp(0, 1000),
                Ok(None) => 1000,
                Err(e) => {
                    tracing::warn!("reading the outbox: {e}");
                    1000
                }
            }
        } else {
            1000
        };
        if wait_ms == 0 {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
            _ = stop.changed() => return,
        }
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

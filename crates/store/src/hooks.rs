//! Webhook subscriptions, the per-contact state their triggers keep (for hysteresis), the
//! durable outbox and the delivery log.

use crate::{Ph, Result, Store, Tx, dynamic, nullable};
use serde::Serialize;
use sqlx::Row;

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    /// Id (`wh_…`).
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// HMAC-SHA256 key for the signature header.
    #[serde(skip)]
    pub secret: String,
    /// The triggers, as JSON (the app owns their shape).
    pub triggers: serde_json::Value,
    /// Creation time (ms).
    pub created_at: i64,
    /// Deliveries are made only while active.
    pub active: bool,
}

/// A delivery waiting in (or done from) the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxItem {
    /// Position.
    pub seq: i64,
    /// Workspace.
    pub workspace_id: String,
    /// Subscription.
    pub webhook_id: String,
    /// Idempotency key, sent with every attempt.
    pub idem_key: String,
    /// Trigger kind (`tier_changed`, `sales_ready`, …).
    pub kind: String,
    /// The lead.
    pub contact_id: String,
    /// The JSON body.
    pub payload: String,
    /// Enqueued (ms).
    pub created_at: i64,
    /// Next attempt (ms).
    pub next_at: i64,
    /// Attempts made.
    pub attempts: i64,
    /// `pending`, `delivered`, `dead`.
    pub state: String,
    /// HTTP status of the last attempt.
    pub last_status: Option<i64>,
    /// Error of the last attempt.
    pub last_error: Option<String>,
    /// When it was delivered (ms).
    pub delivered_at: Option<i64>,
}

/// One attempt in the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Outbox item.
    pub outbox_seq: i64,
    /// Subscription.
    pub webhook_id: String,
    /// When (ms).
    pub at: i64,
    /// HTTP status, if a response came.
    pub status: Option<i64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Round trip (ms).
    pub millis: i64,
}

/// The state one trigger of one subscription keeps for one contact (for hysteresis).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Subscription.
    pub webhook_id: String,
    /// Which trigger of the subscription (the app names them).
    pub trigger_key: String,
    /// The lead.
    pub contact_id: String,
    /// Whether the lead is inside the crossing now.
    pub inside: bool,
    /// When `inside` last changed (ms).
    pub changed_at: i64,
    /// The score the lead entered with, for triggers with a margin.
    pub entry_score: Option<f64>,
    /// When the lead was last announced (ms), for triggers with a cool-down.
    pub announced_at: Option<i64>,
}

/// A new outbox item.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbox {
    /// Subscription.
    pub webhook_id: String,
    /// Idempotency key (unique: the same crossing is enqueued once).
    pub idem_key: String,
    /// Trigger kind.
    pub kind: String,
    /// The lead.
    pub contact_id: String,
    /// The JSON body.
    pub payload: String,
    /// Enqueued (ms).
    pub created_at: i64,
}

const OUTBOX_FIELDS: &str = "seq, workspace_id, webhook_id, idem_key, kind, contact_id, payload, created_at, next_at, attempts, state, last_status, last_error, delivered_at";

fn outbox_item(r: &sqlx::any::AnyRow) -> OutboxItem {
    OutboxItem {
        seq: r.get(0),
        workspace_id: r.get(1),
        webhook_id: r.get(2),
        idem_key: r.get(3),
        kind: r.get(4),
        contact_id: r.get(5),
        payload: r.get(6),
        created_at: r.get(7),
        next_at: r.get(8),
        attempts: r.get(9),
        state: r.get(10),
        last_status: r.get(11),
        last_error: r.get(12),
        delivered_at: r.get(13),
    }
}

impl Store {
    /// Adds a subscription.
    pub async fn create_webhook(&self, ws: &str, w: &Webhook) -> Result<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, workspace_id, url, secret, triggers, created_at, active)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&w.id)
        .bind(ws)
        .bind(&w.url)
        .bind(&w.secret)
        .bind(w.triggers.to_string())
        .bind(w.created_at)
        .bind(i64::from(w.active))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a subscription; false when there was none.
    pub async fn delete_webhook(&self, ws: &str, id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM webhooks WHERE workspace_id = $1 AND id = $2")
            .bind(ws)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// A workspace's subscriptions, oldest first.
    pub async fn webhooks(&self, ws: &str) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT id, url, secret, triggers, created_at, active FROM webhooks
             WHERE workspace_id = $1 ORDER BY created_at, id",
        )
        .bind(ws)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let t: String = r.get(3);
                Ok(Webhook {
                    id: r.get(0),
                    url: r.get(1),
                    secret: r.get(2),
                    triggers: serde_json::from_str(&t)
                        .map_err(|e| crate::StoreError::Json("webhooks.triggers", e))?,
                    created_at: r.get(4),
                    active: r.get::<i64, _>(5) != 0,
                })
            })
            .collect()
    }

    /// The secret of a subscription (for signing).
    pub async fn webhook_secret(&self, ws: &str, id: &str) -> Result<Option<(String, String)>> {
        let row =
            sqlx::query("SELECT url, secret FROM webhooks WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Pending deliveries due at `now` that no node has claimed (or whose claim has lapsed),
    /// oldest first, at most `limit`: claimed until `until` in one statement, so that of
    /// nodes claiming at the same time each item goes to one. A claim ends when an attempt is
    /// recorded ([`Store::record_attempt`]) or the item is handed back
    /// ([`Store::release_outbox`]).
    pub async fn claim_due_outbox(
        &self,
        now: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        const CLAIMABLE: &str = "state = 'pending' AND next_at <= $2 \
                                 AND (claimed_until IS NULL OR claimed_until <= $2)";
        // The outer condition is checked again on rows another node claimed meanwhile
        // (PostgreSQL re-reads a row it waited for; SQLite runs one writer at a time).
        let rows = dynamic(format!(
            "UPDATE outbox SET claimed_until = $1 WHERE {CLAIMABLE} AND seq IN \
             (SELECT seq FROM outbox WHERE {CLAIMABLE} ORDER BY next_at, seq LIMIT $3) \
             RETURNING {OUTBOX_FIELDS}"
        ))
        .bind(until)
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut items: Vec<OutboxItem> = rows.iter().map(outbox_item).collect();
        items.sort_by_key(|i| (i.next_at, i.seq));
        Ok(items)
    }

    /// Hands claimed items back unsent (due again at once, for any node).
    pub async fn release_outbox(&self, seqs: &[i64]) -> Result<()> {
        for chunk in seqs.chunks(400) {
            let list = Ph::new(self.backend()).list(chunk.len());
            let mut q = dynamic(format!(
                "UPDATE outbox SET claimed_until = NULL WHERE seq IN ({list})"
            ));
            for &seq in chunk {
                q = q.bind(seq);
            }
            q.execute(self.pool()).await?;
        }
        Ok(())
    }

    /// The earliest time a pending delivery can be claimed: when it is due, or when its
    /// claim lapses if that is later.
    pub async fn next_due(&self) -> Result<Option<i64>> {
        Ok(sqlx::query(
            "SELECT MIN(CASE WHEN claimed_until > next_at THEN claimed_until ELSE next_at END)
             FROM outbox WHERE state = 'pending'",
        )
        .fetch_one(self.pool())
        .await?
        .get(0))
    }

    /// A workspace's outbox, newest first.
    pub async fn outbox(&self, ws: &str, limit: i64) -> Result<Vec<OutboxItem>> {
        let rows = dynamic(format!(
            "SELECT {OUTBOX_FIELDS} FROM outbox WHERE workspace_id = $1 ORDER BY seq DESC LIMIT $2"
        ))
        .bind(ws)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outbox_item).collect())
    }

    /// Records one attempt: `next_at = None` ends the item (`delivered` when `ok`, else `dead`);
    /// otherwise it stays pending until `next_at`.
    pub async fn record_attempt(
        &self,
        item: &OutboxItem,
        d: &Delivery,
        ok: bool,
        next_at: Option<i64>,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO deliveries (outbox_seq, workspace_id, webhook_id, at, status, error, millis)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(item.seq)
        .bind(&item.workspace_id)
        .bind(&item.webhook_id)
        .bind(d.at)
        .bind(d.status)
        .bind(&d.error)
        .bind(d.millis)
        .execute(&mut *tx)
        .await?;
        let (state, next, delivered) = match (ok, next_at) {
            (true, _) => ("delivered", item.next_at, Some(d.at)),
            (false, Some(n)) => ("pending", n, None),
            (false, None) => ("dead", item.next_at, None),
        };
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, state = $1, next_at = $2, last_status = $3,
             last_error = $4, delivered_at = $5, claimed_until = NULL WHERE seq = $6",
        )
        .bind(state)
        .bind(next)
        .bind(d.status)
        .bind(&d.error)
        .bind(delivered)
        .bind(item.seq)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A workspace's delivery log, newest first.
    pub async fn deliveries(&self, ws: &str, limit: i64) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT outbox_seq, webhook_id, at, status, error, millis FROM deliveries
             WHERE workspace_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(ws)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Delivery {
                outbox_seq: r.get(0),
                webhook_id: r.get(1),
                at: r.get(2),
                status: r.get(3),
                error: r.get(4),
                millis: r.get(5),
            })
            .collect())
    }
}

impl Tx {
    /// Trigger state of these contacts, every subscription and trigger.
    pub async fn members(&mut self, ws: &str, contacts: &[String]) -> Result<Vec<Member>> {
        let mut out = Vec::new();
        for chunk in contacts.chunks(400) {
            let mut ph = Ph::for_conn(self.conn());
            let sql = format!(
                "SELECT webhook_id, trigger_key, contact_id, inside, changed_at, entry_score, announced_at
                 FROM webhook_members WHERE workspace_id = {} AND contact_id IN ({})",
                ph.one(),
                ph.list(chunk.len())
            );
            let mut q = dynamic(sql).bind(ws);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(self.conn()).await? {
                out.push(Member {
                    webhook_id: r.get(0),
                    trigger_key: r.get(1),
                    contact_id: r.get(2),
                    inside: r.get::<i64, _>(3) != 0,
                    changed_at: r.get(4),
                    entry_score: r.get(5),
                    announced_at: r.get(6),
                });
            }
        }
        Ok(out)
    }

    /// Sets trigger state (insert or replace, by subscription, trigger key and contact).
    pub async fn set_members(&mut self, ws: &str, rows: &[Member]) -> Result<()> {
        for chunk in rows.chunks(400) {
            let mut sql = String::from(
                "INSERT INTO webhook_members (workspace_id, webhook_id, trigger_key, contact_id, inside, changed_at, entry_score, announced_at) VALUES ",
            );
            let mut ph = Ph::for_conn(self.conn());
            let mut cols = [false; 8];
            cols[6] = true;
            sql.push_str(&ph.rows(chunk.len(), &cols, ""));
            sql.push_str(
                " ON CONFLICT (workspace_id, webhook_id, trigger_key, contact_id) DO UPDATE
                  SET inside = excluded.inside, changed_at = excluded.changed_at,
                  entry_score = excluded.entry_score, announced_at = excluded.announced_at",
            );
            let mut q = dynamic(sql);
            for m in chunk {
                q = q
                    .bind(ws)
                    .bind(&m.webhook_id)
                    .bind(&m.trigger_key)
                    .bind(&m.contact_id)
                    .bind(i64::from(m.inside))
                    .bind(m.changed_at)
                    .bind(nullable(m.entry_score))
                    .bind(m.announced_at);
            }
            q.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// The score each of these contacts had at `since` (ms), from the score history: the
    /// latest `new_score` at or before `since`; for a contact with no change that early, the
    /// oldest known `old_score` after it (the score it had when the window's first change came).
    /// Contacts with neither are left out. Reads this transaction's own history rows too.
    pub async fn scores_before(
        &mut self,
        ws: &str,
        contacts: &[String],
        since: i64,
    ) -> Result<Vec<(String, f64)>> {
        let mut out: Vec<(String, f64)> = Vec::new();
        for chunk in contacts.chunks(400) {
            let mut ph = Ph::for_conn(self.conn());
            let sql = format!(
                "SELECT h.contact_id, h.new_score FROM score_history h
                 WHERE h.workspace_id = {} AND h.contact_id IN ({}) AND h.seq = (
                   SELECT g.seq FROM score_history g
                   WHERE g.workspace_id = {} AND g.contact_id = h.contact_id AND g.at <= {}
                   ORDER BY g.at DESC, g.seq DESC LIMIT 1)",
                ph.one(),
                ph.list(chunk.len()),
                ph.one(),
                ph.one()
            );
            let mut q = dynamic(sql).bind(ws);
            for id in chunk {
                q = q.bind(id);
            }
            q = q.bind(ws).bind(since);
            for r in q.fetch_all(self.conn()).await? {
                out.push((r.get(0), r.get(1)));
            }
        }
        let found: std::collections::HashSet<&str> = out.iter().map(|(c, _)| c.as_str()).collect();
        let rest: Vec<&String> = contacts
            .iter()
            .filter(|c| !found.contains(c.as_str()))
            .collect();
        let mut later = Vec::new();
        for chunk in rest.chunks(400) {
            let mut ph = Ph::for_conn(self.conn());
            let sql = format!(
                "SELECT h.contact_id, h.old_score FROM score_history h
                 WHERE h.workspace_id = {} AND h.contact_id IN ({}) AND h.seq = (
                   SELECT g.seq FROM score_history g
                   WHERE g.workspace_id = {} AND g.contact_id = h.contact_id AND g.at > {}
                     AND g.old_score IS NOT NULL
                   ORDER BY g.at, g.seq LIMIT 1)",
                ph.one(),
                ph.list(chunk.len()),
                ph.one(),
                ph.one()
            );
            let mut q = dynamic(sql).bind(ws);
            for id in chunk {
                q = q.bind(*id);
            }
            q = q.bind(ws).bind(since);
            for r in q.fetch_all(self.conn()).await? {
                later.push((r.get(0), r.get(1)));
            }
        }
        out.extend(later);
        Ok(out)
    }

    /// Enqueues deliveries; an idempotency key already there is skipped.
    pub async fn enqueue(&mut self, ws: &str, items: &[NewOutbox]) -> Result<()> {
        for chunk in items.chunks(400) {
            let mut sql = String::from(
                "INSERT INTO outbox (workspace_id, webhook_id, idem_key, kind, contact_id, payload, created_at, next_at, attempts, state) VALUES ",
            );
            let mut ph = Ph::for_conn(self.conn());
            sql.push_str(&ph.rows(chunk.len(), &[false; 8], ", 0, 'pending'"));
            sql.push_str(" ON CONFLICT (idem_key) DO NOTHING");
            let mut q = dynamic(sql);
            for o in chunk {
                q = q
                    .bind(ws)
                    .bind(&o.webhook_id)
                    .bind(&o.idem_key)
                    .bind(&o.kind)
                    .bind(&o.contact_id)
                    .bind(&o.payload)
                    .bind(o.created_at)
                    .bind(o.created_at);
            }
            q.execute(self.conn()).await?;
        }
        Ok(())
    }
}

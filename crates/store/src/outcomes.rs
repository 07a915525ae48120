//! Outcomes (SPEC D4) and the reads behind the training table: contacts with their traits,
//! accounts, outcomes, and behaviour events page by page (keyset on `seq`).

use crate::{
    Outcome, Ph, Result, Store, StoreError, TrainingContact, TrainingEvent, Traits, Tx, dynamic,
    nullable,
};
use sqlx::{AnyConnection, Row};

/// Rows per multi-row insert (9 parameters each, far under SQLite's limit).
const CHUNK: usize = 400;

async fn insert(c: &mut AnyConnection, ws: &str, rows: &[Outcome]) -> Result<usize> {
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO outcomes (workspace_id, message_id, contact_id, kind, stage, amount, reason, at, received_at) VALUES ",
        );
        let mut ph = Ph::for_conn(c);
        let mut cols = [false; 9];
        cols[5] = true;
        sql.push_str(&ph.rows(chunk.len(), &cols, ""));
        sql.push_str(" ON CONFLICT (workspace_id, message_id) DO NOTHING RETURNING message_id");
        let mut q = dynamic(sql);
        for o in chunk {
            q = q
                .bind(ws)
                .bind(&o.message_id)
                .bind(&o.contact_id)
                .bind(&o.kind)
                .bind(&o.stage)
                .bind(nullable(o.amount))
                .bind(&o.reason)
                .bind(o.at)
                .bind(o.received_at);
        }
        n += q.fetch_all(&mut *c).await?.len();
    }
    Ok(n)
}

fn outcome(r: &sqlx::any::AnyRow) -> Outcome {
    Outcome {
        message_id: r.get(0),
        contact_id: r.get(1),
        kind: r.get(2),
        stage: r.get(3),
        amount: r.get(4),
        reason: r.get(5),
        at: r.get(6),
        received_at: r.get(7),
    }
}

const OUTCOME_COLUMNS: &str =
    "SELECT message_id, contact_id, kind, stage, amount, reason, at, received_at FROM outcomes";

fn traits(text: &str, column: &'static str) -> Result<Traits> {
    serde_json::from_str(text).map_err(|e| StoreError::Json(column, e))
}

impl Tx {
    /// Records outcomes in the ingestion transaction; an id stored before is skipped. Returns
    /// how many were stored.
    pub async fn insert_outcomes(&mut self, ws: &str, rows: &[Outcome]) -> Result<usize> {
        insert(self.conn(), ws, rows).await
    }
}

impl Store {
    /// Records outcomes; an id the workspace has already is skipped. Returns how many were
    /// stored.
    pub async fn insert_outcomes(&self, ws: &str, rows: &[Outcome]) -> Result<usize> {
        let mut tx = self.write_tx().await?;
        let n = insert(&mut tx, ws, rows).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// A contact's outcomes, oldest first.
    pub async fn contact_outcomes(&self, ws: &str, id: &str) -> Result<Vec<Outcome>> {
        let rows = dynamic(format!(
            "{OUTCOME_COLUMNS} WHERE workspace_id = $1 AND contact_id = $2 ORDER BY at, seq"
        ))
        .bind(ws)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outcome).collect())
    }

    /// Every outcome of the workspace that happened by `until` (ms), oldest first.
    pub async fn outcomes_until(&self, ws: &str, until: i64) -> Result<Vec<Outcome>> {
        let rows = dynamic(format!(
            "{OUTCOME_COLUMNS} WHERE workspace_id = $1 AND at <= $2 ORDER BY at, seq"
        ))
        .bind(ws)
        .bind(until)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outcome).collect())
    }

    /// A page of the workspace's contacts (id, account, traits) after `after`, in id order.
    pub async fn training_contacts(
        &self,
        ws: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<TrainingContact>> {
        let rows = sqlx::query(
            "SELECT id, account_id, traits FROM contacts WHERE workspace_id = $1 AND id > $2
             ORDER BY id LIMIT $3",
        )
        .bind(ws)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let t: String = r.get(2);
                Ok(TrainingContact {
                    id: r.get(0),
                    account_id: r.get(1),
                    traits: traits(&t, "contacts.traits")?,
                })
            })
            .collect()
    }

    /// Every account's `(id, traits)`.
    pub async fn account_traits(&self, ws: &str) -> Result<Vec<(String, Traits)>> {
        let rows = sqlx::query("SELECT id, traits FROM accounts WHERE workspace_id = $1")
            .bind(ws)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let t: String = r.get(1);
                Ok((r.get(0), traits(&t, "accounts.traits")?))
            })
            .collect()
    }

    /// A page of behaviour events (track, page, screen) after `after_seq`, in log order, each
    /// with its contact: the user id, or the contact its anonymous id is linked to (events of
    /// anonymous ids never linked are left out).
    pub async fn training_events(
        &self,
        ws: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<TrainingEvent>> {
        let rows = sqlx::query(
            "SELECT e.seq, COALESCE(e.user_id, a.contact_id), e.event, e.ts
             FROM events e LEFT JOIN aliases a
               ON e.user_id IS NULL AND a.workspace_id = e.workspace_id AND a.anonymous_id = e.anonymous_id
             WHERE e.workspace_id = $1 AND e.seq > $2 AND e.kind IN ('track', 'page', 'screen')
               AND e.event IS NOT NULL AND (e.user_id IS NOT NULL OR a.contact_id IS NOT NULL)
             ORDER BY e.seq LIMIT $3",
        )
        .bind(ws)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| TrainingEvent {
                seq: r.get(0),
                contact_id: r.get(1),
                event: r.get(2),
                ts: r.get(3),
            })
            .collect())
    }
}

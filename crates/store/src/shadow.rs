//! Champion/challenger and drift (issue 4): a workspace's challenger version, the challenger's
//! score per contact (written in the ingestion transaction), the rows the comparison reads
//! (contacts with a won/lost outcome, with both scores), and per-version drift baselines.

use crate::{Result, Store, Tx, insert_rows};
use sqlx::Row;

/// Rows per multi-row insert (7 parameters each).
const CHUNK: usize = 400;

/// A contact's score by the challenger model.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengerScore {
    /// The contact.
    pub contact_id: String,
    /// The challenger's model version.
    pub version: i64,
    /// Its score.
    pub score: f64,
    /// Its tier.
    pub tier: String,
    /// Its status (`qualified`, `pool`, `disqualified`).
    pub status: String,
    /// When (ms).
    pub scored_at: i64,
}

/// A contact with a won/lost outcome: its champion score and its challenger score (when the
/// challenger scored it).
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRow {
    /// The contact.
    pub contact_id: String,
    /// True when it has a `won` outcome (else it has a `lost` one).
    pub won: bool,
    /// The amounts of its `won` outcomes added up (0 without amounts).
    pub revenue: f64,
    /// The stored (champion) score.
    pub score: f64,
    /// The stored tier.
    pub tier: String,
    /// The stored status.
    pub status: String,
    /// The challenger's score, if any (of any version: compare `version`).
    pub challenger: Option<ChallengerScore>,
}

/// A version's drift baseline as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// Conversion per tier, JSON (`{tier: {n, won}}`).
    pub tiers: String,
    /// When it was recorded (ms).
    pub recorded_at: i64,
    /// What recorded it (`rescore: <cause>`, `drift request`).
    pub source: String,
}

impl Tx {
    /// Writes challenger scores (insert or replace, one row per contact).
    pub async fn upsert_challenger_scores(
        &mut self,
        ws: &str,
        rows: &[ChallengerScore],
    ) -> Result<()> {
        insert_rows(
            self.conn(),
            ws,
            "INSERT INTO challenger_scores (workspace_id, contact_id, version, score, tier, status, scored_at)",
            &[false; 6],
            "ON CONFLICT (workspace_id, contact_id) DO UPDATE SET version = excluded.version,
             score = excluded.score, tier = excluded.tier, status = excluded.status,
             scored_at = excluded.scored_at",
            rows,
            CHUNK,
            |q, r| {
                q.bind(&r.contact_id)
                    .bind(r.version)
                    .bind(r.score)
                    .bind(&r.tier)
                    .bind(&r.status)
                    .bind(r.scored_at)
            },
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// The workspace's challenger version, if one is set.
    pub async fn challenger(&self, ws: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query("SELECT version FROM challengers WHERE workspace_id = $1")
                .bind(ws)
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.get(0)),
        )
    }

    /// Sets (`Some`) or removes (`None`) the workspace's challenger.
    pub async fn set_challenger(&self, ws: &str, version: Option<i64>, now: i64) -> Result<()> {
        match version {
            Some(v) => {
                sqlx::query(
                    "INSERT INTO challengers (workspace_id, version, set_at) VALUES ($1, $2, $3)
                     ON CONFLICT (workspace_id) DO UPDATE SET version = excluded.version, set_at = excluded.set_at",
                )
                .bind(ws)
                .bind(v)
                .bind(now)
                .execute(self.pool())
                .await?
            }
            None => {
                sqlx::query("DELETE FROM challengers WHERE workspace_id = $1")
                    .bind(ws)
                    .execute(self.pool())
                    .await?
            }
        };
        Ok(())
    }

    /// Every contact with a `won` or `lost` outcome (won when any outcome is `won`), the
    /// amounts of its `won` outcomes added up, its stored score and its challenger score, in
    /// id order.
    pub async fn outcome_rows(&self, ws: &str) -> Result<Vec<OutcomeRow>> {
        let rows = sqlx::query(
            "SELECT c.id, o.won, c.score, c.tier, c.status,
                    s.version, s.score, s.tier, s.status, s.scored_at, o.revenue
             FROM contacts c
             JOIN (SELECT contact_id, CAST(MAX(CASE WHEN kind = 'won' THEN 1 ELSE 0 END) AS BIGINT) AS won,
                          CAST(SUM(CASE WHEN kind = 'won' THEN COALESCE(amount, 0.0) ELSE 0.0 END) AS DOUBLE PRECISION) AS revenue
                   FROM outcomes WHERE workspace_id = $2 AND kind IN ('won', 'lost')
                   GROUP BY contact_id) o ON o.contact_id = c.id
             LEFT JOIN challenger_scores s ON s.workspace_id = c.workspace_id AND s.contact_id = c.id
             WHERE c.workspace_id = $1
             ORDER BY c.id",
        )
        .bind(ws)
        .bind(ws)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                let won: i64 = r.get(1);
                let version: Option<i64> = r.get(5);
                OutcomeRow {
                    contact_id: id.clone(),
                    won: won > 0,
                    revenue: r.get(10),
                    score: r.get(2),
                    tier: r.get(3),
                    status: r.get(4),
                    challenger: version.map(|version| ChallengerScore {
                        contact_id: id,
                        version,
                        score: r.get(6),
                        tier: r.get(7),
                        status: r.get(8),
                        scored_at: r.get(9),
                    }),
                }
            })
            .collect())
    }

    /// The drift baseline recorded for a model version, if any.
    pub async fn drift_baseline(&self, ws: &str, version: i64) -> Result<Option<Baseline>> {
        Ok(sqlx::query(
            "SELECT tiers, recorded_at, source FROM drift_baselines
             WHERE workspace_id = $1 AND version = $2",
        )
        .bind(ws)
        .bind(version)
        .fetch_optional(self.pool())
        .await?
        .map(|r| Baseline {
            tiers: r.get(0),
            recorded_at: r.get(1),
            source: r.get(2),
        }))
    }

    /// Records a version's drift baseline unless it has one: the first one stays. Returns
    /// whether this one was stored.
    pub async fn record_drift_baseline(
        &self,
        ws: &str,
        version: i64,
        b: &Baseline,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO drift_baselines (workspace_id, version, tiers, recorded_at, source)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (workspace_id, version) DO NOTHING",
        )
        .bind(ws)
        .bind(version)
        .bind(&b.tiers)
        .bind(b.recorded_at)
        .bind(&b.source)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Replaces a version's baseline `old` with `new`, only if the stored one is still `old`
    /// (another node may have replaced it first). Returns whether it was replaced.
    pub async fn replace_drift_baseline(
        &self,
        ws: &str,
        version: i64,
        old: &Baseline,
        new: &Baseline,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE drift_baselines SET tiers = $1, recorded_at = $2, source = $3
             WHERE workspace_id = $4 AND version = $5 AND tiers = $6 AND recorded_at = $7",
        )
        .bind(&new.tiers)
        .bind(new.recorded_at)
        .bind(&new.source)
        .bind(ws)
        .bind(version)
        .bind(&old.tiers)
        .bind(old.recorded_at)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() > 0)
    }
}

//! Predictive scoring in the service (SPEC P3): models trained from a workspace's store,
//! versioned per workspace (the model file as text), and each contact's probability and top
//! factors by the latest one.

use crate::{Result, Store, insert_rows};
use sqlx::Row;

/// Rows per multi-row insert (6 parameters each).
const CHUNK: usize = 500;

/// A model to store.
#[derive(Debug, Clone, Copy)]
pub struct NewLearned<'a> {
    /// `won` or `converted`.
    pub target: &'a str,
    /// `logistic` or `gbm`.
    pub algo: &'a str,
    /// Training rows.
    pub rows: i64,
    /// Of them, positive.
    pub positives: i64,
    /// The model file's hash.
    pub hash: &'a str,
    /// The model file (JSON).
    pub model: &'a str,
}

/// A stored learned model.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedRecord {
    /// Version in the workspace (1, 2, …).
    pub version: i64,
    /// `won` or `converted`.
    pub target: String,
    /// `logistic` or `gbm`.
    pub algo: String,
    /// Training rows.
    pub rows: i64,
    /// Of them, positive.
    pub positives: i64,
    /// The model file's hash.
    pub hash: String,
    /// The model file (JSON).
    pub model: String,
    /// When (ms).
    pub trained_at: i64,
}

/// A contact's probability by a learned model.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    /// The contact.
    pub contact_id: String,
    /// The learned model's version.
    pub version: i64,
    /// Calibrated probability.
    pub probability: f64,
    /// The top factors (JSON array).
    pub factors: String,
    /// When (ms).
    pub predicted_at: i64,
}

impl Store {
    /// Stores a learned model as the workspace's next version; returns the version.
    pub async fn add_learned_model(&self, ws: &str, m: &NewLearned<'_>, now: i64) -> Result<i64> {
        Ok(sqlx::query(
            "INSERT INTO learned_models (workspace_id, version, target, algo, rows_used, positives, hash, model, trained_at)
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8
             FROM learned_models WHERE workspace_id = $9
             RETURNING version",
        )
        .bind(ws)
        .bind(m.target)
        .bind(m.algo)
        .bind(m.rows)
        .bind(m.positives)
        .bind(m.hash)
        .bind(m.model)
        .bind(now)
        .bind(ws)
        .fetch_one(self.pool())
        .await?
        .get(0))
    }

    /// The workspace's latest learned model, with its file.
    pub async fn latest_learned_model(&self, ws: &str) -> Result<Option<LearnedRecord>> {
        Ok(sqlx::query(
            "SELECT version, target, algo, rows_used, positives, hash, model, trained_at
             FROM learned_models WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(ws)
        .fetch_optional(self.pool())
        .await?
        .map(|r| LearnedRecord {
            version: r.get(0),
            target: r.get(1),
            algo: r.get(2),
            rows: r.get(3),
            positives: r.get(4),
            hash: r.get(5),
            model: r.get(6),
            trained_at: r.get(7),
        }))
    }

    /// Writes predictions (insert or replace, one row per contact), in one transaction.
    pub async fn upsert_predictions(&self, ws: &str, rows: &[PredictionRow]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        insert_rows(
            &mut tx,
            ws,
            "INSERT INTO predictions (workspace_id, contact_id, learned_version, probability, factors, predicted_at)",
            &[false; 5],
            "ON CONFLICT (workspace_id, contact_id) DO UPDATE SET
             learned_version = excluded.learned_version, probability = excluded.probability,
             factors = excluded.factors, predicted_at = excluded.predicted_at",
            rows,
            CHUNK,
            |q, r| {
                q.bind(&r.contact_id)
                    .bind(r.version)
                    .bind(r.probability)
                    .bind(&r.factors)
                    .bind(r.predicted_at)
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A contact's prediction, if it has one.
    pub async fn prediction(&self, ws: &str, contact: &str) -> Result<Option<PredictionRow>> {
        Ok(sqlx::query(
            "SELECT learned_version, probability, factors, predicted_at FROM predictions
             WHERE workspace_id = $1 AND contact_id = $2",
        )
        .bind(ws)
        .bind(contact)
        .fetch_optional(self.pool())
        .await?
        .map(|r| PredictionRow {
            contact_id: contact.to_owned(),
            version: r.get(0),
            probability: r.get(1),
            factors: r.get(2),
            predicted_at: r.get(3),
        }))
    }
}

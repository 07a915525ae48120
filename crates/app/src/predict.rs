//! Predictive scoring in the service (SPEC P3): a retrain builds the workspace's training table
//! from the store ([`crate::training`]), trains a model with `leadscore_learn::train` when there
//! are enough outcomes (otherwise the job is `skipped` and its note says why), stores the model
//! file as the workspace's next learned version, and writes every contact's calibrated
//! probability and top factors, predicted from its features now. Retrains run on a schedule
//! (`Settings::retrain_every`) or on request, as jobs of kind `retrain`.

use crate::training::{ID_COLUMN, LABEL_COLUMN, Target, TrainingTable};
use crate::{AppError, Service, Space};
use leadscore_learn::{Algo, LearnedModel, Table, TableOptions, TrainParams, read_table};
use leadscore_store::JobRecord;
use leadscore_store::learned::{NewLearned, PredictionRow};
use serde::Serialize;
use std::sync::Arc;

/// The job kind of a retrain.
pub const RETRAIN: &str = "retrain";

/// How a retrain trains.
#[derive(Debug, Clone)]
pub struct RetrainSettings {
    /// The label.
    pub target: Target,
    /// The learner (`auto` tries both and their blend, and keeps the lowest cross-validated
    /// log-loss).
    pub algo: Algo,
    /// Fewest positive contacts to train.
    pub min_positives: usize,
    /// Fewest negative contacts to train.
    pub min_negatives: usize,
    /// Seed of the folds.
    pub seed: u64,
    /// Training threads.
    pub threads: usize,
    /// Columns of the training table the learner leaves out (those a workspace's table does
    /// not have are skipped): traits that are set once a deal is won (a CRM's lifecycle
    /// stage, say) tell the outcome rather than predict it.
    pub ignore: Vec<String>,
}

impl Default for RetrainSettings {
    fn default() -> Self {
        RetrainSettings {
            target: Target::Won,
            algo: Algo::Auto,
            min_positives: 20,
            min_negatives: 20,
            seed: 42,
            threads: 1,
            ignore: Vec::new(),
        }
    }
}

/// One factor of a prediction: a column of the training table, the lead's value (`(missing)`
/// when it has none) and its effect on the log-odds relative to an average lead.
pub use leadscore_learn::model::Factor;

/// What a person reads in a stored learned model: its logistic model's coefficients and each
/// binned number's effect by range ([`LearnedModel::effects`]); `None` for trees alone or a
/// file that does not read.
pub fn effects(model_text: &str) -> Option<leadscore_learn::model::Effects> {
    LearnedModel::read(model_text.as_bytes()).ok()?.effects()
}

/// A contact's prediction by the workspace's latest learned model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Calibrated probability of the target.
    pub probability: f64,
    /// The three biggest factors, largest effect first.
    pub factors: Vec<Factor>,
    /// The learned model's version.
    pub model_version: i64,
    /// When it was predicted (ms).
    pub predicted_at: i64,
}

/// What a retrain did.
enum Retrained {
    /// Too few outcomes: why.
    Skipped(String),
    /// A model was stored and every contact predicted.
    Trained {
        version: i64,
        predicted: i64,
        note: String,
    },
}

fn learn_error(e: impl std::fmt::Display) -> AppError {
    AppError::Learn(e.to_string())
}

/// Reads a table built from the store as `leadscore_learn` reads a CSV file.
fn read(t: &TrainingTable, name: &str, opts: TableOptions) -> Result<Table, AppError> {
    read_table(&t.to_csv()[..], name, &opts).map_err(learn_error)
}

/// Runs CPU-heavy work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, leadscore_learn::LearnError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(learn_error)?
        .map_err(learn_error)
}

impl Service {
    /// Retrains the workspace's predictive model now and predicts every contact; returns the
    /// finished job (`done`, or `skipped` with a note when there are too few outcomes).
    pub async fn retrain(&self, space: &Arc<Space>) -> Result<JobRecord, AppError> {
        let job = self.start_job(space, RETRAIN, 0, "retrain").await?;
        self.run_retrain(space, job).await
    }

    /// Starts a retrain in the background; returns its job.
    pub async fn start_retrain(&self, space: &Arc<Space>) -> Result<JobRecord, AppError> {
        let job = self.start_job(space, RETRAIN, 0, "retrain").await?;
        let (svc, sp, j) = (self.clone(), space.clone(), job.clone());
        tokio::spawn(async move {
            if let Err(e) = svc.run_retrain(&sp, j).await {
                tracing::warn!("retrain of {}: {e}", sp.name);
            }
        });
        Ok(job)
    }

    async fn run_retrain(&self, space: &Arc<Space>, job: JobRecord) -> Result<JobRecord, AppError> {
        let store = self.store();
        let result = self.train_and_predict(space).await;
        let now = self.now_ms();
        match &result {
            Ok(Retrained::Skipped(note)) => {
                tracing::info!("retrain of {}: {note}", space.name);
                store.finish_job(job.id, 0, 0, "skipped", note, now).await?
            }
            Ok(Retrained::Trained {
                version,
                predicted,
                note,
            }) => {
                store
                    .finish_job(job.id, *version, *predicted, "done", note, now)
                    .await?
            }
            Err(e) => {
                store
                    .finish_job(job.id, 0, 0, "failed", &e.to_string(), now)
                    .await?
            }
        }
        result?;
        self.job(space, job.id).await
    }

    async fn train_and_predict(&self, space: &Space) -> Result<Retrained, AppError> {
        let s = self.inner.settings.retrain.clone();
        let now = self.now_ms();
        let target = s.target.name();
        let table = self.training_table(space, now, s.target).await?;
        let (rows, positives) = (table.rows.len(), table.positives());
        let negatives = rows - positives;
        if positives < s.min_positives || negatives < s.min_negatives {
            return Ok(Retrained::Skipped(format!(
                "too few outcomes to train: {positives} contacts with a positive outcome \
                 (target {target}) and {negatives} without, at least {} and {} needed; \
                 the previous learned model and its predictions stay",
                s.min_positives, s.min_negatives
            )));
        }
        let name = format!("workspace {}", space.name);
        let opts = TableOptions {
            target: Some(LABEL_COLUMN.to_owned()),
            id: Some(ID_COLUMN.to_owned()),
            // A column this workspace's table does not have (yet) is nothing to leave out.
            ignore: s
                .ignore
                .iter()
                .filter(|c| table.columns.contains(c))
                .cloned()
                .collect(),
            ..TableOptions::default()
        };
        let data = read(&table, &name, opts)?;
        let params = TrainParams {
            algo: s.algo,
            seed: s.seed,
            threads: s.threads.max(1),
            ..TrainParams::default()
        };
        let trained = blocking(move || leadscore_learn::train(&data, &params)).await?;
        let mut model = trained.model;
        let mut file = Vec::new();
        model.write(&mut file).map_err(learn_error)?;
        let text = String::from_utf8(file).map_err(learn_error)?;
        let version = self
            .store()
            .add_learned_model(
                &space.id,
                &NewLearned {
                    target,
                    algo: &model.algo,
                    rows: rows as i64,
                    positives: positives as i64,
                    hash: &model.hash,
                    model: &text,
                },
                now,
            )
            .await?;
        let auc = model
            .candidates
            .iter()
            .find(|c| c.algo == model.algo)
            .map_or(f64::NAN, |c| c.roc_auc);
        let algo = model.algo.clone();
        model.set_threads(s.threads.max(1));
        let predicted = self
            .predict_all(space, model, version, now, s.target)
            .await?;
        Ok(Retrained::Trained {
            version,
            predicted,
            note: format!(
                "learned model v{version}: {algo} on {rows} contacts ({positives} with a \
                 positive outcome, target {target}), out-of-fold ROC-AUC {auc:.3}; \
                 {predicted} contacts predicted"
            ),
        })
    }

    /// Predicts every contact of the workspace from its features at `now` with `model`
    /// (learned version `version`) and stores the predictions; returns how many.
    async fn predict_all(
        &self,
        space: &Space,
        model: LearnedModel,
        version: i64,
        now: i64,
        target: Target,
    ) -> Result<i64, AppError> {
        let features = self.feature_table(space, now, target).await?;
        let opts = model.table_options(Some(LABEL_COLUMN.to_owned()), Some(ID_COLUMN.to_owned()));
        let table = read(&features, &format!("workspace {}", space.name), opts)?;
        let ids = table.ids.clone().unwrap_or_default();
        let p = blocking(move || model.predict_table(&table)).await?;
        let rows: Vec<PredictionRow> = ids
            .into_iter()
            .zip(p.probability)
            .zip(p.factors)
            .map(|((id, probability), factors)| PredictionRow {
                contact_id: id,
                version,
                probability,
                factors: serde_json::to_string(&factors).unwrap_or_else(|_| "[]".into()),
                predicted_at: now,
            })
            .collect();
        self.store().upsert_predictions(&space.id, &rows).await?;
        Ok(rows.len() as i64)
    }

    /// A contact's prediction by the latest learned model, if it has one.
    pub async fn prediction(
        &self,
        space: &Space,
        id: &str,
    ) -> Result<Option<Prediction>, AppError> {
        let Some(r) = self.store().prediction(&space.id, id).await? else {
            return Ok(None);
        };
        let factors = serde_json::from_str(&r.factors)
            .map_err(|e| leadscore_store::StoreError::Json("predictions.factors", e))?;
        Ok(Some(Prediction {
            probability: r.probability,
            factors,
            model_version: r.version,
            predicted_at: r.predicted_at,
        }))
    }
}

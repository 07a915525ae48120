//! The training table built from the store: one row per contact with its traits, its
//! account's traits (`account.*`), for every event type of the workspace the count of events
//! in the 7, 30 and 90 days before the contact's cut-off and the whole days since the last one,
//! and the label from its recorded outcomes. `leadscore_learn::read_table` reads it as CSV.
//!
//! Cut-off: for a positive, the time of its first positive outcome (no event at or after it is
//! counted, so the event features cannot see the outcome coming); for the others, `as_of`.
//! Outcomes after `as_of` are not known yet and count for nothing. Traits are the contact's
//! current ones (imports carry no trait times, so a cut would empty the positives' traits
//! and leak through what is missing): a trait set once the deal is won tells the outcome, and
//! is left out by the learner's ignore list (`RetrainSettings::ignore`, `--ignore`). Track events that record outcomes
//! (`Deal Won`, …) are outcomes, not behaviour, and get no columns.

use crate::message::flatten;
use crate::outcome::track_kind;
use crate::{AppError, Service, Space};
use leadscore_store::TrainingContact;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

/// Milliseconds in a day.
const DAY: i64 = 86_400_000;
/// The windows counted for each event type, in days.
pub const WINDOWS: [i64; 3] = [7, 30, 90];
/// Contacts read per query page.
pub(crate) const CONTACT_PAGE: i64 = 5_000;
/// Events read per query page.
const EVENT_PAGE: i64 = 20_000;

/// What the label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// 1 when the contact has a `won` outcome.
    #[default]
    Won,
    /// 1 when it has a `won` or an `opportunity_created` outcome.
    Converted,
}

impl Target {
    /// Parses `won` or `converted`.
    pub fn parse(s: &str) -> Option<Target> {
        match s {
            "won" => Some(Target::Won),
            "converted" => Some(Target::Converted),
            _ => None,
        }
    }

    /// `won` or `converted`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Won => "won",
            Target::Converted => "converted",
        }
    }

    pub(crate) fn positive(self, kind: &str) -> bool {
        match self {
            Target::Won => kind == "won",
            Target::Converted => kind == "won" || kind == "opportunity_created",
        }
    }
}

/// The name of the id column.
pub const ID_COLUMN: &str = "id";
/// The name of the label column (1 or 0).
pub const LABEL_COLUMN: &str = "label";

/// A training table: a header and one row of text per contact (empty = missing).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingTable {
    /// Column names: `id`, traits, `account.*`, event aggregates, `label`.
    pub columns: Vec<String>,
    /// One row per contact, in id order.
    pub rows: Vec<Vec<String>>,
}

impl TrainingTable {
    /// The table as CSV (header first).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing into memory cannot fail.
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        w.into_inner().unwrap_or_default()
    }

    /// Rows with label 1.
    pub fn positives(&self) -> usize {
        let Some(i) = self.columns.iter().position(|c| c == LABEL_COLUMN) else {
            return 0;
        };
        self.rows.iter().filter(|r| r[i] == "1").count()
    }

    /// The value of `column` in the row of contact `id` (for tests and inspection).
    pub fn value(&self, id: &str, column: &str) -> Option<&str> {
        let c = self.columns.iter().position(|n| n == column)?;
        let row = self.rows.iter().find(|r| r[0] == id)?;
        Some(row[c].as_str())
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Agg {
    counts: [u32; WINDOWS.len()],
    last: Option<i64>,
}

impl Service {
    /// Builds the training table of a workspace as of `as_of` (ms) for `target`.
    pub async fn training_table(
        &self,
        space: &Space,
        as_of: i64,
        target: Target,
    ) -> Result<TrainingTable, AppError> {
        self.table(space, as_of, target, true).await
    }

    /// The same columns with every contact's features at `as_of` (no cut-off at a positive
    /// outcome): what a model trained on [`Service::training_table`] predicts from now.
    pub async fn feature_table(
        &self,
        space: &Space,
        as_of: i64,
        target: Target,
    ) -> Result<TrainingTable, AppError> {
        self.table(space, as_of, target, false).await
    }

    async fn table(
        &self,
        space: &Space,
        as_of: i64,
        target: Target,
        cut_at_outcome: bool,
    ) -> Result<TrainingTable, AppError> {
        let store = self.store();
        let ws = space.id.as_str();

        // The first positive outcome of each contact known by `as_of`.
        let mut first_positive: FxHashMap<String, i64> = FxHashMap::default();
        for o in store.outcomes_until(ws, as_of).await? {
            if target.positive(&o.kind) {
                let at = first_positive.entry(o.contact_id).or_insert(o.at);
                *at = (*at).min(o.at);
            }
        }

        let mut contacts: Vec<TrainingContact> = Vec::new();
        loop {
            let after = contacts.last().map_or(String::new(), |c| c.id.clone());
            let page = store.training_contacts(ws, &after, CONTACT_PAGE).await?;
            let n = page.len();
            contacts.extend(page);
            if n < CONTACT_PAGE as usize {
                break;
            }
        }
        let index: FxHashMap<&str, usize> = contacts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        let cutoff: Vec<i64> = contacts
            .iter()
            .map(|c| match first_positive.get(&c.id) {
                Some(&at) if cut_at_outcome => at,
                _ => as_of,
            })
            .collect();

        // Events, page by page: only the aggregates stay in memory.
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        let mut aggs: FxHashMap<(usize, usize), Agg> = FxHashMap::default();
        let mut after = 0i64;
        loop {
            let page = store.training_events(ws, after, EVENT_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let n = page.len();
            for e in page {
                if track_kind(&e.event).is_some() {
                    continue;
                }
                let next = types.len();
                let t = *types.entry(e.event).or_insert(next);
                let Some(&ci) = index.get(e.contact_id.as_str()) else {
                    continue;
                };
                let cut = cutoff[ci];
                if e.ts >= cut {
                    continue;
                }
                let a = aggs.entry((ci, t)).or_default();
                for (k, days) in WINDOWS.iter().enumerate() {
                    if cut - e.ts <= days * DAY {
                        a.counts[k] += 1;
                    }
                }
                a.last = Some(a.last.map_or(e.ts, |l| l.max(e.ts)));
            }
            if n < EVENT_PAGE as usize {
                break;
            }
        }

        let accounts: FxHashMap<String, Vec<(String, String)>> = store
            .account_traits(ws)
            .await?
            .into_iter()
            .map(|(id, t)| (id, flatten(&t)))
            .collect();
        let flat: Vec<Vec<(String, String)>> =
            contacts.iter().map(|c| flatten(&c.traits)).collect();
        let trait_names: BTreeSet<&str> = flat
            .iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .filter(|k| *k != ID_COLUMN && *k != LABEL_COLUMN)
            .collect();
        let used_accounts: BTreeSet<&str> = contacts
            .iter()
            .filter_map(|c| c.account_id.as_deref())
            .collect();
        let account_names: BTreeSet<&str> = used_accounts
            .iter()
            .filter_map(|a| accounts.get(*a))
            .flatten()
            .map(|(k, _)| k.as_str())
            .collect();

        let mut columns: Vec<String> = vec![ID_COLUMN.to_owned()];
        columns.extend(trait_names.iter().map(|s| (*s).to_owned()));
        columns.extend(account_names.iter().map(|s| format!("account.{s}")));
        // Event types in name order; `types` maps each to the index used in `aggs`.
        let ordered: Vec<(&str, usize)> = types.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        for (name, _) in &ordered {
            for d in WINDOWS {
                columns.push(format!("{name}_{d}d"));
            }
            columns.push(format!("{name}_days_since"));
        }
        columns.push(LABEL_COLUMN.to_owned());

        let trait_pos: FxHashMap<&str, usize> = trait_names
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, 1 + i))
            .collect();
        let acc_base = 1 + trait_names.len();
        let acc_pos: FxHashMap<&str, usize> = account_names
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, acc_base + i))
            .collect();
        let ev_base = acc_base + account_names.len();
        let width = columns.len();
        let mut rows = Vec::with_capacity(contacts.len());
        for (ci, c) in contacts.iter().enumerate() {
            let mut row = vec![String::new(); width];
            row[0] = c.id.clone();
            for (k, v) in &flat[ci] {
                if let Some(&p) = trait_pos.get(k.as_str()) {
                    row[p] = v.clone();
                }
            }
            if let Some(a) = c.account_id.as_deref().and_then(|a| accounts.get(a)) {
                for (k, v) in a {
                    if let Some(&p) = acc_pos.get(k.as_str()) {
                        row[p] = v.clone();
                    }
                }
            }
            for (j, (_, t)) in ordered.iter().enumerate() {
                let base = ev_base + j * (WINDOWS.len() + 1);
                let a = aggs.get(&(ci, *t)).copied().unwrap_or_default();
                for k in 0..WINDOWS.len() {
                    row[base + k] = a.counts[k].to_string();
                }
                if let Some(l) = a.last {
                    row[base + WINDOWS.len()] = ((cutoff[ci] - l) / DAY).to_string();
                }
            }
            row[width - 1] = if first_positive.contains_key(&c.id) {
                "1"
            } else {
                "0"
            }
            .to_owned();
            rows.push(row);
        }
        Ok(TrainingTable { columns, rows })
    }
}

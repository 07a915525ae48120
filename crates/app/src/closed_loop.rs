//! The closed loop on the service's own pipeline: every contact, scored by a model version as
//! it would have scored just before its first outcome (its behaviour from the events before
//! then, decayed to then; its traits and account as stored, the store keeps no history of
//! traits), or as of now for a contact without an outcome — the training table's cut-offs —
//! and evaluated
//! as `leadscore evaluate` evaluates a rule model on a file: ROC-AUC, lift, conversion,
//! calibration, and per decile, tier and grade the deals won and lost with the win rate, the
//! revenue (the amounts of `won` outcomes) and the days from the first message to the
//! conversion.

use crate::message::{Call, Message, merge_traits};
use crate::training::{CONTACT_PAGE, Target};
use crate::{AppError, Service, Space, score};
use leadscore_core::{Model, Scored, Status};
use leadscore_learn::delong::auc_difference;
use leadscore_learn::evaluate::{RuleScores, evaluate_rules};
use leadscore_learn::metrics::{Pipeline, Segments};
use leadscore_learn::report::{Against, Evaluation};
use leadscore_store::{EventRecord, Traits};
use rustc_hash::FxHashMap;

const DAY_MS: f64 = 86_400_000.0;

/// What the outcomes say of one contact.
#[derive(Debug, Clone, Copy)]
struct Outcomes {
    /// Its first outcome of any kind (ms): the cut-off of what the score may see.
    first: i64,
    /// Its first positive outcome for the target (ms).
    positive: Option<i64>,
    /// It has a `won` outcome.
    won: bool,
    /// It has a `lost` outcome.
    lost: bool,
    /// The amounts of its `won` outcomes.
    revenue: f64,
}

/// What [`Service::closed_loop`] evaluates.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopOptions {
    /// The model version (default: the active one).
    pub version: Option<i64>,
    /// Another version scored on the same contacts at the same times.
    pub against: Option<i64>,
    /// The label.
    pub target: Target,
    /// The evaluation's time (ms; default now): outcomes after it do not count, contacts
    /// without an outcome by then are scored as of then.
    pub as_of: Option<i64>,
    /// Only contacts whose first message came before this time (ms): leads that have had
    /// time to convert.
    pub created_before: Option<i64>,
}

impl Service {
    /// The evaluation of model `opts.version` (default: the active one) on the workspace's
    /// contacts (those first seen before `opts.created_before`, if given) for `opts.target`: a
    /// contact with an outcome by `opts.as_of` (default now) scored as of just before its first
    /// one, the others as of `opts.as_of`. Its deal is won, lost or none; its revenue the amounts
    /// of its `won` outcomes. With `opts.against`, that version too scores the same contacts at
    /// the same times: its ROC-AUC, and this one's less it with a 95% interval and p-value
    /// (DeLong, paired). `NotFound` for an unknown version; `Conflict` until some contact has
    /// a positive outcome and some not.
    pub async fn closed_loop(
        &self,
        space: &Space,
        opts: &LoopOptions,
    ) -> Result<Evaluation, AppError> {
        let LoopOptions {
            version,
            against,
            target,
            as_of,
            created_before,
        } = *opts;
        let store = self.store();
        let ws = space.id.as_str();
        let now = as_of.unwrap_or_else(|| self.now_ms());
        let version = version.unwrap_or_else(|| space.active().version);
        let (_, model) = self.stored_model(space, version).await?;
        let other = match against {
            Some(v) => Some((v, self.stored_model(space, v).await?.1)),
            None => None,
        };
        let mut theirs: Vec<f64> = Vec::new();

        let mut outcomes: FxHashMap<String, Outcomes> = FxHashMap::default();
        for o in store.outcomes_until(ws, now).await? {
            let c = outcomes.entry(o.contact_id).or_insert(Outcomes {
                first: o.at,
                positive: None,
                won: false,
                lost: false,
                revenue: 0.0,
            });
            c.first = c.first.min(o.at);
            if target.positive(&o.kind) {
                c.positive = Some(c.positive.map_or(o.at, |p| p.min(o.at)));
            }
            match o.kind.as_str() {
                "won" => {
                    c.won = true;
                    c.revenue += o.amount.unwrap_or(0.0);
                }
                "lost" => c.lost = true,
                _ => {}
            }
        }

        let mut rs = RuleScores::default();
        let (mut y, mut segments, mut deal, mut revenue, mut days) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut after = String::new();
        // Account traits by account id, read once.
        let mut accounts: FxHashMap<String, Traits> = FxHashMap::default();
        loop {
            let page = store.training_contacts(ws, &after, CONTACT_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
            let mut messages = store.messages_by_contact(ws, &ids).await?;
            for id in &ids {
                let o = outcomes.get(id).copied();
                let cut = o.map_or(now.saturating_add(1), |o| o.first);
                let mine = messages.remove(id).unwrap_or_default();
                if let Some(before) = created_before
                    && mine
                        .iter()
                        .map(|e| e.event.ts)
                        .min()
                        .is_none_or(|c| c >= before)
                {
                    continue;
                }
                let (parsed, created) = before(&mine, cut);
                let s = self
                    .score_at(&model, ws, id, &parsed, cut, &mut accounts)
                    .await?;
                if let Some((_, m)) = &other {
                    let t = self
                        .score_at(m, ws, id, &parsed, cut, &mut accounts)
                        .await?;
                    theirs.push(t.score);
                }
                rs.score.push(s.score);
                rs.tier.push(s.tier.clone());
                rs.grade.push(s.grade.clone().unwrap_or_default());
                rs.qualified.push(s.status == Status::Qualified);
                segments.push(s.segment.clone());
                let positive = o.and_then(|o| o.positive);
                y.push(if positive.is_some() { 1.0 } else { 0.0 });
                deal.push(o.and_then(|o| match (o.won, o.lost) {
                    (true, _) => Some(true),
                    (false, true) => Some(false),
                    _ => None,
                }));
                revenue.push(o.map_or(0.0, |o| o.revenue));
                days.push(match (positive, created) {
                    (Some(p), Some(c)) => (p - c) as f64 / DAY_MS,
                    _ => f64::NAN,
                });
            }
            if page.len() < CONTACT_PAGE as usize {
                break;
            }
        }
        let positives = y.iter().filter(|&&v| v > 0.5).count();
        if positives == 0 || positives == y.len() {
            return Err(AppError::Conflict(format!(
                "{positives} of the {} contacts scored have a positive outcome ({}): the \
                 evaluation needs both; record outcomes (POST /api/v1/outcomes or `leadscore \
                 import --outcomes`)",
                y.len(),
                target.name()
            )));
        }
        rs.order_tiers_by_score();
        let label = |m: &Model, v: i64| {
            let r = m.reference();
            format!(
                "{}@{} (version {v}, {})",
                r.name,
                r.version,
                &r.hash[..r.hash.len().min(12)]
            )
        };
        let data = format!(
            "workspace {}: {} contacts, label `{}`; each scored as of just before its first \
             outcome, or as of {} without one",
            space.name,
            y.len(),
            target.name(),
            chrono::DateTime::from_timestamp_millis(now)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        );
        let by_segment = segments.iter().any(|s| s != &segments[0]);
        let mut e = evaluate_rules(
            &y,
            &rs,
            by_segment.then_some(Segments {
                values: &segments,
                sorted: false,
            }),
            Pipeline {
                days: Some(&days),
                deal: Some(&deal),
                revenue: Some(&revenue),
            },
            &label(&model, version),
            &data,
            42,
        );
        if let Some((v, m)) = &other {
            let auc = leadscore_learn::metrics::roc_auc(&y, &theirs);
            e.against = Some(Against {
                model: label(m, *v),
                roc_auc: auc.is_finite().then_some(auc),
                difference: auc_difference(&y, &theirs, &rs.score),
            });
        }
        Ok(e)
    }

    /// Contact `id` scored by `model` from its `parsed` messages (from [`before`]) as of the
    /// last whole second before `cut` (ms). `accounts` caches account traits.
    async fn score_at(
        &self,
        model: &Model,
        ws: &str,
        id: &str,
        parsed: &[(i64, i64, Message)],
        cut: i64,
        accounts: &mut FxHashMap<String, Traits>,
    ) -> Result<Scored, AppError> {
        let folded = score::fold(model, parsed);
        let account = match &folded.account_id {
            Some(g) => {
                if !accounts.contains_key(g) {
                    let mut traits = Traits::new();
                    for e in self.store().group_messages(ws, g, i64::MAX).await? {
                        merge_traits(&mut traits, &Message::from_row(&e.event).props);
                    }
                    accounts.insert(g.clone(), traits);
                }
                Some(score::account(model, g, &accounts[g]))
            }
            None => None,
        };
        let contact = score::contact(model, id, folded.account_id.as_deref(), &folded.traits);
        let scorer = leadscore_core::Scorer::new(model, (cut - 1).div_euclid(1000));
        Ok(score::score(
            &scorer,
            &contact,
            account.as_ref(),
            &folded.behaviour,
        ))
    }
}

/// A contact's `messages` as the scorer takes them: its traits and account as stored now (the
/// store keeps no history of traits, as in the training table), its behaviour from the events
/// before `cut` (ms); with the time of its first message before `cut`, if any.
fn before(messages: &[EventRecord], cut: i64) -> (Vec<(i64, i64, Message)>, Option<i64>) {
    let created = messages
        .iter()
        .map(|e| e.event.ts)
        .filter(|&t| t < cut)
        .min();
    let parsed = messages
        .iter()
        .map(|e| {
            (
                e.event.ts,
                e.seq,
                e.event.received_at,
                Message::from_row(&e.event),
            )
        })
        .filter(|(ts, _, _, m)| {
            !matches!(m.call, Call::Track | Call::Page | Call::Screen) || *ts < cut
        })
        .map(|(_, seq, received, m)| (seq, received, m))
        .collect();
    (parsed, created)
}

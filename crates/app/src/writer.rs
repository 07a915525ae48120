//! The one writer: every change to contacts and scores goes through this task. It groups
//! waiting batches into one transaction (group commit), keeps each contact's events in memory so
//! a new event re-scores its contact without reading the log, and replies only after the commit.
//!
//! Correctness across nodes (PostgreSQL): each transaction locks the contacts it touches and
//! compares their stored `version` with the cached one; a contact another node changed is
//! reloaded from the log before it is scored. Cached contacts are taken out of the cache while
//! a transaction works on them and put back only after it commits, so a failed transaction
//! leaves nothing half-applied in memory.

use crate::hooks::{self, Change};
use crate::message::{Call, Message, merge_traits};
use crate::score::{self, Behaviour};
use crate::{AppError, Space};
use leadscore_store::{
    AccountRecord, Alias, ContactRecord, HistoryRecord, Result as StoreResult, ScoreColumns, Store,
    Traits, Tx, shadow::ChallengerScore,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct IngestReport {
    /// Messages stored now.
    pub accepted: usize,
    /// Messages whose `messageId` was stored before (not stored or scored again).
    pub duplicates: usize,
    /// Contacts whose score, tier or status changed.
    pub rescored: usize,
}

pub(crate) enum Job {
    Ingest {
        space: Arc<Space>,
        messages: Vec<Message>,
        reply: oneshot::Sender<Result<IngestReport, AppError>>,
    },
    Rescore {
        space: Arc<Space>,
        ids: Vec<String>,
        cause: String,
        /// Only the challenger scores them (a back-fill): their stored score, history and
        /// webhooks are left alone, unless something else in the transaction touches them.
        shadow_only: bool,
        reply: oneshot::Sender<Result<IngestReport, AppError>>,
    },
}

impl Job {
    fn size(&self) -> usize {
        match self {
            Job::Ingest { messages, .. } => messages.len(),
            Job::Rescore { ids, .. } => ids.len(),
        }
    }
    fn space(&self) -> &Arc<Space> {
        match self {
            Job::Ingest { space, .. } | Job::Rescore { space, .. } => space,
        }
    }
    fn reply(self, r: Result<IngestReport, AppError>) {
        let _ = match self {
            Job::Ingest { reply, .. } | Job::Rescore { reply, .. } => reply.send(r),
        };
    }
}

#[derive(Debug, Clone)]
struct Cached {
    rec: ContactRecord,
    behaviour: Vec<Behaviour>,
    /// The same events as the challenger reads them (empty without a challenger).
    shadow: Vec<Behaviour>,
}

#[derive(Default)]
struct SpaceCache {
    model_version: i64,
    challenger_version: Option<i64>,
    contacts: FxHashMap<String, Cached>,
    anon: FxHashMap<String, String>,
}

pub(crate) struct Writer {
    store: Store,
    clock: Arc<dyn crate::Clock>,
    cache: FxHashMap<String, SpaceCache>,
    hooks_wake: Arc<tokio::sync::Notify>,
    /// Largest number of messages grouped into one transaction.
    group_limit: usize,
}

/// A workspace's part of a committed transaction: what goes back into the cache.
struct Part {
    space: String,
    contacts: Vec<Cached>,
    anon: Vec<(String, String)>,
}

impl Writer {
    pub(crate) fn new(
        store: Store,
        clock: Arc<dyn crate::Clock>,
        hooks_wake: Arc<tokio::sync::Notify>,
        group_limit: usize,
    ) -> Writer {
        Writer {
            store,
            clock,
            cache: FxHashMap::default(),
            hooks_wake,
            group_limit,
        }
    }

    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut n = first.size();
            let mut jobs = vec![first];
            while n < self.group_limit {
                match rx.try_recv() {
                    Ok(j) => {
                        n += j.size();
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            self.process(jobs).await;
        }
    }

    async fn process(&mut self, jobs: Vec<Job>) {
        let started = std::time::Instant::now();
        let now = self.clock.now_ms();
        match self.transaction(&jobs, now).await {
            Ok((reports, parts)) => {
                for p in parts {
                    let cache = self.cache.entry(p.space).or_default();
                    for c in p.contacts {
                        cache.contacts.insert(c.rec.id.clone(), c);
                    }
                    cache.anon.extend(p.anon);
                }
                let accepted: usize = reports.iter().map(|r| r.accepted).sum();
                metrics::counter!("leadscore_events_ingested_total").increment(accepted as u64);
                metrics::histogram!("leadscore_ingest_to_score_seconds")
                    .record(started.elapsed().as_secs_f64());
                for (j, r) in jobs.into_iter().zip(reports) {
                    j.reply(Ok(r));
                }
                self.hooks_wake.notify_one();
            }
            Err(e) => {
                tracing::warn!("transaction failed: {e}");
                metrics::counter!("leadscore_ingest_failures_total").increment(1);
                // Contacts taken out of the cache for this transaction are gone from it; forget
                // the workspaces' anonymous links too, they reload from the log on next use.
                for j in &jobs {
                    self.cache.remove(&j.space().id);
                }
                let msg = e.to_string();
                for j in jobs {
                    j.reply(Err(AppError::Unavailable(msg.clone())));
                }
            }
        }
    }

    async fn transaction(
        &mut self,
        jobs: &[Job],
        now: i64,
    ) -> StoreResult<(Vec<IngestReport>, Vec<Part>)> {
        let mut tx = self.store.begin().await?;
        let mut reports = vec![IngestReport::default(); jobs.len()];
        let mut parts = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for j in jobs {
            let space = j.space();
            if seen.contains(&space.id.as_str()) {
                continue;
            }
            seen.push(&space.id);
            let idx: Vec<usize> = (0..jobs.len())
                .filter(|&i| jobs[i].space().id == space.id)
                .collect();
            parts.push(
                self.workspace(&mut tx, space, jobs, &idx, now, &mut reports)
                    .await?,
            );
        }
        tx.commit().await?;
        Ok((reports, parts))
    }

    /// One workspace's share of a transaction: store its messages, apply them to its contacts,
    /// re-score every contact touched, roll up accounts, enqueue webhooks.
    async fn workspace(
        &mut self,
        tx: &mut Tx,
        space: &Space,
        jobs: &[Job],
        idx: &[usize],
        now: i64,
        reports: &mut [IngestReport],
    ) -> StoreResult<Part> {
        let ws = space.id.as_str();
        let active = space.active();
        let model = &active.model;
        let challenger = space.challenger();
        let shadow_model = challenger.as_ref().map(|c| &*c.model);
        let cache = self.cache.entry(space.id.clone()).or_default();
        let challenger_version = challenger.as_ref().map(|c| c.version);
        if cache.model_version != active.version || cache.challenger_version != challenger_version {
            // Cached behaviour holds only what the old models read: start over.
            *cache = SpaceCache {
                model_version: active.version,
                challenger_version,
                ..SpaceCache::default()
            };
        }
        let mut msgs: Vec<(usize, &Message)> = Vec::new();
        let mut forced: Vec<(&str, &str)> = Vec::new();
        // Contacts of back-fill jobs: scored by the challenger only, unless something else
        // in this transaction needs the champion's score of them too.
        let mut shadow_ids: Vec<&str> = Vec::new();
        // The jobs that touched each contact (and each account's traits): a batch grouped with
        // others reports the contacts it re-scored, as it would alone.
        let mut touched_by: FxHashMap<String, FxHashSet<usize>> = FxHashMap::default();
        let mut account_jobs: FxHashMap<String, FxHashSet<usize>> = FxHashMap::default();
        for &i in idx {
            match &jobs[i] {
                Job::Ingest { messages, .. } => msgs.extend(messages.iter().map(|m| (i, m))),
                Job::Rescore {
                    ids, shadow_only, ..
                } if *shadow_only => shadow_ids.extend(ids.iter().map(String::as_str)),
                Job::Rescore { ids, cause, .. } => {
                    for id in ids {
                        touched_by.entry(id.clone()).or_default().insert(i);
                    }
                    forced.extend(ids.iter().map(|id| (id.as_str(), cause.as_str())))
                }
            }
        }

        // 1. Who each message belongs to. An identify (or alias) with both ids links the
        //    anonymous id to the contact; the first link of an anonymous id wins.
        let mut links: FxHashMap<String, String> = FxHashMap::default();
        let mut unknown: Vec<String> = Vec::new();
        for (_, m) in &msgs {
            if let Some(a) = &m.anonymous_id {
                match cache.anon.get(a) {
                    Some(c) => {
                        links.insert(a.clone(), c.clone());
                    }
                    None if !links.contains_key(a) => {
                        links.insert(a.clone(), String::new());
                        unknown.push(a.clone());
                    }
                    None => {}
                }
            }
        }
        links.retain(|_, c| !c.is_empty());
        if !unknown.is_empty() {
            for (a, c) in tx.aliases_by_anonymous(ws, &unknown).await? {
                links.insert(a, c);
            }
        }
        let mut new_links: Vec<Alias> = Vec::new();
        let targets: Vec<Option<String>> = msgs
            .iter()
            .map(|(_, m)| match (&m.user_id, &m.anonymous_id) {
                (Some(u), Some(a)) => {
                    if !links.contains_key(a) && matches!(m.call, Call::Identify | Call::Alias) {
                        links.insert(a.clone(), u.clone());
                        new_links.push(Alias {
                            anonymous_id: a.clone(),
                            contact_id: u.clone(),
                            linked_at: now,
                        });
                    }
                    Some(u.clone())
                }
                (Some(u), None) => Some(u.clone()),
                (None, Some(a)) => links.get(a).cloned(),
                (None, None) => None,
            })
            .collect();

        // 2. Every contact to re-score: the messages' contacts, and every contact of an account
        //    whose traits change (rules may read `account.*`).
        let mut affected: FxHashSet<String> = targets.iter().flatten().cloned().collect();
        let trait_accounts: Vec<String> = msgs
            .iter()
            .filter(|(_, m)| m.call == Call::Group && !m.props.is_empty())
            .filter_map(|(_, m)| m.group_id.clone())
            .collect::<FxHashSet<_>>()
            .into_iter()
            .collect();
        if !trait_accounts.is_empty() {
            let members = tx.account_members(ws, &trait_accounts).await?;
            affected.extend(members.into_iter().map(|(_, c, _)| c));
        }
        let forced_cause: FxHashMap<&str, &str> = forced.iter().copied().collect();
        affected.extend(forced.iter().map(|(id, _)| (*id).to_owned()));
        let shadow_only: FxHashSet<String> = shadow_ids
            .iter()
            .filter(|id| !affected.contains(**id))
            .map(|id| (*id).to_owned())
            .collect();
        affected.extend(shadow_only.iter().cloned());
        let affected: Vec<String> = affected.into_iter().collect();

        // 3. Lock them and bring each into memory at its stored version.
        let versions: FxHashMap<String, i64> =
            tx.lock_contacts(ws, &affected).await?.into_iter().collect();
        let mut work: FxHashMap<String, Cached> = FxHashMap::default();
        let mut stored: FxHashSet<String> = FxHashSet::default();
        let mut misses: Vec<String> = Vec::new();
        for id in &affected {
            let cached = cache.contacts.remove(id);
            match (versions.get(id), cached) {
                (Some(v), Some(c)) if *v == c.rec.version => {
                    stored.insert(id.clone());
                    work.insert(id.clone(), c);
                }
                (Some(_), _) => {
                    stored.insert(id.clone());
                    misses.push(id.clone());
                }
                (None, _) if forced_cause.contains_key(id.as_str()) || shadow_only.contains(id) => {
                }
                (None, _) => {
                    work.insert(id.clone(), new_contact(id, now, active.version));
                }
            }
        }
        if !misses.is_empty() {
            let recs = tx.contacts(ws, &misses).await?;
            let aliases = tx.aliases_by_contact(ws, &misses).await?;
            let anon: Vec<String> = aliases.iter().map(|(a, _)| a.clone()).collect();
            let owner: FxHashMap<&str, &str> = aliases
                .iter()
                .map(|(a, c)| (a.as_str(), c.as_str()))
                .collect();
            let rows = tx.behaviour(ws, &misses, &anon).await?;
            for r in recs {
                work.insert(
                    r.id.clone(),
                    Cached {
                        rec: r,
                        behaviour: Vec::new(),
                        shadow: Vec::new(),
                    },
                );
            }
            for row in rows {
                let e = &row.event;
                let who = e.user_id.as_deref().or_else(|| {
                    e.anonymous_id
                        .as_deref()
                        .and_then(|a| owner.get(a).copied())
                });
                if let Some(c) = who.and_then(|w| work.get_mut(w)) {
                    observe(
                        c,
                        model,
                        shadow_model,
                        row.seq,
                        &Message::from_row(e),
                        e.received_at,
                    );
                }
            }
            for (a, c) in aliases {
                links.insert(a, c);
            }
        }

        // 4. Append the messages; a messageId seen before is a duplicate, stored and scored once.
        let rows: Vec<_> = msgs.iter().map(|(_, m)| m.to_row(now)).collect();
        let mut seq_of: FxHashMap<String, i64> = tx
            .insert_events(ws, &rows)
            .await?
            .into_iter()
            .map(|(s, id)| (id, s))
            .collect();
        tx.link_aliases(ws, &new_links).await?;

        // 5. Apply them in order.
        let mut cause: FxHashMap<String, String> = FxHashMap::default();
        let mut dirty: FxHashSet<String> = FxHashSet::default();
        let mut account_traits: FxHashMap<String, Traits> = FxHashMap::default();
        let mut applied: FxHashSet<i64> = FxHashSet::default();
        // Accounts a contact left for another: their members and roll-up change too.
        let mut left_accounts: FxHashSet<String> = FxHashSet::default();
        let mut outcomes = Vec::new();
        for ((job, m), target) in msgs.iter().zip(&targets) {
            let Some(seq) = seq_of.remove(&m.message_id) else {
                reports[*job].duplicates += 1;
                continue;
            };
            reports[*job].accepted += 1;
            if m.call == Call::Group
                && let Some(g) = &m.group_id
            {
                merge_traits(account_traits.entry(g.clone()).or_default(), &m.props);
                if !m.props.is_empty() {
                    account_jobs.entry(g.clone()).or_default().insert(*job);
                }
            }
            let Some(c) = target.as_ref().and_then(|t| work.get_mut(t)) else {
                continue;
            };
            touched_by.entry(c.rec.id.clone()).or_default().insert(*job);
            applied.insert(seq);
            dirty.insert(c.rec.id.clone());
            let why = match m.call {
                Call::Identify => {
                    merge_traits(&mut c.rec.traits, &m.props);
                    "identify".to_owned()
                }
                Call::Group => {
                    if let Some(old) = &c.rec.account_id
                        && c.rec.account_id != m.group_id
                    {
                        left_accounts.insert(old.clone());
                    }
                    c.rec.account_id = m.group_id.clone();
                    "group".to_owned()
                }
                Call::Track | Call::Page | Call::Screen => {
                    // `Deal Won` and the like are outcomes too (the message stays in the log).
                    if let Some(o) = crate::outcome::from_track(m, &c.rec.id, now) {
                        outcomes.push(o);
                    }
                    c.rec.events += 1;
                    observe(c, model, shadow_model, seq, m, now);
                    format!("event {}", m.event.as_deref().unwrap_or(""))
                }
                Call::Alias => "merge".to_owned(),
            };
            cause.entry(c.rec.id.clone()).or_insert(why);
        }
        tx.insert_outcomes(ws, &outcomes).await?;
        // Events sent anonymously before the link now belong to the contact.
        if !new_links.is_empty() {
            let anon: Vec<String> = new_links.iter().map(|l| l.anonymous_id.clone()).collect();
            let owner: FxHashMap<&str, &str> = new_links
                .iter()
                .map(|l| (l.anonymous_id.as_str(), l.contact_id.as_str()))
                .collect();
            for row in tx.behaviour(ws, &[], &anon).await? {
                if applied.contains(&row.seq) {
                    continue;
                }
                let who = row.event.anonymous_id.as_deref().and_then(|a| owner.get(a));
                if let Some(c) = who.and_then(|w| work.get_mut(*w)) {
                    c.rec.events += 1;
                    observe(
                        c,
                        model,
                        shadow_model,
                        row.seq,
                        &Message::from_row(&row.event),
                        row.event.received_at,
                    );
                    dirty.insert(c.rec.id.clone());
                    cause
                        .entry(c.rec.id.clone())
                        .or_insert_with(|| "merge".into());
                }
            }
        }
        let new_anon: Vec<(String, String)> = new_links
            .into_iter()
            .map(|l| (l.anonymous_id, l.contact_id))
            .collect();

        // 6. Accounts: merged traits first (contact rules read them), then the contacts'
        //    scores, then the roll-up.
        let mut touched_accounts: FxHashSet<String> = account_traits.keys().cloned().collect();
        touched_accounts.extend(left_accounts);
        for c in work.values() {
            if let Some(a) = &c.rec.account_id {
                touched_accounts.insert(a.clone());
            }
        }
        let touched_accounts: Vec<String> = touched_accounts.into_iter().collect();
        let mut accounts: FxHashMap<String, AccountRecord> = tx
            .accounts(ws, &touched_accounts)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut accounts_dirty: FxHashSet<String> = FxHashSet::default();
        for (id, t) in &account_traits {
            let a = accounts
                .entry(id.clone())
                .or_insert_with(|| new_account(id, now));
            merge_traits(&mut a.traits, t);
            a.updated_at = now;
            accounts_dirty.insert(id.clone());
        }

        let as_of = now.div_euclid(1000);
        // Percentiles and top-N% routing against the population of the last full re-score.
        let ranking = space.ranking(active.version);
        let scorer = leadscore_core::Scorer::new(model, as_of);
        let mut history = Vec::new();
        let mut changes_old: Vec<(String, Option<ScoreColumns>, String)> = Vec::new();
        for c in work.values_mut() {
            if shadow_only.contains(&c.rec.id) && !dirty.contains(&c.rec.id) {
                continue;
            }
            let acc = c.rec.account_id.as_ref().and_then(|a| accounts.get(a));
            let contact =
                score::contact(model, &c.rec.id, c.rec.account_id.as_deref(), &c.rec.traits);
            let account = acc.map(|a| score::account(model, &a.id, &a.traits));
            let mut scored = score::score(&scorer, &contact, account.as_ref(), &c.behaviour);
            if let Some(r) = &ranking {
                r.apply(model, &mut scored);
            }
            let new = score::columns(&scored, active.version, as_of * 1000);
            let is_new = !stored.contains(&c.rec.id);
            let old = (!is_new).then(|| c.rec.score.clone());
            let moved = old.as_ref().is_none_or(|o| {
                o.score != new.score || o.tier != new.tier || o.status != new.status
            });
            let differs = old.as_ref() != Some(&new);
            if moved {
                let why = cause.get(&c.rec.id).cloned().unwrap_or_else(|| {
                    forced_cause
                        .get(c.rec.id.as_str())
                        .map_or_else(|| "rescore".to_owned(), |s| (*s).to_owned())
                });
                history.push(HistoryRecord {
                    contact_id: c.rec.id.clone(),
                    at: now,
                    old_score: old.as_ref().map(|o| o.score),
                    new_score: new.score,
                    old_tier: old.as_ref().map(|o| o.tier.clone()),
                    new_tier: new.tier.clone(),
                    old_status: old.as_ref().map(|o| o.status.clone()),
                    new_status: new.status.clone(),
                    cause: why.clone(),
                    model_version: active.version,
                });
                changes_old.push((c.rec.id.clone(), old.clone(), why));
            }
            if differs || dirty.contains(&c.rec.id) {
                c.rec.score = new;
                c.rec.version += 1;
                c.rec.updated_at = now;
                dirty.insert(c.rec.id.clone());
            }
        }
        for (id, _, _) in &changes_old {
            let mut by: FxHashSet<usize> = touched_by.remove(id).unwrap_or_default();
            if let Some(jobs) = work
                .get(id)
                .and_then(|c| c.rec.account_id.as_ref())
                .and_then(|a| account_jobs.get(a))
            {
                by.extend(jobs);
            }
            if by.is_empty() {
                by.extend(idx.first());
            }
            for j in by {
                reports[j].rescored += 1;
            }
        }

        // Every member of each touched account: the stored ones, with this transaction's
        // contacts where they are now (not only those this transaction touched).
        let mut scores: FxHashMap<String, FxHashMap<String, f64>> = FxHashMap::default();
        if !touched_accounts.is_empty() {
            for (a, c, s) in tx.account_members(ws, &touched_accounts).await? {
                scores.entry(a).or_default().insert(c, s);
            }
            for c in work.values() {
                for m in scores.values_mut() {
                    m.remove(&c.rec.id);
                }
                if let Some(a) = &c.rec.account_id {
                    scores
                        .entry(a.clone())
                        .or_default()
                        .insert(c.rec.id.clone(), c.rec.score.score);
                }
            }
        }
        if model.rolls_up_accounts() {
            for id in &touched_accounts {
                let list: Vec<f64> = scores
                    .get(id)
                    .map(|m| m.values().copied().collect())
                    .unwrap_or_default();
                let rolled = leadscore_core::roll_up(model, &list);
                let a = accounts
                    .entry(id.clone())
                    .or_insert_with(|| new_account(id, now));
                let (score, tier, n) = match rolled {
                    Some(r) => (Some(r.score), r.tier, list.len() as i64),
                    None => (None, None, list.len() as i64),
                };
                if a.score != score || a.tier != tier || a.contacts != n {
                    a.score = score;
                    a.tier = tier;
                    a.contacts = n;
                    a.updated_at = now;
                    accounts_dirty.insert(id.clone());
                }
            }
        } else {
            for id in &touched_accounts {
                if let Some(a) = accounts.get_mut(id) {
                    let n = scores.get(id).map_or(0, |m| m.len() as i64);
                    if n != a.contacts {
                        a.contacts = n;
                        accounts_dirty.insert(id.clone());
                    }
                }
            }
        }

        // The challenger scores every touched contact in shadow (never routed on, no history,
        // no webhooks, no ranking).
        let mut shadow_rows: Vec<ChallengerScore> = Vec::new();
        if let Some(ch) = &challenger {
            let m = &*ch.model;
            let scorer = leadscore_core::Scorer::new(m, as_of);
            for c in work.values() {
                let acc = c.rec.account_id.as_ref().and_then(|a| accounts.get(a));
                let contact =
                    score::contact(m, &c.rec.id, c.rec.account_id.as_deref(), &c.rec.traits);
                let account = acc.map(|a| score::account(m, &a.id, &a.traits));
                let s = score::score(&scorer, &contact, account.as_ref(), &c.shadow);
                shadow_rows.push(ChallengerScore {
                    contact_id: c.rec.id.clone(),
                    version: ch.version,
                    score: s.score,
                    tier: s.tier,
                    status: s.status.as_str().to_owned(),
                    scored_at: as_of * 1000,
                });
            }
        }

        // 7. Write.
        let rows: Vec<ContactRecord> = work
            .values()
            .filter(|c| dirty.contains(&c.rec.id))
            .map(|c| c.rec.clone())
            .collect();
        tx.upsert_contacts(ws, &rows).await?;
        tx.insert_history(ws, &history).await?;
        let acc_rows: Vec<AccountRecord> = accounts
            .into_values()
            .filter(|a| accounts_dirty.contains(&a.id))
            .collect();
        tx.upsert_accounts(ws, &acc_rows).await?;
        tx.upsert_challenger_scores(ws, &shadow_rows).await?;
        let changes: Vec<Change<'_>> = changes_old
            .iter()
            .filter_map(|(id, old, why)| {
                work.get(id).map(|c| Change {
                    contact: &c.rec,
                    old: old.as_ref(),
                    cause: why,
                })
            })
            .collect();
        hooks::on_changes(tx, space, &changes, now).await?;
        drop(changes);

        Ok(Part {
            space: space.id.clone(),
            contacts: work.into_values().collect(),
            anon: new_anon,
        })
    }
}

fn new_account(id: &str, now: i64) -> AccountRecord {
    AccountRecord {
        id: id.to_owned(),
        traits: Traits::new(),
        score: None,
        tier: None,
        contacts: 0,
        updated_at: now,
    }
}

fn new_contact(id: &str, now: i64, model_version: i64) -> Cached {
    Cached {
        rec: ContactRecord {
            id: id.to_owned(),
            account_id: None,
            traits: Traits::new(),
            version: 0,
            events: 0,
            first_seen: now,
            updated_at: now,
            score: ScoreColumns {
                score: 0.0,
                tier: String::new(),
                grade: None,
                priority: None,
                status: String::new(),
                segment: String::new(),
                reasons: Vec::new(),
                moment: None,
                model_version,
                scored_at: now,
            },
        },
        behaviour: Vec::new(),
        shadow: Vec::new(),
    }
}

/// Keeps a behaviour message in a contact's cache as the active model and the challenger read
/// it (each keeps only event types it uses).
fn observe(
    c: &mut Cached,
    model: &leadscore_core::Model,
    shadow: Option<&leadscore_core::Model>,
    seq: i64,
    m: &Message,
    received_ms: i64,
) {
    if let Some(b) = score::behaviour(model, seq, m, received_ms) {
        c.behaviour.push(b);
    }
    if let Some(b) = shadow.and_then(|s| score::behaviour(s, seq, m, received_ms)) {
        c.shadow.push(b);
    }
}

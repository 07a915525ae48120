//! The batch scoring job: contacts, accounts and events files in, one scored row per contact out.

use crate::Progress;
use crate::error::BatchError;
use crate::events::{EventStats, EventsInput, UnknownContacts, read_events};
use crate::format::Format;
use crate::output::{LeadWriter, write_accounts};
use crate::tables::{Accounts, Contacts, ReadOpts, read_accounts_with, read_contacts_with};
use leadscore_core::{
    AccountScore, Brief, Model, Ranking, Scored, Scorer, Scratch, StateTable, UnixSeconds, roll_up,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to score and how.
#[derive(Debug, Clone)]
pub struct ScoreJob {
    /// Contacts file.
    pub contacts: PathBuf,
    /// Accounts file, optional.
    pub accounts: Option<PathBuf>,
    /// Events file, optional (without it only attribute rules can fire).
    pub events: Option<PathBuf>,
    /// Input format when the extension does not tell.
    pub input_format: Option<Format>,
    /// The scoring time.
    pub as_of: UnixSeconds,
    /// Events naming unknown contacts: warn or fail.
    pub unknown_contacts: UnknownContacts,
    /// Parser threads for the events file.
    pub threads: usize,
    /// The contacts' id column, when it is not `id` (e.g. `Record ID`, `Prospect ID`).
    pub id_column: Option<String>,
    /// Events block size (see [`crate::EventsInput::block_size`]).
    pub block_size: Option<usize>,
}

/// What a finished job did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Contacts scored.
    pub contacts: u64,
    /// Accounts read.
    pub accounts: u64,
    /// Contacts whose `account_id` is not in the accounts file.
    pub contacts_without_account: u64,
    /// Events read.
    pub events: EventStats,
    /// Leads per tier.
    pub tiers: BTreeMap<String, u64>,
    /// Leads per status.
    pub statuses: BTreeMap<String, u64>,
    /// Warnings to show the user (missing columns, unknown contacts).
    pub warnings: Vec<String>,
    /// Time spent reading contacts and accounts.
    pub load_time: Duration,
    /// Time spent reading events.
    pub events_time: Duration,
    /// Time spent scoring and writing.
    pub score_time: Duration,
}

/// Everything loaded for a job: contacts, accounts and the event state.
pub struct Loaded {
    /// The contacts.
    pub contacts: Contacts,
    /// The accounts.
    pub accounts: Accounts,
    /// Event state per contact.
    pub states: StateTable,
    /// The summary so far.
    pub summary: Summary,
}

/// Reads the job's files into memory-bounded state.
pub fn load(job: &ScoreJob, model: &Model, progress: &dyn Progress) -> Result<Loaded, BatchError> {
    let t0 = Instant::now();
    let mut summary = Summary::default();
    let opts = |phase| ReadOpts {
        threads: job.threads,
        block_size: job.block_size,
        progress,
        phase,
    };
    let mut contacts = read_contacts_with(
        &job.contacts,
        job.input_format,
        job.id_column.as_deref(),
        model,
        &mut summary.warnings,
        &opts("contacts"),
    )?;
    let accounts = match &job.accounts {
        Some(p) => read_accounts_with(
            p,
            job.input_format,
            model,
            &mut summary.warnings,
            &opts("accounts"),
        )?,
        None => Accounts::default(),
    };
    if job.accounts.is_some() {
        summary.contacts_without_account = contacts.link(&accounts);
        if summary.contacts_without_account > 0 {
            summary.warnings.push(format!(
                "{} {} an account_id that is not in the accounts file",
                summary.contacts_without_account,
                if summary.contacts_without_account == 1 {
                    "contact names"
                } else {
                    "contacts name"
                }
            ));
        }
    }
    summary.contacts = contacts.rows.len() as u64;
    summary.accounts = accounts.rows.len() as u64;
    summary.load_time = t0.elapsed();

    let t1 = Instant::now();
    let scorer = Scorer::new(model, job.as_of);
    let states = match &job.events {
        Some(p) => {
            let input = EventsInput {
                path: p,
                format: job.input_format,
                unknown_contacts: job.unknown_contacts,
                threads: job.threads,
                block_size: job.block_size,
            };
            let (states, stats) =
                read_events(input, &scorer, &contacts, &mut summary.warnings, progress)?;
            if stats.unknown_contacts > 0 {
                let lines: Vec<String> = stats
                    .unknown_examples
                    .iter()
                    .map(|(l, id)| format!("line {l} ({id})"))
                    .collect();
                summary.warnings.push(format!(
                    "{}: {} events name a contact that is not in the contacts file, e.g. {}; they were skipped (use --unknown-contacts fail to stop instead)",
                    p.display(),
                    stats.unknown_contacts,
                    lines.join(", ")
                ));
            }
            summary.events = stats;
            states
        }
        None => StateTable::new(model, contacts.rows.len()),
    };
    summary.events_time = t1.elapsed();
    Ok(Loaded {
        contacts,
        accounts,
        states,
        summary,
    })
}

impl Loaded {
    fn score(&self, scorer: &Scorer<'_>, i: usize) -> Scored {
        let account = self.contacts.account_of[i].map(|a| &self.accounts.rows[a as usize]);
        scorer.finish_at(&self.contacts.rows[i], account, &self.states, i)
    }

    /// Scores every contact in two passes: a cheap one ([`Brief`]) to rank segments and roll up
    /// accounts, then the full one, written in input order. Both passes run on `threads`
    /// threads; output is assembled in chunks so memory stays bounded.
    #[allow(clippy::too_many_arguments)]
    pub fn write_scores<W: Write>(
        mut self,
        model: &Model,
        as_of: UnixSeconds,
        threads: usize,
        out: W,
        format: Format,
        accounts_out: Option<&mut dyn Write>,
        progress: &dyn Progress,
    ) -> Result<(W, Summary), std::io::Error> {
        let t = Instant::now();
        let scorer = Scorer::new(model, as_of);
        let n = self.contacts.rows.len();
        let threads = threads.max(1);
        progress.start("scoring", 2 * n as u64);

        // Pass 1: briefs, in parallel over contiguous ranges.
        let per = n.div_ceil(threads).max(1);
        let briefs: Vec<Brief> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .step_by(per)
                .map(|lo| {
                    let this = &self;
                    let scorer = &scorer;
                    s.spawn(move || {
                        let hi = (lo + per).min(n);
                        let out: Vec<Brief> = (lo..hi)
                            .map(|i| {
                                let account = this.contacts.account_of[i]
                                    .map(|a| &this.accounts.rows[a as usize]);
                                scorer.brief_at(&this.contacts.rows[i], account, &this.states, i)
                            })
                            .collect();
                        progress.advance((hi - lo) as u64);
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("scoring thread"))
                .collect()
        });
        let mut ranking = Ranking::new(model);
        let mut per_account: Vec<Vec<f64>> = vec![Vec::new(); self.accounts.rows.len()];
        for (i, b) in briefs.iter().enumerate() {
            ranking.add_brief(b);
            if let Some(a) = self.contacts.account_of[i] {
                per_account[a as usize].push(b.score);
            }
        }
        ranking.finish();
        let account_scores: Vec<Option<AccountScore>> =
            per_account.iter().map(|v| roll_up(model, v)).collect();
        drop(per_account);

        // Pass 2: full scores, formatted by workers in chunks, written here in order.
        let mut w = LeadWriter::new(out, format, model)?;
        const CHUNK: usize = 4096;
        let chunks = n.div_ceil(CHUNK);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>, Counts)>(threads * 2);
        let mut result: std::io::Result<()> = Ok(());
        let mut totals = Summary::default();
        std::thread::scope(|s| {
            for _ in 0..threads {
                let tx = tx.clone();
                let (this, scorer, ranking, account_scores, next, briefs) =
                    (&self, &scorer, &ranking, &account_scores, &next, &briefs);
                let proto = w.worker();
                let format = w.format();
                s.spawn(move || {
                    let mut fmt = proto;
                    let mut scratch = Scratch::default();
                    loop {
                        let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if c >= chunks {
                            break;
                        }
                        let mut counts = Counts::default();
                        let rows = c * CHUNK..((c + 1) * CHUNK).min(n);
                        for (i, brief) in rows.clone().zip(&briefs[rows]) {
                            let contact = &this.contacts.rows[i];
                            let account_row = this.contacts.account_of[i]
                                .map(|a| &this.accounts.rows[a as usize]);
                            let rolled = this.contacts.account_of[i]
                                .and_then(|a| account_scores[a as usize].as_ref());
                            let written = match format {
                                // CSV rows need only the headline: no explanation is built.
                                Format::Csv => {
                                    // Pass 1 already tested every condition of this state.
                                    let mut h = scorer.headline_from(
                                        contact,
                                        account_row,
                                        &this.states,
                                        i,
                                        brief,
                                        &mut scratch,
                                    );
                                    ranking.apply_headline(model, &mut h);
                                    counts.add(h.tier, h.status.as_str());
                                    fmt.write_csv(contact, &h, rolled)
                                }
                                Format::Ndjson => {
                                    let mut s = this.score(scorer, i);
                                    ranking.apply(model, &mut s);
                                    counts.add(&s.tier, s.status.as_str());
                                    fmt.write_json(&s, rolled)
                                }
                            };
                            if written.is_err() {
                                return;
                            }
                        }
                        let bytes = fmt.take_buffer();
                        if tx.send((c, bytes, counts)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            // Reorder: chunks arrive in any order and leave in input order.
            let mut pending = std::collections::BTreeMap::new();
            let mut want = 0;
            for (c, bytes, counts) in rx {
                pending.insert(c, (bytes, counts));
                while let Some((bytes, counts)) = pending.remove(&want) {
                    let rows = ((want + 1) * CHUNK).min(n) - want * CHUNK;
                    if result.is_ok() {
                        result = w.write_raw(&bytes);
                    }
                    counts.merge_into(&mut totals);
                    progress.advance(rows as u64);
                    want += 1;
                }
            }
        });
        result?;
        self.summary.tiers = totals.tiers;
        self.summary.statuses = totals.statuses;
        let out = w.finish()?;
        if let Some(aw) = accounts_out {
            let rows = self
                .accounts
                .rows
                .iter()
                .zip(account_scores)
                .filter_map(|(a, s)| Some((a.id.clone(), s?)));
            write_accounts(aw, rows)?;
        }
        progress.finish();
        self.summary.score_time = t.elapsed();
        Ok((out, self.summary))
    }

    /// Scores one contact by id, with its percentile among everyone loaded.
    pub fn score_one(&self, model: &Model, as_of: UnixSeconds, id: &str) -> Option<Scored> {
        let scorer = Scorer::new(model, as_of);
        let &i = self.contacts.index.get(id)?;
        let mut ranking = Ranking::new(model);
        for k in 0..self.contacts.rows.len() {
            ranking.add(&self.score(&scorer, k));
        }
        ranking.finish();
        let mut s = self.score(&scorer, i as usize);
        ranking.apply(model, &mut s);
        Some(s)
    }
}

/// Tier and status counts of one chunk of output.
#[derive(Default)]
struct Counts {
    tiers: BTreeMap<String, u64>,
    statuses: BTreeMap<&'static str, u64>,
}

impl Counts {
    fn add(&mut self, tier: &str, status: &'static str) {
        match self.tiers.get_mut(tier) {
            Some(n) => *n += 1,
            None => {
                self.tiers.insert(tier.to_owned(), 1);
            }
        }
        *self.statuses.entry(status).or_default() += 1;
    }

    fn merge_into(self, summary: &mut Summary) {
        for (k, v) in self.tiers {
            *summary.tiers.entry(k).or_default() += v;
        }
        for (k, v) in self.statuses {
            *summary.statuses.entry(k.to_owned()).or_default() += v;
        }
    }
}

/// Loads and scores in one call; returns the summary.
pub fn score_files<W: Write>(
    job: &ScoreJob,
    model: &Model,
    out: W,
    format: Format,
    accounts_out: Option<&mut dyn Write>,
    progress: &dyn Progress,
) -> Result<(W, Summary), BatchError> {
    let loaded = load(job, model, progress)?;
    loaded
        .write_scores(
            model,
            job.as_of,
            job.threads,
            out,
            format,
            accounts_out,
            progress,
        )
        .map_err(|e| BatchError::Io {
            path: PathBuf::from("<output>"),
            source: e,
        })
}

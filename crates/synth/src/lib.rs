//! Deterministic generator of realistic synthetic B2B lead data (contacts,
//! accounts, behavioural events and outcomes) for tests and benchmarks.
//!
//! Outcomes are drawn from a hidden ground-truth propensity, so a model can
//! be trained on the files and validated against a known signal. The same
//! seed and options always produce byte-identical files: all randomness comes
//! from [`rand_chacha::ChaCha8Rng`] seeded with [`GenerateOptions::seed`], no
//! hash map is ever iterated, and every row is written in a fixed order.
//! (`exp`, `ln` and `powf` come from the platform's math library; they agree
//! across mainstream platforms in practice, but only same-platform identity
//! is guaranteed.)
//!
//! # Files
//!
//! [`generate`] writes four CSV files (comma-separated, header row, `\n` line
//! endings, RFC 4180 quoting only where needed; missing values are empty):
//!
//! | file | header |
//! | --- | --- |
//! | [`ACCOUNTS_FILE`] | [`ACCOUNTS_HEADER`] |
//! | [`CONTACTS_FILE`] | [`CONTACTS_HEADER`] |
//! | [`EVENTS_FILE`] | [`EVENTS_HEADER`] |
//! | [`OUTCOMES_FILE`] | [`OUTCOMES_HEADER`] |
//!
//! * Accounts: about `contacts / 5` of them (at least one), ids `acc-000001`;
//!   log-normal employee counts (median 40, 1..=100000), revenue proportional
//!   to employees times an industry-specific revenue per employee with
//!   log-normal noise, rounded to thousands.
//! * Contacts: ids `c-0000001`, ordered by id; each belongs to an account
//!   (bigger accounts have more contacts) and copies its industry and size;
//!   country/city differ from the account's for ~15% of contacts; ~3% have
//!   an empty city and ~2% an empty age. `created_at` lies in the first 90% of
//!   the window and before the contact's first event.
//! * Events: grouped by contact in contact order, chronological within a
//!   contact, timestamps in `[as_of - months, as_of)`. Unused property
//!   columns are empty. In-app events (`task_created`, `project_created`,
//!   `contacts_imported`) and `onboarding` e-mails only follow a
//!   `trial_signup`; `webinar_attended` follows a registration,
//!   `demo_cancelled` an open `demo_requested`; after `email_unsubscribed`
//!   only `sales` e-mails (clicks and replies) still occur.
//! * Outcomes: one row per contact, `converted` is `1` or `0`; for converters
//!   `converted_at` is a few days (exponential, mean 5 days, plus one hour)
//!   after the last strong buying signal (pricing page view, demo request or
//!   demo form, meeting or call booked, trial signup), or after the last
//!   event when there was none, and never after `as_of`; `amount` is
//!   `exp(7 + 0.6 ln(employees) + 0.6 N(0,1))` USD rounded to tens.
//!
//! Timestamps are RFC 3339 UTC with seconds precision, e.g.
//! `2025-06-03T14:22:05Z`.
//!
//! # Ground truth
//!
//! Each contact gets a latent **fit** and **intent** (neither is written):
//!
//! ```text
//! fit    = seniority + authority + role + industry + country + size
//! size   = clamp(0.5 * (log10(employees) - 2), -0.8, 0.8)
//! intent = lead_source + N(0, 1)
//! P(converted) = sigmoid(1.0 * fit + 1.5 * intent + 0.7 * N(0, 1) - 3.6)
//! ```
//!
//! | term | values |
//! | --- | --- |
//! | seniority | executive 0.8, vp 0.7, director 0.5, manager 0.2, individual -0.2, none -2.0 |
//! | authority | decision_maker 0.6, influencer 0.2, none -0.4 |
//! | role | CMO, VP Marketing, Head of Growth, Marketing Manager +0.3; VP Sales, Sales Manager +0.2; CTO, CFO -0.1; Engineer, Designer -0.2; student, unemployed -0.5; others 0 |
//! | industry | Software 0.45, Financial Services 0.3, Consulting 0.25, Telecommunications 0.15, Media 0.1, Retail 0.05, Healthcare 0, Manufacturing -0.05, Logistics -0.1, Energy -0.15, Education -0.35, Government -0.45 |
//! | country (the contact's) | US 0.25, UK 0.2, CA 0.15, DE/NL/AU 0.1, FR 0, ES -0.1, BR -0.2, IN -0.25 |
//! | lead_source | referral 0.5, webinar 0.3, trade_show 0.3, direct 0.2, paid_search 0.1, organic_search 0, linkedin -0.2, email_campaign -0.3 |
//!
//! Fit only acts on conversion; behaviour is driven by intent alone, through
//! `hot = sigmoid(1.5 * intent - 1.5)`:
//!
//! * Event count ~ Poisson(`events_per_contact * exp(0.5 * intent) / E[exp(0.5 * intent)] * G`)
//!   with `G ~ Exponential(mean 1)`, capped at 5000, so the mean matches
//!   the option while some contacts are silent and a few have hundreds.
//! * A share `0.02 + 0.30 * hot` of events belongs to a buying burst
//!   (Laplace, scale 4 days, around a centre that sits near `as_of` for high
//!   intent): pricing and product pages, demo requests, meetings, calls,
//!   trials, replies and clicks on sales e-mails.
//! * Other events follow everyday weights interpolated by `hot` between a
//!   cold profile (mostly e-mail opens, blog views, unsubscribes) and a warm
//!   one (clicks, replies, product/pricing pages, webinars); their time is
//!   `created + u^k * (as_of - created)` with `k = clamp(exp(-0.9 * intent), 0.15, 6)`,
//!   so warm contacts are active near `as_of` and cold ones faded out long ago.
//! * Students and the unemployed view /careers eight times as often and
//!   /pricing five times less often.
//!
//! This yields a conversion rate of about 12%. Attributes plus event
//! aggregates separate converters well but not perfectly: knowing `fit + 1.5 * intent` exactly gives a
//! ROC-AUC of about 0.86 (the noise term and the Bernoulli draw are
//! unobservable), attributes alone about 0.71, and a plain logistic
//! regression on attributes and per-type event counts and recencies about
//! 0.82 (see `examples/evaluate.rs`).

mod accounts;
mod contacts;
mod events;
mod fmt;
mod generator;
mod sample;
mod tables;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};

use generator::{Sink, Sinks};

/// File name of the accounts table inside the output directory.
pub const ACCOUNTS_FILE: &str = "accounts.csv";
/// File name of the contacts table inside the output directory.
pub const CONTACTS_FILE: &str = "contacts.csv";
/// File name of the events table inside the output directory.
pub const EVENTS_FILE: &str = "events.csv";
/// File name of the outcomes table inside the output directory.
pub const OUTCOMES_FILE: &str = "outcomes.csv";

/// Header line (without the newline) of [`ACCOUNTS_FILE`].
pub const ACCOUNTS_HEADER: &str = "id,name,industry,employees,revenue,country,city";
/// Header line (without the newline) of [`CONTACTS_FILE`].
pub const CONTACTS_HEADER: &str = "id,account_id,email,first_name,last_name,country,city,age,role,seniority,industry,employees,lead_source,purchase_authority,created_at";
/// Header line (without the newline) of [`EVENTS_FILE`].
pub const EVENTS_HEADER: &str = "contact_id,event,timestamp,url,campaign,form,asset";
/// Header line (without the newline) of [`OUTCOMES_FILE`].
pub const OUTCOMES_HEADER: &str = "contact_id,converted,converted_at,amount";

/// Buffer size of each output file; large buffers keep the number of write
/// system calls low when writing gigabytes.
const WRITE_BUFFER: usize = 1 << 20;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Number of contacts (rows of contacts.csv and outcomes.csv).
    pub contacts: usize,
    /// Seed of every random draw; same seed and options, same bytes.
    pub seed: u64,
    /// End of the history window (exclusive): no event or conversion is at or
    /// after this instant.
    pub as_of: DateTime<Utc>,
    /// Length of the history window in calendar months before `as_of`
    /// (1..=1200).
    pub months: u32,
    /// Mean number of events per contact (0..=10000).
    pub events_per_contact: f64,
}

impl Default for GenerateOptions {
    /// 1000 contacts, seed 42, as_of 2026-11-01T00:00:00Z, 18 months, 20
    /// events per contact on average.
    fn default() -> Self {
        GenerateOptions {
            contacts: 1000,
            seed: 42,
            as_of: Utc
                .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
                .single()
                .expect("valid date"),
            months: 18,
            events_per_contact: 20.0,
        }
    }
}

/// Row counts of a finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Rows written to contacts.csv (and outcomes.csv).
    pub contacts: u64,
    /// Rows written to accounts.csv.
    pub accounts: u64,
    /// Rows written to events.csv.
    pub events: u64,
    /// Contacts with `converted = 1`.
    pub conversions: u64,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Creating or writing an output failed. For [`generate_to`] the path is
    /// the file name the writer stands for (e.g. `events.csv`).
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file (or directory) concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The options cannot be honoured (e.g. `months == 0`).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}

/// Writes the four CSV files into `out_dir`, creating it if needed and
/// replacing existing files.
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> Result<Summary, SynthError> {
    generate_with_progress(opts, out_dir, &mut |_| {})
}

/// Like [`generate`], calling `progress` with the number of contacts done
/// every few thousand contacts and once at the end (for a progress bar).
pub fn generate_with_progress(
    opts: &GenerateOptions,
    out_dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, SynthError> {
    std::fs::create_dir_all(out_dir).map_err(|source| SynthError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let open = |name: &str| -> Result<Sink<BufWriter<File>>, SynthError> {
        let path = out_dir.join(name);
        let file = File::create(&path).map_err(|source| SynthError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Sink::new(
            BufWriter::with_capacity(WRITE_BUFFER, file),
            path,
        ))
    };
    let sinks = Sinks {
        contacts: open(CONTACTS_FILE)?,
        accounts: open(ACCOUNTS_FILE)?,
        events: open(EVENTS_FILE)?,
        outcomes: open(OUTCOMES_FILE)?,
    };
    generator::run(opts, sinks, progress)
}

/// Writes the four tables to the given writers (each gets its header row)
/// and flushes them. Wrap files in a `BufWriter`: rows are written one
/// contact at a time.
pub fn generate_to<C: Write, A: Write, E: Write, O: Write>(
    opts: &GenerateOptions,
    contacts: C,
    accounts: A,
    events: E,
    outcomes: O,
) -> Result<Summary, SynthError> {
    generate_to_with_progress(opts, contacts, accounts, events, outcomes, &mut |_| {})
}

/// Like [`generate_to`], with a progress callback as in
/// [`generate_with_progress`].
pub fn generate_to_with_progress<C: Write, A: Write, E: Write, O: Write>(
    opts: &GenerateOptions,
    contacts: C,
    accounts: A,
    events: E,
    outcomes: O,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, SynthError> {
    let sinks = Sinks {
        contacts: Sink::new(contacts, PathBuf::from(CONTACTS_FILE)),
        accounts: Sink::new(accounts, PathBuf::from(ACCOUNTS_FILE)),
        events: Sink::new(events, PathBuf::from(EVENTS_FILE)),
        outcomes: Sink::new(outcomes, PathBuf::from(OUTCOMES_FILE)),
    };
    generator::run(opts, sinks, progress)
}

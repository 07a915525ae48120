//! The generation loop: builds the accounts, then streams each contact's row,
//! its events and its outcome before moving on, so memory does not grow with
//! the number of events.
//!
//! Three independent ChaCha8 streams are used (accounts, contacts, events), so
//! that changing `events_per_contact` changes the events but leaves accounts,
//! contacts and who converts untouched.

use std::io::Write;
use std::path::PathBuf;

use chrono::Months;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::accounts::{Locations, id_width, make_accounts};
use crate::contacts::ContactGen;
use crate::events::{EventGen, Person, conversion_time};
use crate::fmt::{TsFormatter, digits, push_padded, push_u64};
use crate::tables::ROLES;
use crate::{
    ACCOUNTS_HEADER, CONTACTS_HEADER, EVENTS_HEADER, GenerateOptions, OUTCOMES_HEADER, Summary,
    SynthError,
};

/// Account count is about contacts / this.
const CONTACTS_PER_ACCOUNT: usize = 5;
/// Progress is reported every this many contacts.
const PROGRESS_EVERY: u64 = 4096;

/// An output with the path reported in its I/O errors.
pub(crate) struct Sink<W> {
    w: W,
    path: PathBuf,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(w: W, path: PathBuf) -> Self {
        Sink { w, path }
    }

    fn error(&self, source: std::io::Error) -> SynthError {
        SynthError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), SynthError> {
        self.w.write_all(bytes).map_err(|e| self.error(e))
    }

    fn finish(mut self) -> Result<(), SynthError> {
        self.w.flush().map_err(|e| self.error(e))
    }
}

/// The four outputs of one run.
pub(crate) struct Sinks<C, A, E, O> {
    pub contacts: Sink<C>,
    pub accounts: Sink<A>,
    pub events: Sink<E>,
    pub outcomes: Sink<O>,
}

/// Options checked and turned into the window in Unix seconds.
struct Plan {
    /// First second of the history window.
    start: i64,
    /// Last second anything may happen at (strictly before `as_of`).
    last: i64,
    ts: TsFormatter,
}

fn plan(opts: &GenerateOptions) -> Result<Plan, SynthError> {
    let bad = |m: String| Err(SynthError::InvalidOptions(m));
    if opts.months == 0 || opts.months > 1200 {
        return bad(format!("months must be in 1..=1200, got {}", opts.months));
    }
    let epc = opts.events_per_contact;
    if !epc.is_finite() || !(0.0..=10_000.0).contains(&epc) {
        return bad(format!(
            "events_per_contact must be in 0..=10000, got {epc}"
        ));
    }
    let Some(start) = opts.as_of.checked_sub_months(Months::new(opts.months)) else {
        return bad(format!(
            "as_of {} minus {} months is out of range",
            opts.as_of, opts.months
        ));
    };
    // Whole seconds only: round the start up, and keep everything strictly
    // before as_of even when it has a fractional part.
    let start = start.timestamp() + i64::from(start.timestamp_subsec_nanos() > 0);
    let last = opts.as_of.timestamp() - i64::from(opts.as_of.timestamp_subsec_nanos() == 0);
    let Some(ts) = TsFormatter::new(start, last) else {
        return bad("the history window must lie within years 0000..=9999".to_string());
    };
    Ok(Plan { start, last, ts })
}

/// Runs the whole generation into the four sinks.
pub(crate) fn run<C: Write, A: Write, E: Write, O: Write>(
    opts: &GenerateOptions,
    mut sinks: Sinks<C, A, E, O>,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, SynthError> {
    let plan = plan(opts)?;
    let stream = |s: u64| {
        let mut r = ChaCha8Rng::seed_from_u64(opts.seed);
        r.set_stream(s);
        r
    };
    let (mut rng_accounts, mut rng_contacts, mut rng_events) = (stream(1), stream(2), stream(3));

    sinks
        .contacts
        .put(format!("{CONTACTS_HEADER}\n").as_bytes())?;
    sinks
        .accounts
        .put(format!("{ACCOUNTS_HEADER}\n").as_bytes())?;
    sinks.events.put(format!("{EVENTS_HEADER}\n").as_bytes())?;
    sinks
        .outcomes
        .put(format!("{OUTCOMES_HEADER}\n").as_bytes())?;

    let n_contacts = opts.contacts;
    let n_accounts = ((n_contacts + CONTACTS_PER_ACCOUNT / 2) / CONTACTS_PER_ACCOUNT).max(1);
    let locations = Locations::new();
    let accounts = make_accounts(n_accounts, &locations, &mut rng_accounts, |row| {
        sinks.accounts.put(row)
    })?;
    let account_width = id_width(n_accounts);
    let contact_width = digits(n_contacts as u64).max(7);
    let window = (plan.last - plan.start) as f64;

    let mut contacts = ContactGen::new(&accounts, &locations);
    let mut events = EventGen::new(opts.events_per_contact);
    let mut summary = Summary {
        accounts: n_accounts as u64,
        ..Summary::default()
    };
    let mut id = Vec::with_capacity(16);
    let mut row = Vec::with_capacity(256);
    for i in 0..n_contacts {
        let contact = contacts.draw(&mut rng_contacts, plan.start, window);
        id.clear();
        id.extend_from_slice(b"c-");
        push_padded(&mut id, i as u64 + 1, contact_width);

        row.clear();
        contacts.push_row(&mut row, &id, &contact, account_width, &plan.ts);
        sinks.contacts.put(&row)?;

        let person = Person {
            intent: contact.intent,
            created: contact.created,
            job_seeker: ROLES[contact.role].job_seeker,
        };
        let activity = events.generate(&mut rng_events, &id, &person, plan.last, &plan.ts);
        sinks.events.put(events.rows())?;
        summary.events += activity.events;

        row.clear();
        row.extend_from_slice(&id);
        if contact.converted {
            let at = conversion_time(&mut rng_events, &activity, contact.created, plan.last);
            row.extend_from_slice(b",1,");
            plan.ts.push(&mut row, at);
            row.push(b',');
            push_u64(&mut row, contact.amount);
            summary.conversions += 1;
        } else {
            row.extend_from_slice(b",0,,");
        }
        row.push(b'\n');
        sinks.outcomes.put(&row)?;

        summary.contacts += 1;
        if summary.contacts.is_multiple_of(PROGRESS_EVERY) {
            progress(summary.contacts);
        }
    }
    progress(summary.contacts);

    sinks.contacts.finish()?;
    sinks.accounts.finish()?;
    sinks.events.finish()?;
    sinks.outcomes.finish()?;
    Ok(summary)
}

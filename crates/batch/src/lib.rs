//! File formats and the streaming batch scorer: CSV/NDJSON contacts, accounts and events in,
//! scored leads out. All scoring is done by `leadscore-core`; this crate only reads and writes.
//!
//! Module map:
//! - `format`: CSV or NDJSON, by flag or extension.
//! - `tables`: contacts and accounts, read whole (they are small next to events).
//! - `events`: the events file streamed on several threads into per-contact state.
//! - `output`: one CSV row or NDJSON object per scored lead; account roll-ups.
//! - `run`: the job that ties them together.

mod blocks;
mod error;
mod events;
mod format;
mod output;
mod run;
mod tables;

pub use error::BatchError;
pub use events::{EventStats, EventsInput, UnknownContacts, read_events};
pub use format::Format;
pub use output::{LeadWriter, RowFormatter, header, write_accounts};
pub use run::{Loaded, ScoreJob, Summary, load, score_files};
pub use tables::{
    Accounts, Contacts, ReadOpts, read_accounts, read_accounts_with, read_contacts,
    read_contacts_with,
};

/// Progress of long work, for a progress bar. Implementations must be cheap to call.
pub trait Progress: Sync {
    /// A phase begins with `total` units (bytes or rows; 0 if unknown).
    fn start(&self, phase: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The phase is over.
    fn finish(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

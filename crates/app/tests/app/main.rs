//! The app crate's one integration test binary: a real [`Service`] on a temp-dir SQLite store,
//! with a clock the tests can move. Where new tests go:
//! - `closed_loop`: a model version evaluated on the store's contacts, each scored as of just
//!   before its first outcome (exact figures per tier).
//! - `common`: starting the service, the test clock, a real HTTP receiver, `wait_until`,
//!   messages that set a lead's score exactly.
//! - `service`: decay through the periodic re-score, `as_of` across model versions, anonymous
//!   merges, account traits, top-N% routing, workspace isolation.
//! - `outcomes`: outcomes (API, Segment `Deal Won` tracks, duplicates) and the training table
//!   (exact window counts, recency, labels, no events after a positive's cut-off).
//! - `predict`: retraining a predictive model from the store (thin data skipped with a note,
//!   the stored model and every prediction exactly those of training on the exported table).
//! - `shadow`: champion/challenger (shadow scores on live events, the comparison on won/lost
//!   outcomes computed by hand) and drift per tier against a version's baseline.
//! - `webhooks`: triggers (tier change, sales-ready hysteresis, disqualification, velocity),
//!   signatures, retries with backoff, restarts.
//!
//! [`Service`]: leadscore_app::Service

mod closed_loop;
mod common;
mod outcomes;
mod predict;
mod service;
mod shadow;
mod webhooks;

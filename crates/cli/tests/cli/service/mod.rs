//! Integration tests of the service (`leadscore serve`): the real binary on 127.0.0.1 with a
//! temp data dir, spoken to over HTTP, on SQLite and on PostgreSQL (`both!`). Where new tests
//! go:
//! - `harness`: [`Server`](harness::Server), the test model, `both!`, HTTP helpers.
//! - `ingest`: Segment ingestion (batch, single calls, gzip, RudderStack shapes, duplicates,
//!   anonymous ids).
//! - `leads`: the leads list: filters, sorts, cursor pagination.
//! - `refusals`: 400/401/413 with their JSON bodies; a refused batch stores nothing.

mod harness;
mod ingest;
mod leads;
mod refusals;

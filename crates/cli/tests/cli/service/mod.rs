//! Integration tests of the service (`leadscore serve`): the real binary on 127.0.0.1 with a
//! temp data dir, spoken to over HTTP, on SQLite and on PostgreSQL (`both!`). Where new tests
//! go:
//! - `clients`: the official Segment and RudderStack Python clients, unchanged (SQLite).
//! - `concurrent`: several clients at once (batches grouped into one transaction).
//! - `crash`: kill -9 while a client sends batches; nothing acknowledged is lost or doubled.
//! - `endpoints`: `/openapi.json`, `/healthz`, `/metrics`, unknown paths.
//! - `harness`: [`Server`](harness::Server), the test model, `both!`, HTTP helpers.
//! - `import`: `leadscore import` into a stopped server, and `POST /api/v1/import` (contacts,
//!   events and outcomes files).
//! - `ingest`: Segment ingestion (batch, single calls, gzip, RudderStack shapes, duplicates,
//!   anonymous ids).
//! - `leads`: the leads list: filters, sorts, cursor pagination.
//! - `models`: `as_of`, model upload and re-score jobs, history, rollback, bad models.
//! - `outcomes`: `POST /api/v1/outcomes`, Segment `Deal Won` tracks as outcomes, lead detail.
//! - `predict`: `--retrain-every` and `POST /api/v1/model/retrain`: predictions in the lead
//!   detail and list, `sort=probability`, a `skipped` retrain on thin data.
//! - `shadow`: the challenger endpoints (set, compare on outcomes, remove) and drift.
//! - `refusals`: 400/401/413/503 with their JSON bodies; a refused batch stores nothing.

mod clients;
mod concurrent;
mod crash;
mod endpoints;
mod harness;
mod import;
mod ingest;
mod leads;
mod models;
mod outcomes;
mod predict;
mod refusals;
mod shadow;

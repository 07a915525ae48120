//! Generates a data set and reports how long it took; used to measure the
//! generator's speed on large runs.
//!
//! `cargo run --release -p leadscore-synth --example generate -- [CONTACTS] [OUT_DIR] [SEED]`
//! (defaults: 1000000 contacts, `out/synth`, seed 42).

use std::path::PathBuf;
use std::time::Instant;

use leadscore_synth::{GenerateOptions, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let contacts = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let out_dir = PathBuf::from(args.next().unwrap_or_else(|| "out/synth".to_string()));
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let opts = GenerateOptions {
        contacts,
        seed,
        ..GenerateOptions::default()
    };

    let started = Instant::now();
    let summary = generate(&opts, &out_dir)?;
    let secs = started.elapsed().as_secs_f64();

    let bytes: u64 = std::fs::read_dir(&out_dir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("{summary:?}");
    println!(
        "{secs:.2} s, {:.0} contacts/s, {:.0} events/s, {:.0} MB written ({:.0} MB/s), conversion rate {:.3}, events/contact {:.2}",
        summary.contacts as f64 / secs,
        summary.events as f64 / secs,
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        summary.conversions as f64 / summary.contacts.max(1) as f64,
        summary.events as f64 / summary.contacts.max(1) as f64,
    );
    Ok(())
}

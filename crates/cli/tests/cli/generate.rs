//! `leadscore generate`: the same seed gives byte-identical files, another seed other files.

use crate::common::*;

const FILES: [&str; 4] = ["contacts.csv", "accounts.csv", "events.csv", "outcomes.csv"];

fn generate(out: &str, seed: &str) -> Run {
    leadscore(&[
        "generate",
        "--out",
        out,
        "--contacts",
        "200",
        "--seed",
        seed,
        "--events-per-contact",
        "5",
    ])
    .ok()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = Dir::new();
    let (a, b, c) = (dir.path("a"), dir.path("b/nested"), dir.path("c"));
    let run = generate(&a, "7");
    generate(&b, "7");
    generate(&c, "8");
    for f in FILES {
        let x = std::fs::read(format!("{a}/{f}")).unwrap();
        let y = std::fs::read(format!("{b}/{f}")).unwrap();
        let z = std::fs::read(format!("{c}/{f}")).unwrap();
        assert!(x == y, "{f} differs between two runs with seed 7");
        assert!(x != z, "{f} is the same for seeds 7 and 8");
    }
    assert_eq!(run.stdout, "");
    // e.g. "wrote 200 contacts, 40 accounts, 987 events, 31 conversions to DIR in 0.01s"
    let s = run.stderr.trim_end();
    assert!(s.starts_with("wrote 200 contacts, "), "{s}");
    assert!(s.contains(&format!(" to {a} in ")), "{s}");
    assert!(s.ends_with('s') && !s.contains('\n'), "{s}");

    // The counts in the summary are the files' row counts.
    let rows = |f: &str| {
        std::fs::read_to_string(format!("{a}/{f}"))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    let conversions = std::fs::read_to_string(format!("{a}/outcomes.csv"))
        .unwrap()
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("1"))
        .count();
    assert_eq!(rows("contacts.csv"), 200);
    assert_eq!(
        s.split(" to ").next().unwrap(),
        format!(
            "wrote 200 contacts, {} accounts, {} events, {conversions} conversions",
            rows("accounts.csv"),
            rows("events.csv")
        )
    );
    assert_eq!(
        std::fs::read_to_string(format!("{a}/events.csv"))
            .unwrap()
            .lines()
            .next(),
        Some(leadscore_synth::EVENTS_HEADER)
    );
}

#[test]
fn generated_files_score_with_the_starter_model() {
    let dir = Dir::new();
    let d = dir.path("data");
    generate(&d, "3");
    let out = dir.path("scores.csv");
    let run = leadscore(&[
        "score",
        "--model",
        &example("starter.toml"),
        "--contacts",
        &format!("{d}/contacts.csv"),
        "--accounts",
        &format!("{d}/accounts.csv"),
        "--events",
        &format!("{d}/events.csv"),
        "--as-of",
        "2026-11-01",
        "--unknown-contacts",
        "fail",
        "--out",
        &out,
    ])
    .ok();
    assert!(
        run.stderr.contains("scored 200 contacts from "),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 201);
}

#[test]
fn generate_rejects_a_bad_as_of() {
    let dir = Dir::new();
    let run = leadscore(&["generate", "--out", &dir.path("x"), "--as-of", "next week"]).failed();
    assert_eq!(
        run.stderr,
        "error: --as-of: \"next week\" is not a date or RFC 3339 timestamp\n"
    );
}

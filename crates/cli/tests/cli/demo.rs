//! `leadscore demo`: generates a sample, scores it and prints the top leads.

use crate::common::*;

#[test]
fn demo_prints_the_top_ten_and_its_explain_command_works() {
    let dir = Dir::new();
    let d = dir.path("demo");
    let run = leadscore(&["demo", "--dir", &d, "--contacts", "300"]).ok();
    let out = &run.stdout;
    assert!(
        out.starts_with("\nTop 10 leads (starter v1.0.0, as of 2026-11-01T00:00:00Z):\n\n"),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.starts_with("id ") && l.contains("score") && l.ends_with("top reasons"))
        .expect("a column header");
    let rows: Vec<&str> = lines[head + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    assert_eq!(rows.len(), 10, "{out}");

    // The rows are the ten best of scores.csv, best first.
    let mut rdr = csv::Reader::from_path(format!("{d}/scores.csv")).unwrap();
    let mut all: Vec<(String, f64)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[2].parse().unwrap())
        })
        .collect();
    assert_eq!(all.len(), 300);
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (row, (id, score)) in rows.iter().zip(&all) {
        let fields: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(fields[0], id, "{row}");
        assert_eq!(fields[1], leadscore_core::num(*score), "{row}");
    }
    for f in [
        "contacts.csv",
        "accounts.csv",
        "events.csv",
        "outcomes.csv",
        "scores.csv",
    ] {
        assert!(std::path::Path::new(&format!("{d}/{f}")).exists(), "{f}");
    }
    assert!(
        out.contains(&format!("\nAll scores: {d}/scores.csv\n")),
        "{out}"
    );
    assert!(
        run.stderr.contains("wrote 300 contacts, "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\nscored 300 contacts from "),
        "{}",
        run.stderr
    );

    // The printed explain command runs (from the repository root) and agrees on the top lead.
    let cmd = out
        .lines()
        .find_map(|l| l.strip_prefix("Explain one: leadscore "))
        .expect("an explain command");
    let args: Vec<&str> = cmd.split_whitespace().collect();
    let explained = leadscore(&args).ok().stdout;
    let (id, score) = &all[0];
    assert!(
        explained.starts_with(&format!(
            "{id}: score {} — tier ",
            leadscore_core::num(*score)
        )),
        "{explained}"
    );
}

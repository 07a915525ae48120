//! `leadscore check`: every shipped example is valid; broken models list `file:line:col:`.

use crate::common::*;

#[test]
fn every_example_is_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        seen += 1;
        let p = path.display().to_string();
        let run = leadscore(&["check", &p]).ok();
        assert!(
            run.stdout.ends_with(&format!("\n\nOK: {p} is valid.\n")),
            "{p}:\n{}",
            run.stdout
        );
        assert!(run.stdout.starts_with("model "), "{}", run.stdout);
        assert!(run.stdout.contains("\ncategories:\n"), "{}", run.stdout);
        assert_eq!(run.stderr, "");
    }
    assert!(seen >= 5, "found only {seen} example models");
}

#[test]
fn check_describes_the_model_in_plain_language() {
    let p = example("encharge.toml");
    let out = leadscore(&["check", &p]).ok().stdout;
    let hash = example_hash("encharge.toml");
    assert!(
        out.starts_with(&format!("model encharge v1.0.0 (sha256 {hash})\n")),
        "{out}"
    );
    for line in [
        "scale: raw points (the score is the sum of category points)\n",
        "     +5  role-ceo-cmo: role is one of CEO, CMO (explicit, explicit)\n",
        "    -10  unsubscribed: any email_unsubscribed (negative, negative)\n",
        "  tiers: mql > 20, lead below\n",
        "  sales-ready tiers: mql\n",
        "  student-or-unemployed: Role is student or unemployed\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn broken_model_lists_every_problem_with_its_position() {
    let dir = Dir::new();
    let p = dir.write(
        "broken.toml",
        r#"[model]
name = "broken"
version = "1"
[[category]]
id = "fit"
[[rule]]
id = "r1"
category = "nope"
points = 5
when = { field = "employees", gte = "many" }
[[tier]]
name = "all"
"#,
    );
    let run = leadscore(&["check", &p]).failed();
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: 2 problems in the model:\n\
             {p}:8:12: rule `r1`: unknown category `nope` (categories: fit)\n\
             {p}:10:37: field `employees` is a date (YYYY-MM-DD) or an RFC 3339 timestamp (first used that way at line 10); \"many\" is not\n"
        )
    );
}

#[test]
fn toml_syntax_errors_and_typos_point_at_their_line() {
    let dir = Dir::new();
    let p = dir.write(
        "syntax.toml",
        "[model]\nname = \"x\"\nversion = \"1\"\n[[rule]\n",
    );
    let run = leadscore(&["check", &p]).failed();
    assert_eq!(
        run.stderr,
        format!("error: 1 problem in the model:\n{p}:4:8: unclosed array table, expected `]`\n")
    );
    let p = dir.write(
        "typo.toml",
        "[model]\nname = \"x\"\nversion = \"1\"\n[[category]]\nid = \"c\"\n[[rule]]\nid = \"r\"\ncategory = \"c\"\npoint = 5\nwhen = { event = \"x\" }\n",
    );
    let run = leadscore(&["check", &p]).failed();
    assert_eq!(
        run.stderr,
        format!(
            "error: 1 problem in the model:\n{p}:9:1: unknown field `point`, expected one of `id`, `category`, `points`, `label`, `when`, `per_occurrence`, `max_points`, `decay`, `interesting`\n"
        )
    );
}

#[test]
fn check_a_missing_file() {
    let dir = Dir::new();
    let p = dir.path("missing.toml");
    let run = leadscore(&["check", &p]).failed();
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot read model {p}: ")),
        "{}",
        run.stderr
    );
}

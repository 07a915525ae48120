//! `suggest` (text and `--json`) and `backtest` on a hand-made history with one predictive
//! rule and one noise rule, on the real X Education leads, and on bad input.

use crate::common::{Dir, example, leadscore, root};
use serde_json::json;

/// 200 leads in 50 blocks of four: (channel, newsletter) = (demo, yes), (web, yes),
/// (demo, no), (web, no). Demo leads convert when `block % 10 < 7` (70 of 100), web leads
/// when `block % 10 < 2` (20 of 100); both leads of a channel in a block share the outcome,
/// so the newsletter says nothing: 45% convert with it and without it (the base rate, 90/200).
fn history() -> String {
    let mut s = String::from("lead,channel,newsletter,converted\n");
    for i in 0..200 {
        let (block, pos) = (i / 4, i % 4);
        let demo = pos % 2 == 0;
        let news = pos < 2;
        let won = if demo { block % 10 < 7 } else { block % 10 < 2 };
        s.push_str(&format!(
            "L{i:03},{},{},{}\n",
            if demo { "demo" } else { "web" },
            if news { "yes" } else { "no" },
            u8::from(won)
        ));
    }
    s
}

/// Scores now: demo 5 + newsletter 20, hot from 20: the newsletter leads (100) are hot.
const TWO_RULES: &str = r#"# Two rules: one that predicts, one that does not.
[model]
name = "two-rules"
version = "1"
scale = "raw"

[[category]]
id = "fit"

[[rule]]
id = "demo"
category = "fit"
points = 5          # came in through a demo request
when = { field = "channel", equals = "demo" }

[[rule]]
id = "newsletter"
category = "fit"
points = 20
when = { field = "newsletter", equals = "yes" }

[[tier]]
name = "hot"
min = 20            # sales-ready

[[tier]]
name = "cold"

[routing]
sales_ready_tiers = ["hot"]
"#;

/// Demo 20 points, newsletter 0 against demo 5, newsletter 20 on the history: AUC 7450 against
/// 6200 of 9900 pairs, and DeLong's paired interval and p-value (checked against a
/// brute-force computation of every lead's placement, pair by pair, in numpy).
const DIFFERENCE: &str = "ROC-AUC proposed − current: +0.1263 (95% CI +0.0501 to +0.2024, DeLong paired, p = 0.001): the proposed ranks better, beyond chance at 5%";

fn suggest_args(dir: &Dir, model: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "suggest",
        "--data",
        &dir.write("history.csv", history()),
        "--target",
        "converted",
        "--id",
        "lead",
        "--model",
        model,
        "--out",
        &dir.path("proposed.toml"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn suggest_gives_the_predictive_rule_the_points_and_flags_the_noise_rule() {
    let dir = Dir::new();
    let model = dir.write("two-rules.toml", TWO_RULES);
    let run = leadscore(&suggest_args(&dir, &model, &[])).ok();
    let out = &run.stdout;
    // The strongest rule maps to the model's largest points (20); the newsletter's
    // coefficient is 0, so it gets 0 and both flags.
    let line = |id: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let demo = line("demo");
    assert!(demo.starts_with("demo 5 20 "), "{demo}");
    assert!(demo.contains(" 100 70.0% 20.0%"), "{demo}");
    assert!(!demo.contains("not significant"), "{demo}");
    let news = line("newsletter");
    assert!(news.starts_with("newsletter 20 0 "), "{news}");
    assert!(
        news.ends_with(
            "100 45.0% 45.0% not significant (|z| = 0.0); converts no better than the base rate"
        ),
        "{news}"
    );
    // One hunk per changed line, with the rule it belongs to.
    let path = dir.path("proposed.toml");
    assert!(
        out.contains(&format!(
            "--- {model}\n+++ {path}\n\
             @@ -13 +13 @@ rule demo\n\
             -points = 5          # came in through a demo request\n\
             +points = 20          # came in through a demo request\n\
             @@ -19 +19 @@ rule newsletter\n\
             -points = 20\n\
             +points = 0\n"
        )),
        "{out}"
    );
    // Only those two lines changed: comments and layout stay. Hot keeps the 50% sales-ready
    // now (the demo leads score 20 now), so its `min` does not change.
    let proposed = dir.read("proposed.toml");
    assert_eq!(
        proposed,
        TWO_RULES
            .replace(
                "points = 5          # came in",
                "points = 20          # came in"
            )
            .replace(
                "points = 20\nwhen = { field = \"newsletter\"",
                "points = 0\nwhen = { field = \"newsletter\""
            )
    );
    leadscore_core::Model::from_toml(&proposed, "proposed.toml").unwrap();
    assert!(out.contains("hot: min 20 -> 20 (sales-ready floor: keeps 50.0% sales-ready: 100 of 200 leads (50.0%) at or above 20, 70.0% convert)"), "{out}");
    // Old and new side by side: precision 45% → 70%, recall 45/90 → 70/90.
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Third, the proposal cross-validated (5 folds): fitted on four fifths of the leads, each
    // fold's demo rule gets 20 points again and the newsletter -2 to 2 (noise fitted), the
    // floor lands between 18 and 20, so the demo leads (18 to 22) and only they are
    // sales-ready on every held-out fold: the same precision and recall.
    assert_eq!(
        row("qualified"),
        "qualified 100 (50.0%) 100 (50.0%) 100 (50.0%)"
    );
    assert_eq!(row("precision"), "precision 45.0% 70.0% 70.0%");
    assert_eq!(row("recall"), "recall 50.0% 77.8% 77.8%");
    // AUC by pairs: now 6200 of 90 × 110 pairs in order (ties half), then 7450; held out, the
    // newsletter's fitted points order demo leads against demo leads by noise: lower.
    assert_eq!(row("ROC-AUC"), "ROC-AUC 0.6263 0.7525 0.7226");
    // The AUC gained, with its interval (DeLong, paired): in-sample and held out.
    assert!(out.contains(DIFFERENCE), "{out}");
    assert!(
        out.contains("ROC-AUC proposed (CV) − current: +0.0964 (95% CI +0.0160 to +0.1767, DeLong paired, p = 0.019): the proposed (CV) ranks better, beyond chance at 5%"),
        "{out}"
    );
    assert!(
        out.contains("proposed (CV): the leads cut into 5 folds (stratified), each fold's scored by the points and thresholds proposed from the other folds' leads"),
        "{out}"
    );
}

#[test]
fn suggest_does_not_cross_validate_with_fewer_converted_leads_than_folds() {
    let dir = Dir::new();
    let model = dir.write("two-rules.toml", TWO_RULES);
    // Four converted leads (demo ones): five folds would leave one without any.
    let mut few = String::from("lead,channel,newsletter,converted\n");
    for i in 0..40 {
        let demo = i % 2 == 0;
        let won = demo && i < 8;
        few.push_str(&format!(
            "F{i:02},{},{},{}\n",
            if demo { "demo" } else { "web" },
            if i % 4 < 2 { "yes" } else { "no" },
            u8::from(won)
        ));
    }
    let data = dir.write("few.csv", few);
    let mut args = suggest_args(&dir, &model, &["--json"]);
    args[2] = data;
    let run = leadscore(&args).ok();
    let j: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["converted"], 4);
    assert_eq!(j["comparison"]["proposed_cross_validated"], json!(null));
    assert_eq!(j["comparison"]["proposed"]["converted"], 4, "{j}");
}

#[test]
fn suggest_json_gives_every_rule_threshold_and_hunk_of_the_proposal() {
    let dir = Dir::new();
    let model = dir.write("two-rules.toml", TWO_RULES);
    let run = leadscore(&suggest_args(&dir, &model, &["--json"])).ok();
    let j: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout));
    assert_eq!(
        (
            &j["data"],
            &j["rows"],
            &j["converted"],
            &j["base_rate"],
            &j["lambda"]
        ),
        (
            &json!(dir.path("history.csv")),
            &json!(200),
            &json!(90),
            &json!(0.45),
            &json!(1.0)
        ),
        "{j}"
    );
    let rules = j["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{j}");
    let (demo, news) = (&rules[0], &rules[1]);
    // The same numbers as the text table: demo 5 → 20, fired by 100, 70% against 20%.
    assert_eq!(
        (
            &demo["rule"],
            &demo["segment"],
            &demo["line"],
            &demo["points"],
            &demo["proposed"]
        ),
        (
            &json!("demo"),
            &json!(null),
            &json!(13),
            &json!(5),
            &json!(20)
        )
    );
    assert_eq!(
        (
            &demo["fired"],
            &demo["rate_fired"],
            &demo["rate_not_fired"],
            &demo["flags"]
        ),
        (&json!(100), &json!(0.7), &json!(0.2), &json!([]))
    );
    // The strongest rule maps to 20 points: its log-odds are 20 × the log-odds per point.
    let (lo, per) = (
        demo["log_odds"].as_f64().unwrap(),
        j["log_odds_per_point"].as_f64().unwrap(),
    );
    assert!((lo - 20.0 * per).abs() < 1e-12, "{lo} vs 20 × {per}");
    assert_eq!(format!("{lo:.3}"), "2.018");
    assert!(demo["z"].as_f64().unwrap() > 2.0, "{demo}");
    // The newsletter says nothing: log-odds 0 (to rounding), 20 → 0, both flags.
    assert_eq!(
        (
            &news["rule"],
            &news["points"],
            &news["proposed"],
            &news["fired"]
        ),
        (&json!("newsletter"), &json!(20), &json!(0), &json!(100))
    );
    assert!(news["log_odds"].as_f64().unwrap().abs() < 1e-12, "{news}");
    assert_eq!(
        (&news["rate_fired"], &news["rate_not_fired"]),
        (&json!(0.45), &json!(0.45))
    );
    let flags = &news["flags"];
    assert_eq!(
        (&flags[0]["flag"], &flags[1], flags.as_array().map(Vec::len)),
        (
            &json!("not_significant"),
            &json!({ "flag": "no_better_than_base" }),
            Some(2)
        ),
        "{news}"
    );
    assert!(
        news["flags"][0]["z"].as_f64().unwrap().abs() < 1e-12,
        "{news}"
    );

    assert_eq!(
        j["thresholds"],
        json!([{
            "segment": null, "tier": "hot", "key": "min", "current": 20.0, "proposed": 20.0,
            "note": "sales-ready floor: keeps 50.0% sales-ready: 100 of 200 leads (50.0%) at or above 20, 70.0% convert",
        }])
    );
    // Precision 45% → 70%, recall 45/90 → 70/90, AUC 6200 → 7450 of 9900 pairs.
    let c = &j["comparison"];
    assert_eq!(
        (
            &c["current"]["qualified"],
            &c["current"]["precision"],
            &c["current"]["recall"]
        ),
        (&json!(100), &json!(0.45), &json!(0.5))
    );
    assert_eq!(
        (
            &c["proposed"]["qualified"],
            &c["proposed"]["precision"],
            &c["proposed"]["converted"]
        ),
        (&json!(100), &json!(0.7), &json!(70))
    );
    for (side, pairs) in [("current", 6200.0), ("proposed", 7450.0)] {
        let auc = c[side]["roc_auc"].as_f64().unwrap();
        assert!((auc - pairs / 9900.0).abs() < 1e-12, "{side}: {auc}");
    }
    let recall = c["proposed"]["recall"].as_f64().unwrap();
    assert!((recall - 70.0 / 90.0).abs() < 1e-12, "{recall}");
    // Cross-validated, the same leads are sales-ready (see the text test).
    let cv = &c["proposed_cross_validated"];
    assert_eq!(
        (&cv["qualified"], &cv["converted"], &cv["precision"]),
        (&json!(100), &json!(70), &json!(0.7))
    );
    assert!(
        cv["model"]
            .as_str()
            .unwrap()
            .ends_with(", 5-fold cross-validated"),
        "{cv}"
    );

    let path = dir.path("proposed.toml");
    let demo_old = "points = 5          # came in through a demo request";
    let demo_new = "points = 20          # came in through a demo request";
    assert_eq!(
        j["diff"]["hunks"],
        json!([
            { "line": 13, "what": "rule demo", "old": demo_old, "new": demo_new,
              "hunk": format!("@@ -13 +13 @@ rule demo\n-{demo_old}\n+{demo_new}\n") },
            { "line": 19, "what": "rule newsletter", "old": "points = 20", "new": "points = 0",
              "hunk": "@@ -19 +19 @@ rule newsletter\n-points = 20\n+points = 0\n" },
        ])
    );
    assert_eq!(
        (&j["diff"]["old"], &j["diff"]["new"]),
        (&json!(model), &json!(path))
    );
    let text = j["diff"]["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("--- {model}\n+++ {path}\n@@ -13 +13 @@")),
        "{text}"
    );
    assert_eq!((&j["warnings"], &j["wrote"]), (&json!([]), &json!(path)));
    // The file is written as without --json.
    assert!(dir.read("proposed.toml").contains(demo_new));
}

#[test]
fn suggest_sets_the_sales_ready_floor_by_share_or_precision() {
    // Demo 10, newsletter 1, hot from 5 (the demo leads now): with the points proposed (demo
    // 10, newsletter 0) the scores are 10 (demo) and 0. A share of 0.5 is met exactly at 10.
    let model = TWO_RULES
        .replace("points = 5 ", "points = 10")
        .replace(
            "points = 20\nwhen = { field = \"newsletter\"",
            "points = 1\nwhen = { field = \"newsletter\"",
        )
        .replace("min = 20   ", "min = 5    ");
    let dir = Dir::new();
    let path = dir.write("m.toml", &model);
    let run = leadscore(&suggest_args(&dir, &path, &["--sales-share", "0.5"])).ok();
    assert!(
        run.stdout.contains("hot: min 5 -> 10 (sales-ready floor: top 50.0% asked: 100 of 200 leads (50.0%) at or above 10, 70.0% convert)"),
        "{}",
        run.stdout
    );
    assert!(dir.read("proposed.toml").contains("min = 10   "));
    // Precision 0.9 cannot be reached (70% at best): a warning, and the share of now (50%).
    let run = leadscore(&suggest_args(&dir, &path, &["--precision", "0.9"])).ok();
    assert!(
        run.stderr
            .contains("warning: no threshold reaches precision 90.0%"),
        "{}",
        run.stderr
    );
    let run = leadscore(&suggest_args(&dir, &path, &["--precision", "0.6"])).ok();
    assert!(
        run.stdout
            .contains("lowest with precision ≥ 60.0%: 100 of 200"),
        "{}",
        run.stdout
    );
    // Out of range.
    let run = leadscore(&suggest_args(&dir, &path, &["--sales-share", "1.5"])).failed();
    assert!(
        run.stderr.contains("--sales-share must be between 0 and 1"),
        "{}",
        run.stderr
    );
}

fn backtest_args(dir: &Dir, current: &str, candidate: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "backtest",
        "--current",
        current,
        "--candidate",
        candidate,
        "--data",
        &dir.write("history.csv", history()),
        "--target",
        "converted",
        "--id",
        "lead",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The two-rule model with the points `suggest` proposes: demo 20, newsletter 0, hot ≥ `min`.
fn proposed(min: u32) -> String {
    TWO_RULES
        .replace("points = 5 ", "points = 20")
        .replace(
            "points = 20\nwhen = { field = \"newsletter\"",
            "points = 0\nwhen = { field = \"newsletter\"",
        )
        .replace("min = 20 ", &format!("min = {min} "))
}

#[test]
fn backtest_counts_tier_transitions() {
    // Current: hot = newsletter leads; candidate: hot = demo leads. Each of the four kinds of
    // lead is 50 of the 200: (demo, yes) hot → hot, (web, yes) hot → cold,
    // (demo, no) cold → hot, (web, no) cold → cold. 100 change tier.
    // Precision: newsletter leads 45/100, demo leads 70/100; recall 45/90 and 70/90.
    let dir = Dir::new();
    let (a, b) = (
        dir.write("a.toml", TWO_RULES),
        dir.write("b.toml", proposed(20)),
    );
    let run = leadscore(&backtest_args(&dir, &a, &b, &[])).ok();
    let out = &run.stdout;
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name}:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("hot "), "hot 50 50 100");
    assert_eq!(row("cold "), "cold 50 50 100");
    assert_eq!(row("total "), "total 100 100 200");
    assert!(out.contains("change tier: 100 of 200 leads (50.0%); newly sales-ready: 50; no longer sales-ready: 50"), "{out}");
    assert_eq!(row("precision"), "precision 45.0% 70.0%");
    assert_eq!(row("recall"), "recall 50.0% 77.8%");
    assert_eq!(row("lift"), "lift 1.00 1.56");
    // AUC 6200 → 7450 of 9900 pairs; the paired DeLong interval and p-value as a brute-force
    // computation of the placements (every pair compared) gives them.
    assert!(
        out.contains(DIFFERENCE.replace("proposed", "candidate").as_str()),
        "{out}"
    );
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    let run = leadscore(&backtest_args(&dir, &a, &b, &["--json"])).ok();
    let j: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["transitions"], serde_json::json!([[50, 50], [50, 50]]));
    assert_eq!(j["current_tiers"], serde_json::json!(["hot", "cold"]));
    assert_eq!(j["changed_tier"], 100);
    assert_eq!(j["candidate"]["qualified"], 100);
    assert_eq!(j["candidate"]["precision"], 0.7);
    let d = &j["auc_difference"];
    let x = |k: &str| d[k].as_f64().unwrap();
    assert!((x("difference") - 1250.0 / 9900.0).abs() < 1e-12, "{d}");
    assert!((x("low") - 0.050082).abs() < 1e-5 && (x("high") - 0.202443).abs() < 1e-5);
    assert!((x("p_value") - 0.0011603).abs() < 1e-6, "{d}");
    assert_eq!(j["warnings"], serde_json::json!([]));
}

#[test]
fn backtest_gives_the_share_of_revenue_each_model_sends_to_sales() {
    // The history with the revenue of each converted lead: 1,000 through a demo, 100 through
    // the web. 70 demo leads converted (70,000) and 20 web leads (2,000). The current hot
    // leads (newsletter) brought 35 × 1,000 + 10 × 100 = 36,000 (50.0%), the candidate's
    // (demo) 70,000 (97.2%).
    let dir = Dir::new();
    let mut csv = String::new();
    for (i, line) in history().lines().enumerate() {
        let revenue = match (i, line.ends_with(",1"), line.contains(",demo,")) {
            (0, _, _) => "revenue",
            (_, true, true) => "1000",
            (_, true, false) => "100",
            _ => "",
        };
        csv += &format!("{line},{revenue}\n");
    }
    let data = dir.write("revenue.csv", csv);
    let (a, b) = (
        dir.write("a.toml", TWO_RULES),
        dir.write("b.toml", proposed(20)),
    );
    let args = |extra: &[&str]| {
        let mut v = backtest_args(&dir, &a, &b, extra);
        let at = v.iter().position(|x| x == "--data").unwrap() + 1;
        v[at] = data.clone();
        v
    };
    let run = leadscore(&args(&["--revenue", "revenue"])).ok();
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("revenue captured"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(
        row.as_deref(),
        Some("revenue captured 50.0% 97.2%"),
        "{}",
        run.stdout
    );
    let run = leadscore(&args(&["--revenue", "revenue", "--json"])).ok();
    let j: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["current"]["revenue_share"], 0.5);
    assert!((j["candidate"]["revenue_share"].as_f64().unwrap() - 70.0 / 72.0).abs() < 1e-12);
    // A revenue that is not a number names the line and the column.
    let bad = dir.write(
        "revenue.csv",
        dir.read("revenue.csv").replacen(",1000\n", ",lots\n", 1),
    );
    assert_eq!(bad, data);
    let run = leadscore(&args(&["--revenue", "revenue"])).failed();
    assert!(
        run.stderr
            .contains("revenue.csv:2: column `revenue`: \"lots\" is not a number"),
        "{}",
        run.stderr
    );
}

#[test]
fn backtest_warns_when_a_lower_threshold_lets_everyone_qualify() {
    // Current: demo leads hot (100, 70% convert). Candidate: hot from 0, so all 200 qualify
    // at the base rate of 45%: 2× as many at a precision 36% lower, and below 1.5 × 45%.
    let dir = Dir::new();
    let (a, b) = (
        dir.write("a.toml", proposed(20)),
        dir.write("b.toml", proposed(0)),
    );
    let run = leadscore(&backtest_args(&dir, &a, &b, &[])).ok();
    assert!(
        run.stderr.contains("warning: many qualify but few convert: the threshold is too low (the candidate qualifies 200 leads, 2.0× the current 100, at precision 45.0% against 70.0%)"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("hot  "), "{}", run.stdout);
    let run = leadscore(&backtest_args(&dir, &a, &b, &["--json"])).ok();
    let j: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(j["warnings"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(j["transitions"], serde_json::json!([[100, 0], [100, 0]]));
}

#[test]
fn backtest_names_the_file_line_and_column_of_a_broken_model() {
    let dir = Dir::new();
    let a = dir.write("a.toml", TWO_RULES);
    let b = dir.write(
        "b.toml",
        TWO_RULES.replace("points = 20\n", "points = \"many\"\n"),
    );
    let run = leadscore(&backtest_args(&dir, &a, &b, &[])).failed();
    assert!(
        run.stderr.contains(&format!("{b}:19:10: ")),
        "{}",
        run.stderr
    );
    // A target column that is not there.
    let run = leadscore(&[
        "backtest",
        "--current",
        &a,
        "--candidate",
        &a,
        "--data",
        &dir.write("h.csv", history()),
        "--target",
        "won",
    ])
    .failed();
    assert!(run.stderr.contains("won"), "{}", run.stderr);
}

fn x_education() -> String {
    root()
        .join("../shared/data/x-education-leads.csv")
        .display()
        .to_string()
}

#[test]
fn suggest_runs_on_the_x_education_leads_and_proposes_a_model_that_compiles() {
    let dir = Dir::new();
    let out = dir.path("proposed.toml");
    let run = leadscore(&[
        "suggest",
        "--model",
        &example("x-education-rules.toml"),
        "--data",
        &x_education(),
        "--target",
        "Converted",
        "--id",
        "Prospect ID",
        "--sales-share",
        "0.25",
        "--out",
        &out,
    ])
    .ok();
    assert!(
        run.stdout.contains("9240 leads, 3561 converted (38.5%)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n@@ -"), "no diff:\n{}", run.stdout);
    let src = dir.read("proposed.toml");
    let m = leadscore_core::Model::from_toml(&src, "proposed.toml").unwrap();
    assert_eq!(m.reference().name, "x-education-rules");
    // Comments stay.
    assert!(src.starts_with("# A hand-written rule model for the X Education leads"));
    // The proposed model back-tests against the current one.
    let run = leadscore(&[
        "backtest",
        "--current",
        &example("x-education-rules.toml"),
        "--candidate",
        &out,
        "--data",
        &x_education(),
        "--target",
        "Converted",
        "--id",
        "Prospect ID",
    ])
    .ok();
    assert!(run.stdout.contains("change tier: "), "{}", run.stdout);
}

/// The two-rule history twice over (400 leads), blocks alternating big and small accounts; a
/// segment for the big ones with its own demo rule and tiers, and `above` in the default tiers.
const SEGMENTED: &str = r#"[model]
name = "seg"
version = "1"

[[category]]
id = "fit"
cap = 30

[[rule]]
id = "demo"
category = "fit"
points = 5
when = { field = "channel", equals = "demo" }

[[rule]]
id = "newsletter"
category = "fit"
points = 20
when = { field = "newsletter", equals = "yes" }

[[tier]]
name = "hot"
above = 19

[[tier]]
name = "cold"

[routing]
sales_ready_tiers = ["hot"]

[[segment]]
id = "big"
when = { field = "size", equals = "big" }

[[segment.rule]]
id = "demo"
category = "fit"
points = 8
when = { field = "channel", equals = "demo" }

[[segment.tier]]
name = "hot"
min = 10

[[segment.tier]]
name = "cold"
"#;

#[test]
fn suggest_edits_segment_rules_and_above_thresholds_in_place() {
    let mut csv = String::from("lead,channel,newsletter,size,converted\n");
    for i in 0..400 {
        let (block, pos) = (i / 4, i % 4);
        let demo = pos % 2 == 0;
        let won = if demo { block % 10 < 7 } else { block % 10 < 2 };
        csv.push_str(&format!(
            "L{i:03},{},{},{},{}\n",
            if demo { "demo" } else { "web" },
            if pos < 2 { "yes" } else { "no" },
            if block % 2 == 0 { "big" } else { "small" },
            u8::from(won)
        ));
    }
    let dir = Dir::new();
    let model = dir.write("seg.toml", SEGMENTED);
    let out = dir.path("proposed.toml");
    let run = leadscore(&[
        "suggest",
        "--model",
        &model,
        "--data",
        &dir.write("h.csv", csv),
        "--target",
        "converted",
        "--id",
        "lead",
        "--max-points",
        "12",
        "--out",
        &out,
    ])
    .ok();
    // The big segment's demo rule is its own column; the default demo rule is the other. The
    // default `hot` keeps half of the small accounts' leads sales-ready: score ≥ 8, written as
    // `above = 0` (the highest score below 8); the segment's `hot` becomes `min = 12`.
    for hunk in [
        "@@ -12 +12 @@ rule demo\n-points = 5\n+points = 8\n",
        "@@ -18 +18 @@ rule newsletter\n-points = 20\n+points = 0\n",
        "@@ -23 +23 @@ tier hot\n-above = 19\n+above = 0\n",
        "@@ -38 +38 @@ segment big: rule demo\n-points = 8\n+points = 12\n",
        "@@ -43 +43 @@ segment big: tier hot\n-min = 10\n+min = 12\n",
    ] {
        assert!(run.stdout.contains(hunk), "{hunk}\n{}", run.stdout);
    }
    assert_eq!(run.stdout.matches("\n@@ -").count(), 5, "{}", run.stdout);
    let p = leadscore_core::Model::from_toml(&dir.read("proposed.toml"), "p.toml").unwrap();
    assert_eq!(p.segment_ids().collect::<Vec<_>>(), ["default", "big"]);
}

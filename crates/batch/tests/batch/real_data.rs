//! Real data: the X Education leads export (9240 rows, CRLF, RFC 4180 quoting, `Prospect ID`),
//! scored with a rule model over its real columns and checked row by row against a plain
//! re-implementation of the same rules read with the csv crate directly.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/x-education-leads.csv"
);

/// The data file, or `None` (and a note on stderr) when this checkout does not have it.
fn data() -> Option<PathBuf> {
    let p = PathBuf::from(DATA);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {DATA} is not present (see shared/data/SOURCES.md)");
        None
    }
}

const MODEL: &str = r#"
[model]
name = "x-education"
version = "1"
scale = "raw"

[fields]
"TotalVisits" = "number"
"Total Time Spent on Website" = "number"
"Do Not Email" = "bool"

[[category]]
id = "fit"

[[category]]
id = "engagement"

[[rule]]
id = "time-on-site"
category = "engagement"
points = 20
label = "Spent 500+ seconds on the site"
when = { field = "Total Time Spent on Website", gte = 500 }

[[rule]]
id = "add-form"
category = "fit"
points = 25
label = "Came from the lead add form"
when = { field = "Lead Origin", equals = "Lead Add Form" }

[[rule]]
id = "visits"
category = "engagement"
points = 5
label = "3 to 10 visits"
when = { field = "TotalVisits", between = [3, 10] }

[[rule]]
id = "source"
category = "fit"
points = 10
label = "Came from a good source"
when = { field = "Lead Source", in = ["Reference", "Welingak Website", "Google"] }

[[rule]]
id = "sms"
category = "engagement"
points = 15
label = "Last activity was an SMS"
when = { field = "Last Activity", contains = "SMS" }

[[rule]]
id = "bounced"
category = "engagement"
points = -10
label = "Email bounced"
when = { field = "Last Activity", equals = "Email Bounced" }

[[tier]]
name = "hot"
min = 40

[[tier]]
name = "warm"
min = 20

[[tier]]
name = "cold"

[routing]
sales_ready_tiers = ["hot"]

[[disqualify]]
id = "do-not-email"
reason = "Asked not to be emailed"
when = { field = "Do Not Email", equals = true }
"#;

/// What the rules give one row, worked out without leadscore.
struct Plain {
    fit: f64,
    engagement: f64,
    score: f64,
    tier: &'static str,
    status: &'static str,
    converted: bool,
}

/// The same rules, written plainly: text compared trimmed and without regard to ASCII case,
/// empty numbers missing (no rule fires on them).
fn plain(r: &csv::StringRecord, col: &dyn Fn(&str) -> usize) -> Plain {
    let text = |name: &str| r[col(name)].trim().to_ascii_lowercase();
    let number = |name: &str| {
        let t = r[col(name)].trim();
        (!t.is_empty()).then(|| t.parse::<f64>().unwrap())
    };
    let (mut fit, mut engagement) = (0.0, 0.0);
    if number("Total Time Spent on Website").is_some_and(|t| t >= 500.0) {
        engagement += 20.0;
    }
    if text("Lead Origin") == "lead add form" {
        fit += 25.0;
    }
    if number("TotalVisits").is_some_and(|v| (3.0..=10.0).contains(&v)) {
        engagement += 5.0;
    }
    if ["reference", "welingak website", "google"].contains(&text("Lead Source").as_str()) {
        fit += 10.0;
    }
    let activity = text("Last Activity");
    if activity.contains("sms") {
        engagement += 15.0;
    }
    if activity == "email bounced" {
        engagement -= 10.0;
    }
    let score = fit + engagement;
    let tier = if score >= 40.0 {
        "hot"
    } else if score >= 20.0 {
        "warm"
    } else {
        "cold"
    };
    let status = match (text("Do Not Email").as_str(), tier) {
        ("yes", _) => "disqualified",
        ("no", "hot") => "qualified",
        ("no", _) => "pool",
        (other, _) => panic!("Do Not Email is {other:?}"),
    };
    Plain {
        fit,
        engagement,
        score,
        tier,
        status,
        converted: &r[col("Converted")] == "1",
    }
}

/// Every row of the file, by Prospect ID, in file order.
fn expected(path: &std::path::Path) -> Vec<(String, Plain)> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[col("Prospect ID")].to_owned(), plain(&r, &col))
        })
        .collect()
}

fn x_job(path: PathBuf) -> leadscore_batch::ScoreJob {
    let mut j = job(&path);
    j.id_column = Some("Prospect ID".into());
    j
}

#[test]
fn x_education_scores_match_a_plain_implementation() {
    let Some(path) = data() else { return };
    let m = model(MODEL);
    let (out, summary) = run(&x_job(path.clone()), &m);
    let t = Table::parse(&out);
    let want = expected(&path);
    assert_eq!(want.len(), 9240);
    assert_eq!(t.rows.len(), 9240);
    assert_eq!(summary.contacts, 9240);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);

    // Percentiles rank the leads not disqualified: the share scoring strictly lower.
    let mut ranked: Vec<f64> = want
        .iter()
        .filter(|(_, p)| p.status != "disqualified")
        .map(|(_, p)| p.score)
        .collect();
    ranked.sort_by(f64::total_cmp);

    let mut tiers: BTreeMap<&str, u64> = BTreeMap::new();
    for ((id, p), row) in want.iter().zip(&t.rows) {
        assert_eq!(&row[0], id, "output keeps file order");
        *tiers.entry(p.tier).or_default() += 1;
        let got = t.cells(row, &["score", "fit", "engagement", "tier", "status"]);
        let num = |x: f64| leadscore_core::num(x);
        assert_eq!(
            got,
            [
                num(p.score).as_str(),
                &num(p.fit),
                &num(p.engagement),
                p.tier,
                p.status
            ],
            "{id}"
        );
        let pct = row[t.col("percentile")].as_str();
        if p.status == "disqualified" {
            assert_eq!(pct, "", "{id}");
        } else {
            let below = ranked.partition_point(|&x| x < p.score) as f64;
            let want_pct = (below / ranked.len() as f64 * 100.0 * 100.0).round() / 100.0;
            assert_eq!(pct.parse::<f64>().unwrap(), want_pct, "{id}");
        }
    }
    assert_eq!(
        format!("{tiers:?}"),
        r#"{"cold": 4790, "hot": 1422, "warm": 3028}"#
    );
    assert_eq!(
        summary
            .tiers
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<BTreeMap<_, _>>(),
        tiers
    );
    assert_eq!(summary.statuses["disqualified"], 734);
}

#[test]
fn x_education_rows_by_hand() {
    let Some(path) = data() else { return };
    let m = model(MODEL);
    let (out, _) = run(&x_job(path), &m);
    let t = Table::parse(&out);
    let cols = [
        "score",
        "fit",
        "engagement",
        "tier",
        "status",
        "sales_ready",
    ];
    // API lead from Olark Chat, no visits, no time on site.
    assert_eq!(
        t.pick("7927b2df-8bba-4d29-b9a2-b6e0beafe620", &cols),
        ["0", "0", "0", "cold", "pool", ""]
    );
    // 5 visits (+5), 674 s on the site (+20).
    assert_eq!(
        t.pick("2a272436-5132-4136-86fa-dcc88c88f482", &cols),
        ["25", "0", "25", "warm", "pool", ""]
    );
    // Lead add form (+25) from a reference (+10), last activity "SMS Sent" (+15); its
    // specialization is the quoted "Banking, Investment And Insurance".
    let hot = "c11cf85a-e78a-4a09-be7f-b02d197be200";
    assert_eq!(
        t.pick(hot, &cols),
        ["50", "35", "15", "hot", "qualified", "tier hot"]
    );
    assert_eq!(
        t.get(hot, "top_reasons"),
        "Came from the lead add form (+25); Last activity was an SMS (+15); Came from a good source (+10)"
    );
    // The same points, but "Do Not Email" is Yes.
    assert_eq!(
        t.pick("1611faaf-26d4-4ba9-bac3-66be18051876", &cols),
        ["50", "35", "15", "hot", "disqualified", ""]
    );
    // Lead Source spelled "google": text tests ignore case.
    assert_eq!(
        t.pick("2b5fb07b-5930-4e1f-a1f6-21f8a333ee2c", &cols),
        ["15", "10", "5", "cold", "pool", ""]
    );
    // TotalVisits empty: missing, so the visits rule does not fire.
    assert_eq!(
        t.pick("895d4905-f534-4f18-915b-8d239a72b5dc", &cols),
        ["55", "35", "20", "hot", "qualified", "tier hot"]
    );
    // Email bounced (-10), Do Not Email Yes.
    assert_eq!(
        t.pick("a8531c22-fcf1-48f8-a711-fb5abf98ad87", &cols),
        ["-10", "0", "-10", "cold", "disqualified", ""]
    );
}

#[test]
fn x_education_top_tier_converts_more_than_the_bottom_tier() {
    let Some(path) = data() else { return };
    let m = model(MODEL);
    let (out, _) = run(&x_job(path.clone()), &m);
    let t = Table::parse(&out);
    let converted: BTreeMap<String, bool> = expected(&path)
        .into_iter()
        .map(|(id, p)| (id, p.converted))
        .collect();
    let tier_col = t.col("tier");
    let rate = |tier: &str| {
        let ids: Vec<&str> = t
            .rows
            .iter()
            .filter(|r| r[tier_col] == tier)
            .map(|r| r[0].as_str())
            .collect();
        let n = ids.iter().filter(|id| converted[**id]).count();
        n as f64 / ids.len() as f64
    };
    let (hot, warm, cold) = (rate("hot"), rate("warm"), rate("cold"));
    assert!(
        hot > warm && warm > cold && hot > 0.8 && cold < 0.2,
        "conversion by tier: hot {hot:.3}, warm {warm:.3}, cold {cold:.3}"
    );
}

#[test]
fn x_education_same_output_on_many_threads_and_small_blocks() {
    let Some(path) = data() else { return };
    let m = model(MODEL);
    let mut j = x_job(path);
    j.threads = 1;
    let (want, _) = run(&j, &m);
    j.threads = 5;
    j.block_size = Some(10_000);
    assert!(run(&j, &m).0 == want);
}

#[test]
fn x_education_error_lines_count_crlf_lines() {
    let Some(path) = data() else { return };
    // The real file with one value made bad: the error names the line an editor shows.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    assert_eq!(
        lines.len(),
        9242,
        "header, 9240 rows, and the empty rest after the last CRLF"
    );
    let mut rec = csv::Reader::from_reader(format!("{}\n{}\n", lines[0], lines[4321]).as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap();
    let id = rec[0].to_owned();
    rec = rec
        .iter()
        .enumerate()
        .map(|(i, f)| if i == 8 { "lots" } else { f })
        .collect();
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(&rec).unwrap();
    lines[4321] = String::from_utf8(w.into_inner().unwrap())
        .unwrap()
        .trim_end()
        .to_owned();
    let dir = Dir::new();
    let p = dir.write("leads.csv", lines.join("\r\n"));
    let m = model(MODEL);
    for (threads, block) in [(1, None), (4, Some(20_000))] {
        let mut j = x_job(p.clone());
        j.threads = threads;
        j.block_size = block;
        assert_eq!(
            err_text(&j, &m),
            format!(
                "{}:4322: column `Total Time Spent on Website`: expected a number, found \"lots\"",
                p.display()
            ),
            "threads {threads}, row {id}"
        );
    }
}

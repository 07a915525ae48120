//! An evaluation as data, rendered as terminal text or as one self-contained HTML page with
//! inline SVG charts (lift curve, calibration curve, score distribution): no script, no
//! network, nothing fetched.

use crate::metrics::{Group, Report};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// The evaluation of one scorer on one data set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// `learned` or `rules`.
    pub kind: String,
    /// The model: `file (algo, hash)` or `name@version (hash)`.
    pub model: String,
    /// The data file.
    pub data: String,
    /// What "predicted positive" means for this scorer.
    pub positive_rule: String,
    /// How probabilities were obtained.
    pub probability_note: String,
    /// What to keep in mind when reading it (e.g. the leads were in the model's training
    /// data).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Another model scored on the same leads (`evaluate --against`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<Against>,
    /// What the reports after the first are per: `cohort` (of creation dates), else
    /// segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_by: Option<String>,
    /// All leads first, then one report per segment.
    pub reports: Vec<Report>,
}

/// Another model on the same leads: its ROC-AUC, and this model's less it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Against {
    /// The other model's label.
    pub model: String,
    /// Its ROC-AUC on all leads.
    pub roc_auc: Option<f64>,
    /// This model's ROC-AUC less the other's, with its 95% interval and p-value (DeLong,
    /// paired); `None` with fewer than two leads of an outcome.
    pub difference: Option<crate::delong::AucDifference>,
}

fn f(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.4}"))
}

/// A report's ROC-AUC with its 95% interval, e.g. `0.8927 (95% CI 0.8775–0.9079)`.
fn auc(r: &Report) -> String {
    match r.roc_auc_ci95 {
        Some([lo, hi]) => format!("{} (95% CI {lo:.4}–{hi:.4})", f(r.roc_auc)),
        None => f(r.roc_auc),
    }
}

/// A column of a group table: its header and each group's cell.
type GroupColumn = (&'static str, fn(&Group) -> String);

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn money(x: f64) -> String {
    // Thousands apart, no decimals past 100 (amounts of revenue).
    if x.abs() >= 100.0 {
        let digits = format!("{:.0}", x.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if x < 0.0 { format!("-{out}") } else { out }
    } else {
        format!("{x:.2}")
    }
}

/// The columns of a table of `g` (deciles, tiers or grades): leads, conversion and lift, and
/// what the evaluation was given besides (days to conversion, deals, revenue).
fn group_columns(g: &[Group]) -> Vec<GroupColumn> {
    let mut c: Vec<GroupColumn> = vec![
        ("leads", |x| x.count.to_string()),
        ("converted", |x| x.converted.to_string()),
        ("rate", |x| pct(Some(x.rate))),
        ("lift", |x| format!("{:.2}", x.lift)),
    ];
    if g.iter().any(|x| x.cumulative_recall.is_some()) {
        c.push(("cum.recall", |x| pct(x.cumulative_recall)));
    }
    if g.iter().any(|x| x.median_days_to_convert.is_some()) {
        c.push(("median days", |x| {
            x.median_days_to_convert
                .map_or("-".into(), |d| format!("{d:.1}"))
        }));
    }
    if g.iter().any(|x| x.deals.is_some()) {
        c.push(("won", |x| x.deals.map_or("-".into(), |d| d.won.to_string())));
        c.push(("lost", |x| {
            x.deals.map_or("-".into(), |d| d.lost.to_string())
        }));
        c.push(("win rate", |x| pct(x.deals.and_then(|d| d.win_rate))));
    }
    if g.iter().any(|x| x.revenue.is_some()) {
        c.push(("revenue", |x| {
            x.revenue.map_or("-".into(), |r| money(r.total))
        }));
        c.push(("rev.share", |x| pct(x.revenue.and_then(|r| r.share))));
        if g.iter()
            .any(|x| x.revenue.is_some_and(|r| r.cumulative_share.is_some()))
        {
            c.push(("cum.rev", |x| {
                pct(x.revenue.and_then(|r| r.cumulative_share))
            }));
        }
        c.push(("rev.lift", |x| {
            x.revenue
                .and_then(|r| r.lift)
                .map_or("-".into(), |l| format!("{l:.2}"))
        }));
    }
    c
}

fn groups_text(out: &mut String, title: &str, g: &[Group]) {
    if g.is_empty() {
        return;
    }
    let cols = group_columns(g);
    let cells: Vec<Vec<String>> = g
        .iter()
        .map(|x| cols.iter().map(|(_, cell)| cell(x)).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([h.len(), 6])
                .max()
                .unwrap_or(6)
        })
        .collect();
    let _ = write!(out, "  {title:<10}");
    for ((h, _), w) in cols.iter().zip(&widths) {
        let _ = write!(out, " {h:>w$}");
    }
    out.push('\n');
    for (x, row) in g.iter().zip(&cells) {
        let _ = write!(out, "  {:<10}", x.name);
        for (c, w) in row.iter().zip(&widths) {
            let _ = write!(out, " {c:>w$}");
        }
        out.push('\n');
    }
}

/// The deals and revenue of a report in words, when the evaluation had them.
fn pipeline_text(r: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(d) = r.deals {
        lines.push(format!(
            "deals: {} won, {} lost, win rate {}",
            d.won,
            d.lost,
            pct(d.win_rate)
        ));
    }
    if let Some(total) = r.revenue {
        // The share of the leads and of the revenue of the top `k` deciles.
        let top = |k: usize| {
            let d = r.deciles.get(k - 1)?;
            let leads: usize = r.deciles[..k].iter().map(|d| d.count).sum();
            Some((
                leads as f64 / r.rows.max(1) as f64,
                d.revenue?.cumulative_share?,
            ))
        };
        let mut line = format!("revenue: {}", money(total));
        if let (Some((l1, t1)), Some((_, t3))) = (top(1), top(3)) {
            let _ = write!(
                line,
                "; the top 10% of scores brought {} of it ({:.1}x their share), the top 30% {}",
                pct(Some(t1)),
                t1 / l1,
                pct(Some(t3))
            );
        }
        lines.push(line);
    }
    lines
}

/// Plain text for a terminal.
pub fn text(e: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "model: {} ({})\ndata:  {}", e.model, e.kind, e.data);
    let _ = writeln!(
        out,
        "predicted positive: {}\nprobabilities: {}",
        e.positive_rule, e.probability_note
    );
    for w in &e.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some(x) = &e.against {
        let _ = writeln!(out, "against: {} — ROC-AUC {}", x.model, f(x.roc_auc));
        if let Some(d) = &x.difference {
            out.push_str(&crate::backtest::difference_text(d, "model", "against"));
        }
    }
    for r in &e.reports {
        let _ = writeln!(
            out,
            "\n== {} — {} leads, {} converted ({:.1}%)",
            if r.name == "all" {
                "all leads".to_owned()
            } else {
                format!("{} {}", e.split_by.as_deref().unwrap_or("segment"), r.name)
            },
            r.rows,
            r.converted,
            r.base_rate * 100.0
        );
        let _ = writeln!(
            out,
            "  ROC-AUC {}  PR-AUC {}  log-loss {:.4}  Brier {:.4}  ECE {:.4}",
            auc(r),
            f(r.pr_auc),
            r.log_loss,
            r.brier,
            r.ece
        );
        let _ = writeln!(
            out,
            "  at the threshold: {} predicted positive, precision {}, recall {}",
            r.predicted_positive,
            f(r.precision),
            f(r.recall)
        );
        let _ = writeln!(
            out,
            "  reliability  {:>8} {:>10} {:>9}",
            "leads", "predicted", "observed"
        );
        for b in &r.reliability {
            let _ = writeln!(
                out,
                "  {:.1}–{:.1}      {:>8} {:>9.1}% {:>8.1}%",
                b.lower,
                b.upper,
                b.count,
                b.predicted * 100.0,
                b.observed * 100.0
            );
        }
        for line in pipeline_text(r) {
            let _ = writeln!(out, "  {line}");
        }
        groups_text(&mut out, "decile", &r.deciles);
        groups_text(&mut out, "tier", &r.tiers);
        groups_text(&mut out, "grade", &r.grades);
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 320.0;
const H: f64 = 240.0;
const PAD: f64 = 36.0;

fn frame(title: &str, xlabel: &str, ylabel: &str, body: &str) -> String {
    format!(
        r##"<figure><figcaption>{t}</figcaption><svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}">
<rect x="{p}" y="8" width="{iw}" height="{ih}" fill="#fafafa" stroke="#999"/>
{body}
<text x="{cx}" y="{by}" text-anchor="middle" font-size="11">{xl}</text>
<text x="10" y="{cy}" text-anchor="middle" font-size="11" transform="rotate(-90 10 {cy})">{yl}</text>
<text x="{p}" y="{ty}" font-size="9">0</text><text x="{rx}" y="{ty}" font-size="9" text-anchor="end">1</text>
</svg></figure>"##,
        t = esc(title),
        w = W,
        h = H,
        p = PAD,
        iw = W - PAD - 8.0,
        ih = H - PAD - 8.0,
        cx = PAD + (W - PAD - 8.0) / 2.0,
        by = H - 6.0,
        cy = 8.0 + (H - PAD - 8.0) / 2.0,
        ty = H - PAD + 12.0,
        rx = W - 8.0,
        xl = esc(xlabel),
        yl = esc(ylabel),
    )
}

/// Maps (x, y) in [0, 1]² to the plot area.
fn xy(x: f64, y: f64) -> (f64, f64) {
    (
        PAD + x * (W - PAD - 8.0),
        8.0 + (1.0 - y.clamp(0.0, 1.0)) * (H - PAD - 8.0),
    )
}

fn polyline(points: &[(f64, f64)], color: &str, dash: bool) -> String {
    let pts: Vec<String> = points
        .iter()
        .map(|&(x, y)| {
            let (a, b) = xy(x, y);
            format!("{a:.1},{b:.1}")
        })
        .collect();
    format!(
        r#"<polyline fill="none" stroke="{color}" stroke-width="2"{} points="{}"/>"#,
        if dash {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        },
        pts.join(" ")
    )
}

fn lift_chart(r: &Report) -> String {
    let n = r.rows.max(1) as f64;
    let mut pts = vec![(0.0, 0.0)];
    let mut seen = 0usize;
    for d in &r.deciles {
        seen += d.count;
        pts.push((seen as f64 / n, d.cumulative_recall.unwrap_or(0.0)));
    }
    let mut body =
        polyline(&[(0.0, 0.0), (1.0, 1.0)], "#bbb", true) + &polyline(&pts, "#1f6feb", false);
    // With revenue: its cumulative share on the same axes.
    let mut rev = vec![(0.0, 0.0)];
    let mut seen = 0usize;
    for d in &r.deciles {
        seen += d.count;
        if let Some(c) = d.revenue.and_then(|x| x.cumulative_share) {
            rev.push((seen as f64 / n, c));
        }
    }
    let ylabel = if rev.len() > 1 {
        body += &polyline(&rev, "#d4700c", false);
        "share of conversions (blue), of revenue (orange)"
    } else {
        "share of conversions"
    };
    frame(
        "Lift (cumulative gains)",
        "share of leads, best scores first",
        ylabel,
        &body,
    )
}

fn calibration_chart(r: &Report) -> String {
    let pts: Vec<(f64, f64)> = r
        .reliability
        .iter()
        .map(|b| (b.predicted, b.observed))
        .collect();
    let mut body =
        polyline(&[(0.0, 0.0), (1.0, 1.0)], "#bbb", true) + &polyline(&pts, "#d1242f", false);
    let max = r.reliability.iter().map(|b| b.count).max().unwrap_or(1) as f64;
    for b in &r.reliability {
        let (x, y) = xy(b.predicted, b.observed);
        let rad = 2.0 + 5.0 * (b.count as f64 / max).sqrt();
        let _ = write!(
            body,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{rad:.1}" fill="#d1242f" fill-opacity="0.5"><title>{} leads: predicted {:.3}, observed {:.3}</title></circle>"##,
            b.count, b.predicted, b.observed
        );
    }
    frame(
        "Calibration",
        "predicted probability",
        "observed conversion rate",
        &body,
    )
}

fn distribution_chart(r: &Report) -> String {
    let h = &r.distribution;
    let bins = h.converted.len();
    let tot_c = h.converted.iter().sum::<usize>().max(1) as f64;
    let tot_n = h.not_converted.iter().sum::<usize>().max(1) as f64;
    let share: Vec<(f64, f64)> = (0..bins)
        .map(|b| {
            (
                h.converted[b] as f64 / tot_c,
                h.not_converted[b] as f64 / tot_n,
            )
        })
        .collect();
    let top = share
        .iter()
        .map(|(a, b)| a.max(*b))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let mut body = String::new();
    let bw = 1.0 / bins as f64;
    for (b, (c, o)) in share.iter().enumerate() {
        for (k, (v, color)) in [(o, "#8b949e"), (c, "#2da44e")].into_iter().enumerate() {
            let (x0, y0) = xy(b as f64 * bw + k as f64 * bw / 2.0, v / top);
            let (x1, y1) = xy(b as f64 * bw + (k + 1) as f64 * bw / 2.0, 0.0);
            let _ = write!(
                body,
                r#"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="{color}"/>"#,
                x1 - x0,
                y1 - y0
            );
        }
    }
    let lo = h.edges.first().copied().unwrap_or(0.0);
    let hi = h.edges.last().copied().unwrap_or(1.0);
    frame(
        &format!("Score distribution (green converted, grey not; {lo:.4}–{hi:.4})"),
        "score (left to right: low to high)",
        "share of each group",
        &body,
    )
}

fn groups_html(title: &str, g: &[Group]) -> String {
    if g.is_empty() {
        return String::new();
    }
    let cols = group_columns(g);
    let mut s = format!(
        "<table><caption>{}</caption><tr><th>{}</th>",
        esc(title),
        esc(title)
    );
    for (h, _) in &cols {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for x in g {
        let _ = write!(s, "<tr><td>{}</td>", esc(&x.name));
        for (_, cell) in &cols {
            let _ = write!(s, "<td>{}</td>", esc(&cell(x)));
        }
        s.push_str("</tr>");
    }
    s + "</table>"
}

/// One HTML page, self-contained.
pub fn html(e: &Evaluation) -> String {
    let mut s = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>leadscore evaluation</title><style>
body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}figure{display:inline-block;margin:0 1em 1em 0}
figcaption{font-weight:600;font-size:13px}table{border-collapse:collapse;margin:0 1em 1em 0;display:inline-table;font-size:13px}
td,th{border:1px solid #d0d7de;padding:2px 8px;text-align:right}caption{font-weight:600;text-align:left}
.w{background:#fff8c5;border:1px solid #d4a72c;padding:4px 8px}.m{display:inline-block;margin-right:1.5em}.m b{font-size:20px;display:block}section{border-top:1px solid #d0d7de;margin-top:1em}
</style></head><body>"#,
    );
    let _ = write!(
        s,
        "<h1>Evaluation</h1><p>Model <code>{}</code> ({}) on <code>{}</code>.<br>Predicted positive: {}.<br>Probabilities: {}.</p>",
        esc(&e.model),
        esc(&e.kind),
        esc(&e.data),
        esc(&e.positive_rule),
        esc(&e.probability_note)
    );
    for w in &e.warnings {
        let _ = write!(s, "<p class=\"w\"><strong>Warning:</strong> {}</p>", esc(w));
    }
    if let Some(x) = &e.against {
        let _ = write!(
            s,
            "<p>Against <code>{}</code>: ROC-AUC {}.",
            esc(&x.model),
            f(x.roc_auc)
        );
        if let Some(d) = &x.difference {
            let _ = write!(
                s,
                "<br>{}",
                esc(crate::backtest::difference_text(d, "model", "against").trim_end())
            );
        }
        s.push_str("</p>");
    }
    for r in &e.reports {
        let _ = write!(
            s,
            "<section><h2>{} — {} leads, {} converted ({:.1}%)</h2>",
            if r.name == "all" {
                "All leads".to_owned()
            } else {
                format!(
                    "{} {}",
                    if e.split_by.as_deref() == Some("cohort") {
                        "Cohort"
                    } else {
                        "Segment"
                    },
                    esc(&r.name)
                )
            },
            r.rows,
            r.converted,
            r.base_rate * 100.0
        );
        for (k, v) in [
            ("ROC-AUC", f(r.roc_auc)),
            (
                "95% CI",
                r.roc_auc_ci95
                    .map_or("-".into(), |[lo, hi]| format!("{lo:.3}–{hi:.3}")),
            ),
            ("PR-AUC", f(r.pr_auc)),
            ("log-loss", format!("{:.4}", r.log_loss)),
            ("Brier", format!("{:.4}", r.brier)),
            ("ECE", format!("{:.4}", r.ece)),
            ("precision", f(r.precision)),
            ("recall", f(r.recall)),
        ] {
            let _ = write!(s, r#"<span class="m">{k}<b>{v}</b></span>"#);
        }
        for line in pipeline_text(r) {
            let _ = write!(s, "<p>{}</p>", esc(&line));
        }
        s.push_str("<div>");
        s.push_str(&lift_chart(r));
        s.push_str(&calibration_chart(r));
        s.push_str(&distribution_chart(r));
        s.push_str("</div><div>");
        s.push_str(&groups_html("decile", &r.deciles));
        s.push_str(&groups_html("tier", &r.tiers));
        s.push_str(&groups_html("grade", &r.grades));
        s.push_str("<table><caption>reliability</caption><tr><th>bin</th><th>leads</th><th>predicted</th><th>observed</th></tr>");
        for b in &r.reliability {
            let _ = write!(
                s,
                "<tr><td>{:.1}–{:.1}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td></tr>",
                b.lower,
                b.upper,
                b.count,
                b.predicted * 100.0,
                b.observed * 100.0
            );
        }
        s.push_str("</table></div></section>");
    }
    s.push_str("</body></html>\n");
    s
}

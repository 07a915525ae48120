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

/// Whether the groups carry a time to conversion (the evaluation had dates).
fn dated(g: &[Group]) -> bool {
    g.iter().any(|x| x.median_days_to_convert.is_some())
}

/// The median days column: its header, or a group's value.
fn days_cell(dated: bool, x: Option<&Group>) -> String {
    match (dated, x) {
        (false, _) => String::new(),
        (true, None) => format!(" {:>12}", "median days"),
        (true, Some(x)) => x
            .median_days_to_convert
            .map_or(format!(" {:>12}", "-"), |d| format!(" {d:>12.1}")),
    }
}

fn groups_text(out: &mut String, title: &str, g: &[Group]) {
    if g.is_empty() {
        return;
    }
    let d = dated(g);
    let _ = writeln!(
        out,
        "  {title:<10} {:>8} {:>10} {:>8} {:>7}{}",
        "leads",
        "converted",
        "rate",
        "lift",
        days_cell(d, None)
    );
    for x in g {
        let _ = writeln!(
            out,
            "  {:<10} {:>8} {:>10} {:>7.1}% {:>7.2}{}",
            x.name,
            x.count,
            x.converted,
            x.rate * 100.0,
            x.lift,
            days_cell(d, Some(x))
        );
    }
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
                format!("segment {}", r.name)
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
        let dd = dated(&r.deciles);
        let _ = writeln!(
            out,
            "  decile     {:>8} {:>10} {:>8} {:>7} {:>10}{}",
            "leads",
            "converted",
            "rate",
            "lift",
            "cum.recall",
            days_cell(dd, None)
        );
        for d in &r.deciles {
            let _ = writeln!(
                out,
                "  {:<10} {:>8} {:>10} {:>7.1}% {:>7.2} {:>9.1}%{}",
                d.name,
                d.count,
                d.converted,
                d.rate * 100.0,
                d.lift,
                d.cumulative_recall.unwrap_or(f64::NAN) * 100.0,
                days_cell(dd, Some(d))
            );
        }
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
    let body =
        polyline(&[(0.0, 0.0), (1.0, 1.0)], "#bbb", true) + &polyline(&pts, "#1f6feb", false);
    frame(
        "Lift (cumulative gains)",
        "share of leads, best scores first",
        "share of conversions",
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
    let d = dated(g);
    let mut s = format!(
        "<table><caption>{}</caption><tr><th>{}</th><th>leads</th><th>converted</th><th>rate</th><th>lift</th><th>cum. recall</th>{}</tr>",
        esc(title),
        esc(title),
        if d {
            "<th>median days to convert</th>"
        } else {
            ""
        }
    );
    for x in g {
        let days = match (d, x.median_days_to_convert) {
            (false, _) => String::new(),
            (true, None) => "<td>-</td>".into(),
            (true, Some(v)) => format!("<td>{v:.1}</td>"),
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.2}</td><td>{}</td>{days}</tr>",
            esc(&x.name),
            x.count,
            x.converted,
            x.rate * 100.0,
            x.lift,
            x.cumulative_recall
                .map_or("".into(), |c| format!("{:.1}%", c * 100.0))
        );
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
                format!("Segment {}", esc(&r.name))
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

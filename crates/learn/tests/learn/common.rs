//! Synthetic leads whose conversion probability is known: a logistic function of a number, a
//! category and a flag, with missing values and placeholders mixed in.
#![allow(dead_code)]

use leadscore_learn::{Table, TableOptions, read_table};

/// A fixed pseudo-random stream (no dependency, same numbers everywhere).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` leads: `visits` (0–20, 5% `NA`), `source` (ads/organic/referral, 5% `Select`, one rare
/// value), `newsletter` (Yes/No), a free-text `note`, and `won` drawn with
/// logit = -2 + 0.25 visits + {ads 1, organic 0, referral -1} + 0.5 newsletter.
pub fn leads_csv(n: usize, seed: u64) -> String {
    let mut r = Lcg(seed);
    let mut s = String::from("lead_id,visits,source,newsletter,note,won\n");
    for i in 0..n {
        let visits = (r.next() * 20.0).floor();
        let (source, eff) = match (r.next() * 3.0) as u32 {
            0 => ("ads", 1.0),
            1 => ("organic", 0.0),
            _ => ("referral", -1.0),
        };
        let news = r.next() < 0.4;
        let z = -2.0 + 0.25 * visits + eff + if news { 0.5 } else { 0.0 };
        let won = r.next() < 1.0 / (1.0 + (-z).exp());
        let visits_s = if r.next() < 0.05 {
            "NA".to_string()
        } else {
            visits.to_string()
        };
        let source_s = if i == 7 {
            "billboard"
        } else if r.next() < 0.05 {
            "Select"
        } else {
            source
        };
        s.push_str(&format!(
            "L{i:05},{visits_s},{source_s},{},\"note {i}, free text\",{}\n",
            if news { "Yes" } else { "No" },
            if won { "won" } else { "lost" }
        ));
    }
    s
}

pub fn table(csv: &str) -> Table {
    let opts = TableOptions {
        target: Some("won".into()),
        id: Some("lead_id".into()),
        ..TableOptions::default()
    };
    read_table(csv.as_bytes(), "leads.csv", &opts).unwrap()
}

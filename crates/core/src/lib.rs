//! The leadscore scoring core: model files in, scores with explanations out. No I/O, no clock,
//! no async, no global state — every front end (CLI, server, batch jobs) calls this crate.
//!
//! Module map:
//! - [`value`]: attribute values and the typed parsing of text (numbers, booleans, dates).
//! - `spec` / `compile`: the TOML model file and its checking into a [`Model`].
//! - [`model`]: the compiled model.
//! - `eval`: [`Scorer`] — events stream into a [`ContactState`], `finish` gives a [`Scored`];
//!   [`Ranking`] for top-N% routing, [`roll_up`] for account scores.
//! - `scored`: the score and its explanation as data.
//! - [`edit`]: a model file's `points` and tier thresholds rewritten in place, with a diff.
//!
//! ```
//! use leadscore_core::{Contact, Event, Model, Scorer, value::parse_time};
//!
//! let model = Model::from_toml(r#"
//!     [model]
//!     name = "demo"
//!     version = "1"
//!     [[category]]
//!     id = "intent"
//!     [[rule]]
//!     id = "pricing"
//!     category = "intent"
//!     points = 10
//!     when = { event = "page_view", where = { field = "url", contains = "/pricing" } }
//!     [[tier]]
//!     name = "hot"
//!     min = 10
//!     [[tier]]
//!     name = "cold"
//! "#, "demo.toml").unwrap();
//! let as_of = parse_time("2026-03-01T00:00:00Z").unwrap();
//! let contact = model.contact("c1", None, &[]).unwrap();
//! let visit = Event {
//!     kind: "page_view".into(),
//!     at: as_of - 3600,
//!     props: vec![("url".into(), "https://example.com/pricing".into())],
//! };
//! let scored = Scorer::new(&model, as_of).score_events(&contact, None, &[visit]).unwrap();
//! assert_eq!(scored.score, 10.0);
//! assert_eq!(scored.tier, "hot");
//! ```

mod compile;
pub mod edit;
mod error;
mod eval;
pub mod model;
mod name;
mod scored;
mod spec;
pub mod value;

pub use error::{Diagnostic, ModelError, ValueError};
pub use eval::{
    Account, Brief, CategoryPoints, Contact, ContactState, Event, GradeCell, Headline,
    HeadlineMoment, Props, Ranking, Scorer, Scratch, StateTable, roll_up,
};
pub use model::{EventType, FieldDef, Kind, Model, ModelRef, RollUp, Scale};
pub use name::Name;
pub use scored::{
    AccountScore, CategoryScore, Contribution, Disqualification, Moment, NamedScoreValue, Scored,
    Status, num, write_num,
};
pub use value::{FieldType, UnixSeconds, Value};

impl Model {
    /// Parses and checks a model file. `file` names the file in error messages, which carry the
    /// line and column of every problem found.
    pub fn from_toml(src: &str, file: &str) -> Result<Model, ModelError> {
        compile::compile(src, file)
    }

    /// Builds a contact from named raw values, parsing each attribute the model reads to the
    /// type it needs; names the model does not read are ignored.
    pub fn contact(
        &self,
        id: &str,
        account_id: Option<&str>,
        attrs: &[(&str, &str)],
    ) -> Result<Contact, ValueError> {
        Ok(Contact {
            id: id.to_owned(),
            account_id: account_id.map(str::to_owned),
            attrs: parse_attrs(&self.contact_fields, attrs)?,
        })
    }

    /// Builds an account from named raw values (see [`Model::contact`]).
    pub fn account(&self, id: &str, attrs: &[(&str, &str)]) -> Result<Account, ValueError> {
        Ok(Account {
            id: id.to_owned(),
            attrs: parse_attrs(&self.account_fields, attrs)?,
        })
    }

    /// The model in plain language: categories, rules, tiers, grade, segments, disqualifiers.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let m = &self.meta;
        let _ = writeln!(s, "model {} v{} (sha256 {})", m.name, m.version, m.hash);
        if let Some(d) = &self.description {
            let _ = writeln!(s, "{}", d.trim());
        }
        let _ = writeln!(
            s,
            "scale: {}",
            match self.scale {
                Scale::Raw => "raw points (the score is the sum of category points)",
                Scale::Normalized => "normalized (each category weighs its share of 0–100)",
            }
        );
        let _ = writeln!(s, "\ncategories:");
        for c in &self.categories {
            let mut parts = Vec::new();
            if let Some(w) = c.weight {
                parts.push(format!("weight {}", num(w)));
            }
            if let Some(cap) = c.cap {
                parts.push(format!("cap {}", num(cap)));
            }
            if !c.decay.is_none() {
                parts.push(decay_text(&c.decay));
            }
            let _ = writeln!(s, "  {} — {}{}", c.id, c.label, paren_list(&parts));
        }
        for p in &self.profiles {
            if p.id == "default" {
                let _ = writeln!(s, "\nrules:");
            } else {
                let _ = writeln!(s, "\nsegment {} — {} when {}:", p.id, p.label, p.when_text);
            }
            let default_rules = &self.profiles[0].rules;
            if p.id != "default" {
                let dropped: Vec<&str> = default_rules
                    .iter()
                    .filter(|i| !p.rules.contains(i))
                    .map(|&i| self.rules[i].id.as_str())
                    .collect();
                if p.rules.iter().all(|i| default_rules.contains(i)) && dropped.is_empty() {
                    let _ = writeln!(s, "  rules: as the default");
                } else if !dropped.is_empty() {
                    let _ = writeln!(s, "  rules: as the default, without {}", dropped.join(", "));
                }
            }
            for &ri in &p.rules {
                if p.id != "default" && default_rules.contains(&ri) {
                    continue;
                }
                let r = &self.rules[ri];
                let mut parts = vec![
                    format!("{:?}", r.kind).to_lowercase(),
                    self.categories[r.category].id.to_string(),
                ];
                if r.per_occurrence.is_some() {
                    parts.push("per occurrence".into());
                }
                if let Some(m) = r.max_points {
                    parts.push(format!("at most {}", num(m)));
                }
                if !r.decay.is_none() && !r.positive.is_empty() {
                    parts.push(decay_text(&r.decay));
                }
                let pts = if r.points >= 0 {
                    format!("+{}", r.points)
                } else {
                    r.points.to_string()
                };
                let _ = writeln!(s, "  {pts:>5}  {}: {}{}", r.id, r.text, paren_list(&parts));
            }
            if !p.tiers.0.is_empty() {
                let tiers: Vec<String> = p
                    .tiers
                    .0
                    .iter()
                    .map(|t| match (t.min.is_finite(), t.strict) {
                        (false, _) => format!("{} below", t.name),
                        (true, true) => format!("{} > {}", t.name, num(t.min)),
                        (true, false) => format!("{} ≥ {}", t.name, num(t.min)),
                    })
                    .collect();
                let _ = writeln!(s, "  tiers: {}", tiers.join(", "));
            }
            if !p.routing.sales_ready_tiers.is_empty() {
                let _ = writeln!(
                    s,
                    "  sales-ready tiers: {}",
                    p.routing.sales_ready_tiers.join(", ")
                );
            }
            if let Some(t) = p.routing.top_percent {
                let _ = writeln!(s, "  route the top {}% to sales", num(t));
            }
        }
        if let Some(g) = &self.grade {
            let names = |v: &[usize]| {
                v.iter()
                    .map(|&i| self.categories[i].id.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            };
            let _ = writeln!(
                s,
                "\ngrade: fit from {} (A ≥ {}, B ≥ {}, C ≥ {}, else D) × engagement from {} (1 ≥ {}, 2 ≥ {}, 3 ≥ {}, else 4)",
                names(&g.fit_categories),
                num(g.fit[0]),
                num(g.fit[1]),
                num(g.fit[2]),
                names(&g.engagement_categories),
                num(g.engagement[0]),
                num(g.engagement[1]),
                num(g.engagement[2])
            );
            if !g.sales_ready.is_empty() {
                let _ = writeln!(s, "  sales-ready cells: {}", g.sales_ready.join(", "));
            }
            for (n, cells) in &g.priority {
                let _ = writeln!(s, "  {n}: {}", cells.join(", "));
            }
        }
        if !self.disqualify.is_empty() {
            let _ = writeln!(s, "\ndisqualified when:");
            for d in &self.disqualify {
                let _ = writeln!(s, "  {}: {}", d.id, d.reason);
            }
        }
        if let Some(a) = &self.account {
            let how = match &a.method {
                RollUp::Max => "the best contact's score".to_owned(),
                RollUp::Sum { cap: Some(c) } => {
                    format!("the sum of contact scores, at most {}", num(*c))
                }
                RollUp::Sum { cap: None } => "the sum of contact scores".to_owned(),
                RollUp::MeanTop { top } => format!("the mean of the best {top} contact scores"),
            };
            let _ = writeln!(s, "\naccount score: {how}");
        }
        for n in &self.named {
            let cats: Vec<&str> = n
                .categories
                .iter()
                .map(|&i| self.categories[i].id.as_str())
                .collect();
            let _ = writeln!(
                s,
                "\nscore {} — {}: from {}",
                n.id,
                n.label,
                cats.join(", ")
            );
        }
        s
    }
}

fn parse_attrs(fields: &[FieldDef], attrs: &[(&str, &str)]) -> Result<Vec<Value>, ValueError> {
    fields
        .iter()
        .map(|f| match attrs.iter().find(|(k, _)| *k == f.name) {
            Some((_, raw)) => Value::parse(&f.name, f.ty, raw),
            None => Ok(Value::Missing),
        })
        .collect()
}

fn decay_text(d: &model::Decay) -> String {
    let mut parts = Vec::new();
    if let Some(h) = d.half_life_days {
        parts.push(format!("half-life {} days", num(h)));
    }
    if let Some(e) = d.expire_after_days {
        parts.push(format!("expires after {} days", num(e)));
    }
    parts.join(", ")
}

fn paren_list(parts: &[String]) -> String {
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

//! Editing a model file in place: the rules' `points` and the tiers' `min`/`above` values,
//! found by the spans the TOML parser gives, rewritten in the original text so comments,
//! order and layout stay as a person wrote them; and the change as a unified diff.

use crate::error::{Diagnostic, LineIndex, ModelError};
use crate::scored::num;
use crate::spec::{ModelSpec, RoutingSpec, RuleSpec, TierSpec};
use std::ops::Range;

/// One rule definition of the file: a default rule, or a rule of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSite {
    /// The segment whose `[[segment.rule]]` it is; `None` for a default `[[rule]]`.
    pub segment: Option<String>,
    /// The rule id.
    pub id: String,
    /// Its category id.
    pub category: String,
    /// `points` as written.
    pub points: i64,
    /// Whether the points count per matching event.
    pub per_occurrence: bool,
    /// 1-based line of the `points` value.
    pub line: usize,
    span: Range<usize>,
}

/// One tier of a tier list.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSite {
    /// The tier name.
    pub name: String,
    /// Its threshold (`min`, or `above` when `strict`); `None` for the floor tier.
    pub threshold: Option<f64>,
    /// `above = …` (score > threshold) rather than `min = …` (score ≥ threshold).
    pub strict: bool,
    span: Option<Range<usize>>,
}

/// A list of tiers: the default `[[tier]]`s or a segment's own `[[segment.tier]]`s.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSet {
    /// The segment that has these tiers; `None` for the default tiers, which also hold for
    /// every segment without tiers of its own.
    pub segment: Option<String>,
    /// The tiers from the highest threshold down (the floor last).
    pub tiers: Vec<TierSite>,
    /// The names of the sales-ready tiers of this list.
    pub sales_ready: Vec<String>,
}

impl TierSet {
    /// The lowest threshold of a sales-ready tier: the score at which a lead becomes
    /// sales-ready by tier (the index of that tier, and the tier).
    pub fn sales_ready_floor(&self) -> Option<(usize, &TierSite)> {
        self.tiers
            .iter()
            .enumerate()
            .rfind(|(_, t)| t.threshold.is_some() && self.sales_ready.contains(&t.name))
    }
}

/// A model file's text with its editable numbers located.
#[derive(Debug, Clone)]
pub struct ModelText {
    src: String,
    file: String,
    /// Every rule definition in file order (default rules, then each segment's rules).
    pub rules: Vec<RuleSite>,
    /// The default tiers first, then each segment's own tiers in file order.
    pub tier_sets: Vec<TierSet>,
    /// Segment ids in file order, with whether each has tiers of its own.
    pub segments: Vec<(String, bool)>,
    /// Category ids in file order, with their caps.
    pub categories: Vec<(String, Option<f64>)>,
    edits: Vec<(Range<usize>, String)>,
}

/// One line that an edit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// 1-based line number (the same in both texts: edits never add or remove lines).
    pub line: usize,
    /// What the line says: `rule add-form`, `tier hot`, `segment smb: rule x`.
    pub what: String,
    /// The line before.
    pub old: String,
    /// The line after.
    pub new: String,
}

impl LineChange {
    /// This change as a unified-diff hunk with no context: `@@ -l +l @@ what`, `-old`, `+new`.
    pub fn hunk(&self) -> String {
        format!(
            "@@ -{0} +{0} @@ {1}\n-{2}\n+{3}\n",
            self.line, self.what, self.old, self.new
        )
    }
}

impl ModelText {
    /// Reads a model file's text; it must compile (every problem is reported as
    /// [`crate::Model::from_toml`] reports it).
    pub fn parse(src: &str, file: &str) -> Result<ModelText, ModelError> {
        crate::compile::compile(src, file)?;
        let spec: ModelSpec = toml::from_str(src).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |s| LineIndex::new(src).position(s.start));
            ModelError {
                file: file.to_owned(),
                diagnostics: vec![Diagnostic {
                    line,
                    column,
                    message: e.message().trim().to_owned(),
                }],
            }
        })?;
        let lines = LineIndex::new(src);
        let site = |segment: Option<&str>, r: &RuleSpec| RuleSite {
            segment: segment.map(str::to_owned),
            id: r.id.get_ref().clone(),
            category: r.category.get_ref().clone(),
            points: *r.points.get_ref(),
            per_occurrence: r.per_occurrence,
            line: lines.position(r.points.span().start).0,
            span: r.points.span(),
        };
        let mut rules: Vec<RuleSite> = spec.rule.iter().map(|r| site(None, r)).collect();
        let default_ready = sales_ready(spec.routing.as_ref());
        let mut tier_sets = vec![TierSet {
            segment: None,
            tiers: tier_sites(&spec.tier),
            sales_ready: default_ready.clone(),
        }];
        let mut segments = Vec::new();
        for s in &spec.segment {
            let id = s.id.get_ref().clone();
            rules.extend(s.rule.iter().map(|r| site(Some(&id), r)));
            segments.push((id.clone(), s.tier.is_some()));
            if let Some(t) = &s.tier {
                let tiers = tier_sites(t);
                let ready = match &s.routing {
                    Some(r) => sales_ready(Some(r)),
                    None => default_ready
                        .iter()
                        .filter(|n| tiers.iter().any(|t| &t.name == *n))
                        .cloned()
                        .collect(),
                };
                tier_sets.push(TierSet {
                    segment: Some(id),
                    tiers,
                    sales_ready: ready,
                });
            }
        }
        Ok(ModelText {
            src: src.to_owned(),
            file: file.to_owned(),
            rules,
            tier_sets,
            segments,
            categories: spec
                .category
                .iter()
                .map(|c| (c.id.get_ref().clone(), c.cap.as_ref().map(|c| *c.get_ref())))
                .collect(),
            edits: Vec::new(),
        })
    }

    /// The original text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The rule definition that scored a lead of segment `segment` when rule `id` fired: the
    /// segment's own rule of that id if it has one, else the default rule.
    pub fn rule_site(&self, segment: &str, id: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.segment.as_deref() == Some(segment) && r.id == id)
            .or_else(|| {
                self.rules
                    .iter()
                    .position(|r| r.segment.is_none() && r.id == id)
            })
    }

    /// The tier list that holds for a lead of segment `segment` (index into `tier_sets`).
    pub fn tier_set_of(&self, segment: &str) -> usize {
        self.tier_sets
            .iter()
            .position(|t| t.segment.as_deref() == Some(segment))
            .unwrap_or(0)
    }

    /// Sets the points of rule definition `rule` (an index into `rules`).
    pub fn set_points(&mut self, rule: usize, points: i64) {
        let r = &self.rules[rule];
        if r.points != points {
            self.edits.push((r.span.clone(), points.to_string()));
        }
    }

    /// Sets the threshold of tier `tier` of tier list `set` (its `min`, or its `above` when
    /// that is what the file uses). The floor tier has none to set.
    pub fn set_threshold(&mut self, set: usize, tier: usize, value: f64) {
        let t = &self.tier_sets[set].tiers[tier];
        if let Some(span) = &t.span
            && t.threshold != Some(value)
        {
            self.edits.push((span.clone(), num(value)));
        }
    }

    /// The text with every edit applied.
    pub fn render(&self) -> String {
        let mut edits: Vec<&(Range<usize>, String)> = self.edits.iter().collect();
        edits.sort_by_key(|(r, _)| r.start);
        let mut out = String::with_capacity(self.src.len());
        let mut at = 0;
        for (r, text) in edits {
            if r.start < at {
                continue; // the same value set twice: the first edit wins
            }
            out.push_str(&self.src[at..r.start]);
            out.push_str(text);
            at = r.end;
        }
        out.push_str(&self.src[at..]);
        out
    }

    /// The lines the edits changed, in file order.
    pub fn changes(&self) -> Vec<LineChange> {
        let new = self.render();
        let what = |line: usize| {
            let seg = |s: &Option<String>| s.as_ref().map(|s| format!("segment {s}: "));
            if let Some(r) = self.rules.iter().find(|r| r.line == line) {
                return format!("{}rule {}", seg(&r.segment).unwrap_or_default(), r.id);
            }
            let lines = LineIndex::new(&self.src);
            for set in &self.tier_sets {
                for t in &set.tiers {
                    if t.span
                        .as_ref()
                        .is_some_and(|s| lines.position(s.start).0 == line)
                    {
                        return format!("{}tier {}", seg(&set.segment).unwrap_or_default(), t.name);
                    }
                }
            }
            String::new()
        };
        self.src
            .lines()
            .zip(new.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| LineChange {
                line: i + 1,
                what: what(i + 1),
                old: a.to_owned(),
                new: b.to_owned(),
            })
            .collect()
    }

    /// A unified diff from this file to the edited text (named `new_name`), with one hunk per
    /// changed line and no context, so each change can be accepted or refused on its own; the
    /// hunk header says which rule or tier the line belongs to.
    pub fn unified_diff(&self, new_name: &str) -> String {
        let changes = self.changes();
        if changes.is_empty() {
            return String::new();
        }
        let mut s = format!("--- {}\n+++ {new_name}\n", self.file);
        for c in changes {
            s.push_str(&c.hunk());
        }
        s
    }
}

fn sales_ready(r: Option<&RoutingSpec>) -> Vec<String> {
    r.and_then(|r| r.sales_ready_tiers.as_ref())
        .map(|v| v.iter().map(|t| t.get_ref().clone()).collect())
        .unwrap_or_default()
}

fn tier_sites(specs: &[TierSpec]) -> Vec<TierSite> {
    let mut out: Vec<TierSite> = specs
        .iter()
        .map(|t| {
            let (v, strict) = match (&t.min, &t.above) {
                (Some(m), _) => (Some(m), false),
                (None, Some(a)) => (Some(a), true),
                (None, None) => (None, false),
            };
            TierSite {
                name: t.name.get_ref().clone(),
                threshold: v.map(|v| *v.get_ref()),
                strict,
                span: v.map(|v| v.span()),
            }
        })
        .collect();
    // As the compiler orders them: highest threshold first, the strict one higher at a tie.
    out.sort_by(|a, b| {
        let key = |t: &TierSite| t.threshold.unwrap_or(f64::NEG_INFINITY);
        key(b).total_cmp(&key(a)).then(b.strict.cmp(&a.strict))
    });
    out
}

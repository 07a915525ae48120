//! Checks a parsed model file and compiles it into a [`Model`]. Every problem is collected with
//! its position, so one run of `leadscore check` lists them all.

use crate::error::{Diagnostic, LineIndex, ModelError};
use crate::model::*;
use crate::name::Name;
use crate::spec::*;
use crate::value::{DAY, FieldType, normalize_text, parse_bool, parse_number, parse_time};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

/// Where a condition sits decides what it may test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Rules, disqualifiers, segments: attributes and events.
    Top,
    /// Inside an event leaf's `where`: event properties only.
    Where,
}

struct FieldSlot {
    slot: usize,
    ty: Option<FieldType>,
    declared: bool,
    first_line: usize,
}

#[derive(Default)]
struct FieldTable {
    defs: Vec<(String, Option<FieldType>)>,
    by_name: HashMap<String, FieldSlot>,
}

impl FieldTable {
    fn finish(self) -> Vec<FieldDef> {
        self.defs
            .into_iter()
            .map(|(name, ty)| FieldDef {
                name,
                ty: ty.unwrap_or(FieldType::Text),
            })
            .collect()
    }
}

struct Compiler<'a> {
    lines: LineIndex<'a>,
    diags: Vec<Diagnostic>,
    contact: FieldTable,
    account: FieldTable,
    props: FieldTable,
    event_types: FxHashMap<Box<str>, usize>,
    event_type_names: Vec<Name>,
    trackers: Vec<Tracker>,
}

/// Compiles model source text. `file` is used only in messages.
pub(crate) fn compile(src: &str, file: &str) -> Result<Model, ModelError> {
    let lines = LineIndex::new(src);
    let spec: ModelSpec = match toml::from_str(src) {
        Ok(s) => s,
        Err(e) => {
            let (line, column) = e.span().map_or((1, 1), |s| lines.position(s.start));
            return Err(ModelError {
                file: file.to_owned(),
                diagnostics: vec![Diagnostic {
                    line,
                    column,
                    message: e.message().trim().to_owned(),
                }],
            });
        }
    };
    let mut c = Compiler {
        lines,
        diags: Vec::new(),
        contact: FieldTable::default(),
        account: FieldTable::default(),
        props: FieldTable::default(),
        event_types: FxHashMap::default(),
        event_type_names: Vec::new(),
        trackers: Vec::new(),
    };
    let model = c.model(spec, src);
    if c.diags.is_empty() {
        Ok(model)
    } else {
        c.diags.sort_by_key(|d| (d.line, d.column));
        c.diags.dedup();
        Err(ModelError {
            file: file.to_owned(),
            diagnostics: c.diags,
        })
    }
}

impl Compiler<'_> {
    fn err(&mut self, at: usize, message: impl Into<String>) {
        let (line, column) = self.lines.position(at);
        self.diags.push(Diagnostic {
            line,
            column,
            message: message.into(),
        });
    }

    fn line(&self, at: usize) -> usize {
        self.lines.position(at).0
    }

    fn model(&mut self, spec: ModelSpec, src: &str) -> Model {
        let hash = hex::encode(Sha256::digest(src.as_bytes()));
        let name = spec.model.name.get_ref().trim().to_owned();
        if name.is_empty() {
            self.err(
                spec.model.name.span().start,
                "`model.name` must not be empty",
            );
        }
        let version = spec.model.version.get_ref().trim().to_owned();
        if version.is_empty() {
            self.err(
                spec.model.version.span().start,
                "`model.version` must not be empty",
            );
        }
        let scale = match spec.model.scale.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("raw") => Scale::Raw,
            Some("normalized") => Scale::Normalized,
            Some(other) => {
                let at = spec.model.scale.as_ref().map_or(0, |s| s.span().start);
                self.err(
                    at,
                    format!("`model.scale` must be \"raw\" or \"normalized\", not {other:?}"),
                );
                Scale::Raw
            }
        };

        self.declare_fields(&spec.fields);
        let categories = self.categories(&spec.category, scale);
        let cat_index: HashMap<String, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.to_string(), i))
            .collect();

        let mut rules: Vec<Rule> = Vec::new();
        let mut interesting_spec: Vec<Option<bool>> = Vec::new();
        let mut default_rules = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for r in &spec.rule {
            self.unique(&mut seen, &r.id, "rule");
            if let Some(rule) = self.rule(r, &categories, &cat_index) {
                default_rules.push(rules.len());
                rules.push(rule);
                interesting_spec.push(r.interesting);
            }
        }

        let tiers = self.tiers(&spec.tier, "tier");
        let routing = self.routing(spec.routing.as_ref(), &tiers);
        let mut profiles = vec![Profile {
            id: "default".into(),
            label: "Default".into(),
            when: None,
            when_text: String::new(),
            rules: default_rules.clone(),
            tiers: tiers.clone(),
            routing: routing.clone(),
        }];

        let mut seen_seg: HashMap<String, usize> = HashMap::new();
        seen_seg.insert("default".into(), 0);
        for s in &spec.segment {
            self.unique(&mut seen_seg, &s.id, "segment");
            let when = self.cond(&s.when, Ctx::Top);
            let seg_tiers = match &s.tier {
                Some(t) => self.tiers(t, "segment.tier"),
                None => tiers.clone(),
            };
            let seg_routing = match &s.routing {
                Some(r) => self.routing(Some(r), &seg_tiers),
                None => {
                    // Inherited sales-ready tiers must still exist among the segment's own tiers.
                    let mut r = routing.clone();
                    r.sales_ready_tiers
                        .retain(|t| seg_tiers.0.iter().any(|x| x.name == *t));
                    r
                }
            };
            let mut list: Vec<usize> = if s.replace_rules {
                Vec::new()
            } else {
                default_rules.clone()
            };
            for ex in &s.exclude_rules {
                let before = list.len();
                list.retain(|&i| rules[i].id != *ex.get_ref());
                if before == list.len() {
                    self.err(
                        ex.span().start,
                        format!(
                            "segment `{}` excludes rule `{}`, which the default model does not have",
                            s.id.get_ref(),
                            ex.get_ref()
                        ),
                    );
                }
            }
            let mut seen_local: HashMap<String, usize> = HashMap::new();
            for r in &s.rule {
                self.unique(&mut seen_local, &r.id, "rule in this segment");
                if let Some(rule) = self.rule(r, &categories, &cat_index) {
                    list.retain(|&i| rules[i].id != rule.id);
                    list.push(rules.len());
                    rules.push(rule);
                    interesting_spec.push(r.interesting);
                }
            }
            profiles.push(Profile {
                id: s.id.get_ref().clone(),
                label: s.label.clone().unwrap_or_else(|| s.id.get_ref().clone()),
                when_text: render(s.when.get_ref()),
                when,
                rules: list,
                tiers: seg_tiers,
                routing: seg_routing,
            });
        }

        // Default "interesting" signals: positive behaviour rules, unless some rule says
        // `interesting = true` (then only those). `interesting = false` always opts a rule out.
        if !any_interesting_set(&spec) {
            for (r, explicit) in rules.iter_mut().zip(&interesting_spec) {
                if explicit.is_none() {
                    r.interesting = r.kind == Kind::Implicit;
                }
            }
        }

        let grade = spec.grade.as_ref().map(|g| self.grade(g, &cat_index));
        let mut disqualify = Vec::new();
        let mut seen_dq = HashMap::new();
        for d in &spec.disqualify {
            self.unique(&mut seen_dq, &d.id, "disqualify rule");
            if let Some(when) = self.cond(&d.when, Ctx::Top) {
                disqualify.push(Disqualifier {
                    id: d.id.get_ref().into(),
                    reason: d
                        .reason
                        .clone()
                        .unwrap_or_else(|| render(d.when.get_ref()))
                        .into(),
                    when,
                });
            }
        }
        let account = spec.account.as_ref().map(|a| self.account(a));
        let mut named = Vec::new();
        let mut seen_named = HashMap::new();
        for n in &spec.score {
            self.unique(&mut seen_named, &n.id, "score");
            let cats = self.category_refs(&n.categories, &cat_index);
            let tiers = (!n.tier.is_empty()).then(|| self.tiers(&n.tier, "score.tier"));
            named.push(NamedScore {
                id: n.id.get_ref().into(),
                label: n
                    .label
                    .clone()
                    .unwrap_or_else(|| n.id.get_ref().clone())
                    .into(),
                categories: cats,
                tiers,
            });
        }

        let mut trackers_by_type = vec![Vec::new(); self.event_type_names.len()];
        for (i, t) in self.trackers.iter().enumerate() {
            for (slot, &ty) in t.types.iter().enumerate() {
                // `event_types_of` keeps lists within a byte.
                trackers_by_type[ty].push((i, slot as u8));
            }
        }
        Model {
            meta: std::sync::Arc::new(ModelRef {
                name,
                version,
                hash,
            }),
            description: spec.model.description.clone(),
            scale,
            contact_fields: std::mem::take(&mut self.contact).finish(),
            account_fields: std::mem::take(&mut self.account).finish(),
            properties: std::mem::take(&mut self.props).finish(),
            event_types: std::mem::take(&mut self.event_types),
            event_type_names: std::mem::take(&mut self.event_type_names),
            trackers: std::mem::take(&mut self.trackers),
            trackers_by_type,
            categories,
            rules,
            profiles,
            grade,
            disqualify,
            account,
            named,
        }
    }

    fn unique(&mut self, seen: &mut HashMap<String, usize>, id: &Spanned<String>, what: &str) {
        let at = id.span().start;
        if id.get_ref().trim().is_empty() {
            self.err(at, format!("{what} id must not be empty"));
            return;
        }
        if let Some(&first) = seen.get(id.get_ref()) {
            let first_line = self.line(first);
            self.err(
                at,
                format!(
                    "duplicate {what} id `{}` (first defined at line {first_line})",
                    id.get_ref()
                ),
            );
        } else {
            seen.insert(id.get_ref().clone(), at);
        }
    }

    fn declare_fields(&mut self, fields: &BTreeMap<String, Spanned<String>>) {
        for (name, ty) in fields {
            let at = ty.span().start;
            let Some(t) = FieldType::parse_name(ty.get_ref()) else {
                self.err(
                    at,
                    format!(
                        "field `{name}`: unknown type {:?} (use text, number, bool or date)",
                        ty.get_ref()
                    ),
                );
                continue;
            };
            let line = self.line(at);
            let (table, bare) = match name.strip_prefix("account.") {
                Some(rest) => (&mut self.account, rest),
                None => (&mut self.contact, name.as_str()),
            };
            let slot = table.defs.len();
            table.defs.push((bare.to_owned(), Some(t)));
            table.by_name.insert(
                bare.to_owned(),
                FieldSlot {
                    slot,
                    ty: Some(t),
                    declared: true,
                    first_line: line,
                },
            );
        }
    }

    fn decay(&mut self, d: Option<&Spanned<DecaySpec>>) -> Option<Decay> {
        let d = d?;
        let at = d.span().start;
        let spec = d.get_ref();
        for (v, key) in [
            (spec.half_life_days, "half_life_days"),
            (spec.expire_after_days, "expire_after_days"),
        ] {
            if let Some(v) = v
                && !(v > 0.0 && v.is_finite())
            {
                self.err(
                    at,
                    format!("decay `{key}` must be a positive number of days"),
                );
            }
        }
        Some(Decay {
            half_life_days: spec.half_life_days,
            expire_after_days: spec.expire_after_days,
        })
    }

    fn categories(&mut self, specs: &[CategorySpec], scale: Scale) -> Vec<Category> {
        let mut out = Vec::new();
        let mut seen = HashMap::new();
        let mut weight_sum = 0.0;
        for c in specs {
            self.unique(&mut seen, &c.id, "category");
            let id_at = c.id.span().start;
            match scale {
                Scale::Normalized => {
                    match &c.weight {
                        Some(w) if *w.get_ref() >= 0.0 => weight_sum += *w.get_ref(),
                        Some(w) => self.err(w.span().start, "`weight` must not be negative"),
                        None => self.err(
                            id_at,
                            format!(
                                "category `{}` needs a `weight` (its share of the 0–100 score) because the model's scale is \"normalized\"",
                                c.id.get_ref()
                            ),
                        ),
                    }
                    if c.cap.is_none() {
                        self.err(
                            id_at,
                            format!(
                                "category `{}` needs a `cap` (the points that count as full marks) because the model's scale is \"normalized\"",
                                c.id.get_ref()
                            ),
                        );
                    }
                }
                Scale::Raw => {
                    if let Some(w) = &c.weight {
                        self.err(
                            w.span().start,
                            "`weight` only applies when `model.scale = \"normalized\"`",
                        );
                    }
                }
            }
            if let Some(cap) = &c.cap
                && (cap.get_ref().is_nan() || *cap.get_ref() <= 0.0)
            {
                self.err(cap.span().start, "`cap` must be greater than zero");
            }
            let decay = self.decay(c.decay.as_ref()).unwrap_or_default();
            out.push(Category {
                id: c.id.get_ref().into(),
                label: c
                    .label
                    .clone()
                    .unwrap_or_else(|| c.id.get_ref().clone())
                    .into(),
                weight: c.weight.as_ref().map(|w| *w.get_ref()),
                cap: c.cap.as_ref().map(|w| *w.get_ref()),
                decay,
            });
        }
        if scale == Scale::Normalized && !specs.is_empty() && (weight_sum - 100.0).abs() > 1e-6 {
            self.err(
                specs[0].id.span().start,
                format!("category weights must add up to 100, they add up to {weight_sum}"),
            );
        }
        out
    }

    fn category_refs(
        &mut self,
        refs: &[Spanned<String>],
        index: &HashMap<String, usize>,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        for r in refs {
            match index.get(r.get_ref()) {
                Some(&i) => out.push(i),
                None => self.err(
                    r.span().start,
                    format!("unknown category `{}`", r.get_ref()),
                ),
            }
        }
        out
    }

    fn rule(
        &mut self,
        r: &RuleSpec,
        categories: &[Category],
        index: &HashMap<String, usize>,
    ) -> Option<Rule> {
        let cat = match index.get(r.category.get_ref()) {
            Some(&i) => Some(i),
            None => {
                let mut known: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
                known.dedup();
                self.err(
                    r.category.span().start,
                    format!(
                        "rule `{}`: unknown category `{}` (categories: {})",
                        r.id.get_ref(),
                        r.category.get_ref(),
                        known.join(", ")
                    ),
                );
                None
            }
        };
        let first_tracker = self.trackers.len();
        let when = self.cond(&r.when, Ctx::Top);
        let own_decay = self.decay(r.decay.as_ref());
        let cat = cat?;
        let when = when?;
        let decay = own_decay.unwrap_or(categories[cat].decay);
        let points = *r.points.get_ref();
        let mut per_occurrence = None;
        if r.per_occurrence {
            match &when {
                Cond::Count { tracker, .. } => {
                    self.trackers[*tracker].per_occurrence = Some(PerOccurrence {
                        points: points as f64,
                        decay,
                    });
                    per_occurrence = Some(*tracker);
                }
                _ => self.err(
                    r.when.span().start,
                    format!(
                        "rule `{}`: `per_occurrence` needs `when` to be a single event test, e.g. when = {{ event = \"email_open\" }}",
                        r.id.get_ref()
                    ),
                ),
            }
        }
        let max_points = match &r.max_points {
            Some(m) if !r.per_occurrence => {
                self.err(
                    m.span().start,
                    format!(
                        "rule `{}`: `max_points` only applies with `per_occurrence = true`",
                        r.id.get_ref()
                    ),
                );
                None
            }
            Some(m) => {
                let v = *m.get_ref();
                if v == 0 || v.signum() != points.signum() {
                    self.err(
                        m.span().start,
                        format!(
                            "rule `{}`: `max_points` must have the same sign as `points`",
                            r.id.get_ref()
                        ),
                    );
                }
                Some(v as f64)
            }
            None => None,
        };
        let has_events = self.trackers.len() > first_tracker;
        if !has_events && r.decay.is_some() {
            self.err(
                r.decay.as_ref().map_or(0, |d| d.span().start),
                format!(
                    "rule `{}`: `decay` needs an event test: attribute rules have no timestamp to age",
                    r.id.get_ref()
                ),
            );
        }
        let kind = if points < 0 {
            Kind::Negative
        } else if has_events {
            Kind::Implicit
        } else {
            Kind::Explicit
        };
        Some(Rule {
            id: r.id.get_ref().into(),
            label: r
                .label
                .clone()
                .unwrap_or_else(|| r.id.get_ref().clone())
                .into(),
            category: cat,
            points,
            text: render(r.when.get_ref()).into(),
            positive: crate::eval::positive_trackers(&when),
            when,
            per_occurrence,
            max_points,
            decay,
            interesting: r.interesting.unwrap_or(false) && points > 0,
            kind,
        })
    }

    fn tiers(&mut self, specs: &[TierSpec], what: &str) -> Tiers {
        let mut out: Vec<Tier> = Vec::new();
        let mut floors = 0;
        let mut seen = HashMap::new();
        for t in specs {
            self.unique(&mut seen, &t.name, what);
            let (min, strict) = match (&t.min, &t.above) {
                (Some(m), None) => (*m.get_ref(), false),
                (None, Some(a)) => (*a.get_ref(), true),
                (Some(_), Some(a)) => {
                    self.err(
                        a.span().start,
                        format!("{what} `{}`: give `min` (score ≥ min) or `above` (score > above), not both", t.name.get_ref()),
                    );
                    continue;
                }
                (None, None) => {
                    floors += 1;
                    if floors > 1 {
                        self.err(
                            t.name.span().start,
                            format!(
                                "only one {what} may leave out `min`/`above` (the lowest tier); `{}` is a second",
                                t.name.get_ref()
                            ),
                        );
                    }
                    (f64::NEG_INFINITY, false)
                }
            };
            out.push(Tier {
                name: t.name.get_ref().clone(),
                min,
                strict,
            });
        }
        if !specs.is_empty() && floors == 0 {
            self.err(
                specs[0].name.span().start,
                format!(
                    "one {what} must leave out `min`/`above`: it holds every score below the others"
                ),
            );
        }
        // Highest threshold first; at equal thresholds the strict one is the higher tier.
        out.sort_by(|a, b| b.min.total_cmp(&a.min).then(b.strict.cmp(&a.strict)));
        Tiers(out)
    }

    fn routing(&mut self, spec: Option<&RoutingSpec>, tiers: &Tiers) -> Routing {
        let Some(spec) = spec else {
            return Routing::default();
        };
        let mut r = Routing::default();
        for t in spec.sales_ready_tiers.iter().flatten() {
            if tiers.0.iter().any(|x| x.name == *t.get_ref()) {
                r.sales_ready_tiers.push(t.get_ref().clone());
            } else {
                self.err(
                    t.span().start,
                    format!("`sales_ready_tiers` names unknown tier `{}`", t.get_ref()),
                );
            }
        }
        if let Some(p) = &spec.top_percent {
            let v = *p.get_ref();
            if !(v > 0.0 && v <= 100.0) {
                self.err(p.span().start, "`top_percent` must be in (0, 100]");
            }
            r.top_percent = Some(v);
        }
        r
    }

    fn grade(&mut self, g: &GradeSpec, index: &HashMap<String, usize>) -> Grade {
        let fit_categories = self.category_refs(&g.fit_categories, index);
        let engagement_categories = self.category_refs(&g.engagement_categories, index);
        let fit = self.grade_thresholds(&g.fit, ["A", "B", "C"], "fit");
        let engagement = self.grade_thresholds(&g.engagement, ["1", "2", "3"], "engagement");
        let cell = |c: &Spanned<String>, this: &mut Self| -> Option<String> {
            let s = c.get_ref().trim().to_ascii_uppercase();
            let b = s.as_bytes();
            if b.len() == 2 && (b'A'..=b'D').contains(&b[0]) && (b'1'..=b'4').contains(&b[1]) {
                Some(s)
            } else {
                this.err(
                    c.span().start,
                    format!(
                        "`{}` is not a grade cell: use a letter A–D then a digit 1–4, e.g. \"A1\"",
                        c.get_ref()
                    ),
                );
                None
            }
        };
        let mut sales_ready = Vec::new();
        for c in &g.sales_ready {
            if let Some(s) = cell(c, self) {
                sales_ready.push(s);
            }
        }
        let mut priority = Vec::new();
        for p in &g.priority {
            let mut cells = Vec::new();
            for c in &p.cells {
                if let Some(s) = cell(c, self) {
                    cells.push(s);
                }
            }
            priority.push((p.name.get_ref().clone(), cells));
        }
        Grade {
            fit_categories,
            engagement_categories,
            fit,
            engagement,
            sales_ready,
            priority,
        }
    }

    fn grade_thresholds(
        &mut self,
        spec: &Spanned<BTreeMap<String, f64>>,
        keys: [&str; 3],
        what: &str,
    ) -> [f64; 3] {
        let at = spec.span().start;
        let map = spec.get_ref();
        let mut out = [0.0; 3];
        for k in map.keys() {
            if !keys.contains(&k.as_str()) {
                self.err(
                    at,
                    format!(
                        "grade.{what}: unknown key `{k}` (give the least points for {})",
                        keys.join(", ")
                    ),
                );
            }
        }
        for (i, k) in keys.iter().enumerate() {
            match map.get(*k) {
                Some(v) => out[i] = *v,
                None => self.err(at, format!("grade.{what}: missing `{k}`")),
            }
        }
        if !(out[0] >= out[1] && out[1] >= out[2]) {
            self.err(
                at,
                format!(
                    "grade.{what}: thresholds must not increase from {} to {}",
                    keys[0], keys[2]
                ),
            );
        }
        out
    }

    fn account(&mut self, a: &AccountSpec) -> AccountRollup {
        let at = a.method.span().start;
        let method = match a.method.get_ref().as_str() {
            "max" => RollUp::Max,
            "sum" => RollUp::Sum {
                cap: a.cap.as_ref().map(|c| {
                    let v = *c.get_ref();
                    if !(v > 0.0 && v.is_finite()) {
                        self.err(
                            c.span().start,
                            format!("account `cap` must be a positive number, not {v:?}"),
                        );
                    }
                    v
                }),
            },
            "mean_top" => match &a.top {
                Some(t) if *t.get_ref() >= 1 => RollUp::MeanTop {
                    top: *t.get_ref() as usize,
                },
                Some(t) => {
                    self.err(t.span().start, "`top` must be at least 1");
                    RollUp::Max
                }
                None => {
                    self.err(
                        at,
                        "method \"mean_top\" needs `top` (how many contacts count)",
                    );
                    RollUp::Max
                }
            },
            other => {
                self.err(
                    at,
                    format!(
                        "account `method` must be \"max\", \"sum\" or \"mean_top\", not {other:?}"
                    ),
                );
                RollUp::Max
            }
        };
        if let Some(c) = &a.cap
            && !matches!(method, RollUp::Sum { .. })
        {
            self.err(c.span().start, "`cap` only applies to method \"sum\"");
        }
        if let Some(t) = &a.top
            && !matches!(method, RollUp::MeanTop { .. })
            && a.method.get_ref() != "mean_top"
        {
            self.err(t.span().start, "`top` only applies to method \"mean_top\"");
        }
        let tiers = a.tier.as_ref().map(|t| self.tiers(t, "account.tier"));
        AccountRollup { method, tiers }
    }

    fn event_type(&mut self, name: &str) -> usize {
        if let Some(&i) = self.event_types.get(name) {
            return i;
        }
        let i = self.event_type_names.len();
        self.event_type_names.push(name.into());
        self.event_types.insert(name.into(), i);
        i
    }

    /// Compiles one condition node; `None` after reporting when it cannot be compiled.
    fn cond(&mut self, spec: &Spanned<CondSpec>, ctx: Ctx) -> Option<Cond> {
        let at = spec.span().start;
        let c = spec.get_ref();
        let combinators = [c.all.is_some(), c.any.is_some(), c.not.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        let has_event_keys = c.event.is_some()
            || c.where_.is_some()
            || c.count.is_some()
            || c.per.is_some()
            || c.rate.is_some();
        if combinators > 0 {
            if combinators > 1
                || c.field.is_some()
                || has_event_keys
                || c.within_days.is_some()
                || field_op(c).is_some()
            {
                self.err(
                    at,
                    "a condition with `all`, `any` or `not` must have nothing else in the same table",
                );
                return None;
            }
            if let Some(list) = &c.all {
                return self.cond_list(list, ctx, at, "all").map(Cond::All);
            }
            if let Some(list) = &c.any {
                return self.cond_list(list, ctx, at, "any").map(Cond::Any);
            }
            let inner = c.not.as_ref()?;
            return self.cond(inner, ctx).map(|x| Cond::Not(Box::new(x)));
        }
        if c.field.is_some() {
            if has_event_keys {
                self.err(
                    at,
                    "a condition tests either a `field` or an `event`, not both: combine them with `all = [...]`",
                );
                return None;
            }
            return self.predicate(c, ctx, at);
        }
        if c.event.is_some() {
            if ctx == Ctx::Where {
                self.err(
                    at,
                    "`where` tests event properties with `field`; it cannot hold another `event`",
                );
                return None;
            }
            // Without this an attribute test beside `event` would be silently ignored.
            if let Some(k) = field_op(c) {
                self.err(
                    at,
                    format!("`{k}` tests a `field`; an `event` test takes `where`, `count`, `within_days`, `per` and `rate`"),
                );
                return None;
            }
            return self.event_leaf(c, at);
        }
        if has_event_keys || c.within_days.is_some() {
            self.err(
                at,
                "this condition has event settings but no `event = \"...\"`",
            );
        } else {
            self.err(
                at,
                "empty condition: give `field` (an attribute test), `event` (a behaviour test), or `all`/`any`/`not`",
            );
        }
        None
    }

    fn cond_list(
        &mut self,
        list: &[Spanned<CondSpec>],
        ctx: Ctx,
        at: usize,
        what: &str,
    ) -> Option<Vec<Cond>> {
        if list.is_empty() {
            self.err(at, format!("`{what}` needs at least one condition"));
            return None;
        }
        let out: Vec<Option<Cond>> = list.iter().map(|s| self.cond(s, ctx)).collect();
        out.into_iter().collect()
    }

    fn event_leaf(&mut self, c: &CondSpec, at: usize) -> Option<Cond> {
        let ev = c.event.as_ref()?;
        let types = self.event_types_of(ev)?;
        let window = match &c.within_days {
            Some(d) => {
                let v = *d.get_ref();
                if !(v > 0.0 && v.is_finite()) {
                    self.err(
                        d.span().start,
                        "`within_days` must be a positive number of days",
                    );
                    return None;
                }
                Some((v * DAY as f64).round() as i64)
            }
            None => None,
        };
        let filter = match &c.where_ {
            Some(w) => Some(self.cond(w, Ctx::Where)?),
            None => None,
        };
        let tracker = self.trackers.len();
        self.trackers.push(Tracker {
            types,
            filter,
            window,
            per_occurrence: None,
        });
        if let Some(per) = &c.per {
            let Some(rate) = &c.rate else {
                self.err(
                    at,
                    "`per` needs `rate = { above = ... }` (a share between 0 and 1)",
                );
                return None;
            };
            if c.count.is_some() {
                self.err(at, "use either `count` or `per` + `rate` in one event test");
                return None;
            }
            let den_types = self.event_types_of(per)?;
            let den = self.trackers.len();
            self.trackers.push(Tracker {
                types: den_types,
                filter: None,
                window,
                per_occurrence: None,
            });
            let r = rate.get_ref();
            let ops: Vec<(RateOp, f64)> = [
                (RateOp::Above, r.above),
                (RateOp::AtLeast, r.at_least),
                (RateOp::Below, r.below),
                (RateOp::AtMost, r.at_most),
            ]
            .into_iter()
            .filter_map(|(o, v)| v.map(|v| (o, v)))
            .collect();
            if ops.len() != 1 {
                self.err(
                    rate.span().start,
                    "`rate` takes exactly one of `above`, `at_least`, `below`, `at_most`",
                );
                return None;
            }
            let (op, value) = ops[0];
            return Some(Cond::Rate {
                num: tracker,
                den,
                op,
                value,
            });
        }
        if c.rate.is_some() {
            self.err(
                at,
                "`rate` needs `per = \"<event>\"`: the event it is a share of",
            );
            return None;
        }
        let (min, max) = match &c.count {
            None => (1, u32::MAX),
            Some(cs) => {
                let s = cs.get_ref();
                match (s.exactly, s.at_least, s.at_most) {
                    (Some(e), None, None) => (e, e),
                    (None, lo, hi) if lo.is_some() || hi.is_some() => {
                        let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(u32::MAX));
                        if lo > hi {
                            self.err(cs.span().start, "`count.at_least` is above `count.at_most`");
                            return None;
                        }
                        (lo, hi)
                    }
                    _ => {
                        self.err(
                            cs.span().start,
                            "`count` takes `exactly`, or `at_least` and/or `at_most`",
                        );
                        return None;
                    }
                }
            }
        };
        Some(Cond::Count { tracker, min, max })
    }

    fn event_types_of(&mut self, ev: &Spanned<OneOrMany>) -> Option<Vec<usize>> {
        let names = &ev.get_ref().0;
        if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
            self.err(ev.span().start, "`event` names must not be empty");
            return None;
        }
        if names.len() > 255 {
            self.err(
                ev.span().start,
                "one event test can list at most 255 event types; split it with `any = [...]`",
            );
            return None;
        }
        // A name given twice is one type: listed twice, every event would count twice.
        let mut types = Vec::new();
        for n in names {
            let t = self.event_type(n.trim());
            if !types.contains(&t) {
                types.push(t);
            }
        }
        Some(types)
    }

    fn predicate(&mut self, c: &CondSpec, ctx: Ctx, at: usize) -> Option<Cond> {
        let field = c.field.as_ref()?;
        let fat = field.span().start;
        let full = field.get_ref().trim();
        let (scope, name) = match (ctx, full.strip_prefix("account.")) {
            (Ctx::Top, Some(rest)) => (Some(Scope::Account), rest),
            (Ctx::Top, None) => (Some(Scope::Contact), full),
            (Ctx::Where, _) => (None, full),
        };
        if name.is_empty() {
            self.err(fat, "`field` must not be empty");
            return None;
        }
        // The first operator decides the type the field is used as.
        let implied = implied_type(c);
        let line = self.line(fat);
        let table = match scope {
            Some(Scope::Contact) => &mut self.contact,
            Some(Scope::Account) => &mut self.account,
            None => &mut self.props,
        };
        let entry = table.by_name.entry(name.to_owned()).or_insert_with(|| {
            let slot = table.defs.len();
            table.defs.push((name.to_owned(), None));
            FieldSlot {
                slot,
                ty: None,
                declared: false,
                first_line: line,
            }
        });
        if entry.ty.is_none() {
            entry.ty = implied;
            table.defs[entry.slot].1 = implied;
        }
        let slot = entry.slot;
        let ty = entry.ty.unwrap_or(FieldType::Text);
        let origin = if entry.declared {
            format!("declared under [fields] at line {}", entry.first_line)
        } else {
            format!("first used that way at line {}", entry.first_line)
        };

        let mut preds = Vec::new();
        let lit = |this: &mut Self, v: &Spanned<toml::Value>| -> Option<Lit> {
            match to_lit(v.get_ref(), ty) {
                Some(l) => Some(l),
                None => {
                    this.err(
                        v.span().start,
                        format!(
                            "field `{name}` is {} ({origin}); {} is not",
                            ty.expected(),
                            v.get_ref()
                        ),
                    );
                    None
                }
            }
        };
        if let Some(v) = &c.equals {
            preds.push(Pred::Eq(lit(self, v)?));
        }
        if let Some(v) = &c.not_equals {
            preds.push(Pred::Ne(lit(self, v)?));
        }
        for (list, neg) in [(&c.in_, false), (&c.not_in, true)] {
            if let Some(l) = list {
                if l.get_ref().is_empty() {
                    self.err(l.span().start, "the list must not be empty");
                    return None;
                }
                let mut lits = Vec::new();
                for v in l.get_ref() {
                    let s = Spanned::new(l.span(), v.clone());
                    lits.push(lit(self, &s)?);
                }
                preds.push(if neg {
                    Pred::NotIn(lits)
                } else {
                    Pred::In(lits)
                });
            }
        }
        for (v, op) in [
            (&c.gt, CmpOp::Gt),
            (&c.gte, CmpOp::Gte),
            (&c.lt, CmpOp::Lt),
            (&c.lte, CmpOp::Lte),
        ] {
            if let Some(v) = v {
                if !matches!(ty, FieldType::Number | FieldType::Date) {
                    self.err(
                        v.span().start,
                        format!("field `{name}` is {} ({origin}): it cannot be compared with gt/gte/lt/lte", ty.expected()),
                    );
                    return None;
                }
                preds.push(Pred::Cmp(op, lit(self, v)?));
            }
        }
        if let Some(b) = &c.between {
            let l = b.get_ref();
            if l.len() != 2 {
                self.err(
                    b.span().start,
                    "`between` takes two values: [low, high] (both included)",
                );
                return None;
            }
            if !matches!(ty, FieldType::Number | FieldType::Date) {
                self.err(
                    b.span().start,
                    format!(
                        "field `{name}` is {} ({origin}): `between` needs numbers or dates",
                        ty.expected()
                    ),
                );
                return None;
            }
            let lo = lit(self, &Spanned::new(b.span(), l[0].clone()))?;
            let hi = lit(self, &Spanned::new(b.span(), l[1].clone()))?;
            preds.push(Pred::Between(lo, hi));
        }
        for (v, starts) in [(&c.contains, false), (&c.starts_with, true)] {
            if let Some(v) = v {
                if ty != FieldType::Text {
                    self.err(
                        v.span().start,
                        format!(
                            "field `{name}` is {} ({origin}): text tests need text",
                            ty.expected()
                        ),
                    );
                    return None;
                }
                let needles: Vec<Box<str>> = v
                    .get_ref()
                    .0
                    .iter()
                    .map(|s| normalize_text(s).into())
                    .collect();
                preds.push(if starts {
                    Pred::StartsWith(needles)
                } else {
                    Pred::Contains(needles)
                });
            }
        }
        if let Some(e) = c.exists {
            preds.push(Pred::Exists(e));
        }
        for (v, older) in [(&c.within_days, false), (&c.older_than_days, true)] {
            if let Some(v) = v {
                if ty != FieldType::Date {
                    self.err(
                        v.span().start,
                        format!(
                            "field `{name}` is {} ({origin}): day windows need a date",
                            ty.expected()
                        ),
                    );
                    return None;
                }
                preds.push(if older {
                    Pred::OlderThanDays(*v.get_ref())
                } else {
                    Pred::WithinDays(*v.get_ref())
                });
            }
        }
        let mk = |pred| match scope {
            Some(scope) => Cond::Attr { scope, slot, pred },
            None => Cond::Prop { slot, pred },
        };
        match preds.len() {
            0 => {
                self.err(
                    at,
                    format!("field `{name}` has no test: add equals, in, gte, between, contains, exists, ..."),
                );
                None
            }
            1 => Some(mk(preds.pop()?)),
            _ => Some(Cond::All(preds.into_iter().map(mk).collect())),
        }
    }
}

/// The first attribute-test key of a condition: these mean something only beside `field`.
fn field_op(c: &CondSpec) -> Option<&'static str> {
    [
        (c.equals.is_some(), "equals"),
        (c.not_equals.is_some(), "not_equals"),
        (c.in_.is_some(), "in"),
        (c.not_in.is_some(), "not_in"),
        (c.gt.is_some(), "gt"),
        (c.gte.is_some(), "gte"),
        (c.lt.is_some(), "lt"),
        (c.lte.is_some(), "lte"),
        (c.between.is_some(), "between"),
        (c.contains.is_some(), "contains"),
        (c.starts_with.is_some(), "starts_with"),
        (c.exists.is_some(), "exists"),
        (c.older_than_days.is_some(), "older_than_days"),
    ]
    .into_iter()
    .find_map(|(present, key)| present.then_some(key))
}

/// Whether any rule says `interesting = true`.
fn any_interesting_set(spec: &ModelSpec) -> bool {
    spec.rule
        .iter()
        .chain(spec.segment.iter().flat_map(|s| &s.rule))
        .any(|r| r.interesting == Some(true))
}

/// The type a predicate's first operator implies for its field.
fn implied_type(c: &CondSpec) -> Option<FieldType> {
    let of_value = |v: &toml::Value| match v {
        toml::Value::Integer(_) | toml::Value::Float(_) => FieldType::Number,
        toml::Value::Boolean(_) => FieldType::Bool,
        toml::Value::Datetime(_) => FieldType::Date,
        _ => FieldType::Text,
    };
    let ordered = |v: &toml::Value| match v {
        toml::Value::Integer(_) | toml::Value::Float(_) => FieldType::Number,
        _ => FieldType::Date,
    };
    if let Some(v) = c.equals.as_ref().or(c.not_equals.as_ref()) {
        return Some(of_value(v.get_ref()));
    }
    if let Some(l) = c.in_.as_ref().or(c.not_in.as_ref()) {
        return l.get_ref().first().map(of_value);
    }
    if let Some(v) = [&c.gt, &c.gte, &c.lt, &c.lte].into_iter().flatten().next() {
        return Some(ordered(v.get_ref()));
    }
    if let Some(b) = &c.between {
        return b.get_ref().first().map(ordered);
    }
    if c.contains.is_some() || c.starts_with.is_some() {
        return Some(FieldType::Text);
    }
    if c.within_days.is_some() || c.older_than_days.is_some() {
        return Some(FieldType::Date);
    }
    None
}

/// Converts a TOML literal to the field's type, as data of that type would parse.
fn to_lit(v: &toml::Value, ty: FieldType) -> Option<Lit> {
    use toml::Value as V;
    match ty {
        FieldType::Text => Some(Lit::Text(
            match v {
                V::String(s) => normalize_text(s),
                V::Integer(i) => i.to_string(),
                V::Float(f) => f.to_string(),
                V::Boolean(b) => b.to_string(),
                V::Datetime(d) => d.to_string().to_ascii_lowercase(),
                _ => return None,
            }
            .into(),
        )),
        FieldType::Number => match v {
            V::Integer(i) => Some(Lit::Number(*i as f64)),
            V::Float(f) => Some(Lit::Number(*f)),
            V::String(s) => parse_number(s).map(Lit::Number),
            _ => None,
        },
        FieldType::Bool => match v {
            V::Boolean(b) => Some(Lit::Bool(*b)),
            V::String(s) => parse_bool(s).map(Lit::Bool),
            _ => None,
        },
        FieldType::Date => match v {
            V::String(s) => parse_time(s).map(Lit::Date),
            V::Datetime(d) => parse_time(&d.to_string()).map(Lit::Date),
            _ => None,
        },
    }
}

/// A condition in plain language, from the file's own spelling.
pub(crate) fn render(c: &CondSpec) -> String {
    fn val(v: &toml::Value) -> String {
        match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    fn list(l: &[toml::Value]) -> String {
        l.iter().map(val).collect::<Vec<_>>().join(", ")
    }
    fn days(d: f64) -> String {
        if d == 1.0 {
            "day".into()
        } else {
            format!("{d} days")
        }
    }
    if let Some(all) = &c.all {
        return all
            .iter()
            .map(|x| paren(x.get_ref()))
            .collect::<Vec<_>>()
            .join(" and ");
    }
    if let Some(any) = &c.any {
        return any
            .iter()
            .map(|x| paren(x.get_ref()))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    if let Some(n) = &c.not {
        return format!("not ({})", render(n.get_ref()));
    }
    if let Some(f) = &c.field {
        let f = f.get_ref();
        let mut parts = Vec::new();
        if let Some(v) = &c.equals {
            parts.push(format!("{f} is {}", val(v.get_ref())));
        }
        if let Some(v) = &c.not_equals {
            parts.push(format!("{f} is not {}", val(v.get_ref())));
        }
        if let Some(l) = &c.in_ {
            parts.push(format!("{f} is one of {}", list(l.get_ref())));
        }
        if let Some(l) = &c.not_in {
            parts.push(format!("{f} is none of {}", list(l.get_ref())));
        }
        for (v, w) in [
            (&c.gt, "above"),
            (&c.gte, "at least"),
            (&c.lt, "below"),
            (&c.lte, "at most"),
        ] {
            if let Some(v) = v {
                parts.push(format!("{f} is {w} {}", val(v.get_ref())));
            }
        }
        if let Some(b) = &c.between {
            let b = b.get_ref();
            if b.len() == 2 {
                parts.push(format!("{f} is between {} and {}", val(&b[0]), val(&b[1])));
            }
        }
        if let Some(s) = &c.contains {
            parts.push(format!("{f} contains {}", quoted(&s.get_ref().0)));
        }
        if let Some(s) = &c.starts_with {
            parts.push(format!("{f} starts with {}", quoted(&s.get_ref().0)));
        }
        if let Some(e) = c.exists {
            parts.push(format!("{f} is {}", if e { "set" } else { "not set" }));
        }
        if let Some(d) = &c.within_days {
            parts.push(format!("{f} is within the last {}", days(*d.get_ref())));
        }
        if let Some(d) = &c.older_than_days {
            parts.push(format!("{f} is more than {} ago", days(*d.get_ref())));
        }
        return parts.join(" and ");
    }
    if let Some(ev) = &c.event {
        let names = ev.get_ref().0.join(" or ");
        let filter = c
            .where_
            .as_ref()
            .map(|w| format!(" where {}", render(w.get_ref())))
            .unwrap_or_default();
        let window = c
            .within_days
            .as_ref()
            .map(|d| format!(" in the last {}", days(*d.get_ref())))
            .unwrap_or_default();
        if let (Some(per), Some(rate)) = (&c.per, &c.rate) {
            let r = rate.get_ref();
            let (w, v) = [
                ("above", r.above),
                ("at least", r.at_least),
                ("below", r.below),
                ("at most", r.at_most),
            ]
            .into_iter()
            .find_map(|(w, v)| v.map(|v| (w, v)))
            .unwrap_or(("above", 0.0));
            return format!(
                "{names}{filter} per {} {w} {}%{window}",
                per.get_ref().0.join(" or "),
                v * 100.0
            );
        }
        let how = match c.count.as_ref().map(|c| c.get_ref()) {
            None => "any".to_owned(),
            Some(c) => match (c.exactly, c.at_least, c.at_most) {
                (Some(0), _, _) | (None, None, Some(0)) => "no".to_owned(),
                (Some(1), _, _) => "exactly one".to_owned(),
                (Some(n), _, _) => format!("exactly {n} ×"),
                (None, Some(lo), Some(hi)) => format!("{lo} to {hi} ×"),
                (None, Some(lo), None) => format!("at least {lo} ×"),
                (None, None, Some(hi)) => format!("at most {hi} ×"),
                _ => "any".to_owned(),
            },
        };
        return format!("{how} {names}{filter}{window}");
    }
    String::new()
}

fn paren(c: &CondSpec) -> String {
    let s = render(c);
    if c.all.is_some() || c.any.is_some() {
        format!("({s})")
    } else {
        s
    }
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

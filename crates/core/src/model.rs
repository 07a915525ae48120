//! The compiled model: what a model file becomes once it has been checked. Scoring reads only
//! these types; no string is looked up or re-validated while scoring.

use crate::name::Name;
use crate::value::{DAY, FieldType, UnixSeconds};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// Which record an attribute lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The contact (person) itself.
    Contact,
    /// The contact's account (company), written `account.<field>` in a model.
    Account,
}

/// A field the model reads, with the type it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDef {
    /// The column or attribute name.
    pub name: String,
    /// The type values must parse as.
    #[serde(rename = "type")]
    pub ty: FieldType,
}

/// Identifies the exact model that produced a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelRef {
    /// `[model] name`.
    pub name: String,
    /// `[model] version`.
    pub version: String,
    /// SHA-256 of the model file's bytes, in hex.
    pub hash: String,
}

/// How category points become the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// The score is the sum of (capped) category points.
    Raw,
    /// Each category contributes `weight × min(points, cap) / cap`; the sum is clamped to 0–100.
    Normalized,
}

/// Time decay: half-life, expiry, or both.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Decay {
    /// Points halve every this many days.
    pub half_life_days: Option<f64>,
    /// Points older than this many days count zero.
    pub expire_after_days: Option<f64>,
}

impl Decay {
    /// The share of points an event of this age keeps.
    pub fn factor(&self, age_secs: i64) -> f64 {
        let days = age_secs.max(0) as f64 / DAY as f64;
        if let Some(e) = self.expire_after_days
            && days > e
        {
            return 0.0;
        }
        // 0.5^(days/h) as 2^(-days/h): the same number, and exp2 is much cheaper than powf on
        // the hot path (every decayed event of a batch run).
        match self.half_life_days {
            Some(h) => (-days / h).exp2(),
            None => 1.0,
        }
    }

    /// True when no decay applies.
    pub fn is_none(&self) -> bool {
        self.half_life_days.is_none() && self.expire_after_days.is_none()
    }
}

/// A literal in a condition, already converted to the field's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Text(Box<str>),
    Number(f64),
    Bool(bool),
    Date(UnixSeconds),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A test on one value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pred {
    Eq(Lit),
    Ne(Lit),
    In(Vec<Lit>),
    NotIn(Vec<Lit>),
    Cmp(CmpOp, Lit),
    Between(Lit, Lit),
    Contains(Vec<Box<str>>),
    StartsWith(Vec<Box<str>>),
    Exists(bool),
    WithinDays(f64),
    OlderThanDays(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateOp {
    Above,
    AtLeast,
    Below,
    AtMost,
}

/// A compiled condition tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    /// A test on a contact or account attribute.
    Attr {
        scope: Scope,
        slot: usize,
        pred: Pred,
    },
    /// A test on an event property (only inside a tracker's filter).
    Prop {
        slot: usize,
        pred: Pred,
    },
    /// The number of matching events lies in `min..=max`.
    Count {
        tracker: usize,
        min: u32,
        max: u32,
    },
    /// `count(num) / count(den)` compared with a value; false when `den` is zero.
    Rate {
        num: usize,
        den: usize,
        op: RateOp,
        value: f64,
    },
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

/// Per-occurrence scoring attached to a tracker: each matching event adds `points × decay`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PerOccurrence {
    pub points: f64,
    pub decay: Decay,
}

/// Watches the event stream for one event leaf: which types, which properties, which window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tracker {
    pub types: Vec<usize>,
    pub filter: Option<Cond>,
    /// Window length in seconds; events before `as_of - window` do not count.
    pub window: Option<i64>,
    pub per_occurrence: Option<PerOccurrence>,
}

/// The three kinds of criteria marketers talk about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Who they are: attributes only.
    Explicit,
    /// What they do: depends on events.
    Implicit,
    /// Takes points away.
    Negative,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub id: Name,
    pub label: Name,
    pub category: usize,
    pub points: i64,
    pub when: Cond,
    /// The tracker that sums per-occurrence points, when `per_occurrence = true`.
    pub per_occurrence: Option<usize>,
    pub max_points: Option<f64>,
    pub decay: Decay,
    pub interesting: bool,
    pub kind: Kind,
    /// Trackers whose matches are positive signals of `when` (not negated, not absence): where
    /// a once-only rule's decay clock and the last interesting moment come from.
    pub positive: Vec<usize>,
    /// The condition in plain language, for explanations and `leadscore check`.
    pub text: Name,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Category {
    pub id: Name,
    pub label: Name,
    pub weight: Option<f64>,
    pub cap: Option<f64>,
    pub decay: Decay,
}

/// One tier: scores at or above `min` (strictly above when `strict`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tier {
    pub name: String,
    pub min: f64,
    pub strict: bool,
}

/// Tiers sorted from the highest threshold down; the last has no threshold (the floor).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tiers(pub Vec<Tier>);

impl Tiers {
    pub fn of(&self, score: f64) -> &str {
        self.0
            .iter()
            .find(|t| {
                if t.strict {
                    score > t.min
                } else {
                    score >= t.min
                }
            })
            .map_or("", |t| t.name.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Routing {
    pub sales_ready_tiers: Vec<String>,
    pub top_percent: Option<f64>,
}

/// The rule set, tiers and routing in force for one segment (index 0 is the default model).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    pub id: String,
    pub label: String,
    pub when: Option<Cond>,
    pub when_text: String,
    pub rules: Vec<usize>,
    pub tiers: Tiers,
    pub routing: Routing,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grade {
    pub fit_categories: Vec<usize>,
    pub engagement_categories: Vec<usize>,
    /// Least points for A, B, C (below C is D).
    pub fit: [f64; 3],
    /// Least points for 1, 2, 3 (below 3 is 4).
    pub engagement: [f64; 3],
    pub sales_ready: Vec<String>,
    pub priority: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Disqualifier {
    pub id: Name,
    pub reason: Name,
    pub when: Cond,
}

/// How an account's score is made from its contacts' scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum RollUp {
    /// The best contact's score.
    Max,
    /// The sum of contact scores, optionally capped.
    Sum {
        /// Upper bound on the sum.
        cap: Option<f64>,
    },
    /// The mean of the best `top` contact scores.
    MeanTop {
        /// How many contacts count.
        top: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccountRollup {
    pub method: RollUp,
    pub tiers: Option<Tiers>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NamedScore {
    pub id: Name,
    pub label: Name,
    pub categories: Vec<usize>,
    pub tiers: Option<Tiers>,
}

/// A checked, compiled scoring model. Build one with [`Model::from_toml`].
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) meta: std::sync::Arc<ModelRef>,
    pub(crate) description: Option<String>,
    pub(crate) scale: Scale,
    pub(crate) contact_fields: Vec<FieldDef>,
    pub(crate) account_fields: Vec<FieldDef>,
    pub(crate) properties: Vec<FieldDef>,
    pub(crate) event_types: FxHashMap<Box<str>, usize>,
    pub(crate) event_type_names: Vec<Name>,
    pub(crate) trackers: Vec<Tracker>,
    /// For each event type id, the trackers it feeds and its position in each tracker's list.
    pub(crate) trackers_by_type: Vec<Vec<(usize, u8)>>,
    pub(crate) categories: Vec<Category>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) profiles: Vec<Profile>,
    pub(crate) grade: Option<Grade>,
    pub(crate) disqualify: Vec<Disqualifier>,
    pub(crate) account: Option<AccountRollup>,
    pub(crate) named: Vec<NamedScore>,
}

impl Model {
    /// Name, version and content hash.
    pub fn reference(&self) -> &ModelRef {
        &self.meta
    }

    /// The optional description from `[model]`.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Raw points or a 0–100 composite.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Contact attributes the model reads, in slot order: a reader fills `Contact::attrs` in
    /// exactly this order.
    pub fn contact_fields(&self) -> &[FieldDef] {
        &self.contact_fields
    }

    /// Account attributes the model reads, in slot order.
    pub fn account_fields(&self) -> &[FieldDef] {
        &self.account_fields
    }

    /// Event properties the model reads, in slot order: a [`crate::Props`] source answers by slot.
    pub fn properties(&self) -> &[FieldDef] {
        &self.properties
    }

    /// Category ids in file order (the subtotal columns of an export).
    pub fn category_ids(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(|c| c.id.as_str())
    }

    /// Named scores in file order: id, and whether the score has tiers of its own.
    pub fn named_scores(&self) -> impl Iterator<Item = (&str, bool)> {
        self.named
            .iter()
            .map(|n| (n.id.as_str(), n.tiers.is_some()))
    }

    /// Segment ids, the default first.
    pub fn segment_ids(&self) -> impl Iterator<Item = &str> {
        self.profiles.iter().map(|p| p.id.as_str())
    }

    /// The id of an event type the model reacts to; `None` means events of that type can be
    /// skipped without changing any score.
    pub fn event_type(&self, name: &str) -> Option<EventType> {
        self.event_types.get(name).map(|&i| EventType(i))
    }

    /// Whether the model has an account roll-up.
    pub fn rolls_up_accounts(&self) -> bool {
        self.account.is_some()
    }

    /// The account roll-up method, if any.
    pub fn roll_up(&self) -> Option<&RollUp> {
        self.account.as_ref().map(|a| &a.method)
    }
}

/// An event type the model knows, as a small integer (see [`Model::event_type`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType(pub(crate) usize);

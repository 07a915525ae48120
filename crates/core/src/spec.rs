//! The model file as written: serde shapes of the TOML, before any checking.
//!
//! Every struct denies unknown keys so a typo (`point = 5`) is an error at its line instead of a
//! rule that silently scores nothing. Identifiers that other parts refer to are `Spanned` so a
//! semantic error (an unknown category, a duplicate id) can still point at the line.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelSpec {
    pub model: MetaSpec,
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub category: Vec<CategorySpec>,
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
    #[serde(default)]
    pub tier: Vec<TierSpec>,
    #[serde(default)]
    pub routing: Option<RoutingSpec>,
    #[serde(default)]
    pub grade: Option<GradeSpec>,
    #[serde(default)]
    pub disqualify: Vec<DisqualifySpec>,
    #[serde(default)]
    pub segment: Vec<SegmentSpec>,
    #[serde(default)]
    pub account: Option<AccountSpec>,
    #[serde(default)]
    pub score: Vec<NamedScoreSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetaSpec {
    pub name: Spanned<String>,
    pub version: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub scale: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CategorySpec {
    pub id: Spanned<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub weight: Option<Spanned<f64>>,
    #[serde(default)]
    pub cap: Option<Spanned<f64>>,
    #[serde(default)]
    pub decay: Option<Spanned<DecaySpec>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecaySpec {
    #[serde(default)]
    pub half_life_days: Option<f64>,
    #[serde(default)]
    pub expire_after_days: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSpec {
    pub id: Spanned<String>,
    pub category: Spanned<String>,
    pub points: Spanned<i64>,
    #[serde(default)]
    pub label: Option<String>,
    pub when: Spanned<CondSpec>,
    #[serde(default)]
    pub per_occurrence: bool,
    #[serde(default)]
    pub max_points: Option<Spanned<i64>>,
    #[serde(default)]
    pub decay: Option<Spanned<DecaySpec>>,
    #[serde(default)]
    pub interesting: Option<bool>,
}

/// One node of a condition tree. Which keys are present decides what it is: `field` makes an
/// attribute predicate, `event` an event-count (or rate) test, `all`/`any`/`not` a combinator.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CondSpec {
    // attribute / property predicate
    #[serde(default)]
    pub field: Option<Spanned<String>>,
    #[serde(default)]
    pub equals: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub not_equals: Option<Spanned<toml::Value>>,
    #[serde(default, rename = "in")]
    pub in_: Option<Spanned<Vec<toml::Value>>>,
    #[serde(default)]
    pub not_in: Option<Spanned<Vec<toml::Value>>>,
    #[serde(default)]
    pub gt: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub gte: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub lt: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub lte: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub between: Option<Spanned<Vec<toml::Value>>>,
    #[serde(default)]
    pub contains: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub starts_with: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default)]
    pub older_than_days: Option<Spanned<f64>>,
    // event leaf
    #[serde(default)]
    pub event: Option<Spanned<OneOrMany>>,
    #[serde(default, rename = "where")]
    pub where_: Option<Box<Spanned<CondSpec>>>,
    #[serde(default)]
    pub within_days: Option<Spanned<f64>>,
    #[serde(default)]
    pub count: Option<Spanned<CountSpec>>,
    #[serde(default)]
    pub per: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub rate: Option<Spanned<RateSpec>>,
    // combinators
    #[serde(default)]
    pub all: Option<Vec<Spanned<CondSpec>>>,
    #[serde(default)]
    pub any: Option<Vec<Spanned<CondSpec>>>,
    #[serde(default)]
    pub not: Option<Box<Spanned<CondSpec>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountSpec {
    #[serde(default)]
    pub at_least: Option<u32>,
    #[serde(default)]
    pub at_most: Option<u32>,
    #[serde(default)]
    pub exactly: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateSpec {
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub at_least: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub at_most: Option<f64>,
}

/// A string or a list of strings: `event = "email_open"` or `event = ["email_open", "page_view"]`.
#[derive(Debug, Clone)]
pub(crate) struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TierSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub min: Option<Spanned<f64>>,
    #[serde(default)]
    pub above: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutingSpec {
    #[serde(default)]
    pub sales_ready_tiers: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub top_percent: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GradeSpec {
    pub fit_categories: Vec<Spanned<String>>,
    pub engagement_categories: Vec<Spanned<String>>,
    /// `{ A = 30, B = 20, C = 10 }`: the least points for each letter; below C is D.
    pub fit: Spanned<std::collections::BTreeMap<String, f64>>,
    /// `{ 1 = 40, 2 = 25, 3 = 10 }`: the least points for each level; below 3 is 4.
    pub engagement: Spanned<std::collections::BTreeMap<String, f64>>,
    #[serde(default)]
    pub sales_ready: Vec<Spanned<String>>,
    #[serde(default)]
    pub priority: Vec<PrioritySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrioritySpec {
    pub name: Spanned<String>,
    pub cells: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisqualifySpec {
    pub id: Spanned<String>,
    #[serde(default)]
    pub reason: Option<String>,
    pub when: Spanned<CondSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SegmentSpec {
    pub id: Spanned<String>,
    #[serde(default)]
    pub label: Option<String>,
    pub when: Spanned<CondSpec>,
    #[serde(default)]
    pub tier: Option<Vec<TierSpec>>,
    #[serde(default)]
    pub routing: Option<RoutingSpec>,
    #[serde(default)]
    pub replace_rules: bool,
    #[serde(default)]
    pub exclude_rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountSpec {
    pub method: Spanned<String>,
    #[serde(default)]
    pub cap: Option<Spanned<f64>>,
    #[serde(default)]
    pub top: Option<Spanned<i64>>,
    #[serde(default)]
    pub tier: Option<Vec<TierSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedScoreSpec {
    pub id: Spanned<String>,
    #[serde(default)]
    pub label: Option<String>,
    pub categories: Vec<Spanned<String>>,
    #[serde(default)]
    pub tier: Vec<TierSpec>,
}

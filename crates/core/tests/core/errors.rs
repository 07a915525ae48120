//! Model-file errors point at the file, line and column.
//!
//! Every source below starts on line 1 right after `r#"`; a `# line N` comment marks the line
//! an error points at.

use leadscore_core::{Model, ModelError};

fn error(src: &str) -> ModelError {
    match Model::from_toml(src, "m.toml") {
        Ok(_) => panic!("the model compiled, but should not have:\n{src}"),
        Err(e) => e,
    }
}

/// The whole message, `file:line:column: message` per problem.
fn message(src: &str) -> String {
    error(src).to_string()
}

// ---- the TOML shape ---------------------------------------------------------------------------

#[test]
fn unknown_key_is_a_typo_at_its_line() {
    let src = r#"[model]
name = "t"
version = "1"

[[category]]
id = "c"

[[rule]]
id = "r"
category = "c"
point = 5 # line 11
when = { event = "open" }
"#;
    assert_eq!(
        message(src),
        "m.toml:11:1: unknown field `point`, expected one of `id`, `category`, `points`, \
         `label`, `when`, `per_occurrence`, `max_points`, `decay`, `interesting`"
    );
}

#[test]
fn unknown_key_inside_a_condition() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "r"
category = "c"
points = 5
when = { field = "country", equal = "US" } # line 10
"#;
    let e = message(src);
    assert!(
        e.starts_with("m.toml:10:29: unknown field `equal`, expected one of `field`, `equals`,"),
        "{e}"
    );
}

#[test]
fn wrong_type() {
    let src = r#"[model]
name = "t"
version = "1"

[[category]]
id = "c"

[[rule]]
id = "r"
category = "c"
points = "five" # line 11, the value at column 10
when = { event = "open" }
"#;
    assert_eq!(
        message(src),
        "m.toml:11:10: invalid type: string \"five\", expected i64"
    );
}

#[test]
fn unknown_field_type() {
    let src = r#"[model]
name = "t"
version = "1"

[fields]
employees = "number"
signed_up = "datetime"
score = "integer" # line 8
"#;
    assert_eq!(
        message(src),
        "m.toml:8:9: field `score`: unknown type \"integer\" (use text, number, bool or date)"
    );
}

// ---- ids and references -----------------------------------------------------------------------

#[test]
fn unknown_category_in_a_rule_lists_the_known_ones() {
    let src = r#"[model]
name = "t"
version = "1"

[[category]]
id = "fit"

[[category]]
id = "engagement"

[[rule]]
id = "r"
category = "engagment" # line 13
points = 5
when = { event = "open" }
"#;
    assert_eq!(
        message(src),
        "m.toml:13:12: rule `r`: unknown category `engagment` (categories: fit, engagement)"
    );
}

#[test]
fn duplicate_rule_id_names_the_first_line() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"

[[rule]]
id = "opens" # line 8
category = "c"
points = 1
when = { event = "open" }

[[rule]]
id = "opens" # line 14
category = "c"
points = 2
when = { event = "click" }
"#;
    assert_eq!(
        message(src),
        "m.toml:14:6: duplicate rule id `opens` (first defined at line 8)"
    );
}

#[test]
fn duplicate_category() {
    let src = r#"[model]
name = "t"
version = "1"

[[category]]
id = "fit" # line 6

[[category]]
id = "engagement"

[[category]]
id = "fit" # line 12
"#;
    assert_eq!(
        message(src),
        "m.toml:12:6: duplicate category id `fit` (first defined at line 6)"
    );
}

#[test]
fn segment_excluding_an_unknown_rule() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "size"
category = "c"
points = 10
when = { field = "employees", gte = 50 }

[[segment]]
id = "smb"
when = { field = "employees", lt = 50 }
exclude_rules = ["size", "sise"] # line 15, "sise" at column 26
"#;
    assert_eq!(
        message(src),
        "m.toml:15:26: segment `smb` excludes rule `sise`, which the default model does not have"
    );
}

// ---- tiers and routing ------------------------------------------------------------------------

#[test]
fn tiers_need_exactly_one_floor() {
    let none = r#"[model]
name = "t"
version = "1"

[[tier]]
name = "hot" # line 6
min = 70

[[tier]]
name = "warm"
min = 40
"#;
    assert_eq!(
        message(none),
        "m.toml:6:8: one tier must leave out `min`/`above`: it holds every score below the others"
    );
    let two = r#"[model]
name = "t"
version = "1"

[[tier]]
name = "hot"
min = 70

[[tier]]
name = "cold"

[[tier]]
name = "frozen" # line 13
"#;
    assert_eq!(
        message(two),
        "m.toml:13:8: only one tier may leave out `min`/`above` (the lowest tier); `frozen` is a second"
    );
}

#[test]
fn tier_with_min_and_above() {
    let src = r#"[model]
name = "t"
version = "1"

[[tier]]
name = "hot"
min = 70
above = 70 # line 8

[[tier]]
name = "cold"
"#;
    assert_eq!(
        message(src),
        "m.toml:8:9: tier `hot`: give `min` (score ≥ min) or `above` (score > above), not both"
    );
}

#[test]
fn sales_ready_tiers_naming_an_unknown_tier() {
    let src = r#"[model]
name = "t"
version = "1"

[[tier]]
name = "hot"
min = 70

[[tier]]
name = "cold"

[routing]
sales_ready_tiers = ["hot", "Hot"] # line 13, "Hot" at column 29
"#;
    assert_eq!(
        message(src),
        "m.toml:13:29: `sales_ready_tiers` names unknown tier `Hot`"
    );
}

// ---- scales, weights, caps --------------------------------------------------------------------

#[test]
fn normalized_weights_must_add_up_to_100() {
    let src = r#"[model]
name = "t"
version = "1"
scale = "normalized"

[[category]]
id = "fit" # line 7
weight = 40
cap = 20

[[category]]
id = "engagement"
weight = 50
cap = 30
"#;
    assert_eq!(
        message(src),
        "m.toml:7:6: category weights must add up to 100, they add up to 90"
    );
}

#[test]
fn an_account_cap_must_be_a_positive_number() {
    // Found by the robustness property test: a cap of -1e308 made the account score -inf.
    let src = "[model]\nname = \"t\"\nversion = \"1\"\n[account]\nmethod = \"sum\"\ncap = -1e308\n";
    assert_eq!(
        message(src),
        "m.toml:6:7: account `cap` must be a positive number, not -1e308"
    );
}

#[test]
fn normalized_category_without_cap() {
    let src = r#"[model]
name = "t"
version = "1"
scale = "normalized"

[[category]]
id = "fit"
weight = 60
cap = 20

[[category]]
id = "engagement" # line 12
weight = 40
"#;
    assert_eq!(
        message(src),
        "m.toml:12:6: category `engagement` needs a `cap` (the points that count as full marks) \
         because the model's scale is \"normalized\""
    );
}

#[test]
fn weight_in_a_raw_model() {
    let src = r#"[model]
name = "t"
version = "1"

[[category]]
id = "fit"
weight = 60 # line 7
"#;
    assert_eq!(
        message(src),
        "m.toml:7:10: `weight` only applies when `model.scale = \"normalized\"`"
    );
}

// ---- rules ------------------------------------------------------------------------------------

#[test]
fn per_occurrence_needs_a_single_event_test() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "senior"
category = "c"
points = 5
when = { field = "seniority", equals = "vp" } # line 10
per_occurrence = true
"#;
    assert_eq!(
        message(src),
        "m.toml:10:8: rule `senior`: `per_occurrence` needs `when` to be a single event test, \
         e.g. when = { event = \"email_open\" }"
    );
}

#[test]
fn max_points_without_per_occurrence() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "opens"
category = "c"
points = 5
when = { event = "email_open" }
max_points = 20 # line 11
"#;
    assert_eq!(
        message(src),
        "m.toml:11:14: rule `opens`: `max_points` only applies with `per_occurrence = true`"
    );
}

#[test]
fn decay_on_an_attribute_rule() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "senior"
category = "c"
points = 5
when = { field = "seniority", equals = "vp" }
decay = { half_life_days = 30 } # line 11
"#;
    assert_eq!(
        message(src),
        "m.toml:11:9: rule `senior`: `decay` needs an event test: attribute rules have no timestamp to age"
    );
}

// ---- conditions -------------------------------------------------------------------------------

#[test]
fn a_field_used_as_a_number_then_as_text() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"

[[rule]]
id = "size"
category = "c"
points = 10
when = { field = "employees", gte = 50 } # line 11

[[rule]]
id = "many"
category = "c"
points = 5
when = { field = "employees", equals = "many" } # line 17, "many" at column 40

[[rule]]
id = "text"
category = "c"
points = 5
when = { field = "employees", contains = "k" } # line 23, "k" at column 42
"#;
    assert_eq!(
        message(src),
        "m.toml:17:40: field `employees` is a number (first used that way at line 11); \"many\" is not\n\
         m.toml:23:42: field `employees` is a number (first used that way at line 11): text tests need text"
    );
    // A declared type is named as such.
    let declared = r#"[model]
name = "t"
version = "1"
[fields]
employees = "number" # line 5
[[category]]
id = "c"
[[rule]]
id = "many"
category = "c"
points = 5
when = { field = "employees", in = ["many", "few"] } # line 12, the list at column 36
"#;
    assert_eq!(
        message(declared),
        "m.toml:12:36: field `employees` is a number (declared under [fields] at line 5); \"many\" is not"
    );
}

#[test]
fn between_needs_two_values() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "age"
category = "c"
points = 1
when = { field = "age", between = [25] } # line 10, the list at column 35
"#;
    assert_eq!(
        message(src),
        "m.toml:10:35: `between` takes two values: [low, high] (both included)"
    );
}

#[test]
fn empty_condition() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "r"
category = "c"
points = 1
when = { all = [{ field = "a", exists = true }, {}] } # line 10, `{}` at column 49
"#;
    assert_eq!(
        message(src),
        "m.toml:10:49: empty condition: give `field` (an attribute test), `event` (a behaviour test), or `all`/`any`/`not`"
    );
}

#[test]
fn field_and_event_in_one_table() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "r"
category = "c"
points = 1
when = { field = "role", equals = "cto", event = "demo" } # line 10
"#;
    assert_eq!(
        message(src),
        "m.toml:10:8: a condition tests either a `field` or an `event`, not both: combine them with `all = [...]`"
    );
}

#[test]
fn attribute_tests_beside_event_or_all_are_errors_not_ignored() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "old-open"
category = "c"
points = 1
when = { event = "email_open", older_than_days = 30 } # line 10
[[rule]]
id = "big"
category = "c"
points = 1
when = { all = [{ event = "purchase" }], gte = 100 } # line 15
"#;
    assert_eq!(
        message(src),
        "m.toml:10:8: `older_than_days` tests a `field`; an `event` test takes `where`, `count`, `within_days`, `per` and `rate`\n\
         m.toml:15:8: a condition with `all`, `any` or `not` must have nothing else in the same table"
    );
}

// ---- grade ------------------------------------------------------------------------------------

#[test]
fn unknown_grade_cell() {
    let src = r#"[model]
name = "t"
version = "1"
[[category]]
id = "fit"
[[category]]
id = "eng"
[grade]
fit_categories = ["fit"]
engagement_categories = ["eng"]
fit = { A = 30, B = 20, C = 10 }
engagement = { 1 = 40, 2 = 25, 3 = 10 }
sales_ready = ["A1", "E1", "A5"] # line 13: "E1" at column 22, "A5" at column 28
"#;
    let e = error(src);
    assert_eq!(e.diagnostics.len(), 2);
    assert_eq!(
        e.to_string(),
        "m.toml:13:22: `E1` is not a grade cell: use a letter A–D then a digit 1–4, e.g. \"A1\"\n\
         m.toml:13:28: `A5` is not a grade cell: use a letter A–D then a digit 1–4, e.g. \"A1\""
    );
}

// ---- several at once --------------------------------------------------------------------------

#[test]
fn several_errors_are_reported_together_in_file_order() {
    let src = r#"[model]
name = "t"
version = "1"

[[category]]
id = "fit"

[[category]]
id = "fit" # line 9

[[rule]]
id = "r"
category = "intent" # line 13
points = 5
when = { field = "age", between = [25] } # line 15

[[tier]]
name = "hot" # line 18
min = 70

[routing]
sales_ready_tiers = ["warm"] # line 22
"#;
    let e = error(src);
    let at: Vec<(usize, usize)> = e.diagnostics.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(at, vec![(9, 6), (13, 12), (15, 35), (18, 8), (22, 22)]);
    assert_eq!(
        e.to_string(),
        "m.toml:9:6: duplicate category id `fit` (first defined at line 6)\n\
         m.toml:13:12: rule `r`: unknown category `intent` (categories: fit)\n\
         m.toml:15:35: `between` takes two values: [low, high] (both included)\n\
         m.toml:18:8: one tier must leave out `min`/`above`: it holds every score below the others\n\
         m.toml:22:22: `sales_ready_tiers` names unknown tier `warm`"
    );
    assert_eq!(e.file, "m.toml");
}

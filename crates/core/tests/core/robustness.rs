//! Property tests: bad model files, attribute values and events never panic the core.
//!
//! Every property draws inputs at random (proptest) and checks only what must hold for any
//! input: no panic, errors that point inside the source and name the file or field at fault,
//! and finite scores (within 0–100 on normalized models).

use crate::common::as_of;
use leadscore_core::{Event, FieldDef, Model, ModelError, Scale, Scorer};
use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::LazyLock;

/// The shipped example files: (file name, source).
static SOURCES: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let dir = format!("{}/../../examples", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "expected the shipped examples in {dir}");
    files
});

/// The examples, compiled.
static MODELS: LazyLock<Vec<Model>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(name, src)| {
            Model::from_toml(src, name).unwrap_or_else(|e| panic!("{name} does not compile:\n{e}"))
        })
        .collect()
});

/// For each example, the event types it reacts to: the quoted words of the file that the
/// compiled model knows as event types.
static EVENT_TYPES: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .zip(MODELS.iter())
        .map(|((name, src), m)| {
            let mut types: Vec<String> = src
                .split('"')
                .skip(1)
                .step_by(2)
                .filter(|w| m.event_type(w).is_some())
                .map(str::to_owned)
                .collect();
            types.sort();
            types.dedup();
            // An attribute-only model (no `event =` test anywhere) reacts to no event type;
            // every other example must show the scan works.
            assert!(
                types.len() >= 3 || !src.contains("event"),
                "{name}: too few event types found: {types:?}"
            );
            types
        })
        .collect()
});

/// `cases` per property; `PROPTEST_CASES` in the environment overrides it for a longer hunt.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Checks what every model error must have: a diagnostic, and each pointing inside `src`.
fn check_error(e: &ModelError, src: &str, file: &str) -> Result<(), TestCaseError> {
    prop_assert!(!e.diagnostics.is_empty(), "an error without diagnostics");
    let lines: Vec<&str> = src.split('\n').collect();
    for d in &e.diagnostics {
        prop_assert!(
            d.line >= 1 && d.line <= lines.len(),
            "line {} outside a source of {} lines: {}",
            d.line,
            lines.len(),
            d.message
        );
        let width = lines[d.line - 1].chars().count();
        prop_assert!(
            d.column >= 1 && d.column <= width + 1,
            "column {} outside line {} ({} characters): {}",
            d.column,
            d.line,
            width,
            d.message
        );
    }
    let text = e.to_string();
    prop_assert!(
        text.starts_with(&format!("{file}:")),
        "the message does not start with the file name: {text}"
    );
    Ok(())
}

/// Compiles `src`; on an error, checks it points inside `src` and names `file`.
fn compile_checked(src: &str, file: &str) -> Result<Option<Model>, TestCaseError> {
    match Model::from_toml(src, file) {
        Ok(m) => Ok(Some(m)),
        Err(e) => {
            check_error(&e, src, file)?;
            Ok(None)
        }
    }
}

// ---- (a) arbitrary text as a model file -------------------------------------------------------

/// Pieces of model files, right and wrong, spliced into the examples by [`Mutation::Replace`].
const FRAGMENTS: &[&str] = &[
    "[model]",
    "name = \"m\"",
    "scale = \"huge\"",
    "[fields]",
    "age = \"colour\"",
    "[[category]]",
    "id = \"\"",
    "weight = -1",
    "[[rule]]",
    "category = \"nope\"",
    "points = 9223372036854775807",
    "when = { any = [] }",
    "[[tier]]",
    "min = nan",
    "x = { a = [1, 2, { b = \"c\" }] }",
    "= 1",
    "\"unterminated",
    "'''",
    "[",
    "]]",
    "# comment é ✓",
    "\t\r",
    "",
];

/// Tables of model files: header, how many of the keys that follow are required, the keys.
const TABLES: &[(&str, usize, &[&str])] = &[
    ("[model]", 2, &["name", "version", "scale", "description"]),
    ("[fields]", 0, &["age", "employees", "d", "n", "role"]),
    (
        "[[category]]",
        1,
        &["id", "label", "weight", "cap", "decay"],
    ),
    (
        "[[rule]]",
        4,
        &[
            "id",
            "category",
            "points",
            "when",
            "label",
            "per_occurrence",
            "max_points",
            "decay",
            "interesting",
        ],
    ),
    ("[[tier]]", 1, &["name", "min", "above"]),
    ("[routing]", 0, &["sales_ready_tiers", "top_percent"]),
    (
        "[[segment]]",
        2,
        &[
            "id",
            "when",
            "label",
            "exclude_rules",
            "replace_rules",
            "routing",
        ],
    ),
    ("[[segment.tier]]", 1, &["name", "min", "above"]),
    ("[[segment.rule]]", 4, &["id", "category", "points", "when"]),
    ("[[disqualify]]", 2, &["id", "when", "reason"]),
    (
        "[grade]",
        4,
        &[
            "fit_categories",
            "engagement_categories",
            "fit",
            "engagement",
            "sales_ready",
        ],
    ),
    ("[[grade.priority]]", 2, &["name", "cells"]),
    ("[account]", 1, &["method", "top", "cap"]),
    ("[[account.tier]]", 1, &["name", "min"]),
    ("[[score]]", 2, &["id", "categories", "label"]),
    ("[[score.tier]]", 1, &["name", "min"]),
];

const STRINGS: &[&str] = &[
    "\"m\"",
    "\"1\"",
    "\"c\"",
    "\"c\"",
    "\"d\"",
    "\"r\"",
    "\"s\"",
    "\"hot\"",
    "\"cold\"",
    "\"\"",
    "\" \"",
    "\"raw\"",
    "\"normalized\"",
    "\"max\"",
    "\"sum\"",
    "\"mean_top\"",
    "\"x y\"",
];
const FIELD_TYPES: &[&str] = &[
    "\"number\"",
    "\"date\"",
    "\"bool\"",
    "\"text\"",
    "\"colour\"",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "10",
    "50",
    "100",
    "0.5",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
];
const INTEGERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "10",
    "50",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
];
const BOOLS: &[&str] = &["true", "false"];
const GRADE_MAPS: &[&str] = &[
    "{ A = 60, B = 40, C = 20 }",
    "{ 1 = 60, 2 = 40, 3 = 20 }",
    "{ A = 10, B = 20, C = 30 }",
    "{ A = nan, B = 1, C = 0 }",
    "{ A = 1 }",
    "{ X = 1, 1 = 2 }",
    "{}",
];
const ROUTINGS: &[&str] = &[
    "{ sales_ready_tiers = [\"hot\"], top_percent = 5 }",
    "{ top_percent = 0 }",
    "{ top_percent = 101 }",
    "{ sales_ready_tiers = [\"nope\"] }",
];
const LISTS: &[&str] = &[
    "[]",
    "[\"c0\"]",
    "[\"c1\"]",
    "[\"c0\", \"c0\"]",
    "[\"c0\", \"c1\"]",
    "[\"x\"]",
    "[\"t1\"]",
    "[\"t2\", \"t3\"]",
    "[\"r2\"]",
    "[\"A1\", \"B2\"]",
    "[\"Z9\"]",
];
const DECAYS: &[&str] = &[
    "{}",
    "{ half_life_days = 30 }",
    "{ half_life_days = 0 }",
    "{ half_life_days = -1, expire_after_days = nan }",
    "{ expire_after_days = 0 }",
    "{ half_life_days = 1e308 }",
];
const CONDITIONS: &[&str] = &[
    "{ event = \"page_view\" }",
    "{ event = \"\" }",
    "{ event = [] }",
    "{ event = [\"a\", \"a\"] }",
    "{ event = \"a\", within_days = -1 }",
    "{ event = \"a\", within_days = 1e308 }",
    "{ event = \"a\", within_days = nan }",
    "{ event = \"a\", count = { at_least = 3, at_most = 1 } }",
    "{ event = \"a\", count = { exactly = 0 }, within_days = 60 }",
    "{ event = \"a\", count = { at_least = -1 } }",
    "{ event = \"a\", where = { field = \"url\", contains = \"/p\" } }",
    "{ event = \"a\", where = { field = \"url\", contains = [] } }",
    "{ event = \"a\", where = { field = \"n\", gt = \"x\" } }",
    "{ event = \"a\", where = { field = \"d\", within_days = 3 } }",
    "{ event = \"a\", where = { any = [] } }",
    "{ field = \"age\", between = [1, 2] }",
    "{ field = \"age\", between = [2, 1] }",
    "{ field = \"age\", between = [2] }",
    "{ field = \"age\", gte = nan }",
    "{ field = \"age\", equals = \"x\" }",
    "{ field = \"d\", within_days = 7 }",
    "{ field = \"d\", older_than_days = -1 }",
    "{ field = \"role\", in = [] }",
    "{ field = \"role\", in = [1, \"a\", true] }",
    "{ field = \"role\", starts_with = \"\" }",
    "{ field = \"x\", exists = true }",
    "{ field = \"account.size\", gt = 10 }",
    "{ field = \"\", exists = false }",
    "{ any = [] }",
    "{ all = [] }",
    "{ not = { event = \"a\" } }",
    "{ all = [{ event = \"a\" }, { not = { field = \"x\", exists = true } }] }",
    "{ event = \"a\", per = \"b\", rate = { above = 0.5 } }",
    "{ event = \"a\", per = \"a\", rate = { above = -1, below = 2 } }",
    "{ event = \"a\", rate = { at_most = nan } }",
];

/// The values a key of a model file takes.
fn values_for(table: &str, key: &str) -> &'static [&'static str] {
    match key {
        _ if table == "[fields]" => FIELD_TYPES,
        "points" | "max_points" | "top" => INTEGERS,
        "weight" | "cap" | "min" | "above" | "top_percent" => NUMBERS,
        "when" => CONDITIONS,
        "decay" => DECAYS,
        "per_occurrence" | "interesting" | "replace_rules" => BOOLS,
        "fit" | "engagement" => GRADE_MAPS,
        "routing" => ROUTINGS,
        "fit_categories"
        | "engagement_categories"
        | "sales_ready"
        | "sales_ready_tiers"
        | "cells"
        | "categories"
        | "exclude_rules" => LISTS,
        _ => STRINGS,
    }
}

/// Every value above, for a key given the wrong type.
fn any_value() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(
        [
            STRINGS,
            NUMBERS,
            INTEGERS,
            BOOLS,
            LISTS,
            DECAYS,
            CONDITIONS,
            FIELD_TYPES,
            GRADE_MAPS,
            ROUTINGS,
        ]
        .concat(),
    )
}

/// A value for `key` of `header`: usually of the right type, sometimes of any type. Ids are
/// unique (`c0`, `c1`, ... for categories, table number `n` for the rest) and tier names
/// too, so that most references resolve and most generated models compile.
fn pick_value(
    header: &str,
    key: &str,
    n: usize,
    categories: usize,
    choice: (u8, Index, &'static str),
) -> String {
    let (right, v, wrong) = choice;
    match (header, key) {
        _ if right == 0 => wrong.to_owned(),
        ("[[category]]", "id") => format!("\"c{categories}\""),
        (_, "id") => format!("\"{}{n}\"", header.get(2..3).unwrap_or("x")),
        (_, "name") if header.ends_with("tier]]") => format!("\"t{n}\""),
        (_, "category") => (*v.get(&["\"c0\"", "\"c0\"", "\"c1\"", "\"c2\"", "\"x\""])).to_owned(),
        _ => (*v.get(values_for(header, key))).to_owned(),
    }
}

/// A model file of random tables, keys and values: well-formed TOML of roughly the right
/// shapes, required keys mostly present, so most inputs get past the parser and the shape
/// checks and into the model checks.
fn model_ish() -> impl Strategy<Value = String> {
    // One value in 64 has the wrong type: more, and the shape checks stop nearly every input.
    let choice = || (0..64u8, any::<Index>(), any_value());
    let table = (
        0..TABLES.len() + 6,
        0..40u8,
        proptest::collection::vec(choice(), 4),
        proptest::collection::vec((any::<Index>(), choice()), 0..4),
    );
    (
        proptest::bool::weighted(0.9),
        proptest::collection::vec(table, 0..10),
        prop_oneof!["\n", "\r\n"],
    )
        .prop_map(|(head, tables, eol)| {
            let mut s = String::new();
            let mut single = std::collections::HashSet::new();
            let mut categories = 0;
            if head {
                s.push_str(&format!(
                    "[model]{eol}name = \"m\"{eol}version = \"1\"{eol}"
                ));
                s.push_str(&format!("[[category]]{eol}id = \"c0\"{eol}"));
                single.insert("[model]");
                categories = 1;
            }
            for (n, (t, drop, required, extra)) in tables.into_iter().enumerate() {
                // Rules and categories are the most common tables.
                let (header, needed, keys) = match t.checked_sub(TABLES.len()) {
                    None => TABLES[t],
                    Some(k) if k % 2 == 0 => TABLES[3],
                    Some(_) => TABLES[2],
                };
                if !header.starts_with("[[") && !single.insert(header) {
                    continue;
                }
                // `[[segment.tier]]` before any `[[segment]]` makes `segment` a table, not an
                // array: a TOML shape error that would hide the model checks.
                let parent = header.trim_matches(['[', ']']).split_once('.');
                if parent.is_some_and(|(p, _)| !s.contains(&format!("[{p}]"))) {
                    continue;
                }
                s.push_str(header);
                s.push_str(&eol);
                let mut seen = std::collections::HashSet::new();
                // Now and then a required key goes missing.
                let kept = (0..needed).filter(|&i| drop != 0 || Some(i) != needed.checked_sub(1));
                let picks = kept
                    .zip(required)
                    .map(|(i, c)| (keys[i], c))
                    .chain(extra.into_iter().map(|(k, c)| (*k.get(keys), c)));
                for (key, c) in picks {
                    if seen.insert(key) {
                        let value = pick_value(header, key, n, categories, c);
                        s.push_str(&format!("{key} = {value}{eol}"));
                    }
                }
                categories += usize::from(header == "[[category]]");
            }
            s
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_text_never_panics_and_errors_point_inside(src in any::<String>()) {
        compile_checked(&src, "random.toml")?;
    }

    #[test]
    fn model_like_text_never_panics_and_errors_point_inside(
        src in model_ish(),
        attrs in proptest::collection::vec((fragment_field(), raw_value()), 0..4),
        events in proptest::collection::vec(fragment_event(), 0..12),
    ) {
        if let Some(m) = compile_checked(&src, "fragments.toml")? {
            exercise(&m, &attrs, &events)?;
        }
    }
}

/// Runs a model that compiled through everything a front end does with one: describe it,
/// score a contact with and without an account, rank, roll up. Attribute values the model
/// cannot parse are dropped first ((c) covers them); events may carry bad properties.
fn exercise(m: &Model, attrs: &[(String, String)], events: &[Event]) -> Result<(), TestCaseError> {
    let _ = m.describe();
    let keep = |fields: &[FieldDef], k: &str, v: &str| {
        fields
            .iter()
            .find(|f| f.name == k)
            .is_none_or(|f| leadscore_core::Value::parse(k, f.ty, v).is_ok())
    };
    let good = |fields: &[FieldDef]| -> Vec<(String, String)> {
        attrs
            .iter()
            .filter(|(k, v)| keep(fields, k, v))
            .cloned()
            .collect()
    };
    let (contact_attrs, account_attrs) = (good(m.contact_fields()), good(m.account_fields()));
    let c = m
        .contact("c", Some("a"), &borrowed(&contact_attrs))
        .unwrap();
    let a = m.account("a", &borrowed(&account_attrs)).unwrap();
    let scorer = Scorer::new(m, as_of());
    let mut ranking = leadscore_core::Ranking::new(m);
    let mut scored = Vec::new();
    for (account, events) in [(None, events), (Some(&a), events), (Some(&a), &[][..])] {
        if let Ok(s) = scorer.score_events(&c, account, events) {
            check_score(m, s.score)?;
            ranking.add(&s);
            scored.push(s);
        }
    }
    ranking.finish();
    for s in &mut scored {
        ranking.apply(m, s);
        prop_assert!(s.percentile.is_none_or(|p| (0.0..=100.0).contains(&p)));
    }
    let scores: Vec<f64> = scored.iter().map(|s| s.score).collect();
    if let Some(r) = leadscore_core::roll_up(m, &scores) {
        prop_assert!(r.score.is_finite(), "account score {}", r.score);
    }
    Ok(())
}

/// Contact and account attribute names of the examples.
fn example_field() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = MODELS
        .iter()
        .flat_map(|m| m.contact_fields().iter().chain(m.account_fields()))
        .map(|f| f.name.clone())
        .collect();
    names.sort();
    names.dedup();
    proptest::sample::select(names)
}

/// Event property names of the examples, and `url`.
fn example_properties() -> Vec<String> {
    let mut names: Vec<String> = MODELS
        .iter()
        .flat_map(|m| m.properties())
        .map(|p| p.name.clone())
        .chain(["url".to_owned()])
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Attribute names the generated models read (see [`TABLES`] and [`CONDITIONS`]).
fn fragment_field() -> impl Strategy<Value = String> {
    proptest::sample::select(&["age", "employees", "d", "n", "role", "x", "size", "url"][..])
        .prop_map(str::to_owned)
}

/// Events of the types the generated models use, with the properties they read.
fn fragment_event() -> impl Strategy<Value = Event> {
    (
        proptest::sample::select(&["a", "b", "page_view", "c"][..]),
        time(),
        proptest::collection::vec((fragment_field(), raw_value()), 0..3),
    )
        .prop_map(|(kind, at, props)| Event {
            kind: kind.into(),
            at,
            props,
        })
}

// ---- (b) mutated example files ----------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Replaces bytes `[a, a + len)` (moved back to character boundaries) with the text.
    Replace(Index, usize, String),
    /// Gives a `key = value` line another value (see [`pick_value`]), keeping the TOML
    /// well-formed.
    SetValue(Index, (u8, Index, &'static str)),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (
            any::<Index>(),
            0usize..40,
            prop_oneof![
                any::<String>().prop_map(|s| s.chars().take(12).collect::<String>()),
                "[\\[\\]{}=\",.#'\n 0-9a-z_-]{0,12}",
                proptest::sample::select(FRAGMENTS).prop_map(str::to_owned),
            ],
        )
            .prop_map(|(a, len, text)| Mutation::Replace(a, len, text)),
        3 => (any::<Index>(), (0..4u8, any::<Index>(), any_value()))
            .prop_map(|(i, v)| Mutation::SetValue(i, v)),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(src: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = src.split_inclusive('\n').collect();
    match m {
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(i.index(lines.len()));
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let at = i.index(lines.len());
            lines.insert(at, lines[at]);
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let n = lines.len();
            lines.swap(a.index(n), b.index(n));
        }
        Mutation::Replace(a, len, text) => {
            let start = floor_boundary(src, a.index(src.len() + 1));
            let end = floor_boundary(src, start + len);
            return format!("{}{}{}", &src[..start], text, &src[end..]);
        }
        Mutation::SetValue(i, choice) => {
            let assignments: Vec<usize> = (0..lines.len())
                .filter(|&n| !lines[n].trim_start().starts_with('#') && lines[n].contains(" = "))
                .collect();
            if !assignments.is_empty() {
                let n = *i.get(&assignments);
                let key = lines[n].split(" = ").next().unwrap_or_default();
                let value = pick_value("", key.trim(), n, 0, *choice);
                let line = format!("{key} = {value}\n");
                let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
                out[n] = line;
                return out.concat();
            }
        }
        _ => {}
    }
    lines.concat()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mutated_examples_never_panic_and_errors_name_the_file(
        (which, events) in (0..SOURCES.len()).prop_flat_map(|i| (Just(i), event_bursts(i))),
        mutations in proptest::collection::vec(mutation(), 1..4),
        attrs in proptest::collection::vec((example_field(), raw_value()), 0..6),
    ) {
        let (name, src) = &SOURCES[which];
        let mut text = src.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        if let Some(m) = compile_checked(&text, name)? {
            exercise(&m, &attrs, &events)?;
        }
    }
}

/// Byte ranges of the number literals of a model file, outside strings and comments, and
/// whether each is written as a float.
fn number_spans(src: &str) -> Vec<(usize, usize, bool)> {
    let b = src.as_bytes();
    let mut spans = Vec::new();
    let (mut i, mut in_string) = (0, false);
    while i < b.len() {
        match b[i] {
            b'"' => in_string = !in_string,
            b'\n' => in_string = false,
            b'#' if !in_string => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            c if !in_string
                && (c.is_ascii_digit() || c == b'-')
                && (i == 0 || matches!(b[i - 1], b' ' | b'[' | b'{' | b'=' | b',')) =>
            {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'_')) {
                    i += 1;
                }
                if b[start..i].iter().any(u8::is_ascii_digit) {
                    spans.push((start, i, b[start..i].contains(&b'.')));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    spans
}

const EXTREME_INTEGERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "1000000",
    "16777216",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
];
const EXTREME_FLOATS: &[&str] = &[
    "0.0",
    "-0.0",
    "5e-324",
    "1e-300",
    "0.5",
    "1e300",
    "1.7976931348623157e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
];

/// Events in bursts: each drawn event comes 1–4 times, a second apart, so per-occurrence
/// points, counts and rates add up.
fn event_bursts(model: usize) -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec((event(model, example_properties()), 1..5i64), 0..10).prop_map(
        |bursts| {
            bursts
                .into_iter()
                .flat_map(|(e, n)| {
                    (0..n).map(move |k| Event {
                        at: e.at.saturating_sub(k),
                        ..e.clone()
                    })
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// The examples with some of their numbers (points, thresholds, caps, weights, windows,
    /// half-lives, counts) replaced by extreme ones, then run on bursts of events: the model
    /// checks reject what they must, and the rest scores to finite numbers.
    #[test]
    fn examples_with_extreme_numbers_never_panic(
        (which, events) in (0..SOURCES.len()).prop_flat_map(|i| (Just(i), event_bursts(i))),
        changes in proptest::collection::vec(
            (any::<bool>(), any::<Index>(), 0..4u8, any::<Index>()),
            1..6,
        ),
        attrs in proptest::collection::vec((example_field(), raw_value()), 0..6),
    ) {
        let (name, src) = &SOURCES[which];
        let mut text = src.clone();
        for (points, at, kind, value) in changes {
            // Half the changes go to rule points, where most of the arithmetic is.
            let line_of = |i: usize| &text[text[..i].rfind('\n').map_or(0, |n| n + 1)..];
            let all = number_spans(&text);
            let on_points: Vec<_> =
                all.iter().copied().filter(|s| line_of(s.0).starts_with("points =")).collect();
            let spans = if points && !on_points.is_empty() { &on_points } else { &all };
            let &(start, end, float) = at.get(spans);
            let pool = if float || kind == 0 { EXTREME_FLOATS } else { EXTREME_INTEGERS };
            let value = pool[value.index(pool.len())];
            text.replace_range(start..end, value);
        }
        if let Some(m) = compile_checked(&text, name)? {
            exercise(&m, &attrs, &events)?;
        }
    }
}

#[test]
fn number_spans_find_the_numbers_of_a_model_file() {
    let src = "a = 1\n# b = 2\nc = \"3\" # 4\nd = { e = [5, -6.5] }\nf7 = 8_000\n";
    let found: Vec<&str> = number_spans(src)
        .into_iter()
        .map(|(s, e, _)| &src[s..e])
        .collect();
    assert_eq!(found, ["1", "5", "-6.5", "8_000"]);
    assert!(SOURCES.iter().all(|(_, s)| number_spans(s).len() > 10));
}

// ---- (c) random attribute values --------------------------------------------------------------

/// Attribute text: anything, or the near misses of each type.
fn raw_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => proptest::sample::select(&[
            "", " ", "0", "-0", "1", "1.5", "-1e308", "1e309", "NaN", "nan", "inf", "-inf",
            "1,000", "0x10", "yes", "No", "Y", "TRUE", "2", "2026-02-30", "2026-06-01",
            "2026-06-01T00:00:00Z", "2026-06-01T25:00:00Z", "+275760-09-13", "-262144-01-01",
            "9999-12-31T23:59:59+14:00", "0000-01-01T00:00:00-23:59", "CEO", " us ", "é",
            "\u{feff}US", "decision_maker",
        ][..]).prop_map(str::to_owned),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => any::<i64>().prop_map(|i| i.to_string()),
    ]
}

/// Values for `fields`, each either left out or drawn from [`raw_value`].
fn attrs_for(fields: &[FieldDef]) -> impl Strategy<Value = Vec<(String, String)>> + use<> {
    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    proptest::collection::vec(proptest::option::of(raw_value()), names.len()).prop_map(
        move |vals| {
            names
                .iter()
                .zip(vals)
                .filter_map(|(n, v)| Some((n.clone(), v?)))
                .collect()
        },
    )
}

/// Attribute names and raw values.
type Attrs = Vec<(String, String)>;

fn borrowed(attrs: &[(String, String)]) -> Vec<(&str, &str)> {
    attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Checks a `ValueError` names one of `attrs` and quotes its value.
fn names_a_given_field(
    e: &leadscore_core::ValueError,
    attrs: &[(String, String)],
) -> Result<(), TestCaseError> {
    prop_assert!(
        attrs.iter().any(|(k, v)| *k == e.field && *v == e.found),
        "the error names no field given: {e}"
    );
    Ok(())
}

/// A model index with random values for its contact and account fields.
fn model_and_attrs() -> impl Strategy<Value = (usize, Attrs, Attrs)> {
    (0..MODELS.len()).prop_flat_map(|i| {
        let m = &MODELS[i];
        (
            Just(i),
            attrs_for(m.contact_fields()),
            attrs_for(m.account_fields()),
        )
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_attribute_values_never_panic((i, attrs, account_attrs) in model_and_attrs()) {
        let m = &MODELS[i];
        let contact = match m.contact("c1", Some("a1"), &borrowed(&attrs)) {
            Ok(c) => c,
            Err(e) => return names_a_given_field(&e, &attrs),
        };
        let account = match m.account("a1", &borrowed(&account_attrs)) {
            Ok(a) => Some(a),
            Err(e) => {
                names_a_given_field(&e, &account_attrs)?;
                None
            }
        };
        let s = Scorer::new(m, as_of()).score_events(&contact, account.as_ref(), &[]).unwrap();
        check_score(m, s.score)?;
    }
}

fn check_score(m: &Model, score: f64) -> Result<(), TestCaseError> {
    prop_assert!(score.is_finite(), "score {score}");
    if m.scale() == Scale::Normalized {
        prop_assert!((0.0..=100.0).contains(&score), "normalized score {score}");
    }
    Ok(())
}

// ---- (d) random events ------------------------------------------------------------------------

/// Event types: mostly those example `model` uses, some of the others, and junk.
fn kind(model: usize) -> impl Strategy<Value = String> {
    let all: Vec<String> = EVENT_TYPES.concat();
    // A model without event rules still gets every other example's event types thrown at it.
    let own = if EVENT_TYPES[model].is_empty() {
        all.clone()
    } else {
        EVENT_TYPES[model].clone()
    };
    prop_oneof![
        8 => proptest::sample::select(own.clone()),
        2 => proptest::sample::select(all),
        1 => any::<String>(),
        1 => Just(String::new()),
        1 => proptest::sample::select(own.clone()).prop_map(|k| format!(" {} ", k.to_uppercase())),
    ]
}

/// Times around as-of, anywhere in the representable range, and at its ends.
fn time() -> impl Strategy<Value = i64> {
    let now = as_of();
    prop_oneof![
        4 => (-400 * 86_400i64..86_400).prop_map(move |d| now + d),
        1 => any::<i64>(),
        1 => proptest::sample::select(vec![
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            0,
            -1,
            now,
            now + 1,
            now - i64::from(u32::MAX),
            now - i64::from(u32::MAX) - 1,
            -62_135_596_800,  // 0001-01-01
            253_402_300_799, // 9999-12-31T23:59:59
        ]),
    ]
}

fn event(model: usize, props: Vec<String>) -> impl Strategy<Value = Event> {
    let names = prop_oneof![
        4 => proptest::sample::select(props),
        1 => "[a-z_]{0,8}",
    ];
    (
        kind(model),
        time(),
        proptest::collection::vec((names, raw_value()), 0..4),
    )
        .prop_map(|(kind, at, props)| Event { kind, at, props })
}

fn model_and_events() -> impl Strategy<Value = (usize, Attrs, Vec<Event>)> {
    (0..MODELS.len()).prop_flat_map(|i| {
        let m = &MODELS[i];
        let mut props: Vec<String> = m.properties().iter().map(|p| p.name.clone()).collect();
        props.push("url".into());
        (
            Just(i),
            attrs_for(m.contact_fields()),
            proptest::collection::vec(event(i, props), 0..30),
        )
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_events_never_panic((i, attrs, events) in model_and_events()) {
        let m = &MODELS[i];
        // Bad attributes are (c)'s business: drop them here so the events get scored.
        let attrs: Vec<(String, String)> = attrs
            .into_iter()
            .filter(|(k, v)| m.contact("c", None, &[(k, v)]).is_ok())
            .collect();
        let contact = m.contact("c1", None, &borrowed(&attrs)).unwrap();
        match Scorer::new(m, as_of()).score_events(&contact, None, &events) {
            Ok(s) => {
                check_score(m, s.score)?;
                for c in &s.categories {
                    prop_assert!(c.points.is_finite(), "category {} has {}", c.id, c.points);
                }
            }
            Err(e) => {
                prop_assert!(
                    m.properties().iter().any(|p| p.name == e.field),
                    "the error names no property the model reads: {e}"
                );
                prop_assert!(
                    events.iter().any(|ev| ev.props.iter().any(|(k, v)| *k == e.field && v.trim() == e.found)),
                    "the error quotes no value given: {e}"
                );
            }
        }
    }
}

// ---- regressions found by the properties above ------------------------------------------------

/// `random_events_never_panic` found `as_of - at` overflowing for an event at `i64::MIN`
/// (a panic in debug builds; in release the elapsed time wrapped negative, so the event
/// escaped decay and expiry). Such an event is now just very old: it scores like one a
/// century back.
#[test]
fn event_at_the_start_of_time_is_just_very_old() {
    let century = as_of() - 100 * 365 * 86_400;
    for (file, kind) in [
        ("encharge.toml", "demo_cancelled"),
        ("starter.toml", "email_open"),
    ] {
        let m = crate::common::example(file);
        let c = m.contact("c1", None, &[]).unwrap();
        let at = |at| Event {
            kind: kind.into(),
            at,
            props: vec![],
        };
        let scorer = Scorer::new(&m, as_of());
        let old = scorer.score_events(&c, None, &[at(century)]).unwrap();
        for t in [i64::MIN, i64::MIN + 1] {
            let s = scorer.score_events(&c, None, &[at(t)]).unwrap();
            assert_eq!(s.score, old.score, "{file}: {kind} at {t}");
        }
    }
    let m = crate::common::example("encharge.toml");
    let c = m.contact("c1", None, &[]).unwrap();
    let s = Scorer::new(&m, as_of())
        .score_events(
            &c,
            None,
            &[Event {
                kind: "demo_cancelled".into(),
                at: i64::MIN,
                props: vec![],
            }],
        )
        .unwrap();
    assert_eq!(s.score, -10.0);
}

/// Found by probing the models `model_like_text_never_panics_and_errors_point_inside`
/// compiles, and found since by `examples_with_extreme_numbers_never_panic`: per-occurrence
/// points are summed in millionths, and `points = i64::MAX` overflowed that sum on the second
/// event (a panic in debug builds, a wrapped score in release). The sum now saturates.
#[test]
fn huge_per_occurrence_points_saturate_instead_of_overflowing() {
    for (points, sign) in [(i64::MAX, 1.0), (i64::MIN, -1.0)] {
        let m = crate::common::model(&format!(
            r#"[model]
name = "m"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "r"
category = "c"
points = {points}
per_occurrence = true
when = {{ event = "a" }}
[[tier]]
name = "t"
"#
        ));
        let c = m.contact("c", None, &[]).unwrap();
        let e = crate::common::ev("a", 1.0, &[]);
        let s = Scorer::new(&m, as_of())
            .score_events(&c, None, &[e.clone(), e.clone(), e])
            .unwrap();
        assert!(s.score.is_finite(), "{points}: {}", s.score);
        assert_eq!(s.score.signum(), sign, "{points}: {}", s.score);
    }
}

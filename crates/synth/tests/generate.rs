//! End-to-end checks of the generated files: determinism, headers, referential
//! integrity, time windows, distributions and that the hidden propensity is
//! visible in behaviour.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, Months, Utc};
use leadscore_synth::{
    ACCOUNTS_FILE, ACCOUNTS_HEADER, CONTACTS_FILE, CONTACTS_HEADER, EVENTS_FILE, EVENTS_HEADER,
    GenerateOptions, OUTCOMES_FILE, OUTCOMES_HEADER, Summary, SynthError, generate, generate_to,
    generate_with_progress,
};

/// The four files of one run, in memory.
struct Data {
    opts: GenerateOptions,
    summary: Summary,
    contacts: String,
    accounts: String,
    events: String,
    outcomes: String,
}

fn run(opts: GenerateOptions) -> Data {
    let (mut c, mut a, mut e, mut o) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let summary = generate_to(&opts, &mut c, &mut a, &mut e, &mut o).expect("generate");
    let text = |v: Vec<u8>| String::from_utf8(v).expect("utf-8");
    Data {
        opts,
        summary,
        contacts: text(c),
        accounts: text(a),
        events: text(e),
        outcomes: text(o),
    }
}

/// 5,000 contacts shared by the statistical tests (generated once).
fn big() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        run(GenerateOptions {
            contacts: 5000,
            seed: 7,
            ..Default::default()
        })
    })
}

/// Data rows split into fields. None of the generated contacts, events or
/// outcomes fields needs quoting, which `no_quoting_needed` checks.
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect()
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    assert!(
        s.ends_with('Z') && s.len() == 20,
        "not second-precision UTC RFC 3339: {s}"
    );
    DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn window(opts: &GenerateOptions) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        opts.as_of
            .checked_sub_months(Months::new(opts.months))
            .unwrap(),
        opts.as_of,
    )
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let opts = GenerateOptions {
        contacts: 800,
        seed: 11,
        ..Default::default()
    };
    let a = run(opts.clone());
    let b = run(opts.clone());
    assert_eq!(a.contacts, b.contacts);
    assert_eq!(a.accounts, b.accounts);
    assert_eq!(a.events, b.events);
    assert_eq!(a.outcomes, b.outcomes);
    assert_eq!(a.summary, b.summary);

    let c = run(GenerateOptions {
        seed: 12,
        ..opts.clone()
    });
    assert_ne!(a.contacts, c.contacts);
    assert_ne!(a.accounts, c.accounts);
    assert_ne!(a.events, c.events);
    assert_ne!(a.outcomes, c.outcomes);

    // The files written by `generate` are the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested").join("out");
    let summary = generate(&opts, &out).expect("generate to dir");
    assert_eq!(summary, a.summary);
    for (file, want) in [
        (CONTACTS_FILE, &a.contacts),
        (ACCOUNTS_FILE, &a.accounts),
        (EVENTS_FILE, &a.events),
        (OUTCOMES_FILE, &a.outcomes),
    ] {
        assert_eq!(
            &std::fs::read_to_string(out.join(file)).unwrap(),
            want,
            "{file}"
        );
    }
}

#[test]
fn changing_event_volume_keeps_contacts_and_labels() {
    let opts = GenerateOptions {
        contacts: 300,
        ..Default::default()
    };
    let a = run(opts.clone());
    let b = run(GenerateOptions {
        events_per_contact: 5.0,
        ..opts
    });
    assert_eq!(a.contacts, b.contacts);
    assert_eq!(a.accounts, b.accounts);
    let labels = |d: &Data| {
        rows(&d.outcomes)
            .iter()
            .map(|r| r[1].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(&a), labels(&b));
    assert_ne!(a.events, b.events);
}

#[test]
fn exact_headers_and_line_endings() {
    let d = run(GenerateOptions {
        contacts: 50,
        ..Default::default()
    });
    assert_eq!(
        d.accounts.lines().next().unwrap(),
        "id,name,industry,employees,revenue,country,city"
    );
    assert_eq!(
        d.contacts.lines().next().unwrap(),
        "id,account_id,email,first_name,last_name,country,city,age,role,seniority,industry,employees,lead_source,purchase_authority,created_at"
    );
    assert_eq!(
        d.events.lines().next().unwrap(),
        "contact_id,event,timestamp,url,campaign,form,asset"
    );
    assert_eq!(
        d.outcomes.lines().next().unwrap(),
        "contact_id,converted,converted_at,amount"
    );
    assert_eq!(ACCOUNTS_HEADER, d.accounts.lines().next().unwrap());
    assert_eq!(CONTACTS_HEADER, d.contacts.lines().next().unwrap());
    assert_eq!(EVENTS_HEADER, d.events.lines().next().unwrap());
    assert_eq!(OUTCOMES_HEADER, d.outcomes.lines().next().unwrap());
    for text in [&d.accounts, &d.contacts, &d.events, &d.outcomes] {
        assert!(text.ends_with('\n') && !text.contains('\r'));
    }
}

#[test]
fn no_quoting_needed() {
    let d = big();
    for (text, cols) in [
        (&d.contacts, 15),
        (&d.events, 7),
        (&d.outcomes, 4),
        (&d.accounts, 7),
    ] {
        for line in text.lines() {
            assert!(!line.contains('"'), "{line}");
            assert_eq!(line.split(',').count(), cols, "{line}");
        }
    }
}

#[test]
fn accounts_are_plausible() {
    let d = big();
    let accounts = rows(&d.accounts);
    assert_eq!(accounts.len() as u64, d.summary.accounts);
    assert_eq!(accounts.len(), 1000);
    let cities: BTreeMap<&str, &[&str]> = [
        (
            "US",
            &["New York", "San Francisco", "Chicago", "Austin"][..],
        ),
        ("UK", &["London", "Manchester"][..]),
        ("DE", &["Berlin", "Munich"][..]),
        ("FR", &["Paris", "Lyon"][..]),
        ("IN", &["Bangalore", "Mumbai"][..]),
        ("CA", &["Toronto"][..]),
        ("AU", &["Sydney"][..]),
        ("BR", &["Sao Paulo"][..]),
        ("NL", &["Amsterdam"][..]),
        ("ES", &["Madrid"][..]),
    ]
    .into_iter()
    .collect();
    let mut per_country: BTreeMap<&str, usize> = BTreeMap::new();
    let mut industries = BTreeSet::new();
    for (i, r) in accounts.iter().enumerate() {
        assert_eq!(r[0], format!("acc-{:06}", i + 1));
        assert!(!r[1].is_empty());
        industries.insert(r[2]);
        let employees: u64 = r[3].parse().unwrap();
        assert!((1..=100_000).contains(&employees));
        let revenue: u64 = r[4].parse().unwrap();
        assert!(revenue > 0);
        assert!(cities[r[5]].contains(&r[6]), "{r:?}");
        *per_country.entry(r[5]).or_default() += 1;
    }
    assert_eq!(industries.len(), 12);
    assert!(per_country["US"] > per_country["UK"] && per_country["UK"] > per_country["FR"]);
    assert_eq!(
        run(GenerateOptions {
            contacts: 1,
            ..Default::default()
        })
        .summary
        .accounts,
        1
    );
}

#[test]
fn contacts_are_consistent() {
    let d = big();
    let contacts = rows(&d.contacts);
    assert_eq!(contacts.len(), d.opts.contacts);
    assert_eq!(d.summary.contacts, d.opts.contacts as u64);
    let accounts: BTreeMap<&str, Vec<&str>> =
        rows(&d.accounts).into_iter().map(|r| (r[0], r)).collect();
    let (start, end) = window(&d.opts);
    let seniority_of: BTreeMap<&str, &str> = [
        ("CEO", "executive"),
        ("CTO", "executive"),
        ("CMO", "executive"),
        ("CFO", "executive"),
        ("VP Sales", "vp"),
        ("VP Marketing", "vp"),
        ("Head of Growth", "director"),
        ("Marketing Manager", "manager"),
        ("Sales Manager", "manager"),
        ("Product Manager", "manager"),
        ("Engineer", "individual"),
        ("Analyst", "individual"),
        ("Consultant", "individual"),
        ("Designer", "individual"),
        ("student", "none"),
        ("unemployed", "none"),
    ]
    .into_iter()
    .collect();
    let sources = [
        "organic_search",
        "paid_search",
        "referral",
        "webinar",
        "trade_show",
        "linkedin",
        "email_campaign",
        "direct",
    ];
    let (mut no_city, mut no_age, mut moved, mut young_students) = (0, 0, 0, 0);
    let mut emails = BTreeSet::new();
    for (i, r) in contacts.iter().enumerate() {
        assert_eq!(r[0], format!("c-{:07}", i + 1));
        let acc = &accounts[r[1]];
        let email = r[2];
        assert!(email.is_ascii() && email == email.to_lowercase(), "{email}");
        let (local, domain) = email.split_once('@').unwrap();
        assert!(local.starts_with(&format!("{}.{}", r[3].to_lowercase(), r[4].to_lowercase())));
        assert!(domain.contains('.'));
        assert!(emails.insert(email), "duplicate e-mail {email}");
        if r[6].is_empty() {
            no_city += 1;
        }
        if (r[5], r[6]) != (acc[5], acc[6]) && !r[6].is_empty() {
            moved += 1;
        }
        match r[7] {
            "" => no_age += 1,
            a => {
                let age: u32 = a.parse().unwrap();
                assert!((18..=70).contains(&age));
                if r[8] == "student" && age <= 26 {
                    young_students += 1;
                }
            }
        }
        assert_eq!(seniority_of[r[8]], r[9], "{r:?}");
        assert_eq!(r[10], acc[2]);
        assert_eq!(r[11], acc[3]);
        assert!(sources.contains(&r[12]));
        assert!(["decision_maker", "influencer", "none"].contains(&r[13]));
        let created = parse_ts(r[14]);
        assert!(created >= start && created < end);
    }
    let n = contacts.len() as f64;
    assert!((0.015..0.05).contains(&(no_city as f64 / n)), "{no_city}");
    assert!((0.008..0.035).contains(&(no_age as f64 / n)), "{no_age}");
    assert!((0.10..0.20).contains(&(moved as f64 / n)), "{moved}");
    let students = contacts
        .iter()
        .filter(|r| r[8] == "student" && !r[7].is_empty())
        .count();
    assert!(young_students as f64 > 0.8 * students as f64);
    let inactive = contacts.iter().filter(|r| r[9] == "none").count() as f64 / n;
    assert!((0.03..0.08).contains(&inactive), "{inactive}");
}

/// Per-contact facts needed to check that event sequences are causal.
#[derive(Default)]
struct SequenceState {
    unsubscribed: bool,
    webinars: u32,
    demos: u32,
}

#[test]
fn events_reference_contacts_in_order_and_window() {
    let d = big();
    let contacts = rows(&d.contacts);
    let created: BTreeMap<&str, DateTime<Utc>> =
        contacts.iter().map(|r| (r[0], parse_ts(r[14]))).collect();
    let (start, end) = window(&d.opts);
    let events = rows(&d.events);
    assert_eq!(events.len() as u64, d.summary.events);
    let mut prev: Option<(&str, DateTime<Utc>)> = None;
    let mut seen = BTreeSet::new();
    let mut trials = BTreeSet::new();
    let mut states: BTreeMap<&str, SequenceState> = BTreeMap::new();
    for r in &events {
        let id = r[0];
        let t = parse_ts(r[2]);
        assert!(t >= start && t < end, "{r:?}");
        assert!(t > created[id], "event before created_at: {r:?}");
        match prev {
            Some((p, pt)) if p == id => assert!(t >= pt, "not chronological: {r:?}"),
            Some((p, _)) => {
                assert!(p < id, "contacts out of order: {p} then {id}");
                assert!(seen.insert(id), "contact {id} not grouped");
            }
            None => {
                seen.insert(id);
            }
        }
        prev = Some((id, t));

        let (url, campaign, form, asset) = (r[3], r[4], r[5], r[6]);
        let state = states.entry(id).or_default();
        match r[1] {
            "email_unsubscribed" => state.unsubscribed = true,
            "webinar_registered" => state.webinars += 1,
            "webinar_attended" => {
                assert!(state.webinars > 0, "attended without registering: {r:?}");
                state.webinars -= 1;
            }
            "demo_requested" => state.demos += 1,
            "demo_cancelled" => {
                assert!(state.demos > 0, "cancelled a demo never requested: {r:?}");
                state.demos -= 1;
            }
            e if e.starts_with("email_") && state.unsubscribed => {
                assert_eq!(
                    campaign, "sales",
                    "marketing e-mail after unsubscribing: {r:?}"
                );
            }
            _ => {}
        }
        if campaign == "onboarding" {
            assert!(
                trials.contains(id),
                "onboarding e-mail before a trial: {r:?}"
            );
        }
        let props = [
            !url.is_empty(),
            !campaign.is_empty(),
            !form.is_empty(),
            !asset.is_empty(),
        ];
        let want = match r[1] {
            "email_open" | "email_reply" | "email_unsubscribed" => [false, true, false, false],
            "email_click" => [true, true, false, false],
            "page_view" => [true, false, false, false],
            "form_submit" => [false, false, true, false],
            "content_download" => [false, false, false, true],
            "trial_signup" => {
                trials.insert(id);
                [false; 4]
            }
            "task_created" | "project_created" | "contacts_imported" => {
                assert!(trials.contains(id), "in-app event before a trial: {r:?}");
                [false; 4]
            }
            "webinar_registered" | "webinar_attended" | "demo_requested" | "demo_cancelled"
            | "meeting_booked" | "call_booked" | "linkedin_click" | "facebook_click"
            | "trade_show_visit" | "phone_call" => [false; 4],
            other => panic!("unknown event {other}"),
        };
        assert_eq!(props, want, "{r:?}");
        if !url.is_empty() {
            assert!(url.starts_with('/'));
        }
        if !campaign.is_empty() {
            assert!(
                [
                    "newsletter",
                    "nurturing",
                    "onboarding",
                    "sales",
                    "product_update",
                    "event_invite"
                ]
                .contains(&campaign)
            );
        }
        if !form.is_empty() {
            assert!(["contact", "demo", "newsletter", "gated_content"].contains(&form));
        }
        if !asset.is_empty() {
            assert!(["whitepaper", "ebook", "case_study", "report"].contains(&asset));
        }
    }
}

#[test]
fn event_volume_and_mix() {
    let d = big();
    let n = d.opts.contacts as f64;
    let mean = d.summary.events as f64 / n;
    assert!(
        (mean / d.opts.events_per_contact - 1.0).abs() < 0.15,
        "mean {mean}"
    );

    let mut per_contact: BTreeMap<&str, u64> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows(&d.events) {
        *per_contact.entry(r[0]).or_default() += 1;
        *kinds.entry(r[1]).or_default() += 1;
    }
    let quiet = d.opts.contacts - per_contact.values().filter(|&&c| c > 2).count();
    let busy = per_contact.values().filter(|&&c| c >= 100).count();
    assert!(quiet as f64 > 0.03 * n, "{quiet} contacts with 0-2 events");
    assert!(
        busy > 0 && (busy as f64) < 0.05 * n,
        "{busy} contacts with 100+ events"
    );
    // Bursts near as_of must spread out, not pile up on its last second.
    let last_second = rows(&d.events)
        .iter()
        .filter(|r| r[2] == "2026-10-31T23:59:59Z")
        .count();
    assert!(
        (last_second as f64) < 0.001 * d.summary.events as f64,
        "{last_second} events at as_of - 1s"
    );

    let mut ranked: Vec<_> = kinds.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1));
    let top: BTreeSet<&str> = ranked[..3].iter().map(|(k, _)| **k).collect();
    assert_eq!(
        top,
        BTreeSet::from(["email_open", "page_view", "email_click"])
    );
    let total = d.summary.events as f64;
    for rare in ["demo_requested", "call_booked", "trial_signup"] {
        let share = kinds[rare] as f64 / total;
        assert!(share > 0.0 && share < 0.01, "{rare}: {share}");
    }
    assert_eq!(kinds.len(), 21, "{kinds:?}");
}

#[test]
fn outcomes_follow_signals_and_stay_before_as_of() {
    let d = big();
    let outcomes = rows(&d.outcomes);
    let contacts = rows(&d.contacts);
    assert_eq!(outcomes.len(), contacts.len());
    let mut converted = 0;
    let mut last_strong: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for r in rows(&d.events) {
        if matches!(
            r[1],
            "demo_requested" | "trial_signup" | "meeting_booked" | "call_booked"
        ) || (r[1] == "page_view" && r[3] == "/pricing")
        {
            last_strong.insert(r[0], parse_ts(r[2]));
        }
    }
    for (o, c) in outcomes.iter().zip(&contacts) {
        assert_eq!(o[0], c[0]);
        match o[1] {
            "1" => {
                converted += 1;
                let at = parse_ts(o[2]);
                assert!(at < d.opts.as_of && at > parse_ts(c[14]));
                if let Some(&s) = last_strong.get(o[0]) {
                    assert!(at >= s, "converted before its last buying signal: {o:?}");
                }
                assert!(o[3].parse::<u64>().unwrap() > 0);
            }
            "0" => assert!(o[2].is_empty() && o[3].is_empty(), "{o:?}"),
            other => panic!("converted = {other}"),
        }
    }
    assert_eq!(converted, d.summary.conversions);
    let rate = converted as f64 / outcomes.len() as f64;
    assert!((0.07..0.17).contains(&rate), "conversion rate {rate}");
}

#[test]
fn propensity_is_visible_in_behaviour_and_attributes() {
    let d = big();
    let converted: BTreeMap<&str, bool> = rows(&d.outcomes)
        .into_iter()
        .map(|r| (r[0], r[1] == "1"))
        .collect();
    // Per group (converters, others): contacts, demo requests, pricing views.
    let mut stats = [[0.0f64; 3]; 2];
    for y in converted.values() {
        stats[usize::from(*y)][0] += 1.0;
    }
    for r in rows(&d.events) {
        let g = usize::from(converted[r[0]]);
        if r[1] == "demo_requested" {
            stats[g][1] += 1.0;
        }
        if r[1] == "page_view" && r[3] == "/pricing" {
            stats[g][2] += 1.0;
        }
    }
    for (k, name) in [(1, "demo_requested"), (2, "pricing views")] {
        let conv = stats[1][k] / stats[1][0];
        let other = stats[0][k] / stats[0][0];
        assert!(
            conv > 1.8 * other,
            "{name}: converters {conv:.3} vs others {other:.3}"
        );
    }

    let rate = |pred: &dyn Fn(&[&str]) -> bool| {
        let (mut n, mut y) = (0.0, 0.0);
        for r in rows(&d.contacts).iter().filter(|r| pred(r)) {
            n += 1.0;
            y += f64::from(u8::from(converted[r[0]]));
        }
        y / n
    };
    let students = rate(&|r| r[8] == "student");
    let deciders = rate(&|r| r[13] == "decision_maker");
    assert!(
        deciders > 0.12 && students < deciders / 3.0,
        "students {students}, deciders {deciders}"
    );
}

#[test]
fn edge_options() {
    let empty = run(GenerateOptions {
        contacts: 0,
        ..Default::default()
    });
    assert_eq!(
        empty.summary,
        Summary {
            contacts: 0,
            accounts: 1,
            events: 0,
            conversions: 0
        }
    );
    assert_eq!(empty.contacts.lines().count(), 1);
    assert_eq!(empty.accounts.lines().count(), 2);

    let silent = run(GenerateOptions {
        contacts: 100,
        events_per_contact: 0.0,
        ..Default::default()
    });
    assert_eq!(silent.summary.events, 0);
    assert_eq!(silent.events, format!("{EVENTS_HEADER}\n"));
    for r in rows(&silent.outcomes).iter().filter(|r| r[1] == "1") {
        assert!(parse_ts(r[2]) < silent.opts.as_of);
    }

    // A fractional as_of still keeps every timestamp strictly before it.
    let as_of = DateTime::parse_from_rfc3339("2025-03-01T12:00:00.5Z")
        .unwrap()
        .to_utc();
    let frac = run(GenerateOptions {
        contacts: 200,
        months: 1,
        as_of,
        ..Default::default()
    });
    for r in rows(&frac.events) {
        assert!(parse_ts(r[2]) < as_of);
    }

    for bad in [
        GenerateOptions {
            months: 0,
            ..Default::default()
        },
        GenerateOptions {
            events_per_contact: f64::NAN,
            ..Default::default()
        },
        GenerateOptions {
            events_per_contact: -1.0,
            ..Default::default()
        },
    ] {
        let err = generate_to(&bad, Vec::new(), Vec::new(), Vec::new(), Vec::new()).unwrap_err();
        assert!(matches!(err, SynthError::InvalidOptions(_)), "{err}");
    }
}

#[test]
fn progress_reaches_the_contact_count_and_io_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let opts = GenerateOptions {
        contacts: 9000,
        events_per_contact: 1.0,
        ..Default::default()
    };
    let summary = generate_with_progress(&opts, dir.path(), &mut |n| seen.push(n)).unwrap();
    assert_eq!(seen.last(), Some(&summary.contacts));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]) && seen.len() >= 3);

    // A regular file where the output directory should be.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "x").unwrap();
    match generate(&opts, &blocker.join("out")) {
        Err(SynthError::Io { path, .. }) => assert!(path.starts_with(&blocker)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

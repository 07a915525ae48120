//! Golden tests: the shipped example models on small fixtures, with exact output.

use crate::common::*;

#[test]
fn encharge_csv_output_is_exact() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let (out, summary) = run(&encharge_job(&dir), &m);
    assert_eq!(out, encharge_output(&m));
    assert_eq!(summary.contacts, 5);
    assert_eq!(summary.events.rows, 22);
    // Every row but the webinar (a type the model does not read) is used.
    assert_eq!(summary.events.used, 21);
    assert_eq!(summary.events.after_as_of, 1);
    assert_eq!(summary.events.unknown_contacts, 0);
    assert_eq!(format!("{:?}", summary.tiers), r#"{"lead": 2, "mql": 3}"#);
    assert_eq!(
        format!("{:?}", summary.statuses),
        r#"{"disqualified": 2, "pool": 2, "qualified": 1}"#
    );
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
}

#[test]
fn encharge_event_on_the_as_of_edge_counts_and_one_after_does_not() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", "id,role\nedge,CEO\nlate,CEO\n"));
    j.events = Some(dir.write(
        "events.csv",
        "contact_id,event,timestamp\n\
         edge,page_view,2026-04-02T00:00:00Z\n\
         edge,call_booked,2026-06-01T00:00:00Z\n\
         late,page_view,2026-04-01T23:59:59Z\n\
         late,call_booked,2026-06-01T00:00:01Z\n",
    ));
    let (out, summary) = run(&j, &m);
    let t = Table::parse(&out);
    // 60 days before the as-of time is inside the window; one second earlier is not.
    assert_eq!(
        t.pick("edge", &["score", "tier", "status"]),
        ["25", "mql", "qualified"]
    );
    assert_eq!(
        t.pick("late", &["score", "tier", "status"]),
        ["5", "lead", "disqualified"]
    );
    assert_eq!(summary.events.after_as_of, 1);
}

/// The starter fixture: three accounts (enterprise, mid-size, small) and eight contacts.
const STARTER_ACCOUNTS: &str = "\
id,employees
ent,5000
mid,200
smb,10
idle,75
";

const STARTER_CONTACTS: &str = "\
id,account_id,role,seniority,purchase_authority,employees,industry,do_not_contact
s1,mid,VP Marketing,executive,decision_maker,200,Software,no
s2,mid,Director of Ops,director,none,200,Education,
s3,mid,student,individual,none,200,Education,
s4,ent,Manager,manager,influencer,5000,Retail,
s5,ent,VP Sales,vp,decision_maker,5000,Healthcare,
s6,smb,CEO,executive,none,10,Software,
s7,smb,Founder,none,none,10,Software,yes
s8,,Analyst,individual,none,,Media,
";

/// Events at the as-of time keep all their points; s5's open is one half-life (45 days) old.
const STARTER_EVENTS: &str = "\
contact_id,event,timestamp,url
s1,email_open,2026-06-01T00:00:00Z,
s1,email_open,2026-06-01T00:00:00Z,
s1,email_open,2026-06-01T00:00:00Z,
s1,email_open,2026-06-01T00:00:00Z,
s1,email_open,2026-06-01T00:00:00Z,
s1,email_click,2026-06-01T00:00:00Z,
s1,webinar_attended,2026-06-01T00:00:00Z,
s1,demo_requested,2026-06-01T00:00:00Z,
s4,email_open,2026-06-01T00:00:00Z,
s4,email_open,2026-06-01T00:00:00Z,
s4,email_open,2026-06-01T00:00:00Z,
s4,trial_signup,2026-06-01T00:00:00Z,
s4,page_view,2026-06-01T00:00:00Z,https://example.com/pricing
s4,page_view,2026-05-30T00:00:00Z,https://example.com/pricing?plan=team
s5,email_open,2026-04-17T00:00:00Z,
s5,webinar_attended,2026-06-01T00:00:00Z,
s5,meeting_booked,2026-06-01T00:00:00Z,
s6,email_click,2026-06-01T00:00:00Z,
s6,email_click,2026-06-01T00:00:00Z,
s6,email_click,2026-06-01T00:00:00Z,
s6,email_click,2026-06-01T00:00:00Z,
s6,email_click,2026-06-01T00:00:00Z,
s6,page_view,2026-06-01T00:00:00Z,/pricing
s6,page_view,2026-06-01T00:00:00Z,/pricing
s6,page_view,2026-06-01T00:00:00Z,/careers
s6,page_view,2026-06-01T00:00:00Z,/product/analytics
s6,page_view,2026-06-01T00:00:00Z,/product/analytics
s6,page_view,2026-06-01T00:00:00Z,/product/analytics
s6,page_view,2026-06-01T00:00:00Z,/product/analytics
s6,page_view,2026-06-01T00:00:00Z,/product/analytics
";

#[test]
fn starter_segments_grades_percentiles_and_accounts() {
    let m = example("starter.toml");
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", STARTER_CONTACTS));
    j.accounts = Some(dir.write("accounts.csv", STARTER_ACCOUNTS));
    j.events = Some(dir.write("events.csv", STARTER_EVENTS));
    let (out, accounts, summary) = run_with_accounts(&j, &m);
    let t = Table::parse(&out);
    let cols = [
        "segment",
        "score",
        "tier",
        "grade",
        "priority",
        "status",
        "percentile",
        "sales_ready",
        "account_score",
        "account_tier",
    ];
    // Normalized: fit 35 × raw/40, engagement 25 × raw/45, intent 40 × raw/50.
    let expected: [(&str, [&str; 10]); 8] = [
        // fit 45→40 = 35; engagement 15+5+10 = 30 → 16.67; intent demo 30 → 24.
        (
            "s1",
            [
                "default",
                "75.67",
                "hot",
                "A1",
                "call now",
                "qualified",
                "66.67",
                "tier hot; grade A1; top 10%",
                "31.73",
                "watch",
            ],
        ),
        // fit 25 → 21.88; no opens in 60 days -10 → -5.56.
        (
            "s2",
            [
                "default", "16.32", "cold", "B4", "", "pool", "33.33", "", "31.73", "watch",
            ],
        ),
        (
            "s3",
            [
                "default",
                "3.19",
                "cold",
                "D4",
                "",
                "disqualified",
                "",
                "",
                "31.73",
                "watch",
            ],
        ),
        // fit 10 → 8.75; opens 9 → 5; trial 25 + pricing 15 = 40 → 32. Enterprise tiers.
        (
            "s4",
            [
                "enterprise",
                "45.75",
                "warm",
                "D2",
                "",
                "pool",
                "0",
                "",
                "51.57",
                "target",
            ],
        ),
        // fit 35; open at half strength 1.5 + webinar 10 → 6.39; meeting 20 → 16.
        (
            "s5",
            [
                "enterprise",
                "57.39",
                "warm",
                "A3",
                "",
                "qualified",
                "50",
                "top 10%",
                "51.57",
                "target",
            ],
        ),
        // smb: no size rule, founder +10: fit 30 → 26.25; clicks capped 20 - 10 quiet → 5.56;
        // pricing 15 - careers 10 → 4. Alone in its segment, so in its top 5%.
        (
            "s6",
            [
                "smb",
                "35.81",
                "cold",
                "B4",
                "",
                "qualified",
                "0",
                "top 5%",
                "21.69",
                "watch",
            ],
        ),
        (
            "s7",
            [
                "smb",
                "7.57",
                "cold",
                "C4",
                "",
                "disqualified",
                "",
                "",
                "21.69",
                "watch",
            ],
        ),
        // Nothing but the quiet penalty: clamped to 0. No account, so no account score.
        (
            "s8",
            ["default", "0", "cold", "D4", "", "pool", "0", "", "", ""],
        ),
    ];
    for (id, want) in expected {
        assert_eq!(t.pick(id, &cols), want, "contact {id}");
    }
    assert_eq!(
        t.column("id"),
        ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]
    );
    // Category subtotals and the analytics score (its category weighs nothing in the total).
    assert_eq!(
        t.pick("s6", &["fit", "engagement", "intent", "product_analytics"]),
        ["26.25", "5.56", "4", "0"]
    );
    assert_eq!(
        t.pick("s6", &["score_analytics", "tier_analytics"]),
        ["100", "interested"]
    );
    assert_eq!(
        t.pick("s1", &["score_analytics", "tier_analytics"]),
        ["0", "not yet"]
    );
    assert_eq!(
        t.get("s4", "last_interesting_moment"),
        "2026-06-01T00:00:00Z 2+ pricing-page views in 14 days (page_view)"
    );
    // Ties keep model order, and a segment's own rules come after the default ones.
    assert_eq!(
        t.get("s7", "top_reasons"),
        "No email opened in 60 days (-10); Founder or CEO of a small business (+10); Target industry (+5)"
    );
    // Mean of the best three contacts; the account without contacts is left out.
    assert_eq!(
        accounts,
        "id,score,tier,contacts\nent,51.57,target,2\nmid,31.73,watch,3\nsmb,21.69,watch,2\n"
    );
    assert_eq!(summary.accounts, 4);
    assert_eq!(summary.contacts_without_account, 0);
    assert_eq!(
        format!("{:?}", summary.statuses),
        r#"{"disqualified": 2, "pool": 3, "qualified": 3}"#
    );
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
}

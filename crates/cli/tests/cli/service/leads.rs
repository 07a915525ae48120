//! `GET /api/v1/leads`: every filter, every sort, and cursor pagination that returns each lead
//! exactly once across pages.

use super::harness::{Server, both, millis};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Lead `L{i:02}` for i in 0..N: `i % 5` pricing views (5 each), software when `i` is even
/// (+3), a demo request when `i.is_multiple_of(7)` (+10); the first five are in account `acc-a`.
const N: usize = 25;

fn expected_score(i: usize) -> f64 {
    (5 * (i % 5)
        + if i.is_multiple_of(2) { 3 } else { 0 }
        + if i.is_multiple_of(7) { 10 } else { 0 }) as f64
}

fn tier(score: f64) -> &'static str {
    if score >= 25.0 {
        "hot"
    } else if score >= 10.0 {
        "warm"
    } else {
        "cold"
    }
}

fn id(i: usize) -> String {
    format!("L{i:02}")
}

fn load(srv: &Server) {
    let mut batch = Vec::new();
    for i in 0..N {
        let industry = if i.is_multiple_of(2) {
            "software"
        } else {
            "retail"
        };
        batch.push(
            json!({ "type": "identify", "userId": id(i), "messageId": format!("{}-id", id(i)),
                           "traits": { "industry": industry } }),
        );
        for p in 0..i % 5 {
            batch.push(
                json!({ "type": "page", "userId": id(i), "messageId": format!("{}-p{p}", id(i)),
                               "properties": { "url": "/pricing" } }),
            );
        }
        if i.is_multiple_of(7) {
            batch.push(
                json!({ "type": "track", "userId": id(i), "messageId": format!("{}-demo", id(i)),
                               "event": "demo_requested" }),
            );
        }
        if i < 5 {
            batch.push(
                json!({ "type": "group", "userId": id(i), "groupId": "acc-a",
                               "messageId": format!("{}-g", id(i)) }),
            );
        }
    }
    srv.batch_ok(&json!(batch));
}

/// Every page of `query` with `limit`, following `next_cursor`: the ids in order.
fn all_pages(srv: &Server, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("/api/v1/leads?limit={limit}{query}");
        if let Some(c) = &cursor {
            path += &format!("&cursor={c}");
        }
        let page = srv.get_ok(&path);
        let leads = page["leads"].as_array().unwrap();
        assert!(leads.len() <= limit);
        ids.extend(leads.iter().map(|l| l["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
    panic!("more than 100 pages for {query}");
}

fn ids_of(page: &Value) -> Vec<String> {
    page["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

both! {
    fn leads_filters_select_exactly(srv) {
        load(&srv);
        let all: Vec<(String, f64)> = (0..N).map(|i| (id(i), expected_score(i))).collect();
        let page = srv.get_ok("/api/v1/leads?limit=1000");
        assert_eq!(page["leads"].as_array().unwrap().len(), N);
        assert_eq!(page["next_cursor"], Value::Null);
        for l in page["leads"].as_array().unwrap() {
            let i: usize = l["id"].as_str().unwrap()[1..].parse().unwrap();
            assert_eq!(l["score"], expected_score(i), "{l}");
            assert_eq!(l["tier"], tier(expected_score(i)), "{l}");
            for key in ["id", "account_id", "score", "tier", "grade", "status", "segment", "reasons", "events", "updated_at"] {
                assert!(l.get(key).is_some(), "{key} in {l}");
            }
        }
        let select = |f: &dyn Fn(&(String, f64)) -> bool| -> BTreeSet<String> {
            all.iter().filter(|x| f(x)).map(|x| x.0.clone()).collect()
        };
        let got = |q: &str| -> BTreeSet<String> {
            ids_of(&srv.get_ok(&format!("/api/v1/leads?limit=1000&{q}"))).into_iter().collect()
        };
        assert_eq!(got("tier=warm"), select(&|x| tier(x.1) == "warm"));
        assert_eq!(got("tier=cold"), select(&|x| tier(x.1) == "cold"));
        assert_eq!(got("min_score=10"), select(&|x| x.1 >= 10.0));
        assert_eq!(got("max_score=8"), select(&|x| x.1 <= 8.0));
        assert_eq!(got("min_score=8&max_score=13"), select(&|x| (8.0..=13.0).contains(&x.1)));
        assert_eq!(got("min_score=10.5&max_score=12.5"), select(&|x| (10.5..=12.5).contains(&x.1)));
        assert_eq!(got("account_id=acc-a"), (0..5).map(id).collect());
        assert_eq!(got("status=pool").len(), N);
        assert_eq!(got("status=qualified").len(), 0);
        assert_eq!(got("segment=default").len(), N);
        // Grade: fit 3 (software) → B, else D; engagement ≥ 20 → 1, ≥ 10 → 2, ≥ 5 → 3, else 4.
        let grade = |i: usize| {
            let e = expected_score(i) - if i.is_multiple_of(2) { 3.0 } else { 0.0 };
            let digit = if e >= 20.0 { 1 } else if e >= 10.0 { 2 } else if e >= 5.0 { 3 } else { 4 };
            format!("{}{digit}", if i.is_multiple_of(2) { "B" } else { "D" })
        };
        assert_eq!(got("grade=B2"), (0..N).filter(|&i| grade(i) == "B2").map(id).collect());
        assert_eq!(got("grade=D3"), (0..N).filter(|&i| grade(i) == "D3").map(id).collect());
        assert!(!got("grade=B2").is_empty());
        assert_eq!(got("tier=warm&account_id=acc-a"), select(&|x| tier(x.1) == "warm" && x.0.as_str() < "L05"));

        // updated_since: only what a later batch changed.
        let latest = page["leads"].as_array().unwrap().iter().map(|l| millis(&l["updated_at"])).max().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        srv.batch_ok(&json!([
            { "type": "page", "userId": "L03", "messageId": "late-1", "properties": { "url": "/pricing" } },
            { "type": "identify", "userId": "L11", "messageId": "late-2", "traits": { "industry": "software" } },
        ]));
        let since = chrono::DateTime::from_timestamp_millis(latest + 1).unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        assert_eq!(got(&format!("updated_since={since}")), ["L03", "L11"].map(String::from).into());
    }

    fn leads_pages_return_every_lead_once_in_every_sort(srv) {
        load(&srv);
        let mut by_score: Vec<(f64, String)> = (0..N).map(|i| (expected_score(i), id(i))).collect();
        // Best first, ties by id.
        by_score.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
        let desc: Vec<String> = by_score.iter().map(|x| x.1.clone()).collect();
        let mut asc_pairs = by_score.clone();
        asc_pairs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
        let asc: Vec<String> = asc_pairs.iter().map(|x| x.1.clone()).collect();
        let by_id: Vec<String> = (0..N).map(id).collect();
        for limit in [1, 4, 7, 25, 50] {
            assert_eq!(all_pages(&srv, "", limit), desc, "default sort, limit {limit}");
            assert_eq!(all_pages(&srv, "&sort=score", limit), desc, "limit {limit}");
            assert_eq!(all_pages(&srv, "&sort=score_asc", limit), asc, "limit {limit}");
            assert_eq!(all_pages(&srv, "&sort=id", limit), by_id, "limit {limit}");
            let updated = all_pages(&srv, "&sort=updated", limit);
            assert_eq!(updated.iter().collect::<BTreeSet<_>>(), by_id.iter().collect(), "limit {limit}");
            assert_eq!(updated.len(), N);
        }
        // Filters hold on every page.
        let warm: Vec<String> = desc.iter().filter(|i| {
            let n: usize = i[1..].parse().unwrap();
            tier(expected_score(n)) == "warm"
        }).cloned().collect();
        assert_eq!(all_pages(&srv, "&tier=warm", 2), warm);
        // sort=updated: newest change first.
        srv.batch_ok(&json!([{ "type": "page", "userId": "L13", "messageId": "late", "properties": { "url": "/pricing" } }]));
        assert_eq!(ids_of(&srv.get_ok("/api/v1/leads?sort=updated&limit=1")), ["L13"]);
    }

    fn leads_query_mistakes_are_400(srv) {
        for q in ["sort=best", "limit=0", "limit=1001", "cursor=bogus", "updated_since=yesterday", "min_score=lots"] {
            let (st, v) = srv.get(&format!("/api/v1/leads?{q}"));
            assert_eq!(st, 400, "{q}: {v}");
            assert!(v["error"]["code"].is_string(), "{q}: {v}");
        }
        let (st, v) = srv.get("/api/v1/leads/nobody");
        assert_eq!(st, 404, "{v}");
        assert_eq!(v["error"]["code"], "not_found");
    }
}

both! {
    fn accounts_pages_return_every_account_once(srv = super::harness::Opts {
        model: Some(format!("{}\n[account]\nmethod = \"max\"\n", super::harness::MODEL)),
        ..super::harness::Opts::default()
    }) {
        // acc-0 … acc-6 with one member each, scoring 5 × k; acc-7 … acc-9 without members
        // (no roll-up score).
        let mut batch = Vec::new();
        for k in 0..10 {
            if k < 7 {
                batch.push(json!({ "type": "group", "userId": format!("m{k}"), "groupId": format!("acc-{k}") }));
                for p in 0..k {
                    batch.push(json!({ "type": "page", "userId": format!("m{k}"), "messageId": format!("m{k}-{p}"),
                                       "properties": { "url": "/pricing" } }));
                }
            } else {
                batch.push(json!({ "type": "group", "anonymousId": "nobody", "groupId": format!("acc-{k}"),
                                   "traits": { "plan": "smb" } }));
            }
        }
        srv.batch_ok(&json!(batch));
        let expected: Vec<String> = [6, 5, 4, 3, 2, 1, 0, 7, 8, 9].iter().map(|k| format!("acc-{k}")).collect();
        for limit in [1, 3, 10, 20] {
            let mut ids = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/api/v1/accounts?limit={limit}");
                if let Some(c) = &cursor {
                    path += &format!("&cursor={c}");
                }
                let page = srv.get_ok(&path);
                for a in page["accounts"].as_array().unwrap() {
                    ids.push(a["id"].as_str().unwrap().to_owned());
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
                assert!(ids.len() <= 20, "{ids:?}");
            }
            assert_eq!(ids, expected, "limit {limit}");
        }
        assert_eq!(srv.get_ok("/api/v1/accounts/acc-6")["score"], 30.0);
    }
}

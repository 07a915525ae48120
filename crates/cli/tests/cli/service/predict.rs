//! Predictive scoring over HTTP on both backends (SPEC P3): `serve --retrain-every` retrains
//! from the store on its own — a `skipped` job saying why while outcomes are too few, then a
//! learned model, each lead's `prediction` in its detail, `probability` in the list and
//! `sort=probability` — and `POST /api/v1/model/retrain` does it on request.

use super::harness::{Opts, Server, both};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The newest job of kind `retrain` in `state` whose note contains `note`, waited for.
fn retrain_job(srv: &Server, state: &str, note: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = srv.get_ok("/api/v1/jobs");
        let found = jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| {
                j["kind"] == "retrain"
                    && j["state"] == state
                    && j["note"].as_str().is_some_and(|n| n.contains(note))
            })
            .cloned();
        if let Some(j) = found {
            return j;
        }
        assert!(Instant::now() < deadline, "no {state} retrain: {jobs}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

both! {
    fn a_scheduled_retrain_gives_every_lead_a_probability(srv = Opts::default().args(&[
        "--retrain-every", "1s", "--retrain-min-outcomes", "4", "--retrain-algo", "logistic",
        "--retrain-ignore", "lifecycle",
    ])) {
        // 20 leads: even ones in software, odd ones in retail.
        let batch: Vec<Value> = (0..20)
            .map(|i| json!({ "type": "identify", "userId": format!("u{i:02}"), "messageId": format!("p-{i}"),
                             "traits": { "industry": if i % 2 == 0 { "software" } else { "retail" } } }))
            .collect();
        srv.batch_ok(&json!(batch));
        // (A retrain before the batch may have found no contact at all.)
        let skipped = retrain_job(&srv, "skipped", "20 without");
        assert_eq!(
            skipped["note"],
            "too few outcomes to train: 0 contacts with a positive outcome (target won) and 20 without, \
             at least 4 and 4 needed; the previous learned model and its predictions stay",
            "{skipped}"
        );
        let (st, _) = srv.get("/api/v1/model/learned");
        assert_eq!(st, 404);
        assert_eq!(srv.lead("u00")["prediction"], Value::Null);

        // Won: 8 of the 10 software leads (u00 … u14), 2 of the 10 retail ones (u01, u03).
        let won = |i: usize| if i.is_multiple_of(2) { i < 16 } else { i < 4 };
        // A trait a CRM sets once the deal is won: it is the label, and the retrain is told
        // to leave it out (it would be every lead's first factor).
        let lifecycle: Vec<Value> = (0..20)
            .map(|i| json!({ "type": "identify", "userId": format!("u{i:02}"), "messageId": format!("l-{i}"),
                             "traits": { "lifecycle": if won(i) { "customer" } else { "lead" } } }))
            .collect();
        srv.batch_ok(&json!(lifecycle));
        let outcomes: Vec<Value> = (0..20)
            .map(|i| {
                let won = won(i);
                json!({ "contact_id": format!("u{i:02}"), "kind": if won { "won" } else { "lost" }, "id": format!("o-{i}") })
            })
            .collect();
        let (st, v) = srv.post("/api/v1/outcomes", &json!({ "outcomes": outcomes }));
        assert_eq!(st, 200, "{v}");
        let done = retrain_job(&srv, "done", "");
        assert_eq!(done["done"], 20, "{done}");
        assert!(done["note"].as_str().unwrap().contains("logistic on 20 contacts (10 with a positive outcome, target won)"), "{done}");

        let m = srv.get_ok("/api/v1/model/learned");
        assert_eq!((&m["target"], &m["algo"], &m["rows"], &m["positives"]), (&json!("won"), &json!("logistic"), &json!(20), &json!(10)), "{m}");
        // What a marketer reads: software leads convert more, by the odds ratio of its term.
        let coef = |term: &str| {
            m["effects"]["coefficients"].as_array().unwrap().iter().find(|c| c["term"] == term).unwrap_or_else(|| panic!("{m}")).clone()
        };
        let (sw, rt) = (coef("industry = software"), coef("industry = retail"));
        assert!(sw["odds_ratio"].as_f64().unwrap() > 1.0 && rt["odds_ratio"].as_f64().unwrap() < 1.0, "{m}");
        assert_eq!(sw["odds_ratio"].as_f64().unwrap(), sw["coefficient"].as_f64().unwrap().exp());
        assert!(m["effects"]["numbers"].is_array(), "{m}");
        let lead = srv.lead("u00");
        let p = &lead["prediction"];
        let prob = p["probability"].as_f64().unwrap_or_else(|| panic!("{lead}"));
        assert_eq!((&p["factors"][0]["feature"], &p["factors"][0]["value"]), (&json!("industry"), &json!("software")), "{lead}");
        assert!(p["factors"].as_array().unwrap().iter().all(|f| f["feature"] != "lifecycle"), "{lead}");
        assert_eq!(lead["stored"]["probability"].as_f64(), Some(prob), "{lead}");
        // Sorted by probability: the ten software leads first, highest first, each as in its
        // detail.
        let page = srv.get_ok("/api/v1/leads?sort=probability&limit=10");
        let leads = page["leads"].as_array().unwrap();
        assert_eq!(leads.len(), 10);
        let mut last = f64::INFINITY;
        for l in leads {
            let id = l["id"].as_str().unwrap();
            let n: usize = id[1..].parse().unwrap();
            assert_eq!(n % 2, 0, "software first: {page}");
            let q = l["probability"].as_f64().unwrap();
            assert!(q <= last, "{page}");
            last = q;
            assert_eq!(srv.lead(id)["prediction"]["probability"].as_f64(), Some(q));
        }
        let next = page["next_cursor"].as_str().unwrap().to_owned();
        let rest = srv.get_ok(&format!("/api/v1/leads?sort=probability&limit=10&cursor={next}"));
        let rest = rest["leads"].as_array().unwrap();
        assert_eq!(rest.len(), 10);
        assert!(rest.iter().all(|l| l["probability"].as_f64().unwrap() < last), "{rest:?}");

        // On request too: a new version.
        let (st, v) = srv.post_read("/api/v1/model/retrain", &json!({}));
        assert_eq!(st, 202, "{v}");
        let job = srv.wait_job(v["job"]["id"].as_i64().unwrap());
        assert_eq!(job["state"], "done", "{job}");
        let version = job["model_version"].as_i64().unwrap();
        assert!(version >= 2, "{job}");
        assert!(srv.lead("u00")["prediction"]["model_version"].as_i64().unwrap() >= version);
    }
}

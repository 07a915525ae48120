#!/usr/bin/env python3
"""Batch scoring benchmark: leadscore vs DuckDB on the same files, same rules, same machine.

Generates (or reuses) a synthetic data set, scores it with `examples/weighted-100.toml` through
`leadscore score`, then runs the same rules written as SQL in DuckDB, end to end (reading the
CSV files, aggregating events, joining contacts and accounts, writing a CSV of scores). Prints
both wall-clock times, the ratio, and how many leads the two agree on (score within 0.01 and
the same tier), so the SQL is checked to be the same model.

Each side runs --runs times (default 3) alternately; the median is compared, since a shared
machine's timings wander.

Usage: bench/score_vs_duckdb.py [--contacts 1000000] [--dir bench/data] [--threads 2] [--runs 3]
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import time

import duckdb

AS_OF = "2026-11-01T00:00:00Z"

# The weighted-100 model as an analyst would write it in SQL. Text comparisons ignore case and
# surrounding spaces, as leadscore's do. Decay: points x 0.5^(age_days / half_life).
SQL = r"""
COPY (
WITH ev AS (
    SELECT contact_id, event, url,
           epoch(TIMESTAMPTZ '{as_of}' - "timestamp") / 86400.0 AS age
    FROM read_csv('{dir}/events.csv', header = true,
                  columns = {{'contact_id': 'VARCHAR', 'event': 'VARCHAR', 'timestamp': 'TIMESTAMPTZ',
                             'url': 'VARCHAR', 'campaign': 'VARCHAR', 'form': 'VARCHAR', 'asset': 'VARCHAR'}})
    WHERE "timestamp" <= TIMESTAMPTZ '{as_of}'
),
agg AS (
    SELECT contact_id,
        least(coalesce(sum(CASE WHEN event = 'content_download' THEN 10 * pow(0.5, age / 90) END), 0), 30) AS downloads,
        least(coalesce(sum(CASE WHEN event = 'webinar_attended' THEN 15 * pow(0.5, age / 90) END), 0), 30) AS webinars,
        coalesce(5 * pow(0.5, min(CASE WHEN event = 'webinar_registered' THEN age END) / 90), 0) AS webinar_reg,
        least(coalesce(sum(CASE WHEN event = 'page_view' AND contains(lower(url), '/pricing') THEN 10 * pow(0.5, age / 30) END), 0), 30) AS pricing,
        coalesce(30 * pow(0.5, min(CASE WHEN event = 'demo_requested' AND age <= 90 THEN age END) / 30), 0) AS demo,
        coalesce(20 * pow(0.5, min(CASE WHEN event = 'trial_signup' AND age <= 90 THEN age END) / 30), 0) AS trial,
        coalesce(sum(CASE event WHEN 'email_open' THEN 10 WHEN 'email_click' THEN 14
                                WHEN 'form_submit' THEN 15 WHEN 'email_reply' THEN 18 END * pow(0.5, age / 60)), 0)
          + CASE WHEN bool_or(event = 'email_unsubscribed') THEN -30 ELSE 0 END AS engagement_raw
    FROM ev
    GROUP BY contact_id
),
parts AS (
    SELECT c.id,
        round(20 * least(
            CASE WHEN lower(trim(c.seniority)) IN ('executive', 'vp') THEN 15
                 WHEN lower(trim(c.seniority)) IN ('director', 'manager') THEN 8 ELSE 0 END
          + CASE WHEN lower(trim(c.purchase_authority)) = 'decision_maker' THEN 15
                 WHEN lower(trim(c.purchase_authority)) = 'influencer' THEN 8 ELSE 0 END, 30) / 30, 2) AS demographic,
        round(25 * least(coalesce(g.downloads + g.webinars + g.webinar_reg, 0), 40) / 40, 2) AS content,
        round(30 * least(coalesce(g.pricing + g.demo + g.trial, 0), 60) / 60, 2) AS behavioural,
        round(15 * least(coalesce(g.engagement_raw, 0), 50) / 50, 2) AS engagement,
        round(10 * least(CASE WHEN a.employees >= 200 THEN 10 ELSE 0 END
          + CASE WHEN lower(trim(a.industry)) IN ('software', 'financial services', 'healthcare') THEN 10 ELSE 0 END, 20) / 20, 2) AS fit
    FROM read_csv('{dir}/contacts.csv', header = true) c
    LEFT JOIN agg g ON g.contact_id = c.id
    LEFT JOIN read_csv('{dir}/accounts.csv', header = true) a ON a.id = c.account_id
)
SELECT id,
       round(greatest(least(demographic + content + behavioural + engagement + fit, 100), 0), 2) AS score,
       CASE WHEN round(greatest(least(demographic + content + behavioural + engagement + fit, 100), 0), 2) >= 80 THEN 'high_priority'
            WHEN round(greatest(least(demographic + content + behavioural + engagement + fit, 100), 0), 2) >= 60 THEN 'warm'
            ELSE 'pool' END AS tier,
       demographic, content, behavioural, engagement, fit
FROM parts
) TO '{out}' (HEADER, DELIMITER ',');
"""


def run(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--dir", default="bench/data")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--bin", default="target/release/leadscore")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    d = os.path.join(args.dir, f"synth-{args.contacts}")
    if not os.path.exists(os.path.join(d, "events.csv")):
        print(f"generating {args.contacts} contacts into {d} ...", flush=True)
        run([args.bin, "generate", "--contacts", str(args.contacts), "--seed", "7", "--out", d])
    size = os.path.getsize(os.path.join(d, "events.csv"))
    print(f"data: {d} (events.csv {size / 1e6:.0f} MB), threads {args.threads}", flush=True)

    ours_out = os.path.join(d, "scores-leadscore.csv")
    duck_out = os.path.join(d, "scores-duckdb.csv")
    ours_cmd = [args.bin, "score", "--model", "examples/weighted-100.toml",
                "--contacts", f"{d}/contacts.csv", "--accounts", f"{d}/accounts.csv",
                "--events", f"{d}/events.csv", "--as-of", AS_OF, "--threads", str(args.threads),
                "--out", ours_out, "--quiet"]
    query = SQL.format(dir=d, as_of=AS_OF, out=duck_out)

    ours_t, duck_t = [], []
    for i in range(args.runs):
        ours_t.append(run(ours_cmd))
        # A fresh connection per run, closed afterwards, so DuckDB's worker threads and buffer
        # pool are not still alive (and competing) during the next leadscore run.
        t = time.perf_counter()
        con = duckdb.connect()
        con.execute(f"SET threads = {args.threads}")
        con.execute(query)
        con.close()
        duck_t.append(time.perf_counter() - t)
        print(f"run {i + 1}: leadscore {ours_t[-1]:.2f} s, duckdb {duck_t[-1]:.2f} s", flush=True)
    ours, duck = statistics.median(ours_t), statistics.median(duck_t)
    print(f"leadscore: median {ours:.2f} s (min {min(ours_t):.2f})")
    print(f"duckdb {duckdb.__version__}: median {duck:.2f} s (min {min(duck_t):.2f})")

    def load(path):
        with open(path, newline="") as f:
            return {r["id"]: (float(r["score"]), r["tier"]) for r in csv.DictReader(f)}

    a, b = load(ours_out), load(duck_out)
    same = sum(1 for k, (s, t) in a.items() if k in b and abs(b[k][0] - s) <= 0.011 and b[k][1] == t)
    print(f"agreement: {same}/{len(a)} leads have the same tier and a score within 0.01")
    print(f"ratio (median): leadscore is {duck / ours:.2f}x the speed of DuckDB (target >= 2x); "
          f"best-of: {min(duck_t) / min(ours_t):.2f}x")
    if same < 0.999 * len(a):
        sys.exit("the two implementations disagree: the SQL or the engine is wrong")


if __name__ == "__main__":
    main()

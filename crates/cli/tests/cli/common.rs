//! Helpers shared by the CLI tests: run the binary, temp dirs, the encharge fixture.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and returns self.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success:\n{self:?}");
        self
    }

    /// Asserts exit 1 and returns self.
    pub fn failed(self) -> Run {
        assert_eq!(self.code, 1, "expected exit 1:\n{self:?}");
        self
    }
}

/// The workspace root (examples are named relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `leadscore` with `args` from the workspace root. Whatever happens, it must not panic.
pub fn leadscore<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_leadscore"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run leadscore");
    let run = Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "leadscore panicked:\n{run:?}"
    );
    run
}

/// A shipped example model, by path.
pub fn example(name: &str) -> String {
    root().join("examples").join(name).display().to_string()
}

/// The content hash of a shipped example, as scores name it.
pub fn example_hash(name: &str) -> String {
    let src = std::fs::read_to_string(example(name)).unwrap();
    leadscore_core::Model::from_toml(&src, name)
        .unwrap()
        .reference()
        .hash
        .clone()
}

/// A temporary directory for a test's files.
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }

    pub fn path(&self, name: &str) -> String {
        self.0.path().join(name).display().to_string()
    }

    /// Writes `text` to `name` and returns its path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

pub const AS_OF: &str = "2026-06-01";

// The encharge fixture (the batch crate's golden test has the same, with its sums by hand):
// c1 71 mql qualified, c2 -1, c3 a student (disqualified), c4 inactive (disqualified), c5 -9.

pub const CONTACTS: &str = "\
id,account_id,country,city,age,role,employees,purchase_authority
c1,a1,US,New York,30,CEO,50,decision_maker
c2,a1,UK,Paris,50,CMO,10,influencer
c3,a2,DE,Berlin,,student,200,
c4,a2,US,London,40,Engineer,25,decision_maker
c5,,FR,,,,,none
";

pub const EVENTS: &str = "\
contact_id,event,timestamp,campaign
c1,email_open,2026-05-27T10:00:00Z,
c1,email_click,2026-05-20T09:00:00Z,nurturing
c1,email_click,2026-05-21T09:00:00Z,product
c1,email_reply,2026-05-22T09:00:00Z,sales
c1,trial_signup,2026-05-23T09:00:00Z,
c1,task_created,2026-05-24T09:00:00Z,
c1,task_created,2026-05-25T09:00:00Z,
c1,task_created,2026-05-26T09:00:00Z,
c1,call_booked,2026-05-30T15:30:00Z,
c2,page_view,2026-05-22T08:00:00Z,
c2,task_created,2026-05-10T08:00:00Z,
c2,linkedin_click,2026-04-01T08:00:00Z,
c2,demo_cancelled,2026-05-15T08:00:00Z,
c2,email_reply,2026-05-16T08:00:00Z,nurturing
c3,email_open,2026-05-31T23:59:59Z,
c3,trial_signup,2026-05-01T00:00:00Z,
c4,email_open,2026-03-01T00:00:00Z,
c5,page_view,2026-05-31T00:00:00Z,
c5,email_unsubscribed,2026-05-28T00:00:00Z,
c5,facebook_click,2026-05-29T00:00:00Z,
c5,webinar_attended,2026-05-29T00:00:00Z,
c1,call_booked,2026-06-02T00:00:00Z,
";

/// The fixture's scores as CSV; `{hash}` stands for the model's hash.
pub const OUTPUT: &str = "\
id,account_id,score,tier,grade,priority,status,segment,percentile,sales_ready,explicit,behaviour,negative,top_reasons,last_interesting_moment,model,model_hash
c1,a1,71,mql,,,qualified,default,66.67,tier mql,28,43,0,Booked a call (+20); Signed up for a trial (+15); 25 or more employees (+10),2026-05-30T15:30:00Z Booked a call (call_booked),encharge@1.0.0,{hash}
c2,a1,-1,lead,,,pool,default,33.33,,6,3,-10,Cancelled a demo (-10); CEO or CMO (+5); Clicked from LinkedIn (+2),2026-05-10T08:00:00Z Created a task (task_created),encharge@1.0.0,{hash}
c3,a2,25,mql,,,disqualified,default,,,10,15,0,Signed up for a trial (+15); 25 or more employees (+10),2026-05-01T00:00:00Z Signed up for a trial (trial_signup),encharge@1.0.0,{hash}
c4,a2,23,mql,,,disqualified,default,,,23,0,0,25 or more employees (+10); Decision maker (+10); Based in the US or UK (+1),,encharge@1.0.0,{hash}
c5,,-9,lead,,,pool,default,0,,0,1,-10,Unsubscribed from email (-10); Clicked from Facebook (+1),2026-05-29T00:00:00Z Clicked from Facebook (facebook_click),encharge@1.0.0,{hash}
";

/// [`OUTPUT`] with the encharge example's hash.
pub fn output() -> String {
    OUTPUT.replace("{hash}", &example_hash("encharge.toml"))
}

/// The fixture in `dir`: (contacts, events).
pub fn fixture(dir: &Dir) -> (String, String) {
    (
        dir.write("contacts.csv", CONTACTS),
        dir.write("events.csv", EVENTS),
    )
}

/// `score` arguments for the fixture with the encharge model, plus `extra`.
pub fn score_args(dir: &Dir, extra: &[&str]) -> Vec<String> {
    let (contacts, events) = fixture(dir);
    let mut v: Vec<String> = [
        "score",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &contacts,
        "--events",
        &events,
        "--as-of",
        AS_OF,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The summary line `score` prints for the fixture, up to the timings.
pub const SUMMARY_START: &str = "scored 5 contacts from 22 events (21 used) in ";
pub const SUMMARY_END: &str =
    " — tiers: lead 2, mql 3 — status: disqualified 2, pool 2, qualified 1\n";

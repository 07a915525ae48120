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

pub const CONTACTS: &str = include_str!("../../../../examples/data/encharge/contacts.csv");

pub const EVENTS: &str = include_str!("../../../../examples/data/encharge/events.csv");

/// The fixture's scores as CSV, with the encharge model's real hash.
pub const OUTPUT: &str = include_str!("../../../../examples/data/encharge/expected-scores.csv");

/// [`OUTPUT`], checked to carry the encharge example's current hash.
pub fn output() -> String {
    assert!(
        OUTPUT.contains(&example_hash("encharge.toml")),
        "examples/encharge.toml changed: check examples/data/encharge/expected-scores.csv again"
    );
    OUTPUT.to_owned()
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

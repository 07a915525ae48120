//! The official Python clients, unchanged, pointed at the server: Segment's
//! `segment-analytics-python` (`host=`) and RudderStack's `rudder-sdk-python` (`dataPlaneUrl`,
//! gzip on, identify traits under `context.traits`, only an exact 200 is success). They run
//! from a venv under `target/py-clients`, made on first use and reused after. SQLite only:
//! the wire is what is tested here, the stores are tested by the rest.

use super::harness::{Backend, Opts, Server, one_at_a_time};
use crate::common::root;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

/// The packages the venv holds (the versions these tests were written against).
const PACKAGES: [&str; 2] = [
    "segment-analytics-python==2.4.0",
    "rudder-sdk-python==2.1.9",
];

/// `target/py-clients/bin/python`, with both clients importable: made (python3 -m venv, pip
/// install) when missing, reused when it works.
fn venv_python() -> PathBuf {
    let _one = one_at_a_time();
    let dir = root().join("target").join("py-clients");
    let python = dir.join("bin").join("python");
    let works = || {
        Command::new(&python)
            .args(["-c", "import segment.analytics, rudderstack.analytics"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let st = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .expect("python3 -m venv");
    assert!(st.success(), "python3 -m venv {}", dir.display());
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .output()
        .expect("pip install");
    assert!(
        out.status.success(),
        "pip install {PACKAGES:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(works(), "the clients do not import after pip install");
    python
}

/// Runs `script` with the venv's Python (port as argv[1]); it must exit 0.
fn run_python(srv: &Server, script: &str) {
    let python = venv_python();
    let path = srv.scratch().join("client.py");
    std::fs::write(&path, script).unwrap();
    let port = srv.base.rsplit(':').next().unwrap();
    let out = Command::new(python)
        .arg(&path)
        .arg(port)
        // The RudderStack client reads a `.env` from the working directory.
        .current_dir(srv.scratch())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the client failed ({}):\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        srv.log()
    );
}

/// The calls both scripts make, in their client's words. `anon` pricing view, then identify
/// (linking it), a demo request, two pricing views, a screen, a group:
/// demo 10 + pricing 3 × 5 + app 1 = 26; software 3 + size 2 + enterprise 7 = 12 → 38, hot,
/// grade A1 (fit 12 ≥ 10, engagement 26 ≥ 20).
const CALLS: &str = r#"
A.page(anonymous_id="anon-py", category="Docs", name="Pricing", properties={"url": "https://example.com/pricing"})
A.identify(USER, {"industry": "software", "employees": 250, "email": "py@example.com"}, anonymous_id="anon-py")
A.track(USER, "demo_requested", {"source": "python"})
A.page(USER, "Docs", "Pricing", {"url": "https://example.com/pricing"})
A.page(USER, "Docs", "Pricing", {"url": "https://example.com/pricing/teams"})
A.page(USER, "Docs", "Blog", {"url": "https://example.com/blog"})
A.screen(USER, "App", "Home")
A.group(USER, "py-acme", {"plan": "enterprise", "name": "Acme"})
A.flush()
A.shutdown()
if errors:
    sys.exit("the client reported errors: %r" % errors)
print("sent")
"#;

fn assert_lead(srv: &Server, user: &str) {
    let lead = srv.lead(user);
    assert_eq!(lead["score"], 38.0, "{lead}");
    assert_eq!(lead["stored"]["score"], 38.0);
    assert_eq!(lead["tier"], "hot");
    assert_eq!(lead["grade"], "A1");
    assert_eq!(lead["account_id"], "py-acme");
    assert_eq!(
        lead["attributes"],
        json!({ "industry": "software", "employees": 250, "email": "py@example.com" })
    );
    // Four pages (one anonymous, merged), a track and a screen.
    assert_eq!(lead["stored"]["events"], 6);
    assert_eq!(
        srv.get_ok("/api/v1/accounts/py-acme")["traits"],
        json!({ "plan": "enterprise", "name": "Acme" })
    );
    // Every call stored once: the six behaviour events, the identify and the group.
    assert_eq!(srv.counts(), (1, 1, 8));
}

#[test]
fn segment_analytics_python_unchanged() {
    let srv = Server::start(Backend::Sqlite, Opts::default());
    let script = format!(
        r#"
import sys, logging
import segment.analytics as A
logging.basicConfig(level=logging.DEBUG)
errors = []
def on_error(e, batch):
    errors.append(repr(e))
A.write_key = "wk"
A.host = "http://127.0.0.1:" + sys.argv[1]
A.on_error = on_error
A.debug = True
USER = "py-segment"
{CALLS}"#
    );
    run_python(&srv, &script);
    assert_lead(&srv, "py-segment");
}

#[test]
fn rudder_sdk_python_unchanged() {
    let srv = Server::start(Backend::Sqlite, Opts::default());
    let script = format!(
        r#"
import sys, logging
import rudderstack.analytics as A
logging.basicConfig(level=logging.DEBUG)
errors = []
def on_error(e, batch):
    errors.append(repr(e))
A.write_key = "wk"
A.dataPlaneUrl = "http://127.0.0.1:" + sys.argv[1]
A.on_error = on_error
A.debug = True
assert A.gzip, "gzip is on by default"
USER = "py-rudder"
{CALLS}"#
    );
    run_python(&srv, &script);
    assert_lead(&srv, "py-rudder");
}

#[test]
fn python_client_errors_fail_the_script() {
    // The scripts above would notice a refusal: a wrong write key makes the client report an
    // error, and the script exits non-zero.
    let srv = Server::start(Backend::Sqlite, Opts::default());
    let python = venv_python();
    let path = srv.scratch().join("bad.py");
    std::fs::write(
        &path,
        r#"
import sys
import segment.analytics as A
errors = []
A.write_key = "not-the-key"
A.host = "http://127.0.0.1:" + sys.argv[1]
A.on_error = lambda e, batch: errors.append(repr(e))
A.track("someone", "demo_requested")
A.flush()
A.shutdown()
sys.exit(1 if errors else 0)
"#,
    )
    .unwrap();
    let port = srv.base.rsplit(':').next().unwrap();
    let st = Command::new(python)
        .arg(&path)
        .arg(port)
        .current_dir(srv.scratch())
        .output()
        .unwrap();
    assert!(!st.status.success(), "a 401 must be reported by the client");
    assert_eq!(srv.counts(), (0, 0, 0));
}

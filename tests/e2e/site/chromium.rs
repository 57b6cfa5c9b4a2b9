//! Headless Chromium (Debian's `chromium`) loads a URL whose query holds `|` and `{}`,
//! which it sends unencoded, and must get the page, not a 400.
//! Skipped, loudly, when chromium is not installed (`.ci/run` installs it).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Server;

#[test]
fn headless_chromium_loads_url_with_pipe_and_braces_in_query() {
    if Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!(
            "SKIPPED headless_chromium_loads_url_with_pipe_and_braces_in_query: \
             `chromium` is not installed (apt-get install chromium)"
        );
        return;
    }
    let s = Server::start("access_log = {base}/access.log");
    std::fs::write(
        s.www().join("target.html"),
        "<!doctype html><title>t</title><p id=x>TARGET-REACHED</p>",
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        // Typed or followed, the URL goes through the same canonicalisation (GURL),
        // which leaves `|`, `{` and `}` in a query unencoded.
        .arg(s.url("/target.html?fonts=Roboto|Open+Sans&a={1}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("TARGET-REACHED"), "chromium got:\n{dom}");
    // The browser really sent the bytes unencoded, and they were served.
    let log = std::fs::read_to_string(s.base().join("access.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = log;
    while !log.contains("target.html") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        log = std::fs::read_to_string(s.base().join("access.log")).unwrap_or_default();
    }
    let line = log
        .lines()
        .find(|l| l.contains("/target.html"))
        .unwrap_or_else(|| panic!("no request for target.html:\n{log}"));
    assert!(line.contains("\" 200 "), "{line}");
}

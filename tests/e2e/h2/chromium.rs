//! Headless Chromium negotiates h2 over TLS (ALPN) and loads a page and its
//! stylesheet over it, with a 103 Early Hints in front. The access log, which
//! writes the protocol of each request, proves the version used.
//! Skipped, loudly, when chromium is not installed (`.ci/run` installs it).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::start;

#[test]
fn chromium_loads_page_and_stylesheet_over_h2_with_early_hints() {
    if Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!("SKIPPED: `chromium` is not installed (apt-get install chromium)");
        return;
    }
    let s = start(
        "access_log = {base}/access.log\nearly_hints = /page.html </style.css>; rel=preload; as=style",
    );
    std::fs::write(
        s.server.www().join("page.html"),
        "<!doctype html><title>t</title><link rel=stylesheet href=/style.css><p id=x>H2-PAGE</p>",
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
            // The certificate is carbond's own self-signed one.
            "--ignore-certificate-errors",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("https://127.0.0.1:{}/page.html", s.https_port))
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
    assert!(dom.contains("H2-PAGE"), "chromium got:\n{dom}");
    let path = s.server.base().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = std::fs::read_to_string(&path).unwrap_or_default();
    while !log.contains("/style.css") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        log = std::fs::read_to_string(&path).unwrap_or_default();
    }
    for target in ["/page.html", "/style.css"] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("\"GET {target} ")))
            .unwrap_or_else(|| panic!("no request for {target}:\n{log}"));
        assert!(line.contains(" HTTP/2.0\" 200 "), "{line}");
        assert!(line.contains("Chrome"), "{line}");
    }
}

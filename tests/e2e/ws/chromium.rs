//! Headless Chromium loads the WebSocket test page (`www/websocket.html` and
//! `www/websocket.js`, copied from the repository) over HTTPS, and a small driver
//! script clicks it through: connect to wss:// on the page's origin, send text and
//! binary, see both echoes, close with 1000. The driver reports what the page showed
//! with a request whose target the access log records.
//! Run twice: with HTTP/2 off, the WebSocket is an HTTP/1.1 upgrade (101); with
//! HTTP/2 on, carbond advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and Chromium opens
//! the WebSocket as an extended CONNECT stream on the page's HTTP/2 connection
//! (RFC 8441), which the access log shows as `CONNECT ... HTTP/2.0` answered 200.
//! Skipped, loudly, when chromium is not installed (`.ci/run` installs it).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::tls::TlsServer;

const PAGE: &str = include_str!("../../../www/websocket.html");
const PAGE_JS: &str = include_str!("../../../www/websocket.js");

/// Clicks the page's buttons in order, then reports the status and the log lines.
const DRIVER_JS: &str = r#""use strict";
window.addEventListener("load", () => {
  const $ = (id) => document.getElementById(id);
  const report = (r) => fetch("/ws-report?" + encodeURIComponent(r));
  const deadline = Date.now() + 30000;
  let step = 0;
  const tick = () => {
    const log = Array.from($("log").children).map((li) => li.textContent.slice(14)).reverse();
    const status = $("status").textContent;
    if (Date.now() > deadline) { report("timeout|" + status + "|" + log.join("|")); return; }
    if (step === 0) { $("connect").click(); step = 1; }
    else if (step === 1 && status.startsWith("open")) {
      $("send-text").click(); $("send-binary").click(); step = 2;
    } else if (step === 2 && log.filter((l) => l.startsWith("echo")).length === 2) {
      $("disconnect").click(); step = 3;
    } else if (step === 3 && status.startsWith("closed")) {
      report("done|" + status + "|" + log.join("|")); return;
    }
    setTimeout(tick, 50);
  };
  tick();
});
"#;

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the WebSocket reached carbond, as its access-log line shows it.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// `GET ... HTTP/1.1` answered 101 (RFC 6455 §4).
    Upgrade101,
    /// `CONNECT ... HTTP/2.0` answered 200 (RFC 8441 §5).
    ExtendedConnect,
}

#[test]
fn chromium_test_page_echoes_over_wss_and_closes_with_1000() {
    page_echoes_and_closes_with_1000("enable_http2 = false\n", Expect::Upgrade101);
}

#[test]
fn rfc8441_chromium_test_page_echoes_over_http2_extended_connect_and_closes_with_1000() {
    page_echoes_and_closes_with_1000("enable_http2 = true\n", Expect::ExtendedConnect);
}

fn page_echoes_and_closes_with_1000(extra: &str, expect: Expect) {
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
    let s = TlsServer::start(&format!(
        "enable_websocket = true\naccess_log = {{base}}/access.log\n{extra}"
    ));
    let www = s.server.www();
    std::fs::write(www.join("websocket.html"), PAGE).unwrap();
    std::fs::write(www.join("websocket.js"), PAGE_JS).unwrap();
    std::fs::write(
        www.join("ws-driven.html"),
        PAGE.replace(
            "<script src=\"/websocket.js\" defer></script>",
            "<script src=\"/websocket.js\" defer></script>\n<script src=\"/ws-driver.js\" defer></script>",
        ),
    )
    .unwrap();
    std::fs::write(www.join("ws-driver.js"), DRIVER_JS).unwrap();

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
        .arg(format!("https://127.0.0.1:{}/ws-driven.html", s.https_port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let path = s.server.base().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    while Instant::now() < deadline {
        log = std::fs::read_to_string(&path).unwrap_or_default();
        // Each worker writes its access-log lines in batches: the 101 (one worker)
        // may reach the file after the report (another connection, maybe another
        // worker).
        if log.contains("/ws-report?") && log.lines().any(|l| is_ws_line(l, expect)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Our own child, stopped by its handle.
    let _ = child.kill();
    let _ = child.wait();
    let line = log
        .lines()
        .find(|l| l.contains("/ws-report?"))
        .unwrap_or_else(|| panic!("no report from the page within 60 s:\n{log}"));
    let report = percent_decode(line);
    assert!(
        report.contains("done|closed with code 1000 (clean)"),
        "{report}"
    );
    assert!(report.contains("echo (text): Hello, Carbon"), "{report}");
    assert!(
        report.contains("echo (binary, 13 bytes): 48 65 6c 6c 6f 2c 20 43 61 72 62 6f 6e"),
        "{report}"
    );
    // The session took the expected path, opened by Chromium.
    let upgrade = log
        .lines()
        .find(|l| is_ws_line(l, expect))
        .unwrap_or_else(|| panic!("no WebSocket handshake line in the access log:\n{log}"));
    assert!(upgrade.contains("Chrome"), "{upgrade}");
    if let Expect::ExtendedConnect = expect {
        assert!(!log.contains("\" 101 "), "an HTTP/1.1 upgrade too:\n{log}");
    }
}

/// The access-log line of the WebSocket handshake.
fn is_ws_line(line: &str, expect: Expect) -> bool {
    match expect {
        Expect::Upgrade101 => line.contains("\"GET /") && line.contains("\" 101 "),
        Expect::ExtendedConnect => {
            line.contains("\"CONNECT /") && line.contains(" HTTP/2.0\" 200 ")
        }
    }
}

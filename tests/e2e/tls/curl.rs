//! The real curl (OpenSSL) against carbond's HTTPS listener, trusting exactly the
//! generated certificate. Without curl these tests fail, never pass silently.

use std::process::Output;

use super::TlsServer;
use crate::harness::{curl, INDEX_HTML};

fn run_curl(s: &TlsServer, args: &[&str]) -> Output {
    let mut c = curl();
    c.arg("--cacert")
        .arg(&s.cert)
        // Pin `localhost` to the address carbond listens on, so curl does not try ::1.
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", s.https_port))
        .args(args)
        .arg(format!("https://localhost:{}/", s.https_port));
    let out = c.output().expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?} failed: {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn curl_https_verifies_certificate_and_negotiates_tls13_http11() {
    let s = TlsServer::start("");
    let out = run_curl(&s, &["--http1.1", "-v", "-w", "\n%{http_code}"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (body, code) = stdout.rsplit_once('\n').unwrap();
    assert_eq!(code, "200", "{stdout}");
    assert_eq!(body, INDEX_HTML);
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(
        verbose.contains("SSL connection using TLSv1.3"),
        "{verbose}"
    );
    assert!(
        verbose.contains("ALPN: server accepted http/1.1")
            || verbose.contains("ALPN, server accepted to use http/1.1"),
        "{verbose}"
    );
}

#[test]
fn curl_https_tls12_uses_ecdhe_aead() {
    let s = TlsServer::start("");
    let out = run_curl(&s, &["-v", "--tls-max", "1.2", "-o", "/dev/null"]);
    let verbose = String::from_utf8_lossy(&out.stderr);
    let line = verbose
        .lines()
        .find(|l| l.contains("SSL connection using"))
        .unwrap_or_else(|| panic!("no `SSL connection using` line:\n{verbose}"));
    // OpenSSL names: "TLSv1.2 / ECDHE-ECDSA-AES128-GCM-SHA256".
    assert!(line.contains("TLSv1.2 / ECDHE-"), "{line}");
    assert!(
        line.contains("-GCM-") || line.contains("CHACHA20-POLY1305"),
        "{line}"
    );
}

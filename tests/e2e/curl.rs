//! The real curl against carbond (installed by `.ci/run`). Without curl these tests
//! fail with a message saying so; they never pass silently.

use std::process::Output;

use crate::harness::*;

fn run(mut cmd: std::process::Command) -> Output {
    let out = cmd.output().expect("run curl");
    assert!(
        out.status.success(),
        "curl failed: {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn curl_compressed_gets_the_css() {
    let s = Server::start("");
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let mut c = curl();
    c.args(["--compressed", "-D", "-", "-o"])
        .arg(&body)
        .arg(s.url("/style.css"));
    let out = run(c);
    let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(headers.starts_with("http/1.1 200"), "{headers}");
    assert!(headers.contains("content-encoding: gzip"), "{headers}");
    assert_eq!(std::fs::read(&body).unwrap(), style_css().as_bytes());
}

#[test]
fn curl_range_gets_ten_bytes() {
    let s = Server::start("");
    let mut c = curl();
    c.args(["-r", "0-9", "-w", "\n%{http_code}"])
        .arg(s.url("/big.bin"));
    let out = run(c);
    let (body, code) = out.stdout.split_at(out.stdout.len() - 4);
    assert_eq!(code, b"\n206");
    assert_eq!(body, &big_bin()[..10]);
}

#[test]
fn curl_head_shows_headers() {
    let s = Server::start("");
    let mut c = curl();
    c.arg("-I").arg(s.url("/"));
    let out = run(c);
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(
        text.contains(&format!("content-length: {}", INDEX_HTML.len())),
        "{text}"
    );
    assert!(
        text.contains("content-type: text/html; charset=utf-8"),
        "{text}"
    );
    assert!(text.contains("server: carbon"), "{text}");
}

#[test]
fn curl_follows_directory_redirect() {
    let s = Server::start("");
    let mut c = curl();
    c.arg("-L").arg(s.url("/sub"));
    let out = run(c);
    assert_eq!(out.stdout, SUB_INDEX_HTML.as_bytes());
}

#[test]
fn curl_reuses_the_connection() {
    let s = Server::start("");
    let mut c = curl();
    c.args(["-v", "-o", "/dev/null", "-o", "/dev/null"])
        .arg(s.url("/index.html"))
        .arg(s.url("/style.css"));
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("re-using existing connection") || err.contains("reusing existing"),
        "curl opened a second connection:\n{err}"
    );
}

#[test]
fn curl_large_file_matches() {
    let s = Server::start("");
    let mut c = curl();
    c.arg(s.url("/big.bin"));
    let out = run(c);
    assert!(
        out.stdout == big_bin(),
        "curl got {} bytes",
        out.stdout.len()
    );
}

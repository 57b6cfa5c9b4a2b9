//! Path resolution must never leave the document root (CWE-22): dot segments in every
//! encoding, NUL bytes, backslashes, symlinks pointing outside. Raw sockets, because
//! client libraries normalise these paths before sending them.
//!
//! `base/passwd` (outside `www/`) holds a line starting with "root:", so a traversal
//! that works is caught even on systems without /etc/passwd.

use crate::harness::*;

fn assert_refused(s: &Server, target: &str) {
    let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let bytes = s.raw(req.as_bytes());
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("root:"),
        "{target} leaked content outside the root:\n{text}"
    );
    let r = parse_first(&bytes);
    assert!(
        matches!(r.status, 400 | 403 | 404),
        "{target} answered {} (want 400/403/404)",
        r.status
    );
}

#[test]
fn cwe22_plain_dot_dot_segments_are_refused() {
    let s = Server::start("");
    for t in [
        "/../passwd",
        "/../../../../../../etc/passwd",
        "/sub/../../passwd",
        "/./../passwd",
    ] {
        assert_refused(&s, t);
    }
}

#[test]
fn cwe22_percent_encoded_dot_dot_is_refused() {
    let s = Server::start("");
    for t in [
        "/%2e%2e/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/passwd",
        "/.%2e/passwd",
        "/sub/%2e%2e/%2e%2e/passwd",
    ] {
        assert_refused(&s, t);
    }
}

#[test]
fn cwe22_encoded_slash_is_refused() {
    let s = Server::start("");
    for t in [
        "/..%2fpasswd",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e%2fpasswd",
        "/sub%2f..%2f..%2fpasswd",
        "/..%2Fpasswd",
    ] {
        assert_refused(&s, t);
    }
}

#[test]
fn cwe158_nul_byte_is_refused() {
    let s = Server::start("");
    for t in ["/index.html%00.txt", "/%00", "/../passwd%00.html"] {
        assert_refused(&s, t);
    }
}

#[test]
fn cwe22_backslash_is_refused() {
    let s = Server::start("");
    for t in [
        "/..\\passwd",
        "/%5c..%5cpasswd",
        "/..%5cpasswd",
        "/sub\\..\\..\\passwd",
    ] {
        assert_refused(&s, t);
    }
}

#[test]
fn cwe59_symlink_outside_root_is_refused() {
    let s = Server::start("");
    assert_refused(&s, "/escape-link");
    assert_refused(&s, "/escape-dir/passwd");
}

#[test]
fn symlink_inside_root_still_refuses_escape_after_creation() {
    // A link created after startup (no cache can know it) is refused too.
    let s = Server::start("");
    std::os::unix::fs::symlink(s.base().join("passwd"), s.www().join("late-link")).unwrap();
    assert_refused(&s, "/late-link");
}

#[test]
fn dotfiles_are_404_by_default() {
    let s = Server::start("");
    for t in ["/.secret", "/%2esecret", "/sub/../.secret"] {
        let req = format!("GET {t} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let bytes = s.raw(req.as_bytes());
        let r = parse_first(&bytes);
        assert!(
            !String::from_utf8_lossy(&bytes).contains("top secret"),
            "{t} leaked the dotfile"
        );
        assert!(matches!(r.status, 400 | 403 | 404), "{t}: {}", r.status);
    }
    assert_eq!(s.get("/.secret", "").status, 404);
}

//! `Forwarded` (RFC 7239) and `X-Forwarded-For` from a trusted proxy name the client
//! for the access log and the rate limit; from anyone else they are ignored.

use crate::harness::{wait_for_text, Server};

#[test]
fn rfc7239_trusted_proxy_right_most_untrusted_address_is_logged_and_rate_limited() {
    let s = Server::start(
        "trusted_proxies = 127.0.0.1\naccess_log = {base}/access.log\n\
         rate_limit = 2\nrate_limit_window = 60\nrate_limit_exempt =",
    );
    // The forged left-most entry is not believed; 203.0.113.9 is what our proxy saw.
    let xff = "X-Forwarded-For: 1.2.3.4, 203.0.113.9\r\nUser-Agent: xff\r\n";
    assert_eq!(s.get("/index.html", xff).status, 200);
    assert_eq!(s.get("/index.html", xff).status, 200);
    assert_eq!(s.get("/index.html", xff).status, 429);
    let fwd = "Forwarded: for=\"[2001:db8::5]:4711\";proto=https\r\nUser-Agent: fwd\r\n";
    assert_eq!(s.get("/index.html", fwd).status, 200);
    let log = wait_for_text(&s.base().join("access.log"), "\"fwd\"");
    for line in log.lines() {
        if line.ends_with("\"xff\"") {
            assert!(line.starts_with("203.0.113.9 "), "{line}");
        } else {
            assert!(line.starts_with("2001:db8::5 "), "{line}");
        }
    }
}

#[test]
fn rfc7239_8_1_headers_from_an_untrusted_peer_are_ignored() {
    let s = Server::start("trusted_proxies = 10.0.0.0/8\naccess_log = {base}/access.log");
    assert_eq!(
        s.get("/index.html", "X-Forwarded-For: 203.0.113.9\r\n")
            .status,
        200
    );
    let log = wait_for_text(&s.base().join("access.log"), "GET /index.html");
    assert!(log.starts_with("127.0.0.1 "), "{log}");
}

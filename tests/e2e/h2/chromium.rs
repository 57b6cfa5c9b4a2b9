//! Headless Chromium negotiates h2 over TLS (ALPN) and loads a page and its
//! stylesheet over it, with a 103 Early Hints in front. The access log, which
//! writes the protocol of each request, proves the version used.
//! Skipped, loudly, when chromium is not installed (`.ci/run` installs it).

use super::start;
use crate::harness::{chromium_dump_dom, chromium_or_skip, wait_for_text};

#[test]
fn chromium_loads_page_and_stylesheet_over_h2_with_early_hints() {
    if !chromium_or_skip("chromium_loads_page_and_stylesheet_over_h2_with_early_hints") {
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
    let dom = chromium_dump_dom(
        &format!("https://127.0.0.1:{}/page.html", s.https_port),
        // The certificate is carbond's own self-signed one.
        &["--ignore-certificate-errors"],
    );
    assert!(dom.contains("H2-PAGE"), "chromium got:\n{dom}");
    let log = wait_for_text(&s.server.base().join("access.log"), "/style.css");
    for target in ["/page.html", "/style.css"] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("\"GET {target} ")))
            .unwrap_or_else(|| panic!("no request for {target}:\n{log}"));
        assert!(line.contains(" HTTP/2.0\" 200 "), "{line}");
        assert!(line.contains("Chrome"), "{line}");
    }
}

//! Headless Chromium (Debian's `chromium`) loads a URL whose query holds `|` and `{}`,
//! which it sends unencoded, and must get the page, not a 400.
//! Skipped, loudly, when chromium is not installed (`.ci/run` installs it).

use crate::harness::{chromium_dump_dom, chromium_or_skip, wait_for_text, Server};

#[test]
fn headless_chromium_loads_url_with_pipe_and_braces_in_query() {
    if !chromium_or_skip("headless_chromium_loads_url_with_pipe_and_braces_in_query") {
        return;
    }
    let s = Server::start("access_log = {base}/access.log");
    std::fs::write(
        s.www().join("target.html"),
        "<!doctype html><title>t</title><p id=x>TARGET-REACHED</p>",
    )
    .unwrap();
    // Typed or followed, the URL goes through the same canonicalisation (GURL),
    // which leaves `|`, `{` and `}` in a query unencoded.
    let dom = chromium_dump_dom(&s.url("/target.html?fonts=Roboto|Open+Sans&a={1}"), &[]);
    assert!(dom.contains("TARGET-REACHED"), "chromium got:\n{dom}");
    // The browser really sent the bytes unencoded, and they were served.
    let log = wait_for_text(&s.base().join("access.log"), "/target.html");
    let line = log
        .lines()
        .find(|l| l.contains("/target.html"))
        .unwrap_or_else(|| panic!("no request for target.html:\n{log}"));
    assert!(line.contains("\" 200 "), "{line}");
}

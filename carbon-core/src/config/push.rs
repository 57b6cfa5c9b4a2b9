//! The `http2_push` key: which resources HTTP/2 server push (RFC 9113 §8.4) sends with
//! which page, e.g. `http2_push = /index.html: /style.css /app.js`. The key repeats,
//! one page per line.
//!
//! Every path starts with a single `/`: a promised request names the page's own
//! origin (its `:scheme` and `:authority`), so a push can never be cross-origin
//! (RFC 9113 §8.4: a server pushes only what it is authoritative for). Whether a
//! resource is cacheable is decided per response, when it is pushed.

use super::error::ValueError;
use crate::limits::{H2_MAX_PUSHES_PER_REQUEST, MAX_PUSH_PAGES};

/// One page and the resources pushed with it, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRule {
    pub page: String,
    pub resources: Vec<String>,
}

fn invalid(value: &str, expected: &str) -> ValueError {
    ValueError::Invalid {
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// A same-origin absolute path: `/` then visible ASCII, not `//` (a
/// scheme-relative reference, i.e. another host) and no `#` fragment.
fn origin_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('#')
        && p.bytes().all(|b| b.is_ascii_graphic())
        && http::uri::PathAndQuery::try_from(p).is_ok()
}

/// One line `PAGE: RESOURCE...`, appended to `rules`.
pub(super) fn parse_line(v: &str, rules: &mut Vec<PushRule>) -> Result<(), ValueError> {
    let Some((page, list)) = v.split_once(':') else {
        return Err(invalid(
            v,
            "`PAGE: RESOURCE...`, e.g. `/index.html: /style.css /app.js`",
        ));
    };
    let page = page.trim();
    if !origin_path(page) {
        return Err(invalid(page, "a page path starting with one `/`"));
    }
    let mut resources: Vec<String> = Vec::new();
    for r in list.split_whitespace() {
        if !origin_path(r) {
            return Err(invalid(
                r,
                "a same-origin path starting with one `/` (never a URL of another origin)",
            ));
        }
        if r == page || resources.iter().any(|x| x == r) {
            return Err(invalid(r, "each resource once, and not the page itself"));
        }
        resources.push(r.to_owned());
    }
    if resources.is_empty() {
        return Err(invalid(v, "at least one resource after `PAGE:`"));
    }
    if resources.len() > H2_MAX_PUSHES_PER_REQUEST {
        return Err(ValueError::OutOfRange {
            value: resources.len().to_string(),
            range: format!("at most {H2_MAX_PUSHES_PER_REQUEST} resources per page"),
        });
    }
    if rules.iter().any(|x| x.page == page) {
        return Err(invalid(page, "each page on one line"));
    }
    if rules.len() >= MAX_PUSH_PAGES {
        return Err(ValueError::OutOfRange {
            value: (rules.len() + 1).to_string(),
            range: format!("at most {MAX_PUSH_PAGES} pages"),
        });
    }
    rules.push(PushRule {
        page: page.to_owned(),
        resources,
    });
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc9113_8_4_lines_give_pages_and_their_resources() {
        let mut r = Vec::new();
        parse_line("/index.html: /style.css /app.js", &mut r).unwrap();
        parse_line("/: /style.css", &mut r).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].page, "/index.html");
        assert_eq!(r[0].resources, vec!["/style.css", "/app.js"]);
        assert_eq!(r[1].page, "/");
    }

    #[test]
    fn rfc9113_8_4_cross_origin_resources_are_refused() {
        for bad in [
            "/: https://cdn.example/a.css",
            "/: //cdn.example/a.css",
            "/: a.css",
            "/: /a.css#frag",
        ] {
            let mut r = Vec::new();
            assert!(parse_line(bad, &mut r).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_lines_are_errors() {
        let mut r = Vec::new();
        assert!(parse_line("/index.html", &mut r).is_err());
        assert!(parse_line("/index.html:", &mut r).is_err());
        assert!(parse_line("index.html: /a.css", &mut r).is_err());
        assert!(parse_line("/: /a.css /a.css", &mut r).is_err());
        assert!(parse_line("/: /", &mut r).is_err());
        let many: Vec<String> = (0..=H2_MAX_PUSHES_PER_REQUEST)
            .map(|i| format!("/{i}.css"))
            .collect();
        assert!(parse_line(&format!("/: {}", many.join(" ")), &mut r).is_err());
        parse_line("/: /a.css", &mut r).unwrap();
        assert!(parse_line("/: /b.css", &mut r).is_err(), "page twice");
    }
}

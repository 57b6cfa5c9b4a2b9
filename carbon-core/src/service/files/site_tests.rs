//! Service tests of the site settings: Cache-Control rules, configured header fields
//! and the single-page-application fallback.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Instant, SystemTime};

use http::header::*;
use http::{Method, StatusCode};
use tempfile::TempDir;

use super::*;
use crate::config::Config;

fn site() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("index.html"), b"<div id=app></div>").unwrap();
    std::fs::create_dir(root.join("assets")).unwrap();
    std::fs::write(root.join("assets/app.3f2a.js"), b"boot()").unwrap();
    std::fs::write(root.join("robots.txt"), b"User-agent: *").unwrap();
    dir
}

fn service(root: &Path, conf: &str) -> FileService {
    let text = format!("www_path = {}\n{conf}", root.display());
    let cfg = Config::from_text(&text).unwrap();
    FileService::new(FileOptions::from_config(&cfg)).unwrap()
}

fn call(
    svc: &mut FileService,
    method: Method,
    uri: &str,
    fields: &[(HeaderName, &str)],
) -> Response {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (name, value) in fields {
        b = b.header(name, *value);
    }
    let req = b.body(Bytes::new()).unwrap();
    let ctx = RequestContext {
        peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        secure: false,
        now: Instant::now(),
        wall: SystemTime::now(),
        sni: None,
        https_port: None,
    };
    svc.call(&req, &ctx)
}

fn get(svc: &mut FileService, uri: &str) -> Response {
    call(svc, Method::GET, uri, &[])
}

fn text(resp: &Response) -> String {
    match resp.body() {
        Body::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        Body::File(_) => panic!("small files are served from memory"),
    }
}

const RULES: &str = "cache_control = /assets/*, *.css: public, max-age=31536000, immutable\n\
                     cache_control = *.html: no-cache\n";

#[test]
fn rfc9111_5_2_cache_control_first_matching_rule() {
    let dir = site();
    let mut svc = service(dir.path(), RULES);
    let r = get(&mut svc, "/assets/app.3f2a.js");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    // `/` serves index.html: the rule applies to the file served.
    assert_eq!(get(&mut svc, "/").headers()[CACHE_CONTROL], "no-cache");
    assert!(get(&mut svc, "/robots.txt")
        .headers()
        .get(CACHE_CONTROL)
        .is_none());
    // Not on errors: a 404 must not be cached for a year.
    assert!(get(&mut svc, "/assets/gone.js")
        .headers()
        .get(CACHE_CONTROL)
        .is_none());
}

#[test]
fn rfc9110_15_4_5_not_modified_carries_cache_control() {
    let dir = site();
    let mut svc = service(dir.path(), RULES);
    let etag = get(&mut svc, "/index.html").headers()[ETAG].clone();
    let r = call(
        &mut svc,
        Method::GET,
        "/index.html",
        &[(IF_NONE_MATCH, etag.to_str().unwrap())],
    );
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
}

#[test]
fn configured_headers_remove_then_set_then_add() {
    let dir = site();
    let conf = "header_remove = X-Frame-Options\n\
                header_set = Content-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline'\n\
                header_add = X-Robots-Tag: noindex\n\
                header_add = Link: </assets/app.3f2a.js>; rel=preload\n\
                header_add = Link: </style.css>; rel=preload\n";
    let mut svc = service(dir.path(), conf);
    for r in [get(&mut svc, "/"), get(&mut svc, "/missing")] {
        let h = r.headers();
        assert!(h.get(X_FRAME_OPTIONS).is_none());
        assert_eq!(
            h[CONTENT_SECURITY_POLICY],
            "default-src 'self'; style-src 'self' 'unsafe-inline'"
        );
        assert_eq!(h.get_all(CONTENT_SECURITY_POLICY).iter().count(), 1);
        assert_eq!(h["x-robots-tag"], "noindex");
        assert_eq!(h.get_all(LINK).iter().count(), 2);
        // Untouched security headers stay.
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}

#[test]
fn spa_fallback_serves_deep_links_not_assets() {
    let dir = site();
    let mut svc = service(dir.path(), &format!("spa_fallback = /index.html\n{RULES}"));
    for deep in ["/users/42", "/settings/", "/a/b/c"] {
        let r = get(&mut svc, deep);
        assert_eq!(r.status(), StatusCode::OK, "{deep}");
        assert_eq!(text(&r), "<div id=app></div>");
        // The fallback's own rule applies (no-cache for the HTML shell).
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    }
    // Paths that look like files stay 404 by default (`*.*`).
    for asset in ["/assets/app.0000.js", "/favicon.ico", "/v2/logo.png"] {
        assert_eq!(
            get(&mut svc, asset).status(),
            StatusCode::NOT_FOUND,
            "{asset}"
        );
    }
    // Other methods never fall back.
    let r = call(&mut svc, Method::POST, "/users/42", &[]);
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = call(&mut svc, Method::HEAD, "/users/42", &[]);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_LENGTH], "18");
    // Existing files are served as they are.
    assert_eq!(text(&get(&mut svc, "/robots.txt")), "User-agent: *");
}

#[test]
fn spa_fallback_is_off_by_default_and_exclusions_are_configurable() {
    let dir = site();
    let mut svc = service(dir.path(), "");
    assert_eq!(get(&mut svc, "/users/42").status(), StatusCode::NOT_FOUND);
    let mut svc = service(
        dir.path(),
        "spa_fallback = index.html\nspa_fallback_exclude = /api/*, *.js\n",
    );
    assert_eq!(get(&mut svc, "/api/users").status(), StatusCode::NOT_FOUND);
    assert_eq!(get(&mut svc, "/x.js").status(), StatusCode::NOT_FOUND);
    // Dots are no longer excluded with this list.
    assert_eq!(get(&mut svc, "/report.pdf").status(), StatusCode::OK);
    // A fallback file that is missing leaves the 404.
    let mut svc = service(dir.path(), "spa_fallback = shell.html\n");
    assert_eq!(get(&mut svc, "/users/42").status(), StatusCode::NOT_FOUND);
}

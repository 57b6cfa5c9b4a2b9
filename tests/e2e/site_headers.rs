//! Response headers from the configuration, end to end: Cache-Control rules by path,
//! `header_add` / `header_set` / `header_remove`, an overridden security header, the
//! HSTS `includeSubDomains` and `preload` directives, the single-page-application
//! fallback, and all of them changed by a SIGHUP reload.

use std::sync::Arc;

use crate::harness::Server;
use crate::reload::reload;
use crate::tls::TlsServer;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn site_config() -> String {
    format!(
        "cache_control = *.css, *.js: {IMMUTABLE}\n\
         cache_control = *.html: no-cache\n\
         header_add = X-Robots-Tag: noindex\n\
         header_remove = X-Frame-Options\n\
         header_set = Content-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline'\n"
    )
}

#[test]
fn rfc9111_5_2_cache_control_rules_by_extension_and_path() {
    let s = Server::start(&site_config());
    let r = s.get("/style.css", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(
        s.get("/app.js", "").header("cache-control"),
        Some(IMMUTABLE)
    );
    // `/` serves index.html, and the HTML rule applies to it.
    assert_eq!(s.get("/", "").header("cache-control"), Some("no-cache"));
    assert_eq!(s.get("/sub/", "").header("cache-control"), Some("no-cache"));
    // No rule matches: no field; an error never gets a year of caching.
    assert_eq!(s.get("/big.bin", "").header("cache-control"), None);
    let missing = s.get("/gone.css", "");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("cache-control"), None);
    // RFC 9110 §15.4.5: the 304 carries what the 200 would.
    let etag = s.get("/style.css", "").header("etag").unwrap().to_owned();
    let r = s.get("/style.css", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304);
    assert_eq!(r.header("cache-control"), Some(IMMUTABLE));
}

#[test]
fn configured_headers_are_added_set_and_removed() {
    let s = Server::start(&site_config());
    for path in ["/", "/style.css", "/missing-page"] {
        let r = s.get(path, "");
        assert_eq!(r.header("x-robots-tag"), Some("noindex"), "{path}");
        assert_eq!(r.header("x-frame-options"), None, "{path}");
        assert_eq!(
            r.header_all("content-security-policy"),
            ["default-src 'self'; style-src 'self' 'unsafe-inline'"],
            "{path}"
        );
        // Untouched security headers keep their defaults.
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
}

#[test]
fn content_security_policy_default_and_per_site_override() {
    // The default blocks inline styles: a site moved from nginx must loosen it.
    let s = Server::start("");
    assert_eq!(
        s.get("/", "").header("content-security-policy"),
        Some("default-src 'self'")
    );
    let s = Server::start("header_content_security_policy =\n");
    assert_eq!(s.get("/", "").header("content-security-policy"), None);
}

#[test]
fn invalid_header_rules_are_refused_naming_file_line_and_key() {
    let base = tempfile::tempdir().unwrap();
    let conf = base.path().join("bad.conf");
    std::fs::write(
        &conf,
        "port = 0\nallow_root = true\nwww_path = /tmp\nheader_add = Content-Length: 1\ncache_control = *.css max-age=1\n",
    )
    .unwrap();
    let (status, out) = crate::harness::run_carbond(
        &["--check-config", "--config", conf.to_str().unwrap()],
        std::time::Duration::from_secs(20),
    );
    assert!(!status.unwrap().success(), "{out}");
    let name = conf.display().to_string();
    assert!(out.contains(&format!("{name}:4")), "{out}");
    assert!(out.contains("header_add"), "{out}");
    assert!(out.contains(&format!("{name}:5")), "{out}");
    assert!(out.contains("cache_control"), "{out}");
}

#[test]
fn rfc6797_6_1_hsts_include_subdomains_and_preload_follow_reload() {
    let ts = TlsServer::start("hsts_include_subdomains = true\nhsts_preload = true\n");
    let cfg = Arc::new(ts.client(rustls::ALL_VERSIONS));
    let r = ts.get(&cfg, "localhost", "/").response;
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload")
    );
    // Plain HTTP never carries it (RFC 6797 §7.2).
    assert_eq!(
        ts.server.get("/", "").header("strict-transport-security"),
        None
    );

    let conf = ts.server.base().join("carbon.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text
        .replace("hsts_preload = true\n", "")
        .replace("hsts_include_subdomains = true\n", "hsts_max_age = 600\n");
    std::fs::write(&conf, text).unwrap();
    reload(&ts.server, 2).unwrap();
    let r = ts.get(&cfg, "localhost", "/").response;
    assert_eq!(r.header("strict-transport-security"), Some("max-age=600"));
}

#[test]
fn spa_fallback_serves_deep_links_but_not_assets_or_post() {
    let s = Server::start("spa_fallback = /index.html\ncache_control = *.html: no-cache\n");
    let index = s.get("/index.html", "").body;
    for deep in ["/users/42", "/settings/profile/", "/a/b/c?tab=2"] {
        let r = s.get(deep, "");
        assert_eq!(r.status, 200, "{deep}");
        assert_eq!(r.body, index, "{deep}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{deep}");
    }
    // A missing asset stays a 404 (HTML in place of JavaScript breaks the page).
    for asset in ["/assets/app.0000.js", "/logo.png"] {
        assert_eq!(s.get(asset, "").status, 404, "{asset}");
    }
    // Only GET and HEAD fall back.
    let r = s.request(
        b"POST /users/42 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 405);
    assert_ne!(r.body, index);
    let mut c = s.connect();
    c.send(b"HEAD /users/42 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let r = c.head_response();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(index.len().to_string().as_str())
    );
    // Existing files are untouched.
    assert_eq!(
        s.get("/style.css", "").body_str(),
        crate::harness::style_css()
    );
}

#[test]
fn site_settings_change_with_a_reload() {
    let s = Server::start("");
    assert_eq!(s.get("/users/42", "").status, 404);
    assert_eq!(s.get("/style.css", "").header("cache-control"), None);
    let conf = s.base().join("carbon.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        format!("{text}spa_fallback = index.html\n{}", site_config()),
    )
    .unwrap();
    reload(&s, 2).unwrap();
    assert_eq!(s.get("/users/42", "").status, 200);
    let r = s.get("/style.css", "");
    assert_eq!(r.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(r.header("x-robots-tag"), Some("noindex"));
    assert_eq!(r.header("x-frame-options"), None);
}

#[test]
fn check_config_names_a_missing_spa_fallback_file_with_its_line() {
    let base = tempfile::tempdir().unwrap();
    let www = base.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let conf = base.path().join("site.conf");
    std::fs::write(
        &conf,
        format!(
            "port = 0\nallow_root = true\nwww_path = {}\nspa_fallback = /app.html\n",
            www.display()
        ),
    )
    .unwrap();
    let check = || {
        crate::harness::run_carbond(
            &["--check-config", "--config", conf.to_str().unwrap()],
            std::time::Duration::from_secs(20),
        )
    };
    let (status, out) = check();
    assert!(!status.unwrap().success(), "{out}");
    assert!(
        out.contains(&format!("{}:4: spa_fallback app.html", conf.display())),
        "{out}"
    );
    std::fs::write(www.join("app.html"), "<div id=app></div>").unwrap();
    let (status, out) = check();
    assert!(status.unwrap().success(), "{out}");
}

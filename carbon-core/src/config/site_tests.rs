//! `[site ...]` sections: parsing, inheritance, and the errors they can cause, each
//! naming its line.

use std::path::PathBuf;

use super::{Config, UnknownHost};

fn errors(text: &str) -> Vec<String> {
    match Config::from_text(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn a_file_without_sections_has_no_sites_and_loads_as_before() {
    let cfg = Config::from_text("port = 9000\nwww_path = /srv/www\n").unwrap();
    assert!(cfg.sites.is_empty());
    assert_eq!(cfg.unknown_host, UnknownHost::Default);
    // The default file is still valid and still describes one site.
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../etc/carbon.conf"))
        .unwrap();
    let cfg = Config::from_text(&text).unwrap();
    assert!(cfg.sites.is_empty());
}

#[test]
fn sections_inherit_the_global_settings_and_override_site_keys() {
    let text = "\
www_path = /srv/default
gzip = off
header_add = X-Global: 1
unknown_host = refuse

[site Example.COM www.example.com.]
www_path = /srv/example
header_add = X-Site: a
header_add = X-Site2: b

[site *.blog.test]
error_page_404 = 404.html
";
    let cfg = Config::from_text(text).unwrap();
    assert_eq!(cfg.unknown_host, UnknownHost::Refuse);
    assert_eq!(cfg.www_path, PathBuf::from("/srv/default"));
    assert!(cfg
        .summary()
        .contains("serving /srv/default and 2 [site] sections with"));
    assert_eq!(cfg.sites.len(), 2);
    let a = &cfg.sites[0];
    assert_eq!(a.names, vec!["example.com", "www.example.com"]);
    assert_eq!(a.line, 6);
    assert_eq!(a.label(), "example.com");
    assert_eq!(a.cfg.www_path, PathBuf::from("/srv/example"));
    assert!(!a.cfg.gzip, "inherited from the global settings");
    // A repeatable key in a section replaces the inherited list.
    let added: Vec<String> = a
        .cfg
        .header_add
        .iter()
        .map(|h| h.name.to_string())
        .collect();
    assert_eq!(added, vec!["x-site", "x-site2"]);
    let b = &cfg.sites[1];
    assert_eq!(b.names, vec!["*.blog.test"]);
    assert_eq!(b.cfg.www_path, PathBuf::from("/srv/default"));
    assert_eq!(b.cfg.error_page_404, Some(PathBuf::from("404.html")));
    assert_eq!(
        b.cfg.header_add.len(),
        1,
        "global list kept when not overridden"
    );
}

#[test]
fn a_global_key_inside_a_section_is_an_error_naming_line_and_key() {
    let errs = errors("port = 1\n[site a.test]\nport = 2\nmax_threads = 2\n");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with("<text>:3: key `port`: a global setting"),
        "{errs:?}"
    );
    assert!(
        errs[1].starts_with("<text>:4: key `max_threads`"),
        "{errs:?}"
    );
}

#[test]
fn every_section_error_is_reported_in_one_pass() {
    let text = "\
gzip = maybe
[site a.test]
www_path = /a
www_path = /b
gzip_min_length = lots
nonsense = 1
[site A.test b.test]
[site bad/name]
[server x]
hsts_preload = on
";
    let errs = errors(text);
    let lines: Vec<&str> = errs.iter().map(|e| e.split(": ").next().unwrap()).collect();
    // 1: global value; 4: duplicate; 5: value; 6: unknown key; 7: name taken;
    // 8: bad name; 9: bad header.
    for want in [
        "<text>:1", "<text>:4", "<text>:5", "<text>:6", "<text>:7", "<text>:8", "<text>:9",
    ] {
        assert!(lines.contains(&want), "{want} missing from {errs:#?}");
    }
    assert!(
        errs.iter()
            .any(|e| e.contains("already used by the site on line 2")),
        "{errs:#?}"
    );
}

#[test]
fn a_site_certificate_needs_both_files_and_is_offered_by_sni() {
    let errs = errors("use_https = on\n[site a.test]\nssl_cert_path = /a.pem\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("<text>:3: key `ssl_cert_path`"),
        "{errs:?}"
    );
    let cfg = Config::from_text(
        "use_https = on\n[site a.test www.a.test]\nssl_cert_path = /a.pem\nssl_key_path = /a.key\n",
    )
    .unwrap();
    let sni: Vec<(&str, PathBuf)> = cfg
        .ssl_sni
        .iter()
        .map(|s| (s.name.as_str(), s.cert.clone()))
        .collect();
    assert_eq!(
        sni,
        vec![
            ("a.test", PathBuf::from("/a.pem")),
            ("www.a.test", PathBuf::from("/a.pem"))
        ]
    );
}

#[test]
fn site_cross_checks_apply_to_what_the_section_sets() {
    let errs = errors("[site a.test]\nredirect_http_to_https = on\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("<text>:2: key `redirect_http_to_https`"),
        "{errs:?}"
    );
}

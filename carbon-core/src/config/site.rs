//! Name-based virtual hosts: `[site NAME ...]` sections (docs/sites.md).
//!
//! The keys before the first section are the global settings, and they are also the
//! default site: the one that answers a name no section lists (unless
//! `unknown_host = refuse`). A section starts from a copy of the global settings
//! and overrides the per-site keys of [`SITE_KEYS`]; any other key in a section is
//! an error naming the file, line and key. A repeatable key (`header_add`, ...)
//! given in a section replaces the inherited list: the section's lines are the
//! whole list (nginx's `add_header` inheritance works the same way).

use super::error::ErrorKind;
use super::Config;

/// What a `[site]` section may set: how the site's files are served and answered.
/// Listeners, workers, timeouts, limits, logs and the daemon are the server's.
pub const SITE_KEYS: &[&str] = &[
    "www_path",
    "index_file",
    "serve_dotfiles",
    "error_page_404",
    "ssl_cert_path",
    "ssl_key_path",
    "redirect_http_to_https",
    "hsts_max_age",
    "hsts_include_subdomains",
    "hsts_preload",
    "gzip",
    "gzip_min_length",
    "brotli_static",
    "brotli",
    "security_headers",
    "header_x_content_type_options",
    "header_x_frame_options",
    "header_referrer_policy",
    "header_content_security_policy",
    "header_permissions_policy",
    "cache_control",
    "header_add",
    "header_set",
    "header_remove",
    "spa_fallback",
    "spa_fallback_exclude",
];

pub fn is_site_key(name: &str) -> bool {
    SITE_KEYS.contains(&name)
}

/// What answers a request whose host no section names (`unknown_host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownHost {
    /// The global settings serve it, as a server without sections does.
    Default,
    /// 421 Misdirected Request (RFC 9110 §15.5.20).
    Refuse,
}

/// One `[site ...]` section, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Lowercase, without a trailing dot; `*.example.com` covers exactly one more
    /// label, as in `ssl_sni`.
    pub names: Vec<String>,
    /// The line of the section header.
    pub line: usize,
    /// The global settings with the section's keys applied (its `sites` is empty).
    pub cfg: Config,
    /// The section sets its own certificate (offered for its names by SNI).
    pub own_certificate: bool,
}

impl Site {
    /// The first name: the site's label in statistics and messages.
    pub fn label(&self) -> &str {
        self.names.first().map_or("", String::as_str)
    }
}

impl Config {
    /// One line per `[site]` section for `carbond --check-config`: its names, its
    /// document root and whether it has its own certificate.
    pub fn site_summaries(&self) -> Vec<String> {
        self.sites
            .iter()
            .map(|s| {
                let cert = if s.own_certificate {
                    format!(", certificate {}", s.cfg.ssl_cert_path.display())
                } else {
                    String::new()
                };
                format!(
                    "[site {}] (line {}): serving {}{cert}",
                    s.names.join(" "),
                    s.line,
                    s.cfg.www_path.display()
                )
            })
            .collect()
    }
}

/// A name from a section header, checked and normalised: DNS labels of letters,
/// digits, `-` and `_` (case-insensitive, RFC 4343), an optional trailing dot, and
/// optionally `*.` in front.
pub(super) fn site_name(raw: &str) -> Result<String, ErrorKind> {
    let bad = |why: &str| ErrorKind::Section(format!("site name `{raw}`: {why}"));
    let lower = raw.to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    let host = name.strip_prefix("*.").unwrap_or(name);
    // RFC 1035 §2.3.4: 255 octets on the wire, 253 as text.
    if host.is_empty() || name.len() > 253 {
        return Err(bad("not a host name"));
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("empty label or one longer than 63 characters"));
        }
        let ok = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(bad(
                "a name is letters, digits, `-`, `_` and dots (write IDN names in their xn-- form)",
            ));
        }
    }
    Ok(name.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc4343_site_names_are_lowercased_and_lose_the_trailing_dot() {
        assert_eq!(site_name("WWW.Example.COM.").unwrap(), "www.example.com");
        assert_eq!(site_name("*.Example.com").unwrap(), "*.example.com");
        assert_eq!(site_name("127.0.0.1").unwrap(), "127.0.0.1");
    }

    #[test]
    fn bad_site_names_are_refused() {
        for bad in [
            "", ".", "a..b", "*.", "a b", "a/b", "*a.b", "a.*.b", "é.test",
        ] {
            assert!(site_name(bad).is_err(), "{bad:?}");
        }
        assert!(site_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn every_site_key_is_a_known_key() {
        for k in SITE_KEYS {
            assert!(super::super::key(k).is_some(), "{k}");
        }
    }
}

//! Path patterns of `cache_control`, `spa_fallback_exclude` and the header rules: which
//! request paths a rule applies to, and the `cache_control` / `header_*` value forms.
//!
//! Two forms, chosen by the first character:
//! * a **name pattern** (no `/`, e.g. `*.css`, `index.html`, `*.*`) is matched against
//!   the last segment of the path, so `*.js` covers `/app.js` and `/a/b/app.js`;
//! * a **path pattern** (starts with `/`, e.g. `/assets/*`) is matched against the
//!   whole path.
//!
//! `*` stands for any run of characters (also `/` in a path pattern); every other
//! character matches itself, case-sensitively (paths are). Matching is the classic
//! greedy star match with one backtrack point: O(path x pattern) at worst, and both
//! are bounded (the request line limit, the config line).

use http::{HeaderName, HeaderValue};

use super::error::ValueError;

/// One pattern; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    whole_path: bool,
}

impl PathPattern {
    pub fn parse(p: &str) -> Result<PathPattern, ValueError> {
        let p = p.trim();
        let invalid = |why: &str| ValueError::Invalid {
            value: p.to_owned(),
            expected: why.to_owned(),
        };
        if p.is_empty() {
            return Err(invalid("a pattern such as *.css or /assets/*"));
        }
        if p.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(invalid("a pattern without spaces or control characters"));
        }
        let whole_path = p.starts_with('/');
        if !whole_path && p.contains('/') {
            return Err(invalid(
                "a file-name pattern without `/` (*.css) or a path pattern starting with `/` (/assets/*)",
            ));
        }
        Ok(PathPattern {
            text: p.to_owned(),
            whole_path,
        })
    }

    /// `*.*`: the default of `spa_fallback_exclude`.
    pub fn last_segment_has_dot() -> PathPattern {
        PathPattern {
            text: "*.*".to_owned(),
            whole_path: false,
        }
    }

    /// `path` is the request path as resolved (decoded, starting with `/`).
    pub fn matches(&self, path: &str) -> bool {
        let subject = if self.whole_path {
            path
        } else {
            path.rsplit('/').next().unwrap_or(path)
        };
        glob(self.text.as_bytes(), subject.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Whether any of `patterns` matches `path`.
pub fn any_matches(patterns: &[PathPattern], path: &str) -> bool {
    patterns.iter().any(|p| p.matches(path))
}

/// `*` matches any run of bytes; the last `*` seen is the only backtrack point,
/// which is enough because a later `*` can absorb whatever an earlier one would have.
fn glob(pattern: &[u8], subject: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < subject.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, s));
            p += 1;
        } else if p < pattern.len() && pattern[p] == subject[s] {
            p += 1;
            s += 1;
        } else if let Some((sp, ss)) = star {
            p = sp + 1;
            s = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// A comma-separated pattern list; empty text is an empty list.
pub(super) fn pattern_list(v: &str) -> Result<Vec<PathPattern>, ValueError> {
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(PathPattern::parse)
        .collect()
}

/// `cache_control = *.css, *.js: public, max-age=31536000, immutable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRule {
    pub patterns: Vec<PathPattern>,
    pub value: HeaderValue,
}

pub(super) fn cache_rule(v: &str) -> Result<CacheRule, ValueError> {
    let expected = "PATTERNS: VALUE, e.g. `*.css, *.js: public, max-age=31536000, immutable`";
    let invalid = |why: &str| ValueError::Invalid {
        value: v.to_owned(),
        expected: why.to_owned(),
    };
    let Some((patterns, value)) = v.split_once(':') else {
        return Err(invalid(expected));
    };
    let patterns = pattern_list(patterns)?;
    if patterns.is_empty() {
        return Err(invalid(expected));
    }
    let value = field_value(value.trim())
        .map_err(|_| invalid("a Cache-Control value of visible ASCII characters after the `:`"))?;
    Ok(CacheRule { patterns, value })
}

/// A response header field from `header_add` / `header_set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLine {
    pub name: HeaderName,
    pub value: HeaderValue,
}

/// Fields the configuration may not add, replace or remove: framing and connection
/// management (RFC 9112 §6, RFC 9110 §7.6.1: a wrong one desynchronises the peer, the
/// request-smuggling family), the representation metadata the file service computes
/// per response, and the fields the driver owns.
const RESERVED: &[(&str, &str)] = &[
    ("content-length", "framing is computed per response"),
    ("transfer-encoding", "framing is computed per response"),
    ("connection", "connection management is the server's"),
    ("keep-alive", "connection management is the server's"),
    ("upgrade", "connection management is the server's"),
    ("te", "connection management is the server's"),
    ("trailer", "framing is computed per response"),
    ("proxy-connection", "connection management is the server's"),
    (
        "content-encoding",
        "chosen per request by content negotiation",
    ),
    ("content-range", "computed per range request"),
    ("date", "written by the server on every response"),
    ("server", "written by the server on every response"),
    (
        "strict-transport-security",
        "set it with hsts_max_age, hsts_include_subdomains and hsts_preload",
    ),
    ("cache-control", "use the cache_control key (rules by path)"),
];

pub(super) fn header_name(v: &str) -> Result<HeaderName, ValueError> {
    let name = HeaderName::from_bytes(v.trim().as_bytes()).map_err(|_| ValueError::Invalid {
        value: v.to_owned(),
        expected: "a header field name (letters, digits and !#$%&'*+-.^_`|~)".to_owned(),
    })?;
    if let Some((_, why)) = RESERVED.iter().find(|(n, _)| *n == name.as_str()) {
        return Err(ValueError::Invalid {
            value: v.to_owned(),
            expected: format!("a header field other than `{name}` ({why})"),
        });
    }
    Ok(name)
}

/// `Name: value`.
pub(super) fn header_line(v: &str) -> Result<HeaderLine, ValueError> {
    let Some((name, value)) = v.split_once(':') else {
        return Err(ValueError::Invalid {
            value: v.to_owned(),
            expected: "NAME: VALUE, e.g. `X-Robots-Tag: noindex`".to_owned(),
        });
    };
    let name = header_name(name)?;
    let value = field_value(value.trim()).map_err(|_| ValueError::Invalid {
        value: v.to_owned(),
        expected: "a header value of visible ASCII characters after the `:`".to_owned(),
    })?;
    Ok(HeaderLine { name, value })
}

/// RFC 9110 §5.5: visible ASCII, spaces and tabs; an empty value is allowed by the
/// grammar but never what an operator meant, so it is refused.
fn field_value(v: &str) -> Result<HeaderValue, ()> {
    if v.is_empty() || !v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        return Err(());
    }
    HeaderValue::from_str(v).map_err(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        PathPattern::parse(pattern).unwrap().matches(path)
    }

    #[test]
    fn name_patterns_match_the_last_segment() {
        assert!(m("*.css", "/style.css"));
        assert!(m("*.css", "/a/b/style.css"));
        assert!(!m("*.css", "/style.css.map"));
        assert!(!m("*.css", "/css/"));
        assert!(m("index.html", "/docs/index.html"));
        assert!(!m("index.html", "/index.html.bak"));
        assert!(m("*.*", "/assets/app.3f2a.js"));
        assert!(!m("*.*", "/users/42"));
        assert!(!m("*.*", "/v1.2/users"), "only the last segment counts");
        assert!(m("*", "/anything/at/all"));
        // Case-sensitive, like the file system.
        assert!(!m("*.CSS", "/style.css"));
    }

    #[test]
    fn path_patterns_match_the_whole_path() {
        assert!(m("/assets/*", "/assets/app.js"));
        assert!(m("/assets/*", "/assets/img/logo.png"));
        assert!(!m("/assets/*", "/app/assets/x.js"));
        assert!(m("/*.html", "/a/b.html"));
        assert!(m("/", "/"));
        assert!(!m("/", "/x"));
        assert!(m("/a*b*c", "/aXXbYYbZZc"));
        assert!(!m("/a*b*c", "/aXXbYYbZZ"));
    }

    #[test]
    fn glob_backtracks_without_blowing_up() {
        let subject = "a".repeat(4000);
        assert!(!glob(b"*a*a*a*a*a*b", subject.as_bytes()));
        assert!(glob(b"*a*a*a*a*a*", subject.as_bytes()));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(PathPattern::parse("").is_err());
        assert!(PathPattern::parse("assets/*.js").is_err());
        assert!(PathPattern::parse("a b").is_err());
        assert_eq!(
            PathPattern::parse("*.*").unwrap(),
            PathPattern::last_segment_has_dot()
        );
        assert!(pattern_list("*.css,, *.js").unwrap().len() == 2);
    }

    #[test]
    fn cache_rule_forms() {
        let r = cache_rule("*.css, *.js: public, max-age=31536000, immutable").unwrap();
        assert_eq!(r.patterns.len(), 2);
        assert_eq!(r.value, "public, max-age=31536000, immutable");
        assert!(cache_rule("*.html no-cache").is_err());
        assert!(cache_rule(": no-cache").is_err());
        assert!(cache_rule("*.html:").is_err());
        assert!(cache_rule("*.html: no-\u{7}cache").is_err());
    }

    #[test]
    fn header_lines_refuse_framing_and_driver_fields() {
        let h = header_line("X-Robots-Tag: noindex, nofollow").unwrap();
        assert_eq!(h.name, "x-robots-tag");
        assert_eq!(h.value, "noindex, nofollow");
        assert!(header_line("X-Empty:").is_err());
        assert!(header_line("no colon").is_err());
        assert!(header_line("Bad Name: x").is_err());
        for reserved in [
            "Content-Length: 1",
            "Transfer-Encoding: chunked",
            "Connection: close",
            "Server: x",
            "Strict-Transport-Security: max-age=1",
            "Cache-Control: no-store",
        ] {
            assert!(header_line(reserved).is_err(), "{reserved}");
        }
        assert!(header_name("Content-Security-Policy").is_ok());
        assert!(header_name("date").is_err());
    }
}

//! The `early_hints` key: which paths get a `103 Early Hints` response (RFC 8297)
//! with which `Link` field, e.g.
//! `early_hints = / </style.css>; rel=preload; as=style | /about.html </a.css>; rel=preload`.
//!
//! Entries are separated by `|`; each is a path (starting with `/`, up to the first
//! whitespace) and a Link field value (RFC 8288), which may list several links
//! separated by commas.

use super::error::ValueError;

/// Entries at most: each one costs a comparison on every request.
pub const MAX_ENTRIES: usize = 64;
/// Longest Link value: it is sent as is on every matching request.
pub const MAX_LINK_LEN: usize = 2048;

/// One path and the Link field its 103 response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyHint {
    pub path: String,
    pub link: http::HeaderValue,
}

fn invalid(value: &str, expected: &str) -> ValueError {
    ValueError::Invalid {
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

pub(super) fn parse(v: &str) -> Result<Vec<EarlyHint>, ValueError> {
    let mut out: Vec<EarlyHint> = Vec::new();
    for entry in v.split('|').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((path, link)) = entry.split_once(char::is_whitespace) else {
            return Err(invalid(
                entry,
                "`PATH LINK`, e.g. `/ </style.css>; rel=preload`",
            ));
        };
        let link = link.trim();
        if !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(path, "a path starting with `/`"));
        }
        if link.is_empty() || link.len() > MAX_LINK_LEN || !link.starts_with('<') {
            return Err(invalid(
                link,
                "a Link value starting with `<` (RFC 8288), at most 2048 bytes",
            ));
        }
        let value = http::HeaderValue::from_str(link)
            .map_err(|_| invalid(link, "a Link value of visible ASCII"))?;
        if out.iter().any(|h| h.path == path) {
            return Err(invalid(
                path,
                "each path once (list several links in one value, separated by commas)",
            ));
        }
        out.push(EarlyHint {
            path: path.to_owned(),
            link: value,
        });
    }
    if out.len() > MAX_ENTRIES {
        return Err(ValueError::OutOfRange {
            value: out.len().to_string(),
            range: format!("at most {MAX_ENTRIES} entries"),
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::parse;

    #[test]
    fn rfc8297_entries_split_on_bars_with_several_links_per_path() {
        let h = parse("/ </a.css>; rel=preload; as=style, </b.js>; rel=preload | /x.html </c.css>; rel=preload").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].path, "/");
        assert_eq!(
            h[0].link.to_str().unwrap(),
            "</a.css>; rel=preload; as=style, </b.js>; rel=preload"
        );
        assert_eq!(h[1].path, "/x.html");
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_entries_are_errors_naming_the_part() {
        assert!(parse("/only-a-path").is_err());
        assert!(parse("nopath </a.css>; rel=preload").is_err());
        assert!(parse("/ a.css").is_err());
        assert!(parse("/ </a\u{7f}.css>").is_err());
        assert!(parse("/ </a.css> | / </b.css>").is_err());
    }
}

//! Conditional requests (RFC 9110 §13): entity-tag parsing and comparison, and the
//! precondition evaluation order of §13.2.2 up to (not including) `If-Range`, which
//! belongs to range handling.
//!
//! Evaluated against the *selected* representation: the gzip variant has its own
//! entity tag, so a cache holding one variant never revalidates the other.

use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE};
use http::{HeaderMap, HeaderName};

/// An entity-tag (RFC 9110 §8.8.3). `opaque` keeps its double quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EntityTag<'a> {
    pub weak: bool,
    pub opaque: &'a str,
}

impl<'a> EntityTag<'a> {
    /// Parses one complete entity-tag; anything else (or trailing bytes) is `None`.
    pub fn parse(value: &'a str) -> Option<Self> {
        let mut members = Members { rest: value };
        match (members.next(), members.rest.trim()) {
            (Some(Member::Tag(tag)), "") => Some(tag),
            _ => None,
        }
    }

    /// §8.8.3.2: both strong and character-for-character equal.
    pub fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// §8.8.3.2: equal opaque tags, whatever their weakness.
    pub fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// One member of an `If-Match` / `If-None-Match` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Member<'a> {
    Any,
    Tag(EntityTag<'a>),
    /// Not an entity-tag; it can match nothing.
    Invalid,
}

/// Iterates the members of a `#entity-tag` list. Commas inside quotes belong to the
/// tag (etagc includes `,`), so the list cannot simply be split on commas.
pub(super) struct Members<'a> {
    pub rest: &'a str,
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        let s = self.rest.trim_start_matches([' ', '\t', ',']);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        if let Some(rest) = s.strip_prefix('*') {
            self.rest = rest;
            return Some(Member::Any);
        }
        let (weak, quoted) = match s.strip_prefix("W/") {
            Some(quoted) => (true, quoted),
            None => (false, s),
        };
        if let Some(inner) = quoted.strip_prefix('"') {
            if let Some(end) = inner.find('"') {
                self.rest = &inner[end + 1..];
                return Some(Member::Tag(EntityTag {
                    weak,
                    opaque: &quoted[..end + 2],
                }));
            }
        }
        self.rest = &s[s.find(',').unwrap_or(s.len())..];
        Some(Member::Invalid)
    }
}

/// The outcome of §13.2.2 steps 1-4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Precondition {
    Proceed,
    /// 304 (only GET and HEAD reach this service).
    NotModified,
    /// 412.
    Failed,
}

/// Whether any of §13.1's fields is present. Most requests carry none, and one pass
/// over the request's few field names costs less than a lookup for each of the four.
fn has_preconditions(headers: &HeaderMap) -> bool {
    headers.keys().any(|name| {
        name == IF_MATCH
            || name == IF_NONE_MATCH
            || name == IF_MODIFIED_SINCE
            || name == IF_UNMODIFIED_SINCE
    })
}

/// RFC 9110 §13.2.2 for a GET or HEAD on an existing representation.
pub(super) fn evaluate(headers: &HeaderMap, etag: &str, last_modified: SystemTime) -> Precondition {
    if !has_preconditions(headers) {
        return Precondition::Proceed;
    }
    let Some(current) = EntityTag::parse(etag) else {
        return Precondition::Proceed;
    };
    let modified = unix_secs(last_modified);
    // Step 1 / §13.1.1: strong comparison; `*` matches any existing representation.
    if let Some(matched) = any_member(headers, &IF_MATCH, |m| match m {
        Member::Any => true,
        Member::Tag(tag) => tag.strong_eq(&current),
        Member::Invalid => false,
    }) {
        if !matched {
            return Precondition::Failed;
        }
    } else if let Some(since) = single_date(headers, &IF_UNMODIFIED_SINCE) {
        // Step 2 / §13.1.4: only without If-Match; an invalid date is ignored.
        if modified > since {
            return Precondition::Failed;
        }
    }
    // Step 3 / §13.1.2: weak comparison.
    if let Some(matched) = any_member(headers, &IF_NONE_MATCH, |m| match m {
        Member::Any => true,
        Member::Tag(tag) => tag.weak_eq(&current),
        Member::Invalid => false,
    }) {
        if matched {
            return Precondition::NotModified;
        }
    } else if let Some(since) = single_date(headers, &IF_MODIFIED_SINCE) {
        // Step 4 / §13.1.3: only without If-None-Match.
        if modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// `None` when the field is absent, else whether any member of any of its lines
/// satisfies `pred`. A line that is not visible ASCII matches nothing.
fn any_member(
    headers: &HeaderMap,
    name: &HeaderName,
    pred: impl Fn(Member<'_>) -> bool,
) -> Option<bool> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    Some(values.any(|v| v.to_str().is_ok_and(|s| Members { rest: s }.any(&pred))))
}

/// A field that must hold exactly one HTTP-date (§5.6.7), in seconds since the epoch.
/// Repeated or unparsable fields are ignored, as §13.1.3 and §13.1.4 require.
pub(super) fn single_date(headers: &HeaderMap, name: &HeaderName) -> Option<u64> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let date = httpdate::parse_http_date(value.to_str().ok()?.trim()).ok()?;
    Some(unix_secs(date))
}

/// HTTP dates have one-second resolution, so validators compare whole seconds.
pub(super) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::time::Duration;

    const ETAG: &str = "\"5f-10\"";

    fn lm() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
    }

    fn eval(fields: &[(HeaderName, &str)]) -> Precondition {
        let mut h = HeaderMap::new();
        for (name, value) in fields {
            h.append(name, HeaderValue::from_str(value).unwrap());
        }
        evaluate(&h, ETAG, lm())
    }

    #[test]
    fn rfc9110_8_8_3_list_parsing_keeps_commas_inside_quotes() {
        let members: Vec<_> = Members {
            rest: " \"a,b\" , W/\"c\",*,bogus, \"d\"",
        }
        .collect();
        assert_eq!(
            members,
            vec![
                Member::Tag(EntityTag {
                    weak: false,
                    opaque: "\"a,b\""
                }),
                Member::Tag(EntityTag {
                    weak: true,
                    opaque: "\"c\""
                }),
                Member::Any,
                Member::Invalid,
                Member::Tag(EntityTag {
                    weak: false,
                    opaque: "\"d\""
                }),
            ]
        );
        assert_eq!(
            Members { rest: "\"open" }.collect::<Vec<_>>(),
            vec![Member::Invalid]
        );
    }

    #[test]
    fn rfc9110_8_8_3_2_strong_and_weak_comparison() {
        let strong = EntityTag::parse("\"1\"").unwrap();
        let weak = EntityTag::parse("W/\"1\"").unwrap();
        assert!(!weak.strong_eq(&strong));
        assert!(weak.weak_eq(&strong));
        assert!(strong.strong_eq(&strong));
        assert!(EntityTag::parse("\"1\" junk").is_none());
    }

    #[test]
    fn rfc9110_13_1_2_if_none_match_uses_weak_comparison() {
        assert_eq!(
            eval(&[(IF_NONE_MATCH, "W/\"5f-10\"")]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[(IF_NONE_MATCH, "\"x\", \"5f-10\"")]),
            Precondition::NotModified
        );
        assert_eq!(eval(&[(IF_NONE_MATCH, "*")]), Precondition::NotModified);
        assert_eq!(eval(&[(IF_NONE_MATCH, "\"x\"")]), Precondition::Proceed);
        // Split over two field lines.
        assert_eq!(
            eval(&[(IF_NONE_MATCH, "\"x\""), (IF_NONE_MATCH, ETAG)]),
            Precondition::NotModified
        );
    }

    #[test]
    fn rfc9110_13_1_3_if_modified_since() {
        assert_eq!(
            eval(&[(IF_MODIFIED_SINCE, &date(1_700_000_000))]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[(IF_MODIFIED_SINCE, &date(1_700_000_001))]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[(IF_MODIFIED_SINCE, &date(1_699_999_999))]),
            Precondition::Proceed
        );
        assert_eq!(
            eval(&[(IF_MODIFIED_SINCE, "yesterday")]),
            Precondition::Proceed
        );
    }

    #[test]
    fn rfc9110_13_1_3_if_modified_since_ignored_with_if_none_match() {
        let fields = [
            (IF_NONE_MATCH, "\"other\""),
            (IF_MODIFIED_SINCE, &*date(1_800_000_000)),
        ];
        assert_eq!(eval(&fields), Precondition::Proceed);
    }

    #[test]
    fn rfc9110_13_1_1_if_match_uses_strong_comparison() {
        assert_eq!(eval(&[(IF_MATCH, ETAG)]), Precondition::Proceed);
        assert_eq!(eval(&[(IF_MATCH, "*")]), Precondition::Proceed);
        assert_eq!(eval(&[(IF_MATCH, "W/\"5f-10\"")]), Precondition::Failed);
        assert_eq!(eval(&[(IF_MATCH, "\"nope\"")]), Precondition::Failed);
        assert_eq!(eval(&[(IF_MATCH, "garbage")]), Precondition::Failed);
    }

    #[test]
    fn rfc9110_13_1_4_if_unmodified_since() {
        assert_eq!(
            eval(&[(IF_UNMODIFIED_SINCE, &date(1_699_999_999))]),
            Precondition::Failed
        );
        assert_eq!(
            eval(&[(IF_UNMODIFIED_SINCE, &date(1_700_000_000))]),
            Precondition::Proceed
        );
        assert_eq!(
            eval(&[(IF_UNMODIFIED_SINCE, "not a date")]),
            Precondition::Proceed
        );
        // Ignored when If-Match is present (§13.2.2 step 2).
        let fields = [(IF_MATCH, ETAG), (IF_UNMODIFIED_SINCE, &*date(1))];
        assert_eq!(eval(&fields), Precondition::Proceed);
    }

    #[test]
    fn rfc9110_13_2_2_if_match_is_evaluated_before_if_none_match() {
        let fields = [(IF_MATCH, "\"nope\""), (IF_NONE_MATCH, ETAG)];
        assert_eq!(eval(&fields), Precondition::Failed);
    }
}

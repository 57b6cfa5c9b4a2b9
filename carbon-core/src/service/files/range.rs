//! Byte-range requests (RFC 9110 §14) and `If-Range` (§13.1.5), always on the identity
//! representation.
//!
//! Policy: one satisfiable range gives 206; a syntactically valid range set with
//! more than one range gives the whole representation (§14.2 lets a server ignore
//! Range, and multipart/byteranges buys little while costing a second body format
//! and the overlapping-ranges amplification of CVE-2011-3192); anything malformed is
//! ignored (200); a single unsatisfiable range gives 416.

use std::time::{Duration, SystemTime};

use http::header::{IF_RANGE, RANGE};
use http::HeaderMap;

use super::cache::Validators;
use super::conditional::{unix_secs, EntityTag};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeOutcome {
    /// 200 with the whole representation.
    Full,
    /// 206 with `len` bytes from `start`.
    Partial { start: u64, len: u64 },
    /// 416 with `Content-Range: bytes */<len>`.
    Unsatisfiable,
}

/// §14.2 and §13.2.2 step 5, for a GET whose representation is `len` bytes long and
/// whose response carries `Date: date`. The caller must not call this for other
/// methods (§14.2: Range is defined only for GET).
pub(super) fn evaluate(
    headers: &HeaderMap,
    len: u64,
    validators: &Validators,
    date: SystemTime,
) -> RangeOutcome {
    let mut ranges = headers.get_all(RANGE).iter();
    let (Some(range), None) = (ranges.next(), ranges.next()) else {
        return RangeOutcome::Full;
    };
    let Ok(range) = range.to_str() else {
        return RangeOutcome::Full;
    };
    if headers.contains_key(IF_RANGE) && !if_range_holds(headers, validators, date) {
        return RangeOutcome::Full;
    }
    match parse(range, len) {
        // §14.1.1: a suffix range on an empty representation is satisfiable (its
        // length is non-zero) yet selects no byte; a 206 cannot express an empty
        // range, so the whole, empty representation is sent with 200.
        RangeOutcome::Partial { len: 0, .. } => RangeOutcome::Full,
        outcome => outcome,
    }
}

/// §13.1.5: a strong entity-tag match, or a date exactly equal to Last-Modified when
/// that date is a strong validator. A weak tag, a repeated field or an unparsable
/// value never holds.
fn if_range_holds(headers: &HeaderMap, validators: &Validators, date: SystemTime) -> bool {
    let mut values = headers.get_all(IF_RANGE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        let etag = validators.etag.to_str().unwrap_or_default();
        return match (EntityTag::parse(value), EntityTag::parse(etag)) {
            (Some(theirs), Some(ours)) => theirs.strong_eq(&ours),
            _ => false,
        };
    }
    last_modified_is_strong(validators.mtime, date)
        && httpdate::parse_http_date(value)
            .is_ok_and(|given| unix_secs(given) == unix_secs(validators.modified))
}

/// §8.8.2.2: a one-second date is a strong validator only if the file cannot change
/// again within the second it names, i.e. its modification lies at least one second
/// before the response's Date. A file written just now (or dated in the future) may
/// still be mid-rewrite within that second, so its date is weak.
fn last_modified_is_strong(mtime: SystemTime, date: SystemTime) -> bool {
    date.duration_since(mtime)
        .is_ok_and(|age| age >= Duration::from_secs(1))
}

/// §14.1.2 `ranges-specifier` for the `bytes` unit.
fn parse(value: &str, len: u64) -> RangeOutcome {
    let Some((unit, set)) = value.split_once('=') else {
        return RangeOutcome::Full;
    };
    // §14.1: range units are case-insensitive.
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeOutcome::Full;
    }
    // §5.6.1: empty list elements are allowed and carry nothing.
    let mut specs = set
        .split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return RangeOutcome::Full;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Full;
    };
    match (digits(first), digits(last)) {
        // suffix-range: the last n bytes; n = 0 is unsatisfiable (§14.1.1), any other
        // n is satisfiable even on an empty representation (it then selects nothing).
        (None, Some(n)) if first.is_empty() => {
            if n == 0 {
                return RangeOutcome::Unsatisfiable;
            }
            let start = len.saturating_sub(n);
            RangeOutcome::Partial {
                start,
                len: len - start,
            }
        }
        (Some(start), None) if last.is_empty() => {
            if start >= len {
                return RangeOutcome::Unsatisfiable;
            }
            RangeOutcome::Partial {
                start,
                len: len - start,
            }
        }
        // §14.1.1: last-pos < first-pos makes the range-spec invalid, not unsatisfiable.
        (Some(start), Some(end)) if end >= start => {
            if start >= len {
                return RangeOutcome::Unsatisfiable;
            }
            let end = end.min(len - 1);
            RangeOutcome::Partial {
                start,
                len: end - start + 1,
            }
        }
        _ => RangeOutcome::Full,
    }
}

/// `1*DIGIT`, saturating: a position beyond `u64::MAX` is beyond any file, which the
/// bounds checks above then treat exactly as the huge number it is.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::time::UNIX_EPOCH;

    const ETAG: &str = "\"abc\"";

    fn lm() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn validators(mtime: SystemTime) -> Validators {
        Validators {
            etag: HeaderValue::from_static(ETAG),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(mtime)).unwrap(),
            modified: mtime,
            mtime,
        }
    }

    /// Evaluated with a file modified at `mtime` and a response dated `date`.
    fn eval_at(
        fields: &[(http::HeaderName, &str)],
        len: u64,
        mtime: SystemTime,
        date: SystemTime,
    ) -> RangeOutcome {
        let mut h = HeaderMap::new();
        for (name, value) in fields {
            h.append(name, HeaderValue::from_str(value).unwrap());
        }
        evaluate(&h, len, &validators(mtime), date)
    }

    /// A file modified long before the response.
    fn eval(fields: &[(http::HeaderName, &str)], len: u64) -> RangeOutcome {
        eval_at(fields, len, lm(), lm() + Duration::from_secs(3600))
    }

    fn range(value: &str, len: u64) -> RangeOutcome {
        eval(&[(RANGE, value)], len)
    }

    fn part(start: u64, len: u64) -> RangeOutcome {
        RangeOutcome::Partial { start, len }
    }

    #[test]
    fn rfc9110_14_1_2_int_range() {
        assert_eq!(range("bytes=0-0", 10), part(0, 1));
        assert_eq!(range("bytes=2-5", 10), part(2, 4));
        assert_eq!(range("bytes=2-99", 10), part(2, 8));
        assert_eq!(range("BYTES=9-9", 10), part(9, 1));
        assert_eq!(range("bytes=0-18446744073709551616", 10), part(0, 10));
    }

    #[test]
    fn rfc9110_14_1_2_open_ended_range() {
        assert_eq!(range("bytes=4-", 10), part(4, 6));
        assert_eq!(range("bytes=0-", 1), part(0, 1));
    }

    #[test]
    fn rfc9110_14_1_3_suffix_range() {
        assert_eq!(range("bytes=-3", 10), part(7, 3));
        assert_eq!(range("bytes=-30", 10), part(0, 10));
    }

    #[test]
    fn rfc9110_15_5_17_unsatisfiable_is_416() {
        assert_eq!(range("bytes=10-", 10), RangeOutcome::Unsatisfiable);
        assert_eq!(range("bytes=10-20", 10), RangeOutcome::Unsatisfiable);
        assert_eq!(range("bytes=-0", 10), RangeOutcome::Unsatisfiable);
        assert_eq!(range("bytes=0-", 0), RangeOutcome::Unsatisfiable);
        assert_eq!(range("bytes=0-0", 0), RangeOutcome::Unsatisfiable);
        assert_eq!(range("bytes=-0", 0), RangeOutcome::Unsatisfiable);
        assert_eq!(
            range("bytes=99999999999999999999999-", 10),
            RangeOutcome::Unsatisfiable
        );
    }

    #[test]
    fn rfc9110_14_2_malformed_range_is_ignored() {
        for v in [
            "bytes",
            "bytes=",
            "bytes=abc",
            "bytes=5-2",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=+1-2",
            "items=0-1",
            "bytes=0x1-2",
            "bytes= - 5",
        ] {
            assert_eq!(range(v, 10), RangeOutcome::Full, "{v}");
        }
        assert_eq!(
            eval(&[(RANGE, "bytes=0-1"), (RANGE, "bytes=2-3")], 10),
            RangeOutcome::Full
        );
    }

    #[test]
    fn rfc9110_14_2_multiple_ranges_answered_in_full() {
        assert_eq!(range("bytes=0-1,4-5", 10), RangeOutcome::Full);
        assert_eq!(range("bytes=0-1, -2", 10), RangeOutcome::Full);
        // Empty list elements do not make a second range (§5.6.1).
        assert_eq!(range("bytes=, 0-1 ,", 10), part(0, 2));
    }

    #[test]
    fn rfc9110_13_1_5_if_range_etag_needs_strong_match() {
        assert_eq!(
            eval(&[(RANGE, "bytes=0-1"), (IF_RANGE, ETAG)], 10),
            part(0, 2)
        );
        assert_eq!(
            eval(&[(RANGE, "bytes=0-1"), (IF_RANGE, "\"old\"")], 10),
            RangeOutcome::Full
        );
        assert_eq!(
            eval(&[(RANGE, "bytes=0-1"), (IF_RANGE, "W/\"abc\"")], 10),
            RangeOutcome::Full
        );
    }

    #[test]
    fn rfc9110_13_1_5_if_range_date_needs_exact_match() {
        let exact = httpdate::fmt_http_date(lm());
        let later = httpdate::fmt_http_date(lm() + Duration::from_secs(1));
        assert_eq!(
            eval(&[(RANGE, "bytes=0-1"), (IF_RANGE, &exact)], 10),
            part(0, 2)
        );
        assert_eq!(
            eval(&[(RANGE, "bytes=0-1"), (IF_RANGE, &later)], 10),
            RangeOutcome::Full
        );
        assert_eq!(
            eval(&[(RANGE, "bytes=0-1"), (IF_RANGE, "junk")], 10),
            RangeOutcome::Full
        );
    }

    #[test]
    fn rfc9110_13_1_5_if_range_without_range_is_ignored() {
        assert_eq!(eval(&[(IF_RANGE, "\"old\"")], 10), RangeOutcome::Full);
    }

    #[test]
    fn rfc9110_14_1_1_suffix_range_on_empty_representation_is_full() {
        assert_eq!(range("bytes=-1", 0), RangeOutcome::Full);
        assert_eq!(range("bytes=-5", 0), RangeOutcome::Full);
        assert_eq!(range("bytes=, -1", 0), RangeOutcome::Full);
    }

    #[test]
    fn rfc9110_8_8_2_2_if_range_date_within_a_second_of_date_is_weak() {
        let exact = httpdate::fmt_http_date(lm());
        let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, exact.as_str())];
        let just_now = lm() + Duration::from_millis(400);
        assert_eq!(eval_at(&fields, 10, lm(), just_now), RangeOutcome::Full);
        assert_eq!(eval_at(&fields, 10, lm(), lm()), RangeOutcome::Full);
        // Modified in the future of the response: no strength either.
        let before = lm() - Duration::from_secs(5);
        assert_eq!(eval_at(&fields, 10, lm(), before), RangeOutcome::Full);
        // Exactly one second old: strong.
        let later = lm() + Duration::from_secs(1);
        assert_eq!(eval_at(&fields, 10, lm(), later), part(0, 2));
        // A strong entity-tag does not depend on the file's age.
        let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, ETAG)];
        assert_eq!(eval_at(&fields, 10, lm(), just_now), part(0, 2));
    }

    #[test]
    fn rfc9110_13_1_5_if_range_weak_etag_never_holds() {
        for weak in ["W/\"abc\"", "W/\"abc\" ", " W/\"abc\""] {
            let fields = [(RANGE, "bytes=0-1"), (IF_RANGE, weak)];
            assert_eq!(eval(&fields, 10), RangeOutcome::Full, "{weak}");
        }
    }
}

//! Parsers for the value types of configuration keys: booleans, bounded integers,
//! sizes (`16k`), durations (`0.5`, `500ms`, `2m`), paths, addresses, header values.
//!
//! Each parser takes the already unquoted text and returns a [`ValueError`] that quotes
//! it, so the caller only adds where the value came from.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::error::ValueError;
use super::{IpNet, LogMode, SniCert};

fn invalid(value: &str, expected: &str) -> ValueError {
    ValueError::Invalid {
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

fn out_of_range(value: &str, range: String) -> ValueError {
    ValueError::OutOfRange {
        value: value.to_owned(),
        range,
    }
}

/// Carbon's boolean spellings, case-insensitive.
pub(super) fn boolean(v: &str) -> Result<bool, ValueError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(invalid(v, "true/yes/on/1 or false/no/off/0")),
    }
}

/// Digits only: signs, hex and blanks inside are rejected rather than guessed at.
fn digits(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// A plain non-negative integer in `min..=max`.
pub(super) fn integer(v: &str, min: u64, max: u64) -> Result<u64, ValueError> {
    let n = digits(v).ok_or_else(|| invalid(v, "a whole number"))?;
    if n < min || n > max {
        return Err(out_of_range(v, format!("{min}..={max}")));
    }
    Ok(n)
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// A byte count: plain bytes or a `k`/`m`/`g` suffix (binary: 1k = 1024),
/// case-insensitive, in `min..=max`.
pub(super) fn size(v: &str, min: u64, max: u64) -> Result<u64, ValueError> {
    const EXPECTED: &str = "a size in bytes, optionally with a k, m or g suffix (e.g. 16k)";
    let (num, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let unit = match c.to_ascii_lowercase() {
                'k' => KIB,
                'm' => MIB,
                'g' => GIB,
                _ => return Err(invalid(v, EXPECTED)),
            };
            (v[..i].trim_end(), unit)
        }
        _ => (v, 1),
    };
    let n = digits(num).ok_or_else(|| invalid(v, EXPECTED))?;
    let range = || format!("{}..={}", fmt_size(min), fmt_size(max));
    let bytes = n
        .checked_mul(unit)
        .ok_or_else(|| out_of_range(v, range()))?;
    if bytes < min || bytes > max {
        return Err(out_of_range(v, range()));
    }
    Ok(bytes)
}

/// The shortest exact spelling of a byte count, for messages and docs.
pub(crate) fn fmt_size(n: u64) -> String {
    for (unit, suffix) in [(GIB, "g"), (MIB, "m"), (KIB, "k")] {
        // (Not `is_multiple_of`: the workspace declares rust-version 1.80.)
        if n >= unit && (n / unit) * unit == n {
            return format!("{}{suffix}", n / unit);
        }
    }
    n.to_string()
}

/// A duration: seconds by default, fractions allowed (`0.5`), or a `ms`/`s`/`m`
/// suffix, in `min..=max`. Parsed in integer nanoseconds, so `0.1` is exact.
pub(super) fn duration(v: &str, min: Duration, max: Duration) -> Result<Duration, ValueError> {
    const EXPECTED: &str = "seconds (e.g. 30 or 0.5), or a number with ms, s or m (e.g. 500ms)";
    let lower = v.to_ascii_lowercase();
    let (num, nanos_per_unit): (&str, u128) = if let Some(n) = lower.strip_suffix("ms") {
        (n, 1_000_000)
    } else if let Some(n) = lower.strip_suffix('s') {
        (n, 1_000_000_000)
    } else if let Some(n) = lower.strip_suffix('m') {
        (n, 60_000_000_000)
    } else {
        (lower.as_str(), 1_000_000_000)
    };
    let num = num.trim_end();
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    let int = digits(int).ok_or_else(|| invalid(v, EXPECTED))?;
    if num.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid(v, EXPECTED));
    }
    // Fraction digits beyond nanosecond precision cannot matter for a timeout.
    let frac_digits = &frac[..frac.len().min(18)];
    let frac_value: u128 = if frac_digits.is_empty() {
        0
    } else {
        frac_digits.parse().map_err(|_| invalid(v, EXPECTED))?
    };
    let frac_scale = 10u128.pow(frac_digits.len() as u32);
    let nanos = u128::from(int)
        .checked_mul(nanos_per_unit)
        .and_then(|n| n.checked_add(frac_value * nanos_per_unit / frac_scale));
    let range = || format!("{}..={}", fmt_duration(min), fmt_duration(max));
    let nanos = nanos.ok_or_else(|| out_of_range(v, range()))?;
    if nanos < min.as_nanos() || nanos > max.as_nanos() {
        return Err(out_of_range(v, range()));
    }
    // In range, so it fits: max is a Duration.
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| out_of_range(v, range()))?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// The spelling [`duration`] accepts back, for messages and docs.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_millis() * 1_000_000 == d.subsec_nanos() {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// A path that must be given.
pub(super) fn path(v: &str) -> Result<PathBuf, ValueError> {
    if v.is_empty() {
        return Err(invalid(v, "a file or directory path"));
    }
    Ok(PathBuf::from(v))
}

/// A path where empty means "none".
pub(super) fn optional_path(v: &str) -> Option<PathBuf> {
    (!v.is_empty()).then(|| PathBuf::from(v))
}

/// `error_page_404`: a relative path names a file inside `www_path`, so it must not
/// climb out of it with `..` (the page would otherwise expose any file the server can
/// read as the body of every 404). An absolute path is the operator's explicit choice.
pub(super) fn optional_path_inside_root(v: &str) -> Result<Option<PathBuf>, ValueError> {
    let Some(p) = optional_path(v) else {
        return Ok(None);
    };
    let climbs = p
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir));
    if p.is_relative() && climbs {
        return Err(ValueError::Invalid {
            value: v.to_owned(),
            expected: "a path inside www_path (no `..`), or an absolute path".to_owned(),
        });
    }
    Ok(Some(p))
}

/// `log_file`: empty, `-` and `stderr` all mean standard error (Carbon's daemon mode
/// under systemd sends stderr to the journal, which is the usual destination).
pub(super) fn log_file(v: &str) -> Option<PathBuf> {
    match v {
        "" | "-" | "stderr" => None,
        _ => Some(PathBuf::from(v)),
    }
}

pub(super) fn log_mode(v: &str) -> Result<LogMode, ValueError> {
    match v.to_ascii_lowercase().as_str() {
        "off" => Ok(LogMode::Off),
        "classic" => Ok(LogMode::Classic),
        "debug" => Ok(LogMode::Debug),
        "advanced" => Ok(LogMode::Advanced),
        _ => Err(invalid(v, "off, classic, debug or advanced")),
    }
}

/// An IP address; the bracketed IPv6 form `[::1]` is accepted too, since that is how
/// it appears in URLs people copy from.
pub(super) fn ip_addr(v: &str) -> Result<IpAddr, ValueError> {
    let bare = v
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(v);
    bare.parse()
        .map_err(|_| invalid(v, "an IPv4 or IPv6 address (e.g. 127.0.0.1 or ::1)"))
}

/// A host name as announced: non-empty, no whitespace or control characters (it ends
/// up in redirects' `Location` and in logs).
pub(super) fn server_name(v: &str) -> Result<String, ValueError> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(v, "a host name or address without spaces"));
    }
    Ok(v.to_owned())
}

/// A header field value we send verbatim: visible ASCII, space and tab only. RFC 9110
/// §5.5 forbids CR, LF and NUL (header injection); non-ASCII would be obs-text, which
/// recipients may reject. Empty is allowed and means "omit the header".
pub(super) fn header_value(v: &str) -> Result<String, ValueError> {
    if v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        Ok(v.trim().to_owned())
    } else {
        Err(invalid(
            v,
            "a header value of visible ASCII characters (RFC 9110 section 5.5)",
        ))
    }
}

/// `index_file`: one file name, looked up inside each directory; a path here would
/// let a directory listing point outside itself.
pub(super) fn file_name(v: &str) -> Result<String, ValueError> {
    if v.is_empty() || v == "." || v == ".." || v.contains('/') || v.contains('\0') {
        return Err(invalid(v, "a single file name such as index.html"));
    }
    Ok(v.to_owned())
}

/// `rate_limit_exempt`: comma-separated addresses or CIDR blocks; empty = none.
pub(super) fn ip_nets(v: &str) -> Result<Vec<IpNet>, ValueError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .map_err(|_| invalid(s, "an address or CIDR block (e.g. 10.0.0.0/8, ::1)"))
        })
        .collect()
}

/// `ssl_sni`: `name=cert,key`. Names are compared case-insensitively in SNI
/// (RFC 6066 §3 uses DNS host names), so they are stored lowercase.
pub(super) fn sni_cert(v: &str) -> Result<SniCert, ValueError> {
    const EXPECTED: &str = "`name=/path/cert.pem,/path/key.pem`";
    let (name, files) = v.split_once('=').ok_or_else(|| invalid(v, EXPECTED))?;
    let (cert, key) = files.split_once(',').ok_or_else(|| invalid(v, EXPECTED))?;
    let (name, cert, key) = (name.trim(), cert.trim(), key.trim());
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'*');
    if !name_ok || cert.is_empty() || key.is_empty() || key.contains(',') {
        return Err(invalid(v, EXPECTED));
    }
    Ok(SniCert {
        name: name.to_ascii_lowercase(),
        cert: PathBuf::from(cert),
        key: PathBuf::from(key),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn carbon_boolean_forms_case_insensitive() {
        for t in ["true", "yes", "on", "1", "TRUE", "Yes", "ON"] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for f in ["false", "no", "off", "0", "False", "NO", "Off"] {
            assert_eq!(boolean(f), Ok(false), "{f}");
        }
        for bad in ["", "2", "y", "enabled", "truee"] {
            assert!(boolean(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integers_are_digits_only_and_range_checked() {
        assert_eq!(integer("42", 0, 100), Ok(42));
        assert_eq!(integer("007", 0, 100), Ok(7));
        for bad in [
            "",
            "-1",
            "+1",
            "0x10",
            "1.0",
            "1 0",
            "99999999999999999999999",
        ] {
            assert!(
                matches!(integer(bad, 0, 100), Err(ValueError::Invalid { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            integer("101", 0, 100),
            Err(ValueError::OutOfRange {
                value: "101".into(),
                range: "0..=100".into()
            })
        );
        assert!(integer("0", 1, 100).is_err());
    }

    #[test]
    fn sizes_accept_binary_suffixes() {
        assert_eq!(size("512", 0, u64::MAX), Ok(512));
        assert_eq!(size("16k", 0, u64::MAX), Ok(16 * 1024));
        assert_eq!(size("16K", 0, u64::MAX), Ok(16 * 1024));
        assert_eq!(size("1m", 0, u64::MAX), Ok(1 << 20));
        assert_eq!(size("2G", 0, u64::MAX), Ok(2 << 30));
        assert_eq!(size("16 k", 0, u64::MAX), Ok(16 * 1024));
        for bad in ["", "k", "1.5m", "16kb", "16t", "-1k", "1x"] {
            assert!(size(bad, 0, u64::MAX).is_err(), "{bad}");
        }
        assert!(matches!(
            size("99999999999g", 0, u64::MAX),
            Err(ValueError::OutOfRange { .. })
        ));
        assert_eq!(
            size("2m", 0, 1 << 20),
            Err(ValueError::OutOfRange {
                value: "2m".into(),
                range: "0..=1m".into()
            })
        );
    }

    #[test]
    fn durations_accept_fractions_and_suffixes() {
        let any = |v| duration(v, Duration::ZERO, Duration::from_secs(86_400));
        assert_eq!(any("30"), Ok(Duration::from_secs(30)));
        assert_eq!(any("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(any("0.1"), Ok(Duration::from_millis(100)));
        assert_eq!(any("1.25s"), Ok(Duration::from_millis(1250)));
        assert_eq!(any("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(any("500MS"), Ok(Duration::from_millis(500)));
        assert_eq!(any("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(any("0.5m"), Ok(Duration::from_secs(30)));
        assert_eq!(any("1.5ms"), Ok(Duration::from_micros(1500)));
        for bad in ["", "s", ".5", "1.", "1h", "-1", "1..2", "1.x", "abc"] {
            assert!(any(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            duration("0", Duration::from_millis(1), Duration::from_secs(1)),
            Err(ValueError::OutOfRange { .. })
        ));
        assert!(matches!(
            any("99999999999999999999m"),
            Err(ValueError::Invalid { .. }) | Err(ValueError::OutOfRange { .. })
        ));
    }

    #[test]
    fn formatted_bounds_parse_back() {
        assert_eq!(fmt_size(64 << 20), "64m");
        assert_eq!(fmt_size(1000), "1000");
        assert_eq!(fmt_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(fmt_duration(Duration::from_secs(60)), "60s");
    }

    #[test]
    fn log_file_stderr_spellings() {
        assert_eq!(log_file(""), None);
        assert_eq!(log_file("-"), None);
        assert_eq!(log_file("stderr"), None);
        assert_eq!(log_file("log/x.log"), Some(PathBuf::from("log/x.log")));
    }

    #[test]
    fn rfc9110_5_5_header_values_reject_control_characters() {
        assert_eq!(header_value("DENY"), Ok("DENY".into()));
        assert_eq!(header_value(""), Ok(String::new()));
        assert!(header_value("a\r\nSet-Cookie: x").is_err());
        assert!(header_value("a\0b").is_err());
        assert!(header_value("café").is_err());
    }

    #[test]
    fn ip_addresses_accept_brackets() {
        assert_eq!(ip_addr("::1"), Ok("::1".parse().unwrap()));
        assert_eq!(ip_addr("[::1]"), Ok("::1".parse().unwrap()));
        assert!(ip_addr("localhost").is_err());
    }

    #[test]
    fn index_file_must_be_a_plain_name() {
        assert!(file_name("index.html").is_ok());
        for bad in ["", ".", "..", "a/b", "/index.html"] {
            assert!(file_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc6066_3_sni_entry_name_is_lowercased() {
        assert_eq!(
            sni_cert("Example.COM=/c.pem, /k.pem"),
            Ok(SniCert {
                name: "example.com".into(),
                cert: "/c.pem".into(),
                key: "/k.pem".into()
            })
        );
        for bad in [
            "example.com",
            "example.com=/c.pem",
            "=/c,/k",
            "a b=/c,/k",
            "x=/c,/k,/z",
        ] {
            assert!(sni_cert(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidr_lists_v4_and_v6() {
        let nets = ip_nets("10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,::1").unwrap();
        assert_eq!(nets.len(), 4);
        assert_eq!(nets[1].prefix, 32);
        assert_eq!(nets[3].prefix, 128);
        assert_eq!(ip_nets(""), Ok(vec![]));
        assert!(ip_nets("10.0.0.0/33").is_err());
        assert!(ip_nets("10.0.0.0/8,nonsense").is_err());
    }
}

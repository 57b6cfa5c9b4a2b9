//! Reads a certificate's validity period (RFC 5280 section 4.1.2.5) so Carbon can warn
//! about expired, not-yet-valid and soon-expiring certificates.
//!
//! This is a deliberately tiny DER walk, just far enough into `TBSCertificate` to reach
//! `validity`: it needs no ASN.1 dependency and its input comes from the operator's own
//! files, which webpki parses fully anyway. It never refuses a certificate: when it cannot
//! read the dates, the caller only loses the warning.

use std::time::SystemTime;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Warn this long before `notAfter`: enough for a manual renewal, and twice the usual
/// ACME renewal margin, so an automated setup that works never triggers it.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// `notBefore` and `notAfter`, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

const TAG_INTEGER: u8 = 0x02;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_SEQUENCE: u8 = 0x30;
/// `[0] EXPLICIT Version` (RFC 5280 section 4.1): context-specific, constructed, 0.
const TAG_VERSION: u8 = 0xa0;

/// Splits one DER element off `input`: `(tag, contents, rest)` (X.690 section 8.1).
pub(crate) fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    // High tag numbers (low five bits all set) never occur in the fields we walk.
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        // Long form. 0x80 is the indefinite length, which DER forbids (X.690 section
        // 10.1); more than four length octets would mean a >4 GiB certificate.
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (octets, rest) = rest.split_at_checked(count)?;
        let len = octets
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match der_element(input)? {
        (t, contents, rest) if t == tag => Some((contents, rest)),
        _ => None,
    }
}

/// The validity period of a DER certificate, or `None` if the walk fails.
pub fn validity(cert_der: &[u8]) -> Option<Validity> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let (certificate, _) = expect(cert_der, TAG_SEQUENCE)?;
    let (tbs, _) = expect(certificate, TAG_SEQUENCE)?;
    // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber,
    //                               signature, issuer, validity, ... }
    let tbs = match der_element(tbs)? {
        (TAG_VERSION, _, rest) => rest,
        _ => tbs,
    };
    let (_serial, rest) = expect(tbs, TAG_INTEGER)?;
    let (_signature, rest) = expect(rest, TAG_SEQUENCE)?;
    let (_issuer, rest) = expect(rest, TAG_SEQUENCE)?;
    let (validity, _) = expect(rest, TAG_SEQUENCE)?;
    let (not_before, rest) = time_element(validity)?;
    let (not_after, _) = time_element(rest)?;
    Some(Validity {
        not_before,
        not_after,
    })
}

/// `Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }`.
fn time_element(input: &[u8]) -> Option<(OffsetDateTime, &[u8])> {
    let (tag, contents, rest) = der_element(input)?;
    let time = match tag {
        // RFC 5280 section 4.1.2.5.1: YYMMDDHHMMSSZ; YY >= 50 is 19YY, else 20YY.
        TAG_UTC_TIME if contents.len() == 13 => {
            let yy = digits(&contents[0..2])?;
            let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
            civil(year, &contents[2..])?
        }
        // RFC 5280 section 4.1.2.5.2: YYYYMMDDHHMMSSZ, no fractional seconds.
        TAG_GENERALIZED_TIME if contents.len() == 15 => {
            civil(digits(&contents[0..4])?, &contents[4..])?
        }
        _ => return None,
    };
    Some((time, rest))
}

/// `MMDDHHMMSSZ` after the year.
fn civil(year: u32, rest: &[u8]) -> Option<OffsetDateTime> {
    if rest.get(10) != Some(&b'Z') {
        return None;
    }
    let month = Month::try_from(u8::try_from(digits(&rest[0..2])?).ok()?).ok()?;
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        month,
        u8::try_from(digits(&rest[2..4])?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(digits(&rest[4..6])?).ok()?,
        u8::try_from(digits(&rest[6..8])?).ok()?,
        u8::try_from(digits(&rest[8..10])?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn digits(ascii: &[u8]) -> Option<u32> {
    ascii.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// `2026-11-24 04:52:41 UTC`.
pub fn format_utc(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The warning for a certificate at `now`, if any. `what` names it ("TLS certificate
/// file /etc/carbon/cert.pem"); the text says what clients will do and what to do.
pub fn warning(what: &str, validity: &Validity, now: SystemTime) -> Option<String> {
    let now = OffsetDateTime::from(now);
    if now > validity.not_after {
        Some(format!(
            "{what}: certificate EXPIRED on {} (notAfter); clients will refuse to connect \
             until it is renewed",
            format_utc(validity.not_after)
        ))
    } else if now < validity.not_before {
        Some(format!(
            "{what}: certificate is not valid until {} (notBefore); clients will refuse \
             to connect until then (is the system clock right?)",
            format_utc(validity.not_before)
        ))
    } else if validity.not_after - now < time::Duration::days(EXPIRY_WARNING_DAYS) {
        Some(format!(
            "{what}: certificate expires soon, on {} (notAfter); renew it",
            format_utc(validity.not_after)
        ))
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use std::time::Duration;

    const RSA_CERT: &[u8] = include_bytes!("testdata/rsa2048.cert.pem");

    fn der_of(pem: &[u8]) -> Vec<u8> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        CertificateDer::from_pem_slice(pem).unwrap().to_vec()
    }

    #[test]
    fn rfc5280_4_1_2_5_reads_utctime_and_generalizedtime() {
        // OpenSSL wrote notBefore as UTCTime (before 2050) and notAfter as
        // GeneralizedTime (2050 and later, RFC 5280 section 4.1.2.5).
        let v = validity(&der_of(RSA_CERT)).unwrap();
        assert_eq!(format_utc(v.not_before), "2026-11-24 04:52:41 UTC");
        assert_eq!(format_utc(v.not_after), "2126-10-31 04:52:41 UTC");
    }

    #[test]
    fn rfc5280_4_1_2_5_1_utctime_two_digit_year_pivot_at_50() {
        let (t, _) = time_element(b"\x17\x0d491231235959Z").unwrap();
        assert_eq!(t.year(), 2049);
        let (t, _) = time_element(b"\x17\x0d500101000000Z").unwrap();
        assert_eq!(t.year(), 1950);
    }

    #[test]
    fn malformed_times_are_rejected_not_guessed() {
        assert!(time_element(b"\x17\x0d491331235959Z").is_none(), "month 13");
        assert!(time_element(b"\x17\x0d4912312359590").is_none(), "no Z");
        assert!(time_element(b"\x17\x0b4912312359Z").is_none(), "no seconds");
        assert!(
            time_element(b"\x18\x0f2049123123595xZ").is_none(),
            "non-digit"
        );
    }

    #[test]
    fn x690_10_1_indefinite_length_and_truncation_are_rejected() {
        assert!(der_element(b"\x30\x80\x00\x00").is_none());
        assert!(der_element(b"\x30\x05\x00").is_none());
        assert!(der_element(b"\x30\x82\x01").is_none());
        assert!(validity(b"").is_none());
        let der = der_of(RSA_CERT);
        for cut in 0..der.len() / 2 {
            // Every truncation that removes the validity must fail cleanly, not panic.
            let _ = validity(&der[..cut]);
        }
    }

    #[test]
    fn warning_for_expired_not_yet_valid_soon_and_fine() {
        let v = validity(&der_of(RSA_CERT)).unwrap();
        let at = |t: OffsetDateTime| {
            SystemTime::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp() as u64)
        };
        let expired = warning("f", &v, at(v.not_after + time::Duration::seconds(1))).unwrap();
        assert!(
            expired.contains("EXPIRED on 2126-10-31 04:52:41 UTC"),
            "{expired}"
        );
        let early = warning("f", &v, at(v.not_before - time::Duration::seconds(1))).unwrap();
        assert!(early.contains("not valid until 2026-11-24"), "{early}");
        let soon = warning("f", &v, at(v.not_after - time::Duration::days(3))).unwrap();
        assert!(soon.contains("expires soon"), "{soon}");
        assert_eq!(
            warning("f", &v, at(v.not_before + time::Duration::days(1))),
            None
        );
    }
}

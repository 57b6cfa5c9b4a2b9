//! The `Date` header value and the access log's timestamp, formatted once per second
//! per worker rather than per request (RFC 9110 §6.6.1 needs one-second resolution).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 9999-12-31T23:59:59Z, the last instant an IMF-fixdate can name.
const LATEST: Duration = Duration::from_secs(253_402_300_799);

use http::HeaderValue;

pub struct DateCache {
    second: u64,
    header: HeaderValue,
    clf: String,
}

impl DateCache {
    pub fn new(wall: SystemTime) -> Self {
        let mut d = DateCache {
            second: u64::MAX,
            header: HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
            clf: String::new(),
        };
        d.update(wall);
        d
    }

    pub fn update(&mut self, wall: SystemTime) {
        // httpdate cannot format dates before 1970 or after 9999 (it would panic);
        // a clock that far off still gets a well-formed header.
        let wall = wall.clamp(UNIX_EPOCH, UNIX_EPOCH + LATEST);
        let second = wall
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if second == self.second {
            return;
        }
        self.second = second;
        let imf = httpdate::fmt_http_date(wall);
        if let Ok(v) = HeaderValue::from_str(&imf) {
            self.header = v;
        }
        self.clf = clf_from_imf(&imf);
    }

    /// IMF-fixdate for the `Date` header.
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }

    /// `10/Oct/2000:13:55:36 +0000`, the combined log format's timestamp (UTC).
    pub fn clf(&self) -> &str {
        &self.clf
    }
}

/// "Tue, 15 Nov 1994 08:12:31 GMT" -> "15/Nov/1994:08:12:31 +0000".
fn clf_from_imf(imf: &str) -> String {
    let parts: Vec<&str> = imf.split(' ').collect();
    match parts.as_slice() {
        [_, day, mon, year, time, _] => format!("{day}/{mon}/{year}:{time} +0000"),
        _ => imf.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9110_5_6_7_imf_fixdate_and_clf_timestamp() {
        let t = UNIX_EPOCH + Duration::from_secs(784_887_151);
        let d = DateCache::new(t);
        assert_eq!(d.header(), "Tue, 15 Nov 1994 08:12:31 GMT");
        assert_eq!(d.clf(), "15/Nov/1994:08:12:31 +0000");
    }

    #[test]
    fn clock_outside_the_imf_fixdate_range_does_not_panic() {
        let d = DateCache::new(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(d.header(), "Thu, 01 Jan 1970 00:00:00 GMT");
        let d = DateCache::new(UNIX_EPOCH + Duration::from_secs(300_000_000_000));
        assert_eq!(d.header(), "Fri, 31 Dec 9999 23:59:59 GMT");
    }
}

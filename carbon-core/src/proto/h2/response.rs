//! A service's response as HTTP/2 fields (RFC 9113 §8.3.2) and a body to send.
//!
//! The engine owns framing, as over HTTP/1.1: `content-length` is derived from the
//! body (a HEAD answer keeps the one the service set, RFC 9110 §9.3.2), no body is
//! sent for HEAD, 1xx, 204 or 304, and connection-specific fields are dropped
//! (RFC 9113 §8.2.2: a response carrying them would be malformed).
//!
//! The fields are borrowed from the response's header map when encoded, never copied:
//! a response costs no allocation per field.

use http::header::{
    HeaderMap, HeaderName, CONNECTION, CONTENT_LENGTH, SET_COOKIE, TRANSFER_ENCODING, UPGRADE,
};
use http::StatusCode;

use super::hpack::HeaderField;
use crate::service::{Body, Response};

/// A response ready for HPACK: its status, its fields and the body to send.
pub struct Encoded {
    status: StatusCode,
    headers: HeaderMap,
    /// The `content-length` value to send, if any.
    length: Option<LengthValue>,
    pub body: Body,
}

enum LengthValue {
    /// The service's own value (HEAD), kept as it is.
    Given(http::HeaderValue),
    /// The body length in decimal: at most 20 digits.
    Computed { digits: [u8; 20], len: usize },
}

impl LengthValue {
    fn as_bytes(&self) -> &[u8] {
        match self {
            LengthValue::Given(v) => v.as_bytes(),
            LengthValue::Computed { digits, len } => &digits[20 - len..],
        }
    }

    fn computed(mut n: u64) -> LengthValue {
        let mut digits = [0u8; 20];
        let mut len = 0;
        loop {
            len += 1;
            digits[20 - len] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        LengthValue::Computed { digits, len }
    }
}

const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Connection-specific fields (RFC 9113 §8.2.2), plus `content-length`, which the
/// engine derives itself. Compared as `HeaderName`s: a standard name is one
/// comparison of its tag, not of its octets.
fn dropped(name: &HeaderName) -> bool {
    name == CONNECTION
        || name == TRANSFER_ENCODING
        || name == UPGRADE
        || name == CONTENT_LENGTH
        || name == PROXY_CONNECTION
        || name == KEEP_ALIVE
}

impl Encoded {
    /// The fields in wire order (`:status` first, `content-length` last), borrowed.
    /// `set-cookie` is never indexed (RFC 7541 §7.1.3).
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            encoded: self,
            status_sent: false,
            headers: self.headers.iter(),
            length_sent: false,
        }
    }
}

/// The iterator of [`Encoded::fields`]: one flat state machine rather than a chain of
/// adapters, as it runs for every field of every response.
pub struct Fields<'a> {
    encoded: &'a Encoded,
    status_sent: bool,
    headers: http::header::Iter<'a, http::HeaderValue>,
    length_sent: bool,
}

impl<'a> Iterator for Fields<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<HeaderField<'a>> {
        if !self.status_sent {
            self.status_sent = true;
            return Some(HeaderField {
                name: b":status",
                value: self.encoded.status.as_str().as_bytes(),
                sensitive: false,
            });
        }
        for (n, v) in self.headers.by_ref() {
            if !dropped(n) {
                return Some(HeaderField {
                    name: n.as_str().as_bytes(),
                    value: v.as_bytes(),
                    sensitive: n == SET_COOKIE,
                });
            }
        }
        if self.length_sent {
            return None;
        }
        self.length_sent = true;
        self.encoded.length.as_ref().map(|l| HeaderField {
            name: b"content-length",
            value: l.as_bytes(),
            sensitive: false,
        })
    }
}

pub fn prepare(resp: Response, head_request: bool) -> Encoded {
    let (parts, body) = resp.into_parts();
    let status = parts.status;
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let send_body = !bodiless && !head_request;
    let length = if bodiless {
        None
    } else {
        let service_length = parts
            .headers
            .get(CONTENT_LENGTH)
            .filter(|v| !v.is_empty() && v.as_bytes().iter().all(u8::is_ascii_digit));
        Some(match (head_request, service_length) {
            (true, Some(v)) => LengthValue::Given(v.clone()),
            _ => LengthValue::computed(body.len()),
        })
    };
    Encoded {
        status,
        headers: parts.headers,
        length,
        body: if send_body { body } else { Body::Empty },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn names_values(e: &Encoded) -> Vec<(String, String)> {
        e.fields()
            .map(|f| {
                (
                    String::from_utf8_lossy(f.name).into_owned(),
                    String::from_utf8_lossy(f.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn rfc9113_8_3_2_status_first_connection_fields_dropped_length_computed() {
        let resp = http::Response::builder()
            .status(200)
            .header("connection", "close")
            .header("keep-alive", "timeout=5")
            .header("content-type", "text/plain")
            .header("proxy-connection", "close")
            .header("upgrade", "h2c")
            .header("content-length", "999")
            .header("transfer-encoding", "chunked")
            .body(Body::Bytes(Bytes::from_static(b"hello world")))
            .unwrap();
        let e = prepare(resp, false);
        assert_eq!(
            names_values(&e),
            vec![
                (":status".into(), "200".into()),
                ("content-type".into(), "text/plain".into()),
                ("content-length".into(), "11".into()),
            ]
        );
        assert_eq!(e.body.len(), 11);
    }

    #[test]
    fn rfc9110_9_3_2_head_keeps_service_length_and_sends_no_body() {
        let resp = http::Response::builder()
            .status(200)
            .header("content-length", "1048576")
            .body(Body::Empty)
            .unwrap();
        let e = prepare(resp, true);
        assert_eq!(
            names_values(&e).last().unwrap(),
            &("content-length".to_string(), "1048576".to_string())
        );
        assert!(matches!(e.body, Body::Empty));
    }

    #[test]
    fn rfc9110_8_6_no_length_for_1xx_204_304_and_zero_is_written() {
        for status in [103, 204, 304] {
            let resp = http::Response::builder()
                .status(status)
                .body(Body::Empty)
                .unwrap();
            let e = prepare(resp, false);
            assert!(e.fields().all(|f| f.name != b"content-length"), "{status}");
        }
        let e = prepare(http::Response::new(Body::Empty), false);
        assert_eq!(
            names_values(&e).last().unwrap(),
            &("content-length".to_string(), "0".to_string())
        );
        assert_eq!(
            LengthValue::computed(u64::MAX).as_bytes(),
            b"18446744073709551615"
        );
    }

    #[test]
    fn rfc7541_7_1_3_set_cookie_is_sensitive() {
        let resp = http::Response::builder()
            .header("set-cookie", "a=b")
            .body(Body::Empty)
            .unwrap();
        let e = prepare(resp, false);
        assert!(e.fields().any(|f| f.name == b"set-cookie" && f.sensitive));
    }
}

//! A service's response as HTTP/2 fields (RFC 9113 §8.3.2) and a body to send.
//!
//! The engine owns framing, as over HTTP/1.1: `content-length` is derived from the
//! body (a HEAD answer keeps the one the service set, RFC 9110 §9.3.2), no body is
//! sent for HEAD, 1xx, 204 or 304, and connection-specific fields are dropped
//! (RFC 9113 §8.2.2: a response carrying them would be malformed).

use http::header::CONTENT_LENGTH;
use http::StatusCode;

use crate::service::{Body, Response};

/// Response fields in wire order (`:status` first) and the body to send.
pub struct Encoded {
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Body,
}

pub fn prepare(resp: Response, head_request: bool) -> Encoded {
    let (parts, body) = resp.into_parts();
    let status = parts.status;
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let send_body = !bodiless && !head_request;
    let mut fields = Vec::with_capacity(parts.headers.len() + 2);
    fields.push((b":status".to_vec(), status.as_str().as_bytes().to_vec()));
    let service_length = parts
        .headers
        .get(CONTENT_LENGTH)
        .filter(|v| !v.is_empty() && v.as_bytes().iter().all(u8::is_ascii_digit))
        .map(|v| v.as_bytes().to_vec());
    for (name, value) in parts.headers.iter() {
        let n = name.as_str().as_bytes();
        if matches!(
            n,
            b"connection"
                | b"proxy-connection"
                | b"keep-alive"
                | b"transfer-encoding"
                | b"upgrade"
                | b"content-length"
        ) {
            continue;
        }
        fields.push((n.to_vec(), value.as_bytes().to_vec()));
    }
    if !bodiless {
        let len = match (head_request, service_length) {
            (true, Some(v)) => v,
            _ => body.len().to_string().into_bytes(),
        };
        fields.push((b"content-length".to_vec(), len));
    }
    Encoded {
        fields,
        body: if send_body { body } else { Body::Empty },
    }
}

//! Response serialisation into the output queue.
//!
//! The engine, not the service, owns message framing: it writes Content-Length, the
//! connection-management fields and the decision whether a body goes on the wire
//! (RFC 9110 §6.4.1: never for HEAD, 1xx, 204 or 304). Framing fields a service sets
//! are dropped, so a service can never desynchronise the connection.

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH};
use http::StatusCode;

use crate::proto::out::OutQueue;
use crate::proto::Stamp;
use crate::service::{merge_pre_encoded, Body, PreEncoded, Response};

/// In-memory bodies up to this size are copied after the head, so one write sends both.
const COALESCE_BODY_MAX: usize = 16 * 1024;

/// The connection-management field the engine adds (RFC 9112 §9.3, §9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnectionField {
    None,
    Close,
    /// For a persistent HTTP/1.0 connection (RFC 9112 Appendix C.2.2).
    KeepAlive,
    /// A `101 Switching Protocols` that ends HTTP/1.1 on the connection: the
    /// service's `Connection: Upgrade` is kept, since the client checks it (RFC 9110
    /// §7.8, RFC 6455 §4.2.2 step 5), and nothing else is added.
    Upgrade,
}

/// True when the service asked to close the connection after this response.
pub(super) fn response_wants_close(resp: &Response) -> bool {
    resp.headers().get_all(CONNECTION).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
    })
}

/// Append `resp` to `out` as the answer to a request whose method was HEAD or not.
/// `pre`: the response's first fields, kept aside by the service ([`PreEncoded`]).
pub(super) fn encode_response(
    resp: Response,
    pre: Option<PreEncoded>,
    head_request: bool,
    connection: ConnectionField,
    stamp: Option<Stamp<'_>>,
    out: &mut OutQueue,
) {
    let (mut resp, mut pre) = (resp, pre);
    // A field set after the template that the template also holds replaces it in
    // place: only the merged map says where.
    if let Some(p) = pre.take_if(|p| resp.headers().keys().any(|k| p.fields().contains_key(k))) {
        merge_pre_encoded(&mut resp, p);
    }
    let (parts, body) = resp.into_parts();
    let status = parts.status;
    // RFC 9110 §8.6: no Content-Length in 1xx or 204; we omit it for 304 as well since
    // only the service could know the selected representation's length.
    let bodiless_status = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let send_body = !bodiless_status && !head_request;

    // RFC 9110 §9.3.2: a HEAD answer carries the Content-Length a GET would have, which
    // only the service knows (the service contract: it sets it for HEAD only).
    // Looked up only for HEAD: any other answer's length is its body's.
    let service_length = || {
        parts
            .headers
            .get(CONTENT_LENGTH)
            .filter(|v| !v.is_empty() && v.as_bytes().iter().all(u8::is_ascii_digit))
    };
    let content_length: Option<LengthField> = if bodiless_status {
        None
    } else if let Some(v) = head_request.then(service_length).flatten() {
        Some(LengthField::Given(v.as_bytes()))
    } else {
        Some(LengthField::Computed(body.len()))
    };

    let reason = crate::proto::reason_phrase(status);
    // The fields written: the engine frames the message itself, and RFC 9110 §7.6.1
    // makes Connection and the fields it names hop-by-hop, decided here, not by the
    // service; the driver's `Date` and `Server` replace a service's own, as over
    // HTTP/2 (never sent twice).
    let written = |name: &str| {
        !(is_engine_field(name)
            && !(name == "connection" && connection == ConnectionField::Upgrade))
            && !(stamp.is_some() && (name == "date" || name == "server"))
    };
    let coalesce = match &body {
        Body::Bytes(b) if send_body && b.len() <= COALESCE_BODY_MAX => b.len(),
        _ => 0,
    };
    // The head's exact length (names keep their length in title case): a buffer of
    // exactly that size becomes the queued chunk without a second allocation
    // (`Bytes` takes a full `Vec` as it is, and needs a shared header otherwise).
    let mut len = b"HTTP/1.1 200 \r\n\r\n".len()
        + reason.len()
        + pre.as_ref().map_or(0, |p| p.h1().len())
        + coalesce;
    for (name, value) in parts.headers.iter() {
        if written(name.as_str()) {
            len += name.as_str().len() + value.len() + 4;
        }
    }
    if let Some(s) = stamp {
        len += b"Date: \r\nServer: \r\n".len() + s.date.len() + s.server.len();
    }
    len += match content_length {
        Some(LengthField::Given(v)) => b"Content-Length: \r\n".len() + v.len(),
        Some(LengthField::Computed(n)) => b"Content-Length: \r\n".len() + decimal_len(n),
        None => 0,
    };
    len += match connection {
        ConnectionField::None | ConnectionField::Upgrade => 0,
        ConnectionField::Close => b"Connection: close\r\n".len(),
        ConnectionField::KeepAlive => b"Connection: keep-alive\r\n".len(),
    };
    let mut buf = BytesMut::with_capacity(len);

    buf.put_slice(b"HTTP/1.1 ");
    buf.put_slice(status.as_str().as_bytes());
    buf.put_u8(b' ');
    buf.put_slice(reason.as_bytes());
    buf.put_slice(b"\r\n");
    if let Some(pre) = &pre {
        buf.put_slice(pre.h1());
    }
    for (name, value) in parts.headers.iter() {
        let name = name.as_str();
        if !written(name) {
            continue;
        }
        put_title_case(&mut buf, name.as_bytes());
        buf.put_slice(b": ");
        buf.put_slice(value.as_bytes());
        buf.put_slice(b"\r\n");
    }
    if let Some(s) = stamp {
        buf.put_slice(b"Date: ");
        buf.put_slice(s.date.as_bytes());
        buf.put_slice(b"\r\nServer: ");
        buf.put_slice(s.server.as_bytes());
        buf.put_slice(b"\r\n");
    }
    match content_length {
        Some(LengthField::Given(v)) => {
            buf.put_slice(b"Content-Length: ");
            buf.put_slice(v);
            buf.put_slice(b"\r\n");
        }
        Some(LengthField::Computed(n)) => {
            buf.put_slice(b"Content-Length: ");
            put_decimal(&mut buf, n);
            buf.put_slice(b"\r\n");
        }
        None => {}
    }
    match connection {
        ConnectionField::None | ConnectionField::Upgrade => {}
        ConnectionField::Close => buf.put_slice(b"Connection: close\r\n"),
        ConnectionField::KeepAlive => buf.put_slice(b"Connection: keep-alive\r\n"),
    }
    buf.put_slice(b"\r\n");
    debug_assert_eq!(buf.len() + coalesce, len, "head length computed ahead");

    if !send_body {
        out.push_bytes(buf.freeze());
        return;
    }
    match body {
        Body::Empty => out.push_bytes(buf.freeze()),
        Body::Bytes(b) if b.len() <= COALESCE_BODY_MAX => {
            buf.put_slice(&b);
            out.push_bytes(buf.freeze());
        }
        Body::Bytes(b) => {
            out.push_bytes(buf.freeze());
            out.push_bytes(b);
        }
        Body::File(f) => {
            out.push_bytes(buf.freeze());
            out.push_file(f);
        }
    }
}

/// `map` as the field lines `encode_response` would write for it, or `None` when it
/// holds a field the engine decides itself (framing, connection management).
pub(crate) fn field_lines(map: &http::HeaderMap) -> Option<Bytes> {
    let mut buf = BytesMut::new();
    for (name, value) in map.iter() {
        if is_engine_field(name.as_str()) {
            return None;
        }
        put_title_case(&mut buf, name.as_str().as_bytes());
        buf.put_slice(b": ");
        buf.put_slice(value.as_bytes());
        buf.put_slice(b"\r\n");
    }
    Some(buf.freeze())
}

fn is_engine_field(name: &str) -> bool {
    matches!(
        name,
        "connection" | "content-length" | "transfer-encoding" | "keep-alive"
    )
}

/// Field names are case-insensitive (RFC 9110 §5.1) and the `http` crate keeps them
/// in lower case, but on HTTP/1.1 the conventional spelling (`Content-Type`, as nginx
/// and Apache send) is what people read in `curl -v` and what naive clients match
/// on. (HTTP/2 requires lower case; this is HTTP/1.1 only.)
fn put_title_case(buf: &mut BytesMut, name: &[u8]) {
    if let Some(s) = spelled(name) {
        buf.put_slice(s);
        return;
    }
    // Converted in a stack buffer and copied in slices: `put_u8` per byte checks the
    // capacity each time.
    let mut scratch = [0u8; 64];
    let mut upper = true;
    for chunk in name.chunks(scratch.len()) {
        for (d, &b) in scratch.iter_mut().zip(chunk) {
            *d = if upper { b.to_ascii_uppercase() } else { b };
            upper = b == b'-';
        }
        buf.put_slice(&scratch[..chunk.len()]);
    }
}

/// The names every file response carries, spelled out once: one copy each instead of
/// a byte-at-a-time conversion (the head is built for every response).
fn spelled(name: &[u8]) -> Option<&'static [u8]> {
    Some(match name {
        b"content-type" => b"Content-Type",
        b"etag" => b"ETag",
        b"last-modified" => b"Last-Modified",
        b"accept-ranges" => b"Accept-Ranges",
        b"vary" => b"Vary",
        b"date" => b"Date",
        b"server" => b"Server",
        b"cache-control" => b"Cache-Control",
        b"x-content-type-options" => b"X-Content-Type-Options",
        b"x-frame-options" => b"X-Frame-Options",
        b"referrer-policy" => b"Referrer-Policy",
        b"content-security-policy" => b"Content-Security-Policy",
        b"permissions-policy" => b"Permissions-Policy",
        // The few registered names whose usual spelling is not plain title case.
        b"www-authenticate" => b"WWW-Authenticate",
        b"te" => b"TE",
        _ => return None,
    })
}

enum LengthField<'a> {
    Given(&'a [u8]),
    Computed(u64),
}

/// The number of decimal digits of `n`.
fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn put_decimal(buf: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.put_slice(&digits[i..]);
}

/// The `100 Continue` interim response (RFC 9110 §15.2.1).
pub(super) fn continue_100() -> Bytes {
    Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).
mod tests {
    use super::*;
    use crate::proto::out::Chunk;
    use http::header::TRANSFER_ENCODING;

    fn encode(resp: Response, head: bool, conn: ConnectionField) -> (String, usize) {
        encode_pre(resp, None, head, conn)
    }

    fn encode_pre(
        resp: Response,
        pre: Option<PreEncoded>,
        head: bool,
        conn: ConnectionField,
    ) -> (String, usize) {
        let mut out = OutQueue::new();
        encode_response(resp, pre, head, conn, None, &mut out);
        let mut s = String::new();
        let mut chunks = 0;
        for c in out.iter() {
            chunks += 1;
            match c {
                Chunk::Bytes(b) => s.push_str(std::str::from_utf8(b).unwrap()),
                Chunk::File(_) => s.push_str("<file>"),
            }
        }
        (s, chunks)
    }

    fn resp(status: u16, body: &'static str) -> Response {
        let mut r = http::Response::new(Body::Bytes(Bytes::from_static(body.as_bytes())));
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r
    }

    /// The pre-encoded lines come first, then fields set later; a later field the
    /// template also holds replaces it in place: the bytes equal the merged map's.
    #[test]
    fn rfc9112_4_pre_encoded_fields_write_as_the_merged_map() {
        let mut fields = http::HeaderMap::new();
        fields.insert("content-type", "text/plain".parse().unwrap());
        fields.insert("x-frame-options", "DENY".parse().unwrap());
        let fields = std::sync::Arc::new(fields);
        let with = |later: &[(&'static str, &'static str)]| {
            let mut r = resp(200, "hi");
            for (n, v) in later {
                r.headers_mut().insert(*n, v.parse().unwrap());
            }
            let mut merged = r.clone();
            *merged.headers_mut() = http::HeaderMap::clone(&fields);
            for (n, v) in later {
                merged.headers_mut().insert(*n, v.parse().unwrap());
            }
            let pre = PreEncoded::new(std::sync::Arc::new(crate::service::Template::new(
                http::HeaderMap::clone(&fields),
            )))
            .unwrap();
            (r, pre, merged)
        };
        for later in [
            &[][..],
            &[("strict-transport-security", "max-age=1")][..],
            &[("x-frame-options", "SAMEORIGIN"), ("x-b", "2")][..],
            &[("connection", "close")][..],
        ] {
            let (r, pre, merged) = with(later);
            let a = encode_pre(r, Some(pre), false, ConnectionField::KeepAlive);
            let b = encode(merged, false, ConnectionField::KeepAlive);
            assert_eq!(a, b, "later fields {later:?}");
        }
        let (r, pre, _) = with(&[("x-frame-options", "SAMEORIGIN")]);
        let (s, _) = encode_pre(r, Some(pre), false, ConnectionField::None);
        assert!(s.contains("Content-Type: text/plain\r\nX-Frame-Options: SAMEORIGIN\r\n"));
        assert!(!s.contains("DENY"));
    }

    #[test]
    fn small_body_shares_the_head_buffer() {
        let mut r = resp(200, "hello");
        r.headers_mut().insert("x-a", "1".parse().unwrap());
        let (s, chunks) = encode(r, false, ConnectionField::None);
        assert_eq!(
            s,
            "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"
        );
        assert_eq!(chunks, 1);
    }

    #[test]
    fn large_body_is_a_second_chunk() {
        let big: &'static str = Box::leak("x".repeat(COALESCE_BODY_MAX + 1).into_boxed_str());
        let (s, chunks) = encode(resp(200, big), false, ConnectionField::None);
        assert_eq!(chunks, 2);
        assert!(s.starts_with("HTTP/1.1 200 OK\r\nContent-Length: 16385\r\n\r\nxxx"));
    }

    #[test]
    fn rfc9110_9_3_2_head_keeps_service_length_and_sends_no_body() {
        let mut r = resp(200, "");
        r.headers_mut()
            .insert(CONTENT_LENGTH, "1234".parse().unwrap());
        let (s, _) = encode(r, true, ConnectionField::None);
        assert_eq!(s, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
        let (s, _) = encode(resp(404, "nope"), true, ConnectionField::None);
        assert_eq!(s, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\n");
    }

    #[test]
    fn rfc9110_6_4_1_no_body_or_length_for_204_and_304() {
        for status in [204, 304] {
            let mut r = resp(status, "body!");
            r.headers_mut().insert(CONTENT_LENGTH, "5".parse().unwrap());
            let (s, _) = encode(r, false, ConnectionField::None);
            assert!(s.ends_with("\r\n\r\n"), "{s}");
            assert!(!s.contains("body!") && !s.contains("content-length"), "{s}");
        }
    }

    #[test]
    fn rfc9112_9_6_connection_field_is_the_engines() {
        let mut r = resp(200, "");
        r.headers_mut()
            .insert(CONNECTION, "upgrade".parse().unwrap());
        r.headers_mut()
            .insert(TRANSFER_ENCODING, "chunked".parse().unwrap());
        r.headers_mut()
            .insert(CONTENT_LENGTH, "99".parse().unwrap());
        let (s, _) = encode(r, false, ConnectionField::Close);
        assert_eq!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let (s, _) = encode(resp(200, ""), false, ConnectionField::KeepAlive);
        assert!(s.contains("Connection: keep-alive\r\n"));
    }

    #[test]
    fn rfc9110_7_8_switching_protocols_keeps_connection_upgrade_and_has_no_length() {
        let mut r = resp(101, "");
        r.headers_mut()
            .insert(CONNECTION, "Upgrade".parse().unwrap());
        r.headers_mut()
            .insert(http::header::UPGRADE, "websocket".parse().unwrap());
        let (s, _) = encode(r, false, ConnectionField::Upgrade);
        assert_eq!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        );
        // The same headers on any other response lose their Connection field.
        let mut r = resp(200, "");
        r.headers_mut()
            .insert(CONNECTION, "Upgrade".parse().unwrap());
        let (s, _) = encode(r, false, ConnectionField::None);
        assert!(!s.to_ascii_lowercase().contains("connection"), "{s}");
    }

    #[test]
    fn rfc9110_15_reason_phrases_use_the_current_names() {
        for (status, line) in [
            (413, "HTTP/1.1 413 Content Too Large\r\n"),
            (422, "HTTP/1.1 422 Unprocessable Content\r\n"),
            (416, "HTTP/1.1 416 Range Not Satisfiable\r\n"),
            (203, "HTTP/1.1 203 Non-Authoritative Information\r\n"),
            (404, "HTTP/1.1 404 Not Found\r\n"),
        ] {
            let (s, _) = encode(resp(status, ""), false, ConnectionField::None);
            assert!(s.starts_with(line), "{s}");
        }
    }

    #[test]
    fn unknown_status_has_empty_reason() {
        let (s, _) = encode(resp(599, ""), false, ConnectionField::None);
        assert!(s.starts_with("HTTP/1.1 599 \r\n"), "{s}");
    }

    #[test]
    fn response_close_is_detected() {
        let mut r = resp(200, "");
        r.headers_mut()
            .insert(CONNECTION, "foo, Close".parse().unwrap());
        assert!(response_wants_close(&r));
        assert!(!response_wants_close(&resp(200, "")));
    }

    #[test]
    fn rfc9110_5_1_field_names_go_out_in_their_conventional_spelling() {
        let mut buf = BytesMut::new();
        for name in [
            "content-type",
            "etag",
            "x-content-type-options",
            "www-authenticate",
            "permissions-policy",
            "te",
            "x-custom-field",
        ] {
            put_title_case(&mut buf, name.as_bytes());
            buf.put_u8(b' ');
        }
        assert_eq!(
            &buf[..],
            &b"Content-Type ETag X-Content-Type-Options WWW-Authenticate \
               Permissions-Policy TE X-Custom-Field "[..]
        );
    }

    /// RFC 9110 §6.6.1: one `Date`. The driver's stamp replaces a service's own
    /// `Date` and `Server`; without a stamp the service's go out.
    #[test]
    fn rfc9110_6_6_1_stamped_date_and_server_replace_the_services() {
        let with = || {
            let mut r = resp(200, "hi");
            r.headers_mut()
                .insert("date", "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap());
            r.headers_mut().insert("server", "other".parse().unwrap());
            r
        };
        let (date, server) = (
            "Sun, 06 Dec 2026 23:00:00 GMT".parse().unwrap(),
            "carbon".parse().unwrap(),
        );
        let stamp = Stamp {
            date: &date,
            server: &server,
        };
        let mut out = OutQueue::new();
        encode_response(
            with(),
            None,
            false,
            ConnectionField::None,
            Some(stamp),
            &mut out,
        );
        let text: Vec<u8> = out
            .iter()
            .flat_map(|c| match c {
                Chunk::Bytes(b) => b.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.matches("Date: ").count(), 1, "{text}");
        assert!(
            text.contains("Date: Sun, 06 Dec 2026 23:00:00 GMT\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("Server: ").count(), 1, "{text}");
        assert!(text.contains("Server: carbon\r\n"), "{text}");
        let (plain, _) = encode(with(), false, ConnectionField::None);
        assert!(plain.contains("Server: other\r\n"), "{plain}");
    }
}

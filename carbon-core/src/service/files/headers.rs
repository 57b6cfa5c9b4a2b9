//! Response header fields the file service writes, and the small fixed responses
//! (OPTIONS, 405, 301).
//!
//! Never writes `Date`, `Server`, `Connection` or (except for HEAD) `Content-Length`:
//! those belong to the engine and driver (see `service/mod.rs`).

use http::header::{
    ACCEPT_RANGES, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::config::HeaderLine;
use crate::service::{error_response, Body, Response};

use super::cache::Validators;

/// RFC 9110 §10.2.1: the methods this resource supports, sent with 405 (required by
/// §15.5.6) and with OPTIONS (§9.3.7).
fn allow() -> HeaderValue {
    HeaderValue::from_static("GET, HEAD, OPTIONS")
}

/// Adds the configured security headers, replacing any of the same name.
pub(super) fn secure(headers: &mut HeaderMap, list: &[(HeaderName, HeaderValue)]) {
    for (name, value) in list {
        headers.insert(name.clone(), value.clone());
    }
}

/// The operator's `header_remove`, `header_set` and `header_add`, in that order, so
/// a set or removed security header is the operator's choice.
pub(super) fn configured(
    headers: &mut HeaderMap,
    remove: &[HeaderName],
    set: &[HeaderLine],
    add: &[HeaderLine],
) {
    for name in remove {
        headers.remove(name);
    }
    for line in set {
        headers.insert(line.name.clone(), line.value.clone());
    }
    for line in add {
        headers.append(line.name.clone(), line.value.clone());
    }
}

/// RFC 9111 §5.2: the configured caching directives of the served path, if any.
pub(super) fn cache_control(headers: &mut HeaderMap, value: Option<HeaderValue>) {
    if let Some(value) = value {
        headers.insert(CACHE_CONTROL, value);
    }
}

/// RFC 9110 §9.3.7: OPTIONS, for `*` or an existing resource, answers with what is
/// allowed.
pub(super) fn options() -> Response {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp.headers_mut().insert(ALLOW, allow());
    resp
}

/// RFC 9110 §15.5.6. TRACE lands here too: echoing the request back would expose
/// cookies and credentials to scripts (cross-site tracing).
pub(super) fn method_not_allowed() -> Response {
    let mut resp = error_response(StatusCode::METHOD_NOT_ALLOWED);
    resp.headers_mut().insert(ALLOW, allow());
    resp
}

/// RFC 9110 §15.4.2: a directory named without its trailing slash is redirected
/// so relative links in its index resolve inside it. `path` is the target as
/// received (still percent-encoded). Leading slashes are collapsed: `//host/dir`
/// would otherwise become a network-path reference (RFC 3986 §4.2) to another host,
/// an open redirect.
pub(super) fn moved_to_directory(path: &str, query: Option<&str>) -> Option<Response> {
    let path = format!("/{}/", path.trim_start_matches('/'));
    let location = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    resp.headers_mut()
        .insert(LOCATION, HeaderValue::from_str(&location).ok()?);
    Some(resp)
}

/// The fields a 304 must carry (RFC 9110 §15.4.5) and every 200/206 carries too.
pub(super) fn validators(headers: &mut HeaderMap, validators: &Validators, vary: bool) {
    headers.insert(ETAG, validators.etag.clone());
    headers.insert(LAST_MODIFIED, validators.last_modified.clone());
    if vary {
        // §12.5.5: the response differs by Accept-Encoding, compressed or not.
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// Representation metadata of a 200 or 206.
pub(super) fn representation(
    headers: &mut HeaderMap,
    content_type: &'static str,
    validators: &Validators,
    vary: bool,
    coding: Option<&'static str>,
) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    self::validators(headers, validators, vary);
    // §14.3: ranges are offered on every file response (they apply to identity).
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(token) = coding {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(token));
    }
}

/// §14.4: `bytes first-last/complete-length` for a 206.
pub(super) fn content_range(headers: &mut HeaderMap, start: u64, len: u64, complete: u64) {
    let last = start + len.saturating_sub(1);
    if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{last}/{complete}")) {
        headers.insert(CONTENT_RANGE, v);
    }
}

/// §15.5.17: a 416 says how long the representation is.
pub(super) fn unsatisfied_range(headers: &mut HeaderMap, complete: u64) {
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{complete}")) {
        headers.insert(CONTENT_RANGE, v);
    }
}

/// HEAD responses have an empty body, so the length of the GET body is stated here
/// (RFC 9110 §8.6, §9.3.2).
pub(super) fn head_length(headers: &mut HeaderMap, len: u64) {
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn rfc9110_15_4_2_location_keeps_encoding_and_query() {
        let resp = moved_to_directory("/a%20b", Some("x=1&y")).unwrap();
        assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(resp.headers()[LOCATION], "/a%20b/?x=1&y");
        let resp = moved_to_directory("/dir", None).unwrap();
        assert_eq!(resp.headers()[LOCATION], "/dir/");
    }

    #[test]
    fn rfc3986_4_2_location_is_never_network_path() {
        let resp = moved_to_directory("//evil.example/dir", None).unwrap();
        assert_eq!(resp.headers()[LOCATION], "/evil.example/dir/");
    }

    #[test]
    fn rfc9110_14_4_content_range_forms() {
        let mut h = HeaderMap::new();
        content_range(&mut h, 2, 4, 10);
        assert_eq!(h[CONTENT_RANGE], "bytes 2-5/10");
        unsatisfied_range(&mut h, 10);
        assert_eq!(h[CONTENT_RANGE], "bytes */10");
    }
}

//! HTTP/2 server push for the pages of the `http2_push` key (RFC 9113 §8.4): which
//! resources to promise with a page, each answered by the same service and policy
//! as a GET of its path (so its headers, ETag and gzip variant are those of a normal
//! request: the page's `accept-encoding` goes with it).
//!
//! A resource is promised only when every rule holds:
//! * the page is a GET answered 200 (a redirect, an error or a 304 does not render
//!   the page, so its resources would be wasted);
//! * the client allows push (SETTINGS_ENABLE_PUSH, §6.5.2), checked before any
//!   service work;
//! * the resource's own response is a 200 that caches may store (no
//!   `Cache-Control: no-store`): §8.4 lets a client use a pushed response only as
//!   a cached one, and §8.4.1 requires the promised request to be cacheable;
//! * the engine accepts the promise (open page stream, the client's
//!   SETTINGS_MAX_CONCURRENT_STREAMS, the bounds in `limits.rs`).
//!
//! Cross-origin resources cannot be configured (`config/push.rs`): a promise names
//! the page's own scheme and `host`.

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CACHE_CONTROL, HOST};
use http::{Method, StatusCode};

use super::conn::Conn;
use super::respond::{answer, Ctx};
use crate::service::{Request, RequestContext, Response};

/// A resource promised on the page's stream, to send once the page's HEADERS are out.
pub(super) struct Promised {
    pub stream_id: u32,
    pub request: Request,
    pub response: Response,
}

/// Promises the resources configured for `page` (answered `status`) on its stream
/// `stream_id`. Call before the page's response is handed to the engine (§8.4.2:
/// PUSH_PROMISE precedes the HEADERS that may reference it).
pub(super) fn promise(
    c: &mut Conn,
    stream_id: u32,
    page: &Request,
    status: StatusCode,
    rctx: &RequestContext,
    x: &mut Ctx<'_>,
) -> Vec<Promised> {
    let cfg = x.gen.cfg.clone();
    if cfg.http2_push.is_empty() || page.method() != Method::GET || status != StatusCode::OK {
        return Vec::new();
    }
    let path = page.uri().path();
    // `/` and `/docs/` are the index file they serve, as for `cache_control`.
    let serves = |p: &str| {
        p == path || (path.ends_with('/') && p.strip_prefix(path) == Some(cfg.index_file.as_str()))
    };
    let Some(rule) = cfg.http2_push.iter().find(|r| serves(&r.page)) else {
        return Vec::new();
    };
    if !c.engine.push_enabled() {
        return Vec::new();
    }
    let Some(host) = page.headers().get(HOST) else {
        return Vec::new();
    };
    let scheme = if c.secure() { "https" } else { "http" };
    let mut out = Vec::with_capacity(rule.resources.len());
    for path in &rule.resources {
        let mut req = http::Request::new(Bytes::new());
        let Ok(uri) = path.parse() else {
            continue;
        };
        *req.uri_mut() = uri;
        // The promised request is an HTTP/2 one (RFC 9113 §8.4), answered as such.
        *req.version_mut() = http::Version::HTTP_2;
        req.headers_mut().insert(HOST, host.clone());
        if let Some(ae) = page.headers().get(ACCEPT_ENCODING) {
            req.headers_mut().insert(ACCEPT_ENCODING, ae.clone());
        }
        let (mut resp, pre) = answer(&req, rctx, x, false);
        // A cached file's fields may sit in its template; `pushable` reads the map.
        if let Some(pre) = pre {
            crate::service::merge_pre_encoded(&mut resp, pre);
        }
        if !pushable(&resp) {
            log::debug!("h2: {path} not pushed: {} or not storable", resp.status());
            continue;
        }
        if let Some(id) = c.engine.push_promise(stream_id, scheme, &req) {
            out.push(Promised {
                stream_id: id,
                request: req,
                response: resp,
            });
        }
    }
    out
}

/// RFC 9111 §3: a 200 without `no-store` may be stored by a cache.
fn pushable(resp: &Response) -> bool {
    resp.status() == StatusCode::OK
        && !resp.headers().get_all(CACHE_CONTROL).iter().any(|v| {
            v.to_str().is_ok_and(|s| {
                s.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
            })
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::service::Body;

    #[test]
    fn rfc9111_3_no_store_and_non_200_responses_are_not_pushed() {
        let mut ok = Response::new(Body::Empty);
        assert!(pushable(&ok));
        ok.headers_mut()
            .insert(CACHE_CONTROL, "public, No-Store".parse().unwrap());
        assert!(!pushable(&ok));
        let mut not_found = Response::new(Body::Empty);
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        assert!(!pushable(&not_found));
    }
}

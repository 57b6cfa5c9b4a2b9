//! `103 Early Hints` (RFC 8297) for the paths of the `early_hints` key, over HTTP/1.1
//! and HTTP/2 alike: the response carries the configured `Link` field so a browser
//! can start fetching what the page needs (the modern replacement of server push).

use http::header::LINK;
use http::{Method, StatusCode};

use crate::config::Config;
use crate::service::{Body, Request, Response};

/// The 103 to send before `final_status` for `req`, if its path is configured. Only
/// for GET answered 2xx: hints for a redirect or an error page would preload what the
/// client will not use.
pub(crate) fn for_request(
    cfg: &Config,
    req: &Request,
    final_status: StatusCode,
) -> Option<Response> {
    if cfg.early_hints.is_empty() || req.method() != Method::GET || !final_status.is_success() {
        return None;
    }
    let path = req.uri().path();
    let hint = cfg.early_hints.iter().find(|h| h.path == path)?;
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::from_u16(103).ok()?;
    resp.headers_mut().insert(LINK, hint.link.clone());
    Some(resp)
}

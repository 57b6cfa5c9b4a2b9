//! From an engine event to a response: rate limiting, the HTTP -> HTTPS redirect,
//! the service call, the headers every response carries (`Date`, `Server`, HSTS on
//! TLS only), statistics and the access log line.

use std::time::{Instant, SystemTime};

use http::header::{HeaderValue, DATE, LOCATION, REFERER, RETRY_AFTER, SERVER, USER_AGENT};
use http::{Method, StatusCode};

use super::access_log::{Entry, LogSink};
use super::conn::Conn;
use super::date::DateCache;
use super::stats::{Stats, WorkerCounters};
use super::Shared;
use crate::proto::h1::Event;
use crate::service::{Request, RequestContext, Response, Service};

const SERVER_NAME: HeaderValue = HeaderValue::from_static("carbon");

pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    /// This worker's counters.
    pub stats: &'a WorkerCounters,
    pub service: &'a mut dyn Service,
    pub date: &'a DateCache,
    pub log: Option<&'a mut LogSink>,
    pub now: Instant,
    pub wall: SystemTime,
}

pub(crate) fn respond(c: &mut Conn, ev: Event, mut x: Ctx<'_>) {
    let rctx = RequestContext {
        peer: c.peer,
        secure: c.secure(),
        now: x.now,
        wall: x.wall,
    };
    let (resp, req) = match ev {
        Event::Request(req) if c.plain_on_tls => {
            c.engine.start_shutdown();
            c.rejected = true;
            Stats::inc(&x.stats.rejected);
            let mut resp = x.service.error(StatusCode::BAD_REQUEST, &rctx);
            *resp.body_mut() = crate::service::Body::Bytes(bytes::Bytes::from_static(
                b"400 Bad Request: this port speaks HTTPS; use an https:// URL\n",
            ));
            (resp, Some(req))
        }
        Event::Request(req) => {
            let resp = answer(&req, &rctx, &mut x);
            (resp, Some(req))
        }
        Event::Reject(status) => {
            c.rejected = true;
            Stats::inc(&x.stats.rejected);
            (x.service.error(status, &rctx), None)
        }
    };
    let mut resp = resp;
    finish_headers(&mut resp, &rctx, &x);
    // Every answered request counts once, rejected ones included, so `requests` is
    // the sum of the status classes (see `stats`).
    x.stats.count_response(resp.status().as_u16());
    if let Some(log) = x.log.as_mut() {
        record(log, req.as_ref(), &resp, &rctx, x.date, x.now);
    }
    c.engine.send_response(x.now, resp);
}

fn answer(req: &Request, rctx: &RequestContext, x: &mut Ctx<'_>) -> Response {
    // Checked before any file work: a flood costs one hash lookup per request.
    if let Err(retry) = x.shared.rate.check(rctx.peer.ip(), x.now) {
        Stats::inc(&x.stats.rate_limited);
        let mut resp = x.service.error(StatusCode::TOO_MANY_REQUESTS, rctx);
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry.max(1)));
        return resp;
    }
    let cfg = &x.shared.cfg;
    if let Some(path) = cfg.metrics_path.as_deref() {
        if req.uri().path() == path {
            return metrics(req, rctx, x);
        }
    }
    // `OPTIONS *` asks about the server itself (RFC 9110 §9.3.7): nothing to redirect.
    let asterisk = req.uri().path() == "*";
    if !rctx.secure && cfg.redirect_http_to_https && x.shared.tls.is_some() && !asterisk {
        return redirect_to_https(req, x.shared.https_port, &cfg.server_name, rctx, x);
    }
    x.service.call(req, rctx)
}

/// `metrics_path`: the statistics in the Prometheus text format, for loopback and
/// `rate_limit_exempt` clients only (the same set trusted to bypass the rate limit);
/// to anyone else the path does not exist.
fn metrics(req: &Request, rctx: &RequestContext, x: &mut Ctx<'_>) -> Response {
    let ip = rctx.peer.ip().to_canonical();
    let trusted = ip.is_loopback()
        || x.shared
            .cfg
            .rate_limit_exempt
            .iter()
            .any(|n| n.contains(ip));
    if !trusted {
        return x.service.error(StatusCode::NOT_FOUND, rctx);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = x.service.error(StatusCode::METHOD_NOT_ALLOWED, rctx);
        resp.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let text = x.shared.stats.snapshot().prometheus();
    let mut resp = http::Response::new(crate::service::Body::Bytes(bytes::Bytes::from(text)));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    if req.method() == Method::HEAD {
        let len = resp.body().len();
        *resp.body_mut() = crate::service::Body::Empty;
        resp.headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    resp
}

/// 301 for GET/HEAD; 308 otherwise so the method and body are kept (RFC 9110 §15.4.9).
fn redirect_to_https(
    req: &Request,
    https_port: u16,
    server_name: &str,
    rctx: &RequestContext,
    x: &mut Ctx<'_>,
) -> Response {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(strip_port)
        .filter(|h| !h.is_empty())
        .unwrap_or(server_name);
    // An absolute-form target may have an empty path (`http://host?q`): the
    // redirect's path is then "/" (RFC 9110 §4.2.3 normalisation).
    let path = match req.uri().path() {
        "" => "/",
        p => p,
    };
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let location = if https_port == 443 {
        format!("https://{host}{path}{query}")
    } else {
        format!("https://{host}:{https_port}{path}{query}")
    };
    let status = if req.method() == Method::GET || req.method() == Method::HEAD {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    let mut resp = x.service.error(status, rctx);
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
            resp
        }
        Err(_) => x.service.error(StatusCode::BAD_REQUEST, rctx),
    }
}

/// "example.com:8080" -> "example.com", "[::1]:8080" -> "[::1]".
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, _)) => h,
        None => host,
    }
}

fn finish_headers(resp: &mut Response, rctx: &RequestContext, x: &Ctx<'_>) {
    let h = resp.headers_mut();
    h.insert(DATE, x.date.header().clone());
    h.insert(SERVER, SERVER_NAME);
    // HSTS over plain HTTP is ignored by browsers and misleading (RFC 6797 §7.2).
    if rctx.secure {
        if let Some(v) = &x.shared.hsts {
            h.insert(http::header::STRICT_TRANSPORT_SECURITY, v.clone());
        }
    }
}

fn record(
    log: &mut LogSink,
    req: Option<&Request>,
    resp: &Response,
    rctx: &RequestContext,
    date: &DateCache,
    now: Instant,
) {
    let target;
    let (method, target_s, version, referer, ua) = match req {
        Some(r) => {
            target = r.uri().to_string();
            (
                r.method().as_str(),
                target.as_str(),
                version_str(r.version()),
                r.headers().get(REFERER).map(|v| v.as_bytes()),
                r.headers().get(USER_AGENT).map(|v| v.as_bytes()),
            )
        }
        None => ("-", "-", "-", None, None),
    };
    let bytes = if req.is_some_and(|r| r.method() == Method::HEAD) {
        0
    } else {
        resp.body().len()
    };
    log.record(
        &Entry {
            peer: rctx.peer.ip(),
            time_clf: date.clf(),
            method,
            target: target_s,
            version,
            status: resp.status().as_u16(),
            bytes,
            referer,
            user_agent: ua,
        },
        now,
    );
}

fn version_str(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::strip_port;

    #[test]
    fn redirect_host_strips_port_including_ipv6_literals() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }
}

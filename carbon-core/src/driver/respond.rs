//! From an engine event to a response: rate limiting, the health and metrics
//! endpoints, the service call (the site's policy, redirect and HSTS, is part of the
//! service: `service/policy.rs`), the headers every response carries (`Date`,
//! `Server`), statistics and the access log line.

use std::time::{Instant, SystemTime};

use http::header::{HeaderValue, REFERER, RETRY_AFTER, USER_AGENT};
use http::{Method, StatusCode};

use super::access_log::{Entry, LogSink, RequestLine};
use super::conn::Conn;
use super::date::DateCache;
use super::stats::{Stats, WorkerCounters};
use super::{Generation, Shared};
use crate::proto::h1::{Event, Rejection, Stamp};
use crate::service::ws::WsUpgrade;
use crate::service::{PreEncoded, Request, RequestContext, Response, Service};

static SERVER_NAME: HeaderValue = HeaderValue::from_static("carbon");

pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub gen: &'a Generation,
    /// This worker's counters.
    pub stats: &'a WorkerCounters,
    pub service: &'a mut dyn Service,
    pub date: &'a DateCache,
    pub log: Option<&'a mut LogSink>,
    /// For the wake hook of a connection upgraded to WebSocket.
    pub ws_wake: &'a std::sync::Arc<super::ws_wake::WsWake>,
    /// The connection's slab key (its token).
    pub key: usize,
    pub now: Instant,
    pub wall: SystemTime,
}

pub(crate) fn respond(c: &mut Conn, ev: Event, mut x: Ctx<'_>) {
    let sni = c.tls.as_ref().and_then(|t| t.server_name());
    let rctx = RequestContext {
        peer: client_peer(c, &ev, &x),
        secure: c.secure(),
        now: x.now,
        wall: x.wall,
        sni: sni.as_deref(),
        https_port: https_port(x.gen),
    };
    let (resp, pre, req) = match ev {
        Event::Request(req) if c.plain_on_tls => {
            c.engine.start_shutdown(x.now);
            c.rejected = true;
            Stats::inc(&x.stats.rejected);
            (plain_on_tls_response(&rctx, &mut x), None, Some(req))
        }
        Event::Request(req) => {
            let rate_checked = std::mem::take(&mut c.rate_checked);
            let (resp, pre) = answer(&req, &rctx, &mut x, rate_checked);
            if let Some(h) = super::early_hints::for_request(&x.gen.cfg, &req, resp.status()) {
                c.engine.send_informational(x.now, None, h);
            }
            (resp, pre, Some(req))
        }
        Event::Head => return early(c, &rctx, x),
        Event::Reject(rejection) => {
            c.rejected = true;
            x.stats.count_rejection(rejection.reason.class());
            if rejection.unanswered {
                log::debug!("{}: not HTTP/1.x nor an HTTP/2 preface; closed", c.peer);
                c.engine.close_unanswered();
                return;
            }
            log::debug!(
                "{}: request rejected with {}: {}",
                c.peer,
                rejection.status.as_u16(),
                rejection.reason
            );
            let mut resp = x.service.error(rejection.status, &rctx);
            finish_h1(&mut resp, &x);
            x.stats.count_response(resp.status().as_u16());
            let line = x
                .log
                .is_some()
                .then(|| rejection_line(&rejection, &resp, &rctx, x.date));
            queue(c, resp, None, line, false, &x);
            return;
        }
    };
    let mut resp = resp;
    finish_h1(&mut resp, &x);
    x.stats.count_response(resp.status().as_u16());
    let line = x
        .log
        .is_some()
        .then(|| request_line(req.as_ref(), &resp, &rctx, x.date));
    let head_request = req.as_ref().is_some_and(|r| r.method() == Method::HEAD);
    // RFC 9110 §15.2.2: a 101 ends HTTP/1.1 here; the upgrade it carries (RFC 6455,
    // `WebSocketService`) is the connection's next engine.
    let upgrade = (resp.status() == StatusCode::SWITCHING_PROTOCOLS)
        .then(|| resp.extensions().get::<WsUpgrade>().cloned())
        .flatten();
    queue(c, resp, pre, line, head_request, &x);
    if let Some(req) = req {
        crate::proto::spare::recycle_request(req);
    }
    if c.engine.is_upgraded() {
        let (wake, key) = (x.ws_wake, x.key);
        let started =
            c.engine
                .switch_to_ws(upgrade, &x.gen.cfg, || wake.hook(key), x.now, c.read_eof);
        if started {
            Stats::inc(&x.stats.websocket_upgrades);
        }
    }
}

/// The client: the connection's peer (already the PROXY protocol client), or, when
/// that peer is in `trusted_proxies`, what `Forwarded`/`X-Forwarded-For` say
/// (`proto/forwarded.rs`).
fn client_peer(c: &Conn, ev: &Event, x: &Ctx<'_>) -> std::net::SocketAddr {
    let trusted = &x.gen.cfg.trusted_proxies;
    if trusted.is_empty() {
        return c.peer;
    }
    let headers = match ev {
        Event::Request(req) => req.headers(),
        Event::Head => match c.engine.request_head() {
            Some(head) => head.headers(),
            None => return c.peer,
        },
        Event::Reject(_) => return c.peer,
    };
    crate::proto::forwarded::client_address(c.peer, headers, |ip| {
        trusted.iter().any(|n| n.contains(ip))
    })
}

/// Hands the response to the engine and keeps its access-log line with the
/// connection until the body has left (or the connection closes): the size logged
/// is what was sent, not what was promised.
fn queue(
    c: &mut Conn,
    resp: Response,
    pre: Option<PreEncoded>,
    line: Option<(String, usize)>,
    head: bool,
    x: &Ctx<'_>,
) {
    // RFC 9110 §9.3.2: the response to HEAD carries no body.
    let body_len = if head { 0 } else { resp.body().len() };
    c.engine.send_response(x.now, resp, pre, Some(stamp(x)));
    // What follows this response in the queue is at most a `100 Continue` for a
    // pipelined request (25 bytes), which would shift the body range by that much.
    let queued = c.engine.out().total();
    c.pending_log.push(line, queued, body_len);
}

/// A rejected request's line: the request line as far as it was read (escaped by the
/// log writer, bounded by the engine), in place of method, target and version.
fn rejection_line(
    rejection: &Rejection,
    resp: &Response,
    rctx: &RequestContext,
    date: &DateCache,
) -> (String, usize) {
    Entry {
        peer: rctx.peer.ip(),
        time_clf: date.clf(),
        request: RequestLine::Raw(rejection.request_line.as_deref()),
        status: resp.status().as_u16(),
        bytes: 0,
        referer: None,
        user_agent: rejection.user_agent.as_deref(),
    }
    .format_without_size()
}

/// `rate_checked`: the request was already counted when its head arrived.
pub(super) fn answer(
    req: &Request,
    rctx: &RequestContext,
    x: &mut Ctx<'_>,
    rate_checked: bool,
) -> (Response, Option<PreEncoded>) {
    if is_health(req.uri().path(), x) {
        return (health(x), None);
    }
    if !rate_checked {
        if let Some(resp) = rate_limited(rctx, x) {
            return (resp, None);
        }
    }
    if let Some(path) = x.gen.cfg.metrics_path.as_deref() {
        if req.uri().path() == path {
            return (metrics(req, rctx, x), None);
        }
    }
    // The service keeps a cached file's fields aside for the encoders.
    x.service.call_pre_encoded(req, rctx)
}

/// For [`RequestContext::https_port`]: the port redirects point to.
pub(super) fn https_port(gen: &Generation) -> Option<u16> {
    gen.tls.is_some().then_some(gen.https_port)
}

fn is_health(path: &str, x: &Ctx<'_>) -> bool {
    x.gen.cfg.health_path.as_deref() == Some(path)
}

/// `health_path`: 200 while serving, 503 once a stop or its drain has begun.
fn health(x: &Ctx<'_>) -> Response {
    let draining = x.shared.draining.load(std::sync::atomic::Ordering::Relaxed);
    let (status, body) = if draining {
        (http::StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else {
        (http::StatusCode::OK, "ok\n")
    };
    let mut resp = http::Response::new(crate::service::Body::Bytes(bytes::Bytes::from_static(
        body.as_bytes(),
    )));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

/// Checked before any file work: a flood costs one hash lookup per request.
fn rate_limited(rctx: &RequestContext, x: &mut Ctx<'_>) -> Option<Response> {
    let retry = x.gen.rate.check(rctx.peer.ip(), x.now).err()?;
    Stats::inc(&x.stats.rate_limited);
    let mut resp = x.service.error(StatusCode::TOO_MANY_REQUESTS, rctx);
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry.max(1)));
    Some(resp)
}

/// [`Event::Head`]: the head of a request with a body has arrived. A request that
/// will be refused whatever its body holds (plain HTTP on the TLS port, a client
/// over its rate, or what the service refuses early: the HTTPS redirect, a method)
/// is answered now;
/// the engine then closes without reading the body, which the lingering close
/// discards (bounded). Otherwise nothing is sent and the body is read as usual.
fn early(c: &mut Conn, rctx: &RequestContext, mut x: Ctx<'_>) {
    let Some(head) = c.engine.request_head() else {
        return;
    };
    // The health path is answered with the full request, never rate limited.
    if is_health(head.uri().path(), &x) {
        return;
    }
    let resp = if c.plain_on_tls {
        Some(plain_on_tls_response(rctx, &mut x))
    } else if let Some(resp) = rate_limited(rctx, &mut x) {
        Some(resp)
    } else {
        // Counted once: the full request skips the check.
        c.rate_checked = true;
        x.service.early_response(head, rctx)
    };
    let Some(mut resp) = resp else {
        return;
    };
    c.rate_checked = false;
    c.rejected = true;
    finish_h1(&mut resp, &x);
    x.stats.count_response(resp.status().as_u16());
    let line = x
        .log
        .is_some()
        .then(|| request_line(Some(head), &resp, rctx, x.date));
    let head_request = head.method() == Method::HEAD;
    queue(c, resp, None, line, head_request, &x);
}

fn plain_on_tls_response(rctx: &RequestContext, x: &mut Ctx<'_>) -> Response {
    let mut resp = x.service.error(StatusCode::BAD_REQUEST, rctx);
    *resp.body_mut() = crate::service::Body::Bytes(bytes::Bytes::from_static(
        b"400 Bad Request: this port speaks HTTPS; use an https:// URL\n",
    ));
    resp
}

/// `metrics_path`: the statistics in the Prometheus text format, for loopback and
/// `rate_limit_exempt` clients only (the same set trusted to bypass the rate limit);
/// to anyone else the path does not exist.
fn metrics(req: &Request, rctx: &RequestContext, x: &mut Ctx<'_>) -> Response {
    let ip = rctx.peer.ip().to_canonical();
    let trusted = ip.is_loopback() || x.gen.cfg.rate_limit_exempt.iter().any(|n| n.contains(ip));
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

/// `Date` and `Server` for this loop turn, written by the encoders after the
/// response's own fields.
pub(super) fn stamp<'a>(x: &'a Ctx<'_>) -> Stamp<'a> {
    Stamp {
        date: x.date.header(),
        server: &SERVER_NAME,
    }
}

/// What the driver adds to an HTTP/1.1 response (the encoder writes `Date` and
/// `Server` itself: `queue` hands them over as a [`Stamp`]).
fn finish_h1(resp: &mut Response, x: &Ctx<'_>) {
    // Draining: each keep-alive connection ends after its next response, so the
    // balancer opens its next one to another instance (RFC 9112 §9.6).
    if x.shared.draining.load(std::sync::atomic::Ordering::Relaxed) {
        resp.headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
}

pub(super) fn request_line<B>(
    req: Option<&http::Request<B>>,
    resp: &Response,
    rctx: &RequestContext,
    date: &DateCache,
) -> (String, usize) {
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
    Entry {
        peer: rctx.peer.ip(),
        time_clf: date.clf(),
        request: RequestLine::Parts {
            method,
            target: target_s,
            version,
        },
        status: resp.status().as_u16(),
        bytes: 0,
        referer,
        user_agent: ua,
    }
    .format_without_size()
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

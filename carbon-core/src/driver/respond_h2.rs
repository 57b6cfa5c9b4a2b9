//! From an HTTP/2 engine event to a stream's response, through the same steps as
//! HTTP/1.1 (`respond.rs`): rate limiting (`answer`), the service (with the site's
//! policy), `Date`/`Server` (`finish_headers`), statistics and the access log.
//!
//! Streams are answered as their requests complete, each on its own: the service is
//! synchronous, so a `StreamReset` never finds pending work to drop.

use http::Method;

use super::access_log::RequestLine;
use super::conn::Conn;
use super::early_hints;
use super::engine::reject_class;
use super::respond::{answer, finish_headers, request_line, Ctx};
use super::stats::{Stats, WorkerCounters};
use crate::proto::h2::Event;
use crate::service::ws::WsUpgrade;
use crate::service::RequestContext;

pub(crate) fn respond(c: &mut Conn, ev: Event, mut x: Ctx<'_>) {
    // The client behind a trusted proxy, as over HTTP/1.1 (`respond::client_peer`).
    let peer = match (&ev, x.gen.cfg.trusted_proxies.is_empty()) {
        (Event::Request { request, .. }, false) => {
            let trusted = &x.gen.cfg.trusted_proxies;
            crate::proto::forwarded::client_address(c.peer, request.headers(), |ip| {
                trusted.iter().any(|n| n.contains(ip))
            })
        }
        _ => c.peer,
    };
    let sni = c.tls.as_ref().and_then(|t| t.server_name());
    let rctx = RequestContext {
        peer,
        secure: c.secure(),
        now: x.now,
        wall: x.wall,
        sni: sni.as_deref(),
        https_port: super::respond::https_port(x.gen),
    };
    match ev {
        Event::Request { stream_id, request } => {
            let mut resp = answer(&request, &rctx, &mut x, false);
            if let Some(h) = early_hints::for_request(&x.gen.cfg, &request, resp.status()) {
                c.engine.send_informational(x.now, Some(stream_id), h);
            }
            finish_headers(&mut resp, &x);
            let pushed = super::push::promise(c, stream_id, &request, resp.status(), &rctx, &mut x);
            x.stats.count_response(resp.status().as_u16());
            let head = request.method() == Method::HEAD;
            let line = x
                .log
                .is_some()
                .then(|| request_line(Some(&request), &resp, &rctx, x.date));
            // RFC 9110 §9.3.2: the response to HEAD carries no body.
            let body_len = if head { 0 } else { resp.body().len() };
            // RFC 8441 §5: a 2xx to an extended CONNECT starts its WebSocket.
            let upgrade = (request.method() == Method::CONNECT && resp.status().is_success())
                .then(|| resp.extensions().get::<WsUpgrade>().cloned());
            c.engine.send_stream_response(x.now, stream_id, resp);
            record(&mut x, line, body_len);
            if let Some(upgrade) = upgrade {
                let (wake, key) = (x.ws_wake, x.key);
                if c.engine
                    .start_ws_stream(x.now, stream_id, upgrade, || wake.hook(key))
                {
                    Stats::inc(&x.stats.websocket_upgrades);
                }
            }
            for p in pushed {
                x.stats.count_response(p.response.status().as_u16());
                let line = x
                    .log
                    .is_some()
                    .then(|| request_line(Some(&p.request), &p.response, &rctx, x.date));
                let body_len = p.response.body().len();
                c.engine
                    .send_stream_response(x.now, p.stream_id, p.response);
                record(&mut x, line, body_len);
            }
        }
        Event::Reject { stream_id, status } => {
            x.stats.count_rejection(reject_class(status));
            log::debug!(
                "{}: h2 stream {stream_id} rejected with {}",
                c.peer,
                status.as_u16()
            );
            let mut resp = x.service.error(status, &rctx);
            finish_headers(&mut resp, &x);
            x.stats.count_response(resp.status().as_u16());
            let line = x.log.is_some().then(|| {
                super::access_log::Entry {
                    peer: rctx.peer.ip(),
                    time_clf: x.date.clf(),
                    request: RequestLine::Raw(None),
                    status: status.as_u16(),
                    bytes: 0,
                    referer: None,
                    user_agent: None,
                }
                .format_without_size()
            });
            let body_len = resp.body().len();
            c.engine.send_stream_response(x.now, stream_id, resp);
            record(&mut x, line, body_len);
        }
        Event::StreamReset { stream_id, code } => {
            log::debug!(
                "{}: h2 stream {stream_id} reset by the client ({code})",
                c.peer
            );
        }
    }
}

/// Streams interleave on the connection, so the line is written when the response
/// is handed to the engine, with the body length the response carries (HTTP/1.1
/// logs what left the socket; an HTTP/2 stream reset mid-body still logs its full
/// length).
fn record(x: &mut Ctx<'_>, line: Option<(String, usize)>, body_len: u64) {
    WorkerCounters::add(&x.stats.bytes_sent_body, body_len);
    if let (Some(log), Some((text, at))) = (x.log.as_deref_mut(), line) {
        log.record_sized(&text, at, body_len, x.now);
    }
}

//! From an HTTP/2 engine event to a stream's response, through the same steps as
//! HTTP/1.1 (`respond.rs`): rate limiting (`answer`), the service (with the site's
//! policy), `Date`/`Server` (a `Stamp`, `respond::stamp`), statistics and the access
//! log (written when the stream is over, with the body bytes sent: `h2_log.rs`).
//!
//! Streams are answered as their requests complete, each on its own: the service is
//! synchronous, so a `StreamReset` never finds pending work to drop.

use super::access_log::RequestLine;
use super::conn::Conn;
use super::early_hints;
use super::engine::reject_class;
use super::respond::{answer, request_line, stamp, Ctx};
use super::stats::Stats;
use crate::proto::h2::Event;
use crate::proto::spare;
use crate::service::ws::WsUpgrade;
use crate::service::RequestContext;
use http::Method;

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
            let (resp, pre) = answer(&request, &rctx, &mut x, false);
            if let Some(h) = early_hints::for_request(&x.gen.cfg, &request, resp.status()) {
                c.engine.send_informational(x.now, Some(stream_id), h);
            }
            let pushed = super::push::promise(c, stream_id, &request, resp.status(), &rctx, &mut x);
            x.stats.count_response(resp.status().as_u16());
            let line = x
                .log
                .is_some()
                .then(|| request_line(Some(&request), &resp, &rctx, x.date));
            // RFC 8441 §5: a 2xx to an extended CONNECT starts its WebSocket.
            let upgrade = (request.method() == Method::CONNECT && resp.status().is_success())
                .then(|| resp.extensions().get::<WsUpgrade>().cloned());
            c.engine
                .send_stream_response(x.now, stream_id, resp, pre, Some(stamp(&x)));
            c.h2_log.push(stream_id, line);
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
                c.engine.send_stream_response(
                    x.now,
                    p.stream_id,
                    p.response,
                    None,
                    Some(stamp(&x)),
                );
                c.h2_log.push(p.stream_id, line);
                spare::recycle_request(p.request);
            }
            request.recycle();
            // Draining before a stop: as HTTP/1.1 closes after its next response
            // (`finish_h1`), a connection opened meanwhile gets its GOAWAY.
            if x.shared.draining.load(std::sync::atomic::Ordering::Relaxed) {
                c.engine.start_h2_drain(x.now);
            }
        }
        Event::Reject { stream_id, status } => {
            x.stats.count_rejection(reject_class(status));
            log::debug!(
                "{}: h2 stream {stream_id} rejected with {}",
                c.peer,
                status.as_u16()
            );
            let resp = x.service.error(status, &rctx);
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
            c.engine
                .send_stream_response(x.now, stream_id, resp, None, Some(stamp(&x)));
            c.h2_log.push(stream_id, line);
        }
        Event::StreamReset { stream_id, code } => {
            log::debug!(
                "{}: h2 stream {stream_id} reset by the client ({code})",
                c.peer
            );
        }
    }
}

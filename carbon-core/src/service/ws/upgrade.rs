//! Answering upgrade requests: the service wrapper and the response extension.
//!
//! How a driver uses it (HTTP/1.1): when a [`Service`] response has status 101 and
//! carries a [`WsUpgrade`] extension, the engine writes the head *with* its
//! `Connection: Upgrade` and `Upgrade: websocket` headers, stops parsing HTTP, and
//! hands the connection's leftover input to a [`WsSession`](super::WsSession) built
//! with [`WsSession::from_upgrade`](super::WsSession::from_upgrade).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::handler::WsHandler;
use crate::limits::WsLimits;
use crate::proto::ws::handshake::{self, Accepted, HandshakeConfig};
use crate::service::{Body, PreEncoded, Request, RequestContext, Response, Service};

/// Makes the handler of a new connection; sees the upgrade request (path, query,
/// cookies) so one factory can serve several endpoints.
pub type HandlerFactory = Arc<dyn Fn(&Request) -> Box<dyn WsHandler> + Send + Sync>;

/// Response extension of an accepted upgrade: the handler (taken once by the
/// driver) and the negotiated parameters.
#[derive(Clone)]
pub struct WsUpgrade {
    handler: Arc<Mutex<Option<Box<dyn WsHandler>>>>,
    accepted: Accepted,
}

impl std::fmt::Debug for WsUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsUpgrade")
            .field("accepted", &self.accepted)
            .finish()
    }
}

impl WsUpgrade {
    pub fn new(handler: Box<dyn WsHandler>, accepted: Accepted) -> Self {
        WsUpgrade {
            handler: Arc::new(Mutex::new(Some(handler))),
            accepted,
        }
    }

    /// The handler; `None` after the first call.
    pub fn take_handler(&self) -> Option<Box<dyn WsHandler>> {
        self.handler
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    pub fn accepted(&self) -> &Accepted {
        &self.accepted
    }
}

/// WebSocket settings from the configuration (`websocket_*` keys).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WsSettings {
    /// Paths where upgrades are accepted: an entry matches its exact path, or every
    /// path below it when it ends with `/`. Empty: every path.
    pub paths: Vec<String>,
    pub handshake: HandshakeConfig,
    pub limits: WsLimits,
    /// Under pressure, a session with no data frame for this long may be reclaimed
    /// (Close 1001) once nothing cheaper is left (`driver/slots.rs`); `None`: never.
    pub reclaim_after: Option<Duration>,
}

impl WsSettings {
    pub fn path_matches(&self, path: &str) -> bool {
        self.paths.is_empty()
            || self
                .paths
                .iter()
                .any(|p| p == path || (p.ends_with('/') && path.starts_with(p.as_str())))
    }
}

/// Wraps a service: upgrade requests (`Upgrade: websocket`) on the configured paths
/// are validated (RFC 6455 §4.2) and answered 101 with a [`WsUpgrade`], or with the
/// handshake's error status through the wrapped service's error page. Every other
/// request, including non-upgrade requests to the same paths, is served by `inner`.
pub struct WebSocketService<S> {
    inner: S,
    settings: WsSettings,
    factory: HandlerFactory,
}

impl<S: Service> WebSocketService<S> {
    pub fn new(inner: S, settings: WsSettings, factory: HandlerFactory) -> Self {
        WebSocketService {
            inner,
            settings,
            factory,
        }
    }

    pub fn settings(&self) -> &WsSettings {
        &self.settings
    }
}

/// RFC 8441 §4: HTTP/2 asks with an extended CONNECT whose `:protocol` the engine
/// put in the request's extensions.
fn is_extended_connect(req: &Request) -> bool {
    req.extensions()
        .get::<crate::proto::h2::Protocol>()
        .is_some_and(|p| p.0.eq_ignore_ascii_case("websocket"))
}

impl<S: Service> WebSocketService<S> {
    /// A WebSocket opening handshake on a WebSocket path: this service's to answer.
    fn is_upgrade(&self, req: &Request) -> bool {
        (is_extended_connect(req) || handshake::is_upgrade_request(req))
            && self.settings.path_matches(req.uri().path())
    }
}

impl<S: Service> Service for WebSocketService<S> {
    fn call_pre_encoded(
        &mut self,
        req: &Request,
        ctx: &RequestContext,
    ) -> (Response, Option<PreEncoded>) {
        if self.is_upgrade(req) {
            (self.call(req, ctx), None)
        } else {
            self.inner.call_pre_encoded(req, ctx)
        }
    }

    fn call(&mut self, req: &Request, ctx: &RequestContext) -> Response {
        if !self.is_upgrade(req) {
            return self.inner.call(req, ctx);
        }
        let h2 = is_extended_connect(req);
        let accepted = if h2 {
            handshake::accept_extended_connect(req, &self.settings.handshake)
        } else {
            handshake::accept(req, &self.settings.handshake)
        };
        match accepted {
            Ok(mut accepted) => {
                // draft-damjanovic-websockets-nomasking: over TLS only.
                accepted.no_masking = ctx.secure && handshake::offers_no_masking(req.headers());
                let head = if h2 {
                    accepted.response_h2()
                } else {
                    accepted.response()
                };
                let (parts, ()) = head.into_parts();
                let mut resp = http::Response::from_parts(parts, Body::Empty);
                let handler = (self.factory)(req);
                resp.extensions_mut()
                    .insert(WsUpgrade::new(handler, accepted));
                resp
            }
            Err(rej) => {
                let mut resp = self.inner.error(rej.status(), ctx);
                resp.headers_mut().extend(rej.headers());
                resp
            }
        }
    }

    fn error(&mut self, status: http::StatusCode, ctx: &RequestContext) -> Response {
        self.inner.error(status, ctx)
    }

    // An upgrade request has no body, so heads with a body are the inner service's.
    fn early_response(
        &mut self,
        head: &http::Request<()>,
        ctx: &RequestContext,
    ) -> Option<Response> {
        self.inner.early_response(head, ctx)
    }

    fn attach_counters(&mut self, counters: std::sync::Arc<crate::service::ServiceCounters>) {
        self.inner.attach_counters(counters);
    }
}

//! Protocol-neutral request handling.
//!
//! HTTP/1.1 (and later HTTP/2) hand a complete request to a [`Service`] and send the
//! [`Response`] it returns, so a file served over any protocol behaves the same.
//!
//! Contract for responses a service returns:
//! * the service sets `Content-Length` only for HEAD answers (where the body is
//!   [`Body::Empty`] but the length is that of the GET body); otherwise the engine
//!   derives it from the body;
//! * the engine never sends a body for HEAD, 1xx, 204 or 304;
//! * `Date`, `Server` and connection-management headers are added by the driver and
//!   the engine, never by the service.

use std::fs::File;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;

pub mod files;
pub mod ws;

/// A request as the engines deliver it: head plus the complete (bounded) body.
pub type Request = http::Request<Bytes>;
/// A response as a service produces it.
pub type Response = http::Response<Body>;

/// A response body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    #[default]
    Empty,
    Bytes(Bytes),
    /// A region of an open file: sent with `sendfile` on plain TCP.
    File(FileRegion),
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File(f) => f.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The first fields of a response, kept apart from its map: the response's fields
/// begin with `fields`, already written out as HTTP/1.1 field lines in `h1`
/// (title-cased names, `CRLF` after each), and go on with those in the response's own
/// map. A service hands it over only from [`Service::call_pre_encoded`], next to the
/// response it belongs to: the HTTP/1.1 encoder copies `h1` in one piece, and the
/// HTTP/2 encoder sends `fields` as one HPACK run it recognises by the `Arc`'s
/// identity, instead of walking a cloned map; whoever needs the whole map calls
/// [`merge_pre_encoded`].
///
/// Not a response extension: `http::Extensions` costs three allocations and a hash
/// table insert and lookup per response, as much as the rest of a small file's answer.
#[derive(Debug, Clone)]
pub struct PreEncoded {
    template: Arc<Template>,
}

/// A response's first fields, built once and shared (a cached file's `200` fields):
/// the map, and the same fields as HTTP/1.1 lines when they can be written as they
/// are (`None` when they hold a field the HTTP/1.1 encoder decides itself: framing,
/// `Connection`). One `Arc` for both, so handing it to a response costs one
/// reference count.
#[derive(Debug)]
pub struct Template {
    pub fields: http::HeaderMap,
    pub h1: Option<Bytes>,
    /// The same fields as the HTTP/2 encoder walks them.
    pub(crate) h2: Box<[crate::proto::h2::RunField]>,
}

impl Template {
    /// The template of `fields`, with its HTTP/1.1 lines and its HTTP/2 field list.
    pub fn new(fields: http::HeaderMap) -> Template {
        Template {
            h1: crate::proto::h1::field_lines(&fields),
            h2: crate::proto::h2::run_fields(&fields),
            fields,
        }
    }
}

impl PreEncoded {
    /// `template` kept aside for an encoder; `None` when it has no HTTP/1.1 lines
    /// (then its fields must go in the response's map).
    pub fn new(template: Arc<Template>) -> Option<PreEncoded> {
        template.h1.is_some().then_some(PreEncoded { template })
    }

    pub fn fields(&self) -> &http::HeaderMap {
        &self.template.fields
    }

    /// The fields as HTTP/1.1 lines.
    pub fn h1(&self) -> &[u8] {
        self.template.h1.as_deref().unwrap_or_default()
    }

    /// The shared template itself: its identity stands for its fields
    /// (`hpack::Encoder::encode_with_run`).
    pub fn into_template(self) -> Arc<Template> {
        self.template
    }
}

/// Moves `pre`'s fields into the response's map, ahead of the fields already there;
/// a field set since replaces the template's value in place, as `HeaderMap::insert`
/// over the full map would have.
pub fn merge_pre_encoded(resp: &mut Response, pre: PreEncoded) {
    let later = std::mem::replace(resp.headers_mut(), http::HeaderMap::clone(pre.fields()));
    let map = resp.headers_mut();
    let mut last = None;
    for (name, value) in later {
        match name {
            Some(name) => {
                map.insert(name.clone(), value);
                last = Some(name);
            }
            None => {
                if let Some(name) = &last {
                    map.append(name.clone(), value);
                }
            }
        }
    }
}

/// `len` bytes of `file` starting at `offset`.
#[derive(Debug, Clone)]
pub struct FileRegion {
    pub file: Arc<File>,
    pub offset: u64,
    pub len: u64,
}

/// What a service may know about the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub peer: SocketAddr,
    /// True when the request arrived over TLS.
    pub secure: bool,
    /// Monotonic time of this loop turn (cache revalidation).
    pub now: Instant,
    /// Wall-clock time of this loop turn (conditional requests, `Last-Modified`).
    pub wall: SystemTime,
    /// TLS: the server name the client asked for in its ClientHello (RFC 6066 §3),
    /// lowercase; `None` over plain TCP or when the client sent none. The site
    /// router checks it against `Host` (RFC 9110 §15.5.20, `vhost.rs`).
    pub sni: Option<&'a str>,
    /// The port this server's HTTPS listener really bound (it differs from the
    /// configuration with `https_port = 0`); `None` when nothing listens for TLS.
    /// The HTTPS redirect points there (`policy.rs`).
    pub https_port: Option<u16>,
}

/// Something that answers requests. One instance per worker thread, so
/// implementations may keep caches without locks.
pub trait Service: Send {
    fn call(&mut self, req: &Request, ctx: &RequestContext) -> Response;

    /// [`Service::call`] for a caller whose encoders take a response's first fields
    /// apart from its map ([`PreEncoded`]): the response, and those fields when the
    /// service kept them aside (the map then holds only the fields after them). The
    /// default answers with [`Service::call`] and nothing aside, so a service that
    /// does not override it is served exactly as before; a wrapper that only adds
    /// fields forwards it to its inner service, so the fields stay aside through it.
    fn call_pre_encoded(
        &mut self,
        req: &Request,
        ctx: &RequestContext,
    ) -> (Response, Option<PreEncoded>) {
        (self.call(req, ctx), None)
    }

    /// Called with the head of a request that has a body, before the body is read:
    /// return a response when the request will be refused whatever its body holds
    /// (a method the resource does not allow, 405). The engine sends it at once,
    /// never reads the body and closes the connection. `None` (the default) lets the
    /// body arrive and the request reach [`Service::call`] as usual.
    fn early_response(
        &mut self,
        head: &http::Request<()>,
        ctx: &RequestContext,
    ) -> Option<Response> {
        let _ = (head, ctx);
        None
    }

    /// An error response for a status the engine or driver decided on (400, 413, 429, ...).
    /// The default is a short text body; the file service may serve a custom page.
    fn error(&mut self, status: http::StatusCode, ctx: &RequestContext) -> Response {
        let _ = ctx;
        error_response(status)
    }

    /// Hands the service its worker's statistics block (called by the driver when
    /// the service is built). Services that count nothing ignore it.
    fn attach_counters(&mut self, counters: Arc<ServiceCounters>) {
        let _ = counters;
    }
}

/// Counters a service updates for the statistics: one block per worker, written only
/// by that worker's service (Relaxed loads and stores: one writer), aligned so two
/// workers' blocks never share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct ServiceCounters {
    /// A request served from the open-file cache without opening the file again.
    pub file_cache_hits: AtomicU64,
    /// A request that had to open (or re-open) the file.
    pub file_cache_misses: AtomicU64,
    /// Responses per site and status class (`vhost.rs`); empty without sections.
    pub sites: vhost::SiteRegistry,
}

/// A minimal, well-formed error response: the reason phrase as a text body.
pub fn error_response(status: http::StatusCode) -> Response {
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        crate::proto::reason_phrase(status)
    );
    let mut resp = http::Response::new(Body::Bytes(Bytes::from(text)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

pub mod policy;
pub mod pool;
pub mod ratelimit;
pub mod vhost;

//! A site's response policy, as a [`Service`] wrapped around the site's own service
//! (files, or WebSocket in front of files): the HTTP -> HTTPS redirect and HSTS.
//! HTTP/1.1, HTTP/2 and WebSocket upgrades all reach the site through this wrapper,
//! so each rule is written once, and each site of `vhost.rs` carries its own.
//!
//! What is per connection or per worker rather than per site stays in the driver:
//! the per-IP rate limit (its buckets are shared by every site of a worker), the
//! health and metrics endpoints, `Date`, `Server` and the access log.

use http::header::{HeaderValue, LOCATION, STRICT_TRANSPORT_SECURITY};
use http::{Method, StatusCode};

use crate::config::Config;
use crate::service::{PreEncoded, Request, RequestContext, Response, Service, ServiceCounters};

/// The settings of one site's policy, read from its configuration.
#[derive(Debug, Clone, Default)]
pub struct SitePolicy {
    /// `redirect_http_to_https`: plain-HTTP requests get 301/308 to the HTTPS port.
    pub redirect_to_https: bool,
    /// The host named in the redirect when the request carries none (HTTP/1.0).
    pub server_name: String,
    /// `Strict-Transport-Security`, formatted once; `None` when `hsts_max_age = 0`.
    pub hsts: Option<HeaderValue>,
}

impl SitePolicy {
    pub fn from_config(cfg: &Config) -> SitePolicy {
        SitePolicy {
            redirect_to_https: cfg.redirect_http_to_https,
            server_name: cfg.server_name.clone(),
            hsts: hsts_value(cfg),
        }
    }
}

/// RFC 6797 §6.1: `max-age` with the optional `includeSubDomains` directive (§6.1.2)
/// and `preload` (not in the RFC: the browsers' preload list asks for it).
pub fn hsts_value(cfg: &Config) -> Option<HeaderValue> {
    if cfg.hsts_max_age == 0 {
        return None;
    }
    let mut v = format!("max-age={}", cfg.hsts_max_age);
    if cfg.hsts_include_subdomains {
        v.push_str("; includeSubDomains");
    }
    if cfg.hsts_preload {
        v.push_str("; preload");
    }
    HeaderValue::from_str(&v).ok()
}

/// `inner` with a site's [`SitePolicy`] applied to everything it answers.
pub struct PolicyService<S> {
    inner: S,
    policy: SitePolicy,
}

impl<S: Service> PolicyService<S> {
    pub fn new(inner: S, policy: SitePolicy) -> Self {
        PolicyService { inner, policy }
    }

    /// The redirect, when this request gets one.
    fn redirect<B>(&mut self, req: &http::Request<B>, ctx: &RequestContext) -> Option<Response> {
        let https_port = ctx.https_port?;
        // `OPTIONS *` asks about the server itself (RFC 9110 §9.3.7): nothing to move.
        if ctx.secure || !self.policy.redirect_to_https || req.uri().path() == "*" {
            return None;
        }
        let location = location(req, https_port, &self.policy.server_name);
        // 301 for GET/HEAD; 308 otherwise so the method and body are kept
        // (RFC 9110 §15.4.9).
        let status = if req.method() == Method::GET || req.method() == Method::HEAD {
            StatusCode::MOVED_PERMANENTLY
        } else {
            StatusCode::PERMANENT_REDIRECT
        };
        Some(match HeaderValue::from_str(&location) {
            Ok(v) => {
                let mut resp = self.inner.error(status, ctx);
                resp.headers_mut().insert(LOCATION, v);
                resp
            }
            Err(_) => self.inner.error(StatusCode::BAD_REQUEST, ctx),
        })
    }

    /// HSTS over plain HTTP is ignored by browsers and misleading (RFC 6797 §7.2).
    fn finish(&self, resp: &mut Response, ctx: &RequestContext) {
        if ctx.secure {
            if let Some(v) = &self.policy.hsts {
                resp.headers_mut()
                    .insert(STRICT_TRANSPORT_SECURITY, v.clone());
            }
        }
    }
}

impl<S: Service> Service for PolicyService<S> {
    fn call(&mut self, req: &Request, ctx: &RequestContext) -> Response {
        if let Some(resp) = self.redirect(req, ctx) {
            return resp;
        }
        let mut resp = self.inner.call(req, ctx);
        self.finish(&mut resp, ctx);
        resp
    }

    fn call_pre_encoded(
        &mut self,
        req: &Request,
        ctx: &RequestContext,
    ) -> (Response, Option<PreEncoded>) {
        if let Some(resp) = self.redirect(req, ctx) {
            return (resp, None);
        }
        let (mut resp, pre) = self.inner.call_pre_encoded(req, ctx);
        self.finish(&mut resp, ctx);
        (resp, pre)
    }

    fn early_response(
        &mut self,
        head: &http::Request<()>,
        ctx: &RequestContext,
    ) -> Option<Response> {
        if let Some(resp) = self.redirect(head, ctx) {
            return Some(resp);
        }
        let mut resp = self.inner.early_response(head, ctx)?;
        self.finish(&mut resp, ctx);
        Some(resp)
    }

    fn error(&mut self, status: StatusCode, ctx: &RequestContext) -> Response {
        let mut resp = self.inner.error(status, ctx);
        self.finish(&mut resp, ctx);
        resp
    }

    fn attach_counters(&mut self, counters: std::sync::Arc<ServiceCounters>) {
        self.inner.attach_counters(counters);
    }
}

/// `https://host[:port]/path?query` for a request: the host from `Host` (or the
/// absolute-form target, or `:authority`), else `server_name`.
fn location<B>(req: &http::Request<B>, https_port: u16, server_name: &str) -> String {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
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
    if https_port == 443 {
        format!("https://{host}{path}{query}")
    } else {
        format!("https://{host}:{https_port}{path}{query}")
    }
}

/// "example.com:8080" -> "example.com", "[::1]:8080" -> "[::1]".
pub fn strip_port(host: &str) -> &str {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::service::Body;

    struct Ok200;
    impl Service for Ok200 {
        fn call(&mut self, _: &Request, _: &RequestContext) -> Response {
            http::Response::new(Body::Empty)
        }
    }

    fn ctx(secure: bool, https_port: Option<u16>) -> RequestContext<'static> {
        RequestContext {
            peer: "127.0.0.1:1".parse().unwrap(),
            secure,
            now: std::time::Instant::now(),
            wall: std::time::SystemTime::now(),
            sni: None,
            https_port,
        }
    }

    fn policy(redirect: bool) -> PolicyService<Ok200> {
        let cfg = Config {
            redirect_http_to_https: redirect,
            ..Config::default()
        };
        PolicyService::new(Ok200, SitePolicy::from_config(&cfg))
    }

    fn get(target: &str, host: &str) -> Request {
        http::Request::builder()
            .method(Method::GET)
            .uri(target)
            .header("host", host)
            .body(bytes::Bytes::new())
            .unwrap()
    }

    #[test]
    fn redirect_host_strips_port_including_ipv6_literals() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }

    #[test]
    fn rfc9110_15_4_2_plain_request_is_moved_to_the_https_port() {
        let mut p = policy(true);
        let resp = p.call(&get("/a?b=1", "site.test:8080"), &ctx(false, Some(8443)));
        assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(
            resp.headers()[LOCATION],
            "https://site.test:8443/a?b=1".to_owned()
        );
        assert!(resp.headers().get(STRICT_TRANSPORT_SECURITY).is_none());
    }

    #[test]
    fn no_redirect_without_an_https_listener_or_when_off() {
        let mut p = policy(true);
        let resp = p.call(&get("/", "site.test"), &ctx(false, None));
        assert_eq!(resp.status(), StatusCode::OK);
        let mut p = policy(false);
        let resp = p.call(&get("/", "site.test"), &ctx(false, Some(8443)));
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[test]
    fn rfc6797_7_2_hsts_only_over_tls_on_answers_and_errors() {
        let mut p = policy(true);
        let resp = p.call(&get("/", "site.test"), &ctx(true, Some(8443)));
        assert_eq!(
            resp.headers()[STRICT_TRANSPORT_SECURITY],
            "max-age=31536000"
        );
        let err = p.error(StatusCode::BAD_REQUEST, &ctx(true, Some(8443)));
        assert!(err.headers().contains_key(STRICT_TRANSPORT_SECURITY));
        let plain = policy(false).error(StatusCode::BAD_REQUEST, &ctx(false, Some(8443)));
        assert!(!plain.headers().contains_key(STRICT_TRANSPORT_SECURITY));
    }
}

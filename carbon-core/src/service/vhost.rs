//! Name-based virtual hosts: picks the site that answers a request from its host
//! (HTTP/1.1 `Host` or the absolute-form target, HTTP/2 `:authority`), and over
//! TLS checks it against the server name of the handshake (SNI).
//!
//! Rules (docs/sites.md):
//! * the host is compared without its port, case-insensitively (RFC 4343), without
//!   a trailing dot; `*.example.com` covers exactly one more label;
//! * a host no site names goes to the default site (the global settings), or is
//!   refused with 421 when `unknown_host = refuse`; so is a request without a host
//!   (HTTP/1.0) on a connection whose SNI names no site;
//! * when the SNI names a site and the host does not name that same site, the
//!   answer is 421 Misdirected Request (RFC 9110 §15.5.20): the connection was set
//!   up, certificate included, for another origin. This also answers HTTP/2
//!   connection coalescing (RFC 9113 §9.1.1) towards a site with its own
//!   certificate: the client retries on a new connection;
//! * without a host, a request on a connection whose SNI names a site goes to it.
//!
//! Each site is its own service (its own file service and open-file cache, error
//! pages and policy), built per worker, so nothing here takes a lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http::StatusCode;

use crate::config::UnknownHost;
use crate::service::policy::strip_port;
use crate::service::{PreEncoded, Request, RequestContext, Response, Service, ServiceCounters};

/// The name of the default site in statistics: parentheses cannot occur in a site
/// name, so it never collides with one.
pub const DEFAULT_SITE_LABEL: &str = "(default)";

/// Names to sites, shared by every worker's router.
#[derive(Debug)]
pub struct SiteTable {
    exact: HashMap<Box<str>, usize>,
    /// Keyed by the parent domain: `*.example.com` is stored as `example.com`.
    wildcard: HashMap<Box<str>, usize>,
    unknown: UnknownHost,
    /// Each site's first name, for statistics.
    labels: Vec<String>,
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The global settings.
    Default,
    /// The site at this index of the table.
    Site(usize),
    /// 421 Misdirected Request.
    Misdirected,
}

impl SiteTable {
    /// `sites`: each site's names, lowercase, as the configuration checked them.
    pub fn new(sites: &[Vec<String>], unknown: UnknownHost) -> SiteTable {
        let mut exact = HashMap::new();
        let mut wildcard = HashMap::new();
        for (i, names) in sites.iter().enumerate() {
            for name in names {
                match name.strip_prefix("*.") {
                    Some(parent) => wildcard.insert(parent.into(), i),
                    None => exact.insert(name.as_str().into(), i),
                };
            }
        }
        let labels = sites
            .iter()
            .map(|n| n.first().cloned().unwrap_or_default())
            .collect();
        SiteTable {
            exact,
            wildcard,
            unknown,
            labels,
        }
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The site naming `host` (a `Host` value: port and trailing dot allowed, any
    /// case). No allocation: the name is lowercased on the stack.
    pub fn lookup(&self, host: &str) -> Option<usize> {
        let name = strip_port(host);
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut buf = [0u8; 255];
        let lower = buf.get_mut(..name.len())?;
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        let lower = std::str::from_utf8(lower).ok()?;
        self.exact.get(lower).copied().or_else(|| {
            let (_, parent) = lower.split_once('.')?;
            self.wildcard.get(parent).copied()
        })
    }

    /// The route of a request with `host` (`None`: it named none) on a connection
    /// with `sni`.
    pub fn route(&self, host: Option<&str>, sni: Option<&str>) -> Route {
        let sni_site = sni.and_then(|s| self.lookup(s));
        let host_site = match host {
            Some(h) => self.lookup(h),
            None => sni_site,
        };
        match (host_site, sni_site) {
            (Some(h), Some(s)) if h != s => Route::Misdirected,
            (None, Some(_)) => Route::Misdirected,
            (Some(h), _) => Route::Site(h),
            (None, None) => match self.unknown {
                UnknownHost::Default => Route::Default,
                UnknownHost::Refuse => Route::Misdirected,
            },
        }
    }
}

/// Responses per status class (1xx..5xx) of one site, summed over workers by the
/// statistics.
#[derive(Debug)]
pub struct SiteCounters {
    pub label: String,
    pub classes: [AtomicU64; 5],
}

impl SiteCounters {
    fn count(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.classes[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// Every site's counters of one worker, by label. A reload's new router finds the
/// counters of the sites it keeps, so their counts continue; a site removed by a
/// reload keeps its counts until carbond restarts.
#[derive(Debug, Default)]
pub struct SiteRegistry(Mutex<Vec<Arc<SiteCounters>>>);

impl SiteRegistry {
    /// The counters of `label`, created on first use (when a router is built).
    pub fn site(&self, label: &str) -> Arc<SiteCounters> {
        let mut v = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(c) = v.iter().find(|c| c.label == label) {
            return c.clone();
        }
        let c = Arc::new(SiteCounters {
            label: label.to_owned(),
            classes: Default::default(),
        });
        v.push(c.clone());
        c
    }

    /// (label, responses per class) of every site this worker has served.
    pub fn snapshot(&self) -> Vec<(String, [u64; 5])> {
        let v = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        v.iter()
            .map(|c| {
                let mut classes = [0; 5];
                for (out, a) in classes.iter_mut().zip(&c.classes) {
                    *out = a.load(Ordering::Relaxed);
                }
                (c.label.clone(), classes)
            })
            .collect()
    }
}

/// The router: one per worker, with one service per site.
pub struct VirtualHosts {
    table: Arc<SiteTable>,
    default: Box<dyn Service>,
    sites: Vec<Box<dyn Service>>,
    /// `None` until the driver attaches the worker's statistics.
    default_counters: Option<Arc<SiteCounters>>,
    site_counters: Vec<Arc<SiteCounters>>,
}

impl VirtualHosts {
    /// `sites[i]` serves the names of `table`'s site `i`.
    pub fn new(
        table: Arc<SiteTable>,
        default: Box<dyn Service>,
        sites: Vec<Box<dyn Service>>,
    ) -> Self {
        VirtualHosts {
            table,
            default,
            sites,
            default_counters: None,
            site_counters: Vec::new(),
        }
    }

    fn route<B>(&self, req: &http::Request<B>, ctx: &RequestContext) -> Route {
        // RFC 9112 §3.2.2: an absolute-form target's authority wins over `Host`.
        let host = match req.uri().authority() {
            Some(a) => Some(a.as_str()),
            None => req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok()),
        };
        self.table.route(host, ctx.sni)
    }

    /// The service answering `route`; for 421, the site the connection was set up
    /// for (its error page), else the default site.
    fn service(&mut self, route: Route, ctx: &RequestContext) -> &mut dyn Service {
        let index = match route {
            Route::Site(i) => Some(i),
            Route::Default => None,
            Route::Misdirected => ctx.sni.and_then(|s| self.table.lookup(s)),
        };
        match index.and_then(|i| self.sites.get_mut(i)) {
            Some(s) => s.as_mut(),
            None => self.default.as_mut(),
        }
    }

    fn count(&self, route: Route, ctx: &RequestContext, status: StatusCode) {
        let index = match route {
            Route::Site(i) => Some(i),
            Route::Default => None,
            Route::Misdirected => ctx.sni.and_then(|s| self.table.lookup(s)),
        };
        let counters = match index {
            Some(i) => self.site_counters.get(i),
            None => self.default_counters.as_ref(),
        };
        if let Some(c) = counters {
            c.count(status);
        }
    }
}

impl Service for VirtualHosts {
    fn call(&mut self, req: &Request, ctx: &RequestContext) -> Response {
        let route = self.route(req, ctx);
        let svc = self.service(route, ctx);
        let resp = match route {
            Route::Misdirected => svc.error(StatusCode::MISDIRECTED_REQUEST, ctx),
            _ => svc.call(req, ctx),
        };
        self.count(route, ctx, resp.status());
        resp
    }

    fn call_pre_encoded(
        &mut self,
        req: &Request,
        ctx: &RequestContext,
    ) -> (Response, Option<PreEncoded>) {
        let route = self.route(req, ctx);
        let svc = self.service(route, ctx);
        let (resp, pre) = match route {
            Route::Misdirected => (svc.error(StatusCode::MISDIRECTED_REQUEST, ctx), None),
            _ => svc.call_pre_encoded(req, ctx),
        };
        self.count(route, ctx, resp.status());
        (resp, pre)
    }

    fn early_response(
        &mut self,
        head: &http::Request<()>,
        ctx: &RequestContext,
    ) -> Option<Response> {
        let route = self.route(head, ctx);
        let svc = self.service(route, ctx);
        let resp = match route {
            // Refused whatever the body holds: answered before it is read.
            Route::Misdirected => Some(svc.error(StatusCode::MISDIRECTED_REQUEST, ctx)),
            _ => svc.early_response(head, ctx),
        }?;
        self.count(route, ctx, resp.status());
        Some(resp)
    }

    /// No request to route (the engine refused it): the SNI's site, else the default.
    fn error(&mut self, status: StatusCode, ctx: &RequestContext) -> Response {
        let route = match ctx.sni.and_then(|s| self.table.lookup(s)) {
            Some(i) => Route::Site(i),
            None => Route::Default,
        };
        self.service(route, ctx).error(status, ctx)
    }

    fn attach_counters(&mut self, counters: Arc<ServiceCounters>) {
        self.default_counters = Some(counters.sites.site(DEFAULT_SITE_LABEL));
        self.site_counters = self
            .table
            .labels()
            .iter()
            .map(|l| counters.sites.site(l))
            .collect();
        self.default.attach_counters(counters.clone());
        for s in &mut self.sites {
            s.attach_counters(counters.clone());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::service::Body;
    use bytes::Bytes;

    fn table(unknown: UnknownHost) -> SiteTable {
        SiteTable::new(
            &[
                vec!["a.test".into(), "www.a.test".into()],
                vec!["*.b.test".into()],
            ],
            unknown,
        )
    }

    #[test]
    fn host_lookup_ignores_port_case_and_trailing_dot() {
        let t = table(UnknownHost::Default);
        assert_eq!(t.lookup("a.test"), Some(0));
        assert_eq!(t.lookup("WWW.A.Test.:8443"), Some(0));
        assert_eq!(t.lookup("x.b.test"), Some(1));
        assert_eq!(t.lookup("b.test"), None, "a wildcard needs one more label");
        assert_eq!(t.lookup("y.x.b.test"), None, "exactly one more label");
        assert_eq!(t.lookup("[::1]:8443"), None);
        assert_eq!(t.lookup(&"a".repeat(300)), None);
    }

    #[test]
    fn unknown_names_go_to_the_default_site_or_are_refused() {
        let t = table(UnknownHost::Default);
        assert_eq!(t.route(Some("c.test"), None), Route::Default);
        assert_eq!(t.route(None, None), Route::Default);
        let t = table(UnknownHost::Refuse);
        assert_eq!(t.route(Some("c.test"), None), Route::Misdirected);
        assert_eq!(t.route(None, None), Route::Misdirected);
        assert_eq!(t.route(Some("a.test:80"), None), Route::Site(0));
    }

    #[test]
    fn rfc9110_15_5_20_sni_naming_another_site_than_host_is_misdirected() {
        let t = table(UnknownHost::Default);
        assert_eq!(t.route(Some("a.test"), Some("a.test")), Route::Site(0));
        assert_eq!(t.route(Some("www.a.test"), Some("a.test")), Route::Site(0));
        assert_eq!(
            t.route(Some("x.b.test"), Some("a.test")),
            Route::Misdirected
        );
        assert_eq!(t.route(Some("c.test"), Some("a.test")), Route::Misdirected);
        // An SNI no site names (the default certificate's) does not restrict Host.
        assert_eq!(t.route(Some("x.b.test"), Some("c.test")), Route::Site(1));
        // No Host (HTTP/1.0): the SNI's site.
        assert_eq!(t.route(None, Some("x.b.test")), Route::Site(1));
    }

    /// Answers with its own name, so a test sees which site served.
    struct Named(&'static str);
    impl Service for Named {
        fn call(&mut self, _: &Request, _: &RequestContext) -> Response {
            http::Response::new(Body::Bytes(Bytes::from_static(self.0.as_bytes())))
        }
        fn error(&mut self, status: StatusCode, _: &RequestContext) -> Response {
            let mut r = http::Response::new(Body::Bytes(Bytes::from_static(self.0.as_bytes())));
            *r.status_mut() = status;
            r
        }
    }

    fn router() -> (VirtualHosts, Arc<ServiceCounters>) {
        let mut v = VirtualHosts::new(
            Arc::new(table(UnknownHost::Default)),
            Box::new(Named("default")),
            vec![Box::new(Named("a")), Box::new(Named("b"))],
        );
        let counters = Arc::new(ServiceCounters::default());
        v.attach_counters(counters.clone());
        (v, counters)
    }

    fn get(uri: &str, host: Option<&str>) -> Request {
        let mut b = http::Request::builder().uri(uri);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(Bytes::new()).unwrap()
    }

    fn ctx(sni: Option<&str>) -> RequestContext<'_> {
        RequestContext {
            peer: "127.0.0.1:1".parse().unwrap(),
            secure: sni.is_some(),
            now: std::time::Instant::now(),
            wall: std::time::SystemTime::now(),
            sni,
            https_port: None,
        }
    }

    fn body(r: &Response) -> &[u8] {
        match r.body() {
            Body::Bytes(b) => b,
            _ => b"",
        }
    }

    #[test]
    fn each_host_is_answered_by_its_own_site_and_counted_there() {
        let (mut v, counters) = router();
        assert_eq!(body(&v.call(&get("/", Some("a.test")), &ctx(None))), b"a");
        assert_eq!(body(&v.call(&get("/", Some("q.b.test")), &ctx(None))), b"b");
        assert_eq!(
            body(&v.call(&get("/", Some("other")), &ctx(None))),
            b"default"
        );
        // RFC 9112 §3.2.2: the absolute-form authority wins over Host.
        let abs = get("http://a.test/x", Some("other"));
        assert_eq!(body(&v.call(&abs, &ctx(None))), b"a");
        let misdirected = v.call(&get("/", Some("q.b.test")), &ctx(Some("a.test")));
        assert_eq!(misdirected.status(), StatusCode::MISDIRECTED_REQUEST);
        assert_eq!(body(&misdirected), b"a", "the SNI site's error page");
        let snap = counters.sites.snapshot();
        let of = |l: &str| snap.iter().find(|(n, _)| n == l).unwrap().1;
        assert_eq!(of("a.test"), [0, 2, 0, 1, 0]);
        assert_eq!(of("*.b.test"), [0, 1, 0, 0, 0]);
        assert_eq!(of(DEFAULT_SITE_LABEL), [0, 1, 0, 0, 0]);
    }

    #[test]
    fn a_rebuilt_router_keeps_counting_in_the_same_counters() {
        let (mut v, counters) = router();
        v.call(&get("/", Some("a.test")), &ctx(None));
        let (mut w, _) = router();
        w.attach_counters(counters.clone());
        w.call(&get("/", Some("a.test")), &ctx(None));
        let snap = counters.sites.snapshot();
        assert_eq!(snap.iter().find(|(n, _)| n == "a.test").unwrap().1[1], 2);
    }
}

//! The opening handshake, server side (RFC 6455 §4.2): validating the client's
//! upgrade request and building the 101 response.
//!
//! Works on any `http::Request`, so the HTTP/1.1 engine's requests and HTTP/2
//! extended CONNECT requests (RFC 8441 §5, [`accept_extended_connect`]) share one set
//! of rules: version 13, the Origin allow-list, subprotocols and permessage-deflate.
//! Over HTTP/2 there is no `Sec-WebSocket-Key` / `Sec-WebSocket-Accept` (§5) and the
//! answer is a 200 ([`Accepted::response_h2`]).

use base64::Engine as _;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use super::deflate::{self, DeflateParams};

/// RFC 6455 §1.3: appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Server-side handshake settings (from the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandshakeConfig {
    /// Subprotocols we speak, in our order of preference (§4.2.2 /subprotocol/).
    pub subprotocols: Vec<String>,
    /// Origins allowed to connect (`scheme://host[:port]`, compared ASCII
    /// case-insensitively). Empty: every origin.
    pub origins: Vec<String>,
    /// Offer permessage-deflate (RFC 7692) when the client asks for it.
    pub permessage_deflate: bool,
}

/// An accepted upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// `Sec-WebSocket-Accept` (§4.2.2 step 5.4).
    pub accept: String,
    /// The subprotocol chosen, if any.
    pub protocol: Option<String>,
    pub deflate: Option<DeflateParams>,
    /// draft-damjanovic-websockets-nomasking: the client offered "no-masking" over
    /// TLS and we accept it (set by the service, which knows the transport).
    pub no_masking: bool,
}

impl Accepted {
    /// The 101 response head. `Connection: Upgrade` and `Upgrade: websocket` are part
    /// of it and must reach the wire (§4.2.2 step 5).
    pub fn response(&self) -> Response<()> {
        let mut r = Response::new(());
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = r.headers_mut();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(v) = HeaderValue::from_str(&self.accept) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        if let Some(p) = self
            .protocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        self.negotiated_headers(h);
        r
    }

    /// The 200 answering an extended CONNECT (RFC 8441 §5): the negotiated
    /// subprotocol and extensions, no `Upgrade`, `Connection` or accept key.
    pub fn response_h2(&self) -> Response<()> {
        let mut r = Response::new(());
        self.negotiated_headers(r.headers_mut());
        r
    }

    fn negotiated_headers(&self, h: &mut HeaderMap) {
        if let Some(p) = self
            .protocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        let mut ext: Vec<String> = self.deflate.iter().map(|d| d.response_header()).collect();
        if self.no_masking {
            ext.push(NO_MASKING.to_owned());
        }
        if let Ok(v) = HeaderValue::from_str(&ext.join(", ")) {
            if !ext.is_empty() {
                h.insert(header::SEC_WEBSOCKET_EXTENSIONS, v);
            }
        }
    }
}

/// The extension token of draft-damjanovic-websockets-nomasking (section 3).
pub const NO_MASKING: &str = "no-masking";

/// draft-damjanovic-websockets-nomasking section 3: the client lists "no-masking" in
/// `Sec-WebSocket-Extensions`. Accept it only on an encrypted connection (the
/// draft's condition; a client must not offer it otherwise, and cleartext keeps the
/// RFC 6455 §10.3 protection).
pub fn offers_no_masking(h: &HeaderMap) -> bool {
    h.get_all(header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|offer| {
            offer
                .split(';')
                .next()
                .is_some_and(|name| name.trim().eq_ignore_ascii_case(NO_MASKING))
        })
}

/// A refused upgrade: the status to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not GET, missing or wrong `Upgrade`/`Connection`, bad key: 400 (§4.2.1).
    BadRequest,
    /// `Sec-WebSocket-Version` other than 13: 426 with `Sec-WebSocket-Version: 13`
    /// (§4.2.2 step 4).
    UpgradeRequired,
    /// Origin not in the allow-list: 403 (§4.2.2 step 4, §10.2).
    Forbidden,
    /// Method other than GET: 405 (§4.1: "The method of the request MUST be GET").
    MethodNotAllowed,
}

impl Rejection {
    pub fn status(self) -> StatusCode {
        match self {
            Rejection::BadRequest => StatusCode::BAD_REQUEST,
            Rejection::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// Headers the refusal must carry.
    pub fn headers(self) -> HeaderMap {
        let mut h = HeaderMap::new();
        match self {
            Rejection::UpgradeRequired => {
                h.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            Rejection::MethodNotAllowed => {
                h.insert(header::ALLOW, HeaderValue::from_static("GET"));
            }
            _ => {}
        }
        h
    }
}

/// Whether a request asks for a WebSocket upgrade at all (`Upgrade: websocket`). Such
/// a request is then validated with [`accept`]; any other request is served normally.
pub fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    header_tokens(req.headers(), header::UPGRADE).any(|t| t.eq_ignore_ascii_case("websocket"))
}

/// Validates an upgrade request (§4.2.1) and negotiates subprotocol and extensions.
pub fn accept<B>(req: &Request<B>, cfg: &HandshakeConfig) -> Result<Accepted, Rejection> {
    let h = req.headers();
    if req.method() != Method::GET {
        return Err(Rejection::MethodNotAllowed);
    }
    if !is_upgrade_request(req) {
        return Err(Rejection::BadRequest);
    }
    // §4.2.1 item 4: "A |Connection| header field that includes the token "Upgrade"".
    if !header_tokens(h, header::CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade")) {
        return Err(Rejection::BadRequest);
    }
    check_version(h)?;
    let mut keys = h.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(k), None) => k.as_bytes().trim_ascii(),
        _ => return Err(Rejection::BadRequest),
    };
    // §4.2.1 item 5: "a base64-encoded value that, when decoded, is 16 bytes in length".
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(Rejection::BadRequest),
    }
    negotiate(h, cfg, accept_key(key))
}

/// Validates an extended CONNECT with `:protocol = websocket` (RFC 8441 §4, §5; the
/// HTTP/2 engine checked its pseudo-headers): the same rules as [`accept`] but
/// without the HTTP/1.1 upgrade fields and the key.
pub fn accept_extended_connect<B>(
    req: &Request<B>,
    cfg: &HandshakeConfig,
) -> Result<Accepted, Rejection> {
    if req.method() != Method::CONNECT {
        return Err(Rejection::BadRequest);
    }
    check_version(req.headers())?;
    negotiate(req.headers(), cfg, String::new())
}

/// §4.2.2 step 4: exactly one `Sec-WebSocket-Version: 13`, or 426.
fn check_version(h: &HeaderMap) -> Result<(), Rejection> {
    let mut versions = h.get_all(header::SEC_WEBSOCKET_VERSION).iter();
    match (versions.next(), versions.next()) {
        (Some(v), None) if v.as_bytes().trim_ascii() == b"13" => Ok(()),
        _ => Err(Rejection::UpgradeRequired),
    }
}

/// Origin allow-list, subprotocol and extensions, common to both handshakes.
fn negotiate(h: &HeaderMap, cfg: &HandshakeConfig, accept: String) -> Result<Accepted, Rejection> {
    if !cfg.origins.is_empty() {
        let ok = h
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .is_some_and(|o| cfg.origins.iter().any(|a| a.eq_ignore_ascii_case(o.trim())));
        if !ok {
            return Err(Rejection::Forbidden);
        }
    }
    // §4.2.2 /subprotocol/: the first of ours the client offers; none echoed otherwise.
    let offered: Vec<&str> = header_tokens(h, header::SEC_WEBSOCKET_PROTOCOL).collect();
    let protocol = cfg
        .subprotocols
        .iter()
        .find(|p| offered.iter().any(|o| o == p))
        .cloned();
    let deflate = if cfg.permessage_deflate {
        deflate::negotiate(
            h.get_all(header::SEC_WEBSOCKET_EXTENSIONS)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
    } else {
        None
    };
    Ok(Accepted {
        accept,
        protocol,
        deflate,
        no_masking: false,
    })
}

/// §4.2.2 step 5.4: base64(SHA-1(key ++ GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes())
}

/// Comma-separated tokens of every line of a header, trimmed, empty ones skipped.
fn header_tokens(h: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> {
    h.get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(extra: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder()
            .method("GET")
            .uri("/chat")
            .header("Host", "server.example.com")
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13");
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    fn without(name: &str) -> Request<()> {
        let mut r = req(&[]);
        r.headers_mut().remove(name);
        r
    }

    #[test]
    fn rfc6455_1_3_accept_key_of_the_rfc_example() {
        let a = accept(&req(&[]), &HandshakeConfig::default()).unwrap();
        assert_eq!(a.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let r = a.response();
        assert_eq!(r.status(), 101);
        assert_eq!(r.headers()["upgrade"], "websocket");
        assert_eq!(r.headers()["connection"], "Upgrade");
        assert_eq!(
            r.headers()["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(r.headers().get("sec-websocket-protocol").is_none());
        assert!(r.headers().get("sec-websocket-extensions").is_none());
    }

    #[test]
    fn rfc6455_4_2_1_upgrade_and_connection_tokens_case_insensitive_among_others() {
        let mut r = without("upgrade");
        r.headers_mut()
            .insert("upgrade", HeaderValue::from_static("WebSocket"));
        r.headers_mut().insert(
            "connection",
            HeaderValue::from_static("keep-alive, UPGRADE"),
        );
        assert!(accept(&r, &HandshakeConfig::default()).is_ok());
    }

    #[test]
    fn rfc6455_4_2_1_missing_pieces_are_400() {
        let cfg = HandshakeConfig::default();
        assert_eq!(
            accept(&without("connection"), &cfg),
            Err(Rejection::BadRequest)
        );
        assert_eq!(
            accept(&without("sec-websocket-key"), &cfg),
            Err(Rejection::BadRequest)
        );
        let mut r = without("connection");
        r.headers_mut()
            .insert("connection", HeaderValue::from_static("keep-alive"));
        assert_eq!(accept(&r, &cfg), Err(Rejection::BadRequest));
        assert_eq!(Rejection::BadRequest.status(), 400);
    }

    #[test]
    fn rfc6455_4_1_method_must_be_get() {
        let mut r = req(&[]);
        *r.method_mut() = Method::POST;
        assert_eq!(
            accept(&r, &HandshakeConfig::default()),
            Err(Rejection::MethodNotAllowed)
        );
    }

    #[test]
    fn rfc6455_4_2_1_key_must_decode_to_16_bytes() {
        let cfg = HandshakeConfig::default();
        for bad in [
            "",
            "dGhlIHNhbXBsZSBub25jZQ",
            "AAAAAAAAAAAAAAAAAAAAAAAA",
            "!!!!!!!!!!!!!!!!!!!!!!==",
            "dGhlIHNhbXBsZSBub25j",
        ] {
            let mut r = without("sec-websocket-key");
            r.headers_mut()
                .insert("sec-websocket-key", HeaderValue::from_str(bad).unwrap());
            assert_eq!(accept(&r, &cfg), Err(Rejection::BadRequest), "{bad:?}");
        }
    }

    #[test]
    fn rfc6455_4_2_2_wrong_version_is_426_naming_13() {
        let mut r = without("sec-websocket-version");
        r.headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("8"));
        let e = accept(&r, &HandshakeConfig::default()).unwrap_err();
        assert_eq!(e, Rejection::UpgradeRequired);
        assert_eq!(e.status(), 426);
        assert_eq!(e.headers()["sec-websocket-version"], "13");
        assert_eq!(
            accept(
                &without("sec-websocket-version"),
                &HandshakeConfig::default()
            ),
            Err(Rejection::UpgradeRequired)
        );
    }

    #[test]
    fn rfc6455_4_2_2_subprotocol_first_of_ours_offered_none_echoed_otherwise() {
        let cfg = HandshakeConfig {
            subprotocols: vec!["chat".into(), "superchat".into()],
            ..Default::default()
        };
        let a = accept(&req(&[("Sec-WebSocket-Protocol", "superchat, chat")]), &cfg).unwrap();
        assert_eq!(a.protocol.as_deref(), Some("chat"));
        assert_eq!(a.response().headers()["sec-websocket-protocol"], "chat");
        let a = accept(&req(&[("Sec-WebSocket-Protocol", "mqtt")]), &cfg).unwrap();
        assert_eq!(a.protocol, None);
        assert!(a
            .response()
            .headers()
            .get("sec-websocket-protocol")
            .is_none());
    }

    #[test]
    fn rfc6455_10_2_origin_allow_list_is_403_otherwise() {
        let cfg = HandshakeConfig {
            origins: vec!["https://example.com".into()],
            ..Default::default()
        };
        assert!(accept(&req(&[("Origin", "https://EXAMPLE.com")]), &cfg).is_ok());
        assert_eq!(
            accept(&req(&[("Origin", "https://evil.test")]), &cfg),
            Err(Rejection::Forbidden)
        );
        assert_eq!(accept(&req(&[]), &cfg), Err(Rejection::Forbidden));
        assert_eq!(Rejection::Forbidden.status(), 403);
    }

    #[test]
    fn rfc7692_5_deflate_offered_only_when_configured() {
        let offer = [(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits",
        )];
        let a = accept(&req(&offer), &HandshakeConfig::default()).unwrap();
        assert_eq!(a.deflate, None);
        let cfg = HandshakeConfig {
            permessage_deflate: true,
            ..Default::default()
        };
        let a = accept(&req(&offer), &cfg).unwrap();
        assert!(a.deflate.is_some());
        assert_eq!(
            a.response().headers()["sec-websocket-extensions"],
            "permessage-deflate"
        );
    }

    fn extended_connect(extra: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder()
            .method("CONNECT")
            .uri("/chat")
            .header("sec-websocket-version", "13");
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn rfc8441_5_extended_connect_needs_no_key_and_is_answered_200() {
        let cfg = HandshakeConfig {
            subprotocols: vec!["chat".into()],
            permessage_deflate: true,
            ..Default::default()
        };
        let a = accept_extended_connect(
            &extended_connect(&[
                ("sec-websocket-protocol", "chat"),
                ("sec-websocket-extensions", "permessage-deflate"),
            ]),
            &cfg,
        )
        .unwrap();
        let r = a.response_h2();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["sec-websocket-protocol"], "chat");
        assert_eq!(
            r.headers()["sec-websocket-extensions"],
            "permessage-deflate"
        );
        for absent in ["upgrade", "connection", "sec-websocket-accept"] {
            assert!(r.headers().get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn rfc8441_5_same_version_and_origin_rules_as_http11() {
        let mut r = extended_connect(&[]);
        r.headers_mut().remove("sec-websocket-version");
        let cfg = HandshakeConfig::default();
        assert_eq!(
            accept_extended_connect(&r, &cfg),
            Err(Rejection::UpgradeRequired)
        );
        let strict = HandshakeConfig {
            origins: vec!["https://example.com".into()],
            ..Default::default()
        };
        assert_eq!(
            accept_extended_connect(
                &extended_connect(&[("origin", "https://evil.test")]),
                &strict
            ),
            Err(Rejection::Forbidden)
        );
        assert!(accept_extended_connect(
            &extended_connect(&[("origin", "https://example.com")]),
            &strict
        )
        .is_ok());
        assert_eq!(
            accept_extended_connect(&req(&[]), &cfg),
            Err(Rejection::BadRequest),
            "a GET is not an extended CONNECT"
        );
    }

    #[test]
    fn nomasking_3_offer_found_among_extensions_and_echoed_with_deflate() {
        let r = req(&[(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits, No-Masking",
        )]);
        assert!(offers_no_masking(r.headers()));
        assert!(!offers_no_masking(req(&[]).headers()));
        let cfg = HandshakeConfig {
            permessage_deflate: true,
            ..Default::default()
        };
        let mut a = accept(&r, &cfg).unwrap();
        a.no_masking = true;
        assert_eq!(
            a.response().headers()["sec-websocket-extensions"],
            "permessage-deflate, no-masking"
        );
    }

    #[test]
    fn rfc6455_4_2_1_non_upgrade_request_is_not_an_upgrade() {
        assert!(!is_upgrade_request(&without("upgrade")));
        assert!(is_upgrade_request(&req(&[])));
    }
}

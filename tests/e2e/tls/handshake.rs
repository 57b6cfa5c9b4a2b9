//! What a rustls client negotiates with carbond: versions, suites, groups, ALPN and
//! session resumption.

use std::sync::Arc;

use rustls::version::{TLS12, TLS13};
use rustls::{AlertDescription, CipherSuite, HandshakeKind, NamedGroup, ProtocolVersion};

use super::{handshake, TlsServer};
use crate::harness::INDEX_HTML;

#[test]
fn rfc8446_tls13_handshake_and_get_index() {
    let s = TlsServer::start("");
    let cfg = Arc::new(s.client(&[&TLS13]));
    let x = s.get(&cfg, "localhost", "/");
    assert_eq!(x.version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(x.kind, Some(HandshakeKind::Full));
    assert_eq!(x.response.status, 200, "{:?}", x.response);
    assert_eq!(x.response.body_str(), INDEX_HTML);
    // The default TLS 1.3 suites are all on the server's list; key exchange is one of
    // the policy's groups.
    assert!(
        matches!(
            x.suite,
            Some(
                CipherSuite::TLS13_AES_128_GCM_SHA256
                    | CipherSuite::TLS13_AES_256_GCM_SHA384
                    | CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
            )
        ),
        "{:?}",
        x.suite
    );
    assert!(
        matches!(
            x.group,
            Some(NamedGroup::X25519 | NamedGroup::secp256r1 | NamedGroup::secp384r1)
        ),
        "{:?}",
        x.group
    );
}

#[test]
fn rfc5246_tls12_only_client_gets_ecdhe_aead_suite() {
    let s = TlsServer::start("");
    let cfg = Arc::new(s.client(&[&TLS12]));
    let x = s.get(&cfg, "localhost", "/");
    assert_eq!(x.version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(x.response.status, 200, "{:?}", x.response);
    assert_eq!(x.response.body_str(), INDEX_HTML);
    // Forward secrecy (ECDHE) and an AEAD: no CBC, no static RSA (RFC 9325 section 4.2).
    let suite = format!("{:?}", x.suite.unwrap());
    assert!(suite.starts_with("TLS_ECDHE_"), "{suite}");
    assert!(
        suite.ends_with("_GCM_SHA256")
            || suite.ends_with("_GCM_SHA384")
            || suite.ends_with("_CHACHA20_POLY1305_SHA256"),
        "{suite}"
    );
    assert!(x.group.is_some(), "no ECDHE group negotiated");
}

#[test]
fn rfc7301_alpn_h2_and_http11_offered_selects_http11_while_h2_is_off() {
    let s = TlsServer::start("");
    let mut cfg = s.client(&[&TLS13, &TLS12]);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let x = s.get(&Arc::new(cfg), "localhost", "/");
    assert_eq!(x.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(x.response.version, "HTTP/1.1");
    assert_eq!(x.response.status, 200);
}

#[test]
fn rfc7301_client_without_alpn_gets_http11() {
    let s = TlsServer::start("");
    let cfg = s.client(&[&TLS13, &TLS12]);
    assert!(cfg.alpn_protocols.is_empty());
    let x = s.get(&Arc::new(cfg), "localhost", "/");
    assert_eq!(x.alpn, None);
    assert_eq!(x.response.version, "HTTP/1.1");
    assert_eq!(x.response.status, 200);
    assert_eq!(x.response.body_str(), INDEX_HTML);
}

#[test]
fn rfc7301_3_2_alpn_with_no_common_protocol_is_refused() {
    let s = TlsServer::start("");
    let mut cfg = s.client(&[&TLS13]);
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let Err(err) = handshake(s.https_addr(), &Arc::new(cfg), "localhost") else {
        panic!("handshake offering only h2 must fail while HTTP/2 is off");
    };
    let want = format!(
        "{}",
        rustls::Error::AlertReceived(AlertDescription::NoApplicationProtocol)
    );
    assert!(err.contains(&want), "got {err:?}, want {want:?}");
}

fn assert_resumes(s: &TlsServer, version: &'static rustls::SupportedProtocolVersion) {
    // One config, so both connections share its client session cache.
    let cfg = Arc::new(s.client(&[version]));
    let first = s.get(&cfg, "localhost", "/");
    assert_eq!(first.kind, Some(HandshakeKind::Full));
    assert_eq!(first.response.status, 200);
    let second = s.get(&cfg, "localhost", "/");
    assert_eq!(
        second.kind,
        Some(HandshakeKind::Resumed),
        "second handshake was not resumed ({:?})",
        second.version
    );
    assert_eq!(second.response.status, 200);
    assert_eq!(second.response.body_str(), INDEX_HTML);
}

#[test]
fn rfc8446_4_6_1_tls13_session_ticket_resumes() {
    let s = TlsServer::start("");
    assert_resumes(&s, &TLS13);
}

#[test]
fn rfc5077_tls12_session_resumes() {
    let s = TlsServer::start("");
    assert_resumes(&s, &TLS12);
}

/// A client offering only the hybrid post-quantum group (draft-ietf-tls-ecdhe-mlkem;
/// its 1,184-byte key share makes the ClientHello span more than one read) gets it
/// from the daemon in a full handshake, and its request is served. The client is
/// rustls on aws-lc-rs: ring has no ML-KEM, and OpenSSL 3.0's tools do not offer it.
#[test]
fn draft_ecdhe_mlkem_x25519mlkem768_only_client_is_served() {
    let s = TlsServer::start("");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(super::cert_der(&s.cert)).unwrap();
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: vec![rustls::crypto::aws_lc_rs::kx_group::X25519MLKEM768],
        ..rustls::crypto::aws_lc_rs::default_provider()
    };
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let x = s.get(&Arc::new(cfg), "localhost", "/");
    assert_eq!(x.group, Some(NamedGroup::X25519MLKEM768));
    assert_eq!(x.kind, Some(HandshakeKind::Full));
    assert_eq!(x.response.status, 200, "{:?}", x.response);
    assert_eq!(x.response.body_str(), INDEX_HTML);
}

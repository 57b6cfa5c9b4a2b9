//! Certificate choice by Server Name Indication (RFC 6066 section 3): an `ssl_sni`
//! entry for `other.test` beside the default certificate.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::version::{TLS12, TLS13};
use rustls::ClientConfig;

use super::{cert_der, client_config, gen_cert, https_get, RecordingVerifier, TlsServer};
use crate::harness::INDEX_HTML;

const OTHER: &str = "other.test";

/// A server with the default pair and an `other.test` pair; returns the latter's cert.
fn sni_server() -> (TlsServer, PathBuf) {
    let s = TlsServer::start_with(
        &format!("ssl_sni = {OTHER}={{certs}}/other/cert.pem,{{certs}}/other/key.pem"),
        |dir| {
            gen_cert(&dir.join("other"), &[OTHER]);
        },
    );
    let other = s._certs.path().join("other/cert.pem");
    (s, other)
}

#[test]
fn rfc6066_3_sni_name_selects_its_certificate_and_localhost_the_default() {
    let (s, other) = sni_server();
    let default_der = cert_der(&s.cert);
    let other_der = cert_der(&other);
    assert_ne!(default_der, other_der);
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        // Trust both, so only the server's choice decides which one is seen.
        let cfg = Arc::new(client_config(versions, &[&s.cert, &other]));
        let x = s.get(&cfg, OTHER, "/");
        assert_eq!(x.peer_cert.as_ref(), Some(&other_der), "SNI {OTHER}");
        assert_eq!(x.response.status, 200);
        assert_eq!(x.response.body_str(), INDEX_HTML);
        let x = s.get(&cfg, "localhost", "/");
        assert_eq!(x.peer_cert.as_ref(), Some(&default_der), "SNI localhost");
        assert_eq!(x.response.status, 200);
    }
}

#[test]
fn rfc6066_3_sni_name_matches_case_insensitively() {
    let (s, other) = sni_server();
    let verifier = RecordingVerifier::new();
    let cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
    let x = https_get(s.https_addr(), &Arc::new(cfg), "Other.TEST", "/").unwrap();
    assert_eq!(x.response.status, 200);
    assert_eq!(
        verifier.seen.lock().unwrap().as_slice(),
        &[cert_der(&other)]
    );
}

#[test]
fn rfc6066_3_unknown_name_and_no_sni_get_the_default_certificate() {
    let (s, _other) = sni_server();
    let default_der = cert_der(&s.cert);
    // `unknown.test` is on no certificate, so record what is shown instead of
    // verifying the name.
    let verifier = RecordingVerifier::new();
    let cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
    let x = https_get(s.https_addr(), &Arc::new(cfg), "unknown.test", "/").unwrap();
    assert_eq!(x.response.status, 200);
    assert_eq!(
        verifier.seen.lock().unwrap().as_slice(),
        std::slice::from_ref(&default_der)
    );

    // An IP address as server name: rustls sends no SNI (RFC 6066 section 3 forbids
    // literal addresses), and the default certificate names 127.0.0.1, so normal
    // verification succeeds.
    let cfg = Arc::new(s.client(&[&TLS13]));
    let x = s.get(&cfg, "127.0.0.1", "/");
    assert_eq!(x.peer_cert.as_ref(), Some(&default_der));
    assert_eq!(x.response.status, 200);
}

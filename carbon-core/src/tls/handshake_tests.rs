//! Full handshakes between a rustls client and a server built by [`TlsSettings::build`],
//! through in-memory buffers: no sockets, no threads, deterministic.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::client::ClientConnection;
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::ServerConnection;
use rustls::{
    ClientConfig, ConnectionCommon, HandshakeKind, NamedGroup, ProtocolVersion, RootCertStore,
    ServerConfig, SupportedProtocolVersion,
};

use super::policy::CIPHER_SUITES;
use super::self_signed::generate_pem_with;
use super::test_util::*;
use super::{app_protocol, AppProtocol, TlsSettings};
use crate::config::SniCert;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tls/testdata");

struct Site {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

/// A generated pair for the comma-separated `names`, valid since yesterday.
fn site(names: &str, alg: &'static SignatureAlgorithm) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = names.split(',').map(String::from).collect();
    let pem = generate_pem_with(&names, yesterday(), alg).unwrap();
    let (cert, key) = write_pem(dir.path(), "site", &pem);
    Site {
        _dir: dir,
        cert,
        key,
    }
}

fn settings(cert: &Path, key: &Path) -> TlsSettings {
    TlsSettings {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        sni: Vec::new(),
        offer_h2: false,
        session_cache_entries: 16,
        ticket_key_file: None,
    }
}

fn server(settings: &TlsSettings) -> Arc<ServerConfig> {
    let built = settings.build(SystemTime::now()).unwrap();
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    built.config
}

fn client(
    trusted: &[&Path],
    versions: &[&'static SupportedProtocolVersion],
    alpn: &[&[u8]],
    provider: CryptoProvider,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in trusted {
        roots
            .add(CertificateDer::from_pem_file(cert).unwrap())
            .unwrap();
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn default_client(trusted: &[&Path]) -> Arc<ClientConfig> {
    client(
        trusted,
        rustls::ALL_VERSIONS,
        &[b"h2", b"http/1.1"],
        aws_lc_rs::default_provider(),
    )
}

/// Moves everything `from` wants to send into `to` and processes it.
fn transfer<A, B>(
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
) -> Result<usize, rustls::Error> {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut input = &wire[..];
    while !input.is_empty() {
        to.read_tls(&mut input).unwrap();
        to.process_new_packets()?;
    }
    Ok(wire.len())
}

/// Runs the handshake to completion, including the TLS 1.3 NewSessionTicket flight
/// that follows it (RFC 8446 section 4.6.1).
fn connect(
    client_config: &Arc<ClientConfig>,
    server_config: &Arc<ServerConfig>,
    name: &str,
) -> Result<(ClientConnection, ServerConnection), rustls::Error> {
    let name = ServerName::try_from(name.to_string()).unwrap();
    let mut c = ClientConnection::new(client_config.clone(), name)?;
    let mut s = ServerConnection::new(server_config.clone())?;
    for _ in 0..10 {
        let moved = transfer(&mut c, &mut s)?;
        let moved = moved + transfer(&mut s, &mut c)?;
        if moved == 0 && !c.is_handshaking() && !s.is_handshaking() {
            return Ok((c, s));
        }
    }
    panic!("handshake did not finish in 10 rounds");
}

fn assert_allowed_suite(c: &ClientConnection) {
    let suite = c.negotiated_cipher_suite().unwrap().suite();
    assert!(
        CIPHER_SUITES.contains(&suite),
        "{suite:?} not in the policy"
    );
}

#[test]
fn rfc8446_tls13_is_negotiated_by_default_with_http11_alpn() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let (c, s) = connect(&default_client(&[&site.cert]), &server, "localhost").unwrap();
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(app_protocol(&s), AppProtocol::Http11);
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    assert_allowed_suite(&c);
    // The client's first key share is X25519 (RFC 8446 section 4.2.8), which we accept.
    assert_eq!(
        c.negotiated_key_exchange_group().unwrap().name(),
        NamedGroup::X25519
    );
}

#[test]
fn rfc5246_tls12_is_negotiated_when_the_client_offers_only_tls12() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let tls12 = client(
        &[&site.cert],
        &[&rustls::version::TLS12],
        &[b"http/1.1"],
        aws_lc_rs::default_provider(),
    );
    let (c, _) = connect(&tls12, &server, "localhost").unwrap();
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_allowed_suite(&c);
}

#[test]
fn rfc8446_4_6_1_tls13_second_handshake_resumes_with_a_ticket() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let client = default_client(&[&site.cert]);
    let (first, _) = connect(&client, &server, "localhost").unwrap();
    assert_eq!(first.handshake_kind(), Some(HandshakeKind::Full));
    let (second, _) = connect(&client, &server, "localhost").unwrap();
    assert_eq!(second.handshake_kind(), Some(HandshakeKind::Resumed));
    assert_eq!(second.protocol_version(), Some(ProtocolVersion::TLSv1_3));
}

#[test]
fn rfc5077_tls12_second_handshake_resumes() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let client = client(
        &[&site.cert],
        &[&rustls::version::TLS12],
        &[],
        aws_lc_rs::default_provider(),
    );
    let (first, _) = connect(&client, &server, "localhost").unwrap();
    assert_eq!(first.handshake_kind(), Some(HandshakeKind::Full));
    let (second, _) = connect(&client, &server, "localhost").unwrap();
    assert_eq!(second.handshake_kind(), Some(HandshakeKind::Resumed));
}

#[test]
fn resumption_is_not_carried_across_a_rebuilt_config() {
    // A reload builds a new config with new ticket keys: the old ticket is refused and
    // the client falls back to a full handshake instead of failing.
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let client = default_client(&[&site.cert]);
    connect(
        &client,
        &server(&settings(&site.cert, &site.key)),
        "localhost",
    )
    .unwrap();
    let (again, _) = connect(
        &client,
        &server(&settings(&site.cert, &site.key)),
        "localhost",
    )
    .unwrap();
    assert_eq!(again.handshake_kind(), Some(HandshakeKind::Full));
}

#[test]
fn rfc7301_3_2_h2_is_chosen_when_offered_by_both() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let mut with_h2 = settings(&site.cert, &site.key);
    with_h2.offer_h2 = true;
    let (c, s) = connect(
        &default_client(&[&site.cert]),
        &server(&with_h2),
        "localhost",
    )
    .unwrap();
    assert_eq!(c.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(app_protocol(&s), AppProtocol::H2);
}

#[test]
fn rfc7301_client_without_alpn_gets_http11() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let no_alpn = client(
        &[&site.cert],
        rustls::ALL_VERSIONS,
        &[],
        aws_lc_rs::default_provider(),
    );
    let (c, s) = connect(&no_alpn, &server, "localhost").unwrap();
    assert_eq!(c.alpn_protocol(), None);
    assert_eq!(app_protocol(&s), AppProtocol::Http11);
}

#[test]
fn rfc7301_3_2_no_common_protocol_is_a_fatal_alert() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let h2_only = client(
        &[&site.cert],
        rustls::ALL_VERSIONS,
        &[b"h2"],
        aws_lc_rs::default_provider(),
    );
    let err = connect(&h2_only, &server, "localhost").unwrap_err();
    assert_eq!(err, rustls::Error::NoApplicationProtocol);
}

/// A client with only the given key-exchange groups, TLS 1.3 and 1.2.
fn client_with_groups(
    trusted: &Path,
    versions: &[&'static SupportedProtocolVersion],
    groups: &[&'static dyn rustls::crypto::SupportedKxGroup],
) -> Arc<ClientConfig> {
    let provider = CryptoProvider {
        kx_groups: groups.to_vec(),
        ..aws_lc_rs::default_provider()
    };
    client(&[trusted], versions, &[], provider)
}

#[test]
fn draft_ecdhe_mlkem_client_offering_only_x25519mlkem768_completes_a_full_handshake() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let pq_only = client_with_groups(
        &site.cert,
        rustls::ALL_VERSIONS,
        &[aws_lc_rs::kx_group::X25519MLKEM768],
    );
    let (c, s) = connect(&pq_only, &server, "localhost").unwrap();
    assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    // Full, not HelloRetryRequest: the server accepted the client's hybrid key share.
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    assert_eq!(
        c.negotiated_key_exchange_group().unwrap().name(),
        NamedGroup::X25519MLKEM768
    );
    assert_eq!(
        s.negotiated_key_exchange_group().unwrap().name(),
        NamedGroup::X25519MLKEM768
    );
}

#[test]
fn draft_ecdhe_mlkem_browser_offer_hybrid_first_then_x25519_gets_the_hybrid() {
    // Chrome and Firefox send X25519MLKEM768 first and X25519 second, with a key share
    // for each.
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let browser = client_with_groups(
        &site.cert,
        rustls::ALL_VERSIONS,
        &[
            aws_lc_rs::kx_group::X25519MLKEM768,
            aws_lc_rs::kx_group::X25519,
        ],
    );
    let (c, _) = connect(&browser, &server, "localhost").unwrap();
    assert_eq!(
        c.negotiated_key_exchange_group().unwrap().name(),
        NamedGroup::X25519MLKEM768
    );
}

#[test]
fn rfc7748_client_offering_only_x25519_still_gets_x25519() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let classic = client_with_groups(&site.cert, &[version], &[aws_lc_rs::kx_group::X25519]);
        let (c, _) = connect(&classic, &server, "localhost").unwrap();
        assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
        assert_eq!(
            c.negotiated_key_exchange_group().unwrap().name(),
            NamedGroup::X25519,
            "{version:?}"
        );
    }
}

#[test]
fn rfc8446_4_2_7_client_offering_only_p384_is_served() {
    let site = site("localhost", &PKCS_ECDSA_P256_SHA256);
    let server = server(&settings(&site.cert, &site.key));
    let p384_only = CryptoProvider {
        kx_groups: vec![aws_lc_rs::kx_group::SECP384R1],
        ..aws_lc_rs::default_provider()
    };
    let client = client(&[&site.cert], rustls::ALL_VERSIONS, &[], p384_only);
    let (c, _) = connect(&client, &server, "localhost").unwrap();
    assert_eq!(
        c.negotiated_key_exchange_group().unwrap().name(),
        NamedGroup::secp384r1
    );
}

#[test]
fn every_supported_key_type_completes_tls13_and_tls12_handshakes() {
    let generated = [
        site("localhost", &PKCS_ECDSA_P256_SHA256),
        site("localhost", &PKCS_ECDSA_P384_SHA384),
        site("localhost", &PKCS_ED25519),
    ];
    let mut pairs: Vec<(PathBuf, PathBuf, &str)> = generated
        .iter()
        .map(|s| (s.cert.clone(), s.key.clone(), "localhost"))
        .collect();
    let fixtures = Path::new(FIXTURES);
    pairs.push((
        fixtures.join("rsa2048.cert.pem"),
        fixtures.join("rsa2048.pkcs1.key.pem"),
        "rsa.test",
    ));
    pairs.push((
        fixtures.join("p384.cert.pem"),
        fixtures.join("p384.sec1.key.pem"),
        "p384.test",
    ));
    for (cert, key, name) in &pairs {
        let server = server(&settings(cert, key));
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let client = client(&[cert], &[version], &[], aws_lc_rs::default_provider());
            let (c, _) = connect(&client, &server, name)
                .unwrap_or_else(|e| panic!("{} over {:?}: {e}", key.display(), version.version));
            assert_eq!(c.protocol_version(), Some(version.version));
            assert_allowed_suite(&c);
        }
    }
}

#[test]
fn rfc6066_3_sni_selects_the_configured_certificate_and_falls_back() {
    let default = site("localhost,127.0.0.1", &PKCS_ECDSA_P256_SHA256);
    let exact = site("exact.test", &PKCS_ED25519);
    let wild = site("a.wild.test", &PKCS_ECDSA_P384_SHA384);
    let mut s = settings(&default.cert, &default.key);
    s.sni = vec![
        SniCert {
            name: "Exact.Test".into(),
            cert: exact.cert.clone(),
            key: exact.key.clone(),
        },
        SniCert {
            name: "*.wild.test".into(),
            cert: wild.cert.clone(),
            key: wild.key.clone(),
        },
    ];
    let server = server(&s);
    let client = default_client(&[&default.cert, &exact.cert, &wild.cert]);
    let leaf = |c: &ClientConnection| c.peer_certificates().unwrap()[0].clone();
    let pem_leaf = |p: &Path| CertificateDer::from_pem_file(p).unwrap();

    let (c, s) = connect(&client, &server, "exact.test").unwrap();
    assert_eq!(leaf(&c), pem_leaf(&exact.cert));
    assert_eq!(s.server_name(), Some("exact.test"));
    let (c, _) = connect(&client, &server, "a.wild.test").unwrap();
    assert_eq!(leaf(&c), pem_leaf(&wild.cert));
    let (c, _) = connect(&client, &server, "localhost").unwrap();
    assert_eq!(leaf(&c), pem_leaf(&default.cert));
    // An IP-address server name sends no SNI at all (RFC 6066 section 3): default.
    let (c, s) = connect(&client, &server, "127.0.0.1").unwrap();
    assert_eq!(s.server_name(), None);
    assert_eq!(leaf(&c), pem_leaf(&default.cert));
}

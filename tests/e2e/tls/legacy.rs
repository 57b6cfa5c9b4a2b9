//! TLS 1.1 and older are refused (RFC 8996). The local curl and openssl are built
//! with a security level that stops them from even sending a TLS 1.1 ClientHello, so
//! a failure there would prove nothing about the server. Instead the test writes the
//! ClientHello bytes itself (RFC 4346 section 7.4.1.2) on a raw socket and reads the
//! server's first record. A TLS 1.2 hello built by the same code must get a
//! ServerHello, which shows the probe itself is sound.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::{tcp, TlsServer};

/// TLS record content types (RFC 8446 section 5.1).
const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
/// Handshake message type of a ServerHello.
const SERVER_HELLO: u8 = 2;

fn u16be(v: usize) -> [u8; 2] {
    (v as u16).to_be_bytes()
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend_from_slice(&u16be(body.len()));
    e.extend_from_slice(body);
    e
}

/// A ClientHello record offering `version` (0x0302 = TLS 1.1, 0x0303 = TLS 1.2) and
/// the given suites, with the extensions an ECDHE + ECDSA handshake needs and no
/// `supported_versions`, so `version` is the highest the client claims.
fn client_hello(version: u16, suites: &[u16]) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend((0..32u8).map(|i| i.wrapping_mul(37).wrapping_add(11))); // random
    body.push(0); // empty legacy session id
    body.extend_from_slice(&u16be(suites.len() * 2));
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    let mut ext = Vec::new();
    // server_name (RFC 6066 section 3): host_name "localhost".
    let name = b"localhost";
    let mut sn = u16be(name.len() + 3).to_vec();
    sn.push(0);
    sn.extend_from_slice(&u16be(name.len()));
    sn.extend_from_slice(name);
    ext.extend(extension(0x0000, &sn));
    // supported_groups: x25519, secp256r1 (RFC 8422 section 5.1.1).
    ext.extend(extension(0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17]));
    // ec_point_formats: uncompressed.
    ext.extend(extension(0x000b, &[1, 0]));
    // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256,
    // rsa_pkcs1_sha256 (RFC 5246 section 7.4.1.4.1; TLS 1.1 clients omit it, which is
    // allowed, but sending it removes one reason to refuse other than the version).
    ext.extend(extension(
        0x000d,
        &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01],
    ));
    body.extend_from_slice(&u16be(ext.len()));
    body.extend(ext);

    let mut hs = vec![1u8]; // client_hello
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    // Record layer version 0x0301, as real clients send for compatibility.
    let mut rec = vec![HANDSHAKE, 0x03, 0x01];
    rec.extend_from_slice(&u16be(hs.len()));
    rec.extend(hs);
    rec
}

/// The first bytes the server sends back (16 or more, enough for a record header and
/// the start of a ServerHello), or everything it sent before closing.
fn first_reply(s: &TlsServer, hello: &[u8]) -> Vec<u8> {
    let mut sock = tcp(s.https_addr());
    sock.write_all(hello).unwrap();
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while got.len() < 16 && Instant::now() < deadline {
        match sock.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
    got
}

fn is_server_hello(reply: &[u8]) -> bool {
    reply.len() >= 6 && reply[0] == HANDSHAKE && reply[5] == SERVER_HELLO
}

#[test]
fn rfc8996_tls11_client_hello_gets_alert_not_server_hello() {
    let s = TlsServer::start("");
    // The suites a TLS 1.1 client offers: ECDHE and RSA key exchange with CBC.
    let hello = client_hello(0x0302, &[0xc009, 0xc013, 0x002f, 0x0035, 0x000a]);
    let reply = first_reply(&s, &hello);
    assert!(
        !is_server_hello(&reply),
        "server answered a TLS 1.1 ClientHello with a ServerHello: {reply:02x?}"
    );
    if !reply.is_empty() {
        // An alert record: level fatal (2). protocol_version (70) is what RFC 8446
        // section 4.2.1 prescribes; handshake_failure (40) would also be a refusal.
        assert_eq!(reply[0], ALERT, "not an alert: {reply:02x?}");
        if reply.len() >= 7 {
            assert_eq!(reply[5], 2, "alert not fatal: {reply:02x?}");
            assert!(
                matches!(reply[6], 70 | 40),
                "unexpected alert description {}: {reply:02x?}",
                reply[6]
            );
        }
    }
}

#[test]
fn rfc8996_tls10_client_hello_gets_no_server_hello() {
    let s = TlsServer::start("");
    let hello = client_hello(0x0301, &[0xc009, 0xc013, 0x002f, 0x0035, 0x000a]);
    let reply = first_reply(&s, &hello);
    assert!(
        !is_server_hello(&reply),
        "server answered a TLS 1.0 ClientHello with a ServerHello: {reply:02x?}"
    );
    assert!(reply.is_empty() || reply[0] == ALERT, "{reply:02x?}");
}

#[test]
fn control_same_probe_as_tls12_gets_server_hello() {
    let s = TlsServer::start("");
    // ECDHE-ECDSA-AES128-GCM-SHA256: the generated certificate is ECDSA P-256.
    let hello = client_hello(0x0303, &[0xc02b]);
    let reply = first_reply(&s, &hello);
    assert!(
        is_server_hello(&reply),
        "a TLS 1.2 ClientHello from the same probe got no ServerHello: {reply:02x?}"
    );
    // ServerHello.server_version sits after the 4-byte handshake header.
    if reply.len() >= 11 {
        assert_eq!(&reply[9..11], &[0x03, 0x03], "{reply:02x?}");
    }
}

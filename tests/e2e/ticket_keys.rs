//! `ssl_ticket_key_file`: two instances sharing the key file resume each other's TLS
//! sessions (RFC 8446 §4.6.1), as instances behind one balancer must; an instance
//! with its own keys does not. The client is rustls with one session store,
//! connecting directly to each instance.

use std::sync::Arc;

use rustls::HandshakeKind;

use crate::tls::{client_config, https_get, TlsServer};

fn key_file(dir: &std::path::Path) -> std::path::PathBuf {
    // Any 80 bytes will do for a test; in production `openssl rand 80`.
    let key: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    let path = dir.join("ticket.key");
    std::fs::write(&path, key).unwrap();
    path
}

#[test]
fn rfc8446_4_6_1_session_resumes_on_another_instance_with_the_shared_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = format!("ssl_ticket_key_file = {}", key_file(dir.path()).display());
    let a = TlsServer::start(&conf);
    let b = TlsServer::start(&conf);
    let cfg = Arc::new(client_config(
        &[&rustls::version::TLS13],
        &[&a.cert, &b.cert],
    ));
    let first = https_get(a.https_addr(), &cfg, "localhost", "/index.html").unwrap();
    assert_eq!(first.response.status, 200);
    assert_eq!(first.kind, Some(HandshakeKind::Full));
    let second = https_get(b.https_addr(), &cfg, "localhost", "/index.html").unwrap();
    assert_eq!(second.response.status, 200);
    assert_eq!(
        second.kind,
        Some(HandshakeKind::Resumed),
        "not resumed on the other instance"
    );

    // Control: an instance with its own random keys cannot open the ticket.
    let c = TlsServer::start("");
    let cfg = Arc::new(client_config(
        &[&rustls::version::TLS13],
        &[&a.cert, &c.cert],
    ));
    https_get(a.https_addr(), &cfg, "localhost", "/index.html").unwrap();
    let other = https_get(c.https_addr(), &cfg, "localhost", "/index.html").unwrap();
    assert_eq!(other.kind, Some(HandshakeKind::Full));
}

#[test]
fn ssl_ticket_key_file_of_the_wrong_size_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.key");
    std::fs::write(&path, [0x41u8; 48]).unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = crate::tls::gen_cert(certs.path(), &[]);
    let conf = dir.path().join("carbon.conf");
    std::fs::write(
        &conf,
        format!(
            "port = 0\nuse_https = true\nhttps_port = 0\nallow_root = true\nssl_cert_path = {}\n\
             ssl_key_path = {}\nssl_ticket_key_file = {}\nwww_path = {}\n",
            cert.display(),
            key.display(),
            path.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let (status, out) = crate::harness::run_carbond(
        &["--config", conf.to_str().unwrap()],
        std::time::Duration::from_secs(10),
    );
    assert!(
        status.is_some_and(|s| !s.success()),
        "started anyway ({status:?}):\n{out}"
    );
    assert!(
        out.contains("short.key") && out.contains("80-byte"),
        "{out}"
    );
    assert!(!out.contains("AAAA"), "key bytes echoed:\n{out}");
}

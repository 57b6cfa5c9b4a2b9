//! HTTPS end to end: a real carbond with `use_https = true`, driven by an independent
//! TLS stack (a rustls client built here, not the server's policy), raw sockets and
//! curl. Certificates come from the daemon itself (`carbond --gen-self-signed`), so
//! the test trusts exactly the file the server loads.
//!
//! The harness only reads the `listening on http://` line; [`TlsServer`] finds the
//! `https://` line in the daemon's captured output.

mod close;
mod curl;
mod handshake;
mod http;
mod legacy;
mod load;
mod sni;
mod startup;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CipherSuite, ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, NamedGroup,
    ProtocolVersion, RootCertStore, SignatureScheme, SupportedProtocolVersion,
};

use crate::harness::{parse_first, run_carbond, Response, Server, READ_TIMEOUT};

/// Writes a self-signed pair into `dir` with the daemon's own generator. The pair
/// names localhost, 127.0.0.1 and ::1 plus `extra_names`.
pub fn gen_cert(dir: &Path, extra_names: &[&str]) -> (PathBuf, PathBuf) {
    let mut args = vec!["--gen-self-signed", dir.to_str().unwrap()];
    args.extend_from_slice(extra_names);
    let (status, out) = run_carbond(&args, Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "carbond --gen-self-signed failed ({status:?}):\n{out}"
    );
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// The DER of the first certificate in a PEM file.
pub fn cert_der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .next()
        .unwrap_or_else(|| panic!("no certificate in {}", path.display()))
        .unwrap()
}

/// A carbond serving HTTP and HTTPS, with the default certificate it was given.
pub struct TlsServer {
    pub server: Server,
    pub https_port: u16,
    pub cert: PathBuf,
    /// Holds the certificate files for the daemon's lifetime.
    pub _certs: tempfile::TempDir,
}

impl TlsServer {
    /// Starts carbond with a fresh self-signed default certificate, TLS on an
    /// ephemeral port, and `extra` config lines (`{certs}` expands to the directory of
    /// the certificate files, so callers can put more pairs there first).
    pub fn start(extra: &str) -> TlsServer {
        Self::start_with(extra, |_| {})
    }

    /// Like [`TlsServer::start`]; `prepare` runs on the certificate directory before
    /// the daemon starts (to generate SNI pairs).
    pub fn start_with(extra: &str, prepare: impl FnOnce(&Path)) -> TlsServer {
        let certs = tempfile::Builder::new()
            .prefix("carbond-e2e-tls-")
            .tempdir()
            .unwrap();
        let default_dir = certs.path().join("default");
        let (cert, key) = gen_cert(&default_dir, &[]);
        prepare(certs.path());
        let extra = extra.replace("{certs}", &certs.path().display().to_string());
        // Keys are unique in a config file: a test's own `https_port` replaces ours.
        let port_line = if extra
            .lines()
            .any(|l| l.trim_start().starts_with("https_port"))
        {
            ""
        } else {
            "https_port = 0\n"
        };
        let config = format!(
            "use_https = true\n{port_line}ssl_cert_path = {}\nssl_key_path = {}\n{extra}",
            cert.display(),
            key.display()
        );
        let server = Server::start(&config);
        let https_port = wait_https_port(&server);
        TlsServer {
            server,
            https_port,
            cert,
            _certs: certs,
        }
    }

    pub fn https_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.https_port))
    }

    /// A client config trusting exactly the default certificate.
    pub fn client(&self, versions: &[&'static SupportedProtocolVersion]) -> ClientConfig {
        client_config(versions, &[&self.cert])
    }

    /// `GET path` over HTTPS with the given client config and SNI name.
    pub fn get(&self, cfg: &Arc<ClientConfig>, name: &str, path: &str) -> TlsExchange {
        https_get(self.https_addr(), cfg, name, path)
            .unwrap_or_else(|e| panic!("HTTPS GET {path} as {name}: {e}"))
    }
}

/// Reads the `listening on https://ADDR` line the daemon printed beside the http one.
fn wait_https_port(server: &Server) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = server.output();
        let port = out
            .lines()
            .find_map(|l| l.split("listening on https://").nth(1))
            .and_then(|addr| addr.trim().rsplit(':').next())
            .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok());
        if let Some(p) = port.filter(|p| *p != 0) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "carbond printed no `listening on https://` line:\n{out}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A rustls client config on ring with the given versions, trusting `roots` only.
pub fn client_config(
    versions: &[&'static SupportedProtocolVersion],
    roots: &[&Path],
) -> ClientConfig {
    let mut store = RootCertStore::empty();
    for r in roots {
        store.add(cert_der(r)).unwrap();
    }
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth()
}

/// What one HTTPS exchange negotiated, and the response.
#[derive(Debug)]
pub struct TlsExchange {
    pub version: Option<ProtocolVersion>,
    pub suite: Option<CipherSuite>,
    pub group: Option<NamedGroup>,
    pub alpn: Option<Vec<u8>>,
    pub kind: Option<HandshakeKind>,
    pub peer_cert: Option<CertificateDer<'static>>,
    pub response: Response,
}

/// A TCP connection to `addr` with read and write timeouts.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    sock.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    sock.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    sock.set_nodelay(true).unwrap();
    sock
}

/// Connects and completes the TLS handshake (bounded by the socket timeouts).
pub fn handshake(
    addr: SocketAddr,
    cfg: &Arc<ClientConfig>,
    name: &str,
) -> Result<rustls::StreamOwned<ClientConnection, TcpStream>, String> {
    let server_name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut conn = ClientConnection::new(cfg.clone(), server_name).map_err(|e| e.to_string())?;
    let mut sock = tcp(addr);
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    Ok(rustls::StreamOwned::new(conn, sock))
}

/// Sends `GET path` with `Connection: close` and reads the response to the end.
pub fn https_get(
    addr: SocketAddr,
    cfg: &Arc<ClientConfig>,
    name: &str,
    path: &str,
) -> Result<TlsExchange, String> {
    let mut tls = handshake(addr, cfg, name)?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let bytes = read_to_close(&mut tls)?;
    let c = &tls.conn;
    Ok(TlsExchange {
        version: c.protocol_version(),
        suite: c.negotiated_cipher_suite().map(|s| s.suite()),
        group: c.negotiated_key_exchange_group().map(|g| g.name()),
        alpn: c.alpn_protocol().map(<[u8]>::to_vec),
        kind: c.handshake_kind(),
        peer_cert: c
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|c| c.clone().into_owned()),
        response: parse_first(&bytes),
    })
}

/// Reads until the server closes. A close without `close_notify` still ends the
/// stream (the response carries its own length); any other error fails.
pub fn read_to_close(r: &mut impl Read) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match r.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(out),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read after {} bytes: {e}", out.len())),
        }
    }
}

/// A verifier that accepts any certificate but records the leaf it was shown, for
/// server names no certificate covers. Signatures are still checked, so the server
/// must own the key of the certificate it sent.
#[derive(Debug)]
pub struct RecordingVerifier {
    pub seen: Mutex<Vec<CertificateDer<'static>>>,
    provider: rustls::crypto::CryptoProvider,
}

impl RecordingVerifier {
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingVerifier {
            seen: Mutex::new(Vec::new()),
            provider: rustls::crypto::ring::default_provider(),
        })
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.seen
            .lock()
            .unwrap()
            .push(end_entity.clone().into_owned());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

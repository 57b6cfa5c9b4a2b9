//! Server-side cost of one full TLS 1.3 handshake with Carbon's policy, per key-exchange
//! group the client offers: X25519 (what wrk and OpenSSL 3.0 send) against the hybrid
//! X25519MLKEM768 (what Chrome and Firefox send). In process, no sockets: the figure is
//! the server's own work, which bench/run.sh cannot isolate for a group OpenSSL 3.0
//! does not offer.
//!
//!   cargo run --release -p carbon-core --example tls_handshake_cpu [HANDSHAKES]
//!
//! Prints the median and the 10th percentile of the server's time per handshake (the
//! time spent in the server's rustls calls, measured with `Instant`; the median and
//! low percentile resist preemption on a busy machine). The variants are interleaved
//! so that a change in machine load affects both alike.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use carbon_core::tls::{generate_self_signed, TlsSettings};
use rustls::crypto::{aws_lc_rs, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2000,
    };
    let dir = tempfile::tempdir()?;
    let (cert, key) = generate_self_signed(dir.path(), &[])?;
    let server = TlsSettings {
        cert: cert.clone(),
        key,
        sni: Vec::new(),
        offer_h2: false,
        session_cache_entries: 16,
        ticket_key_file: None,
    }
    .build(SystemTime::now())?
    .config;
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(&cert)?)?;

    let variants: [(&str, &'static dyn SupportedKxGroup); 2] = [
        ("X25519", aws_lc_rs::kx_group::X25519),
        ("X25519MLKEM768", aws_lc_rs::kx_group::X25519MLKEM768),
    ];
    let clients: Vec<Arc<ClientConfig>> = variants
        .iter()
        .map(|(_, group)| {
            let provider = CryptoProvider {
                kx_groups: vec![*group],
                ..aws_lc_rs::default_provider()
            };
            let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
                .with_protocol_versions(&[&rustls::version::TLS13])?
                .with_root_certificates(roots.clone())
                .with_no_client_auth();
            // Every handshake full: no ticket kept, none offered.
            config.resumption = rustls::client::Resumption::disabled();
            Ok(Arc::new(config))
        })
        .collect::<Result<_, rustls::Error>>()?;

    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); variants.len()];
    for _ in 0..rounds {
        for (i, client) in clients.iter().enumerate() {
            samples[i].push(handshake(client, &server)?);
        }
    }
    println!("{rounds} full TLS 1.3 handshakes per group, server time per handshake:");
    for ((name, _), times) in variants.iter().zip(&mut samples) {
        times.sort();
        let at = |q: usize| times[(times.len() - 1) * q / 100].as_secs_f64() * 1e6;
        println!(
            "  {name:<16} median {:7.1} us   p10 {:7.1} us",
            at(50),
            at(10)
        );
    }
    Ok(())
}

/// One handshake through memory, returning the time spent in the server's calls.
fn handshake(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut c = ClientConnection::new(client.clone(), ServerName::try_from("localhost")?)?;
    let mut server_time = Duration::ZERO;
    let t = Instant::now();
    let mut s = ServerConnection::new(server.clone())?;
    server_time += t.elapsed();
    let mut wire = Vec::new();
    for _ in 0..10 {
        if !c.is_handshaking() && !s.is_handshaking() {
            break;
        }
        wire.clear();
        while c.wants_write() {
            c.write_tls(&mut wire)?;
        }
        let t = Instant::now();
        let mut input = &wire[..];
        while !input.is_empty() {
            s.read_tls(&mut input)?;
            s.process_new_packets()?;
        }
        wire.clear();
        while s.wants_write() {
            s.write_tls(&mut wire)?;
        }
        server_time += t.elapsed();
        let mut input = &wire[..];
        while !input.is_empty() {
            c.read_tls(&mut input)?;
            c.process_new_packets()?;
        }
    }
    if c.is_handshaking() || s.is_handshaking() {
        return Err("handshake did not complete".into());
    }
    // Drain what the server sent after the handshake (tickets), as a client would.
    let mut sink = Vec::new();
    let _ = c.reader().read_to_end(&mut sink);
    Ok(server_time)
}

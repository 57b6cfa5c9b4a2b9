//! The TLS driver under pressure: stalled handshakes, many concurrent handshakes and a
//! large file through the `pread` path.

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use rustls::version::{TLS12, TLS13};

use super::{handshake, read_to_close, TlsServer};
use crate::harness::{big_bin, parse_all, parse_first, style_css, CloseOutcome, Conn, INDEX_HTML};

#[test]
fn tls_handshake_timeout_closes_stalled_clients_without_blocking_others() {
    // 3 s rather than 1 s, so a loaded machine has ample time for the HTTPS request
    // beside the stalled ones, while a server blocked by them still takes about 3 s
    // for it; and 3 s is far enough from the 10 s default to tell the two apart.
    let s = TlsServer::start("tls_handshake_timeout = 3");
    let silent_since = Instant::now();
    let mut silent = Conn::connect(s.https_addr());
    let half_since = Instant::now();
    let mut half = Conn::connect(s.https_addr());
    // A handshake record header announcing 512 bytes, then only the first few: the
    // server must wait for more and must not wait forever.
    half.send(&[22, 3, 1, 0x02, 0x00, 1, 0x00, 0x01, 0xfc, 3, 3]);

    // Meanwhile a complete HTTPS exchange goes through at once.
    let cfg = Arc::new(s.client(&[&TLS13]));
    let t = Instant::now();
    let x = s.get(&cfg, "localhost", "/");
    assert_eq!(x.response.status, 200);
    assert_eq!(x.response.body_str(), INDEX_HTML);
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "HTTPS request beside stalled handshakes took {:?}",
        t.elapsed()
    );

    for (what, conn, since) in [
        ("silent client", &mut silent, silent_since),
        ("half ClientHello", &mut half, half_since),
    ] {
        let outcome = conn.wait_closed(Duration::from_secs(12));
        let took = since.elapsed();
        assert_eq!(
            outcome,
            CloseOutcome::Closed,
            "{what} still open after {took:?}"
        );
        assert!(
            took >= Duration::from_millis(2400) && took < Duration::from_secs(8),
            "{what} closed after {took:?}, want about 3 s"
        );
        // No ServerHello was ever completed, so nothing but possibly an alert came back.
        assert!(
            conn.pending().is_empty() || conn.pending()[0] == 21,
            "{what} got {:02x?}",
            conn.pending()
        );
    }
}

#[test]
fn two_hundred_concurrent_tls_connections_each_fetch_a_file() {
    const N: usize = 200;
    let s = TlsServer::start("max_threads = 2");
    let mut cfg = s.client(&[&TLS13, &TLS12]);
    // Every connection does a full handshake (certificate and signature), the
    // expensive case.
    cfg.resumption = rustls::client::Resumption::disabled();
    let cfg = Arc::new(cfg);
    let addr = s.https_addr();
    // All connections are handshaken and open at the same time before any request.
    let barrier = Barrier::new(N);
    let want = style_css().as_bytes();
    let results: Vec<Result<(), String>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let cfg = &cfg;
                let barrier = &barrier;
                scope.spawn(move || {
                    // Never return before the barrier: the others would wait forever.
                    let conn = handshake(addr, cfg, "localhost");
                    barrier.wait();
                    let mut tls = conn.map_err(|e| format!("#{i}: {e}"))?;
                    tls.write_all(
                        b"GET /style.css HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    )
                    .map_err(|e| format!("#{i} write: {e}"))?;
                    let bytes = read_to_close(&mut tls).map_err(|e| format!("#{i}: {e}"))?;
                    let r = parse_first(&bytes);
                    if r.status != 200 || r.body != want {
                        return Err(format!(
                            "#{i}: status {} body {} bytes (want {})",
                            r.status,
                            r.body.len(),
                            want.len()
                        ));
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {N} failed: {failures:?}",
        failures.len()
    );
}

#[test]
fn one_mib_file_over_tls_is_byte_exact() {
    let s = TlsServer::start("");
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        let cfg = Arc::new(s.client(versions));
        let x = s.get(&cfg, "localhost", "/big.bin");
        assert_eq!(x.response.status, 200);
        assert_eq!(
            x.response.header("content-length"),
            Some(big_bin().len().to_string().as_str())
        );
        assert_eq!(x.response.body.len(), big_bin().len(), "{:?}", x.version);
        assert!(
            x.response.body == big_bin(),
            "body differs ({:?})",
            x.version
        );
    }
}

#[test]
fn rfc9112_9_3_keep_alive_after_large_file_over_tls() {
    // The second response must start exactly where the file ended: the pread path
    // may neither drop nor repeat a byte of the first.
    let s = TlsServer::start("");
    let cfg = Arc::new(s.client(&[&TLS13]));
    let mut tls = handshake(s.https_addr(), &cfg, "localhost").unwrap();
    tls.write_all(
        b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n\
          GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let bytes = read_to_close(&mut tls).unwrap();
    let all = parse_all(&bytes);
    assert_eq!(all.len(), 2, "{} bytes read", bytes.len());
    assert_eq!(all[0].status, 200);
    assert!(all[0].body == big_bin(), "big.bin differs");
    assert_eq!(all[1].status, 200);
    assert_eq!(all[1].body_str(), INDEX_HTML);
}

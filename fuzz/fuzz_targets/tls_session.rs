//! The server side of a TLS connection (`tls::TlsSession`, rustls's unbuffered API) on
//! arbitrary bytes from the client, driven the way the driver drives it: no panic
//! (rustls's debug assertions included), errors stay errors, the input bound holds.
//!
//! Input layout: the first byte chooses the read size (1 to 256 bytes); the rest is
//! what the client sends. The seeds are real ClientHellos, so mutations reach the
//! handshake's parser rather than stopping at the record header.
#![no_main]

use std::io::Read;
use std::sync::OnceLock;
use std::time::SystemTime;

use carbon_core::tls::{generate_self_signed, ServerTls, TlsSession, TlsSettings};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static ServerTls {
    static CONFIG: OnceLock<ServerTls> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = generate_self_signed(dir.path(), &[]).unwrap();
        let settings = TlsSettings {
            cert,
            key,
            sni: Vec::new(),
            offer_h2: false,
            session_cache_entries: 16,
            ticket_key_file: None,
        };
        settings.build(SystemTime::now()).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let piece = 1 + first as usize;
    let mut s = TlsSession::new(config().config.clone()).unwrap();
    let mut sink = Vec::new();
    let mut plain = [0u8; 512];
    for mut part in input.chunks(piece) {
        if s.read_tls(&mut part).is_err() {
            return;
        }
        let failed = s.process_new_packets().is_err();
        while let Ok(n) = s.reader().read(&mut plain) {
            if n == 0 {
                break;
            }
        }
        if !failed && !s.is_handshaking() {
            let _ = std::io::Write::write(&mut s.writer(), b"HTTP/1.1 200 OK\r\n\r\n");
        }
        while s.wants_write() {
            sink.clear();
            s.write_tls(&mut sink).unwrap();
        }
        if failed {
            assert!(s.process_new_packets().is_err(), "error not sticky");
            return;
        }
    }
    s.send_close_notify();
    s.release_idle_buffers();
});

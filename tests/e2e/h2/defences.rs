//! Each HTTP/2 defence closes the abuser with the error code docs/http2.md names,
//! while another connection, opened before the abuse, keeps being served.
//! The abusers are raw frame writers: no client library sends these sequences.

use std::time::Duration;

use super::{code, connect_h2c, fetch, frame, get_block, h2c_authority, kind, rt, start, Raw};
use crate::harness::INDEX_HTML;
use crate::tls::TlsServer;

const LIMIT: Duration = Duration::from_secs(10);

/// Runs `abuse` on a raw h2c connection and expects GOAWAY with `want`, then the
/// close; a bystander h2c connection opened before is still served afterwards.
fn assert_cut_off(s: &TlsServer, want: u32, abuse: impl FnOnce(&mut Raw)) {
    let runtime = rt();
    let mut bystander = runtime.block_on(connect_h2c(s.server.addr(), Default::default()));
    let mut raw = Raw::connect(s.server.addr());
    abuse(&mut raw);
    let goaway = raw
        .until_goaway(LIMIT)
        .expect("no GOAWAY: the abuser was not cut off");
    assert_eq!(
        goaway.error_code(),
        want,
        "GOAWAY code (debug data: {:?})",
        String::from_utf8_lossy(&goaway.payload[8..])
    );
    assert!(
        raw.closed_within(LIMIT),
        "connection not closed after GOAWAY"
    );
    let r = runtime.block_on(fetch(
        &mut bystander,
        "GET",
        &h2c_authority(&s.server),
        "/",
        &[],
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_HTML.as_bytes());
    // A new connection is served too.
    let h1 = s.server.get("/", "");
    assert_eq!(h1.status, 200);
}

#[test]
fn cve_2023_44487_rapid_reset_gets_goaway_enhance_your_calm() {
    let s = start("");
    assert_cut_off(&s, code::ENHANCE_YOUR_CALM, |raw| {
        let block = get_block("/big.bin");
        for i in 0..400u32 {
            let id = 1 + 2 * i;
            let mut batch = frame(kind::HEADERS, 0x4 | 0x1, id, &block);
            batch.extend(frame(kind::RST_STREAM, 0, id, &0x8u32.to_be_bytes()));
            if !raw.send_lossy(&batch) {
                break;
            }
        }
    });
}

#[test]
fn cve_2025_8671_made_you_reset_zero_window_updates_get_enhance_your_calm() {
    let s = start("");
    assert_cut_off(&s, code::ENHANCE_YOUR_CALM, |raw| {
        let block = get_block("/big.bin");
        for i in 0..400u32 {
            let id = 1 + 2 * i;
            // An open stream, then a WINDOW_UPDATE of 0 on it: a stream error the
            // server must answer with RST_STREAM (RFC 9113 §6.9), provoked by us.
            let mut batch = frame(kind::HEADERS, 0x4 | 0x1, id, &block);
            batch.extend(frame(kind::WINDOW_UPDATE, 0, id, &0u32.to_be_bytes()));
            if !raw.send_lossy(&batch) {
                break;
            }
        }
    });
}

#[test]
fn cve_2024_27316_continuation_flood_gets_enhance_your_calm() {
    let s = start("");
    assert_cut_off(&s, code::ENHANCE_YOUR_CALM, |raw| {
        let mut block = get_block("/");
        block.truncate(10);
        raw.send(&frame(kind::HEADERS, 0x1, 1, &block));
        let filler = vec![0x40u8; 0]; // empty CONTINUATIONs: the cheapest flood
        for _ in 0..1000 {
            if !raw.send_lossy(&frame(kind::CONTINUATION, 0, 1, &filler)) {
                break;
            }
        }
    });
}

#[test]
fn cve_2019_9512_ping_flood_gets_enhance_your_calm() {
    let s = start("");
    assert_cut_off(&s, code::ENHANCE_YOUR_CALM, |raw| {
        let mut batch = Vec::new();
        for i in 0..300u64 {
            batch.extend(frame(kind::PING, 0, 0, &i.to_be_bytes()));
        }
        raw.send_lossy(&batch);
    });
}

#[test]
fn cve_2019_9515_settings_flood_gets_enhance_your_calm() {
    let s = start("");
    assert_cut_off(&s, code::ENHANCE_YOUR_CALM, |raw| {
        let mut batch = Vec::new();
        for _ in 0..300 {
            batch.extend(frame(kind::SETTINGS, 0, 0, &[]));
        }
        raw.send_lossy(&batch);
    });
}

#[test]
fn rfc9113_6_9_zero_window_update_on_the_connection_gets_protocol_error() {
    let s = start("");
    assert_cut_off(&s, code::PROTOCOL_ERROR, |raw| {
        raw.send(&frame(kind::WINDOW_UPDATE, 0, 0, &0u32.to_be_bytes()));
    });
}

/// HPACK bomb: one 4,000-byte entry in the dynamic table, then a block referencing it
/// 2,000 times (2 KB on the wire, 8 MB decoded). The decoder stops at
/// SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB) and the stream gets 431; the connection
/// (and its HPACK state) stays usable.
#[test]
fn rfc7541_hpack_bomb_is_answered_431_and_the_connection_survives() {
    let s = start("");
    let mut raw = Raw::connect(s.server.addr());
    let mut block = get_block("/");
    // Literal with incremental indexing, new name (RFC 7541 §6.2.1), value length
    // 4000 as a 7-bit prefix integer (§5.1).
    block.push(0x40);
    block.push(1);
    block.push(b'x');
    let len = 4000u32;
    block.push(0x7f);
    let mut rest = len - 127;
    while rest >= 128 {
        block.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    block.push(rest as u8);
    block.extend(std::iter::repeat_n(b'a', len as usize));
    // Indexed field 62: the newest dynamic entry (§2.3.3), 2,000 times.
    block.extend(std::iter::repeat_n(0x80 | 62, 2000));
    // Over several frames: HEADERS then CONTINUATION, within 16 KiB frames.
    let (first, second) = block.split_at(block.len() / 2);
    raw.send(&frame(kind::HEADERS, 0x1, 1, first));
    raw.send(&frame(kind::CONTINUATION, 0x4, 1, second));
    let mut status_data = Vec::new();
    let mut saw_headers = false;
    loop {
        let f = raw.next().expect("connection ended before the 431 arrived");
        assert_ne!(f.kind, kind::GOAWAY, "bomb escalated to GOAWAY: {f:?}");
        if f.stream == 1 && f.kind == kind::HEADERS {
            saw_headers = true;
        }
        if f.stream == 1 && f.kind == kind::DATA {
            status_data.extend_from_slice(&f.payload);
        }
        if f.stream == 1 && f.flags & 0x1 != 0 {
            break;
        }
    }
    assert!(saw_headers);
    let text = String::from_utf8_lossy(&status_data);
    assert!(text.contains("431"), "error page: {text}");
    // The dynamic table is still in sync: a plain request on the same connection.
    raw.send(&frame(kind::HEADERS, 0x5, 3, &get_block("/")));
    let mut body = Vec::new();
    loop {
        let f = raw.next().expect("no answer on stream 3");
        assert_ne!(f.kind, kind::GOAWAY, "{f:?}");
        if f.stream == 3 && f.kind == kind::DATA {
            body.extend_from_slice(&f.payload);
            if f.flags & 0x1 != 0 {
                break;
            }
        }
    }
    assert_eq!(body, INDEX_HTML.as_bytes());
}

#[test]
fn rfc9113_3_4_bad_preface_over_tls_gets_goaway_protocol_error() {
    let s = start("");
    let mut cfg = crate::tls::client_config(&[&rustls::version::TLS13], &[&s.cert]);
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let mut tls =
        crate::tls::handshake(s.https_addr(), &std::sync::Arc::new(cfg), "localhost").unwrap();
    use std::io::Write;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    tls.flush().unwrap();
    let bytes = crate::tls::read_to_close(&mut tls).unwrap();
    // Frames: the server's SETTINGS (and WINDOW_UPDATE), then GOAWAY.
    let mut at = 0;
    let mut goaway = None;
    while at + 9 <= bytes.len() {
        let len = (usize::from(bytes[at]) << 16)
            | (usize::from(bytes[at + 1]) << 8)
            | usize::from(bytes[at + 2]);
        if bytes[at + 3] == kind::GOAWAY {
            goaway = Some(u32::from_be_bytes(
                bytes[at + 13..at + 17].try_into().unwrap(),
            ));
        }
        at += 9 + len;
    }
    assert_eq!(goaway, Some(code::PROTOCOL_ERROR), "{bytes:?}");
    let _ = code::NO_ERROR;
}

/// `http2_max_concurrent_streams` reaches the engine: with 2, a third stream opened
/// while two wait for their bodies is refused (RFC 9113 §5.1.2), and the connection
/// lives on.
#[test]
fn rfc9113_5_1_2_streams_over_the_configured_limit_get_refused_stream() {
    let s = start("http2_max_concurrent_streams = 2");
    let mut raw = Raw::connect(s.server.addr());
    let block = get_block("/");
    // No END_STREAM: the three streams stay open (waiting for a request body).
    for id in [1u32, 3, 5] {
        raw.send(&frame(kind::HEADERS, 0x4, id, &block));
    }
    loop {
        let f = raw.next().expect("no RST_STREAM for the third stream");
        assert_ne!(f.kind, kind::GOAWAY, "{f:?}");
        if f.kind == kind::RST_STREAM {
            assert_eq!(f.stream, 5, "{f:?}");
            assert_eq!(f.error_code(), 0x7, "REFUSED_STREAM expected: {f:?}");
            break;
        }
    }
    // The first stream still completes once its (empty) body ends.
    raw.send(&frame(kind::DATA, 0x1, 1, &[]));
    let mut body = Vec::new();
    loop {
        let f = raw.next().expect("stream 1 not answered");
        if f.stream == 1 && f.kind == kind::DATA {
            body.extend_from_slice(&f.payload);
            if f.flags & 0x1 != 0 {
                break;
            }
        }
    }
    assert_eq!(body, INDEX_HTML.as_bytes());
}

/// The statistics count what the defences did: after a PING flood cut off by
/// GOAWAY(ENHANCE_YOUR_CALM) and a stream refused over the limit, the Prometheus text
/// at `metrics_path` shows both, and the HTTP/2 connections.
#[test]
fn statistics_count_goaway_by_code_and_refused_streams() {
    let s = start("metrics_path = /metrics\nhttp2_max_concurrent_streams = 1");
    let mut raw = Raw::connect(s.server.addr());
    let block = get_block("/");
    raw.send(&frame(kind::HEADERS, 0x4, 1, &block));
    raw.send(&frame(kind::HEADERS, 0x4, 3, &block));
    let mut batch = Vec::new();
    for i in 0..300u64 {
        batch.extend(frame(kind::PING, 0, 0, &i.to_be_bytes()));
    }
    raw.send_lossy(&batch);
    let goaway = raw.until_goaway(LIMIT).expect("no GOAWAY");
    assert_eq!(goaway.error_code(), code::ENHANCE_YOUR_CALM);
    assert!(raw.closed_within(LIMIT));
    // The connection's counters are added when the server closes its socket: after
    // an error GOAWAY it lingers (drains our input) until we close ours.
    drop(raw);
    let deadline = std::time::Instant::now() + LIMIT;
    let body = loop {
        let body = String::from_utf8(s.server.get("/metrics", "").body).unwrap();
        if body.contains("carbon_http2_streams_total{outcome=\"opened\"} 1\n")
            || std::time::Instant::now() > deadline
        {
            break body;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for want in [
        "carbon_http2_connections_total 1\n",
        "carbon_http2_streams_total{outcome=\"opened\"} 1\n",
        "carbon_http2_streams_total{outcome=\"refused\"} 1\n",
        "carbon_http2_goaway_sent_total{code=\"ENHANCE_YOUR_CALM\"} 1\n",
        "carbon_http2_goaway_sent_total{code=\"NO_ERROR\"} 0\n",
    ] {
        assert!(body.contains(want), "{want} not in:\n{body}");
    }
}

//! Engine tests: a client writes masked frames, the virtual clock is passed in, and
//! the server's output is parsed back into frames.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::close::CloseCode;
use super::conn::{Message, SendError, WsConn, WsEvent};
use super::deflate::{negotiate, DeflateCodec};
use super::frame::apply_mask;
use super::message::MessageKind;
use crate::limits::WsLimits;
use crate::proto::out::Chunk;

const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// A client frame: masked, with the length in the shortest form unless `len_form`
/// forces 126 or 127.
pub(super) fn client_frame(b0: u8, payload: &[u8], len_form: Option<u8>) -> Vec<u8> {
    let mut f = vec![b0];
    let len = payload.len() as u64;
    match len_form {
        Some(126) => f.push(0x80 | 126),
        Some(127) => f.push(0x80 | 127),
        _ if len < 126 => f.push(0x80 | len as u8),
        _ if len <= 0xffff => f.push(0x80 | 126),
        _ => f.push(0x80 | 127),
    }
    match f[1] & 0x7f {
        126 => f.extend_from_slice(&(len as u16).to_be_bytes()),
        127 => f.extend_from_slice(&len.to_be_bytes()),
        _ => {}
    }
    f.extend_from_slice(&KEY);
    let at = f.len();
    f.extend_from_slice(payload);
    apply_mask(KEY, 0, &mut f[at..]);
    f
}

fn text(p: &[u8]) -> Vec<u8> {
    client_frame(0x81, p, None)
}

fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    client_frame(0x88, &p, None)
}

/// A server frame parsed from the output: (first byte, payload).
type Out = (u8, Vec<u8>);

fn drain(c: &mut WsConn) -> Vec<Out> {
    let mut wire = Vec::new();
    let q = c.out();
    while let Some(ch) = q.front().cloned() {
        if let Chunk::Bytes(b) = &ch {
            wire.extend_from_slice(b);
        }
        q.advance(ch.len());
    }
    let mut frames = Vec::new();
    let mut i = 0;
    while i < wire.len() {
        let b0 = wire[i];
        let b1 = wire[i + 1];
        assert_eq!(
            b1 & 0x80,
            0,
            "RFC 6455 §5.1: server frames are never masked"
        );
        let (len, hl) = match b1 & 0x7f {
            126 => (u16::from_be_bytes([wire[i + 2], wire[i + 3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(wire[i + 2..i + 10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        frames.push((b0, wire[i + hl..i + hl + len].to_vec()));
        i += hl + len;
    }
    frames
}

fn events(c: &mut WsConn) -> Vec<WsEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn conn() -> (WsConn, Instant) {
    let now = Instant::now();
    (WsConn::new(WsLimits::default(), None, now), now)
}

fn close_code(frames: &[Out]) -> Option<u16> {
    frames
        .iter()
        .find(|(b0, _)| b0 & 0x0f == 8)
        .map(|(_, p)| u16::from_be_bytes([p[0], p[1]]))
}

/// Feeds `wire` in one piece; returns the close code the server sent, if any.
fn fails_with(wire: &[u8]) -> Option<u16> {
    let (mut c, now) = conn();
    c.handle_input(now, wire);
    let code = close_code(&drain(&mut c));
    if code.is_some() {
        assert!(c.is_closed());
    }
    code
}

#[test]
fn rfc6455_5_2_frame_fed_byte_by_byte_with_each_length_form() {
    for len in [0usize, 1, 125, 126, 65535, 65536] {
        let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let wire = text(&payload);
        let (mut c, now) = conn();
        for b in &wire {
            c.handle_input(now, std::slice::from_ref(b));
        }
        let ev = events(&mut c);
        assert_eq!(
            ev,
            vec![WsEvent::Message(Message::Text(
                String::from_utf8(payload).unwrap()
            ))],
            "len {len}"
        );
        assert!(!c.is_closed());
    }
}

#[test]
fn rfc6455_5_2_non_minimal_lengths_are_protocol_errors() {
    assert_eq!(
        fails_with(&client_frame(0x82, &[1; 10], Some(126))),
        Some(1002)
    );
    assert_eq!(
        fails_with(&client_frame(0x82, &[1; 300], Some(127))),
        Some(1002)
    );
    // 126 itself in the 16-bit form is minimal.
    assert_eq!(fails_with(&client_frame(0x82, &[1; 126], Some(126))), None);
}

#[test]
fn rfc6455_5_2_64_bit_length_with_msb_set_is_protocol_error() {
    let mut f = vec![0x82, 0x80 | 127];
    f.extend_from_slice(&(1u64 << 63 | 70_000).to_be_bytes());
    f.extend_from_slice(&KEY);
    assert_eq!(fails_with(&f), Some(1002));
}

#[test]
fn rfc6455_5_1_unmasked_client_frame_is_protocol_error() {
    assert_eq!(fails_with(&[0x81, 0x02, b'h', b'i']), Some(1002));
}

#[test]
fn rfc6455_5_2_rsv_bits_without_extension_are_protocol_errors() {
    for b0 in [0xC1, 0xA1, 0x91] {
        assert_eq!(
            fails_with(&client_frame(b0, b"x", None)),
            Some(1002),
            "{b0:x}"
        );
    }
}

#[test]
fn rfc6455_5_2_reserved_opcodes_are_protocol_errors() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_eq!(
            fails_with(&client_frame(0x80 | op, b"", None)),
            Some(1002),
            "{op}"
        );
    }
}

#[test]
fn rfc6455_5_5_control_frames_over_125_bytes_or_fragmented_are_protocol_errors() {
    assert_eq!(fails_with(&client_frame(0x89, &[0; 126], None)), Some(1002));
    assert_eq!(fails_with(&client_frame(0x09, b"x", None)), Some(1002));
    assert_eq!(fails_with(&client_frame(0x89, &[0; 125], None)), None);
}

#[test]
fn rfc6455_5_4_ping_between_fragments_answered_at_once() {
    let (mut c, now) = conn();
    c.handle_input(now, &client_frame(0x01, b"Hello, ", None));
    c.handle_input(now, &client_frame(0x89, b"p", None));
    // The Pong is out before the message is complete.
    assert_eq!(drain(&mut c), vec![(0x8A, b"p".to_vec())]);
    c.handle_input(now, &client_frame(0x80, b"World", None));
    let ev = events(&mut c);
    assert_eq!(ev[0], WsEvent::Ping(Bytes::from_static(b"p")));
    assert_eq!(
        ev[1],
        WsEvent::Message(Message::Text("Hello, World".into()))
    );
}

#[test]
fn rfc6455_5_4_continuation_without_message_is_protocol_error() {
    assert_eq!(fails_with(&client_frame(0x80, b"x", None)), Some(1002));
}

#[test]
fn rfc6455_5_4_data_frame_inside_fragmented_message_is_protocol_error() {
    let mut w = client_frame(0x01, b"a", None);
    w.extend(client_frame(0x81, b"b", None));
    assert_eq!(fails_with(&w), Some(1002));
}

#[test]
fn rfc6455_8_1_invalid_utf8_fails_fast_before_the_message_ends() {
    let (mut c, now) = conn();
    c.handle_input(now, &client_frame(0x01, "κόσμε".as_bytes(), None));
    assert!(drain(&mut c).is_empty());
    // The second fragment holds a surrogate; the final fragment never comes.
    c.handle_input(now, &client_frame(0x00, b"\xed\xa0\x80", None));
    assert_eq!(close_code(&drain(&mut c)), Some(1007));
    assert!(c.is_closed());
}

#[test]
fn rfc6455_8_1_text_ending_inside_a_code_point_is_invalid_payload() {
    assert_eq!(fails_with(&text(b"ok\xe2\x82")), Some(1007));
}

#[test]
fn rfc6455_8_1_code_point_split_across_fragments_is_valid() {
    let (mut c, now) = conn();
    c.handle_input(now, &client_frame(0x01, b"\xe2", None));
    c.handle_input(now, &client_frame(0x00, b"\x82", None));
    c.handle_input(now, &client_frame(0x80, b"\xac", None));
    assert_eq!(
        events(&mut c),
        vec![WsEvent::Message(Message::Text("€".into()))]
    );
}

#[test]
fn rfc6455_5_5_1_close_code_echoed_and_connection_closed() {
    let (mut c, now) = conn();
    c.handle_input(now, &close_frame(4000, b"bye"));
    assert_eq!(drain(&mut c), vec![(0x88, 4000u16.to_be_bytes().to_vec())]);
    assert!(c.is_closed());
    assert_eq!(
        events(&mut c),
        vec![WsEvent::Closed {
            code: Some(CloseCode(4000)),
            reason: "bye".into()
        }]
    );
}

#[test]
fn rfc6455_7_4_invalid_close_codes_and_one_byte_payload_are_protocol_errors() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        assert_eq!(fails_with(&close_frame(code, b"")), Some(1002), "{code}");
    }
    assert_eq!(fails_with(&client_frame(0x88, &[3], None)), Some(1002));
    assert_eq!(fails_with(&close_frame(1000, b"\xff")), Some(1007));
}

#[test]
fn rfc6455_5_5_1_empty_close_answered_with_empty_close() {
    let (mut c, now) = conn();
    c.handle_input(now, &client_frame(0x88, b"", None));
    assert_eq!(drain(&mut c), vec![(0x88, vec![])]);
    assert!(c.is_closed());
}

#[test]
fn rfc6455_7_1_1_after_our_close_data_ignored_until_peer_close() {
    let (mut c, now) = conn();
    c.close(now, CloseCode::NORMAL, "done");
    assert_eq!(close_code(&drain(&mut c)), Some(1000));
    c.handle_input(now, &text(b"late"));
    c.handle_input(now, &client_frame(0x89, b"p", None));
    assert!(events(&mut c)
        .iter()
        .all(|e| !matches!(e, WsEvent::Message(_))));
    assert!(drain(&mut c).is_empty(), "no Pong after our Close");
    assert!(!c.is_closed());
    c.handle_input(now, &close_frame(1000, b""));
    assert!(c.is_closed());
    assert!(drain(&mut c).is_empty(), "our Close is not sent twice");
    assert!(events(&mut c).contains(&WsEvent::Closed {
        code: Some(CloseCode::NORMAL),
        reason: String::new()
    }));
    assert_eq!(c.send_text("x"), Err(SendError::Closed));
}

#[test]
fn rfc6455_7_1_1_close_handshake_times_out() {
    let (mut c, now) = conn();
    c.close(now, CloseCode::NORMAL, "");
    let deadline = c.poll_timeout().unwrap();
    assert_eq!(deadline, now + WsLimits::default().close_timeout);
    c.handle_timeout(deadline - Duration::from_millis(1));
    assert!(!c.is_closed());
    c.handle_timeout(deadline);
    assert!(c.is_closed());
    // §7.1.5: no Close frame from the peer is reported as 1006.
    assert_eq!(
        events(&mut c),
        vec![WsEvent::Closed {
            code: Some(CloseCode::ABNORMAL),
            reason: String::new()
        }]
    );
}

#[test]
fn rfc6455_7_4_1_shutdown_sends_1001() {
    let (mut c, now) = conn();
    c.start_shutdown(now);
    assert_eq!(close_code(&drain(&mut c)), Some(1001));
}

#[test]
fn rfc6455_5_5_2_idle_connection_pinged_then_closed_1001_without_pong() {
    let (mut c, now) = conn();
    let l = WsLimits::default();
    assert_eq!(c.poll_timeout(), Some(now + l.ping_interval));
    let t1 = now + l.ping_interval;
    c.handle_timeout(t1);
    assert_eq!(drain(&mut c), vec![(0x89, vec![])]);
    // A Pong resets the clock.
    c.handle_input(t1, &client_frame(0x8A, b"", None));
    assert_eq!(c.poll_timeout(), Some(t1 + l.ping_interval));
    let t2 = t1 + l.ping_interval;
    c.handle_timeout(t2);
    assert_eq!(drain(&mut c), vec![(0x89, vec![])]);
    c.handle_timeout(t2 + l.pong_timeout);
    assert_eq!(close_code(&drain(&mut c)), Some(1001));
}

#[test]
fn rfc6455_7_4_1_frame_over_the_limit_is_1009_from_its_header() {
    let now = Instant::now();
    let limits = WsLimits {
        max_frame: 1000,
        ..Default::default()
    };
    let mut c = WsConn::new(limits, None, now);
    // Only the header is sent: the limit is enforced before any payload.
    c.handle_input(now, &client_frame(0x82, &[0; 1001], None)[..8]);
    assert_eq!(close_code(&drain(&mut c)), Some(1009));
}

#[test]
fn rfc6455_7_4_1_message_over_the_limit_across_fragments_is_1009() {
    let now = Instant::now();
    let limits = WsLimits {
        max_message: 1000,
        ..Default::default()
    };
    let mut c = WsConn::new(limits, None, now);
    c.handle_input(now, &client_frame(0x02, &[0; 600], None));
    assert!(drain(&mut c).is_empty());
    c.handle_input(now, &client_frame(0x80, &[0; 401], None));
    assert_eq!(close_code(&drain(&mut c)), Some(1009));
}

#[test]
fn bounded_send_queue_refuses_then_accepts_after_drain() {
    let now = Instant::now();
    let limits = WsLimits {
        max_send_queue: 1000,
        ..Default::default()
    };
    let mut c = WsConn::new(limits, None, now);
    c.send_binary(Bytes::from(vec![0; 1500])).unwrap();
    assert!(
        !c.wants_read(),
        "backpressure: stop reading while the queue is full"
    );
    // Sends still fit up to twice the bound (answers to messages already read).
    c.send_binary(Bytes::from(vec![0; 600])).unwrap();
    assert_eq!(
        c.send_binary(Bytes::from_static(b"x")),
        Err(SendError::QueueFull)
    );
    drain(&mut c);
    assert!(c.wants_read());
    c.send_binary(Bytes::from_static(b"x")).unwrap();
}

#[test]
fn rfc7692_compressed_message_inflated_and_reply_compressed() {
    let now = Instant::now();
    let p = negotiate(std::iter::once("permessage-deflate")).unwrap();
    let mut c = WsConn::new(WsLimits::default(), Some(p), now);
    assert!(!c.has_deflate_state());
    let mut client = DeflateCodec::new(p);
    let msg = "compressible ".repeat(100);
    let z = client.compress(msg.as_bytes());
    // Split the compressed message over two frames, fed byte by byte.
    let (a, b) = z.split_at(z.len() / 2);
    let mut wire = client_frame(0x41, a, None);
    wire.extend(client_frame(0x80, b, None));
    for byte in &wire {
        c.handle_input(now, std::slice::from_ref(byte));
    }
    assert_eq!(
        events(&mut c),
        vec![WsEvent::Message(Message::Text(msg.clone()))]
    );
    assert!(c.has_deflate_state());
    c.send_text(&msg).unwrap();
    let out = drain(&mut c);
    assert_eq!(out[0].0, 0xC1, "FIN + RSV1 + text");
    let mut inflated = Vec::new();
    let mut peer = DeflateCodec::new(p);
    peer.decompress(&out[0].1, &mut inflated, 1 << 20).unwrap();
    peer.finish_message(&mut inflated, 1 << 20).unwrap();
    assert_eq!(inflated, msg.as_bytes());
}

#[test]
fn rfc7692_6_rsv1_without_negotiation_is_protocol_error() {
    assert_eq!(fails_with(&client_frame(0xC1, b"x", None)), Some(1002));
}

#[test]
fn rfc7692_compression_bomb_closed_1009() {
    let now = Instant::now();
    let p = negotiate(std::iter::once("permessage-deflate")).unwrap();
    let limits = WsLimits {
        max_message: 64 * 1024,
        ..Default::default()
    };
    let mut c = WsConn::new(limits, Some(p), now);
    let z = DeflateCodec::new(p).compress(&vec![0u8; 4 << 20]);
    c.handle_input(now, &client_frame(0xC2, &z, None));
    assert_eq!(close_code(&drain(&mut c)), Some(1009));
    assert_eq!(c.buffered_bytes(), 0, "buffers released on failure");
}

#[test]
fn streaming_mode_delivers_chunks_as_they_arrive() {
    let (mut c, now) = conn();
    c.set_streaming(true);
    c.handle_input(now, &client_frame(0x02, b"abc", None));
    assert_eq!(
        events(&mut c),
        vec![
            WsEvent::MessageStart(MessageKind::Binary),
            WsEvent::MessageChunk(Bytes::from_static(b"abc"))
        ]
    );
    let f = client_frame(0x80, b"defg", None);
    c.handle_input(now, &f[..8]);
    c.handle_input(now, &f[8..]);
    assert_eq!(
        events(&mut c),
        vec![
            WsEvent::MessageChunk(Bytes::from_static(b"de")),
            WsEvent::MessageChunk(Bytes::from_static(b"fg")),
            WsEvent::MessageEnd
        ]
    );
    assert_eq!(c.buffered_bytes(), 0);
}

#[test]
fn idle_connection_holds_no_buffers() {
    let (mut c, now) = conn();
    c.handle_input(now, &text(&[b'x'; 5000]));
    assert_eq!(events(&mut c).len(), 1);
    drain(&mut c);
    assert_eq!(c.buffered_bytes(), 0);
    // The figure is in docs/websocket.md; this bound keeps it from creeping up.
    let size = std::mem::size_of::<WsConn>();
    assert!(size <= 416, "size_of::<WsConn>() = {size}");
}

#[test]
fn rfc7692_streaming_mode_inflates_in_bounded_chunks() {
    let now = Instant::now();
    let p = negotiate(std::iter::once("permessage-deflate")).unwrap();
    let mut c = WsConn::new(WsLimits::default(), Some(p), now);
    c.set_streaming(true);
    let msg = vec![b'a'; 1 << 20];
    let z = DeflateCodec::new(p).compress(&msg);
    c.handle_input(now, &client_frame(0xC1, &z, None));
    let ev = events(&mut c);
    assert_eq!(ev[0], WsEvent::MessageStart(MessageKind::Text));
    assert_eq!(ev.last(), Some(&WsEvent::MessageEnd));
    let mut total = 0;
    for e in &ev[1..ev.len() - 1] {
        let WsEvent::MessageChunk(b) = e else {
            panic!("{e:?}")
        };
        assert!(b.len() <= super::deflate::INFLATE_STEP);
        total += b.len();
    }
    assert_eq!(total, msg.len());
    assert_eq!(c.buffered_bytes(), 0);
}

#[test]
fn backpressure_holds_pipelined_messages_until_drained() {
    let now = Instant::now();
    let limits = WsLimits {
        max_send_queue: 1000,
        ..Default::default()
    };
    let mut c = WsConn::new(limits, None, now);
    let mut wire = Vec::new();
    for i in 0..5u8 {
        wire.extend(client_frame(0x82, &[i; 600], None));
    }
    c.handle_input(now, &wire);
    // Two undelivered messages (1,200 bytes) are over the bound: the rest waits.
    assert!(c.has_pending_input());
    assert!(!c.wants_read());
    let mut got = Vec::new();
    for _ in 0..10 {
        while let Some(WsEvent::Message(Message::Binary(b))) = c.poll_event() {
            // The echo fills the send queue; draining it lets more input through.
            c.send_binary(b.clone()).unwrap();
            got.push(b[0]);
        }
        drain(&mut c);
        c.handle_output_drained(now);
    }
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert!(!c.has_pending_input());
    assert!(c.wants_read());
    assert_eq!(c.buffered_bytes(), 0);
}

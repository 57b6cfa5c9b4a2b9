//! The echo path moves payloads, never copies them: what a client sent is unmasked
//! once into the message buffer, and that same allocation is what goes out.

use std::time::Instant;

use bytes::Bytes;

use super::conn::{Message, WsConn, WsEvent};
use super::conn_tests::client_frame;
use crate::limits::WsLimits;
use crate::proto::out::Chunk;

/// The payload chunk queued after the frame header, for payloads over the inline
/// size (a small payload shares the header's buffer instead).
fn queued_payload(c: &mut WsConn) -> Bytes {
    let chunks: Vec<&Chunk> = c.out().iter().collect();
    assert_eq!(chunks.len(), 2, "header and payload");
    match chunks[1] {
        Chunk::Bytes(b) => b.clone(),
        Chunk::File(_) => panic!("a file chunk"),
    }
}

#[test]
fn rfc6455_5_6_echoed_text_and_binary_go_out_without_a_copy() {
    let now = Instant::now();
    for (b0, payload) in [(0x81u8, "é".repeat(3000)), (0x82, "x".repeat(70_000))] {
        let mut c = WsConn::new(WsLimits::default(), None, now);
        c.handle_input(now, &client_frame(b0, payload.as_bytes(), None));
        let Some(WsEvent::Message(msg)) = c.poll_event() else {
            panic!("no message");
        };
        let at = match &msg {
            Message::Text(t) => t.as_ptr(),
            Message::Binary(b) => b.as_ptr(),
        };
        c.send(msg).unwrap();
        let out = queued_payload(&mut c);
        assert_eq!(out, payload.as_bytes());
        assert_eq!(
            out.as_ptr(),
            at,
            "the payload was copied (opcode byte {b0:#x})"
        );
    }
}

#[test]
fn rfc6455_5_2_small_frames_are_one_chunk_with_the_exact_header() {
    let now = Instant::now();
    let mut c = WsConn::new(WsLimits::default(), None, now);
    c.send(Message::Text("hi".into())).unwrap();
    c.send(Message::Binary(Bytes::from(vec![7u8; 200])))
        .unwrap();
    let chunks: Vec<Vec<u8>> = c
        .out()
        .iter()
        .map(|ch| match ch {
            Chunk::Bytes(b) => b.to_vec(),
            Chunk::File(_) => panic!("a file chunk"),
        })
        .collect();
    assert_eq!(chunks[0], b"\x81\x02hi");
    assert_eq!(chunks[1][..4], [0x82, 126, 0, 200]);
    assert_eq!(chunks[1].len(), 204);
    assert_eq!(chunks.len(), 2);
}

#[test]
fn rfc6455_5_2_a_large_frame_is_reserved_once_and_a_claimed_length_only_so_far() {
    let now = Instant::now();
    let mut c = WsConn::new(WsLimits::default(), None, now);
    let payload = vec![0x5au8; 1 << 20];
    let frame = client_frame(0x82, &payload, None);
    // The header and the first 64 KiB: the whole frame's buffer is there already, so
    // the remaining pieces are copied once, never moved by a doubling.
    c.handle_input(now, &frame[..14 + 65_536]);
    let reserved = c.buffered_bytes();
    assert!(reserved >= 1 << 20, "reserved {reserved}");
    for piece in frame[14 + 65_536..].chunks(65_536) {
        c.handle_input(now, piece);
        if c.poll_event_pending() == 0 {
            assert_eq!(c.buffered_bytes(), reserved, "the buffer moved");
        }
    }
    assert!(matches!(c.poll_event(), Some(WsEvent::Message(Message::Binary(b))) if b == payload));

    // A peer that claims a 16 MiB frame and sends one byte holds WS_RESERVE_AHEAD.
    let mut c = WsConn::new(WsLimits::default(), None, now);
    let mut head = vec![0x82, 0x80 | 127];
    head.extend_from_slice(&(16u64 << 20).to_be_bytes());
    head.extend_from_slice(&[1, 2, 3, 4, 0xff]);
    c.handle_input(now, &head);
    let held = c.buffered_bytes();
    assert!(
        held <= crate::limits::WS_RESERVE_AHEAD + 64,
        "holds {held} bytes for a claimed length"
    );
}

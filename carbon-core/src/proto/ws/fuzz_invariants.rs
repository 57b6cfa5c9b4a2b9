//! The invariants the WebSocket engine keeps whatever the peer sends, as one function
//! fed arbitrary bytes. The fuzz target `ws_frames` (fuzz/) and the deterministic
//! tests in `robustness_tests.rs` both run this very file, so CI checks what the
//! fuzzer checks. It uses only the public API (through `super::`).
//!
//! Input layout: octet 0 is the read size minus one (every split of a frame is
//! reached); octet 1 bit 0 negotiates permessage-deflate, bit 1 picks small limits,
//! bit 2 streaming mode; the rest is what the client sends.
//!
//! Invariants, beyond "no panic":
//! * without deflate, the same input read in one piece and in pieces gives the same
//!   events and the same output (the decoder accepts any split; echoing is off for
//!   this comparison, since echoes interleave with Pongs by read). With deflate,
//!   which of two faults in one read is seen first may differ, so only the other
//!   invariants apply;
//! * the output is well-formed server frames: unmasked, RSV2/RSV3 clear, RSV1 only
//!   with deflate and only on data frames, control frames at most 125 bytes and
//!   never fragmented, nothing after our Close, and our Close code valid on the wire;
//! * delivered messages never exceed the message limit, and the engine's buffers
//!   stay within the limit plus one inflation step and one read;
//! * a read close always ends in a closed connection;
//! * with deflate: what our compressor produces inflates back to the input, and
//!   inflating the raw input never produces more than the limit.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use super::close::CloseCode;
use super::deflate::{negotiate, DeflateCodec, INFLATE_STEP};
use super::{Message, WsConn, WsEvent, WsLimits};

fn limits(small: bool) -> WsLimits {
    if small {
        WsLimits {
            max_message: 4096,
            max_frame: 2048,
            max_streamed_message: 8192,
            max_send_queue: 8192,
            ..WsLimits::default()
        }
    } else {
        WsLimits::default()
    }
}

/// Runs the engine over `input` read `piece` bytes at a time, echoing every message
/// if `echo`, with the clock advancing `tick` per read. Returns the events and the
/// output.
pub fn drive(
    input: &[u8],
    piece: usize,
    tick: Duration,
    flags: u8,
    echo: bool,
) -> (Vec<WsEvent>, Vec<u8>) {
    let deflate =
        (flags & 1 != 0).then(|| negotiate(std::iter::once("permessage-deflate")).unwrap());
    let l = limits(flags & 2 != 0);
    let mut now = Instant::now();
    let mut c = WsConn::new(l.clone(), deflate, now);
    c.set_streaming(flags & 4 != 0);
    let mut events = Vec::new();
    let mut wire = Vec::new();
    let bound = l.max_message.max(l.max_frame as usize) + INFLATE_STEP + 2 * piece + 1024;
    for part in input.chunks(piece.max(1)) {
        if c.is_closed() {
            break;
        }
        c.handle_input(now, part);
        assert!(
            c.buffered_bytes() <= bound + l.max_send_queue + l.max_message,
            "buffers over their bound: {}",
            c.buffered_bytes()
        );
        pump(&mut c, &l, echo, &mut events, &mut wire);
        // Input held back by backpressure goes through as the output drains.
        let mut turns = 0;
        while c.has_pending_input() {
            turns += 1;
            assert!(turns < 100_000, "held-back input never processed");
            c.handle_output_drained(now);
            pump(&mut c, &l, echo, &mut events, &mut wire);
        }
        now += tick;
        c.handle_timeout(now);
        pump(&mut c, &l, echo, &mut events, &mut wire);
    }
    c.handle_read_closed(now);
    pump(&mut c, &l, echo, &mut events, &mut wire);
    assert!(c.is_closed(), "not closed after the peer's FIN");
    check_output(&wire, deflate.is_some());
    (events, wire)
}

fn pump(c: &mut WsConn, l: &WsLimits, echo: bool, events: &mut Vec<WsEvent>, wire: &mut Vec<u8>) {
    while let Some(e) = c.poll_event() {
        match &e {
            WsEvent::Message(Message::Text(t)) => {
                assert!(t.len() <= l.max_message);
                if echo {
                    let _ = c.send_text(t);
                }
            }
            WsEvent::Message(Message::Binary(b)) => {
                assert!(b.len() <= l.max_message);
                if echo {
                    let _ = c.send_binary(b.clone());
                }
            }
            _ => {}
        }
        events.push(e);
    }
    let q = c.out();
    while let Some(ch) = q.front().cloned() {
        if let super::Chunk::Bytes(b) = &ch {
            wire.extend_from_slice(b);
        }
        q.advance(ch.len());
    }
}

/// Parses the server's output and checks every frame.
fn check_output(wire: &[u8], deflate: bool) {
    let mut i = 0;
    let mut closed = false;
    while i < wire.len() {
        assert!(!closed, "frame after our Close");
        assert!(wire.len() >= i + 2, "truncated header");
        let (b0, b1) = (wire[i], wire[i + 1]);
        assert_eq!(b1 & 0x80, 0, "masked server frame");
        assert_eq!(b0 & 0x30, 0, "RSV2/RSV3 set");
        let op = b0 & 0x0f;
        let control = op & 0x8 != 0;
        assert!(matches!(op, 1 | 2 | 8 | 9 | 10), "opcode {op}");
        assert!(b0 & 0x80 != 0, "we never fragment");
        if b0 & 0x40 != 0 {
            assert!(
                deflate && !control,
                "RSV1 without deflate or on a control frame"
            );
        }
        let (len, hl) = match b1 & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([wire[i + 2], wire[i + 3]])),
                4,
            ),
            127 => (
                u64::from_be_bytes(wire[i + 2..i + 10].try_into().unwrap()) as usize,
                10,
            ),
            n => (usize::from(n), 2),
        };
        assert!(!control || len <= 125, "control frame over 125 bytes");
        let payload = &wire[i + hl..i + hl + len];
        if op == 8 {
            closed = true;
            if payload.len() >= 2 {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                assert!(
                    CloseCode::is_valid_on_wire(code),
                    "we sent close code {code}"
                );
            } else {
                assert!(payload.is_empty(), "1-byte close payload");
            }
        }
        i += hl + len;
    }
}

/// The whole check for one fuzz input.
pub fn check_frames(data: &[u8]) {
    let [piece, flags, input @ ..] = data else {
        return;
    };
    let piece = usize::from(*piece) + 1;
    let whole = drive(input, input.len().max(1), Duration::ZERO, *flags, false);
    let split = drive(input, piece, Duration::ZERO, *flags, false);
    if flags & 1 == 0 {
        assert_eq!(whole.1, split.1, "output depends on the read size");
        if flags & 4 == 0 {
            // Chunk boundaries follow the reads in streaming mode; messages do not.
            assert_eq!(whole.0, split.0, "events depend on the read size");
        }
    }
    // Echoing, and timers firing between reads, must keep every invariant too.
    drive(input, piece, Duration::from_secs(7), *flags, true);
    if flags & 1 != 0 {
        check_deflate(input);
    }
}

fn check_deflate(input: &[u8]) {
    let p = negotiate(std::iter::once("permessage-deflate")).unwrap();
    let z = DeflateCodec::new(p).compress(input);
    let mut out = Vec::new();
    let mut rx = DeflateCodec::new(p);
    rx.decompress(&z, &mut out, input.len()).unwrap();
    rx.finish_message(&mut out, input.len()).unwrap();
    assert_eq!(out, input, "deflate round trip");
    // Arbitrary bytes as compressed data: bounded output, whatever they hold.
    let limit = 1024;
    let mut out = Vec::new();
    let r = DeflateCodec::new(p).decompress(input, &mut out, limit);
    // The engine inflates one sentinel byte past the limit to tell "exactly at the
    // limit" (accepted) from "over it" (1009); that byte is never delivered.
    if out.len() > limit {
        assert_eq!(
            r,
            Err(CloseCode::MESSAGE_TOO_BIG),
            "over the limit but not 1009"
        );
    }
    assert!(out.len() <= limit + 1, "inflated past the limit");
    assert!(
        out.capacity() <= limit + 1 + INFLATE_STEP,
        "allocated past the limit"
    );
}

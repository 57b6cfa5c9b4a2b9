//! Autobahn-style conformance cases run through the sans-IO engine with an echo
//! handler, each fed whole, one byte at a time and in 7-byte pieces: the server's
//! whole output (echoes, Pongs, the Close and its code) must be the same for every
//! split. Case ids follow the Autobahn testsuite's numbering; the end-to-end run of
//! the same categories against carbond is `tests/e2e/ws_conformance.py`.

use std::time::Instant;

use super::conn::{Message, WsConn, WsEvent};
use super::conn_tests::client_frame;
use crate::limits::WsLimits;
use crate::proto::out::Chunk;

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A client frame with FIN set, opcode `op` and RSV bits `rsv` (3 bits).
fn f(op: u8, rsv: u8, payload: &[u8]) -> Vec<u8> {
    client_frame(0x80 | (rsv << 4) | op, payload, None)
}

/// A client frame without FIN.
fn part(op: u8, payload: &[u8]) -> Vec<u8> {
    client_frame(op, payload, None)
}

fn close(code: u16) -> Vec<u8> {
    f(CLOSE, 0, &code.to_be_bytes())
}

/// One case: the client's bytes, then the frames the server must send (opcode,
/// payload), ending with its Close (`close`: its code, `None` for a Close without
/// one).
struct Case {
    id: &'static str,
    input: Vec<u8>,
    out: Vec<(u8, Vec<u8>)>,
    close: Option<u16>,
}

/// An echo case: `input`, then our Close 1000; the server sends `out` and answers
/// the Close with 1000.
fn echo(id: &'static str, input: Vec<Vec<u8>>, out: Vec<(u8, &[u8])>) -> Case {
    let mut input = input.concat();
    input.extend(close(1000));
    Case {
        id,
        input,
        out: out.into_iter().map(|(o, p)| (o, p.to_vec())).collect(),
        close: Some(1000),
    }
}

/// The server sends `out`, then closes with `code`: failing the connection, or
/// answering the client's Close.
fn closes(id: &'static str, input: Vec<Vec<u8>>, out: Vec<(u8, &[u8])>, code: u16) -> Case {
    Case {
        id,
        input: input.concat(),
        out: out.into_iter().map(|(o, p)| (o, p.to_vec())).collect(),
        close: Some(code),
    }
}

/// Feeds `input` in pieces of `split` bytes to an engine whose handler echoes every
/// message; returns the server's frames as (FIN/opcode byte, payload) and the engine.
fn run(input: &[u8], split: usize) -> (Vec<(u8, Vec<u8>)>, WsConn) {
    let now = Instant::now();
    let mut c = WsConn::new(WsLimits::default(), None, now);
    let mut wire = Vec::new();
    for piece in input.chunks(split) {
        if c.is_closed() {
            break;
        }
        c.handle_input(now, piece);
        while let Some(ev) = c.poll_event() {
            match ev {
                WsEvent::Message(Message::Text(t)) => c.send_text(&t).unwrap(),
                WsEvent::Message(Message::Binary(b)) => c.send_binary(b).unwrap(),
                _ => {}
            }
        }
        let q = c.out();
        while let Some(ch) = q.front().cloned() {
            if let Chunk::Bytes(b) = &ch {
                wire.extend_from_slice(b);
            }
            q.advance(ch.len());
        }
    }
    let mut frames = Vec::new();
    let mut i = 0;
    while i < wire.len() {
        let (b1, at) = (wire[i + 1], i + 2);
        assert_eq!(b1 & 0x80, 0, "RFC 6455 §5.1: server frames are unmasked");
        let (len, at) = match b1 & 0x7f {
            126 => (
                u16::from_be_bytes([wire[at], wire[at + 1]]) as usize,
                at + 2,
            ),
            127 => (
                u64::from_be_bytes(wire[at..at + 8].try_into().unwrap()) as usize,
                at + 8,
            ),
            n => (n as usize, at),
        };
        frames.push((wire[i], wire[at..at + len].to_vec()));
        i = at + len;
    }
    (frames, c)
}

fn check(cases: Vec<Case>) {
    for case in cases {
        for split in [case.input.len().max(1), 1, 7] {
            let (frames, c) = run(&case.input, split);
            let mut want: Vec<(u8, Vec<u8>)> = case
                .out
                .iter()
                .map(|(o, p)| (0x80 | o, p.clone()))
                .collect();
            want.push((
                0x80 | CLOSE,
                case.close
                    .map(|c| c.to_be_bytes().to_vec())
                    .unwrap_or_default(),
            ));
            assert_eq!(frames, want, "case {} split {split}", case.id);
            assert!(c.is_closed(), "case {} split {split}: not closed", case.id);
            // The peer may still be sending: the transport drains before it closes,
            // so a TCP reset cannot destroy our Close (RFC 6455 §7.1.1).
            assert!(c.drain_on_close(), "case {} split {split}", case.id);
        }
    }
}

const HELLO: &[u8] = b"Hello, world!";

#[test]
fn autobahn_1_framing_every_length_form_echoed() {
    let sizes = [0usize, 125, 126, 127, 128, 65535, 65536];
    let data: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![b'*'; n]).collect();
    let mut cases = Vec::new();
    for d in &data {
        cases.push(echo("1.1", vec![f(TEXT, 0, d)], vec![(TEXT, d)]));
        cases.push(echo("1.2", vec![f(BINARY, 0, d)], vec![(BINARY, d)]));
    }
    check(cases);
}

#[test]
fn autobahn_2_pings_answered_with_their_payload_pongs_ignored() {
    let pings: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("payload-{i}").into_bytes())
        .collect();
    check(vec![
        echo("2.1", vec![f(PING, 0, b"")], vec![(PONG, b"")]),
        echo("2.2", vec![f(PING, 0, HELLO)], vec![(PONG, HELLO)]),
        echo(
            "2.3",
            vec![f(PING, 0, b"\x00\xff\xfe\xfd")],
            vec![(PONG, b"\x00\xff\xfe\xfd")],
        ),
        echo(
            "2.4",
            vec![f(PING, 0, &[0xfe; 125])],
            vec![(PONG, &[0xfe; 125])],
        ),
        closes("2.5", vec![f(PING, 0, &[0xfe; 126])], vec![], 1002),
        echo("2.7", vec![f(PONG, 0, b"")], vec![]),
        echo("2.8", vec![f(PONG, 0, b"unsolicited")], vec![]),
        echo(
            "2.9",
            vec![f(PONG, 0, b"unsolicited"), f(PING, 0, b"ping")],
            vec![(PONG, b"ping")],
        ),
        echo(
            "2.10",
            pings.iter().map(|p| f(PING, 0, p)).collect(),
            pings.iter().map(|p| (PONG, &p[..])).collect(),
        ),
    ]);
}

/// Autobahn 3.2, 4.1.3, 5.15 (strict): the message before the violation is echoed
/// before the Close; nothing after the violation (the Ping) is answered.
#[test]
fn autobahn_3_reserved_bits_fail_after_echoing_what_came_before() {
    let mut cases = vec![
        closes("3.1", vec![f(TEXT, 4, HELLO)], vec![], 1002),
        closes("3.5", vec![f(BINARY, 5, b"\x00\xff")], vec![], 1002),
        closes("3.6", vec![f(PING, 6, HELLO)], vec![], 1002),
        closes(
            "3.7",
            vec![f(CLOSE, 7, &1000u16.to_be_bytes())],
            vec![],
            1002,
        ),
    ];
    for rsv in [1, 2, 3, 4, 5, 6, 7] {
        cases.push(closes(
            "3.2-3.4",
            vec![f(TEXT, 0, HELLO), f(TEXT, rsv, HELLO), f(PING, 0, b"")],
            vec![(TEXT, HELLO)],
            1002,
        ));
    }
    check(cases);
}

#[test]
fn autobahn_4_reserved_opcodes_fail_after_echoing_what_came_before() {
    let mut cases = Vec::new();
    for op in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        cases.push(closes("4.x.1", vec![f(op, 0, b"")], vec![], 1002));
        cases.push(closes(
            "4.x.3",
            vec![f(TEXT, 0, HELLO), f(op, 0, HELLO), f(PING, 0, b"")],
            vec![(TEXT, HELLO)],
            1002,
        ));
    }
    check(cases);
}

#[test]
fn autobahn_5_fragmentation() {
    check(vec![
        closes(
            "5.1",
            vec![part(PING, b"fragment1"), f(0, 0, b"fragment2")],
            vec![],
            1002,
        ),
        closes(
            "5.2",
            vec![part(PONG, b"fragment1"), f(0, 0, b"fragment2")],
            vec![],
            1002,
        ),
        echo(
            "5.3",
            vec![part(TEXT, b"fragment1"), f(0, 0, b"fragment2")],
            vec![(TEXT, b"fragment1fragment2")],
        ),
        echo(
            "5.6",
            vec![
                part(TEXT, b"fragment1"),
                f(PING, 0, b"ping payload"),
                f(0, 0, b"fragment2"),
            ],
            vec![(PONG, b"ping payload"), (TEXT, b"fragment1fragment2")],
        ),
        closes(
            "5.9",
            vec![f(0, 0, b"non-continuation"), f(TEXT, 0, HELLO)],
            vec![],
            1002,
        ),
        closes(
            "5.12",
            vec![part(0, b"non-continuation"), f(TEXT, 0, HELLO)],
            vec![],
            1002,
        ),
        closes(
            "5.15",
            vec![
                part(TEXT, b"fragment1"),
                f(0, 0, b"fragment2"),
                part(0, b"fragment3"),
                f(TEXT, 0, b"fragment4"),
            ],
            vec![(TEXT, b"fragment1fragment2")],
            1002,
        ),
        closes(
            "5.18",
            vec![part(TEXT, b"fragment1"), f(TEXT, 0, b"fragment2")],
            vec![],
            1002,
        ),
        echo(
            "5.19",
            vec![
                part(TEXT, b"f1"),
                part(0, b"f2"),
                f(PING, 0, b"pongme 1!"),
                part(0, b"f3"),
                part(0, b"f4"),
                f(PING, 0, b"pongme 2!"),
                f(0, 0, b"f5"),
            ],
            vec![
                (PONG, b"pongme 1!"),
                (PONG, b"pongme 2!"),
                (TEXT, b"f1f2f3f4f5"),
            ],
        ),
    ]);
}

const KAPPA: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

/// Sections of Markus Kuhn's UTF-8 decoder stress test (Autobahn 6.5-6.21), one
/// message per vector; whether each is valid is decided by `std::str::from_utf8`,
/// not by the validator under test.
#[test]
fn autobahn_6_utf8_tables_echo_valid_and_fail_invalid_with_1007() {
    let vectors: Vec<&[u8]> = vec![
        b"hello\xc2\xa2world",
        b"hello\xf0\xa4\xad\xa2world",
        KAPPA,
        &KAPPA[..1],
        &KAPPA[..4],
        b"\xf0\x90\x80\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\xf4\x8f\xbf\xbf",
        b"\xf4\x90\x80\x80",
        b"\xf7\xbf\xbf\xbf",
        b"\xed\x9f\xbf",
        b"\x80",
        b"\x80\xbf\x80",
        b"\xc0 \xc1 ",
        b"\xe0\x80",
        b"\xfe",
        b"\xff",
        b"\xc0\xaf",
        b"\xe0\x80\xaf",
        b"\xc1\xbf",
        b"\xe0\x9f\xbf",
        b"\xf0\x8f\xbf\xbf",
        b"\xc0\x80",
        b"\xed\xa0\x80",
        b"\xed\xbf\xbf",
        b"\xed\xa0\x80\xed\xb0\x80",
        b"\xef\xbf\xbe",
        b"\xf4\x8f\xbf\xbe",
        b"\xef\xbf\xbd",
    ];
    let mut cases = Vec::new();
    for v in &vectors {
        if std::str::from_utf8(v).is_ok() {
            cases.push(echo("6.x valid", vec![f(TEXT, 0, v)], vec![(TEXT, v)]));
            // One byte per frame: code points split across frames.
            let frames: Vec<Vec<u8>> = v
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let op = if i == 0 { TEXT } else { 0 };
                    client_frame(op | if i + 1 == v.len() { 0x80 } else { 0 }, &[*b], None)
                })
                .collect();
            cases.push(echo("6.x valid per byte", frames, vec![(TEXT, v)]));
        } else {
            cases.push(closes("6.x invalid", vec![f(TEXT, 0, v)], vec![], 1007));
        }
    }
    check(cases);
}

/// Autobahn 6.4.1-6.4.4: the Close 1007 goes out as soon as the byte that makes the
/// text invalid arrives (F4 90 is above U+10FFFF), with the rest of the message not
/// sent yet, in a separate frame or within one frame's payload.
#[test]
fn autobahn_6_4_utf8_fails_fast_at_the_first_invalid_byte() {
    let msg = [KAPPA, b"\xf4\x90\x80\x80", b"edited"].concat();
    // Each frame header here is 6 bytes (2 + the masking key).
    for (wire, bad_at) in [
        // 6.4.1-6.4.2: the invalid byte opens the second frame's payload.
        (
            [part(TEXT, &msg[..12]), part(0, &msg[12..])].concat(),
            6 + 12 + 6,
        ),
        // 6.4.3-6.4.4: one frame; the invalid byte is its payload's 13th.
        (client_frame(0x81, &msg, None), 6 + 12),
    ] {
        let now = Instant::now();
        let mut c = WsConn::new(WsLimits::default(), None, now);
        for (i, b) in wire.iter().enumerate() {
            c.handle_input(now, std::slice::from_ref(b));
            if i < bad_at {
                assert!(!c.is_closed(), "closed on a valid prefix at byte {i}");
            } else {
                break;
            }
        }
        assert!(c.is_closed(), "not failed at the invalid byte");
        let closed = std::iter::from_fn(|| c.poll_event())
            .any(|e| matches!(e, WsEvent::Closed { code: Some(code), .. } if code.0 == 1007));
        assert!(closed);
    }
}

/// Autobahn 7.1.x, 7.3.x, 7.5.1, 7.7.x, 7.9.x.
#[test]
fn autobahn_7_close_handling_and_codes() {
    let mut cases = vec![
        echo("7.1.1", vec![f(TEXT, 0, HELLO)], vec![(TEXT, HELLO)]),
        // Anything after the peer's Close is ignored (§5.5.1).
        closes("7.1.2", vec![close(1000), f(CLOSE, 0, b"")], vec![], 1000),
        closes("7.1.3", vec![close(1000), f(PING, 0, b"")], vec![], 1000),
        closes("7.1.4", vec![close(1000), f(TEXT, 0, HELLO)], vec![], 1000),
        closes(
            "7.1.5",
            vec![part(TEXT, b"fragment1"), close(1000), f(0, 0, b"fragment2")],
            vec![],
            1000,
        ),
        // Messages before the peer's Close are answered before the Close echo.
        closes(
            "7.1.6",
            vec![
                f(TEXT, 0, &[b'x'; 256 * 1024]),
                f(TEXT, 0, HELLO),
                close(1000),
                f(PING, 0, b""),
            ],
            vec![(TEXT, &[b'x'; 256 * 1024]), (TEXT, HELLO)],
            1000,
        ),
        Case {
            id: "7.3.1",
            input: f(CLOSE, 0, b""),
            out: vec![],
            close: None,
        },
        closes("7.3.2", vec![f(CLOSE, 0, b"\x03")], vec![], 1002),
        closes(
            "7.3.5",
            vec![f(
                CLOSE,
                0,
                &[&1000u16.to_be_bytes()[..], &[b'*'; 123]].concat(),
            )],
            vec![],
            1000,
        ),
        closes(
            "7.3.6",
            vec![f(
                CLOSE,
                0,
                &[&1000u16.to_be_bytes()[..], &[b'*'; 124]].concat(),
            )],
            vec![],
            1002,
        ),
        closes(
            "7.5.1",
            vec![f(
                CLOSE,
                0,
                &[&1000u16.to_be_bytes()[..], KAPPA, b"\xed\xa0\x80"].concat(),
            )],
            vec![],
            1007,
        ),
    ];
    for code in [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        cases.push(closes("7.7", vec![close(code)], vec![], code));
    }
    for code in [
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        cases.push(closes("7.9", vec![close(code)], vec![], 1002));
    }
    check(cases);
}

//! The echo endpoint over ws:// with tungstenite: every length form (RFC 6455 §5.2)
//! and a large message, text and binary.

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::Message;

use super::{connect, frame, raw_upgrade, read_frame, start};

#[test]
fn rfc6455_5_2_echo_of_every_length_form_and_8_mib() {
    let server = start("");
    let mut ws = connect(&server, "/echo");
    // 7-bit, its maximum, 16-bit from its minimum to maximum, 64-bit, and 8 MiB.
    for len in [0usize, 125, 126, 65_535, 65_536, 8 * 1024 * 1024] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        ws.send(Message::binary(data.clone())).unwrap();
        match ws.read().unwrap() {
            Message::Binary(b) => assert!(b[..] == data[..], "binary echo of {len} bytes"),
            other => panic!("binary {len}: got {other:?}"),
        }
        let text: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        ws.send(Message::text(text.clone())).unwrap();
        match ws.read().unwrap() {
            Message::Text(t) => assert!(t.as_str() == text, "text echo of {len} bytes"),
            other => panic!("text {len}: got {other:?}"),
        }
    }
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .unwrap();
    // §5.5.1: our Close is echoed with its code, then the server closes.
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(f.code, CloseCode::Normal);
            }
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("after close: {e}"),
        }
    }
}

#[test]
fn rfc6455_4_1_frame_sent_with_the_handshake_is_echoed() {
    let server = start("");
    // The first frame rides in the same TCP write as the upgrade request: the HTTP
    // engine must hand it over unparsed.
    let (mut s, head) = raw_upgrade(&server, &frame(0x81, b"early"));
    // Field names are case-insensitive (RFC 9110 §5.1).
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{head}"
    );
    assert!(lower.contains("connection: upgrade\r\n"), "{head}");
    assert!(lower.contains("upgrade: websocket\r\n"), "{head}");
    assert!(!lower.contains("content-length"), "{head}");
    assert_eq!(read_frame(&mut s).unwrap(), (0x81, b"early".to_vec()));
}

#[test]
fn rfc6455_5_4_fragmented_message_with_pings_between_fragments() {
    let server = start("");
    let (mut s, _) = raw_upgrade(&server, b"");
    let mut w = Vec::new();
    w.extend(frame(0x01, b"Hel"));
    w.extend(frame(0x89, b"p1"));
    w.extend(frame(0x00, b"lo, "));
    w.extend(frame(0x89, b"p2"));
    w.extend(frame(0x80, "wörld".as_bytes()));
    use std::io::Write;
    s.write_all(&w).unwrap();
    // §5.5.2: each Ping is answered at once, before the message is complete.
    assert_eq!(read_frame(&mut s).unwrap(), (0x8a, b"p1".to_vec()));
    assert_eq!(read_frame(&mut s).unwrap(), (0x8a, b"p2".to_vec()));
    assert_eq!(
        read_frame(&mut s).unwrap(),
        (0x81, "Hello, wörld".as_bytes().to_vec())
    );
}

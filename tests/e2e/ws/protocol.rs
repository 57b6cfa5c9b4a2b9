//! Protocol violations from raw frames: each closes with the code RFC 6455 §7.4.1
//! gives it, and the connection ends.

use std::io::Write;

use super::{assert_tcp_closed, close_code, frame, raw_upgrade, start};

#[test]
fn rfc6455_8_1_invalid_utf8_is_1007_before_the_message_ends() {
    let server = start("");
    let (mut s, _) = raw_upgrade(&server, b"");
    s.write_all(&frame(0x01, "κόσμε".as_bytes())).unwrap();
    // A UTF-16 surrogate: impossible in UTF-8. No final fragment follows, so the
    // server must fail fast rather than wait for the end of the message.
    s.write_all(&frame(0x00, b"\xed\xa0\x80")).unwrap();
    assert_eq!(close_code(&mut s), Some(1007));
    assert_tcp_closed(&mut s);
}

#[test]
fn rfc6455_5_1_unmasked_client_frame_is_1002() {
    let server = start("");
    let (mut s, _) = raw_upgrade(&server, b"");
    s.write_all(b"\x81\x05Hello").unwrap();
    assert_eq!(close_code(&mut s), Some(1002));
    assert_tcp_closed(&mut s);
}

#[test]
fn rfc6455_5_2_reserved_opcode_in_single_byte_writes_is_1002() {
    let server = start("");
    let (mut s, _) = raw_upgrade(&server, b"");
    s.set_nodelay(true).unwrap();
    // The server may close as soon as it sees the first byte: later writes may fail.
    for b in frame(0x83, b"abc") {
        let _ = s.write_all(&[b]);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(close_code(&mut s), Some(1002));
}

#[test]
fn rfc6455_5_4_continuation_without_a_message_is_1002() {
    let server = start("");
    let (mut s, _) = raw_upgrade(&server, b"");
    s.write_all(&frame(0x80, b"orphan")).unwrap();
    assert_eq!(close_code(&mut s), Some(1002));
}

#[test]
fn rfc6455_7_4_1_oversized_message_is_1009_from_the_frame_header() {
    let server = start("websocket_max_message = 1k\n");
    let (mut s, _) = raw_upgrade(&server, b"");
    // Only the header of a 1 MiB frame: the refusal must not wait for the payload.
    let f = frame(0x82, &vec![0u8; 1024 * 1024]);
    s.write_all(&f[..14]).unwrap();
    assert_eq!(close_code(&mut s), Some(1009));
}

#[test]
fn rfc6455_7_4_1_oversized_fragmented_message_is_1009() {
    let server = start("websocket_max_message = 1k\n");
    let (mut s, _) = raw_upgrade(&server, b"");
    // Each fragment is under the limit; the message is not.
    s.write_all(&frame(0x02, &[1; 600])).unwrap();
    let _ = s.write_all(&frame(0x80, &[2; 600]));
    assert_eq!(close_code(&mut s), Some(1009));
}

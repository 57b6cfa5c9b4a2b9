//! Frame parsing against the error RFC 9113 §6 names for each malformed field.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;

use super::head::{flags, kind};
use super::*;
use crate::proto::h2::error::ErrorCode;

fn parse(k: u8, f: u8, stream: u32, payload: &[u8]) -> Result<Frame, FrameError> {
    let head = Head::new(k, f, stream, payload.len() as u32);
    Frame::parse(head, Bytes::copy_from_slice(payload))
}

fn conn_code(r: Result<Frame, FrameError>) -> ErrorCode {
    match r {
        Err(FrameError::Connection(e)) => e.code,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

fn stream_code(r: Result<Frame, FrameError>) -> ErrorCode {
    match r {
        Err(FrameError::Stream(e)) => e.code,
        other => panic!("expected a stream error, got {other:?}"),
    }
}

#[test]
fn rfc9113_6_1_data_on_stream_0_is_protocol_error() {
    assert_eq!(
        conn_code(parse(kind::DATA, 0, 0, b"x")),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_6_1_data_padding_removed_and_counted_for_flow_control() {
    let f = parse(
        kind::DATA,
        flags::PADDED | flags::END_STREAM,
        1,
        b"\x02ab\0\0",
    )
    .unwrap();
    let Frame::Data(d) = f else { panic!() };
    assert_eq!(&d.data[..], b"ab");
    assert_eq!(d.flow_len, 5);
    assert!(d.end_stream);
}

#[test]
fn rfc9113_6_1_padding_as_long_as_payload_is_protocol_error() {
    assert_eq!(
        conn_code(parse(kind::DATA, flags::PADDED, 1, b"\x04ab\0")),
        ErrorCode::PROTOCOL_ERROR
    );
    // Padding that leaves zero data bytes is fine.
    assert!(parse(kind::DATA, flags::PADDED, 1, b"\x02\0\0").is_ok());
}

#[test]
fn rfc9113_6_2_headers_on_stream_0_and_bad_padding_are_protocol_errors() {
    assert_eq!(
        conn_code(parse(kind::HEADERS, 0, 0, b"")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::HEADERS, flags::PADDED, 1, b"\x05ab")),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_6_2_headers_priority_block_parsed() {
    let f = parse(
        kind::HEADERS,
        flags::PRIORITY | flags::END_HEADERS,
        3,
        b"\x80\0\0\x01\x10\x82",
    )
    .unwrap();
    let Frame::Headers(h) = f else { panic!() };
    let p = h.priority.unwrap();
    assert!(p.exclusive);
    assert_eq!(p.dependency, 1);
    assert_eq!(p.weight, 0x10);
    assert_eq!(&h.fragment[..], b"\x82");
    assert!(h.end_headers && !h.end_stream);
}

#[test]
fn rfc9113_6_3_priority_wrong_length_is_stream_frame_size_error() {
    assert_eq!(
        stream_code(parse(kind::PRIORITY, 0, 1, b"\0\0\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::PRIORITY, 0, 0, b"\0\0\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_5_3_1_priority_self_dependency_is_stream_protocol_error() {
    assert_eq!(
        stream_code(parse(kind::PRIORITY, 0, 5, b"\0\0\0\x05\x10")),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_6_4_rst_stream_wrong_length_or_stream_0() {
    assert_eq!(
        conn_code(parse(kind::RST_STREAM, 0, 1, b"\0\0\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::RST_STREAM, 0, 0, b"\0\0\0\x08")),
        ErrorCode::PROTOCOL_ERROR
    );
    let Frame::RstStream(r) = parse(kind::RST_STREAM, 0, 1, b"\0\0\0\x08").unwrap() else {
        panic!()
    };
    assert_eq!(r.code, ErrorCode::CANCEL);
}

#[test]
fn rfc9113_6_5_settings_errors() {
    assert_eq!(
        conn_code(parse(kind::SETTINGS, 0, 1, b"")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::SETTINGS, flags::ACK, 0, b"\0\x01\0\0\0\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::SETTINGS, 0, 0, b"\0\x01\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::SETTINGS, 0, 0, b"\0\x02\0\0\0\x02")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::SETTINGS, 0, 0, b"\0\x04\x80\0\0\0")),
        ErrorCode::FLOW_CONTROL_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::SETTINGS, 0, 0, b"\0\x05\0\0\x3f\xff")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::SETTINGS, 0, 0, b"\0\x05\x01\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_6_5_2_unknown_settings_ignored() {
    let Frame::Settings(s) =
        parse(kind::SETTINGS, 0, 0, b"\0\x63\0\0\0\x01\0\x03\0\0\0\x0a").unwrap()
    else {
        panic!()
    };
    assert_eq!(s.params, vec![(3, 10)]);
}

#[test]
fn rfc9113_6_7_ping_length_and_stream() {
    assert_eq!(
        conn_code(parse(kind::PING, 0, 0, b"1234567")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::PING, 0, 1, b"12345678")),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_6_8_goaway_length_and_stream() {
    assert_eq!(
        conn_code(parse(kind::GOAWAY, 0, 0, b"1234567")),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::GOAWAY, 0, 3, b"12345678")),
        ErrorCode::PROTOCOL_ERROR
    );
    let Frame::GoAway(g) = parse(kind::GOAWAY, 0, 0, b"\0\0\0\x07\0\0\0\x0bbye").unwrap() else {
        panic!()
    };
    assert_eq!(
        (g.last_stream_id, g.code, &g.debug[..]),
        (7, ErrorCode::ENHANCE_YOUR_CALM, &b"bye"[..])
    );
}

#[test]
fn rfc9113_6_9_window_update_zero_increment_scope() {
    assert_eq!(
        stream_code(parse(kind::WINDOW_UPDATE, 0, 1, b"\0\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::WINDOW_UPDATE, 0, 0, b"\0\0\0\0")),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        conn_code(parse(kind::WINDOW_UPDATE, 0, 1, b"\0\0\0")),
        ErrorCode::FRAME_SIZE_ERROR
    );
}

#[test]
fn rfc9113_6_10_continuation_on_stream_0_is_protocol_error() {
    assert_eq!(
        conn_code(parse(kind::CONTINUATION, 0, 0, b"")),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn rfc9113_5_5_unknown_frame_type_returned_for_ignoring() {
    assert!(matches!(
        parse(0xfa, 0xff, 1, b"xyz").unwrap(),
        Frame::Unknown(_)
    ));
}

#[test]
fn rfc9113_6_round_trip_encode_parse() {
    let frames = vec![
        Frame::Data(Data {
            stream_id: 1,
            data: Bytes::from_static(b"hi"),
            end_stream: true,
            flow_len: 2,
        }),
        Frame::Ping(Ping {
            ack: true,
            opaque: *b"12345678",
        }),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: 0,
            increment: 77,
        }),
        Frame::RstStream(RstStream {
            stream_id: 9,
            code: ErrorCode::CANCEL,
        }),
        Frame::GoAway(GoAway {
            last_stream_id: 3,
            code: ErrorCode::NO_ERROR,
            debug: Bytes::new(),
        }),
        Frame::Continuation(Continuation {
            stream_id: 1,
            fragment: Bytes::from_static(b"a"),
            end_headers: true,
        }),
    ];
    for f in frames {
        let mut b = bytes::BytesMut::new();
        match &f {
            Frame::Data(x) => x.encode(&mut b),
            Frame::Ping(x) => x.encode(&mut b),
            Frame::WindowUpdate(x) => x.encode(&mut b),
            Frame::RstStream(x) => x.encode(&mut b),
            Frame::GoAway(x) => x.encode(&mut b),
            Frame::Continuation(x) => x.encode(&mut b),
            _ => unreachable!(),
        }
        let mut r = FrameReader::new();
        r.push(&b);
        assert_eq!(r.next_frame(16_384).unwrap().unwrap(), f);
    }
}

//! `WsConn::last_data`: what the driver's slot policy (`driver/slots.rs`) reads to
//! tell a used session from one that only answers pings. Virtual clock throughout.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::conn::WsConn;
use super::conn_tests::client_frame;
use crate::limits::WsLimits;

const S: Duration = Duration::from_secs(1);

fn conn(t0: Instant) -> WsConn {
    WsConn::new(WsLimits::default(), None, t0)
}

#[test]
fn rfc6455_5_6_a_data_frame_in_either_direction_moves_last_data() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    assert_eq!(c.last_data(), t0, "a new session counts from its upgrade");
    c.handle_input(t0 + S * 10, &client_frame(0x81, b"hello", None));
    assert_eq!(c.last_data(), t0 + S * 10);
    // Queued by a handler (no time given); the next call that knows the time records it.
    c.send_binary(Bytes::from_static(b"push")).unwrap();
    c.handle_output_drained(t0 + S * 20);
    assert_eq!(c.last_data(), t0 + S * 20);
    // An empty data frame is a message too.
    c.handle_input(t0 + S * 30, &client_frame(0x82, b"", None));
    assert_eq!(c.last_data(), t0 + S * 30);
}

#[test]
fn rfc6455_5_5_pings_pongs_and_silence_do_not_move_last_data() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.handle_input(t0 + S, &client_frame(0x81, b"x", None));
    // The client's own Ping, our Pong answer, our Ping after silence and the client's
    // Pong: the session is alive, but nobody uses it.
    c.handle_input(t0 + S * 40, &client_frame(0x89, b"are you there", None));
    c.handle_output_drained(t0 + S * 41);
    c.handle_timeout(t0 + S * 80);
    c.handle_input(t0 + S * 81, &client_frame(0x8a, b"", None));
    c.handle_timeout(t0 + S * 200);
    assert_eq!(c.last_data(), t0 + S);
}

#[test]
fn rfc6455_5_4_a_fragmented_message_moves_last_data_per_frame() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    // A slow upload in fragments: every data frame counts, not only the first.
    c.handle_input(t0 + S, &client_frame(0x01, b"a", None));
    c.handle_input(t0 + S * 300, &client_frame(0x00, b"b", None));
    assert_eq!(c.last_data(), t0 + S * 300);
    // Split within a frame: the header is what counts.
    let last = client_frame(0x80, b"c", None);
    c.handle_input(t0 + S * 600, &last[..6]);
    assert_eq!(c.last_data(), t0 + S * 600);
    c.handle_input(t0 + S * 601, &last[6..]);
    assert_eq!(c.last_data(), t0 + S * 600);
}

//! PING (RFC 9113 §6.7).

use bytes::{Bytes, BytesMut};

use super::head::{flags, kind, Head};
use super::FrameError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping {
    pub ack: bool,
    pub opaque: [u8; 8],
}

impl Ping {
    pub fn parse(head: &Head, payload: Bytes) -> Result<Ping, FrameError> {
        if head.stream_id != 0 {
            return Err(FrameError::protocol("PING on a stream"));
        }
        let Ok(opaque) = <[u8; 8]>::try_from(&payload[..]) else {
            return Err(FrameError::frame_size("PING length is not 8"));
        };
        Ok(Ping {
            ack: head.has(flags::ACK),
            opaque,
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.ack { flags::ACK } else { 0 };
        Head::new(kind::PING, f, 0, 8).encode(dst);
        dst.extend_from_slice(&self.opaque);
    }
}

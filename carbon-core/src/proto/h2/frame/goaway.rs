//! GOAWAY (RFC 9113 §6.8).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{kind, Head};
use super::FrameError;
use crate::proto::h2::error::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAway {
    pub last_stream_id: u32,
    pub code: ErrorCode,
    pub debug: Bytes,
}

impl GoAway {
    pub fn parse(head: &Head, payload: Bytes) -> Result<GoAway, FrameError> {
        if head.stream_id != 0 {
            return Err(FrameError::protocol("GOAWAY on a stream"));
        }
        if payload.len() < 8 {
            return Err(FrameError::frame_size("GOAWAY shorter than 8 bytes"));
        }
        let p = &payload[..];
        Ok(GoAway {
            last_stream_id: u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff,
            code: ErrorCode(u32::from_be_bytes([p[4], p[5], p[6], p[7]])),
            debug: payload.slice(8..),
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        Head::new(kind::GOAWAY, 0, 0, 8 + self.debug.len() as u32).encode(dst);
        dst.put_u32(self.last_stream_id & 0x7fff_ffff);
        dst.put_u32(self.code.0);
        dst.extend_from_slice(&self.debug);
    }
}

//! RST_STREAM (RFC 9113 §6.4).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{kind, Head};
use super::FrameError;
use crate::proto::h2::error::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RstStream {
    pub stream_id: u32,
    pub code: ErrorCode,
}

impl RstStream {
    pub fn parse(head: &Head, payload: Bytes) -> Result<RstStream, FrameError> {
        if head.stream_id == 0 {
            return Err(FrameError::protocol("RST_STREAM on stream 0"));
        }
        if payload.len() != 4 {
            return Err(FrameError::frame_size("RST_STREAM length is not 4"));
        }
        Ok(RstStream {
            stream_id: head.stream_id,
            code: ErrorCode(u32::from_be_bytes([
                payload[0], payload[1], payload[2], payload[3],
            ])),
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        Head::new(kind::RST_STREAM, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.code.0);
    }
}

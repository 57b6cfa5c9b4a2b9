//! WINDOW_UPDATE (RFC 9113 §6.9).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{kind, Head};
use super::FrameError;
use crate::proto::h2::error::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowUpdate {
    pub stream_id: u32,
    pub increment: u32,
}

impl WindowUpdate {
    pub fn parse(head: &Head, payload: Bytes) -> Result<WindowUpdate, FrameError> {
        if payload.len() != 4 {
            return Err(FrameError::frame_size("WINDOW_UPDATE length is not 4"));
        }
        let increment =
            u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]) & 0x7fff_ffff;
        if increment == 0 {
            // §6.9: an error of the stream's scope, or of the connection on stream 0.
            return Err(if head.stream_id == 0 {
                FrameError::protocol("WINDOW_UPDATE increment of 0 on the connection")
            } else {
                FrameError::stream(
                    head.stream_id,
                    ErrorCode::PROTOCOL_ERROR,
                    "WINDOW_UPDATE increment of 0",
                )
            });
        }
        Ok(WindowUpdate {
            stream_id: head.stream_id,
            increment,
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        Head::new(kind::WINDOW_UPDATE, 0, self.stream_id, 4).encode(dst);
        dst.put_u32(self.increment & 0x7fff_ffff);
    }
}

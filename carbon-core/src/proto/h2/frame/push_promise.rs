//! PUSH_PROMISE (RFC 9113 §6.6). Only a server may send it: one received by a server
//! is a connection error PROTOCOL_ERROR (§8.4), whatever it holds, so parsing checks
//! only its framing.

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{flags, kind, Head};
use super::{strip_padding, FrameError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPromise {
    pub stream_id: u32,
    pub promised_id: u32,
    pub fragment: Bytes,
    pub end_headers: bool,
}

impl PushPromise {
    pub fn parse(head: &Head, payload: Bytes) -> Result<PushPromise, FrameError> {
        if head.stream_id == 0 {
            return Err(FrameError::protocol("PUSH_PROMISE on stream 0"));
        }
        let rest = strip_padding(head, payload)?;
        if rest.len() < 4 {
            return Err(FrameError::frame_size("PUSH_PROMISE too short"));
        }
        Ok(PushPromise {
            stream_id: head.stream_id,
            promised_id: u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) & 0x7fff_ffff,
            fragment: rest.slice(4..),
            end_headers: head.has(flags::END_HEADERS),
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.end_headers {
            flags::END_HEADERS
        } else {
            0
        };
        let len = 4 + self.fragment.len() as u32;
        Head::new(kind::PUSH_PROMISE, f, self.stream_id, len).encode(dst);
        dst.put_u32(self.promised_id);
        dst.extend_from_slice(&self.fragment);
    }
}

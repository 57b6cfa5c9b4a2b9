//! CONTINUATION (RFC 9113 §6.10).

use bytes::{Bytes, BytesMut};

use super::head::{flags, kind, Head};
use super::FrameError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    pub stream_id: u32,
    pub fragment: Bytes,
    pub end_headers: bool,
}

impl Continuation {
    pub fn parse(head: &Head, payload: Bytes) -> Result<Continuation, FrameError> {
        if head.stream_id == 0 {
            return Err(FrameError::protocol("CONTINUATION on stream 0"));
        }
        Ok(Continuation {
            stream_id: head.stream_id,
            fragment: payload,
            end_headers: head.has(flags::END_HEADERS),
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.end_headers {
            flags::END_HEADERS
        } else {
            0
        };
        Head::new(
            kind::CONTINUATION,
            f,
            self.stream_id,
            self.fragment.len() as u32,
        )
        .encode(dst);
        dst.extend_from_slice(&self.fragment);
    }
}

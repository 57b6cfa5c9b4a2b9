//! HEADERS (RFC 9113 §6.2). The field block fragment is decoded by the connection,
//! once the block is complete (CONTINUATION, §6.10).

use bytes::{Bytes, BytesMut};

use super::head::{flags, kind, Head};
use super::priority::PrioritySpec;
use super::{strip_padding, FrameError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    pub stream_id: u32,
    pub priority: Option<PrioritySpec>,
    pub fragment: Bytes,
    pub end_stream: bool,
    pub end_headers: bool,
}

impl Headers {
    pub fn parse(head: &Head, payload: Bytes) -> Result<Headers, FrameError> {
        if head.stream_id == 0 {
            return Err(FrameError::protocol("HEADERS on stream 0"));
        }
        let mut rest = strip_padding(head, payload)?;
        let priority = if head.has(flags::PRIORITY) {
            if rest.len() < PrioritySpec::LEN {
                return Err(FrameError::frame_size("HEADERS too short for its priority"));
            }
            let spec = PrioritySpec::parse(&rest);
            rest = rest.slice(PrioritySpec::LEN..);
            Some(spec)
        } else {
            None
        };
        Ok(Headers {
            stream_id: head.stream_id,
            priority,
            fragment: rest,
            end_stream: head.has(flags::END_STREAM),
            end_headers: head.has(flags::END_HEADERS),
        })
    }

    /// Encodes the frame; the fragment must fit the peer's SETTINGS_MAX_FRAME_SIZE.
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut f = 0;
        if self.end_stream {
            f |= flags::END_STREAM;
        }
        if self.end_headers {
            f |= flags::END_HEADERS;
        }
        let mut len = self.fragment.len() as u32;
        if self.priority.is_some() {
            f |= flags::PRIORITY;
            len += PrioritySpec::LEN as u32;
        }
        Head::new(kind::HEADERS, f, self.stream_id, len).encode(dst);
        if let Some(p) = &self.priority {
            p.encode(dst);
        }
        dst.extend_from_slice(&self.fragment);
    }
}

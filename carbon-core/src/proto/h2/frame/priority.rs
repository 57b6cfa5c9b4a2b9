//! PRIORITY (RFC 9113 §6.3, deprecated scheme of RFC 7540 §5.3): parsed and
//! validated, otherwise ignored. Also the 5-byte priority block of HEADERS.

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{kind, Head};
use super::FrameError;
use crate::proto::h2::error::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrioritySpec {
    pub exclusive: bool,
    pub dependency: u32,
    pub weight: u8,
}

impl PrioritySpec {
    pub const LEN: usize = 5;

    pub fn parse(b: &[u8]) -> PrioritySpec {
        let d = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        PrioritySpec {
            exclusive: d & 0x8000_0000 != 0,
            dependency: d & 0x7fff_ffff,
            weight: b[4],
        }
    }

    /// RFC 9113 §5.3.1: a stream cannot depend on itself; a stream error.
    pub fn check(&self, stream_id: u32) -> Result<(), FrameError> {
        if self.dependency == stream_id {
            return Err(FrameError::stream(
                stream_id,
                ErrorCode::PROTOCOL_ERROR,
                "stream depends on itself",
            ));
        }
        Ok(())
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        let e = if self.exclusive { 0x8000_0000 } else { 0 };
        dst.put_u32(self.dependency | e);
        dst.put_u8(self.weight);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub stream_id: u32,
    pub spec: PrioritySpec,
}

impl Priority {
    pub fn parse(head: &Head, payload: Bytes) -> Result<Priority, FrameError> {
        if head.stream_id == 0 {
            return Err(FrameError::protocol("PRIORITY on stream 0"));
        }
        if payload.len() != PrioritySpec::LEN {
            // §6.3: a stream error, the frame touches one stream only.
            return Err(FrameError::stream(
                head.stream_id,
                ErrorCode::FRAME_SIZE_ERROR,
                "PRIORITY length is not 5",
            ));
        }
        let spec = PrioritySpec::parse(&payload);
        spec.check(head.stream_id)?;
        Ok(Priority {
            stream_id: head.stream_id,
            spec,
        })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        Head::new(kind::PRIORITY, 0, self.stream_id, 5).encode(dst);
        self.spec.encode(dst);
    }
}

//! DATA (RFC 9113 §6.1).

use bytes::{Bytes, BytesMut};

use super::head::{flags, kind, Head};
use super::{strip_padding, FrameError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    pub stream_id: u32,
    pub data: Bytes,
    pub end_stream: bool,
    /// The whole payload length, padding included: what flow control counts (§6.9).
    pub flow_len: u32,
}

impl Data {
    pub fn parse(head: &Head, payload: Bytes) -> Result<Data, FrameError> {
        if head.stream_id == 0 {
            return Err(FrameError::protocol("DATA on stream 0"));
        }
        let data = strip_padding(head, payload)?;
        Ok(Data {
            stream_id: head.stream_id,
            data,
            end_stream: head.has(flags::END_STREAM),
            flow_len: head.len,
        })
    }

    /// The header of a DATA frame of `len` payload bytes (the payload follows it).
    pub fn head(stream_id: u32, len: u32, end_stream: bool) -> Head {
        let f = if end_stream { flags::END_STREAM } else { 0 };
        Head::new(kind::DATA, f, stream_id, len)
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        Data::head(self.stream_id, self.data.len() as u32, self.end_stream).encode(dst);
        dst.extend_from_slice(&self.data);
    }
}

//! SETTINGS (RFC 9113 §6.5).

use bytes::{BufMut, Bytes, BytesMut};

use super::head::{flags, kind, Head};
use super::FrameError;
use crate::proto::h2::error::ErrorCode;

/// Setting identifiers (RFC 9113 §6.5.2, RFC 8441 §3). Others are ignored (§6.5.2).
pub mod id {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
}

/// Largest flow-control window (RFC 9113 §6.9.1).
pub const MAX_WINDOW: u32 = (1 << 31) - 1;
/// SETTINGS_MAX_FRAME_SIZE bounds (RFC 9113 §6.5.2).
pub const MIN_MAX_FRAME_SIZE: u32 = 1 << 14;
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// One SETTINGS frame: the parameters it carries, in order. Values are validated on
/// parse; unknown identifiers are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub ack: bool,
    pub params: Vec<(u16, u32)>,
}

impl Settings {
    pub fn parse(head: &Head, payload: Bytes) -> Result<Settings, FrameError> {
        if head.stream_id != 0 {
            return Err(FrameError::protocol("SETTINGS on a stream"));
        }
        if head.has(flags::ACK) {
            if !payload.is_empty() {
                return Err(FrameError::frame_size("SETTINGS ACK with a payload"));
            }
            return Ok(Settings {
                ack: true,
                params: Vec::new(),
            });
        }
        if !payload.len().is_multiple_of(6) {
            return Err(FrameError::frame_size(
                "SETTINGS length not a multiple of 6",
            ));
        }
        let mut params = Vec::with_capacity(payload.len() / 6);
        for p in payload.chunks_exact(6) {
            let ident = u16::from_be_bytes([p[0], p[1]]);
            let value = u32::from_be_bytes([p[2], p[3], p[4], p[5]]);
            match ident {
                id::ENABLE_PUSH | id::ENABLE_CONNECT_PROTOCOL if value > 1 => {
                    return Err(FrameError::protocol("SETTINGS boolean not 0 or 1"));
                }
                id::INITIAL_WINDOW_SIZE if value > MAX_WINDOW => {
                    return Err(FrameError::conn(
                        ErrorCode::FLOW_CONTROL_ERROR,
                        "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                    ));
                }
                id::MAX_FRAME_SIZE
                    if !(MIN_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) =>
                {
                    return Err(FrameError::protocol("SETTINGS_MAX_FRAME_SIZE out of range"));
                }
                id::HEADER_TABLE_SIZE
                | id::ENABLE_PUSH
                | id::MAX_CONCURRENT_STREAMS
                | id::INITIAL_WINDOW_SIZE
                | id::MAX_FRAME_SIZE
                | id::MAX_HEADER_LIST_SIZE
                | id::ENABLE_CONNECT_PROTOCOL => params.push((ident, value)),
                _ => {}
            }
        }
        Ok(Settings { ack: false, params })
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        let f = if self.ack { flags::ACK } else { 0 };
        Head::new(kind::SETTINGS, f, 0, 6 * self.params.len() as u32).encode(dst);
        for (i, v) in &self.params {
            dst.put_u16(*i);
            dst.put_u32(*v);
        }
    }
}

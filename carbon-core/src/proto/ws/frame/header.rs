//! Frame header fields (RFC 6455 §5.2) and the encoder for server frames.

/// RFC 6455 §5.5: control frames carry at most 125 bytes of payload.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// RFC 6455 §5.2 / §11.8 opcodes. The reserved values 3-7 and 0xB-0xF are refused
/// by the decoder (§5.2: "If an unknown opcode is received, the receiving endpoint
/// MUST _Fail the WebSocket Connection_").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    pub fn from_u8(v: u8) -> Option<OpCode> {
        Some(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// §5.5: opcodes with the most significant bit set are control frames.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded frame header. `mask` is `None` for unmasked frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1: "per-message compressed" when permessage-deflate is negotiated
    /// (RFC 7692 §6). RSV2 and RSV3 are never accepted (no extension defines them here).
    pub rsv1: bool,
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    pub len: u64,
}

/// Appends a server frame header: never masked (RFC 6455 §5.1: "A server MUST NOT mask
/// any frames that it sends to the client"), with the minimal length encoding (§5.2).
pub fn encode_header(fin: bool, rsv1: bool, opcode: OpCode, len: u64, out: &mut Vec<u8>) {
    let b0 = (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode.as_u8();
    out.push(b0);
    if len < 126 {
        out.push(len as u8);
    } else if len <= u64::from(u16::MAX) {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

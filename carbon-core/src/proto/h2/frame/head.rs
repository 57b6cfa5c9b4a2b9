//! The 9-byte frame header (RFC 9113 §4.1).

use bytes::{BufMut, BytesMut};

/// Length of the frame header on the wire.
pub const HEAD_LEN: usize = 9;

/// Frame types (RFC 9113 §6, §11.2).
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Flags (RFC 9113 §6). Unknown flags are ignored (§4.1).
pub mod flags {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// A decoded frame header. The reserved bit of the stream identifier is ignored on
/// receipt (RFC 9113 §4.1) and sent as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream_id: u32,
}

impl Head {
    pub fn new(kind: u8, flags: u8, stream_id: u32, len: u32) -> Self {
        Head {
            len,
            kind,
            flags,
            stream_id,
        }
    }

    pub fn parse(b: &[u8; HEAD_LEN]) -> Self {
        Head {
            len: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream_id: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    pub fn to_bytes(&self) -> [u8; HEAD_LEN] {
        let l = self.len.to_be_bytes();
        let s = (self.stream_id & 0x7fff_ffff).to_be_bytes();
        [
            l[1], l[2], l[3], self.kind, self.flags, s[0], s[1], s[2], s[3],
        ]
    }

    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(&self.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9113_4_1_reserved_bit_ignored_on_receipt() {
        let h = Head::parse(&[0, 0, 4, 3, 0, 0x80, 0, 0, 1]);
        assert_eq!(h.stream_id, 1);
        assert_eq!(h.len, 4);
        assert_eq!(h.kind, kind::RST_STREAM);
        assert_eq!(Head::parse(&h.to_bytes()), h);
    }
}

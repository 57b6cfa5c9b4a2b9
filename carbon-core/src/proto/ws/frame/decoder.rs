//! Incremental frame decoder: accepts the input in any split, down to one byte at a
//! time, and never buffers payload itself (the caller copies the payload slices it is
//! handed, so an idle decoder owns no heap memory).

use super::header::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};
use crate::proto::ws::close::CloseCode;

/// What [`FrameDecoder::decode`] found at the front of the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// A complete, valid header. Its payload follows as `Payload` items (none when
    /// `len == 0`).
    Header(FrameHeader),
    /// A piece of the current frame's payload, still masked; `offset` is its position
    /// in the payload (for [`super::apply_mask`]), `last` marks the frame's end.
    Payload {
        data: &'a [u8],
        offset: u64,
        last: bool,
    },
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// `have` bytes of a header are in `buf`.
    Header {
        have: u8,
    },
    Payload {
        remaining: u64,
        offset: u64,
    },
}

/// Server-side decoder of client frames (RFC 6455 §5.2).
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: [u8; 14],
    state: State,
    /// RSV1 may be set (permessage-deflate negotiated, RFC 7692 §6).
    rsv1_allowed: bool,
    /// Largest payload of one frame; beyond it 1009 (RFC 6455 §7.4.1).
    max_frame: u64,
    /// draft-damjanovic-websockets-nomasking: "no-masking" was negotiated (over TLS
    /// only), so client frames come unmasked and a masked one is refused.
    unmasked: bool,
}

impl FrameDecoder {
    pub fn new(rsv1_allowed: bool, max_frame: u64) -> Self {
        FrameDecoder {
            buf: [0; 14],
            state: State::Header { have: 0 },
            rsv1_allowed,
            max_frame,
            unmasked: false,
        }
    }

    /// After the "no-masking" extension was negotiated: client frames must be
    /// unmasked (a masked one is 1002, as the draft's section 3 says). Set before
    /// input arrives.
    pub fn set_unmasked(&mut self, on: bool) {
        self.unmasked = on;
    }

    /// True between frames (no partial header or payload pending).
    pub fn is_between_frames(&self) -> bool {
        matches!(self.state, State::Header { have: 0 })
    }

    /// Decodes from the front of `input`. Returns the bytes consumed and the item
    /// found, or `None` when all of `input` was consumed into a partial header. An
    /// error is final: the connection must be failed with the returned close code.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Item<'a>>), CloseCode> {
        match self.state {
            State::Payload { remaining, offset } => {
                let n = remaining.min(input.len() as u64) as usize;
                let rest = remaining - n as u64;
                self.state = if rest == 0 {
                    State::Header { have: 0 }
                } else {
                    State::Payload {
                        remaining: rest,
                        offset: offset + n as u64,
                    }
                };
                if n == 0 {
                    return Ok((0, None));
                }
                Ok((
                    n,
                    Some(Item::Payload {
                        data: &input[..n],
                        offset,
                        last: rest == 0,
                    }),
                ))
            }
            State::Header { have } => {
                let mut have = usize::from(have);
                let mut used = 0;
                loop {
                    let need = header_len(&self.buf[..have]);
                    if have >= need {
                        break;
                    }
                    let Some(&b) = input.get(used) else {
                        self.state = State::Header { have: have as u8 };
                        return Ok((used, None));
                    };
                    self.buf[have] = b;
                    have += 1;
                    used += 1;
                    // Check the first two bytes as soon as they are in: a bad opcode or
                    // an unmasked frame fails before its length arrives.
                    if have <= 2 {
                        self.check_prefix(have)?;
                    }
                }
                let h = self.parse(have)?;
                self.state = if h.len == 0 {
                    State::Header { have: 0 }
                } else {
                    State::Payload {
                        remaining: h.len,
                        offset: 0,
                    }
                };
                Ok((used, Some(Item::Header(h))))
            }
        }
    }

    fn check_prefix(&self, have: usize) -> Result<(), CloseCode> {
        let b0 = self.buf[0];
        // RFC 6455 §5.2: RSV2/RSV3 without an extension defining them; RSV1 only with
        // permessage-deflate (RFC 7692 §6).
        if b0 & 0x30 != 0 || (b0 & 0x40 != 0 && !self.rsv1_allowed) {
            return Err(CloseCode::PROTOCOL_ERROR);
        }
        let Some(op) = OpCode::from_u8(b0 & 0x0f) else {
            return Err(CloseCode::PROTOCOL_ERROR);
        };
        if op.is_control() {
            // §5.5: control frames are never fragmented. RFC 7692 §6.1: RSV1 is only
            // for data frames.
            if b0 & 0x80 == 0 || b0 & 0x40 != 0 {
                return Err(CloseCode::PROTOCOL_ERROR);
            }
        }
        if have == 2 {
            let b1 = self.buf[1];
            // §5.1: "The server MUST close the connection upon receiving a frame that
            // is not masked."
            // With "no-masking" it is the other way round.
            if (b1 & 0x80 == 0) != self.unmasked {
                return Err(CloseCode::PROTOCOL_ERROR);
            }
            if op.is_control() && usize::from(b1 & 0x7f) > MAX_CONTROL_PAYLOAD {
                return Err(CloseCode::PROTOCOL_ERROR);
            }
        }
        Ok(())
    }

    fn parse(&self, have: usize) -> Result<FrameHeader, CloseCode> {
        let b = &self.buf[..have];
        let opcode = OpCode::from_u8(b[0] & 0x0f).ok_or(CloseCode::PROTOCOL_ERROR)?;
        let len7 = b[1] & 0x7f;
        let (len, mask_at) = match len7 {
            126 => {
                let l = u64::from(u16::from_be_bytes([b[2], b[3]]));
                // §5.2: "the minimal number of bytes MUST be used to encode the length".
                if l < 126 {
                    return Err(CloseCode::PROTOCOL_ERROR);
                }
                (l, 4)
            }
            127 => {
                let mut a = [0; 8];
                a.copy_from_slice(&b[2..10]);
                let l = u64::from_be_bytes(a);
                // §5.2: "the most significant bit MUST be 0"; and minimal encoding.
                if l >> 63 != 0 || l <= u64::from(u16::MAX) {
                    return Err(CloseCode::PROTOCOL_ERROR);
                }
                (l, 10)
            }
            n => (u64::from(n), 2),
        };
        if len > self.max_frame {
            return Err(CloseCode::MESSAGE_TOO_BIG);
        }
        let mask = if self.unmasked {
            None
        } else {
            let mut mask = [0; 4];
            mask.copy_from_slice(&b[mask_at..mask_at + 4]);
            Some(mask)
        };
        Ok(FrameHeader {
            fin: b[0] & 0x80 != 0,
            rsv1: b[0] & 0x40 != 0,
            opcode,
            mask,
            len,
        })
    }
}

/// Header length implied by the bytes seen so far (2 until the length byte is in).
fn header_len(seen: &[u8]) -> usize {
    let Some(&b1) = seen.get(1) else {
        return 2;
    };
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    2 + ext + mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` one byte at a time; returns the header and the payload bytes
    /// (still masked) as the decoder handed them out.
    fn bytewise(d: &mut FrameDecoder, wire: &[u8]) -> Result<(FrameHeader, Vec<u8>), CloseCode> {
        let mut header = None;
        let mut payload = Vec::new();
        for b in wire {
            let (n, item) = d.decode(std::slice::from_ref(b))?;
            assert_eq!(n, 1, "every byte is consumed");
            match item {
                Some(Item::Header(h)) => header = Some(h),
                Some(Item::Payload { data, offset, .. }) => {
                    assert_eq!(offset, payload.len() as u64);
                    payload.extend_from_slice(data);
                }
                None => {}
            }
        }
        Ok((header.unwrap(), payload))
    }

    #[test]
    fn rfc6455_5_2_header_decoded_byte_by_byte_for_each_length_form() {
        for (len, len_bytes) in [
            (5u64, vec![0x80 | 5]),
            (300, vec![0x80 | 126, 0x01, 0x2c]),
            (
                70_000,
                [vec![0x80 | 127], 70_000u64.to_be_bytes().to_vec()].concat(),
            ),
        ] {
            let mut wire = vec![0x82];
            wire.extend(len_bytes);
            wire.extend([1, 2, 3, 4]);
            wire.extend(vec![9u8; len as usize]);
            let mut d = FrameDecoder::new(false, 1 << 20);
            let (h, p) = bytewise(&mut d, &wire).unwrap();
            assert_eq!(h.len, len);
            assert_eq!(h.mask, Some([1, 2, 3, 4]));
            assert_eq!(h.opcode, OpCode::Binary);
            assert!(h.fin && !h.rsv1);
            assert_eq!(p.len() as u64, len);
            assert!(d.is_between_frames());
        }
    }

    #[test]
    fn rfc6455_5_2_bad_opcode_refused_at_the_first_byte() {
        let mut d = FrameDecoder::new(false, 1 << 20);
        assert_eq!(d.decode(&[0x83]), Err(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn rfc6455_5_1_unmasked_refused_at_the_second_byte() {
        let mut d = FrameDecoder::new(false, 1 << 20);
        assert_eq!(d.decode(&[0x81]), Ok((1, None)));
        assert_eq!(d.decode(&[0x05]), Err(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn nomasking_3_unmasked_frames_accepted_and_masked_refused_once_negotiated() {
        let mut d = FrameDecoder::new(false, 1 << 20);
        d.set_unmasked(true);
        // An unmasked "Hello" (RFC 6455 §5.7), byte by byte.
        let (h, payload) = bytewise(&mut d, b"\x81\x05Hello").unwrap();
        assert_eq!((h.mask, h.len), (None, 5));
        assert_eq!(payload, b"Hello");
        // 300 bytes with a 16-bit length and no masking key.
        let mut wire = vec![0x82, 126, 0x01, 0x2c];
        wire.extend(vec![9u8; 300]);
        assert_eq!(bytewise(&mut d, &wire).unwrap().1.len(), 300);
        // draft section 3: a masked frame is then a 1002.
        let mut d = FrameDecoder::new(false, 1 << 20);
        d.set_unmasked(true);
        assert_eq!(d.decode(&[0x81]), Ok((1, None)));
        assert_eq!(d.decode(&[0x85]), Err(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn rfc7692_6_rsv1_accepted_only_when_negotiated() {
        let wire = [0xC1, 0x80, 0, 0, 0, 0];
        assert!(
            bytewise(&mut FrameDecoder::new(true, 100), &wire)
                .unwrap()
                .0
                .rsv1
        );
        assert_eq!(
            FrameDecoder::new(false, 100).decode(&wire),
            Err(CloseCode::PROTOCOL_ERROR)
        );
        // RSV1 on a control frame, even when negotiated (RFC 7692 §6.1).
        assert_eq!(
            FrameDecoder::new(true, 100).decode(&[0xC9, 0x80]),
            Err(CloseCode::PROTOCOL_ERROR)
        );
    }
}

//! Message assembly rules (RFC 6455 §5.4): which data frame may follow which.
//!
//! Control frames may arrive between the fragments of a message and are answered at
//! once by the connection; this module only tracks the data-frame sequence.

use super::close::CloseCode;
use super::frame::{FrameHeader, OpCode};

/// The data type of a message (§5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Text,
    Binary,
}

/// A data frame's place in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFrame {
    pub kind: MessageKind,
    /// First frame of a message.
    pub first: bool,
    /// Last frame of a message (FIN).
    pub last: bool,
    /// The message is compressed (RSV1 on its first frame, RFC 7692 §6).
    pub compressed: bool,
}

/// Tracks the message being assembled between frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct Assembler {
    current: Option<(MessageKind, bool)>,
}

impl Assembler {
    /// True while a fragmented message is open.
    pub fn in_message(&self) -> bool {
        self.current.is_some()
    }

    /// Checks a data frame's header against the sequence so far.
    pub fn on_data_frame(&mut self, h: &FrameHeader) -> Result<DataFrame, CloseCode> {
        let (kind, first, compressed) = match (h.opcode, self.current) {
            // §5.4: a continuation needs a message to continue.
            (OpCode::Continuation, None) => return Err(CloseCode::PROTOCOL_ERROR),
            (OpCode::Continuation, Some((kind, compressed))) => {
                // RFC 7692 §6.1: RSV1 is set on the first frame only.
                if h.rsv1 {
                    return Err(CloseCode::PROTOCOL_ERROR);
                }
                (kind, false, compressed)
            }
            // §5.4: fragments of one message are not interleaved with another.
            (OpCode::Text | OpCode::Binary, Some(_)) => return Err(CloseCode::PROTOCOL_ERROR),
            (OpCode::Text, None) => (MessageKind::Text, true, h.rsv1),
            (OpCode::Binary, None) => (MessageKind::Binary, true, h.rsv1),
            _ => return Err(CloseCode::PROTOCOL_ERROR),
        };
        self.current = if h.fin {
            None
        } else {
            Some((kind, compressed))
        };
        Ok(DataFrame {
            kind,
            first,
            last: h.fin,
            compressed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(op: OpCode, fin: bool, rsv1: bool) -> FrameHeader {
        FrameHeader {
            fin,
            rsv1,
            opcode: op,
            mask: Some([0; 4]),
            len: 0,
        }
    }

    #[test]
    fn rfc6455_5_4_continuation_without_a_message_is_protocol_error() {
        let mut a = Assembler::default();
        assert_eq!(
            a.on_data_frame(&h(OpCode::Continuation, true, false)),
            Err(CloseCode::PROTOCOL_ERROR)
        );
    }

    #[test]
    fn rfc6455_5_4_new_message_inside_a_fragmented_one_is_protocol_error() {
        let mut a = Assembler::default();
        a.on_data_frame(&h(OpCode::Text, false, false)).unwrap();
        assert_eq!(
            a.on_data_frame(&h(OpCode::Binary, true, false)),
            Err(CloseCode::PROTOCOL_ERROR)
        );
    }

    #[test]
    fn rfc6455_5_4_fragments_assemble_in_order() {
        let mut a = Assembler::default();
        let f = a.on_data_frame(&h(OpCode::Binary, false, true)).unwrap();
        assert!(f.first && !f.last && f.compressed);
        let f = a
            .on_data_frame(&h(OpCode::Continuation, false, false))
            .unwrap();
        assert!(!f.first && !f.last && f.compressed && f.kind == MessageKind::Binary);
        let f = a
            .on_data_frame(&h(OpCode::Continuation, true, false))
            .unwrap();
        assert!(f.last);
        assert!(!a.in_message());
    }

    #[test]
    fn rfc7692_6_1_rsv1_on_a_continuation_is_protocol_error() {
        let mut a = Assembler::default();
        a.on_data_frame(&h(OpCode::Text, false, true)).unwrap();
        assert_eq!(
            a.on_data_frame(&h(OpCode::Continuation, true, true)),
            Err(CloseCode::PROTOCOL_ERROR)
        );
    }
}

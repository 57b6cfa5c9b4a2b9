//! The WebSocket wire format (RFC 6455 §5.2): frame headers, masking, and an
//! incremental decoder. This module knows nothing of messages, UTF-8 or closing; it
//! only refuses frames whose header breaks §5.2 and reports the close code.

mod decoder;
mod header;
mod mask;

pub use decoder::{FrameDecoder, Item};
pub use header::{encode_header, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};
pub use mask::apply_mask;

//! The Huffman code of RFC 7541 §5.2 and Appendix B.
//!
//! * [`code`]: the code table, typed from the RFC as data.
//! * [`decode`]: a nibble-at-a-time state machine generated from that table once, at
//!   first use; rejects EOS inside a string and padding that is longer than 7 bits or
//!   not all ones.
//! * [`encode`]: bit-packing encoder, and the encoded length so callers can pick the
//!   shorter of raw and Huffman before writing anything.

pub mod code;
mod decode;
mod encode;

pub use decode::decode;
pub use encode::{encode, encoded_len};

#[cfg(test)]
mod tests;

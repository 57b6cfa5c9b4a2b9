//! HPACK (RFC 7541): header compression for HTTP/2.
//!
//! * [`integer`], [`string`]: the primitive representations (§5).
//! * [`huffman`]: the canonical Huffman code of Appendix B (§5.2).
//! * [`table`]: the static table and the dynamic table (§2.3, §4).
//! * [`Decoder`]: header blocks from the peer, with the defences listed on it.
//! * [`Encoder`]: header blocks we send, with the indexing policy described on it.
//!
//! One decoder and one encoder per connection; both are plain state (no I/O, no
//! clock). Fields cross the API as borrowed [`HeaderField`]s, so neither side
//! allocates per field beyond new dynamic table entries.

mod decoder;
mod encoder;
mod error;
pub mod huffman;
pub mod integer;
mod kept;
mod literals;
mod memo;
mod runs;
mod slots;
pub mod string;
pub mod table;

pub use decoder::Decoder;
pub use encoder::{Encoder, Strategy, MAX_ENCODER_TABLE_SIZE};
pub use error::DecodeError;

/// SETTINGS_HEADER_TABLE_SIZE before any SETTINGS frame (RFC 9113 §6.5.2), and the
/// dynamic table size both sides start with (RFC 7541 §4.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// One header field, borrowed from the block, a table or a scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// Decoding: the field arrived as a never-indexed literal (RFC 7541 §6.2.3).
    /// Encoding: the field must be sent as one, whatever the strategy (§7.1.3).
    pub sensitive: bool,
}

impl<'a> HeaderField<'a> {
    /// A field that is not marked sensitive (the encoder may still treat it so, e.g.
    /// `authorization`).
    pub fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        HeaderField {
            name,
            value,
            sensitive: false,
        }
    }
}

#[cfg(test)]
pub(crate) mod fuzz_invariants;
#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
mod testdata_tests;
#[cfg(test)]
mod tests;

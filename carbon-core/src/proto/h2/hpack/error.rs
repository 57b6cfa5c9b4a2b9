//! Why a header block could not be decoded, and what the connection does about it.
//!
//! RFC 9113 §4.3: a header block that cannot be decompressed MUST be treated as a
//! connection error of type COMPRESSION_ERROR, because the peer's dynamic table and ours
//! may no longer agree. The one exception is [`DecodeError::HeaderListTooLarge`]: the
//! block was decoded completely (the table is in sync) but its fields exceed our
//! SETTINGS_MAX_HEADER_LIST_SIZE, which is a per-request problem (RFC 9113 §8.2.2, the
//! stream is refused with 431 or RST_STREAM, the connection lives on).

use std::fmt;

/// A header block the decoder refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The block ends inside a representation (a prefix integer or a string literal).
    Truncated,
    /// A prefix integer does not fit in `usize`, or has more continuation bytes than any
    /// value we accept could need (RFC 7541 §5.1: "integer encodings that exceed
    /// implementation limits").
    IntegerOverflow,
    /// Index 0 in an indexed representation (RFC 7541 §6.1: MUST be treated as an error).
    ZeroIndex,
    /// An index beyond the static and dynamic tables (RFC 7541 §2.3.3).
    InvalidIndex(usize),
    /// A string literal longer than what is left of the block.
    StringTooLong,
    /// The Huffman-coded string contains the EOS symbol (RFC 7541 §5.2: MUST be an error).
    HuffmanEos,
    /// The Huffman padding is longer than 7 bits or is not the most significant bits of
    /// EOS, i.e. not all ones (RFC 7541 §5.2: MUST be an error).
    HuffmanPadding,
    /// A dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §6.3).
    TableSizeTooLarge {
        /// The size the peer asked for.
        requested: usize,
        /// Our maximum.
        max: usize,
    },
    /// A dynamic table size update after the first field of a block (RFC 7541 §4.2).
    LateTableSizeUpdate,
    /// We lowered SETTINGS_HEADER_TABLE_SIZE below the table's size and the next block did
    /// not start with a size update that honours it (RFC 7541 §4.2).
    MissingTableSizeUpdate,
    /// The decoded fields exceed SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2). The
    /// block was still processed to its end, so the dynamic table is in sync: a stream
    /// error, not a connection error.
    HeaderListTooLarge,
}

impl DecodeError {
    /// Whether the connection must end with GOAWAY(COMPRESSION_ERROR) (RFC 9113 §4.3).
    /// False only for [`DecodeError::HeaderListTooLarge`], which concerns one stream.
    pub fn is_connection_error(&self) -> bool {
        !matches!(self, DecodeError::HeaderListTooLarge)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("header block ends inside a representation"),
            DecodeError::IntegerOverflow => f.write_str("HPACK integer too large"),
            DecodeError::ZeroIndex => f.write_str("HPACK index 0"),
            DecodeError::InvalidIndex(i) => write!(f, "HPACK index {i} beyond the tables"),
            DecodeError::StringTooLong => {
                f.write_str("HPACK string literal longer than the rest of the block")
            }
            DecodeError::HuffmanEos => f.write_str("Huffman-coded string contains EOS"),
            DecodeError::HuffmanPadding => f.write_str("invalid Huffman padding"),
            DecodeError::TableSizeTooLarge { requested, max } => write!(
                f,
                "dynamic table size update to {requested} above the maximum {max}"
            ),
            DecodeError::LateTableSizeUpdate => {
                f.write_str("dynamic table size update after the first header field")
            }
            DecodeError::MissingTableSizeUpdate => {
                f.write_str("header block does not start with the required table size update")
            }
            DecodeError::HeaderListTooLarge => {
                f.write_str("header list larger than SETTINGS_MAX_HEADER_LIST_SIZE")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

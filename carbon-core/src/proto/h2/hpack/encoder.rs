//! The HPACK encoder (RFC 7541 §6): one per connection, for the header blocks we send.
//!
//! Policy of [`Strategy::Smart`], the default (docs/http2.md explains it for operators):
//! * a static-table exact match is one octet (`:status: 200` is `0x88`), and so is a
//!   dynamic-table exact match;
//! * fields that repeat across responses (`server`, `content-type`, `cache-control`,
//!   security headers, `date` within one second, ...) are added to the dynamic table, so
//!   from the second response on they cost one octet;
//! * fields whose value identifies one resource or one response (`content-length`,
//!   `etag`, `last-modified`, `:path`, ...) are sent as literals without indexing, with
//!   the name indexed: adding them would only evict the entries that pay off;
//! * entries larger than 3/4 of the table are not added (they would flush it);
//! * sensitive fields are never indexed and are sent as never-indexed literals (§7.1.3),
//!   so no intermediary indexes them either: `authorization`, `proxy-authorization`,
//!   `set-cookie`, `cookie` values shorter than 20 octets (guessable by probing the table,
//!   §7.1.3), and any field passed with `sensitive: true`;
//! * strings are Huffman-coded when that is strictly shorter.
//!
//! The encoder never allocates per field except for a new dynamic table entry; names
//! are found in the static table through a per-length index, not a scan of 61 strings.

use super::table::{self, DynamicTable, STATIC, STATIC_LEN};
use super::{integer, string, HeaderField, DEFAULT_TABLE_SIZE};

/// The largest dynamic table our encoder uses, whatever the peer allows: the table is
/// memory we hold per connection, and 4096 octets already holds every field that
/// repeats in a static server's responses.
pub const MAX_ENCODER_TABLE_SIZE: usize = DEFAULT_TABLE_SIZE;

/// How the encoder uses the dynamic table and the Huffman code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Index what pays off (see the module documentation).
    Smart {
        /// Huffman-code strings when shorter.
        huffman: bool,
    },
    /// Never add to the dynamic table: static matches and literals without indexing.
    NoIndexing {
        /// Huffman-code strings when shorter.
        huffman: bool,
    },
    /// Add every field that is not sensitive and fits.
    IndexAll {
        /// Huffman-code strings when shorter.
        huffman: bool,
    },
}

impl Strategy {
    /// Every strategy, for tests that try them all.
    pub const ALL: [Strategy; 6] = [
        Strategy::Smart { huffman: true },
        Strategy::Smart { huffman: false },
        Strategy::NoIndexing { huffman: true },
        Strategy::NoIndexing { huffman: false },
        Strategy::IndexAll { huffman: true },
        Strategy::IndexAll { huffman: false },
    ];

    fn huffman(self) -> bool {
        match self {
            Strategy::Smart { huffman }
            | Strategy::NoIndexing { huffman }
            | Strategy::IndexAll { huffman } => huffman,
        }
    }
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy::Smart { huffman: true }
    }
}

/// Table size updates owed to the peer at the start of the next block (§4.2).
#[derive(Debug, Clone, Copy)]
struct PendingUpdate {
    /// The smallest size chosen since the last block.
    min: usize,
    /// The size chosen last.
    last: usize,
}

/// Compresses the header blocks we send on one connection.
#[derive(Debug)]
pub struct Encoder {
    table: DynamicTable,
    strategy: Strategy,
    pending: Option<PendingUpdate>,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

/// How one field goes on the wire (§6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literal {
    /// `01`: literal with incremental indexing.
    WithIndexing,
    /// `0000`: literal without indexing.
    WithoutIndexing,
    /// `0001`: literal never indexed.
    NeverIndexed,
}

impl Encoder {
    /// An encoder with the default strategy and the RFC's initial 4096-octet table.
    pub fn new() -> Encoder {
        Encoder::with_strategy(Strategy::default())
    }

    pub fn with_strategy(strategy: Strategy) -> Encoder {
        Encoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            strategy,
            pending: None,
        }
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: the encoder picks a size no larger
    /// (and no larger than [`MAX_ENCODER_TABLE_SIZE`]) and signals it at the start of the
    /// next block, preceded by the smallest size chosen since the last block when that
    /// is smaller (RFC 7541 §4.2).
    pub fn set_max_table_size(&mut self, max: usize) {
        let chosen = max.min(MAX_ENCODER_TABLE_SIZE);
        match &mut self.pending {
            Some(p) => {
                p.min = p.min.min(chosen);
                p.last = chosen;
            }
            None if chosen == self.table.capacity() => {}
            None => {
                self.pending = Some(PendingUpdate {
                    min: chosen,
                    last: chosen,
                })
            }
        }
    }

    /// The dynamic table (for tests and diagnostics).
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Appends one header block holding `fields`, in order, to `dst`. Names must
    /// already be lowercase (RFC 9113 §8.2.1); the encoder sends them as given.
    pub fn encode<'a>(
        &mut self,
        fields: impl IntoIterator<Item = HeaderField<'a>>,
        dst: &mut Vec<u8>,
    ) {
        if let Some(p) = self.pending.take() {
            if p.min < p.last {
                integer::encode(p.min, 5, 0x20, dst);
                self.table.set_capacity(p.min);
            }
            integer::encode(p.last, 5, 0x20, dst);
            self.table.set_capacity(p.last);
        }
        for field in fields {
            self.encode_field(field, dst);
        }
    }

    fn encode_field(&mut self, field: HeaderField<'_>, dst: &mut Vec<u8>) {
        let HeaderField { name, value, .. } = field;
        let sensitive = field.sensitive || is_sensitive(name, value);
        let huffman = self.strategy.huffman();

        let mut name_index = None;
        if let Some((first, count)) = table::static_name(name) {
            if !sensitive {
                for index in first..first + count {
                    if STATIC[index - 1].1 == value {
                        integer::encode(index, 7, 0x80, dst);
                        return;
                    }
                }
            }
            name_index = Some(first);
        }
        if !self.table.is_empty() {
            match self.table.find(name, value) {
                Ok(i) if !sensitive => {
                    integer::encode(STATIC_LEN + 1 + i, 7, 0x80, dst);
                    return;
                }
                Ok(i) | Err(Some(i)) => {
                    name_index = name_index.or(Some(STATIC_LEN + 1 + i));
                }
                Err(None) => {}
            }
        }

        let literal = if sensitive {
            Literal::NeverIndexed
        } else if self.should_index(name, value) {
            Literal::WithIndexing
        } else {
            Literal::WithoutIndexing
        };
        let (prefix, flags) = match literal {
            Literal::WithIndexing => (6, 0x40),
            Literal::WithoutIndexing => (4, 0x00),
            Literal::NeverIndexed => (4, 0x10),
        };
        match name_index {
            Some(index) => integer::encode(index, prefix, flags, dst),
            None => {
                dst.push(flags);
                string::encode(name, huffman, dst);
            }
        }
        string::encode(value, huffman, dst);
        if literal == Literal::WithIndexing {
            self.table.insert(name, value);
        }
    }

    fn should_index(&self, name: &[u8], value: &[u8]) -> bool {
        let size = table::entry_size(name, value);
        match self.strategy {
            Strategy::NoIndexing { .. } => false,
            Strategy::IndexAll { .. } => size <= self.table.capacity(),
            Strategy::Smart { .. } => {
                size <= self.table.capacity() / 4 * 3 && !is_per_response(name)
            }
        }
    }
}

/// RFC 7541 §7.1.3: fields whose values must not be exposed to table probing.
fn is_sensitive(name: &[u8], value: &[u8]) -> bool {
    match name {
        b"authorization" | b"proxy-authorization" | b"set-cookie" => true,
        // Short cookie values are guessable one probe at a time (§7.1.3).
        b"cookie" => value.len() < 20,
        _ => false,
    }
}

/// Fields whose values identify one resource or one response: indexing them would
/// evict entries that repeat without ever being referenced themselves.
fn is_per_response(name: &[u8]) -> bool {
    matches!(
        name,
        b":path"
            | b"content-length"
            | b"content-range"
            | b"etag"
            | b"last-modified"
            | b"age"
            | b"if-none-match"
            | b"if-modified-since"
            | b"location"
    )
}

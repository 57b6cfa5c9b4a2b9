//! The HPACK decoder (RFC 7541 §3, §6): one per connection, fed complete header blocks.
//!
//! What it refuses, and why it cannot be made to allocate:
//! * strings longer than the rest of the block, integers beyond `usize`, index 0 and
//!   indexes beyond the tables are errors before anything is read or allocated;
//! * size updates above our SETTINGS_HEADER_TABLE_SIZE, or after the first field, are
//!   errors (§4.2, §6.3), so the table never holds more than we advertised;
//! * SETTINGS_MAX_HEADER_LIST_SIZE is enforced while decoding (the "HPACK bomb": a
//!   small block of indexed references to one large table entry that would decode to
//!   megabytes). Fields are handed to the caller one by one, borrowed, never collected
//!   here; past the limit none is handed over, but the block is still processed to its
//!   end so the dynamic table stays in step with the peer's encoder.
//!
//! Memory is the dynamic table (at most our SETTINGS_HEADER_TABLE_SIZE plus the
//! allocation overhead of its entries) and two scratch buffers for Huffman-decoded
//! strings, each at most 8/5 of the longest string of a block.

use super::error::DecodeError;
use super::table::{self, DynamicTable, ENTRY_OVERHEAD};
use super::{integer, string, HeaderField, DEFAULT_TABLE_SIZE};

use crate::limits::HPACK_SCRATCH_KEEP as SCRATCH_KEEP;

/// Decompresses the header blocks of one connection's peer.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// Our SETTINGS_HEADER_TABLE_SIZE: the ceiling for the peer's size updates.
    max_table_size: usize,
    /// Set when our maximum dropped below the table's size: the next block must start
    /// with a size update no larger than this (RFC 7541 §4.2).
    required_update: Option<usize>,
    name_buf: Vec<u8>,
    value_buf: Vec<u8>,
    /// Counts the changes to what a block decodes to (table entries, table size,
    /// size updates owed): a block decoded twice at the same generation gives the same
    /// fields (`Fields::remember_block`).
    generation: u64,
}

impl Decoder {
    /// `max_table_size`: our SETTINGS_HEADER_TABLE_SIZE, the ceiling for the peer's
    /// dynamic table size updates. The table starts at the protocol's initial 4096
    /// octets (RFC 9113 §6.5.2) or `max_table_size` if smaller; in the smaller case the
    /// peer's first block must begin with a size update, as after any reduction. Pass
    /// 4096 until the peer has acknowledged our SETTINGS, then call
    /// [`Decoder::set_max_table_size`].
    pub fn new(max_table_size: usize) -> Decoder {
        Decoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            max_table_size,
            required_update: (max_table_size < DEFAULT_TABLE_SIZE).then_some(max_table_size),
            name_buf: Vec::new(),
            value_buf: Vec::new(),
            generation: 0,
        }
    }

    /// Changes with every change to the decoding state: equal generations before and
    /// after a block mean the block left the table as it was.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Our SETTINGS_HEADER_TABLE_SIZE changed (call when the peer acknowledges it).
    /// A reduction below the table's current size obliges the peer to start its next
    /// block with a size update no larger than the smallest maximum since its last
    /// block (RFC 7541 §4.2); until then the table keeps its size.
    pub fn set_max_table_size(&mut self, max: usize) {
        self.generation += 1;
        self.max_table_size = max;
        if max < self.table.capacity() {
            let min = self.required_update.map_or(max, |r| r.min(max));
            self.required_update = Some(min);
        }
    }

    /// The dynamic table (for tests and diagnostics).
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decode one complete header block (after CONTINUATION reassembly). Calls `emit`
    /// for each field in order.
    ///
    /// Size updates are only allowed at the start of a block (RFC 7541 §4.2) and never
    /// above our maximum. Enforces `max_header_list_size` (RFC 9113 §6.5.2: name plus
    /// value plus 32 per field) while decoding: once the running size exceeds it, no more fields
    /// are emitted and nothing more is accumulated, but the rest of the block is still
    /// processed so the dynamic table stays in sync; then
    /// `Err(DecodeError::HeaderListTooLarge)` is returned (a stream-level problem; every
    /// other error is a connection COMPRESSION_ERROR, and after one the decoder must not
    /// be used again).
    pub fn decode(
        &mut self,
        block: &[u8],
        max_header_list_size: usize,
        emit: &mut dyn FnMut(HeaderField<'_>),
    ) -> Result<(), DecodeError> {
        let result = self.decode_block(block, max_header_list_size, emit);
        for buf in [&mut self.name_buf, &mut self.value_buf] {
            if buf.capacity() > SCRATCH_KEEP {
                *buf = Vec::new();
            }
        }
        result
    }

    fn decode_block(
        &mut self,
        block: &[u8],
        max_header_list_size: usize,
        emit: &mut dyn FnMut(HeaderField<'_>),
    ) -> Result<(), DecodeError> {
        let mut pos = 0;
        let mut fields_started = false;
        let mut list_size = 0usize;
        let mut too_large = false;
        while pos < block.len() {
            let first = block[pos];
            let rest = &block[pos..];
            if first & 0xe0 == 0x20 {
                // §6.3 Dynamic Table Size Update: 001xxxxx, 5-bit prefix.
                if fields_started {
                    return Err(DecodeError::LateTableSizeUpdate);
                }
                let (size, n) = integer::decode(rest, 5)?;
                pos += n;
                if size > self.max_table_size {
                    return Err(DecodeError::TableSizeTooLarge {
                        requested: size,
                        max: self.max_table_size,
                    });
                }
                if self.required_update.is_some_and(|r| size <= r) {
                    self.required_update = None;
                }
                self.table.set_capacity(size);
                self.generation += 1;
                continue;
            }
            if self.required_update.is_some() {
                return Err(DecodeError::MissingTableSizeUpdate);
            }
            fields_started = true;

            let Decoder {
                table,
                name_buf,
                value_buf,
                generation,
                ..
            } = self;
            let mut deliver = |name: &[u8], value: &[u8], sensitive: bool| {
                if too_large {
                    return;
                }
                list_size = list_size
                    .saturating_add(name.len())
                    .saturating_add(value.len())
                    .saturating_add(ENTRY_OVERHEAD);
                if list_size > max_header_list_size {
                    too_large = true;
                    return;
                }
                emit(HeaderField {
                    name,
                    value,
                    sensitive,
                });
            };

            if first & 0x80 != 0 {
                // §6.1 Indexed Header Field: 1xxxxxxx, 7-bit prefix.
                let (index, n) = integer::decode(rest, 7)?;
                pos += n;
                let (name, value) = table::lookup(table, index)?;
                deliver(name, value, false);
                continue;
            }

            // §6.2 literals: 01 with indexing (6-bit prefix), 0000 without indexing and
            // 0001 never indexed (4-bit prefix).
            let (prefix, add_to_table, sensitive) = if first & 0x40 != 0 {
                (6, true, false)
            } else {
                (4, false, first & 0x10 != 0)
            };
            let (name_index, n) = integer::decode(rest, prefix)?;
            pos += n;
            let name: &[u8] = if name_index == 0 {
                let (name, n) = string::decode(&block[pos..], name_buf)?;
                pos += n;
                name
            } else {
                table::lookup(table, name_index)?.0
            };
            let (value, n) = string::decode(&block[pos..], value_buf)?;
            pos += n;

            if add_to_table {
                // §4.4: the new entry may name an entry it evicts, so its octets are
                // copied before the table changes.
                let mut data = Vec::with_capacity(name.len() + value.len());
                data.extend_from_slice(name);
                data.extend_from_slice(value);
                let name_len = name.len();
                deliver(name, value, sensitive);
                table.insert_entry(data.into_boxed_slice(), name_len);
                *generation += 1;
            } else {
                deliver(name, value, sensitive);
            }
        }
        if too_large {
            Err(DecodeError::HeaderListTooLarge)
        } else {
            Ok(())
        }
    }
}

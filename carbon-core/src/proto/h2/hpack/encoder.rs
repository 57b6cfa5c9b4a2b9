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
//!   the name indexed, the first time: a page's files come once per connection, and
//!   adding their fields would only evict the entries that pay off. Such a field seen
//!   again recently on the connection ([`Seen`]: a poller, a load generator, a client
//!   fetching one resource again) is added then, and costs one octet from then on;
//! * entries larger than 3/4 of the table are not added (they would flush it);
//! * sensitive fields are never indexed and are sent as never-indexed literals (§7.1.3),
//!   so no intermediary indexes them either: `authorization`, `proxy-authorization`,
//!   `set-cookie`, `cookie` values shorter than 20 octets (guessable by probing the table,
//!   §7.1.3), and any field passed with `sensitive: true`;
//! * strings are Huffman-coded when that is strictly shorter.
//!
//! * a field equal to the same position's field of the previous block, encoded
//!   against the same dynamic table, reuses that block's octets ([`Memo`]): a static
//!   server's responses on one connection differ in a few fields at most.
//!
//! * a run of fields that is one shared object every time (a cached file's fields,
//!   [`Encoder::encode_with_run`]) reuses its octets from the last time it was sent
//!   against the same dynamic table ([`Runs`]), found by the object's address; a run
//!   not kept goes through the block memo, as another file's run of the same layout
//!   differs from it in a few fields;
//!
//! * the whole block of a run, when encoding it changed nothing (no insertion, no
//!   size update, nothing sensitive, nothing noted by [`Seen`]), can be sent again as
//!   it is while the table holds still ([`Encoder::repeat_run_block`]): the caller
//!   knows when a response is the last one again (`response::RepeatKey`).
//!
//! * a field sent without indexing with a static name (`etag`, `last-modified`, ...) takes its
//!   octets from the worker thread's [`literals`], shared by its connections.
//!
//! The encoder never allocates per field except for a new dynamic table entry; names
//! are found in the static table through a per-length index, not a scan of 61 strings,
//! and fields and names in the dynamic table through a hash index ([`TableIndex`]),
//! not a scan of the table: a static server's responses repeat a dozen fields, each
//! of which would otherwise be compared with every entry.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::literals;
use super::memo::{Found, Memo};
use super::runs::Runs;
use super::slots::Slots;
use super::table::{self, DynamicTable, STATIC, STATIC_LEN};
use super::{integer, string, HeaderField, DEFAULT_TABLE_SIZE};
use crate::limits::{HPACK_SEEN_SLOTS, HPACK_SEEN_WINDOW};

/// The largest dynamic table our encoder uses, whatever the peer allows: the table is
/// memory we hold per connection, and 4096 octets already holds every field that
/// repeats in a static server's responses.
pub const MAX_ENCODER_TABLE_SIZE: usize = DEFAULT_TABLE_SIZE;

/// The longest block kept to be sent again whole ([`Encoder::repeat_run_block`]): a
/// static file's `200` once its fields are indexed is about 15 octets.
const REPEAT_BLOCK_MAX: usize = 256;

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
    index: TableIndex,
    strategy: Strategy,
    pending: Option<PendingUpdate>,
    /// Bumped at every change of `table`: what a [`Memo`] entry was encoded against.
    generation: u64,
    memo: Memo,
    runs: Runs,
    slots: Slots,
    seen: Seen,
    /// The last block [`Encoder::encode_with_run`] produced and the table generation it
    /// left, when encoding it changed nothing ([`Encoder::repeat_run_block`]).
    last_run_block: Vec<u8>,
    last_run_generation: Option<u64>,
    /// Off only in tests that compare the memo's output with encoding afresh.
    use_memo: bool,
    /// Fields taken from the memo, for tests that check it is used.
    #[cfg(test)]
    pub(crate) memo_hits: u64,
    /// Runs taken from [`Runs`], likewise.
    #[cfg(test)]
    pub(crate) run_hits: u64,
    /// Blocks sent again whole ([`Encoder::repeat_run_block`]).
    #[cfg(test)]
    pub(crate) blocks_repeated: u64,
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
            index: TableIndex::default(),
            strategy,
            pending: None,
            generation: 0,
            memo: Memo::default(),
            runs: Runs::default(),
            slots: Slots::default(),
            seen: Seen::default(),
            last_run_block: Vec::new(),
            last_run_generation: None,
            use_memo: true,
            #[cfg(test)]
            memo_hits: 0,
            #[cfg(test)]
            run_hits: 0,
            #[cfg(test)]
            blocks_repeated: 0,
        }
    }

    /// An encoder that encodes every field afresh, as a reference for the memo.
    #[cfg(test)]
    pub(crate) fn without_memo(strategy: Strategy) -> Encoder {
        Encoder {
            use_memo: false,
            ..Encoder::with_strategy(strategy)
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

    /// Forgets the kept runs and slots (their octets and the templates they hold
    /// alive), for a connection gone idle: the next blocks encode afresh, exactly as
    /// they would have been reused.
    pub fn release_scratch(&mut self) {
        self.runs = Runs::default();
        self.slots = Slots::default();
        self.last_run_block = Vec::new();
        self.last_run_generation = None;
    }

    /// Whether runs or slots are kept ([`Self::release_scratch`]).
    pub fn holds_scratch(&self) -> bool {
        !self.runs.is_empty() || !self.slots.is_empty() || self.last_run_block.capacity() > 0
    }

    /// Appends the last block [`Self::encode_with_run`] produced again, if encoding the
    /// same fields now would give exactly its octets: they changed nothing when they
    /// were encoded (no table insertion, no size update, nothing sensitive, no field
    /// noted for indexing later), and the table has not changed since. The caller
    /// vouches that the fields are the same ones. True when it did.
    pub fn repeat_run_block(&mut self, dst: &mut Vec<u8>) -> bool {
        if self.pending.is_some() || self.last_run_generation != Some(self.generation) {
            return false;
        }
        dst.extend_from_slice(&self.last_run_block);
        #[cfg(test)]
        {
            self.blocks_repeated += 1;
        }
        true
    }

    /// Whether the last block [`Self::encode_with_run`] produced can be repeated
    /// ([`Self::repeat_run_block`]) while the table holds still.
    pub fn last_run_block_kept(&self) -> bool {
        self.last_run_generation == Some(self.generation)
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
        self.start_block(dst);
        if !self.use_memo {
            for field in fields {
                self.encode_field(field, dst);
            }
            return;
        }
        self.memo.start_block();
        for (i, field) in fields.into_iter().enumerate() {
            self.memo_field(i, field, dst);
        }
        self.memo.write_matched(dst);
        self.memo.end_block();
    }

    /// Field `i` of the block, from the memo when it holds it; returns whether its
    /// octets may be reused ([`Self::encode_field`]; the memo holds only such fields).
    #[inline]
    fn memo_field(&mut self, i: usize, field: HeaderField<'_>, dst: &mut Vec<u8>) -> bool {
        let HeaderField { name, value, .. } = field;
        if !field.sensitive {
            let found = self.memo.find(i, name, value, self.generation);
            if found != Found::Miss {
                if let Found::Wire(wire) = found {
                    dst.extend_from_slice(wire);
                }
                #[cfg(test)]
                {
                    self.memo_hits += 1;
                }
                return true;
            }
        }
        // The fields matched before this one precede it on the wire.
        self.memo.write_matched(dst);
        let (start, generation) = (dst.len(), self.generation);
        let reusable = self.encode_field(field, dst);
        let keep = reusable && self.generation == generation;
        self.memo
            .record(i, name, value, &dst[start..], generation, keep);
        reusable
    }

    /// Appends one header block holding `head`, then the fields of `run`, then `tail`.
    /// `key` identifies the run: every call with the same `Arc` (the same address,
    /// while it lives) must pass the same fields in the same order. The run's octets
    /// are reused when it was last sent against the same dynamic table; `head` and
    /// `tail` are encoded field by field, each reusing its octets from the last such
    /// block when it is the same ([`Slots`]).
    pub fn encode_with_run<'a, K, I>(
        &mut self,
        head: impl IntoIterator<Item = HeaderField<'a>>,
        (key, run): (&Arc<K>, I),
        tail: impl IntoIterator<Item = HeaderField<'a>>,
        dst: &mut Vec<u8>,
    ) where
        K: Any + Send + Sync,
        I: IntoIterator<Item = HeaderField<'a>>,
    {
        self.last_run_generation = None;
        let (block_start, updated) = (dst.len(), self.pending.is_some());
        self.start_block(dst);
        if !self.use_memo {
            for field in head.into_iter().chain(run).chain(tail) {
                self.encode_field(field, dst);
            }
            return;
        }
        let generation = self.generation;
        // Every field reusable and the table untouched: the block may be repeated.
        let mut reusable = !updated;
        // `head` and `tail` go through the slots as fields 0, 1, ... (the run not
        // counted).
        let mut i = 0;
        for field in head {
            reusable &= self.slot_field(i, field, dst);
            i += 1;
        }
        match self.runs.find(key, self.generation) {
            Some(wire) => {
                dst.extend_from_slice(wire);
                #[cfg(test)]
                {
                    self.run_hits += 1;
                }
            }
            _ => {
                // Through the block memo: another file's run has the same layout
                // (content type, security fields, ...) and differs in a few fields.
                let (start, generation) = (dst.len(), self.generation);
                let mut run_reusable = true;
                self.memo.start_block();
                for (j, field) in run.into_iter().enumerate() {
                    run_reusable &= self.memo_field(j, field, dst);
                }
                self.memo.write_matched(dst);
                self.memo.end_block();
                if run_reusable && self.generation == generation {
                    self.runs.keep(key, generation, &dst[start..]);
                }
                reusable &= run_reusable;
            }
        }
        for field in tail {
            reusable &= self.slot_field(i, field, dst);
            i += 1;
        }
        let block = &dst[block_start..];
        if reusable && self.generation == generation && block.len() <= REPEAT_BLOCK_MAX {
            self.last_run_block.clear();
            self.last_run_block.extend_from_slice(block);
            self.last_run_generation = Some(generation);
        }
    }

    /// Field `i` around a run, from the [`Slots`] when they hold it; returns whether
    /// its octets may be reused and it left the table as it was.
    #[inline]
    fn slot_field(&mut self, i: usize, field: HeaderField<'_>, dst: &mut Vec<u8>) -> bool {
        let HeaderField { name, value, .. } = field;
        if !field.sensitive {
            if let Some(wire) = self.slots.find(i, name, value, self.generation) {
                dst.extend_from_slice(wire);
                #[cfg(test)]
                {
                    self.memo_hits += 1;
                }
                return true;
            }
        }
        let (start, generation) = (dst.len(), self.generation);
        let reusable = self.encode_field(field, dst) && self.generation == generation;
        if reusable {
            self.slots.keep(i, name, value, &dst[start..], generation);
        }
        reusable
    }

    /// The table size updates owed to the peer, first in a block (§4.2).
    fn start_block(&mut self, dst: &mut Vec<u8>) {
        if let Some(p) = self.pending.take() {
            if p.min < p.last {
                integer::encode(p.min, 5, 0x20, dst);
                self.table.set_capacity(p.min);
            }
            integer::encode(p.last, 5, 0x20, dst);
            self.table.set_capacity(p.last);
            self.generation += 1;
        }
    }

    /// Appends one field; returns whether its octets may be reused for the same field
    /// against the same dynamic table: not when it was sent as sensitive (never
    /// indexed), nor when encoding it changed what the next encoding of it would be
    /// ([`Seen`]). Whatever returns true here left `seen` untouched, so a reused field
    /// is also one that would not have changed the encoder's state.
    fn encode_field(&mut self, field: HeaderField<'_>, dst: &mut Vec<u8>) -> bool {
        let HeaderField { name, value, .. } = field;
        let sensitive = field.sensitive || is_sensitive(name, value);
        let huffman = self.strategy.huffman();
        let name_hash = hash_name(name);
        let field_hash = hash_field(name_hash, value);

        // A field already in the dynamic table is one index, whatever else matches
        // (a field with a static exact match is never added, so none is missed).
        if !sensitive && !self.table.is_empty() {
            if let Some(i) = self.index.find_field(&self.table, field_hash, name, value) {
                integer::encode(STATIC_LEN + 1 + i, 7, 0x80, dst);
                return true;
            }
        }
        let static_name = table::static_name(name);
        if let Some((first, count)) = static_name {
            if !sensitive {
                for index in first..first + count {
                    if STATIC[index - 1].1 == value {
                        integer::encode(index, 7, 0x80, dst);
                        return true;
                    }
                }
            }
        }

        let mut reusable = !sensitive;
        let literal = if sensitive {
            Literal::NeverIndexed
        } else {
            match self.index_decision(name, value) {
                Index::Yes => Literal::WithIndexing,
                Index::No => Literal::WithoutIndexing,
                Index::IfSeen => {
                    if self.seen.note(field_hash) {
                        Literal::WithIndexing
                    } else {
                        // The next encoding of this field adds it: not the same octets.
                        reusable = false;
                        Literal::WithoutIndexing
                    }
                }
            }
        };

        // A field sent without indexing with a static name depends on nothing but
        // itself: the thread may have its octets.
        let table_free =
            literal == Literal::WithoutIndexing && static_name.is_some() && is_per_response(name);
        if table_free && literals::append(field_hash, name, value, huffman, dst) {
            return reusable;
        }
        let start = dst.len();
        let mut name_index = static_name.map(|(first, _)| first);
        if name_index.is_none() && !self.table.is_empty() {
            name_index = self
                .index
                .find_name(&self.table, name_hash, name)
                .map(|i| STATIC_LEN + 1 + i);
        }
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
        if table_free {
            literals::keep(field_hash, name, value, huffman, &dst[start..]);
        }
        if literal == Literal::WithIndexing {
            self.table.insert(name, value);
            self.generation += 1;
            self.index.inserted(&self.table, name_hash, name, value);
        }
        reusable
    }

    /// Whether a field that is not sensitive and has no exact match goes into the
    /// dynamic table.
    fn index_decision(&self, name: &[u8], value: &[u8]) -> Index {
        let size = table::entry_size(name, value);
        match self.strategy {
            Strategy::NoIndexing { .. } => Index::No,
            Strategy::IndexAll { .. } if size <= self.table.capacity() => Index::Yes,
            Strategy::IndexAll { .. } => Index::No,
            Strategy::Smart { .. } if size > self.table.capacity() / 4 * 3 => Index::No,
            Strategy::Smart { .. } if is_per_response(name) => Index::IfSeen,
            Strategy::Smart { .. } => Index::Yes,
        }
    }
}

/// Whether a field goes into the dynamic table ([`Encoder::index_decision`]).
enum Index {
    Yes,
    No,
    /// Only if it was sent recently on this connection ([`Seen`]).
    IfSeen,
}

/// The per-response fields (`is_per_response`) an encoder sent as literals lately, by
/// hash, each with when it was noted (a count of notes): a field noted again within
/// `HPACK_SEEN_WINDOW` notes is indexed. A client fetching one resource again and
/// again (a poller, a load generator) gets its fields indexed at the second response;
/// a page's dozens of files, or a cycle through more files than the window holds,
/// never are, so they neither evict what repeats (`server`, `content-type`, ...) nor
/// each other (a table that churns costs every later block its reused octets).
/// Two-way set-associative: a collision only makes a field indexed late, a valid
/// encoding.
/// Allocated at the first such field (idle and HTTP/1.1-only connections pay nothing).
#[derive(Debug, Default)]
struct Seen {
    slots: Option<Box<[(u64, u64); HPACK_SEEN_SLOTS]>>,
    notes: u64,
}

impl Seen {
    /// Whether the field with this hash was noted within the window; if not, notes it
    /// (the only change of state).
    fn note(&mut self, field_hash: u64) -> bool {
        // Stamps start at 1: 0 marks an empty way.
        let now = self.notes + 1;
        let slots = self
            .slots
            .get_or_insert_with(|| Box::new([(0, 0); HPACK_SEEN_SLOTS]));
        // Two ways per set (the slot count is a power of two; the low bits pick the
        // set), so two fields of one cycle that share a set do not forget each other.
        let set = field_hash as usize & (HPACK_SEEN_SLOTS - 2);
        let ways = &mut slots[set..set + 2];
        let recent =
            |&(h, at): &(u64, u64)| at != 0 && h == field_hash && now - at <= HPACK_SEEN_WINDOW;
        if ways.iter().any(recent) {
            return true;
        }
        // The way noted longer ago (or empty) takes the field.
        let older = usize::from(ways[1].1 < ways[0].1);
        ways[older] = (field_hash, now);
        self.notes = now;
        false
    }
}

/// Where the fields and names of the encoder's dynamic table are, by hash.
///
/// Entries are numbered by insertion (`inserted` counts them); the newest entry is
/// table position 0, so entry `n` sits at position `inserted - 1 - n` while it is in
/// the table. Eviction only removes the oldest entries, so a number outlives its
/// entry harmlessly: a position past the table's end is a miss, and every hit is
/// compared with the entry itself, so a stale number or a hash collision can never
/// produce a wrong index. Stale numbers are dropped by rebuilding the maps from the
/// table once they outnumber live entries [`STALE_FACTOR`] to one.
#[derive(Debug, Default)]
struct TableIndex {
    fields: HashMap<u64, u64, BuildHasherDefault<PreHashed>>,
    names: HashMap<u64, u64, BuildHasherDefault<PreHashed>>,
    inserted: u64,
}

/// Rebuild the index when it holds this many numbers per table entry (plus a
/// constant, so a nearly empty table is not rebuilt at every insertion): bounds the
/// index's memory by the table's entries, at most 128 (4096 / 32).
const STALE_FACTOR: usize = 4;

impl TableIndex {
    fn position(&self, table: &DynamicTable, number: u64) -> Option<usize> {
        let pos = usize::try_from(self.inserted.checked_sub(number + 1)?).ok()?;
        (pos < table.len()).then_some(pos)
    }

    /// `field_hash`: `hash_field` of the field.
    fn find_field(
        &self,
        table: &DynamicTable,
        field_hash: u64,
        name: &[u8],
        value: &[u8],
    ) -> Option<usize> {
        let number = *self.fields.get(&field_hash)?;
        let pos = self.position(table, number)?;
        let (n, v) = table.get(pos)?;
        (n == name && v == value).then_some(pos)
    }

    fn find_name(&self, table: &DynamicTable, name_hash: u64, name: &[u8]) -> Option<usize> {
        let number = *self.names.get(&name_hash)?;
        let pos = self.position(table, number)?;
        let (n, _) = table.get(pos)?;
        (n == name).then_some(pos)
    }

    /// `name: value` was just added to `table` (as its newest entry, or not at all if
    /// it was larger than the table, which then emptied).
    fn inserted(&mut self, table: &DynamicTable, name_hash: u64, name: &[u8], value: &[u8]) {
        let number = self.inserted;
        self.inserted += 1;
        if table.get(0) != Some((name, value)) {
            return;
        }
        self.fields.insert(hash_field(name_hash, value), number);
        self.names.insert(name_hash, number);
        if self.fields.len() > STALE_FACTOR * table.len() + 16 {
            self.rebuild(table);
        }
    }

    fn rebuild(&mut self, table: &DynamicTable) {
        self.fields.clear();
        self.names.clear();
        // Oldest first, so the newest entry of a name or field wins.
        for pos in (0..table.len()).rev() {
            if let Some((n, v)) = table.get(pos) {
                let number = self.inserted - 1 - pos as u64;
                let nh = hash_name(n);
                self.fields.insert(hash_field(nh, v), number);
                self.names.insert(nh, number);
            }
        }
    }
}

/// A multiply-rotate hash over 8 octets at a time (the keys are our own response
/// fields, and every hit is verified, so it need not resist chosen collisions: a
/// collision costs a comparison, never a wrong index).
fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // The last 0-7 octets, gathered by shifts (a variable-length copy would be a
    // call to memcpy per string).
    let tail = chunks
        .remainder()
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    h = (h.rotate_left(23) ^ tail ^ bytes.len() as u64).wrapping_mul(K);
    h ^ (h >> 29)
}

fn hash_name(name: &[u8]) -> u64 {
    hash_bytes(0x243F_6A88_85A3_08D3, name)
}

fn hash_field(name_hash: u64, value: &[u8]) -> u64 {
    hash_bytes(name_hash, value)
}

/// The maps' keys are already hashes: used as they are.
#[derive(Debug, Default, Clone, Copy)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(self.0, bytes);
    }

    fn write_u64(&mut self, h: u64) {
        self.0 = h;
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

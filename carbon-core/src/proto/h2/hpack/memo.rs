//! The encoder's memory of the previous header block, field by field: a server's
//! responses on one connection repeat most of their fields in the same order
//! (`server`, `content-type`, security headers, `date` within a second, and for one
//! file its `etag` and `last-modified`), so the wire octets of field `i` of the last
//! block are kept and reused when field `i` of the next block is the same.
//!
//! Why a reused encoding is exactly what encoding again would give: a field's octets
//! depend only on the field, the strategy (fixed per encoder) and the dynamic table
//! (positions of indexed entries and names). Every change of the table bumps the
//! encoder's generation, an entry records the generation it was encoded against, and
//! only fields whose encoding left the table unchanged are kept; so an entry matches
//! only a table identical to the one it saw, and reusing it leaves the table as
//! encoding would (unchanged). Sensitive fields (RFC 7541 §7.1.3) are never kept:
//! their values stay out of every table and cache, ours included.
//!
//! The wire octets of a block's fields are kept back to back, so while the fields of
//! the current block keep matching the previous block's from the first on, their
//! octets are one prefix of it: it is copied once, when the first field differs or the
//! block ends ([`Memo::write_matched`]), not field by field.
//!
//! Bounded: at most [`MEMO_FIELDS`] fields of at most [`MEMO_FIELD_MAX`] octets each.

/// Fields remembered per block (a static file response has about fifteen).
const MEMO_FIELDS: usize = 32;

/// The longest field (name plus value) remembered: longer ones are rare and gain
/// little against the comparison they cost.
const MEMO_FIELD_MAX: usize = 128;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Where the field's name starts in `Block::fields`, followed by its value;
    /// `name_len == usize::MAX` marks a position not remembered.
    start: usize,
    name_len: usize,
    value_len: usize,
    /// Where the field's wire octets end in `Block::wire` (they start where the
    /// previous remembered field's ended).
    wire_end: usize,
    wire_len: usize,
    generation: u64,
}

#[derive(Debug, Default)]
struct Block {
    /// Names and values, back to back.
    fields: Vec<u8>,
    /// Wire octets, back to back, in field order.
    wire: Vec<u8>,
    entries: Vec<Entry>,
}

impl Block {
    fn clear(&mut self) {
        self.fields.clear();
        self.wire.clear();
        self.entries.clear();
    }

    #[inline]
    fn wire(&self, e: &Entry) -> &[u8] {
        &self.wire[e.wire_end - e.wire_len..e.wire_end]
    }

    fn push(&mut self, name: &[u8], value: &[u8], wire: &[u8], generation: u64) {
        let start = self.fields.len();
        self.fields.extend_from_slice(name);
        self.fields.extend_from_slice(value);
        self.wire.extend_from_slice(wire);
        self.entries.push(Entry {
            start,
            name_len: name.len(),
            value_len: value.len(),
            wire_end: self.wire.len(),
            wire_len: wire.len(),
            generation,
        });
    }

    fn push_forgotten(&mut self) {
        self.entries.push(Entry {
            start: 0,
            name_len: usize::MAX,
            value_len: 0,
            wire_end: self.wire.len(),
            wire_len: 0,
            generation: 0,
        });
    }
}

/// What [`Memo::find`] found for a field.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found<'a> {
    /// Not the same as the previous block's field: encode it.
    Miss,
    /// The same, and so far every field of this block was: its octets go out with
    /// the matched prefix ([`Memo::write_matched`]).
    Matched,
    /// The same, after an earlier field differed: these octets, now.
    Wire(&'a [u8]),
}

/// The previous block (`last`) and the one being encoded (`next`, built only once a
/// field differs from `last`, so a block identical to the previous costs no copy).
#[derive(Debug, Default)]
pub(super) struct Memo {
    last: Block,
    next: Block,
    /// Fields of the current block matched so far, all equal to `last`'s.
    matched: usize,
    /// The matched prefix's octets were written to the block.
    matched_written: bool,
    /// A field of the current block differed: `next` holds the block so far.
    diverged: bool,
}

impl Memo {
    pub(super) fn start_block(&mut self) {
        self.matched = 0;
        self.matched_written = false;
        self.diverged = false;
        self.next.clear();
    }

    /// Whether field `i` is the last block's field `i` encoded against the same table
    /// (`generation`). A hit is recorded for the next block too.
    #[inline]
    pub(super) fn find(
        &mut self,
        i: usize,
        name: &[u8],
        value: &[u8],
        generation: u64,
    ) -> Found<'_> {
        let Some(&e) = self.last.entries.get(i) else {
            return Found::Miss;
        };
        if e.name_len != name.len() || e.value_len != value.len() || e.generation != generation {
            return Found::Miss;
        }
        let field = &self.last.fields[e.start..e.start + e.name_len + e.value_len];
        if &field[e.name_len..] != value || &field[..e.name_len] != name {
            return Found::Miss;
        }
        if self.diverged {
            self.next.push(name, value, self.last.wire(&e), generation);
            let n = self.next.entries.len() - 1;
            return Found::Wire(self.next.wire(&self.next.entries[n]));
        }
        self.matched = i + 1;
        Found::Matched
    }

    /// Appends the octets of the fields matched from the block's start, once: call it
    /// before anything else of the block is written, and at its end.
    pub(super) fn write_matched(&mut self, dst: &mut Vec<u8>) {
        if self.matched_written {
            return;
        }
        self.matched_written = true;
        if let Some(e) = self.matched.checked_sub(1).map(|m| &self.last.entries[m]) {
            // Fields 0..matched were all remembered, so their octets are the first
            // `wire_end` octets of `last.wire`.
            dst.extend_from_slice(&self.last.wire[..e.wire_end]);
        }
    }

    /// Field `i` was encoded as `wire`; `keep` when it may be reused (not sensitive,
    /// and the table did not change while encoding it, which was at `generation`).
    pub(super) fn record(
        &mut self,
        i: usize,
        name: &[u8],
        value: &[u8],
        wire: &[u8],
        generation: u64,
        keep: bool,
    ) {
        if i >= MEMO_FIELDS {
            return;
        }
        if !self.diverged {
            // The fields before `i` all matched: they start the new block.
            self.diverged = true;
            for e in self.last.entries[..self.matched].iter() {
                let at = e.start;
                let field = &self.last.fields[at..at + e.name_len + e.value_len];
                let (n, v) = field.split_at(e.name_len);
                self.next.push(n, v, self.last.wire(e), e.generation);
            }
        }
        if keep && name.len() + value.len() <= MEMO_FIELD_MAX {
            self.next.push(name, value, wire, generation);
        } else {
            self.next.push_forgotten();
        }
    }

    /// The block is complete: it becomes the one the next block is compared with.
    pub(super) fn end_block(&mut self) {
        if self.diverged {
            std::mem::swap(&mut self.last, &mut self.next);
        }
    }
}

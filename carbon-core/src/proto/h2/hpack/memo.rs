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
//! Bounded: at most [`MEMO_FIELDS`] fields of at most [`MEMO_FIELD_MAX`] octets each.

/// Fields remembered per block (a static file response has about fifteen).
const MEMO_FIELDS: usize = 32;

/// The longest field (name plus value) remembered: longer ones are rare and gain
/// little against the comparison they cost.
const MEMO_FIELD_MAX: usize = 128;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Where the field's name starts in `bytes`, followed by its value and its wire
    /// octets; `name_len == usize::MAX` marks a position not remembered.
    start: usize,
    name_len: usize,
    value_len: usize,
    wire_len: usize,
    generation: u64,
}

#[derive(Debug, Default)]
struct Block {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl Block {
    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    #[inline]
    fn wire(&self, e: &Entry) -> &[u8] {
        let at = e.start + e.name_len + e.value_len;
        &self.bytes[at..at + e.wire_len]
    }

    fn push(&mut self, name: &[u8], value: &[u8], wire: &[u8], generation: u64) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.bytes.extend_from_slice(wire);
        self.entries.push(Entry {
            start,
            name_len: name.len(),
            value_len: value.len(),
            wire_len: wire.len(),
            generation,
        });
    }

    fn push_forgotten(&mut self) {
        self.entries.push(Entry {
            start: 0,
            name_len: usize::MAX,
            value_len: 0,
            wire_len: 0,
            generation: 0,
        });
    }
}

/// The previous block (`last`) and the one being encoded (`next`, built only once a
/// field differs from `last`, so a block identical to the previous costs no copy).
#[derive(Debug, Default)]
pub(super) struct Memo {
    last: Block,
    next: Block,
    /// Fields of the current block matched so far, all equal to `last`'s.
    matched: usize,
    /// A field of the current block differed: `next` holds the block so far.
    diverged: bool,
}

impl Memo {
    pub(super) fn start_block(&mut self) {
        self.matched = 0;
        self.diverged = false;
        self.next.clear();
    }

    /// The wire octets of field `i`, if the last block's field `i` was the same
    /// field encoded against the same table (`generation`). On a hit the field is
    /// recorded for the next block too.
    #[inline]
    pub(super) fn find(
        &mut self,
        i: usize,
        name: &[u8],
        value: &[u8],
        generation: u64,
    ) -> Option<&[u8]> {
        let e = *self.last.entries.get(i)?;
        if e.name_len != name.len() || e.value_len != value.len() || e.generation != generation {
            return None;
        }
        let field = &self.last.bytes[e.start..e.start + e.name_len + e.value_len];
        if &field[..e.name_len] != name || &field[e.name_len..] != value {
            return None;
        }
        if self.diverged {
            self.next.push(name, value, self.last.wire(&e), generation);
            let n = self.next.entries.len() - 1;
            return Some(self.next.wire(&self.next.entries[n]));
        }
        self.matched = i + 1;
        Some(self.last.wire(&e))
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
                let field = &self.last.bytes[at..at + e.name_len + e.value_len];
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

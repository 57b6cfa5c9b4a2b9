//! The encoder's memory of the fields around a run ([`super::Encoder::encode_with_run`]):
//! `:status` before it, `date`, `server` and `content-length` after it. Field `i`
//! equal to the field `i` last encoded in such a block, against the same dynamic
//! table, reuses its octets.
//!
//! Unlike [`super::memo::Memo`], which rebuilds its record of the block at every
//! block so the octets of a matched prefix can be copied in one piece, each slot here
//! is replaced in place only when its field changes: a hit costs one comparison and
//! the copy of its octets into the block, nothing more.
//!
//! The same guarantee as the memo's: a slot records the generation of the table it
//! was encoded against and is kept only when encoding it left the table unchanged, so
//! reusing it gives exactly the octets encoding would, and leaves the table as
//! encoding would. Sensitive fields (RFC 7541 §7.1.3) are never kept.
//!
//! Bounded: [`SLOTS`] slots of at most [`SLOT_FIELD_MAX`] octets of field each.

use super::kept::KeptField;

/// Fields remembered around a run.
const SLOTS: usize = 8;

/// The longest field (name plus value) remembered.
const SLOT_FIELD_MAX: usize = 128;

#[derive(Debug, Default)]
struct Slot {
    kept: KeptField,
    generation: u64,
}

#[derive(Debug, Default)]
pub(super) struct Slots {
    slots: Vec<Slot>,
}

impl Slots {
    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The octets of field `i` if it is the one last kept there, for this table.
    #[inline]
    pub(super) fn find(
        &self,
        i: usize,
        name: &[u8],
        value: &[u8],
        generation: u64,
    ) -> Option<&[u8]> {
        let s = self.slots.get(i)?;
        if s.generation != generation {
            return None;
        }
        s.kept.wire_for(name, value)
    }

    /// Field `i` was encoded as `wire` against the table of `generation`, leaving it
    /// unchanged; not sensitive.
    pub(super) fn keep(
        &mut self,
        i: usize,
        name: &[u8],
        value: &[u8],
        wire: &[u8],
        generation: u64,
    ) {
        if i >= SLOTS || name.len() + value.len() > SLOT_FIELD_MAX {
            return;
        }
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, Slot::default);
        }
        // The slot's buffers are reused: no allocation once they are warm.
        let s = &mut self.slots[i];
        s.kept.keep(name, value, wire);
        s.generation = generation;
    }
}

//! The encoder's memory of field runs: a run is a sequence of fields that is one
//! shared object every time it is sent (a cached file's `200` fields, held in an
//! `Arc` by the open-file cache), so "the same run" is one pointer comparison instead
//! of a comparison of every name and value.
//!
//! Why reusing a run's octets is exactly what encoding it again would give: they
//! depend only on the fields, the strategy (fixed per encoder) and the dynamic table.
//! A slot records the encoder's generation (bumped at every change of the table)
//! before the run was encoded, and is kept only when encoding the run left the table
//! unchanged; so a slot matches only a table identical to the one it was encoded
//! against, and reusing it leaves the table as encoding would (unchanged).
//!
//! Identity is sound because each slot holds a clone of the run's `Arc`: while the
//! slot exists, no other object can be allocated at that address.
//!
//! Runs holding a sensitive field (RFC 7541 §7.1.3) are never kept. Bounded: at most
//! [`RUN_SLOTS`] runs of at most [`RUN_WIRE_MAX`] octets each.

use std::any::Any;
use std::sync::Arc;

/// Runs remembered per connection: a page's responses alternate between a few files
/// (the page, its stylesheet, its scripts), each with its own fields.
const RUN_SLOTS: usize = 4;

/// The longest run kept, in wire octets: a static file's fields take about 150
/// once indexed; longer runs are rare and re-encoding them is proportionally cheap.
const RUN_WIRE_MAX: usize = 1024;

/// The identity of a run: an `Arc` of anything the caller shares.
type RunKey = Arc<dyn Any + Send + Sync>;

#[derive(Debug)]
struct Slot {
    key: RunKey,
    generation: u64,
    wire: Vec<u8>,
}

#[derive(Debug, Default)]
pub(super) struct Runs {
    slots: [Option<Slot>; RUN_SLOTS],
    /// The slot the next new run replaces (round robin).
    next: usize,
}

fn same<K: Any + Send + Sync>(a: &RunKey, b: &Arc<K>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

impl Runs {
    pub(super) fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// The octets of `key`'s run encoded against the table of `generation`, if kept.
    pub(super) fn find<K: Any + Send + Sync>(
        &self,
        key: &Arc<K>,
        generation: u64,
    ) -> Option<&[u8]> {
        self.slots
            .iter()
            .flatten()
            .find_map(|s| (same(&s.key, key) && s.generation == generation).then_some(&s.wire[..]))
    }

    /// `key`'s run was encoded as `wire` against the table of `generation`, leaving
    /// it unchanged and holding no sensitive field.
    pub(super) fn keep<K: Any + Send + Sync>(
        &mut self,
        key: &Arc<K>,
        generation: u64,
        wire: &[u8],
    ) {
        if wire.len() > RUN_WIRE_MAX {
            return;
        }
        let i = match self.slots.iter().position(|s| match s {
            Some(s) => same(&s.key, key),
            None => true,
        }) {
            Some(i) => i,
            None => {
                let i = self.next;
                self.next = (self.next + 1) % RUN_SLOTS;
                i
            }
        };
        match &mut self.slots[i] {
            // The slot's buffer is reused: no allocation once the slots are warm.
            Some(s) => {
                s.key = Arc::clone(key) as RunKey;
                s.generation = generation;
                s.wire.clear();
                s.wire.extend_from_slice(wire);
            }
            empty => {
                *empty = Some(Slot {
                    key: Arc::clone(key) as RunKey,
                    generation,
                    wire: wire.to_vec(),
                })
            }
        }
    }
}

//! The octets of fields sent as literals that no table state changes, kept per worker
//! thread and shared by its connections.
//!
//! A field the encoder sends without indexing (`etag`, `last-modified`, ... at their
//! first appearance under [`super::Strategy::Smart`]: they identify one resource, see
//! `is_per_response` and `Seen`) whose name is in the static table is always encoded
//! the same way: the static name index and the value, Huffman-coded when shorter
//! (RFC 7541 §6.2.2). No dynamic
//! table is involved, so the octets depend on the field alone, and the same file's
//! `etag` sent on a hundred connections is Huffman-coded once. Each connection's
//! encoder still keeps its own state; this only saves recomputing octets.
//!
//! Direct-mapped by a hash of name and value, each slot verified octet for octet:
//! a collision costs an encoding, never wrong octets. Bounded: `HPACK_LITERAL_SLOTS`
//! slots of a field of at most `HPACK_LITERAL_FIELD_MAX` octets (`limits.rs`).

use std::cell::RefCell;

use super::kept::KeptField;
use crate::limits::{HPACK_LITERAL_FIELD_MAX, HPACK_LITERAL_SLOTS};

#[derive(Debug, Default)]
struct Slot {
    kept: KeptField,
    huffman: bool,
}

thread_local! {
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

fn slot_of(hash: u64) -> usize {
    // The slot count is a power of two: the low bits index.
    (hash as usize) & (HPACK_LITERAL_SLOTS - 1)
}

/// Appends the octets kept for this field, if any; true when it did.
pub(super) fn append(
    hash: u64,
    name: &[u8],
    value: &[u8],
    huffman: bool,
    dst: &mut Vec<u8>,
) -> bool {
    SLOTS.with_borrow(|slots| {
        let octets = slots
            .get(slot_of(hash))
            .filter(|s| s.huffman == huffman)
            .and_then(|s| s.kept.wire_for(name, value));
        octets.map(|o| dst.extend_from_slice(o)).is_some()
    })
}

/// Keeps `octets` as this field's encoding (replacing the slot's field).
pub(super) fn keep(hash: u64, name: &[u8], value: &[u8], huffman: bool, octets: &[u8]) {
    if name.len() + value.len() > HPACK_LITERAL_FIELD_MAX {
        return;
    }
    SLOTS.with_borrow_mut(|slots| {
        if slots.is_empty() {
            slots.resize_with(HPACK_LITERAL_SLOTS, Slot::default);
        }
        let s = &mut slots[slot_of(hash)];
        s.kept.keep(name, value, octets);
        s.huffman = huffman;
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{Decoder, Encoder, HeaderField, Strategy};
    use crate::test_rng::Rng;

    fn block(enc: &mut Encoder, fields: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        enc.encode(
            fields.iter().map(|&(name, value)| HeaderField {
                name,
                value,
                sensitive: false,
            }),
            &mut out,
        );
        out
    }

    fn decoded(dec: &mut Decoder, wire: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        dec.decode(wire, 1 << 20, &mut |f| {
            out.push((f.name.to_vec(), f.value.to_vec()))
        })
        .unwrap();
        out
    }

    /// RFC 7541 §6.2.2: a literal without indexing with a static name is the same
    /// octets on every connection; the second connection's come from the thread's
    /// slots (Huffman or not, each as its encoder asks) and decode to the field.
    #[test]
    fn rfc7541_6_2_2_kept_literal_octets_equal_a_fresh_encoding() {
        let etag: (&[u8], &[u8]) = (b"etag", b"\"6755f3a2-400\"");
        for huffman in [true, false] {
            let strategy = Strategy::Smart { huffman };
            let first = block(&mut Encoder::with_strategy(strategy), &[etag]);
            let second = block(&mut Encoder::with_strategy(strategy), &[etag]);
            assert_eq!(first, second);
            // Static entry 34 in a 4-bit prefix (0000: not indexed), then the value.
            assert_eq!(&first[..2], &[0x0f, 34 - 15]);
            assert_eq!(
                decoded(&mut Decoder::new(4096), &second),
                vec![(etag.0.to_vec(), etag.1.to_vec())]
            );
        }
        let raw = block(
            &mut Encoder::with_strategy(Strategy::Smart { huffman: false }),
            &[etag],
        );
        let coded = block(
            &mut Encoder::with_strategy(Strategy::Smart { huffman: true }),
            &[etag],
        );
        assert_ne!(raw, coded, "slots are kept apart by Huffman use");
    }

    /// Many fields through few slots (collisions, replacements): every block still
    /// decodes to exactly its fields, on connections whose tables differ.
    #[test]
    fn colliding_literals_never_give_wrong_octets() {
        let mut rng = Rng::new(0x1175);
        let names: [&[u8]; 4] = [b"etag", b"last-modified", b"content-length", b"location"];
        let mut conns: Vec<(Encoder, Decoder)> = (0..3)
            .map(|_| (Encoder::new(), Decoder::new(4096)))
            .collect();
        for round in 0..4000 {
            let values: Vec<Vec<u8>> = (0..3)
                .map(|_| {
                    format!("v{}", rng.below(3 * crate::limits::HPACK_LITERAL_SLOTS)).into_bytes()
                })
                .collect();
            let fields: Vec<(&[u8], &[u8])> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (names[(round + i) % names.len()], &v[..]))
                .chain([(&b"content-type"[..], &b"text/css"[..])])
                .collect();
            let (enc, dec) = &mut conns[round % 3];
            let wire = block(enc, &fields);
            let want: Vec<(Vec<u8>, Vec<u8>)> = fields
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect();
            assert_eq!(decoded(dec, &wire), want, "round {round}");
        }
    }
}

//! Deterministic counterpart of the `hpack_decode` fuzz target: the committed seed
//! corpus, random octets, and mutations of valid blocks, all through
//! [`fuzz_invariants::check_decode`] (the same file the fuzz target runs).
//! Fixed seeds and bounded counts.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::fuzz_invariants::{check_decode, TABLE_SIZES};
use super::{Encoder, HeaderField, Strategy};
use crate::test_rng::Rng;

#[test]
fn robustness_hpack_seed_corpus_keeps_the_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/hpack_decode");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check_decode(&data));
        assert!(result.is_ok(), "seed {} broke an invariant", path.display());
        seen += 1;
    }
    assert!(seen >= 5, "seed corpus too small: {seen}");
}

#[test]
fn robustness_hpack_random_octets_keep_the_invariants() {
    let mut rng = Rng::new(0x4850_4143);
    for _ in 0..3000 {
        let len = rng.below(200);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half the inputs keep the initial 4096-octet table, so a block need not start
        // with a size update to get past its first octet.
        if rng.one_in(2) {
            if let Some(mode) = data.first_mut() {
                *mode |= 3;
            }
        }
        check_decode(&data);
    }
}

/// Valid blocks from our encoder, framed in the input layout, then mutated: bit flips,
/// truncations, spliced representations, repeated references.
#[test]
fn robustness_hpack_mutated_valid_blocks_keep_the_invariants() {
    const SPLICES: &[&[u8]] = &[
        &[0x80],             // index 0
        &[0xbe],             // first dynamic entry
        &[0xff, 0xff, 0x7f], // large index
        &[0x20],             // size update to 0
        &[0x3f, 0xe1, 0x1f], // size update to 4096
        &[0x3f, 0xff, 0xff, 0xff, 0xff, 0x0f],
        &[0x40, 0x7f, 0xff, 0xff],             // huge literal name
        &[0x10, 0x81, 0xff],                   // never indexed, bad Huffman
        &[0x00, 0x84, 0xff, 0xff, 0xff, 0xff], // EOS
    ];
    let mut rng = Rng::new(7541_0006);
    let names: &[&[u8]] = &[b"server", b"date", b"x-a", b"cookie", b":path", b"etag"];
    for round in 0..1500 {
        let mut enc = Encoder::with_strategy(*rng.pick(&Strategy::ALL));
        let mode = rng.next() as u8;
        let mut data = vec![mode];
        // The encoder follows our table size as a peer would, so blocks start with the
        // size updates the decoder requires.
        enc.set_max_table_size(TABLE_SIZES[usize::from(mode & 3)]);
        for _ in 0..1 + rng.below(4) {
            let fields: Vec<(Vec<u8>, Vec<u8>)> = (0..rng.below(6))
                .map(|_| {
                    let v: Vec<u8> = (0..rng.below(40))
                        .map(|_| b'a' + rng.below(30) as u8)
                        .collect();
                    (rng.pick(names).to_vec(), v)
                })
                .collect();
            let resize = rng.next() as u8;
            if mode & 0x10 != 0 {
                enc.set_max_table_size(TABLE_SIZES[usize::from(resize & 3)]);
            }
            let mut block = Vec::new();
            enc.encode(
                fields.iter().map(|(n, v)| HeaderField::new(n, v)),
                &mut block,
            );
            for _ in 0..rng.below(3) {
                match rng.below(4) {
                    0 if !block.is_empty() => {
                        let i = rng.below(block.len());
                        block[i] ^= 1 << rng.below(8);
                    }
                    1 if !block.is_empty() => block.truncate(rng.below(block.len())),
                    2 => {
                        let at = rng.below(block.len() + 1);
                        let s = rng.pick(SPLICES);
                        block.splice(at..at, s.iter().copied());
                    }
                    _ => block.resize(block.len() + rng.below(40), 0xbe),
                }
            }
            block.truncate(255);
            if mode & 0x10 != 0 {
                data.push(resize);
            }
            data.push(block.len() as u8);
            data.extend_from_slice(&block);
        }
        let result = std::panic::catch_unwind(|| check_decode(&data));
        assert!(result.is_ok(), "round {round}: input {data:02x?}");
    }
}

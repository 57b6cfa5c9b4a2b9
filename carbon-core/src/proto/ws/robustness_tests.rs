//! Randomized robustness tests of the WebSocket engine: the invariants of
//! [`super::fuzz_invariants`] (the same file the `ws_frames` fuzz target runs) checked
//! on the committed seed corpus, on random frames built around valid ones, and on
//! mutations of them. Deterministic: fixed seeds, bounded iteration counts.
#![allow(clippy::unwrap_used)]

use super::conn_tests::client_frame;
use super::fuzz_invariants::check_frames;
use crate::test_rng::Rng;

#[test]
fn ws_frames_seed_corpus_keeps_every_invariant() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/ws_frames");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        check_frames(&data);
        n += 1;
    }
    assert!(n >= 5, "seed corpus missing: {n} files in {dir}");
}

/// A random, mostly plausible client frame sequence.
fn random_frames(rng: &mut Rng) -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..rng.below(6) + 1 {
        let op = [0x0u8, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3][rng.below(7)];
        let fin = if rng.one_in(3) { 0 } else { 0x80 };
        let rsv1 = if rng.one_in(4) { 0x40 } else { 0 };
        let len = [0usize, 1, 2, 5, 125, 126, 300, 5000][rng.below(8)];
        let payload: Vec<u8> = if rng.one_in(2) {
            "κόσμε €".bytes().cycle().take(len).collect()
        } else {
            (0..len).map(|_| rng.next() as u8).collect()
        };
        wire.extend(client_frame(fin | rsv1 | op, &payload, None));
    }
    wire
}

#[test]
fn ws_frames_random_sequences_and_mutations_keep_every_invariant() {
    let mut rng = Rng::new(0x5753_0001);
    for _ in 0..300 {
        let mut wire = random_frames(&mut rng);
        if rng.one_in(2) {
            for _ in 0..rng.below(4) + 1 {
                let i = rng.below(wire.len());
                wire[i] ^= 1 << rng.below(8);
            }
        }
        let mut input = vec![rng.below(256) as u8, rng.below(8) as u8];
        input.extend(wire);
        check_frames(&input);
    }
}

#[test]
fn ws_frames_one_byte_reads_of_valid_exchanges() {
    let mut rng = Rng::new(0x5753_0002);
    for _ in 0..50 {
        let mut input = vec![0u8, rng.below(8) as u8];
        input.extend(client_frame(0x01, "Hello, ".as_bytes(), None));
        input.extend(client_frame(0x89, b"ping", None));
        input.extend(client_frame(0x80, "κόσμε".as_bytes(), None));
        input.extend(client_frame(0x82, &vec![7; rng.below(70_000)], None));
        input.extend(client_frame(0x88, &1000u16.to_be_bytes(), None));
        check_frames(&input);
    }
}

/// A fuzz find kept as a fixed case: arbitrary bytes that inflate past 1 KiB. The
/// engine stops at the sentinel byte one past the limit and refuses with 1009
/// (RFC 7692 §8.1 leaves the bound to us; docs/websocket.md promises it).
#[test]
fn rfc7692_inflation_past_the_limit_fuzz_find_keeps_every_invariant() {
    check_frames(include_bytes!(
        "../../../../fuzz/corpus/ws_frames/deflate-garbage-inflates-past-1k-limit"
    ));
}

/// A fuzz find kept as a fixed case: output passes the limit and the data turns
/// corrupt in the same inflate call; still 1009.
#[test]
fn rfc7692_inflation_past_the_limit_then_corrupt_fuzz_find_keeps_every_invariant() {
    check_frames(include_bytes!(
        "../../../../fuzz/corpus/ws_frames/deflate-past-1k-limit-then-corrupt"
    ));
}

//! Deterministic counterpart of the `proxy_header` fuzz target: the committed seed
//! corpus, random bytes after each signature, and mutations of valid headers, all
//! through [`fuzz_invariants::check_parse`] (the same file the fuzz target runs).
//! Fixed seeds and bounded counts.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::fuzz_invariants::check_parse;
use super::V2_SIGNATURE;
use crate::test_rng::Rng;

#[test]
fn robustness_proxy_seed_corpus_keeps_the_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/proxy_header");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check_parse(&data));
        assert!(result.is_ok(), "seed {} broke an invariant", path.display());
        seen += 1;
    }
    assert!(seen >= 10, "seed corpus too small: {seen}");
}

#[test]
fn robustness_proxy_random_bytes_after_a_signature_keep_the_invariants() {
    let mut rng = Rng::new(0x5052_4f58);
    for i in 0..2000 {
        let mut data = if i % 2 == 0 {
            b"PROXY ".to_vec()
        } else {
            V2_SIGNATURE.to_vec()
        };
        if i % 2 == 1 {
            // A valid version/command half the time, so the length and body are reached.
            data.push(if rng.one_in(2) {
                0x21
            } else {
                rng.next() as u8
            });
            data.push([0x11, 0x21, 0x00, 0x31][rng.below(4)]);
            data.extend_from_slice(&(rng.below(60) as u16).to_be_bytes());
        }
        let len = rng.below(80);
        data.extend((0..len).map(|_| rng.next() as u8));
        check_parse(&data);
    }
}

#[test]
fn robustness_proxy_mutated_seeds_keep_the_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/proxy_header");
    let seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let mut rng = Rng::new(0x7632_6d75);
    for _ in 0..2000 {
        let mut data = rng.pick(&seeds).clone();
        for _ in 0..=rng.below(3) {
            if data.is_empty() {
                break;
            }
            let at = rng.below(data.len());
            match rng.below(3) {
                0 => data[at] = rng.next() as u8,
                1 => {
                    data.remove(at);
                }
                _ => data.insert(at, rng.next() as u8),
            }
        }
        check_parse(&data);
    }
}

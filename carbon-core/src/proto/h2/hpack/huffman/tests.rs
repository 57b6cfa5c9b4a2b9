//! RFC 7541 §5.2 and Appendix B: the code table, the decoder's padding and EOS rules, and
//! round trips of every symbol.
#![allow(clippy::unwrap_used)]

use super::code::{CODES, EOS};
use super::{decode, encode, encoded_len};
use crate::proto::h2::hpack::error::DecodeError;
use crate::test_rng::Rng;

fn dec(src: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    decode(src, &mut out).map(|()| out)
}

fn enc(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(src, &mut out);
    out
}

/// Packs bit strings ("0101...") into octets, padding the last one with ones.
fn bits(s: &str) -> Vec<u8> {
    let bits: Vec<u8> = s.bytes().filter(|b| *b != b'_').map(|b| b - b'0').collect();
    bits.chunks(8)
        .map(|c| {
            let mut v = 0u8;
            for i in 0..8 {
                v = (v << 1) | c.get(i).copied().unwrap_or(1);
            }
            v
        })
        .collect()
}

#[test]
fn rfc7541_appendix_b_code_is_complete_and_prefix_free() {
    // Kraft: a complete prefix code has sum(2^-len) == 1 exactly.
    let kraft: u64 = CODES.iter().map(|&(_, len)| 1u64 << (30 - len)).sum();
    assert_eq!(kraft, 1 << 30);
    for (a, &(ca, la)) in CODES.iter().enumerate() {
        assert!((5..=30).contains(&la), "symbol {a} length {la}");
        assert!(ca < (1 << la), "symbol {a} code wider than its length");
        for (b, &(cb, lb)) in CODES.iter().enumerate() {
            if a != b && la <= lb {
                assert_ne!(cb >> (lb - la), ca, "code of {a} is a prefix of {b}'s");
            }
        }
    }
    // Spot checks against the RFC's table.
    assert_eq!(CODES[usize::from(b'a')], (0x3, 5));
    assert_eq!(CODES[usize::from(b' ')], (0x14, 6));
    assert_eq!(CODES[0], (0x1ff8, 13));
    assert_eq!(CODES[EOS], (0x3fff_ffff, 30));
}

#[test]
fn rfc7541_5_2_every_symbol_round_trips_alone_and_together() {
    for sym in 0..=255u8 {
        let wire = enc(&[sym]);
        assert_eq!(wire.len(), encoded_len(&[sym]));
        assert_eq!(dec(&wire).unwrap(), [sym], "symbol {sym}");
    }
    let all: Vec<u8> = (0..=255u8).collect();
    assert_eq!(dec(&enc(&all)).unwrap(), all);
    let rev: Vec<u8> = (0..=255u8).rev().collect();
    assert_eq!(dec(&enc(&rev)).unwrap(), rev);
}

#[test]
fn rfc7541_5_2_random_strings_round_trip() {
    let mut rng = Rng::new(52);
    for _ in 0..2000 {
        let len = rng.below(64);
        let s: Vec<u8> = (0..len)
            .map(|_| {
                if rng.one_in(4) {
                    rng.next() as u8
                } else {
                    *rng.pick(b"abcdefghijklmnopqrstuvwxyz0123456789/-.:=;, ")
                }
            })
            .collect();
        let wire = enc(&s);
        assert_eq!(wire.len(), encoded_len(&s));
        assert_eq!(dec(&wire).unwrap(), s);
    }
}

#[test]
fn rfc7541_c_4_1_huffman_of_www_example_com() {
    let wire = [
        0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
    ];
    assert_eq!(enc(b"www.example.com"), wire);
    assert_eq!(dec(&wire).unwrap(), b"www.example.com");
}

#[test]
fn rfc7541_5_2_empty_string_is_valid() {
    assert_eq!(dec(&[]).unwrap(), b"");
    assert_eq!(encoded_len(b""), 0);
}

#[test]
fn rfc7541_5_2_padding_up_to_7_ones_is_accepted() {
    // 'a' is 00011 (5 bits): 3 bits of padding.
    assert_eq!(dec(&bits("00011")).unwrap(), b"a");
    // "a0" = 00011 00000: 6 bits of padding.
    assert_eq!(dec(&bits("00011_00000")).unwrap(), b"a0");
    // ' ' is 010100 (6 bits) then '0' 00000 then 'a' 00011: 16 bits, no padding.
    assert_eq!(dec(&bits("010100_00000_00011")).unwrap(), b" 0a");
    // '!' (10 bits) + 'a' (5) = 15 bits, 1 bit of padding; 7 bits after 'a0' + 'a'.
    assert_eq!(dec(&bits("1111111000_00011")).unwrap(), b"!a");
}

#[test]
fn rfc7541_5_2_padding_longer_than_7_bits_is_an_error() {
    // A whole octet of ones after a complete symbol.
    let mut wire = bits("00011_00000_010100"); // 'a' '0' ' ' = 16 bits exactly
    wire.push(0xff);
    assert_eq!(dec(&wire), Err(DecodeError::HuffmanPadding));
    // Only padding: one octet of ones.
    assert_eq!(dec(&[0xff]), Err(DecodeError::HuffmanPadding));
    // 'a' followed by 11 ones (3 + 8).
    let mut wire = bits("00011");
    wire.push(0xff);
    assert_eq!(dec(&wire), Err(DecodeError::HuffmanPadding));
}

#[test]
fn rfc7541_5_2_padding_not_all_ones_is_an_error() {
    // 'a' = 00011 then padding 000 instead of 111.
    assert_eq!(dec(&[0b0001_1000]), Err(DecodeError::HuffmanPadding));
    // 'a' then 110.
    assert_eq!(dec(&[0b0001_1110]), Err(DecodeError::HuffmanPadding));
}

#[test]
fn rfc7541_5_2_eos_inside_a_string_is_an_error() {
    // EOS (30 ones) then padding: 32 ones.
    assert_eq!(dec(&[0xff; 4]), Err(DecodeError::HuffmanEos));
    // 'a', EOS, 'a'.
    let mut s = String::from("00011");
    s.push_str(&"1".repeat(30));
    s.push_str("00011");
    assert_eq!(dec(&bits(&s)), Err(DecodeError::HuffmanEos));
}

#[test]
fn rfc7541_5_2_random_bytes_never_panic_and_valid_output_re_encodes() {
    let mut rng = Rng::new(53);
    for _ in 0..5000 {
        let len = rng.below(16);
        let wire: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Ok(s) = dec(&wire) {
            // A valid encoding is the unique canonical one (padding < 8 bits).
            assert_eq!(enc(&s), wire);
        }
    }
}

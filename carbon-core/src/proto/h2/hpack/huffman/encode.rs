//! Huffman encoding: codes packed most significant bit first, the last octet padded
//! with the most significant bits of EOS, i.e. ones (RFC 7541 §5.2).

use super::code::CODES;

/// The length in octets of the Huffman encoding of `src`.
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends the Huffman encoding of `src` to `dst`.
pub fn encode(src: &[u8], dst: &mut Vec<u8>) {
    // Pending bits sit in the low `pending` bits of `acc`. They are written 32 at a
    // time (one store instead of four), so before a code is added at most 31 bits
    // wait, and with the longest code (30 bits) at most 61: a u64 holds them all.
    // Bits above the pending ones are stale but never read.
    let mut acc: u64 = 0;
    let mut pending: u32 = 0;
    for &b in src {
        let (code, len) = CODES[usize::from(b)];
        acc = (acc << len) | u64::from(code);
        pending += u32::from(len);
        if pending >= 32 {
            pending -= 32;
            dst.extend_from_slice(&((acc >> pending) as u32).to_be_bytes());
        }
    }
    while pending >= 8 {
        pending -= 8;
        dst.push((acc >> pending) as u8);
    }
    if pending > 0 {
        let pad = 8 - pending;
        dst.push(((acc << pad) | ((1 << pad) - 1)) as u8);
    }
}

//! Client-to-server masking (RFC 6455 §5.3).

/// XORs `data` with `mask`, where `offset` is the position of `data[0]` in the frame
/// payload (a payload arrives in pieces; the key keeps its phase across them).
///
/// Every byte of every client frame goes through here, so it works a word at a time:
/// byte by byte it cost about 8 instructions per byte, most of the server's CPU time
/// on 16 KiB messages (docs/performance.md). Eight bytes at once keep the key's
/// phase (8 is a multiple of 4), and the compiler turns the loop into vector XORs.
pub fn apply_mask(mask: [u8; 4], offset: u64, data: &mut [u8]) {
    // An all-zero key (and an unmasked frame under "no-masking", which the engine
    // passes as one) changes nothing: skip the pass over the payload.
    if mask == [0; 4] {
        return;
    }
    let phase = (offset % 4) as usize;
    // The key as it lines up with data[0].
    let key: [u8; 4] = std::array::from_fn(|i| mask[(phase + i) % 4]);
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut words = data.chunks_exact_mut(8);
    for w in &mut words {
        let mut v = [0u8; 8];
        v.copy_from_slice(w);
        w.copy_from_slice(&(u64::from_ne_bytes(v) ^ word).to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_5_3_masking_is_an_involution_across_split_points() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut whole = *b"Hello";
        apply_mask(key, 0, &mut whole);
        // RFC 6455 §5.7: a masked "Hello".
        assert_eq!(whole, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let (a, b) = whole.split_at_mut(3);
        apply_mask(key, 0, a);
        apply_mask(key, 3, b);
        assert_eq!(&whole, b"Hello");
    }

    /// The word-at-a-time loop against the definition (§5.3: octet i is XORed with
    /// octet i MOD 4 of the key), for every phase and every length around the word
    /// size, at every alignment of the slice.
    #[test]
    fn rfc6455_5_3_word_masking_matches_the_octet_definition() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let src: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
        for offset in 0..8u64 {
            for start in 0..8 {
                for len in 0..40 {
                    let mut got = src.clone();
                    apply_mask(key, offset, &mut got[start..start + len]);
                    let mut want = src.clone();
                    for (i, b) in want[start..start + len].iter_mut().enumerate() {
                        *b ^= key[(offset as usize + i) % 4];
                    }
                    assert_eq!(got, want, "offset {offset}, start {start}, len {len}");
                }
            }
        }
    }
}

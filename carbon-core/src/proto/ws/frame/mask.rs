//! Client-to-server masking (RFC 6455 §5.3).

/// XORs `data` with `mask`, where `offset` is the position of `data[0]` in the frame
/// payload (a payload arrives in pieces; the key keeps its phase across them).
pub fn apply_mask(mask: [u8; 4], offset: u64, data: &mut [u8]) {
    // An all-zero key (and an unmasked frame under "no-masking", which the engine
    // passes as one) changes nothing: skip the pass over the payload.
    if mask == [0; 4] {
        return;
    }
    let phase = (offset % 4) as usize;
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[(phase + i) % 4];
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
}

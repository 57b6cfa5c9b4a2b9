//! Prefix integers (RFC 7541 §5.1): an N-bit prefix in the first octet, then 7 bits per
//! continuation octet, least significant group first.
//!
//! Decoding is overflow-safe: a value that does not fit in a `usize`, or a run of
//! continuation octets longer than any such value could need (zero groups included),
//! is [`DecodeError::IntegerOverflow`], never a wrap-around.

use super::error::DecodeError;

/// Decodes an integer with a `prefix`-bit prefix (1 to 8) from the start of `buf`.
/// Returns the value and the number of octets it took. Bits of the first octet above
/// the prefix are ignored (they belong to the representation's type).
pub fn decode(buf: &[u8], prefix: u8) -> Result<(usize, usize), DecodeError> {
    debug_assert!((1..=8).contains(&prefix));
    let Some(&first) = buf.first() else {
        return Err(DecodeError::Truncated);
    };
    let max_prefix = prefix_max(prefix);
    let mut value = u64::from(first) & max_prefix;
    if value < max_prefix {
        return Ok((value as usize, 1));
    }
    let mut shift = 0u32;
    for (i, &b) in buf.iter().enumerate().skip(1) {
        let group = u64::from(b & 0x7f);
        // The group must fit in the bits left above `shift`; 64 or more is overflow even
        // for a zero group, which also bounds the number of octets read.
        if shift >= 64 || group > (u64::MAX >> shift) {
            return Err(DecodeError::IntegerOverflow);
        }
        value = value
            .checked_add(group << shift)
            .ok_or(DecodeError::IntegerOverflow)?;
        if b & 0x80 == 0 {
            let value = usize::try_from(value).map_err(|_| DecodeError::IntegerOverflow)?;
            return Ok((value, i + 1));
        }
        shift += 7;
    }
    Err(DecodeError::Truncated)
}

/// Appends `value` with a `prefix`-bit prefix (1 to 8). `flags` holds the bits of the
/// first octet above the prefix (the representation's type pattern).
pub fn encode(value: usize, prefix: u8, flags: u8, dst: &mut Vec<u8>) {
    debug_assert!((1..=8).contains(&prefix));
    let max_prefix = prefix_max(prefix) as usize;
    if value < max_prefix {
        dst.push(flags | value as u8);
        return;
    }
    dst.push(flags | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 0x80 {
        dst.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    dst.push(rest as u8);
}

/// 2^N - 1: the prefix value that announces continuation octets.
fn prefix_max(prefix: u8) -> u64 {
    (1u64 << prefix) - 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::test_rng::Rng;

    fn enc(value: usize, prefix: u8) -> Vec<u8> {
        let mut v = Vec::new();
        encode(value, prefix, 0, &mut v);
        v
    }

    #[test]
    fn rfc7541_c_1_1_ten_with_5_bit_prefix() {
        assert_eq!(enc(10, 5), [0b01010]);
        assert_eq!(decode(&[0b01010], 5), Ok((10, 1)));
    }

    #[test]
    fn rfc7541_c_1_2_1337_with_5_bit_prefix() {
        assert_eq!(enc(1337, 5), [31, 154, 10]);
        assert_eq!(decode(&[31, 154, 10], 5), Ok((1337, 3)));
    }

    #[test]
    fn rfc7541_c_1_3_42_at_octet_boundary() {
        assert_eq!(enc(42, 8), [42]);
        assert_eq!(decode(&[42], 8), Ok((42, 1)));
    }

    #[test]
    fn rfc7541_5_1_flag_bits_above_the_prefix_are_kept_and_ignored() {
        let mut v = Vec::new();
        encode(3, 6, 0x40, &mut v);
        assert_eq!(v, [0x43]);
        assert_eq!(decode(&[0xC3], 6), Ok((3, 1)));
        assert_eq!(decode(&[0xFF, 0x00], 4), Ok((15, 2)));
    }

    #[test]
    fn rfc7541_5_1_every_prefix_size_round_trips_boundaries_and_random_values() {
        let mut rng = Rng::new(51);
        for prefix in 1..=8u8 {
            let max = (1usize << prefix) - 1;
            let mut values = vec![
                0,
                1,
                max - 1,
                max,
                max + 1,
                max + 127,
                max + 128,
                usize::MAX - 1,
                usize::MAX,
            ];
            values.extend((0..200).map(|_| (rng.next() as usize) >> rng.below(64)));
            for v in values {
                let wire = enc(v, prefix);
                assert_eq!(decode(&wire, prefix), Ok((v, wire.len())), "{v} /{prefix}");
                // Every proper prefix of the encoding is incomplete, never a value.
                for cut in 0..wire.len() {
                    assert_eq!(decode(&wire[..cut], prefix), Err(DecodeError::Truncated));
                }
            }
        }
    }

    #[test]
    fn rfc7541_5_1_value_beyond_usize_is_overflow() {
        // usize::MAX + 1 with an 8-bit prefix.
        let mut wire = enc(usize::MAX, 8);
        let last = wire.len() - 1;
        wire[last] += 1;
        assert_eq!(decode(&wire, 8), Err(DecodeError::IntegerOverflow));
        // 2^70: more groups than 64 bits hold.
        let mut wire = vec![0xff];
        wire.extend([0x80; 10]);
        wire.push(0x01);
        assert_eq!(decode(&wire, 8), Err(DecodeError::IntegerOverflow));
    }

    #[test]
    fn rfc7541_5_1_endless_zero_continuations_are_overflow_not_a_hang() {
        let mut wire = vec![0x1f];
        wire.extend([0x80; 10_000]);
        wire.push(0);
        assert_eq!(decode(&wire, 5), Err(DecodeError::IntegerOverflow));
    }

    #[test]
    fn rfc7541_5_1_empty_input_is_truncated() {
        assert_eq!(decode(&[], 7), Err(DecodeError::Truncated));
    }
}

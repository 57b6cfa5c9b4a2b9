//! String literals (RFC 7541 §5.2): an H bit, a 7-bit-prefix length, then the octets,
//! raw or Huffman-coded.
//!
//! The length is checked against what is left of the block before anything is read or
//! allocated, so a peer announcing a 4 GiB string in a 20-octet block costs nothing.

use super::error::DecodeError;
use super::{huffman, integer};

/// Decodes the string literal at the start of `buf`. A raw string is borrowed from
/// `buf`; a Huffman-coded one is decoded into `scratch` (cleared first) and borrowed
/// from there. Returns the string and the number of octets the literal took.
pub fn decode<'a>(
    buf: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<(&'a [u8], usize), DecodeError> {
    let Some(&first) = buf.first() else {
        return Err(DecodeError::Truncated);
    };
    let huffman_coded = first & 0x80 != 0;
    let (len, n) = integer::decode(buf, 7)?;
    let rest = &buf[n..];
    if len > rest.len() {
        return Err(DecodeError::StringTooLong);
    }
    let octets = &rest[..len];
    if huffman_coded {
        scratch.clear();
        huffman::decode(octets, scratch)?;
        Ok((scratch.as_slice(), n + len))
    } else {
        Ok((octets, n + len))
    }
}

/// Appends `s` as a string literal, Huffman-coded when `huffman` allows it and that is
/// strictly shorter.
pub fn encode(s: &[u8], huffman: bool, dst: &mut Vec<u8>) {
    if huffman {
        let coded = huffman::encoded_len(s);
        if coded < s.len() {
            integer::encode(coded, 7, 0x80, dst);
            huffman::encode(s, dst);
            return;
        }
    }
    integer::encode(s.len(), 7, 0, dst);
    dst.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn round_trip(s: &[u8], huffman: bool) -> Vec<u8> {
        let mut wire = Vec::new();
        encode(s, huffman, &mut wire);
        let mut scratch = Vec::new();
        let (out, n) = decode(&wire, &mut scratch).unwrap();
        assert_eq!(n, wire.len());
        assert_eq!(out, s);
        wire
    }

    #[test]
    fn rfc7541_5_2_raw_literal_round_trips() {
        assert_eq!(round_trip(b"custom-key", false), b"\x0acustom-key");
        assert_eq!(round_trip(b"", false), [0]);
        let long = vec![b'x'; 300];
        let wire = round_trip(&long, false);
        assert_eq!(&wire[..3], &[0x7f, 0xad, 0x01]);
    }

    #[test]
    fn rfc7541_5_2_huffman_only_when_strictly_shorter() {
        // C.4.1: "www.example.com" is 12 octets Huffman-coded, 15 raw.
        let wire = round_trip(b"www.example.com", true);
        assert_eq!(wire[0], 0x80 | 12);
        // Octets with long codes are sent raw.
        let wire = round_trip(&[0u8, 1, 2, 3], true);
        assert_eq!(wire[0], 4);
        assert_eq!(round_trip(b"", true), [0]);
    }

    #[test]
    fn rfc7541_5_2_length_beyond_the_block_is_an_error_without_allocation() {
        let mut scratch = Vec::new();
        // Announces 2^32 octets, has 3.
        let mut wire = Vec::new();
        integer::encode(1 << 32, 7, 0x80, &mut wire);
        wire.extend_from_slice(b"abc");
        assert_eq!(
            decode(&wire, &mut scratch).map(|_| ()),
            Err(DecodeError::StringTooLong)
        );
        assert_eq!(scratch.capacity(), 0);
        assert_eq!(
            decode(&[0x05, b'a'], &mut scratch).map(|_| ()),
            Err(DecodeError::StringTooLong)
        );
        assert_eq!(
            decode(&[], &mut scratch).map(|_| ()),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            decode(&[0x7f], &mut scratch).map(|_| ()),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn rfc7541_5_2_huffman_errors_surface() {
        let mut scratch = Vec::new();
        assert_eq!(
            decode(&[0x81, 0xff], &mut scratch).map(|_| ()),
            Err(DecodeError::HuffmanPadding)
        );
        assert_eq!(
            decode(&[0x84, 0xff, 0xff, 0xff, 0xff], &mut scratch).map(|_| ()),
            Err(DecodeError::HuffmanEos)
        );
    }
}

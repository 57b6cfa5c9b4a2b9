//! Incremental UTF-8 validation for text messages (RFC 6455 §8.1, RFC 3629 §4).
//!
//! Fed the payload piece by piece, it fails at the first byte that cannot start or
//! continue a valid sequence, so a text message is refused with 1007 as soon as the
//! bad byte arrives (not at the end of the message): overlong forms, surrogates
//! (U+D800..U+DFFF) and code points above U+10FFFF are caught at their second byte.

/// Validator state between pieces: how many continuation bytes are still due and
/// the allowed range of the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Validator {
    need: u8,
    lo: u8,
    hi: u8,
}

impl Default for Utf8Validator {
    fn default() -> Self {
        Utf8Validator {
            need: 0,
            lo: 0x80,
            hi: 0xBF,
        }
    }
}

impl Utf8Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks `data`; on error returns the index in `data` of the offending byte.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), usize> {
        for (i, &b) in data.iter().enumerate() {
            if self.need == 0 {
                if b < 0x80 {
                    continue;
                }
                // RFC 3629 §4 table: the allowed range of the second byte depends on
                // the first.
                let (need, lo, hi) = match b {
                    0xC2..=0xDF => (1, 0x80, 0xBF),
                    0xE0 => (2, 0xA0, 0xBF),
                    0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
                    0xED => (2, 0x80, 0x9F),
                    0xF0 => (3, 0x90, 0xBF),
                    0xF1..=0xF3 => (3, 0x80, 0xBF),
                    0xF4 => (3, 0x80, 0x8F),
                    _ => return Err(i),
                };
                *self = Utf8Validator { need, lo, hi };
            } else {
                if b < self.lo || b > self.hi {
                    return Err(i);
                }
                self.need -= 1;
                self.lo = 0x80;
                self.hi = 0xBF;
            }
        }
        Ok(())
    }

    /// True when the input so far ends on a code point boundary (a message may end).
    pub fn is_complete(&self) -> bool {
        self.need == 0
    }
}

/// Whole-buffer check (close reasons, RFC 6455 §5.5.1).
pub fn is_valid(data: &[u8]) -> bool {
    let mut v = Utf8Validator::new();
    v.feed(data).is_ok() && v.is_complete()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_error(pieces: &[&[u8]]) -> Option<(usize, usize)> {
        let mut v = Utf8Validator::new();
        for (p, piece) in pieces.iter().enumerate() {
            if let Err(i) = v.feed(piece) {
                return Some((p, i));
            }
        }
        None
    }

    #[test]
    fn rfc6455_8_1_valid_text_split_at_every_byte() {
        let s = "κόσμε 𝄞 €uro ÿ".as_bytes();
        for cut in 0..=s.len() {
            let mut v = Utf8Validator::new();
            v.feed(&s[..cut]).unwrap();
            v.feed(&s[cut..]).unwrap();
            assert!(v.is_complete());
        }
        // One byte at a time.
        let mut v = Utf8Validator::new();
        for b in s {
            v.feed(std::slice::from_ref(b)).unwrap();
        }
        assert!(v.is_complete());
    }

    #[test]
    fn rfc6455_8_1_fails_fast_at_the_offending_byte() {
        // κόσμε then 0xED 0xA0 (a surrogate): fails at the 0xA0, in the second piece.
        let pieces: [&[u8]; 3] = ["κόσμε".as_bytes(), b"\xed\xa0\x80edited", b"hello"];
        assert_eq!(first_error(&pieces), Some((1, 1)));
        // A lone continuation byte fails at once.
        assert_eq!(first_error(&[b"ab\x80"]), Some((0, 2)));
        // Above U+10FFFF (F4 90): fails at 0x90, before the rest arrives.
        assert_eq!(first_error(&[b"\xf4", b"\x90"]), Some((1, 0)));
        // Overlong 3-byte form (E0 80): fails at 0x80.
        assert_eq!(first_error(&[b"\xe0\x80\x80"]), Some((0, 1)));
        // Overlong 2-byte lead bytes C0/C1 and F5+ fail at the lead byte.
        assert_eq!(first_error(&[b"x\xc0\xaf"]), Some((0, 1)));
        assert_eq!(first_error(&[b"\xf5"]), Some((0, 0)));
        assert_eq!(first_error(&[b"\xff"]), Some((0, 0)));
    }

    #[test]
    fn rfc6455_8_1_incomplete_sequence_at_message_end_is_invalid() {
        let mut v = Utf8Validator::new();
        v.feed(b"ok\xe2\x82").unwrap();
        assert!(!v.is_complete());
        assert!(!is_valid(b"\xe2\x82"));
        assert!(is_valid("€".as_bytes()));
    }

    #[test]
    fn rfc3629_agrees_with_std_on_every_two_byte_sequence() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let s = [a, b];
                assert_eq!(is_valid(&s), std::str::from_utf8(&s).is_ok(), "{s:x?}");
            }
        }
    }
}

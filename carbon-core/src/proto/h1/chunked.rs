//! Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
//!
//! It owns only the framing state: the decoded data goes straight into the caller's
//! body buffer, bounded by `Limits::max_body` as soon as a chunk-size announces more
//! (no waiting for the data to arrive). Chunk extensions are checked against their
//! grammar (RFC 9112 §7.1.1) and skipped, and the trailer
//! section is checked for shape and size and then discarded (RFC 9112 §7.1.2 lets a
//! recipient drop trailer fields it does not merge).

use crate::limits::Limits;

use super::chars::is_tchar;
use super::error::RequestError;

use crate::limits::H1_MAX_CHUNK_EXTENSION_BYTES as MAX_EXTENSION_BYTES;
use crate::limits::H1_MAX_CHUNK_LINE as MAX_CHUNK_LINE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading chunk-size hex digits (`digits` so far).
    Size {
        value: u64,
        digits: u8,
    },
    /// Whitespace after the size: only more whitespace or `;` may follow (the BWS
    /// before chunk-ext).
    SizeWs {
        value: u64,
    },
    /// Inside chunk-ext, up to CR.
    Ext {
        value: u64,
        at: Ext,
    },
    /// CR of the size line seen; LF must follow.
    SizeLf {
        value: u64,
    },
    /// Chunk data still to copy.
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
}

/// Where a chunk-ext parse stands (RFC 9112 §7.1.1):
/// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
/// chunk-ext-name = token, chunk-ext-val = token / quoted-string (RFC 9110 §5.6.4).
/// BWS is only allowed before ";" and around "=", so whitespace before the CRLF is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    /// After ";": BWS, then the name.
    BeforeName,
    Name,
    /// BWS after the name: "=" or ";" must follow.
    AfterNameWs,
    /// After "=": BWS, then the value.
    BeforeValue,
    TokenValue,
    /// Inside the quoted-string.
    Quoted,
    /// After a backslash inside the quoted-string.
    QuotedPair,
    /// Right after the closing quote.
    QuotedEnd,
    /// BWS after a value: only ";" (or more BWS) may follow.
    AfterValueWs,
}

/// Chunked framing state for one message.
#[derive(Debug)]
pub(super) struct ChunkedDecoder {
    state: State,
    /// Bytes of the current size line or trailer line.
    line_len: u32,
    extension_bytes: u32,
    trailer_bytes: u32,
    trailer_fields: u32,
}

impl ChunkedDecoder {
    pub(super) fn new() -> Self {
        ChunkedDecoder {
            state: State::Size {
                value: 0,
                digits: 0,
            },
            line_len: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
            trailer_fields: 0,
        }
    }

    /// Decode from `input`, appending data to `body`. Returns how many bytes of `input`
    /// were consumed and whether the message (trailers included) is complete. All of
    /// `input` is consumed unless the message ends inside it.
    pub(super) fn decode(
        &mut self,
        input: &[u8],
        body: &mut Vec<u8>,
        limits: &Limits,
    ) -> Result<(usize, bool), RequestError> {
        let mut i = 0;
        while i < input.len() {
            if let State::Data { remaining } = self.state {
                let take = (input.len() - i).min(usize::try_from(remaining).unwrap_or(usize::MAX));
                body.extend_from_slice(&input[i..i + take]);
                i += take;
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining }
                };
                continue;
            }
            if self.state == State::Done {
                return Ok((i, true));
            }
            let b = input[i];
            i += 1;
            self.step(b, body.len(), limits)?;
        }
        Ok((i, self.state == State::Done))
    }

    fn step(&mut self, b: u8, body_len: usize, limits: &Limits) -> Result<(), RequestError> {
        use RequestError::*;
        self.state = match self.state {
            State::Size { value, digits } => {
                self.size_line_byte()?;
                match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let digit = (b as char).to_digit(16).unwrap_or(0) as u64;
                        if value > u64::MAX >> 4 {
                            return Err(ChunkSizeOverflow);
                        }
                        State::Size {
                            value: value << 4 | digit,
                            digits: digits.saturating_add(1),
                        }
                    }
                    _ if digits == 0 => return Err(InvalidChunkSize),
                    b';' => State::Ext {
                        value,
                        at: Ext::BeforeName,
                    },
                    b' ' | b'\t' => State::SizeWs { value },
                    b'\r' => State::SizeLf { value },
                    _ => return Err(InvalidChunkSize),
                }
            }
            State::SizeWs { value } => {
                self.size_line_byte()?;
                match b {
                    b' ' | b'\t' => State::SizeWs { value },
                    b';' => State::Ext {
                        value,
                        at: Ext::BeforeName,
                    },
                    _ => return Err(InvalidChunkSize),
                }
            }
            State::Ext { value, at } => {
                self.size_line_byte()?;
                self.extension_bytes += 1;
                if self.extension_bytes > MAX_EXTENSION_BYTES {
                    return Err(ChunkExtensionsTooLong);
                }
                match ext_step(at, b)? {
                    Some(at) => State::Ext { value, at },
                    None => State::SizeLf { value },
                }
            }
            State::SizeLf { value } => {
                if b != b'\n' {
                    return Err(InvalidChunkSize);
                }
                self.line_len = 0;
                if value == 0 {
                    State::TrailerStart
                } else {
                    // Refuse as soon as the size is known, before buffering the data.
                    let total = (body_len as u64).saturating_add(value);
                    if total > limits.max_body as u64 {
                        return Err(BodyTooLarge);
                    }
                    State::Data { remaining: value }
                }
            }
            State::Data { .. } | State::Done => self.state,
            State::DataCr => {
                if b != b'\r' {
                    return Err(InvalidChunkFraming);
                }
                State::DataLf
            }
            State::DataLf => {
                if b != b'\n' {
                    return Err(InvalidChunkFraming);
                }
                State::Size {
                    value: 0,
                    digits: 0,
                }
            }
            State::TrailerStart => match b {
                b'\r' => State::EndLf,
                // RFC 9112 §5.2 applies to trailer lines too: no obs-fold.
                b' ' | b'\t' => return Err(InvalidChunkFraming),
                _ if is_tchar(b) => {
                    self.trailer_byte(limits)?;
                    State::TrailerName
                }
                _ => return Err(InvalidChunkFraming),
            },
            State::TrailerName => {
                self.trailer_byte(limits)?;
                match b {
                    b':' => State::TrailerValue,
                    _ if is_tchar(b) => State::TrailerName,
                    // RFC 9112 §5.1: no whitespace between field name and colon.
                    _ => return Err(InvalidChunkFraming),
                }
            }
            State::TrailerValue => match b {
                b'\r' => State::TrailerLf,
                b'\t' => {
                    self.trailer_byte(limits)?;
                    State::TrailerValue
                }
                0..=0x1f | 0x7f => return Err(InvalidChunkFraming),
                _ => {
                    self.trailer_byte(limits)?;
                    State::TrailerValue
                }
            },
            State::TrailerLf => {
                if b != b'\n' {
                    return Err(InvalidChunkFraming);
                }
                self.trailer_fields += 1;
                self.trailer_bytes += self.line_len + 2;
                self.line_len = 0;
                if self.trailer_fields as usize > limits.max_headers
                    || self.trailer_bytes as usize > limits.max_headers_size
                {
                    return Err(TrailersTooLarge);
                }
                State::TrailerStart
            }
            State::EndLf => {
                if b != b'\n' {
                    return Err(InvalidChunkFraming);
                }
                State::Done
            }
        };
        Ok(())
    }

    fn size_line_byte(&mut self) -> Result<(), RequestError> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE {
            return Err(RequestError::ChunkExtensionsTooLong);
        }
        Ok(())
    }

    fn trailer_byte(&mut self, limits: &Limits) -> Result<(), RequestError> {
        self.line_len += 1;
        if self.line_len as usize > limits.max_header_line
            || (self.trailer_bytes + self.line_len) as usize > limits.max_headers_size
        {
            return Err(RequestError::TrailersTooLarge);
        }
        Ok(())
    }
}

/// One byte of chunk-ext: the next position, or `None` at the CR ending the size line.
/// Anything outside the grammar is a 400: a lenient extension parser is where
/// request-smuggling variants that disagree on the chunk boundary start (an unclosed
/// quoted-string swallowing the CRLF in one parser and not in the next).
fn ext_step(at: Ext, b: u8) -> Result<Option<Ext>, RequestError> {
    let ws = b == b' ' || b == b'\t';
    let next = match at {
        Ext::BeforeName if ws => Ext::BeforeName,
        Ext::BeforeName | Ext::Name if is_tchar(b) => Ext::Name,
        Ext::Name | Ext::AfterNameWs if ws => Ext::AfterNameWs,
        Ext::Name | Ext::AfterNameWs if b == b'=' => Ext::BeforeValue,
        Ext::BeforeValue if ws => Ext::BeforeValue,
        Ext::BeforeValue if b == b'"' => Ext::Quoted,
        Ext::BeforeValue | Ext::TokenValue if is_tchar(b) => Ext::TokenValue,
        // RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
        Ext::Quoted if b == b'"' => Ext::QuotedEnd,
        Ext::Quoted if b == b'\\' => Ext::QuotedPair,
        Ext::Quoted if ws || matches!(b, 0x21..=0x7e | 0x80..=0xff) => Ext::Quoted,
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ).
        Ext::QuotedPair if ws || matches!(b, 0x21..=0x7e | 0x80..=0xff) => Ext::Quoted,
        Ext::TokenValue | Ext::QuotedEnd | Ext::AfterValueWs if ws => Ext::AfterValueWs,
        Ext::Name | Ext::AfterNameWs | Ext::TokenValue | Ext::QuotedEnd | Ext::AfterValueWs
            if b == b';' =>
        {
            Ext::BeforeName
        }
        Ext::Name | Ext::TokenValue | Ext::QuotedEnd if b == b'\r' => return Ok(None),
        _ => return Err(RequestError::InvalidChunkExtension),
    };
    Ok(Some(next))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).
mod tests {
    use super::*;

    /// Decode `input` split at `split` (and byte by byte), checking both agree.
    fn decode_split(input: &[u8], limits: &Limits) -> Result<(Vec<u8>, usize), RequestError> {
        let mut whole = ChunkedDecoder::new();
        let mut body = Vec::new();
        let whole_result = whole.decode(input, &mut body, limits).map(|(n, done)| {
            assert!(done, "whole input did not complete the message");
            (body.clone(), n)
        });
        let mut bytewise = ChunkedDecoder::new();
        let mut body2 = Vec::new();
        let mut bytewise_result = None;
        for (i, b) in input.iter().enumerate() {
            match bytewise.decode(std::slice::from_ref(b), &mut body2, limits) {
                Err(e) => {
                    bytewise_result = Some(Err(e));
                    break;
                }
                Ok((_, true)) => {
                    bytewise_result = Some(Ok((body2.clone(), i + 1)));
                    break;
                }
                Ok((1, false)) => {}
                Ok(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(Some(whole_result.clone()), bytewise_result);
        whole_result
    }

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn rfc9112_7_1_decodes_chunks_and_stops_at_the_end() {
        let input = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET";
        let (body, used) = decode_split(&input[..input.len() - 3], &limits()).unwrap();
        assert_eq!(body, b"hello world");
        let mut d = ChunkedDecoder::new();
        let mut b = Vec::new();
        assert_eq!(d.decode(input, &mut b, &limits()), Ok((used, true)));
    }

    #[test]
    fn rfc9112_7_1_1_extensions_are_skipped() {
        let input = b"5 ; name=\"va;lue\"\r\nhello\r\nA;x\r\n0123456789\r\n0;end\r\n\r\n";
        let (body, _) = decode_split(input, &limits()).unwrap();
        assert_eq!(body, b"hello0123456789");
    }

    #[test]
    fn rfc9112_7_1_1_valid_extensions_follow_the_grammar() {
        for ext in [
            &b";a"[..],
            b";a=b",
            b" \t; a = b",
            b";a=\"\"",
            b";a=\"x y\\\"z\\\\;\"",
            b";a=\"\x80\xff\t\"",
            b";a;b=1 ;c=\"2\"\t; d",
            b";a =\t\"q\" ;b",
        ] {
            let mut input = b"3".to_vec();
            input.extend_from_slice(ext);
            input.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
            let (body, _) = decode_split(&input, &limits())
                .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(ext)));
            assert_eq!(body, b"abc");
        }
    }

    #[test]
    fn rfc9112_7_1_1_malformed_extensions_are_400() {
        for ext in [
            &b";a=\"b"[..],
            b";a=\"b\r\nabc\r\n0\r\n\r\n\"",
            b";",
            b";;a",
            b";=b",
            b";a=",
            b";a= ",
            b";a ",
            b";a=b ",
            b";a=\"b\" ",
            b";a=\"b\"c",
            b";a=b=c",
            b";a b",
            b";a=b c",
            b";a@b",
            b";a=(b)",
            b";a=\"\x01\"",
            b";a=\"\x7f\"",
            b";a=\"\\\x01\"",
            b";\xc3\xa9",
        ] {
            let mut input = b"3".to_vec();
            input.extend_from_slice(ext);
            input.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
            let e = decode_split(&input, &limits()).unwrap_err();
            assert!(
                matches!(
                    e,
                    RequestError::InvalidChunkExtension | RequestError::InvalidChunkSize
                ),
                "{:?}: {e:?}",
                String::from_utf8_lossy(ext)
            );
            assert_eq!(e.status(), 400);
        }
        // The probe's case: an unterminated quoted-string is refused at the CR.
        assert_eq!(
            decode_split(b"5;a=\"b\r\nhello\r\n0\r\n\r\n", &limits()),
            Err(RequestError::InvalidChunkExtension)
        );
    }

    #[test]
    fn rfc9112_7_1_2_trailers_are_parsed_and_discarded() {
        let input = b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n";
        let (body, _) = decode_split(input, &limits()).unwrap();
        assert_eq!(body, b"abc");
    }

    #[test]
    fn rfc9112_7_1_invalid_chunk_size_is_refused() {
        for bad in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"5x\r\nhello\r\n0\r\n\r\n",
            b"5\rhello",
            b"5\nhello",
            b"5 6\r\n",
        ] {
            assert_eq!(
                decode_split(bad, &limits()),
                Err(RequestError::InvalidChunkSize),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rfc9112_7_1_chunk_size_overflow_is_refused() {
        assert_eq!(
            decode_split(b"1ffffffffffffffff\r\n", &limits()),
            Err(RequestError::ChunkSizeOverflow)
        );
    }

    #[test]
    fn rfc9112_7_1_missing_crlf_after_data_is_refused() {
        assert_eq!(
            decode_split(b"3\r\nabcd\r\n0\r\n\r\n", &limits()),
            Err(RequestError::InvalidChunkFraming)
        );
        assert_eq!(
            decode_split(b"3\r\nabc\r0\r\n\r\n", &limits()),
            Err(RequestError::InvalidChunkFraming)
        );
    }

    #[test]
    fn rfc9110_15_5_14_body_limit_is_checked_at_the_chunk_size() {
        let limits = Limits {
            max_body: 8,
            ..Limits::default()
        };
        assert_eq!(
            decode_split(b"5\r\nhello\r\n4\r\n", &limits),
            Err(RequestError::BodyTooLarge)
        );
        assert!(decode_split(b"5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n", &limits).is_ok());
    }

    #[test]
    fn cve_2023_39326_chunk_extensions_are_bounded() {
        let mut line = b"1;".to_vec();
        line.extend(vec![b'a'; MAX_CHUNK_LINE as usize]);
        assert_eq!(
            decode_split(&line, &limits()),
            Err(RequestError::ChunkExtensionsTooLong)
        );
        // Many chunks, each with a modest extension, hit the per-body bound.
        let mut input = Vec::new();
        let chunk = format!("1;{}\r\nx\r\n", "e".repeat(1000));
        for _ in 0..100 {
            input.extend_from_slice(chunk.as_bytes());
        }
        assert_eq!(
            decode_split(&input, &limits()),
            Err(RequestError::ChunkExtensionsTooLong)
        );
    }

    #[test]
    fn rfc9112_7_1_2_trailer_limits_and_shape() {
        let limits = Limits {
            max_header_line: 8,
            max_headers: 2,
            ..Limits::default()
        };
        assert_eq!(
            decode_split(b"0\r\nX: 1234567\r\n\r\n", &limits),
            Err(RequestError::TrailersTooLarge)
        );
        assert_eq!(
            decode_split(b"0\r\nA: 1\r\nB: 1\r\nC: 1\r\n\r\n", &limits),
            Err(RequestError::TrailersTooLarge)
        );
        assert_eq!(
            decode_split(b"0\r\nA : 1\r\n\r\n", &limits),
            Err(RequestError::InvalidChunkFraming)
        );
        assert_eq!(
            decode_split(b"0\r\nA: 1\r\n folded\r\n\r\n", &limits),
            Err(RequestError::InvalidChunkFraming)
        );
        assert_eq!(
            decode_split(b"0\r\nA: 1\0\r\n\r\n", &limits),
            Err(RequestError::InvalidChunkFraming)
        );
    }
}

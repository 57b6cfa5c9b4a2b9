//! Incremental scan of a request head as its bytes arrive.
//!
//! httparse needs the complete head before it says anything useful, so a peer could
//! make us buffer an unbounded head. The scanner looks at each byte once, across
//! however many reads the head takes, and refuses the head as soon as a line or the
//! section exceeds its limit. It also enforces the line rules httparse is lenient
//! about: CRLF only (bare LF is accepted by httparse), no bare CR, no control
//! characters, no obsolete line folding.

use crate::limits::Limits;

use super::chars::is_tchar;
use super::error::RequestError;
use super::parse::LONGEST_METHOD;

/// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request
/// line. We ignore a few (clients add a CRLF after a POST body) but not an endless
/// stream of them.
const MAX_EMPTY_LINES: u8 = 16;

/// Outcome of one scan.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Scan {
    /// The head is not complete. `skip` leading bytes were empty lines and may be
    /// dropped; the rest must be kept and offered again with more bytes appended.
    Incomplete { skip: usize },
    /// After `skip` bytes of empty lines, a head of `len` bytes (through the empty
    /// line) with `fields` field lines.
    Complete {
        skip: usize,
        len: usize,
        fields: usize,
    },
}

/// Where the scan stopped, relative to the first byte of the request line.
#[derive(Debug, Default)]
pub(super) struct HeadScanner {
    /// Next byte to examine.
    pos: u32,
    /// First byte of the current line.
    line_start: u32,
    /// Field lines completed so far (the request line not included).
    fields: u32,
    /// Whether the request line is complete.
    in_fields: bool,
    /// Bytes of completed field lines, CRLFs included.
    field_bytes: u32,
    empty_lines: u8,
}

impl HeadScanner {
    /// Scan `buf`, which starts at the first unconsumed byte: the same bytes as last
    /// time (minus the reported `skip`) plus whatever arrived since.
    pub(super) fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Scan, RequestError> {
        let mut skip = 0;
        if self.pos == 0 {
            loop {
                match buf[skip..] {
                    [b'\r', b'\n', ..] => {
                        self.empty_lines += 1;
                        if self.empty_lines > MAX_EMPTY_LINES {
                            return Err(RequestError::TooManyEmptyLines);
                        }
                        skip += 2;
                    }
                    [b'\r'] | [] => return Ok(Scan::Incomplete { skip }),
                    [b'\n', ..] => return Err(RequestError::BareLf),
                    _ => break,
                }
            }
        }
        let buf = &buf[skip..];
        let mut pos = self.pos as usize;
        let mut line_start = self.line_start as usize;
        // Content bytes the current line may have before it breaks a limit.
        let mut line_limit = self.line_limit(limits);
        let result = loop {
            // The bulk of a head is visible ASCII (and spaces inside a line): such a
            // run needs no decision, so it is skipped in a tight loop. It stops where a
            // check below applies: the line's limit, and the end of the longest method.
            let mut run_end = buf.len().min(line_start.saturating_add(line_limit));
            if !self.in_fields && pos <= LONGEST_METHOD {
                run_end = run_end.min(LONGEST_METHOD + 1);
            }
            let run_start = pos;
            // A space opening a line is decided below (obs-fold in the fields).
            if !(pos == line_start && buf.get(pos) == Some(&b' ')) {
                pos = plain_run_end(buf, pos, run_end);
            }
            if pos != run_start && !self.in_fields && pos == LONGEST_METHOD + 1 {
                if let Err(e) = check_method_length(&buf[..pos]) {
                    break Err(e);
                }
            }
            let Some(&b) = buf.get(pos) else {
                break Ok(Scan::Incomplete { skip });
            };
            match b {
                b'\r' => match buf.get(pos + 1) {
                    None => break Ok(Scan::Incomplete { skip }),
                    Some(b'\n') => {
                        let len = pos - line_start;
                        pos += 2;
                        if !self.in_fields {
                            self.in_fields = true;
                        } else if len == 0 {
                            break Ok(Scan::Complete {
                                skip,
                                len: pos,
                                fields: self.fields as usize,
                            });
                        } else {
                            self.fields += 1;
                            self.field_bytes += (len + 2) as u32;
                            if self.fields as usize > limits.max_headers {
                                break Err(RequestError::TooManyHeaders);
                            }
                        }
                        line_start = pos;
                        self.line_start = line_start as u32;
                        line_limit = self.line_limit(limits);
                        continue;
                    }
                    Some(_) => break Err(RequestError::BareCr),
                },
                b'\n' => break Err(RequestError::BareLf),
                // RFC 9112 §5.2: obs-fold is not allowed in requests; RFC 9112 §2.2:
                // whitespace between the start line and the first field is refused.
                b' ' | b'\t' if self.in_fields && pos == line_start => {
                    break Err(RequestError::ObsFold)
                }
                b'\t' => {}
                // RFC 9110 §5.5: CR, LF and NUL are never allowed in a field value; we
                // refuse every other control character and DEL as well, as they have
                // no legitimate use and confuse intermediaries.
                0..=0x1f | 0x7f => break Err(RequestError::InvalidByte),
                _ => {}
            }
            pos += 1;
            if !self.in_fields && pos == LONGEST_METHOD + 1 {
                if let Err(e) = check_method_length(&buf[..pos]) {
                    break Err(e);
                }
            }
            if pos - line_start > line_limit {
                break Err(self.line_error(pos - line_start, limits));
            }
        };
        self.pos = pos as u32;
        result
    }

    fn line_limit(&self, limits: &Limits) -> usize {
        if self.in_fields {
            let room = limits
                .max_headers_size
                .saturating_sub(self.field_bytes as usize + 2);
            limits.max_header_line.min(room)
        } else {
            limits.max_request_line
        }
    }

    fn line_error(&self, len: usize, limits: &Limits) -> RequestError {
        if !self.in_fields {
            RequestError::RequestLineTooLong
        } else if len > limits.max_header_line {
            RequestError::HeaderLineTooLong
        } else {
            RequestError::HeadersTooLarge
        }
    }
}

/// `start` is the first bytes of a request line, one more than the longest method we
/// recognise. Without a space in it the method is too long to be one of ours: 501 at
/// once (RFC 9112 §3 allows refusing a method longer than any we implement), rather
/// than buffering the line to answer 501 or 414 later. A first token that is not a
/// token at all stays a 400, as the full parse would give.
fn check_method_length(start: &[u8]) -> Result<(), RequestError> {
    if start.contains(&b' ') {
        Ok(())
    } else if start.iter().all(|&b| is_tchar(b)) {
        Err(RequestError::UnknownMethod)
    } else {
        Err(RequestError::InvalidMethod)
    }
}

/// The end of the run of bytes from `pos` (stopping at `end`) that need no decision
/// of the scanner: everything but the control characters and DEL. Eight bytes at a
/// time while a whole word is plain, then byte by byte.
fn plain_run_end(buf: &[u8], mut pos: usize, end: usize) -> usize {
    while pos + 8 <= end {
        let Ok(word) = <[u8; 8]>::try_from(&buf[pos..pos + 8]) else {
            break;
        };
        if has_control(u64::from_le_bytes(word)) {
            break;
        }
        pos += 8;
    }
    while pos < end && is_plain(buf[pos]) {
        pos += 1;
    }
    pos
}

fn is_plain(b: u8) -> bool {
    b >= b' ' && b != 0x7f
}

/// Whether any byte of `w` is below 0x20 or is 0x7f, eight bytes in one test ("has a
/// byte less than n" and "has a zero byte" of the well-known bit tricks; as yes/no
/// answers both are exact, whatever the other bytes hold).
fn has_control(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let x = w ^ (ONES * 0x7f);
    let del = x.wrapping_sub(ONES) & !x & HIGH;
    (below_space | del) != 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).
mod tests {
    use super::*;

    /// RFC 9110 §5.5: the word test finds every control byte and DEL at every
    /// position whatever surrounds it (plain ASCII, space, bytes >= 0x80), exactly as
    /// the byte test does.
    #[test]
    fn rfc9110_5_5_word_test_agrees_with_the_byte_test() {
        for filler in [b'a', b' ', b'~', 0x80, 0xff, 0x21] {
            for at in 0..8 {
                for b in 0..=255u8 {
                    let mut word = [filler; 8];
                    word[at] = b;
                    let expected = word.iter().any(|&x| !is_plain(x));
                    assert_eq!(has_control(u64::from_le_bytes(word)), expected, "{word:?}");
                }
            }
        }
        let head = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(plain_run_end(head, 0, head.len()), 15);
        assert_eq!(plain_run_end(head, 17, head.len()), 24);
        assert_eq!(plain_run_end(head, 0, 3), 3);
    }

    fn scan_all(input: &[u8], limits: &Limits) -> Result<Scan, RequestError> {
        HeadScanner::default().scan(input, limits)
    }

    /// Feed one byte at a time, dropping skipped bytes like the connection does.
    fn scan_bytewise(input: &[u8], limits: &Limits) -> Result<Scan, RequestError> {
        let mut s = HeadScanner::default();
        let mut start = 0;
        let mut skipped = 0;
        for end in 1..=input.len() {
            match s.scan(&input[start..end], limits)? {
                Scan::Incomplete { skip } => {
                    start += skip;
                    skipped += skip;
                }
                Scan::Complete { skip, len, fields } => {
                    return Ok(Scan::Complete {
                        skip: skipped + skip,
                        len,
                        fields,
                    })
                }
            }
        }
        Ok(Scan::Incomplete { skip: skipped })
    }

    fn both(input: &[u8], limits: &Limits) -> Result<Scan, RequestError> {
        let a = scan_all(input, limits);
        let b = scan_bytewise(input, limits);
        assert_eq!(a, b, "whole and bytewise scans differ for {input:?}");
        a
    }

    #[test]
    fn complete_head_reports_length_and_field_count() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nBODY";
        assert_eq!(
            both(head, &Limits::default()),
            Ok(Scan::Complete {
                skip: 0,
                len: head.len() - 4,
                fields: 2
            })
        );
    }

    #[test]
    fn rfc9112_2_2_leading_empty_lines_are_skipped() {
        let head = b"\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(
            both(head, &Limits::default()),
            Ok(Scan::Complete {
                skip: 4,
                len: head.len() - 4,
                fields: 0
            })
        );
    }

    #[test]
    fn rfc9112_2_2_endless_empty_lines_are_refused() {
        let head = b"\r\n".repeat(MAX_EMPTY_LINES as usize + 1);
        assert_eq!(
            both(&head, &Limits::default()),
            Err(RequestError::TooManyEmptyLines)
        );
    }

    #[test]
    fn rfc9112_2_2_bare_lf_is_refused() {
        assert_eq!(
            both(b"GET / HTTP/1.1\nHost: a\r\n\r\n", &Limits::default()),
            Err(RequestError::BareLf)
        );
        assert_eq!(
            both(b"GET / HTTP/1.1\r\nHost: a\n\n", &Limits::default()),
            Err(RequestError::BareLf)
        );
    }

    #[test]
    fn rfc9112_2_2_bare_cr_is_refused() {
        assert_eq!(
            both(b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", &Limits::default()),
            Err(RequestError::BareCr)
        );
    }

    #[test]
    fn rfc9110_5_5_nul_in_value_is_refused() {
        assert_eq!(
            both(b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", &Limits::default()),
            Err(RequestError::InvalidByte)
        );
    }

    #[test]
    fn rfc9112_5_2_obs_fold_is_refused() {
        assert_eq!(
            both(b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", &Limits::default()),
            Err(RequestError::ObsFold)
        );
    }

    #[test]
    fn rfc9112_3_request_line_over_limit_is_refused_before_its_end() {
        let limits = Limits {
            max_request_line: 16,
            ..Limits::default()
        };
        // No CRLF at all: the scanner must refuse without waiting for the line's end.
        let line = b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(both(line, &limits), Err(RequestError::RequestLineTooLong));
        // Exactly at the limit is fine, one byte more is not.
        let exact = b"GET /ab HTTP/1.1\r\n\r\n";
        assert!(matches!(both(exact, &limits), Ok(Scan::Complete { .. })));
        let over = b"GET /abc HTTP/1.1\r\n\r\n";
        assert_eq!(both(over, &limits), Err(RequestError::RequestLineTooLong));
    }

    #[test]
    fn rfc9112_3_method_longer_than_any_known_is_refused_at_once() {
        let limits = Limits::default();
        // No line end needed: eight bytes without a space decide it.
        assert_eq!(both(b"PROPFIND", &limits), Err(RequestError::UnknownMethod));
        assert_eq!(
            both(b"\r\nXXXXXXXXXXXXXXXXXXXXXXXX", &limits),
            Err(RequestError::UnknownMethod)
        );
        assert_eq!(both(b"GE@TTTTT", &limits), Err(RequestError::InvalidMethod));
        // Seven-letter methods and short lines are left to the parser.
        assert_eq!(both(b"CONNECT ", &limits), Ok(Scan::Incomplete { skip: 0 }));
        assert_eq!(
            both(b"OPTIONS * HTTP/1.1", &limits),
            Ok(Scan::Incomplete { skip: 0 })
        );
        assert!(matches!(
            both(b"GET /\r\n\r\n", &limits),
            Ok(Scan::Complete { .. })
        ));
        // The check is on the request line only, not on field lines.
        assert!(matches!(
            both(b"GET / HTTP/1.1\r\nXXXXXXXXXX: y\r\n\r\n", &limits),
            Ok(Scan::Complete { .. })
        ));
    }

    #[test]
    fn rfc6585_5_field_line_and_section_limits() {
        let limits = Limits {
            max_header_line: 10,
            max_headers_size: 30,
            max_headers: 3,
            ..Limits::default()
        };
        assert_eq!(
            both(b"GET / HTTP/1.1\r\nX: 12345678\r\n", &limits),
            Err(RequestError::HeaderLineTooLong)
        );
        // Three 8-byte lines (+CRLF = 30 bytes) fit; one byte more does not.
        assert!(matches!(
            both(
                b"GET / HTTP/1.1\r\nA: 12345\r\nB: 12345\r\nC: 12345\r\n\r\n",
                &limits
            ),
            Ok(Scan::Complete { fields: 3, .. })
        ));
        assert_eq!(
            both(
                b"GET / HTTP/1.1\r\nA: 12345\r\nB: 12345\r\nC: 123456\r\n\r\n",
                &limits
            ),
            Err(RequestError::HeadersTooLarge)
        );
        let limits = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        assert_eq!(
            both(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &limits),
            Err(RequestError::TooManyHeaders)
        );
    }
}

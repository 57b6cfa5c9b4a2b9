//! Reads the server name (SNI, RFC 6066 §3) from the ClientHello that opens a TLS
//! connection, so the site router can compare it with `Host` (RFC 9110 §15.5.20).
//!
//! rustls validates the ClientHello and uses the name to pick the certificate, but
//! its unbuffered server connection does not hand the name back; this reader only
//! looks, and rustls stays the judge of what is valid. A ClientHello may be split
//! over several records (RFC 8446 §5.1: handshake messages may be fragmented; some
//! clients do it on purpose, to slip past middleboxes that read the name): the
//! records' payloads are joined until the message is whole, up to
//! [`TLS_MAX_CLIENT_HELLO`] bytes. rustls consumes each record as it completes, so once
//! a ClientHello turns out to span records the session feeds its bytes to a
//! [`Joiner`] as they arrive.

/// What one look at the received bytes gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sni {
    /// The ClientHello is not whole yet (its first record, or the records it goes
    /// on in, are still to come): look again when more bytes arrive.
    NeedMore,
    /// The ClientHello's host name, lowercase, without a trailing dot.
    Name(Box<str>),
    /// No name (none sent, a malformed or oversized ClientHello, not TLS at all).
    None,
}

/// RFC 8446 §5.1: ContentType handshake.
const HANDSHAKE_RECORD: u8 = 22;
/// RFC 8446 §4: HandshakeType client_hello.
const CLIENT_HELLO: u8 = 1;
/// RFC 6066 §3: ExtensionType server_name; NameType host_name.
const SERVER_NAME_EXT: u16 = 0;
const HOST_NAME: u8 = 0;
/// RFC 1035 §2.3.4: a DNS name is at most 255 octets (253 as text).
const MAX_NAME: usize = 255;
/// RFC 8446 §5.1: the longest TLSPlaintext fragment.
const MAX_FRAGMENT: usize = 1 << 14;

use crate::limits::TLS_MAX_CLIENT_HELLO;

/// Looks at the bytes received so far on a TLS connection, from its first byte.
pub(crate) fn server_name(input: &[u8]) -> Sni {
    let mut rest = input;
    match next_record(&mut rest) {
        // The common case: the first record holds the whole message, read in place.
        Ok(payload) if message_complete(payload) => name_in(payload),
        Ok(payload) => join_records(&mut rest, &mut payload.to_vec()),
        Err(sni) => sni,
    }
}

/// Appends the payloads of the whole records at the start of `rest` (which moves past
/// them) to `joined` until the ClientHello there is whole, and reads its name.
fn join_records(rest: &mut &[u8], joined: &mut Vec<u8>) -> Sni {
    loop {
        if message_complete(joined) {
            return name_in(joined);
        }
        let payload = match next_record(rest) {
            Ok(payload) => payload,
            Err(sni) => return sni,
        };
        if joined.len() + payload.len() > TLS_MAX_CLIENT_HELLO {
            return Sni::None;
        }
        joined.extend_from_slice(payload);
    }
}

fn name_in(message: &[u8]) -> Sni {
    find(message).map_or(Sni::None, Sni::Name)
}

/// True when `input` holds at least one whole record: a ClientHello that is still
/// not whole (`NeedMore`) then spans records.
pub(crate) fn first_record_complete(input: &[u8]) -> bool {
    let mut rest = input;
    next_record(&mut rest).is_ok()
}

/// A ClientHello that spans records, joined as its bytes arrive ([`Joiner::push`])
/// and read once whole ([`Joiner::advance`]). Each record is parsed once, so a
/// ClientHello cut into many tiny records costs time in proportion to its size, not
/// to its square. Holds at most one incomplete record (of at most 16 KiB) and the
/// joined payloads (at most [`TLS_MAX_CLIENT_HELLO`]).
#[derive(Debug, Default)]
pub(crate) struct Joiner {
    /// Received bytes not parsed yet: the start of the next record.
    raw: Vec<u8>,
    /// The payloads of the records parsed so far.
    joined: Vec<u8>,
}

impl Joiner {
    /// Bytes held, for the session's memory accounting in tests.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.raw.capacity() + self.joined.capacity()
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
    }

    /// Joins the records completed since the last call.
    pub(crate) fn advance(&mut self) -> Sni {
        let mut rest = &self.raw[..];
        let result = join_records(&mut rest, &mut self.joined);
        let parsed = self.raw.len() - rest.len();
        self.raw.drain(..parsed);
        result
    }
}

/// The payload of the handshake record at the start of `rest`, which moves past it;
/// `Err(NeedMore)` if it is not all there, `Err(None)` if it is not a handshake record.
fn next_record<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], Sni> {
    let input = *rest;
    if input.len() < 5 {
        return Err(Sni::NeedMore);
    }
    if input[0] != HANDSHAKE_RECORD {
        return Err(Sni::None);
    }
    let len = usize::from(u16::from_be_bytes([input[3], input[4]]));
    // RFC 8446 §5.1: a record carries at most 2^14 bytes; rustls refuses a longer
    // one, and waiting for it would only hold its bytes.
    if len > MAX_FRAGMENT {
        return Err(Sni::None);
    }
    let payload = input.get(5..5 + len).ok_or(Sni::NeedMore)?;
    *rest = &input[5 + len..];
    Ok(payload)
}

/// RFC 8446 §4: a handshake message is a type, a 3-byte length and that many bytes.
fn message_complete(message: &[u8]) -> bool {
    match message {
        [_, a, b, c, body @ ..] => {
            let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
            body.len() >= len
        }
        _ => false,
    }
}

/// A cursor that fails (returns `None`) instead of reading past the end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a `width`-byte length prefix (RFC 8446 §3.4).
    fn vec(&mut self, width: usize) -> Option<&'a [u8]> {
        let len = self
            .take(width)?
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        self.take(len)
    }
}

fn find(record: &[u8]) -> Option<Box<str>> {
    let mut c = Cursor(record);
    if c.u8()? != CLIENT_HELLO {
        return None;
    }
    let mut hello = Cursor(c.vec(3)?);
    hello.take(2 + 32)?; // legacy_version, random
    hello.vec(1)?; // legacy_session_id
    hello.vec(2)?; // cipher_suites
    hello.vec(1)?; // legacy_compression_methods
    let mut exts = Cursor(hello.vec(2)?);
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let data = exts.vec(2)?;
        if kind != SERVER_NAME_EXT {
            continue;
        }
        let mut list = Cursor(Cursor(data).vec(2)?);
        while !list.0.is_empty() {
            let name_type = list.u8()?;
            let name = list.vec(2)?;
            if name_type == HOST_NAME {
                return host_name(name);
            }
        }
        return None;
    }
    None
}

fn host_name(raw: &[u8]) -> Option<Box<str>> {
    if raw.is_empty() || raw.len() > MAX_NAME {
        return None;
    }
    let ok = raw
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !ok {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    let text = text.strip_suffix('.').unwrap_or(text);
    Some(text.to_ascii_lowercase().into_boxed_str())
}

/// `rec`, one TLS record, with its payload cut into records of at most `fragment`
/// bytes (RFC 8446 §5.1: handshake messages may be fragmented across records).
#[cfg(test)]
pub(crate) fn split_into_records(rec: &[u8], fragment: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for part in rec[5..].chunks(fragment) {
        out.extend_from_slice(&rec[..3]);
        out.extend_from_slice(&(part.len() as u16).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A ClientHello record as RFC 8446 §4.1.2 lays it out, with `exts` as its
    /// extensions block.
    fn record(exts: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([7u8; 32]);
        body.push(0); // session id
        body.extend([0, 2, 0x13, 0x01]); // one suite
        body.extend([1, 0]); // null compression
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        let mut hs = vec![CLIENT_HELLO];
        hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend(body);
        let mut rec = vec![HANDSHAKE_RECORD, 3, 1];
        rec.extend((hs.len() as u16).to_be_bytes());
        rec.extend(hs);
        rec
    }

    fn sni_ext(name: &[u8]) -> Vec<u8> {
        let mut entry = vec![HOST_NAME];
        entry.extend((name.len() as u16).to_be_bytes());
        entry.extend(name);
        let mut list = (entry.len() as u16).to_be_bytes().to_vec();
        list.extend(entry);
        let mut ext = SERVER_NAME_EXT.to_be_bytes().to_vec();
        ext.extend((list.len() as u16).to_be_bytes());
        ext.extend(list);
        ext
    }

    #[test]
    fn rfc6066_3_host_name_is_read_lowercase_without_trailing_dot() {
        let mut exts = vec![0, 10, 0, 2, 0, 29]; // supported_groups first
        exts.extend(sni_ext(b"WWW.Example.COM."));
        let rec = record(&exts);
        assert_eq!(server_name(&rec), Sni::Name("www.example.com".into()));
    }

    #[test]
    fn every_prefix_of_the_record_needs_more_or_has_no_name_yet() {
        let rec = record(&sni_ext(b"a.test"));
        for n in 0..rec.len() {
            assert_eq!(server_name(&rec[..n]), Sni::NeedMore, "{n}");
        }
        assert_eq!(server_name(&rec), Sni::Name("a.test".into()));
    }

    /// RFC 8446 §5.1: a handshake message may span records; the name is read once
    /// the records hold the whole ClientHello, and not before.
    #[test]
    fn rfc8446_5_1_client_hello_split_over_records_gives_its_name_when_whole() {
        let rec = record(&sni_ext(b"split.test"));
        for fragment in [1, 3, 4, 40, rec.len() - 6] {
            let wire = split_into_records(&rec, fragment);
            for n in 0..wire.len() {
                assert_eq!(server_name(&wire[..n]), Sni::NeedMore, "{fragment} {n}");
            }
            assert_eq!(server_name(&wire), Sni::Name("split.test".into()));
        }
    }

    /// Randomized: a ClientHello cut at random points into records of random sizes
    /// always gives its name, and only once whole; random bytes after a valid record
    /// header never panic and give no name.
    #[test]
    fn rfc8446_5_1_random_record_splits_and_random_bytes() {
        let mut rng = crate::test_rng::Rng::new(0x5eed_c0de);
        let mut exts = vec![0, 10, 0, 2, 0, 29];
        exts.extend(sni_ext(b"random.split.test"));
        let rec = record(&exts);
        for _ in 0..500 {
            let mut wire = Vec::new();
            let mut rest = &rec[5..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(80));
                wire.extend_from_slice(&rec[..3]);
                wire.extend_from_slice(&(n as u16).to_be_bytes());
                wire.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
            let cut = rng.below(wire.len());
            assert_eq!(server_name(&wire[..cut]), Sni::NeedMore, "cut {cut}");
            assert_eq!(server_name(&wire), Sni::Name("random.split.test".into()));
            let mut junk = vec![HANDSHAKE_RECORD, 3, 1];
            let len = rng.below(300);
            junk.extend((len as u16).to_be_bytes());
            junk.extend((0..len).map(|_| rng.next() as u8));
            assert!(!matches!(server_name(&junk), Sni::Name(_)), "random bytes");
        }
    }

    /// A ClientHello in 1-byte records fed a byte at a time: the joiner holds no
    /// more than the record being received, and gives the name when the last byte
    /// arrives, not before.
    #[test]
    fn rfc8446_5_1_joiner_fed_a_byte_at_a_time_holds_one_record() {
        let wire = split_into_records(&record(&sni_ext(b"tiny.test")), 1);
        let mut j = Joiner::default();
        for (i, b) in wire.iter().enumerate() {
            j.push(&[*b]);
            let sni = j.advance();
            assert!(j.raw.len() < 6, "raw {} at {i}", j.raw.len());
            if i + 1 < wire.len() {
                assert_eq!(sni, Sni::NeedMore, "{i}");
            } else {
                assert_eq!(sni, Sni::Name("tiny.test".into()));
            }
        }
    }

    /// RFC 8446 §5.1: a record longer than 2^14 bytes is invalid; it is not waited
    /// for (nor held) here.
    #[test]
    fn rfc8446_5_1_a_record_over_two_to_the_fourteen_gives_no_name() {
        let mut wire = vec![HANDSHAKE_RECORD, 3, 1];
        wire.extend(((MAX_FRAGMENT + 1) as u16).to_be_bytes());
        wire.extend([CLIENT_HELLO, 0, 0, 10]);
        assert_eq!(server_name(&wire), Sni::None);
        let mut j = Joiner::default();
        j.push(&wire);
        assert_eq!(j.advance(), Sni::None);
    }

    #[test]
    fn first_record_complete_tells_a_split_hello_from_a_partial_record() {
        let wire = split_into_records(&record(&sni_ext(b"a.test")), 20);
        assert!(!first_record_complete(&wire[..24]));
        assert!(first_record_complete(&wire[..25]));
    }

    /// Another content type between the fragments is not a ClientHello being
    /// assembled (rustls refuses it), and a message longer than
    /// `TLS_MAX_CLIENT_HELLO` is not joined: no name, and nothing more is kept.
    #[test]
    fn interleaved_or_oversized_split_hello_gives_no_name() {
        let rec = record(&sni_ext(b"a.test"));
        let mut wire = split_into_records(&rec, 20);
        wire.splice(25..25, [21u8, 3, 3, 0, 2, 1, 0]);
        assert_eq!(server_name(&wire), Sni::None);
        let mut big = vec![0, 21];
        big.extend(((TLS_MAX_CLIENT_HELLO) as u16).to_be_bytes());
        big.extend(vec![0u8; TLS_MAX_CLIENT_HELLO]);
        big.extend(sni_ext(b"a.test"));
        let big = split_into_records(&record(&big), 16_000);
        assert_eq!(server_name(&big), Sni::None);
    }

    #[test]
    fn no_extension_or_not_tls_gives_no_name() {
        assert_eq!(server_name(&record(&[])), Sni::None);
        assert_eq!(server_name(b"GET / HTTP/1.1\r\n"), Sni::None);
        assert_eq!(server_name(&record(&sni_ext(b"bad name"))), Sni::None);
    }

    #[test]
    fn truncated_lengths_inside_a_complete_record_give_no_name() {
        let mut rec = record(&sni_ext(b"a.test"));
        // Claim a longer extensions block than the record holds.
        let at = rec.len() - sni_ext(b"a.test").len() - 2;
        rec[at] = 0xff;
        assert_eq!(server_name(&rec), Sni::None);
    }
}

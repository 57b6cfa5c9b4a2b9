//! Reads the server name (SNI, RFC 6066 §3) from the first TLS record of a
//! connection, so the site router can compare it with `Host` (RFC 9110 §15.5.20).
//!
//! rustls validates the ClientHello and uses the name to pick the certificate, but
//! its unbuffered server connection does not hand the name back; this reader only
//! looks, and rustls stays the judge of what is valid. A ClientHello split over
//! several records (legal, rare: RFC 8446 §5.1) is not reassembled here: the
//! connection then has no SNI for the router, which routes by `Host` alone.

/// What one look at the received bytes gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sni {
    /// The first record is not complete yet: look again when more bytes arrive.
    NeedMore,
    /// The ClientHello's host name, lowercase, without a trailing dot.
    Name(Box<str>),
    /// No name (none sent, a malformed or split ClientHello, not TLS at all).
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

/// Looks at the bytes received so far on a TLS connection.
pub(crate) fn server_name(input: &[u8]) -> Sni {
    if input.len() < 5 {
        return Sni::NeedMore;
    }
    if input[0] != HANDSHAKE_RECORD {
        return Sni::None;
    }
    let len = usize::from(u16::from_be_bytes([input[3], input[4]]));
    let Some(record) = input.get(5..5 + len) else {
        return Sni::NeedMore;
    };
    match find(record) {
        Some(name) => Sni::Name(name),
        None => Sni::None,
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
    // The whole message must be in this record (see the module docs).
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

//! The PROXY protocol header (HAProxy's "PROXY protocol" specification, versions 1
//! and 2), which a load balancer sends before anything else on a connection to tell
//! the backend who the client is.
//!
//! Sans-IO and stateless: [`parse`] looks at the bytes received so far and says
//! "need more", "here is the header and its length", or why the bytes can never
//! become a header. The caller keeps (or peeks) the bytes, so any split works and the
//! result depends only on the bytes. Both forms are bounded
//! ([`PROXY_V1_MAX_HEADER`], [`PROXY_V2_MAX_PAYLOAD`]); a caller never needs to hold
//! more than [`MAX_HEADER`] bytes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::limits::{PROXY_V1_MAX_HEADER, PROXY_V2_MAX_PAYLOAD};

#[cfg(test)]
pub(crate) mod fuzz_invariants;
#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
mod tests;

/// The twelve bytes that start a version 2 header (specification §2.2). They cannot
/// start an HTTP request or a TLS record, nor a version 1 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

const V1_PREFIX: &[u8] = b"PROXY ";

/// The fixed part of a version 2 header: signature, version/command, family, length.
pub const V2_FIXED: usize = 16;

/// The longest v1 header (re-exported for the fuzz crate).
pub const V1_MAX_HEADER: usize = PROXY_V1_MAX_HEADER;

/// The most bytes a caller must look at before [`parse`] decides.
pub const MAX_HEADER: usize = V2_FIXED + PROXY_V2_MAX_PAYLOAD;

/// What the header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addresses {
    /// A TCP connection: the client's address and the address it connected to.
    Tcp {
        source: SocketAddr,
        destination: SocketAddr,
    },
    /// The sender does not know or tell (v1 `UNKNOWN`, v2 `AF_UNSPEC` or `AF_UNIX`):
    /// the connection's own peer address stays in use (specification §2.1, §2.2).
    Unknown,
    /// v2 `LOCAL`: the balancer's own connection (a health check); the peer address
    /// stays in use and the address block is ignored.
    Local,
}

/// A complete header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    /// 1 (text) or 2 (binary).
    pub version: u8,
    pub addresses: Addresses,
}

impl ProxyHeader {
    /// The client's address if the header names one.
    pub fn source(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Tcp { source, .. } => Some(source),
            Addresses::Unknown | Addresses::Local => None,
        }
    }
}

/// Why the bytes are not a PROXY protocol header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyError {
    /// The bytes start neither signature (the peer sent no header at all).
    NoHeader,
    /// A v1 line without its CRLF within 107 bytes, or a v2 length over our bound.
    TooLong,
    /// A header that breaks the specification; the text names the part.
    Malformed(&'static str),
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::NoHeader => f.write_str("no PROXY protocol header"),
            ProxyError::TooLong => f.write_str("PROXY protocol header too long"),
            ProxyError::Malformed(what) => write!(f, "malformed PROXY protocol header: {what}"),
        }
    }
}

impl std::error::Error for ProxyError {}

/// Parses the header at the start of `buf`: `Ok(None)` while `buf` is a prefix of a
/// header that could still be valid, `Ok(Some((header, len)))` once it is complete
/// (`len` bytes belong to it; the rest is the proxied stream), or the reason it never
/// will be.
pub fn parse(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    if starts_like(buf, V1_PREFIX) {
        if buf.len() < V1_PREFIX.len() {
            return Ok(None);
        }
        parse_v1(buf)
    } else if starts_like(buf, &V2_SIGNATURE) {
        if buf.len() < V2_SIGNATURE.len() {
            return Ok(None);
        }
        parse_v2(buf)
    } else {
        Err(ProxyError::NoHeader)
    }
}

/// True if `buf` and `sig` agree on their common length (an empty `buf` agrees).
fn starts_like(buf: &[u8], sig: &[u8]) -> bool {
    let n = buf.len().min(sig.len());
    buf[..n] == sig[..n]
}

/// Version 1 (specification §2.1): `PROXY TCP4|TCP6|UNKNOWN ... CRLF`, single spaces,
/// at most 107 bytes with the CRLF.
fn parse_v1(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let window = &buf[..buf.len().min(PROXY_V1_MAX_HEADER)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        return if buf.len() >= PROXY_V1_MAX_HEADER {
            Err(ProxyError::TooLong)
        } else {
            Ok(None)
        };
    };
    let len = lf + 1;
    let Some(line) = window[..lf].strip_suffix(b"\r") else {
        return Err(ProxyError::Malformed("v1 line not ended by CRLF"));
    };
    let rest = &line[V1_PREFIX.len()..];
    // §2.1: with UNKNOWN the receiver ignores everything up to the CRLF.
    if rest == b"UNKNOWN" || rest.starts_with(b"UNKNOWN ") {
        let header = ProxyHeader {
            version: 1,
            addresses: Addresses::Unknown,
        };
        return Ok(Some((header, len)));
    }
    let text = std::str::from_utf8(rest).map_err(|_| ProxyError::Malformed("v1 not ASCII"))?;
    let mut fields = text.split(' ');
    let v6 = match fields.next() {
        Some("TCP4") => false,
        Some("TCP6") => true,
        _ => {
            return Err(ProxyError::Malformed(
                "v1 protocol not TCP4, TCP6 or UNKNOWN",
            ))
        }
    };
    let (Some(src), Some(dst), Some(sport), Some(dport), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(ProxyError::Malformed(
            "v1 not four fields after the protocol",
        ));
    };
    let source = SocketAddr::new(v1_address(src, v6)?, v1_port(sport)?);
    let destination = SocketAddr::new(v1_address(dst, v6)?, v1_port(dport)?);
    let header = ProxyHeader {
        version: 1,
        addresses: Addresses::Tcp {
            source,
            destination,
        },
    };
    Ok(Some((header, len)))
}

fn v1_address(text: &str, v6: bool) -> Result<IpAddr, ProxyError> {
    if v6 {
        text.parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| ProxyError::Malformed("v1 TCP6 address"))
    } else {
        // Rust's parser takes only the dotted-quad form with no leading zeros, the
        // form the specification describes.
        text.parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| ProxyError::Malformed("v1 TCP4 address"))
    }
}

/// A port: 1 to 5 decimal digits, at most 65535, no leading zero (§2.1: "decimal
/// integer ... without leading zeroes").
fn v1_port(text: &str) -> Result<u16, ProxyError> {
    let bytes = text.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= 5
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1);
    if !valid {
        return Err(ProxyError::Malformed("v1 port"));
    }
    text.parse::<u16>()
        .map_err(|_| ProxyError::Malformed("v1 port"))
}

/// Address block sizes (specification §2.2).
const V2_INET: usize = 12;
const V2_INET6: usize = 36;
const V2_UNIX: usize = 216;

/// Version 2 (specification §2.2): signature, version 2 and command, family and
/// transport, big-endian length, address block, then TLVs, which we skip.
fn parse_v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    if buf.len() < V2_FIXED {
        // Check what has arrived so a wrong version is refused without waiting.
        if let Some(&vc) = buf.get(12) {
            v2_command(vc)?;
        }
        return Ok(None);
    }
    let local = v2_command(buf[12])?;
    let fam = buf[13];
    let payload = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if payload > PROXY_V2_MAX_PAYLOAD {
        return Err(ProxyError::TooLong);
    }
    let (family, transport) = (fam >> 4, fam & 0x0f);
    let need = match family {
        0 => 0,
        1 => V2_INET,
        2 => V2_INET6,
        3 => V2_UNIX,
        _ => return Err(ProxyError::Malformed("v2 address family")),
    };
    if transport > 2 {
        return Err(ProxyError::Malformed("v2 transport protocol"));
    }
    if payload < need && !local {
        return Err(ProxyError::Malformed(
            "v2 length shorter than the address block",
        ));
    }
    let len = V2_FIXED + payload;
    let Some(body) = buf.get(V2_FIXED..len) else {
        return Ok(None);
    };
    if local {
        // §2.2: with LOCAL the receiver ignores the address block and TLVs.
        return Ok(Some((
            ProxyHeader {
                version: 2,
                addresses: Addresses::Local,
            },
            len,
        )));
    }
    check_tlvs(&body[need..])?;
    let addresses = match (family, transport) {
        // §2.2: UNSPEC must be accepted, the real addresses then stay in use; a UNIX
        // socket address says nothing useful about the client.
        (0, _) | (3, _) => Addresses::Unknown,
        (_, 1) => v2_tcp(family, body),
        _ => {
            return Err(ProxyError::Malformed(
                "v2 IP family without STREAM transport",
            ))
        }
    };
    Ok(Some((
        ProxyHeader {
            version: 2,
            addresses,
        },
        len,
    )))
}

/// Version 2 and command: true for LOCAL, false for PROXY.
fn v2_command(vc: u8) -> Result<bool, ProxyError> {
    if vc >> 4 != 2 {
        return Err(ProxyError::Malformed("v2 version not 2"));
    }
    match vc & 0x0f {
        0 => Ok(true),
        1 => Ok(false),
        _ => Err(ProxyError::Malformed("v2 command")),
    }
}

fn v2_tcp(family: u8, body: &[u8]) -> Addresses {
    let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
    if family == 1 {
        let ip = |at: usize| {
            IpAddr::V4(Ipv4Addr::new(
                body[at],
                body[at + 1],
                body[at + 2],
                body[at + 3],
            ))
        };
        Addresses::Tcp {
            source: SocketAddr::new(ip(0), port(8)),
            destination: SocketAddr::new(ip(4), port(10)),
        }
    } else {
        let ip = |at: usize| {
            let mut o = [0u8; 16];
            o.copy_from_slice(&body[at..at + 16]);
            IpAddr::V6(Ipv6Addr::from(o))
        };
        Addresses::Tcp {
            source: SocketAddr::new(ip(0), port(32)),
            destination: SocketAddr::new(ip(16), port(34)),
        }
    }
}

/// TLVs (§2.2.1) are skipped, but they must tile the rest of the header exactly: a
/// value running past the declared length means the sender and we disagree on where
/// the proxied stream starts.
fn check_tlvs(mut tlvs: &[u8]) -> Result<(), ProxyError> {
    while !tlvs.is_empty() {
        let [_, hi, lo, rest @ ..] = tlvs else {
            return Err(ProxyError::Malformed("v2 TLV truncated"));
        };
        let n = usize::from(u16::from_be_bytes([*hi, *lo]));
        tlvs = rest
            .get(n..)
            .ok_or(ProxyError::Malformed("v2 TLV longer than the header"))?;
    }
    Ok(())
}

/// The v1 text for `source` and `destination` (same family), as a balancer sends it.
/// Used by tests and test clients; Carbon itself never sends a header.
pub fn encode_v1(addresses: Addresses) -> Vec<u8> {
    match addresses {
        Addresses::Tcp {
            source,
            destination,
        } => {
            let proto = if source.is_ipv4() { "TCP4" } else { "TCP6" };
            format!(
                "PROXY {proto} {} {} {} {}\r\n",
                source.ip(),
                destination.ip(),
                source.port(),
                destination.port()
            )
            .into_bytes()
        }
        Addresses::Unknown | Addresses::Local => b"PROXY UNKNOWN\r\n".to_vec(),
    }
}

/// The v2 bytes for `addresses` followed by `tlvs` (already encoded), as a balancer
/// sends them. Used by tests and test clients.
pub fn encode_v2(addresses: Addresses, tlvs: &[u8]) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    let mut body = Vec::new();
    let (cmd, fam) = match addresses {
        Addresses::Local => (0x20, 0x00),
        Addresses::Unknown => (0x21, 0x00),
        Addresses::Tcp {
            source,
            destination,
        } => {
            let fam = match (source.ip(), destination.ip()) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    body.extend_from_slice(&s.octets());
                    body.extend_from_slice(&d.octets());
                    0x11
                }
                (s, d) => {
                    body.extend_from_slice(&to_v6(s).octets());
                    body.extend_from_slice(&to_v6(d).octets());
                    0x21
                }
            };
            body.extend_from_slice(&source.port().to_be_bytes());
            body.extend_from_slice(&destination.port().to_be_bytes());
            (0x21, fam)
        }
    };
    body.extend_from_slice(tlvs);
    out.push(cmd);
    out.push(fam);
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

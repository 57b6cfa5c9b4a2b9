//! The PROXY protocol specification's examples and each malformed form, fed whole and
//! split at every byte.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Parses `bytes` whole, then checks that every shorter prefix asks for more, and that
/// bytes after the header are left alone.
fn complete(bytes: &[u8]) -> ProxyHeader {
    for cut in 0..bytes.len() {
        assert_eq!(parse(&bytes[..cut]), Ok(None), "prefix of {cut} bytes");
    }
    let mut with_more = bytes.to_vec();
    with_more.extend_from_slice(b"\x16\x03\x01 or GET");
    let (h, len) = parse(&with_more).unwrap().unwrap();
    assert_eq!(len, bytes.len());
    h
}

/// The error for `bytes`, and the same error (or "need more") for every prefix.
fn refused(bytes: &[u8]) -> ProxyError {
    let err = parse(bytes).unwrap_err();
    for cut in 0..bytes.len() {
        let part = parse(&bytes[..cut]);
        assert!(
            part == Ok(None) || part == Err(err),
            "prefix of {cut}: {part:?}"
        );
    }
    err
}

#[test]
fn proxy_v1_2_1_tcp4_every_field() {
    let h = complete(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n");
    assert_eq!(h.version, 1);
    assert_eq!(
        h.addresses,
        Addresses::Tcp {
            source: sa("192.0.2.1:56324"),
            destination: sa("198.51.100.2:443")
        }
    );
    assert_eq!(h.source(), Some(sa("192.0.2.1:56324")));
}

#[test]
fn proxy_v1_2_1_tcp6_every_field() {
    let h = complete(b"PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n");
    assert_eq!(
        h.addresses,
        Addresses::Tcp {
            source: sa("[2001:db8::1]:0"),
            destination: sa("[2001:db8::2]:65535")
        }
    );
}

#[test]
fn proxy_v1_2_1_unknown_ignores_the_rest_of_the_line() {
    assert_eq!(complete(b"PROXY UNKNOWN\r\n").addresses, Addresses::Unknown);
    let worst = b"PROXY UNKNOWN ffff:f:f:f:f:f:f:f ffff:f:f:f:f:f:f:f 65535 65535\r\n";
    assert_eq!(complete(worst).addresses, Addresses::Unknown);
    assert_eq!(complete(worst).source(), None);
}

#[test]
fn proxy_v1_2_1_longest_header_is_107_bytes() {
    let mut line = b"PROXY UNKNOWN ".to_vec();
    line.resize(105, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(line.len(), 107);
    assert_eq!(complete(&line).addresses, Addresses::Unknown);
    let mut long = b"PROXY UNKNOWN ".to_vec();
    long.resize(106, b'x');
    long.extend_from_slice(b"\r\n");
    assert_eq!(refused(&long), ProxyError::TooLong);
    // An endless line is refused once 107 bytes are in, without waiting for more.
    assert_eq!(
        parse(&[b"PROXY ".as_slice(), &[b'a'; 101]].concat()),
        Err(ProxyError::TooLong)
    );
}

#[test]
fn proxy_v1_2_1_malformed_forms_are_refused() {
    let cases: &[&[u8]] = &[
        b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\r\n",
        b"PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n",
        b"PROXY tcp4 192.0.2.1 198.51.100.2 56324 443\r\n",
        b"PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 9\r\n",
        b"PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n",
        b"PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n",
        b"PROXY TCP4 192.0.2.256 198.51.100.2 56324 443\r\n",
        b"PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 01 443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 +1 443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2  443\r\n",
        b"PROXY TCP4 192.0.2.1 198.51.100.2 1 \xff\r\n",
        b"PROXY \r\n",
        b"PROXY UNKNOWNX\r\n",
    ];
    for case in cases {
        let err = refused(case);
        assert!(
            matches!(err, ProxyError::Malformed(_)),
            "{:?}: {err:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn proxy_no_header_is_refused_at_the_first_differing_byte() {
    assert_eq!(parse(b""), Ok(None));
    assert_eq!(parse(b"PROX"), Ok(None));
    assert_eq!(parse(b"G"), Err(ProxyError::NoHeader));
    assert_eq!(parse(b"\x16\x03\x01"), Err(ProxyError::NoHeader));
    assert_eq!(parse(b"PROXY\r\n"), Err(ProxyError::NoHeader));
    assert_eq!(parse(b"\r\n\r\n\0\r\nQUIX"), Err(ProxyError::NoHeader));
    assert_eq!(refused(b"GET / HTTP/1.1\r\n\r\n"), ProxyError::NoHeader);
}

fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[cmd, fam]);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn proxy_v2_2_2_tcp4_every_field() {
    let body = [192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb];
    let h = complete(&v2(0x21, 0x11, &body));
    assert_eq!(h.version, 2);
    assert_eq!(
        h.addresses,
        Addresses::Tcp {
            source: sa("192.0.2.1:56324"),
            destination: sa("198.51.100.2:443")
        }
    );
}

#[test]
fn proxy_v2_2_2_tcp6_every_field() {
    let mut body = Vec::new();
    body.extend_from_slice(
        &"2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    body.extend_from_slice(
        &"2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    body.extend_from_slice(&[0x12, 0x34, 0x00, 0x50]);
    let h = complete(&v2(0x21, 0x21, &body));
    assert_eq!(
        h.addresses,
        Addresses::Tcp {
            source: sa("[2001:db8::1]:4660"),
            destination: sa("[2001:db8::2]:80")
        }
    );
}

#[test]
fn proxy_v2_2_2_1_tlvs_are_skipped() {
    let mut body = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2];
    body.extend_from_slice(b"\x01\x00\x02h2"); // PP2_TYPE_ALPN
    body.extend_from_slice(b"\x04\x00\x00"); // PP2_TYPE_NOOP, empty
    body.extend_from_slice(b"\x05\x00\x03abc"); // PP2_TYPE_UNIQUE_ID
    let h = complete(&v2(0x21, 0x11, &body));
    assert_eq!(h.source(), Some(sa("10.0.0.1:1")));
}

#[test]
fn proxy_v2_2_2_local_command_ignores_the_address_block() {
    assert_eq!(complete(&v2(0x20, 0x00, &[])).addresses, Addresses::Local);
    // LOCAL with an address block and garbage TLVs: all ignored.
    let h = complete(&v2(
        0x20,
        0x11,
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xff],
    ));
    assert_eq!(h.addresses, Addresses::Local);
    assert_eq!(h.source(), None);
}

#[test]
fn proxy_v2_2_2_unspec_and_unix_keep_the_real_peer() {
    assert_eq!(complete(&v2(0x21, 0x00, &[])).addresses, Addresses::Unknown);
    assert_eq!(
        complete(&v2(0x21, 0x31, &[0; 216])).addresses,
        Addresses::Unknown
    );
}

#[test]
fn proxy_v2_2_2_malformed_forms_are_refused() {
    let inet = [10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2];
    let cases: Vec<Vec<u8>> = vec![
        v2(0x11, 0x11, &inet),                          // version 1 in a v2 header
        v2(0x31, 0x11, &inet),                          // version 3
        v2(0x22, 0x11, &inet),                          // command 2
        v2(0x21, 0x41, &inet),                          // family 4
        v2(0x21, 0x13, &inet),                          // transport 3
        v2(0x21, 0x12, &inet),                          // DGRAM
        v2(0x21, 0x11, &inet[..11]),                    // address block cut short
        v2(0x21, 0x21, &[0; 35]),                       // IPv6 block cut short
        v2(0x21, 0x11, &[&inet[..], &[1, 0]].concat()), // TLV header cut short
        v2(0x21, 0x11, &[&inet[..], &[1, 0, 5, 1]].concat()), // TLV value overruns
    ];
    for case in cases {
        let err = refused(&case);
        assert!(
            matches!(err, ProxyError::Malformed(_)),
            "{case:02x?}: {err:?}"
        );
    }
}

#[test]
fn proxy_v2_length_over_the_bound_is_refused_from_the_fixed_header() {
    let mut head = V2_SIGNATURE.to_vec();
    head.extend_from_slice(&[0x21, 0x11]);
    head.extend_from_slice(&((PROXY_V2_MAX_PAYLOAD + 1) as u16).to_be_bytes());
    assert_eq!(refused(&head), ProxyError::TooLong);
    let at_bound = v2(0x21, 0x00, &[&[4u8, 0x03, 0xfd][..], &[0; 1021]].concat());
    assert_eq!(at_bound.len(), MAX_HEADER);
    assert_eq!(complete(&at_bound).addresses, Addresses::Unknown);
}

#[test]
fn proxy_v2_wrong_version_is_refused_before_the_length_arrives() {
    let mut head = V2_SIGNATURE.to_vec();
    head.push(0x11);
    assert_eq!(parse(&head), Err(ProxyError::Malformed("v2 version not 2")));
}

#[test]
fn proxy_encoders_round_trip() {
    for (s, d) in [
        ("192.0.2.1:1", "192.0.2.2:65535"),
        ("[::1]:80", "[2001:db8::9]:443"),
    ] {
        let a = Addresses::Tcp {
            source: sa(s),
            destination: sa(d),
        };
        assert_eq!(complete(&encode_v1(a)).addresses, a);
        assert_eq!(complete(&encode_v2(a, b"\x04\x00\x00")).addresses, a);
    }
    assert_eq!(
        complete(&encode_v2(Addresses::Local, &[])).addresses,
        Addresses::Local
    );
}

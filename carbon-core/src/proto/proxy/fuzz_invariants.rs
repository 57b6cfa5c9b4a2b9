//! The invariants the PROXY protocol parser keeps whatever a peer sends, as one
//! function fed arbitrary bytes. The fuzz target `proxy_header` (fuzz/) and the
//! deterministic tests in `robustness_tests.rs` both run this very file, so CI checks
//! what the fuzzer checks. It uses only the public API.
//!
//! Invariants, beyond "no panic":
//! * a complete header never claims more bytes than it was given, nor more than the
//!   bounds (107 for v1, 16 + the payload bound for v2);
//! * every prefix of the input either asks for more or gives the very same answer as
//!   the whole input (so a header split at any byte parses the same), and once the
//!   header is complete, bytes after it change nothing;
//! * the answer is reached within [`MAX_HEADER`] bytes;
//! * a header naming addresses re-encodes (v1 as text, v2 as binary) to bytes that
//!   parse back to the same header.
#![allow(clippy::unwrap_used)]

use super::{encode_v1, encode_v2, parse, Addresses, MAX_HEADER, V1_MAX_HEADER};

pub fn check_parse(data: &[u8]) {
    let whole = parse(data);
    if let Ok(Some((h, len))) = whole {
        assert!(len <= data.len(), "header longer than the input");
        let bound = if h.version == 1 {
            V1_MAX_HEADER
        } else {
            MAX_HEADER
        };
        assert!(
            len <= bound,
            "header of {len} bytes over the v{} bound",
            h.version
        );
        // Anything after the header is the proxied stream's.
        let mut more = data[..len].to_vec();
        more.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(parse(&more), whole, "bytes after the header changed it");
        let again = match h.version {
            1 => encode_v1(h.addresses),
            _ => encode_v2(h.addresses, &[]),
        };
        let reparsed = parse(&again).unwrap().unwrap().0;
        // v1 cannot say LOCAL: it says UNKNOWN, which means the same to the receiver.
        let expect = match (h.version, h.addresses) {
            (1, Addresses::Local) => Addresses::Unknown,
            (_, a) => a,
        };
        assert_eq!(reparsed.addresses, expect, "re-encoded header differs");
    }
    if data.len() >= MAX_HEADER {
        assert!(whole != Ok(None), "undecided after {MAX_HEADER} bytes");
    }
    for cut in 0..data.len() {
        let part = parse(&data[..cut]);
        match part {
            Ok(None) => {}
            Ok(Some((_, len))) => {
                assert!(len <= cut);
                assert_eq!(part, whole, "prefix of {cut} bytes parsed differently");
            }
            Err(_) => assert_eq!(part, whole, "prefix of {cut} bytes failed differently"),
        }
    }
}
